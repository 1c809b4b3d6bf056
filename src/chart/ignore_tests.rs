//! Unit tests for `.helmignore`: Helm's own `TestIgnore` table (pkg/ignore/rules_test.go), plus
//! the rule-order, negation and glob cases that differ from gitignore.

use super::*;

fn rules(text: &str) -> Rules {
    Rules::parse(text, Path::new(".helmignore")).unwrap()
}

/// Directories in Helm's testdata fixture.
fn is_dir(name: &str) -> bool {
    matches!(name, "cargo" | "cargo/" | "mast" | "mast/" | "." | "./")
}

#[test]
fn helm_ignore_table() {
    let table: &[(&str, &str, bool)] = &[
        ("helm.txt", "helm.txt", true),
        ("helm.*", "helm.txt", true),
        ("helm.*", "rudder.txt", false),
        ("*.txt", "tiller.txt", true),
        ("*.txt", "cargo/a.txt", true),
        ("cargo/*.txt", "cargo/a.txt", true),
        ("cargo/*.*", "cargo/a.txt", true),
        ("cargo/*.txt", "mast/a.txt", false),
        ("ru[c-e]?er.txt", "rudder.txt", true),
        ("templates/.?*", "templates/.dotfile", true),
        (".*", ".", false),
        (".*", "./", false),
        (".*", ".joonix", true),
        (".*", "helm.txt", false),
        (".*", "", false),
        ("cargo/", "cargo", true),
        ("cargo/", "cargo/", true),
        ("cargo/", "mast/", false),
        ("helm.txt/", "helm.txt", false),
        ("!helm.txt", "helm.txt", false),
        ("!helm.txt", "tiller.txt", true),
        ("!*.txt", "cargo", true),
        ("!cargo/", "mast/", true),
        ("/a.txt", "a.txt", true),
        ("/a.txt", "cargo/a.txt", false),
        ("/cargo/a.txt", "cargo/a.txt", true),
    ];
    for (pattern, name, expect) in table {
        assert_eq!(
            rules(pattern).ignore(name, is_dir(name)),
            *expect,
            "pattern {pattern:?} on {name:?}"
        );
    }
}

#[test]
fn parse_skips_comments_blank_lines_and_bom() {
    let r = rules("\u{feff}#ignore\n\n\t#ignore\nfoo\nbar/*\r\nbaz/bar/foo.txt\n\none/more\n");
    assert_eq!(r.rules.len(), 4);
    assert_eq!(r.rules[1].glob, "bar/*");
}

#[test]
fn parse_fails_on_double_star_and_bad_globs_with_line() {
    for bad in ["foo/**/bar", "[z-", "a[", "x\\"] {
        let err = Rules::parse(&format!("ok\n{bad}\n"), Path::new(".helmignore")).unwrap_err();
        match err {
            ChartError::IgnoreRule { line, .. } => assert_eq!(line, 2, "{bad}"),
            other => panic!("{other:?}"),
        }
    }
}

#[test]
fn first_match_wins_so_negation_cannot_reinclude() {
    // gitignore would keep keep.txt; Helm ignores it (the first rule already matched) and the
    // negated rule then ignores everything that is not keep.txt.
    let r = rules("*.txt\n!keep.txt\n");
    assert!(r.ignore("keep.txt", false));
    assert!(r.ignore("values.yaml", false));
    // A negated rule first: only matching paths survive it.
    let r = rules("!*.yaml\n");
    assert!(!r.ignore("values.yaml", false));
    assert!(r.ignore("README.md", false));
}

#[test]
fn directory_rules_and_structural_rules() {
    let r = rules("docs/\nci/*.yaml\n");
    assert!(r.ignore("docs", true));
    assert!(
        !r.ignore("docs", false),
        "docs/ only applies to directories"
    );
    assert!(
        r.ignore("sub/docs", true),
        "no slash before the trailing one: base name match"
    );
    assert!(r.ignore("ci/a.yaml", false));
    assert!(
        !r.ignore("x/ci/a.yaml", false),
        "structural rules match the whole path"
    );
}

#[test]
fn defaults_ignore_dotfiles_in_templates_only() {
    let mut r = Rules::empty();
    r.add_defaults();
    assert!(r.ignore("templates/.swp", false));
    assert!(!r.ignore("templates/a.yaml", false));
    assert!(
        !r.ignore(".helmignore", false),
        ".helmignore itself is packaged"
    );
    assert!(
        !r.ignore("templates/sub/.x", false),
        "`*`/`?` do not cross `/`"
    );
}

#[test]
fn go_filepath_match_semantics() {
    let cases: &[(&str, &str, bool)] = &[
        ("*", "abc", true),
        ("*", "a/b", false),
        ("a*", "a/b", false),
        ("a*/b", "abc/b", true),
        ("a*b*c*d*e*/f", "axbxcxdxe/f", true),
        ("a*b*c*d*e*/f", "axbxcxdxexxx/f", true),
        ("a*b?c*x", "abxbbxdbxebxczzx", true),
        ("a*b?c*x", "abxbbxdbxebxczzy", false),
        ("ab[c]", "abc", true),
        ("ab[b-d]", "abc", true),
        ("ab[e-g]", "abc", false),
        ("ab[^c]", "abc", false),
        ("ab[^e-g]", "abc", true),
        ("a\\*b", "a*b", true),
        ("a\\*b", "ab", false),
        ("a?b", "a☺b", true),
        ("a[^a]b", "a☺b", true),
        ("*x", "xxx", true),
    ];
    for (p, n, want) in cases {
        assert_eq!(go_match(p, n), Ok(*want), "{p:?} {n:?}");
    }
    for bad in [
        "[", "[^", "[^bc", "a[", "[]a]", "[-]", "[x-]", "[a-b-c]", "\\", "a[b-", "*[z-",
    ] {
        assert!(
            go_match(bad, "abc").is_err(),
            "{bad:?} should be a bad pattern"
        );
    }
}
