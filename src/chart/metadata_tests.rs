//! Unit tests for the Chart.yaml model: checks, Helm's sanitising, the config-blob JSON.

use super::*;
use crate::chart::goenc::go_json_string;

fn parse(y: &str) -> ChartMetadata {
    ChartMetadata::from_yaml(y.as_bytes(), Path::new("Chart.yaml")).unwrap()
}

#[test]
fn valid_chart_has_no_problems() {
    let md = parse("apiVersion: v2\nname: app\nversion: 1.2.3\ntype: application\n");
    assert_eq!(md.problems(), vec![]);
    md.validate().unwrap();
    assert_eq!(md.archive_file_name(), "app-1.2.3.tgz");
}

#[test]
fn reports_every_problem_with_line_and_column() {
    let md = parse("apiVersion: v9\nname: a/b\nversion: \"1.2.3.4\"\ntype: service\n");
    let p = md.problems();
    assert_eq!(p.len(), 4, "{p:?}");
    assert_eq!((line(&p[0]), col(&p[0])), (Some(1), Some(13)));
    assert!(p[1].message.contains("path separators"), "{p:?}");
    assert_eq!(line(&p[1]), Some(2));
    assert!(p[2].message.contains("SemVer"), "{p:?}");
    assert_eq!(line(&p[2]), Some(3));
    assert!(p[3].message.contains("application or library"));
    let err = md.validate().unwrap_err().to_string();
    assert!(
        err.contains("Chart.yaml:3:10: `version` \"1.2.3.4\""),
        "{err}"
    );
}

#[test]
fn missing_required_fields() {
    let md = parse("description: x\n");
    let msgs: Vec<_> = md.problems().into_iter().map(|p| p.message).collect();
    assert_eq!(msgs.len(), 2, "{msgs:?}");
    assert!(msgs[0].contains("`name` is required"));
    assert!(msgs[1].contains("`version` is required"));
}

#[test]
fn numeric_version_must_be_quoted() {
    let md = parse("apiVersion: v2\nname: app\nversion: 1.10\nappVersion: 2\n");
    let p = md.problems();
    assert!(
        p.iter()
            .any(|p| p.message.contains("`version` must be a string") && line(p) == Some(3)),
        "{p:?}"
    );
    assert!(
        p.iter()
            .any(|p| p.message.contains("`appVersion` must be a string")),
        "{p:?}"
    );
}

#[test]
fn override_replaces_version_problem() {
    let mut md = parse("apiVersion: v2\nname: app\nversion: 1.10\n");
    md.set_version("2.0.0");
    md.validate().unwrap();
    assert_eq!(md.version, "2.0.0");
}

#[test]
fn bad_names() {
    for bad in ["a/b", "App", "-app", "app-", "a b", "..", "a\\b"] {
        assert!(check_chart_name(bad).is_err(), "{bad}");
    }
    for good in ["app", "my-app", "a1", "app.v2", "a_b", "0"] {
        check_chart_name(good).unwrap();
    }
}

#[test]
fn duplicate_dependency_and_bad_alias() {
    let md = parse(
        "apiVersion: v2\nname: app\nversion: 1.0.0\ndependencies:\n- name: redis\n  repository: x\n- name: other\n  alias: redis\n  repository: y\n- name: z\n  alias: 'a.b'\n  repository: z\n",
    );
    let msgs: Vec<_> = md.problems().into_iter().map(|p| p.message).collect();
    assert!(
        msgs.iter()
            .any(|m| m.contains("more than one dependency with name or alias \"redis\"")),
        "{msgs:?}"
    );
    assert!(
        msgs.iter()
            .any(|m| m.contains("disallowed characters in the alias")),
        "{msgs:?}"
    );
}

#[test]
fn yaml_syntax_error_has_position() {
    let err = ChartMetadata::from_yaml(b"name: [unclosed\n", Path::new("Chart.yaml")).unwrap_err();
    assert!(matches!(err, ChartError::Yaml { .. }), "{err:?}");
    assert!(err.to_string().starts_with("Chart.yaml:"), "{err}");
}

#[test]
fn config_json_matches_go_json_marshal() {
    // Field order of Go's chart.Metadata, omitempty, sorted annotations, dependency name and
    // repository always present, HTML escaping, sanitised description (newline → space).
    let md = parse(
        r#"
type: application
apiVersion: v2
name: app
version: 0.1.0
appVersion: "1.0"
description: |
  A <shared> chart & more
kubeVersion: ">=1.25.0-0"
keywords: [apps, dapr]
home: https://example.com
sources: [https://git.example.com/app]
maintainers:
  - name: Platform
    email: p@example.com
annotations:
  z: last
  a: first
deprecated: false
dependencies:
  - name: common
    version: 1.x.x
    repository: ""
    import-values:
      - child: x
        parent: p
      - data
unknownKey: dropped
"#,
    );
    let json = String::from_utf8(md.to_helm_config_json()).unwrap();
    assert_eq!(
        json,
        r#"{"name":"app","home":"https://example.com","sources":["https://git.example.com/app"],"version":"0.1.0","description":"A \u003cshared\u003e chart \u0026 more ","keywords":["apps","dapr"],"maintainers":[{"name":"Platform","email":"p@example.com"}],"apiVersion":"v2","appVersion":"1.0","annotations":{"a":"first","z":"last"},"kubeVersion":"\u003e=1.25.0-0","dependencies":[{"name":"common","version":"1.x.x","repository":"","import-values":[{"child":"x","parent":"p"},"data"]}],"type":"application"}"#
    );
}

#[test]
fn minimal_config_json() {
    let md = parse("apiVersion: v2\nname: app\nversion: 1.0.0\ndeprecated: true\n");
    assert_eq!(
        String::from_utf8(md.to_helm_config_json()).unwrap(),
        r#"{"name":"app","version":"1.0.0","apiVersion":"v2","deprecated":true}"#
    );
}

#[test]
fn json_escapes_like_go() {
    let mut s = String::new();
    go_json_string("a\"b\\c\u{8}\u{c}\u{1}\u{2028}é", &mut s);
    assert_eq!(s, r#""a\"b\\c\b\f\u0001\u2028é""#);
}

#[test]
fn sanitize_matches_helm() {
    assert_eq!(sanitize_string("a\tb\nc\u{a0}d"), "a b c d");
    assert_eq!(sanitize_string("x\u{200b}y\u{7}z\u{feff}"), "xyz");
    assert_eq!(sanitize_string("ünïcødé ✓"), "ünïcødé ✓");
}

#[test]
fn chart_yaml_round_trips_sorted_and_quoted() {
    let md = parse(
        "name: app\nversion: 1.0.0\napiVersion: v2\nappVersion: 'yes'\nannotations:\n  b: '2'\n  a: 'x: y'\nmaintainers:\n- name: A\n  email: a@b.c\nkeywords: [k]\n",
    );
    let y = String::from_utf8(md.to_chart_yaml()).unwrap();
    assert_eq!(
        y,
        "annotations:\n  a: \"x: y\"\n  b: \"2\"\napiVersion: v2\nappVersion: \"yes\"\nkeywords:\n- k\nmaintainers:\n- email: \"a@b.c\"\n  name: A\nname: app\nversion: \"1.0.0\"\n"
    );
    let again = ChartMetadata::from_yaml(y.as_bytes(), Path::new("Chart.yaml")).unwrap();
    assert_eq!(again.to_helm_config_json(), md.to_helm_config_json());
}

#[test]
fn bom_is_skipped_and_empty_file_is_reported() {
    let md = ChartMetadata::from_yaml(
        b"\xEF\xBB\xBFapiVersion: v2\nname: a\nversion: 1.0.0\n",
        Path::new("C"),
    )
    .unwrap();
    md.validate().unwrap();
    let empty = ChartMetadata::from_yaml(b"", Path::new("C")).unwrap();
    // No apiVersion is Helm 2's v1; name and version are missing.
    assert_eq!(empty.api_version, "v1");
    assert_eq!(empty.problems().len(), 2);
}

/// `tests/fixtures/package/rich.helm-config.json` is the config blob real `helm push` (3.17.3 and
/// 4.1.4 wrote identical bytes) stored for `tests/fixtures/package/rich` packaged by appkit.
#[test]
fn config_json_is_byte_identical_to_helm_push() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/package");
    let expected = std::fs::read(root.join("rich.helm-config.json")).unwrap();
    let md = ChartMetadata::load(&root.join("rich")).unwrap();
    md.validate().unwrap();
    assert_eq!(
        String::from_utf8(md.to_helm_config_json()).unwrap(),
        String::from_utf8(expected.clone()).unwrap()
    );
    // ...and the same after the round trip through the archived Chart.yaml.
    let archived = ChartMetadata::from_yaml(&md.to_chart_yaml(), Path::new("Chart.yaml")).unwrap();
    assert_eq!(archived.to_helm_config_json(), expected);
}

fn line(d: &crate::diagnostics::Diagnostic) -> Option<usize> {
    d.location.as_ref().map(|l| l.line).filter(|l| *l > 0)
}

fn col(d: &crate::diagnostics::Diagnostic) -> Option<usize> {
    d.location
        .as_ref()
        .map(|l| l.column)
        .filter(|_| line(d).is_some())
}

#[test]
fn problems_are_diagnostics_with_carets_from_the_text_in_memory() {
    let md = parse("apiVersion: v2\nname: a/b\nversion: \"1.2.3.4\"\n");
    let shown = crate::diagnostics::render_human(&md.problems(), None, false);
    assert!(shown.contains("2 | name: a/b\n  |       ^^^"), "{shown}");
    assert!(
        shown.contains("3 | version: \"1.2.3.4\"\n  |          ^^^^^^^^^"),
        "{shown}"
    );
}

/// What Helm 3 and 4 package (checked with `helm package`): v1 and apiVersion-less charts,
/// versions Masterminds reads, upper-case names, duplicate keys (the last wins). `validate`
/// warns about each.
#[test]
fn what_helm_packages_is_valid_and_strictness_says_why_it_is_not_portable() {
    let md = parse("apiVersion: v1\nname: MyChart\nversion: v0.1.0\nversion: v0.2.0\n");
    assert_eq!(md.problems(), vec![]);
    assert_eq!(md.version, "v0.2.0");
    let kinds: Vec<_> = md.strictness().into_iter().map(|(k, _)| k).collect();
    assert_eq!(
        kinds,
        [
            Strictness::LegacyApiVersion,
            Strictness::VersionNotStrict,
            Strictness::NameNotLowercase,
            Strictness::DuplicateKey
        ]
    );
    let dup = &md.strictness()[3].1;
    assert_eq!(line(dup), Some(4), "{dup:?}");
    assert!(parse("apiVersion: v2\nname: app\nversion: 1.0.0\n")
        .strictness()
        .is_empty());
    // A v1 chart's Chart.yaml in the archive has no dependencies (they stay in requirements.yaml).
    let mut v1 = parse("apiVersion: v1\nname: a\nversion: 1.0.0\n");
    v1.merge_requirements(
        b"dependencies:\n- name: sub\n  repository: r\n  condition: sub.on\n",
        Path::new("requirements.yaml"),
    )
    .unwrap();
    assert_eq!(v1.dependencies[0].condition, "sub.on");
    assert!(!String::from_utf8(v1.to_chart_yaml())
        .unwrap()
        .contains("dependencies"));
}
