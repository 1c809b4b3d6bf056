//! Tests of the one YAML output rule: a table of strings × profile → the exact rendering, the
//! round trip through a YAML 1.2 reader, the emitter's layouts, and the proof that each profile
//! is the rule its callers used before (the four old rules are kept below, verbatim, as oracles).

use super::*;
use serde_json::json;
use Profile::{Appkit, ChartArchive, Scaffold};

/// Read YAML back with a YAML 1.2 reader (serde-saphyr) into JSON.
fn reread(text: &str) -> Value {
    serde_saphyr::from_str(text)
        .unwrap_or_else(|e| panic!("emitted YAML does not parse: {e}\n{text}"))
}

/// `(string, ChartArchive rendering, Appkit rendering)`; [`Profile::Scaffold`] renders as
/// `Appkit` unless the string holds `%` (see `scaffold_is_appkit_and_inner_percent`).
const TABLE: &[(&str, &str, &str)] = &[
    // empty, null-ish, booleans (YAML 1.1 reads all of these as non-strings)
    ("", r#""""#, r#""""#),
    ("~", r#""~""#, r#""~""#),
    ("null", r#""null""#, r#""null""#),
    ("NULL", r#""NULL""#, r#""NULL""#),
    ("yes", r#""yes""#, r#""yes""#),
    ("Yes", r#""Yes""#, r#""Yes""#),
    ("no", r#""no""#, r#""no""#),
    ("on", r#""on""#, r#""on""#),
    ("OFF", r#""OFF""#, r#""OFF""#),
    ("y", r#""y""#, r#""y""#),
    ("N", r#""N""#, r#""N""#),
    ("true", r#""true""#, r#""true""#),
    ("False", r#""False""#, r#""False""#),
    // only the chart archive reserves these (harmless; frozen by the digest)
    ("nan", r#""nan""#, "nan"),
    ("inf", r#""inf""#, "inf"),
    (".inf", r#"".inf""#, r#"".inf""#),
    (".NaN", r#"".NaN""#, r#"".NaN""#),
    // numbers-like, dates, sexagesimals
    ("0x1F", r#""0x1F""#, r#""0x1F""#),
    ("1e3", r#""1e3""#, r#""1e3""#),
    ("0777", r#""0777""#, r#""0777""#),
    ("0o17", r#""0o17""#, r#""0o17""#),
    ("1_000", r#""1_000""#, r#""1_000""#),
    ("1p3", r#""1p3""#, r#""1p3""#),
    ("1:20", r#""1:20""#, r#""1:20""#),
    ("12", r#""12""#, r#""12""#),
    ("-1", r#""-1""#, r#""-1""#),
    ("+1", r#""+1""#, r#""+1""#),
    (".5", r#"".5""#, r#"".5""#),
    ("0.1.0", r#""0.1.0""#, r#""0.1.0""#),
    ("2001-12-14", r#""2001-12-14""#, r#""2001-12-14""#),
    (
        "2001-12-14t21:59:43.10-05:00",
        r#""2001-12-14t21:59:43.10-05:00""#,
        r#""2001-12-14t21:59:43.10-05:00""#,
    ),
    // a leading digit: only Appkit writes it plain, when it cannot be a number
    ("10m", r#""10m""#, "10m"),
    ("64Mi", r#""64Mi""#, "64Mi"),
    ("12g", r#""12g""#, "12g"),
    ("10.0.0.0/8", r#""10.0.0.0/8""#, "10.0.0.0/8"),
    // indicators and separators
    ("-", r#""-""#, r#""-""#),
    ("- x", r#""- x""#, r#""- x""#),
    (": ", r#"": ""#, r#"": ""#),
    ("a: b", r#""a: b""#, r#""a: b""#),
    ("a:", r#""a:""#, r#""a:""#),
    ("#", r##""#""##, r##""#""##),
    ("a #b", r##""a #b""##, r##""a #b""##),
    ("a,b", r#""a,b""#, r#""a,b""#),
    ("[a]", r#""[a]""#, r#""[a]""#),
    ("*x", r#""*x""#, r#""*x""#),
    ("@x", r#""@x""#, r#""@x""#),
    ("_x", r#""_x""#, r#""_x""#),
    ("<<", r#""<<""#, r#""<<""#),
    ("<b>&", r#""<b>&""#, r#""<b>&""#),
    // spaces: the chart archive allows single inner ones
    (" lead", r#"" lead""#, r#"" lead""#),
    ("trail ", r#""trail ""#, r#""trail ""#),
    ("two  spaces", r#""two  spaces""#, r#""two  spaces""#),
    ("Platform team", "Platform team", r#""Platform team""#),
    // `@` and inner `:`: Appkit only
    (
        "platform@example.com",
        r#""platform@example.com""#,
        "platform@example.com",
    ),
    (
        "https://github.com/a/b",
        r#""https://github.com/a/b""#,
        "https://github.com/a/b",
    ),
    ("sha256:abc", r#""sha256:abc""#, "sha256:abc"),
    ("img:tag", r#""img:tag""#, "img:tag"),
    // plain in both
    ("app1", "app1", "app1"),
    ("IfNotPresent", "IfNotPresent", "IfNotPresent"),
    ("/healthz", "/healthz", "/healthz"),
    ("/", "/", "/"),
    ("v1.2", "v1.2", "v1.2"),
    ("a_b+c-d", "a_b+c-d", "a_b+c-d"),
    (
        "values.schema.json",
        "values.schema.json",
        "values.schema.json",
    ),
    // unicode, escapes (the spelling is the one difference in quoting)
    ("ünï", r#""ünï""#, r#""ünï""#),
    ("a\nb", r#""a\nb""#, r#""a\nb""#),
    ("tab\there", r#""tab\there""#, r#""tab\there""#),
    ("cr\r", r#""cr\r""#, r#""cr\r""#),
    ("\"q\"", r#""\"q\"""#, r#""\"q\"""#),
    ("back\\slash", r#""back\\slash""#, r#""back\\slash""#),
    ("\u{0}", r#""\u0000""#, r#""\u0000""#),
    ("\u{8}", r#""\b""#, r#""\u0008""#),
    ("\u{c}", r#""\f""#, r#""\u000C""#),
    ("\u{1f}", r#""\u001f""#, r#""\u001F""#),
    ("del\u{7f}", r#""del\u007f""#, r#""del\u007F""#),
    ("nel\u{85}", r#""nel\u0085""#, r#""nel\u0085""#),
    (
        "ls\u{2028}ps\u{2029}",
        r#""ls\u2028ps\u2029""#,
        r#""ls\u2028ps\u2029""#,
    ),
    ("bom\u{feff}", r#""bom\ufeff""#, r#""bom\uFEFF""#),
    ("emoji 🦀", r#""emoji 🦀""#, r#""emoji 🦀""#),
    // `%`: plain only in scaffolds, and never leading (a directive indicator)
    ("50%", r#""50%""#, r#""50%""#),
    ("%x", r#""%x""#, r#""%x""#),
];

#[test]
fn table_of_strings_by_profile() {
    for (s, chart, appkit) in TABLE {
        assert_eq!(scalar(s, ChartArchive), *chart, "ChartArchive {s:?}");
        assert_eq!(scalar(s, Appkit), *appkit, "Appkit {s:?}");
    }
}

#[test]
fn scaffold_is_appkit_and_inner_percent() {
    for s in corpus() {
        if !s.contains('%') {
            assert_eq!(scalar(&s, Scaffold), scalar(&s, Appkit), "{s:?}");
        }
    }
    assert_eq!(scalar("50%", Scaffold), "50%");
    assert_eq!(scalar("a%b", Scaffold), "a%b");
    assert_eq!(scalar("%x", Scaffold), r#""%x""#);
    assert_eq!(scalar("1%", Scaffold), "1%");
}

#[test]
fn very_long_strings_stay_on_one_line() {
    let word = "a".repeat(10_000);
    assert_eq!(scalar(&word, ChartArchive), word);
    assert_eq!(scalar(&word, Appkit), word);
    let words = ["word"; 3000].join(" ");
    assert_eq!(scalar(&words, ChartArchive), words);
    assert_eq!(scalar(&words, Appkit), format!("\"{words}\""));
    let text = to_yaml(&json!({ "k": words }), Appkit);
    assert_eq!(text.lines().count(), 1);
    assert_eq!(reread(&text), json!({ "k": words }));
}

/// Every string of up to `max` characters over `alphabet`.
fn strings(alphabet: &str, max: usize) -> Vec<String> {
    let mut out = vec![String::new()];
    let mut last = out.clone();
    for _ in 0..max {
        let next: Vec<String> = last
            .iter()
            .flat_map(|s| alphabet.chars().map(move |c| format!("{s}{c}")))
            .collect();
        out.extend(next.iter().cloned());
        last = next;
    }
    out
}

/// The characters the rules care about.
const ALPHABET: &str = "aZ09ex-_./+@:% #,[~'\"\\\t\n\u{7f}\u{85}\u{2028}é";

/// Every string of up to three characters over [`ALPHABET`], plus the table (~25,000 strings).
fn corpus() -> Vec<String> {
    let mut out = strings(ALPHABET, 3);
    out.extend(TABLE.iter().map(|t| t.0.to_string()));
    out
}

/// A smaller corpus for the (slower) parse-back test: up to two characters over [`ALPHABET`],
/// three over the structural ones, plus the table.
fn parse_corpus() -> Vec<String> {
    let mut out = strings(ALPHABET, 2);
    out.extend(strings("a0 :\n-#%\"", 3));
    out.extend(TABLE.iter().map(|t| t.0.to_string()));
    out
}

#[test]
fn everything_emitted_parses_back_as_the_same_string() {
    let corpus = parse_corpus();
    let entry = |s: &String| json!({ "k": s, s.clone(): "v", "list": [s, [s]], "m": [{ "k": s }] });
    for profile in [Appkit, ChartArchive, Scaffold] {
        // Documents of many strings (few parses, within the reader's node budget); on a
        // mismatch, find the string.
        for chunk in corpus.chunks(2000) {
            let doc = Value::Array(chunk.iter().map(entry).collect());
            if reread(&to_yaml(&doc, profile)) != doc {
                for s in chunk {
                    let doc = entry(s);
                    let text = to_yaml(&doc, profile);
                    assert_eq!(
                        reread(&text),
                        doc,
                        "{profile:?} round trip of {s:?}:\n{text}"
                    );
                }
            }
            let lines: String = chunk
                .iter()
                .map(|s| format!("- {}\n", scalar(s, profile)))
                .collect();
            assert_eq!(reread(&lines), json!(chunk), "{profile:?} scalar()");
        }
        for s in &corpus {
            // Also a JSON string (the lock and the chart archive rely on it).
            let q = quoted(s, profile);
            assert_eq!(&serde_json::from_str::<String>(&q).unwrap(), s, "{q}");
        }
    }
}

// ---- the four rules this module replaced, verbatim (quoting aside), as oracles ----

/// `chart/goenc.rs` `yaml_scalar`'s plain test.
fn old_goenc_plain(s: &str) -> bool {
    s.chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '/')
        && !s.ends_with(' ')
        && !s.contains("  ")
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || " ._/+-".contains(c))
        && !matches!(
            s.to_ascii_lowercase().as_str(),
            "y" | "n" | "yes" | "no" | "on" | "off" | "true" | "false" | "null" | "nan" | "inf"
        )
}

/// `flux/yaml.rs` `is_safe_plain`.
fn old_flux_plain(s: &str) -> bool {
    let Some(first) = s.chars().next() else {
        return false;
    };
    let plain_char =
        |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/' | '+' | '@');
    if !s.chars().all(|c| plain_char(c) || c == ':') {
        return false;
    }
    if s.contains(':') && (s.ends_with(':') || !first.is_ascii_alphabetic()) {
        return false;
    }
    if ["y", "n", "yes", "no", "on", "off", "true", "false", "null"]
        .iter()
        .any(|w| w.eq_ignore_ascii_case(s))
    {
        return false;
    }
    if first.is_ascii_alphabetic() || first == '/' {
        return true;
    }
    if first.is_ascii_digit() {
        return !s.chars().all(numberish_char) && !looks_like_date(s);
    }
    false
}

/// `flux/yaml.rs` `double_quoted`.
fn old_flux_quoted(s: &str) -> String {
    let old_escape = |c: char| {
        let u = c as u32;
        u < 0x20 || u == 0x7f || (0x80..=0x9f).contains(&u) || [0xfeff, 0xfffe, 0xffff].contains(&u)
    };
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if old_escape(c) => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// `scaffold/yamlfmt.rs` `needs_quotes`.
fn old_scaffold_needs_quotes(s: &str, in_flow: bool) -> bool {
    let Some(first) = s.chars().next() else {
        return true;
    };
    const SPECIAL: [&str; 18] = [
        "y", "n", "yes", "no", "on", "off", "true", "false", "null", "~", ".inf", "-.inf", "+.inf",
        ".nan", "<<", "=", "-", "?",
    ];
    if SPECIAL.contains(&s.to_ascii_lowercase().as_str()) {
        return true;
    }
    if (first.is_ascii_digit() || "+-.".contains(first))
        && s.chars()
            .all(|c| c.is_ascii_hexdigit() || "xXoObB_.:+-".contains(c))
    {
        return true;
    }
    if "-?:,[]{}#&*!|>'\"%@` \t".contains(first) {
        return true;
    }
    if s.ends_with(' ') || s.ends_with(':') || s.contains(": ") || s.contains(" #") {
        return true;
    }
    if s.chars().any(|c| c.is_control()) {
        return true;
    }
    in_flow && s.chars().any(|c| ",[]{}".contains(c))
}

/// Characters whose escaping changed: now escaped by both profiles (they were written raw).
fn newly_escaped(s: &str) -> bool {
    s.chars().any(|c| {
        let u = c as u32;
        u == 0x2028
            || u == 0x2029
            || u == 0x7f
            || (0x80..=0x9f).contains(&u)
            || [0xfeff, 0xfffe, 0xffff].contains(&u)
    })
}

#[test]
fn chart_archive_is_the_old_chart_rule() {
    for s in corpus() {
        assert_eq!(
            is_safe_plain(&s, ChartArchive),
            old_goenc_plain(&s),
            "{s:?}"
        );
        if !newly_escaped(&s) {
            assert_eq!(
                quoted(&s, ChartArchive),
                serde_json::to_string(&s).unwrap(),
                "{s:?}"
            );
        }
    }
}

#[test]
fn appkit_is_the_old_flux_rule() {
    for s in corpus() {
        assert_eq!(is_safe_plain(&s, Appkit), old_flux_plain(&s), "{s:?}");
        if !s.contains(['\u{2028}', '\u{2029}']) {
            assert_eq!(quoted(&s, Appkit), old_flux_quoted(&s), "{s:?}");
        }
    }
}

#[test]
fn appkit_is_stricter_than_the_old_scaffold_and_lock_rules() {
    for s in corpus() {
        // Everything Appkit and Scaffold write plain the scaffold wrote plain, in block and in
        // flow context.
        if is_safe_plain(&s, Appkit) || is_safe_plain(&s, Scaffold) {
            assert!(!old_scaffold_needs_quotes(&s, true), "{s:?}");
        }
        // The lock (and the scaffold) quoted with serde_json: the same bytes unless the string
        // holds a control character other than \n \t \r (which lock entries cannot).
        let controls = s
            .chars()
            .any(|c| needs_escape(c) && !matches!(c, '\n' | '\t' | '\r'));
        if !controls {
            assert_eq!(
                quoted(&s, Appkit),
                serde_json::to_string(&s).unwrap(),
                "{s:?}"
            );
        }
    }
    // Where the scaffold used to write plain and now quotes (the same value).
    for s in [
        "Platform team",
        "ünï",
        "a#b",
        "a,b",
        "1p3",
        "2001-12-14t21:59:43.10-05:00",
    ] {
        assert!(!old_scaffold_needs_quotes(s, false), "{s:?}");
        assert!(!is_safe_plain(s, Appkit), "{s:?}");
    }
}

// ---- the emitter ----

#[test]
fn ambiguous_strings_are_quoted_and_keep_their_type() {
    for (s, _, _) in TABLE {
        let doc = json!({ "k": s, *s: "v", "list": [s] });
        let text = to_yaml(&doc, Appkit);
        assert_eq!(reread(&text), doc, "round trip of {s:?} failed:\n{text}");
        if !is_safe_plain(s, Appkit) && !s.contains('\n') {
            assert!(
                text.contains("k: \""),
                "{s:?} must be double-quoted:\n{text}"
            );
        }
    }
}

#[test]
fn numbers_bools_nulls_and_empties() {
    let doc = json!({"i": 3, "neg": -7, "f": 1.5, "big": 1e20, "small": 1.5e-7, "b": true, "n": null,
                     "em": {}, "ea": [], "s": "3"});
    let text = to_yaml(&doc, Appkit);
    assert!(text.contains("big: 1.0e+20\n"), "{text}");
    assert!(text.contains("small: 1.5e-7\n"), "{text}");
    assert!(text.contains("em: {}\nea: []\ns: \"3\"\n"), "{text}");
    assert_eq!(reread(&text), doc);
    let text = to_yaml(&doc, ChartArchive);
    assert!(text.contains("big: 1e+20\n"), "{text}");
    assert_eq!(reread(&text), doc);
}

#[test]
fn nested_collections_and_sequences_of_maps() {
    let doc = json!({"spec": {"dependsOn": [{"name": "app1", "namespace": "flux"}, {"name": "b"}],
                      "matrix": [[1, 2], []], "values": {"env": [{"name": "A", "value": "yes"}]}}});
    let text = to_yaml(&doc, Appkit);
    assert_eq!(
        text,
        "spec:\n  dependsOn:\n    - name: app1\n      namespace: flux\n    - name: b\n  matrix:\n    -\n      - 1\n      - 2\n    - []\n  values:\n    env:\n      - name: A\n        value: \"yes\"\n"
    );
    assert_eq!(reread(&text), doc);
}

#[test]
fn chart_archive_layout_does_not_indent_sequences() {
    let doc = json!({"keywords": ["dapr", "platform"], "maintainers": [{"email": "p@example.com", "name": "Platform team"}],
                     "annotations": {"category": "Application"}, "version": "0.1.0",
                     "dependencies": [{"import-values": [{"child": "a", "parent": "b"}, "c"], "name": "d"}]});
    let text = to_yaml(&doc, ChartArchive);
    assert_eq!(
        text,
        "keywords:\n- dapr\n- platform\nmaintainers:\n- email: \"p@example.com\"\n  name: Platform team\nannotations:\n  category: Application\nversion: \"0.1.0\"\ndependencies:\n- import-values:\n  - child: a\n    parent: b\n  - c\n  name: d\n"
    );
    assert_eq!(reread(&text), doc);
}

#[test]
fn multiline_strings_use_literal_blocks_and_round_trip() {
    for s in [
        "a\nb",
        "a\nb\n",
        "a\nb\n\n",
        "line one\n\nline three\n",
        "x: 1\ny: [2]\n",
        "a\n  indented\n",
    ] {
        let doc = json!({"outer": {"conf": s}, "seq": [s]});
        let text = to_yaml(&doc, Appkit);
        assert!(text.contains('|'), "{s:?} should be a block:\n{text}");
        assert_eq!(reread(&text), doc, "{s:?}:\n{text}");
        let text = to_yaml(&doc, ChartArchive);
        assert!(
            !text.contains('|'),
            "{s:?} is quoted in a chart archive:\n{text}"
        );
        assert_eq!(reread(&text), doc, "{s:?}:\n{text}");
    }
    for s in [
        " lead\nx",
        "a\n   \nb",
        "tab\t\nx",
        "cr\r\nx",
        "ls\u{2028}\nx",
    ] {
        let text = to_yaml(&json!({ "k": s }), Appkit);
        assert!(text.starts_with("k: \""), "{s:?} should be quoted:\n{text}");
        assert_eq!(reread(&text), json!({ "k": s }));
    }
}

#[test]
fn sort_keys_is_recursive() {
    let mut v = json!({"b": {"z": 1, "a": [{"w": 1, "v": 2}]}, "a": 1, "y": 0});
    sort_keys(&mut v);
    assert_eq!(
        to_yaml(&v, Appkit),
        "a: 1\nb:\n  a:\n    - v: 2\n      w: 1\n  z: 1\n\"y\": 0\n"
    );
}

#[test]
fn top_level_scalars_and_sequences() {
    assert_eq!(to_yaml(&json!("yes"), Appkit), "\"yes\"\n");
    assert_eq!(to_yaml(&json!({}), Appkit), "{}\n");
    assert_eq!(to_yaml(&json!(["a", 1]), Appkit), "- a\n- 1\n");
}
