//! What `helm appkit validate` says for the schema keywords whose messages used to read badly
//! (issue 15 item 4): each case is a chart whose `values.schema.json` uses the keyword and a values
//! file that breaks it. The exact message, its file:line:col and its help are asserted in the
//! human output, the same message and position in `-o json`, and Helm 4 (`helm template`) must
//! refuse the same values — and accept the corrected ones, which appkit accepts too.
//!
//! A schema that cannot be compiled is reported at its own file:line:col (`schema-invalid`), and
//! only a remote `$ref` says that appkit never downloads one.

use std::path::Path;

use crate::common::{self, appkit, helm, run};

struct Case {
    schema: &'static str,
    values: &'static str,
    message: &'static str,
    line: u64,
    col: u64,
    help: Option<&'static str>,
    /// Values that fix the problem: both appkit and Helm 4 accept them.
    fixed: &'static str,
}

/// A chart (`chart/`) with the schema and no templates, and `values.yaml` beside it, in `dir`.
fn chart(dir: &Path, schema: &str, values: &str) {
    let chart = dir.join("chart");
    std::fs::create_dir_all(chart.join("templates")).unwrap();
    std::fs::write(
        chart.join("Chart.yaml"),
        "apiVersion: v2\nname: msgs\nversion: 0.1.0\n",
    )
    .unwrap();
    std::fs::write(chart.join("values.schema.json"), schema).unwrap();
    std::fs::write(dir.join("values.yaml"), values).unwrap();
}

fn validate(dir: &Path, json: bool) -> std::process::Output {
    let mut c = appkit();
    c.current_dir(dir).arg("validate");
    if json {
        c.args(["--output", "json"]);
    }
    run(c.args(["--chart", "chart", "values.yaml"]))
}

/// Helm 4's verdict on the chart with `values.yaml`: true when it renders.
fn helm4_accepts(dir: &Path) -> bool {
    let out = run(helm(4, &dir.join("helm")).current_dir(dir).args([
        "template",
        "x",
        "chart",
        "-f",
        "values.yaml",
    ]));
    if out.status.success() {
        return true;
    }
    let err = common::stderr(&out);
    assert!(
        err.contains("values don't meet the specifications of the schema"),
        "Helm 4 failed for a reason other than the values:\n{err}"
    );
    false
}

/// The schema diagnostics of `-o json`.
fn json_schema_diagnostics(dir: &Path) -> Vec<serde_json::Value> {
    let out = validate(dir, true);
    let v: serde_json::Value = serde_json::from_str(&common::stdout(&out))
        .unwrap_or_else(|e| panic!("no JSON ({e}):\n{}", common::stdout(&out)));
    v["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["code"] == "schema")
        .cloned()
        .collect()
}

fn check(name: &str, case: &Case) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    chart(dir, case.schema, case.values);

    let out = validate(dir, false);
    let err = common::stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{name}:\n{err}");
    let head = format!(
        "error[schema]: {}\n --> values.yaml:{}:{}\n",
        case.message, case.line, case.col
    );
    assert!(err.contains(&head), "{name}: expected\n{head}in\n{err}");
    assert_eq!(
        err.matches("error[schema]").count(),
        1,
        "{name}: one problem, one diagnostic:\n{err}"
    );
    // The schema diagnostic's own block (other warnings, e.g. `rule-skipped` for these small
    // charts that declare no image keys, are not what this test is about).
    let at = err.find("error[schema]").unwrap();
    let block = err[at..].split("\n\n").next().unwrap_or("");
    match case.help {
        Some(h) => assert!(
            block.contains(&format!("= help: {h}")),
            "{name}: expected help `{h}` in\n{block}"
        ),
        None => assert!(
            !block.contains("= help:"),
            "{name}: no help expected:\n{block}"
        ),
    }

    let diags = json_schema_diagnostics(dir);
    assert_eq!(diags.len(), 1, "{name}: {diags:?}");
    assert_eq!(diags[0]["message"], case.message, "{name}");
    assert_eq!(diags[0]["file"], "values.yaml", "{name}");
    assert_eq!(diags[0]["line"], case.line, "{name}");
    assert_eq!(diags[0]["column"], case.col, "{name}");
    assert_eq!(
        diags[0]["help"].as_str(),
        case.help,
        "{name}: the JSON help"
    );

    assert!(
        !helm4_accepts(dir),
        "{name}: Helm 4 accepts what appkit refuses"
    );

    std::fs::write(dir.join("values.yaml"), case.fixed).unwrap();
    let out = validate(dir, false);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{name}: the fixed values are refused:\n{}",
        common::stderr(&out)
    );
    assert!(
        helm4_accepts(dir),
        "{name}: Helm 4 refuses the fixed values"
    );
}

#[test]
fn contains_says_which_item_the_list_lacks() {
    check(
        "contains",
        &Case {
            schema: r#"{"properties": {"stages": {"type": "array", "contains": {"const": "prod"}}}}"#,
            values: "stages: [dev, test]\n",
            message: "`stages` must contain at least one item that is \"prod\"",
            line: 1,
            col: 9,
            help: None,
            fixed: "stages: [dev, prod]\n",
        },
    );
    check(
        "minContains",
        &Case {
            schema: r#"{"properties": {"regions": {"type": "array", "contains": {"enum": ["eu", "us"]}, "minContains": 2, "description": "Where the app runs."}}}"#,
            values: "regions:\n  - eu\n  - asia\n",
            message: "`regions` must contain at least 2 items that are one of: \"eu\", \"us\"",
            line: 2,
            col: 3,
            help: Some("Where the app runs."),
            fixed: "regions: [eu, us]\n",
        },
    );
}

#[test]
fn not_says_what_the_value_must_not_be() {
    check(
        "not type",
        &Case {
            schema: r#"{"properties": {"mode": {"not": {"type": "string"}}}}"#,
            values: "mode: fast\n",
            message: "`mode` must not be text (it is `fast`)",
            line: 1,
            col: 7,
            help: None,
            fixed: "mode: 3\n",
        },
    );
    check(
        "not pattern",
        &Case {
            schema: r#"{"properties": {"name": {"type": "string", "not": {"pattern": "^tmp-"}, "description": "The app's name; names starting with tmp- are for experiments."}}}"#,
            values: "name: tmp-web\n",
            message: "`name` has a value the chart's schema rules out here",
            line: 1,
            col: 7,
            help: Some("The app's name; names starting with tmp- are for experiments."),
            fixed: "name: web\n",
        },
    );
}

#[test]
fn false_schemas_say_the_key_or_item_is_not_allowed() {
    check(
        "properties false",
        &Case {
            schema: r#"{"properties": {"name": {"type": "string"}, "legacy": false}}"#,
            values: "name: web\nlegacy: 1\n",
            message: "`legacy` is not allowed: the chart accepts no value for it",
            line: 2,
            col: 1,
            help: Some("remove `legacy:`"),
            fixed: "name: web\n",
        },
    );
    check(
        "items false",
        &Case {
            schema: r#"{"properties": {"pair": {"prefixItems": [{"type": "string"}, {"type": "integer"}], "items": false}}}"#,
            values: "pair:\n  - a\n  - 1\n  - extra\n",
            message:
                "`pair[2]` is not allowed: the chart accepts no item at this position of the list",
            line: 4,
            col: 5,
            help: Some("remove this item"),
            fixed: "pair:\n  - a\n  - 1\n",
        },
    );
}

#[test]
fn dependent_required_names_the_key_that_asks_for_another() {
    check(
        "dependentRequired",
        &Case {
            schema: r#"{"properties": {"tls": {"type": "object", "properties": {"enabled": {"type": "boolean"}, "secretName": {"type": "string", "description": "the secret holding the certificate"}}, "dependentRequired": {"enabled": ["secretName"]}}}}"#,
            values: "tls:\n  enabled: true\n",
            message: "`tls` sets `enabled`, so it must also set `secretName`",
            line: 2,
            col: 3,
            help: Some(
                "add `secretName:` (the secret holding the certificate), or remove `enabled:`",
            ),
            fixed: "tls:\n  enabled: true\n  secretName: web-tls\n",
        },
    );
    check(
        "draft-07 dependencies",
        &Case {
            schema: r#"{"$schema": "http://json-schema.org/draft-07/schema#", "dependencies": {"tls": ["cert"]}}"#,
            values: "name: web\ntls: true\n",
            message: "the values set `tls`, so they must also set `cert`",
            line: 2,
            col: 1,
            help: Some("add `cert:`, or remove `tls:`"),
            fixed: "name: web\ntls: true\ncert: web-tls\n",
        },
    );
}

#[test]
fn unevaluated_properties_with_a_subschema_says_what_is_wrong_with_the_value() {
    check(
        "unevaluatedProperties {…}",
        &Case {
            schema: r#"{"properties": {"name": {"type": "string"}}, "unevaluatedProperties": {"type": "string", "minLength": 3}}"#,
            values: "name: web\nowner: x\n",
            message: "`owner` must be at least 3 characters long",
            line: 2,
            col: 8,
            help: Some(
                "`owner` is not one of the listed keys (name), so it must follow the chart's rule for other keys",
            ),
            fixed: "name: web\nowner: sam\n",
        },
    );
    // `false` still means the key is unknown.
    check(
        "unevaluatedProperties false",
        &Case {
            schema: r#"{"properties": {"name": {"type": "string"}}, "unevaluatedProperties": false}"#,
            values: "name: web\nnaem: x\n",
            message: "unknown key `naem` at the top level",
            line: 2,
            col: 1,
            help: Some("did you mean `name`? allowed keys: name"),
            fixed: "name: web\n",
        },
    );
}

#[test]
fn unknown_keys_list_the_patterns_that_are_allowed_too() {
    check(
        "additionalProperties false + patternProperties",
        &Case {
            schema: r#"{"properties": {"name": {"type": "string"}}, "patternProperties": {"^x-": {"type": "string"}}, "additionalProperties": false}"#,
            values: "name: web\nnmae: web\n",
            message: "unknown key `nmae` at the top level",
            line: 2,
            col: 1,
            help: Some("did you mean `name`? allowed keys: name, keys matching /^x-/"),
            fixed: "name: web\nx-team: data\n",
        },
    );
}

#[test]
fn property_names_point_at_the_key() {
    check(
        "propertyNames pattern",
        &Case {
            schema: r#"{"properties": {"labels": {"type": "object", "propertyNames": {"pattern": "^[a-z]+$"}}}}"#,
            values: "labels:\n  team: data\n  Team2: web\n",
            message: "`Team2` is not an accepted key name in `labels`",
            line: 3,
            col: 3,
            help: Some("key names here must match the pattern `^[a-z]+$`"),
            fixed: "labels:\n  team: data\n",
        },
    );
    check(
        "propertyNames maxLength",
        &Case {
            schema: r#"{"propertyNames": {"maxLength": 5, "description": "top-level keys are short words"}}"#,
            values: "name: web\nverylongkey: 1\n",
            message: "`verylongkey` is not an accepted key name at the top level",
            line: 2,
            col: 1,
            help: Some(
                "key names here can be at most 5 characters long (top-level keys are short words)",
            ),
            fixed: "name: web\n",
        },
    );
}

#[test]
fn enums_and_const_quote_text_and_never_list_nothing() {
    check(
        "enum",
        &Case {
            schema: r#"{"properties": {"tier": {"enum": ["gold", "silver", 3]}}}"#,
            values: "tier: golf\n",
            message: "`tier` must be one of: \"gold\", \"silver\", 3",
            line: 1,
            col: 7,
            help: Some("did you mean \"gold\"?"),
            fixed: "tier: gold\n",
        },
    );
    check(
        "empty enum",
        &Case {
            schema: r#"{"properties": {"tier": {"enum": []}}}"#,
            values: "tier: gold\n",
            message: "`tier` cannot be set: the chart's schema lists no value it accepts",
            line: 1,
            col: 7,
            help: Some("remove `tier:`; the chart's schema has an empty `enum` for it"),
            fixed: "name: web\n",
        },
    );
    check(
        "const",
        &Case {
            schema: r#"{"properties": {"tier": {"const": "gold"}}}"#,
            values: "tier: silver\n",
            message: "`tier` must be \"gold\"",
            line: 1,
            col: 7,
            help: None,
            fixed: "tier: gold\n",
        },
    );
}

#[test]
fn reserved_values_read_like_the_other_enum_messages() {
    check(
        "not enum",
        &Case {
            schema: r#"{"properties": {"port": {"type": "integer", "not": {"enum": [3500, 3501]}}}}"#,
            values: "port: 3501\n",
            message: "`port` must not be 3501: the chart reserves 3500, 3501",
            line: 1,
            col: 7,
            help: None,
            fixed: "port: 8080\n",
        },
    );
    check(
        "not const",
        &Case {
            schema: r#"{"properties": {"user": {"not": {"const": "root"}}}}"#,
            values: "user: root\n",
            message: "`user` must not be \"root\"",
            line: 1,
            col: 7,
            help: None,
            fixed: "user: app\n",
        },
    );
}

/// The bundled chart's `port`: the sidecar's ports are reserved.
#[test]
fn the_bundled_charts_reserved_ports() {
    let tmp = tempfile::tempdir().unwrap();
    let app1 = std::fs::read_to_string(common::examples_dir().join("apps/app1/values.yaml"))
        .unwrap()
        .replace("port: 8080", "port: 3500");
    let file = tmp.path().join("values.yaml");
    std::fs::write(&file, &app1).unwrap();
    let line = app1.lines().position(|l| l == "port: 3500").unwrap() + 1;
    let message = "`port` must not be 3500: the chart reserves 3500, 3501, 9090, 50001, 50002";
    let out = run(appkit()
        .current_dir(tmp.path())
        .args(["validate", "--chart"])
        .arg(common::chart_dir())
        .arg("values.yaml"));
    let err = common::stderr(&out);
    // The gutter is as wide as the line number.
    assert!(
        err.contains(&format!(
            "error[schema]: {message}\n  --> values.yaml:{line}:7\n"
        )),
        "{err}"
    );
    assert!(
        err.contains("= help: The port number the app listens on inside the container"),
        "{err}"
    );
    let out = run(appkit()
        .current_dir(tmp.path())
        .args(["validate", "-o", "json", "--chart"])
        .arg(common::chart_dir())
        .arg("values.yaml"));
    let v: serde_json::Value = serde_json::from_str(&common::stdout(&out)).unwrap();
    let diags = v["diagnostics"].as_array().unwrap();
    assert_eq!(diags.len(), 1, "{diags:?}");
    assert_eq!(diags[0]["message"], message);
    let h = run(helm(4, &tmp.path().join("helm"))
        .args(["template", "x"])
        .arg(common::chart_dir())
        .arg("-f")
        .arg(&file));
    assert!(!h.status.success(), "Helm 4 accepts port 3500");
    assert!(common::stderr(&h).contains("values don't meet the specifications"));
}

/// A secret-looking key's value is never quoted, even when the schema lists it.
#[test]
fn a_secret_is_not_quoted_by_the_new_messages() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    chart(
        dir,
        r#"{"properties": {"apiToken": {"type": "string", "not": {"enum": ["changeme", "s3cr3t-value"]}}}}"#,
        "apiToken: s3cr3t-value\n",
    );
    for json in [false, true] {
        let out = validate(dir, json);
        let all = format!("{}{}", common::stdout(&out), common::stderr(&out));
        assert!(!all.contains("s3cr3t-value"), "a secret was echoed:\n{all}");
        assert!(all.contains("inline-secret"), "{all}");
    }
    let diags = json_schema_diagnostics(dir);
    assert_eq!(
        diags[0]["message"],
        "`apiToken` must not be one of the values the chart reserves: \"changeme\", \"****\""
    );
    assert!(!helm4_accepts(dir));
}

/// A schema Helm cannot compile: appkit's diagnostic at the schema's file:line:col, in every
/// output format (the error ends the command, so `-o json` reports it on stderr too).
fn compile_case(name: &str, schema: &str, message: &str, line: u64, col: u64, help: &str) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    chart(dir, schema, "name: web\n");
    for json in [false, true] {
        let out = validate(dir, json);
        let err = common::stderr(&out);
        assert_eq!(out.status.code(), Some(1), "{name}:\n{err}");
        let head = format!(
            "error[schema-invalid]: {message}\n --> chart/values.schema.json:{line}:{col}\n"
        );
        assert!(err.contains(&head), "{name}: expected\n{head}in\n{err}");
        assert!(
            err.contains(&format!("= help: {help}\n")),
            "{name}: expected help `{help}` in\n{err}"
        );
        assert!(
            err.contains("the chart schema chart/values.schema.json cannot be compiled"),
            "{name}:\n{err}"
        );
        // The remote-reference note only when a remote reference is the cause.
        assert_eq!(
            err.contains("never downloads"),
            name == "remote $ref",
            "{name}:\n{err}"
        );
    }
    assert!(!helm4_accepts(dir), "{name}: Helm 4 compiles the schema");
}

#[test]
fn a_schema_that_cannot_be_compiled_is_reported_where_and_why() {
    compile_case(
        "unknown type",
        "{\n  \"properties\": {\n    \"port\": {\"type\": \"intger\"}\n  }\n}\n",
        "`#/properties/port/type`: `intger` is not a type JSON Schema knows",
        3,
        22,
        "a type is one of: array, boolean, integer, null, number, object, string",
    );
    compile_case(
        "dangling $ref",
        "{\n  \"$defs\": {\"port\": {\"type\": \"integer\"}},\n  \"properties\": {\n    \"port\": {\"$ref\": \"#/$defs/prot\"}\n  }\n}\n",
        "the reference `$ref: #/$defs/prot` points at nothing: the schema has no `#/$defs/prot`",
        4,
        22,
        "correct the reference, or add the definition it names",
    );
    compile_case(
        "pattern Go refuses",
        "{\n  \"properties\": {\n    \"name\": {\"type\": \"string\", \"pattern\": \"^(?!tmp)\"}\n  }\n}\n",
        "the pattern `^(?!tmp)` is not a regular expression Helm accepts",
        3,
        43,
        "Helm 4 evaluates patterns with Go's regexp: RE2 syntax, no look-around, no backreferences, no `\\c` control escapes, repetition counts up to 1000",
    );
    // Port 1 of the loopback address: Helm 4 tries to download it and fails at once.
    compile_case(
        "remote $ref",
        "{\n  \"properties\": {\n    \"port\": {\"$ref\": \"http://127.0.0.1:1/port.json\"}\n  }\n}\n",
        "the reference `$ref: http://127.0.0.1:1/port.json` points outside the schema file",
        3,
        22,
        "appkit resolves references inside the schema only; it never downloads a remote $ref. Copy the referenced schema into `$defs` and refer to it as `#/$defs/NAME`",
    );
}
