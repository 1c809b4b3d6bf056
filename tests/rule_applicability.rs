//! Which platform rules apply to a chart: a rule that reads chart keys (`image.digest`,
//! `resources.limits`, `nodepool`, …; the registry's `reads`) is applied only where the chart
//! declares them — in its `values.schema.json` under `properties` (through `$ref`s and `allOf`),
//! or, for a chart without a schema, in its `values.yaml`. Each rule left out is one
//! `rule-skipped` warning (exit 1 under `--strict`); a chart without a schema is one
//! `schema-missing` warning per run. Rules that read no chart key (inline secrets, build config,
//! back-end config, platform-owned) apply to every chart. The bundled chart declares every key:
//! its apps see none of this.

use std::path::{Path, PathBuf};
use std::process::Output;

use serde_json::{json, Value};

use crate::common::{self, appkit, run};

/// A chart in `dir/chart`: Chart.yaml, `values_yaml`, and `schema` as values.schema.json when
/// given.
fn chart(dir: &Path, values_yaml: &str, schema: Option<&Value>) -> PathBuf {
    let chart = dir.join("chart");
    std::fs::create_dir_all(&chart).unwrap();
    std::fs::write(
        chart.join("Chart.yaml"),
        "apiVersion: v2\nname: other\nversion: 1.0.0\n",
    )
    .unwrap();
    std::fs::write(chart.join("values.yaml"), values_yaml).unwrap();
    if let Some(s) = schema {
        std::fs::write(
            chart.join("values.schema.json"),
            serde_json::to_string_pretty(s).unwrap(),
        )
        .unwrap();
    }
    chart
}

/// App values files `dir/apps/<name>/values.yaml`.
fn app(dir: &Path, name: &str, text: &str) -> PathBuf {
    let d = dir.join("apps").join(name);
    std::fs::create_dir_all(&d).unwrap();
    let f = d.join("values.yaml");
    std::fs::write(&f, text).unwrap();
    f
}

/// `validate -o json --chart CHART [--strict] FILES…` in `dir` (no appkit.yaml): exit code and
/// diagnostics.
fn validate(dir: &Path, chart: &Path, files: &[PathBuf], strict: bool) -> (i32, Vec<Value>) {
    let mut cmd = appkit();
    cmd.current_dir(dir)
        .args(["validate", "-o", "json", "--chart"])
        .arg(chart);
    if strict {
        cmd.arg("--strict");
    }
    let out: Output = run(cmd.args(files));
    let doc: Value = serde_json::from_str(&common::stdout(&out))
        .unwrap_or_else(|e| panic!("no JSON ({e}): {}", common::stderr(&out)));
    (
        out.status.code().unwrap(),
        doc["diagnostics"].as_array().unwrap().clone(),
    )
}

fn with_code<'a>(diags: &'a [Value], code: &str) -> Vec<&'a Value> {
    diags.iter().filter(|d| d["code"] == code).collect()
}

fn messages(diags: &[&Value]) -> Vec<String> {
    diags
        .iter()
        .map(|d| d["message"].as_str().unwrap().to_string())
        .collect()
}

/// A schema with `image.repository` and `image.tag` but no `image.digest`: the chart ignores
/// a digest, so "set `image.digest`" would be wrong advice and `latest` would ship anyway.
#[test]
fn a_chart_that_does_not_declare_image_digest_skips_the_image_rules() {
    let tmp = tempfile::tempdir().unwrap();
    let schema = json!({
        "type": "object",
        "properties": {
            "image": {"type": "object", "properties": {"repository": {"type": "string"}, "tag": {"type": "string"}}},
            "resources": {"$ref": "#/definitions/resources"}
        },
        "definitions": {
            "resources": {"allOf": [{"properties": {"requests": {"type": "object"}}}, {"properties": {"limits": {"type": "object"}}}]}
        }
    });
    let chart = chart(
        tmp.path(),
        "image: {repository: r, tag: latest}\n",
        Some(&schema),
    );
    let f = app(
        tmp.path(),
        "a",
        "image: {repository: r, tag: latest}\nresources: {requests: {cpu: '2'}, limits: {cpu: '1'}}\n",
    );
    let g = app(tmp.path(), "b", "image: {repository: r, tag: latest}\n");
    let (code, diags) = validate(tmp.path(), &chart, &[f.clone(), g.clone()], false);
    assert!(
        with_code(&diags, "image-not-pinned").is_empty(),
        "{diags:#?}"
    );
    assert!(with_code(&diags, "schema-missing").is_empty(), "{diags:#?}");
    // One warning per skipped rule for the whole run (two apps), naming the key it needed.
    let skipped = with_code(&diags, "rule-skipped");
    assert_eq!(
        messages(&skipped),
        [
            "rule `dapr-app-id` skipped: the chart does not declare `dapr.appId`",
            "rule `image-not-pinned` skipped: the chart does not declare `image.digest`",
            "rule `image-tag-not-digest` skipped: the chart does not declare `image.digest`",
            "rule `invocation-one-sided` skipped: the chart does not declare \
             `networkPolicy.allowIngressFrom`, `networkPolicy.allowEgressTo`",
            "rule `quota-fit` skipped: the chart does not declare `replicas`, \
             `platform.quota.enabled`, `platform.quota.requestsCpu`, \
             `platform.quota.requestsMemory`, `platform.quota.limitsCpu`, \
             `platform.quota.limitsMemory`, `platform.quota.pods`, `dapr.enabled`, \
             `dapr.sidecar.resources.requests`, `dapr.sidecar.resources.limits`",
            "rule `requests-exceed-limits` partly skipped: the chart does not declare \
             `dapr.sidecar.resources.requests`, `dapr.sidecar.resources.limits`; it still checks \
             `resources.requests` + `resources.limits`",
        ],
        "{diags:#?}"
    );
    assert!(skipped.iter().all(|d| d["severity"] == "warning"));
    assert!(skipped[0]["file"]
        .as_str()
        .is_some_and(|f| f.ends_with("values.schema.json")));
    // `resources` is declared (through `$ref` and `allOf`): that part of the rule still runs.
    assert_eq!(
        with_code(&diags, "requests-exceed-limits").len(),
        1,
        "{diags:#?}"
    );
    assert_eq!(code, 1, "the resources error fails the run");

    // Warnings alone pass, and fail under `--strict`.
    let (code, diags) = validate(tmp.path(), &chart, std::slice::from_ref(&g), false);
    assert_eq!(code, 0, "{diags:#?}");
    assert_eq!(diags.len(), 6, "{diags:#?}");
    let (code, _) = validate(tmp.path(), &chart, &[g], true);
    assert_eq!(code, 1, "--strict fails on a skipped rule");
}

/// The same app against a chart that declares `image.digest` (through a `$ref`): the rule
/// applies and `latest` is refused.
#[test]
fn a_declared_digest_through_a_ref_applies_the_rule() {
    let tmp = tempfile::tempdir().unwrap();
    let schema = json!({
        "$defs": {"image": {"properties": {"tag": {}, "digest": {}}}},
        "properties": {"image": {"$ref": "#/$defs/image"}}
    });
    let chart = chart(tmp.path(), "image: {tag: latest}\n", Some(&schema));
    let f = app(tmp.path(), "a", "image: {tag: latest}\n");
    let (code, diags) = validate(tmp.path(), &chart, &[f], false);
    assert_eq!(code, 1);
    assert_eq!(with_code(&diags, "image-not-pinned").len(), 1, "{diags:#?}");
    let skipped = messages(&with_code(&diags, "rule-skipped"));
    assert!(skipped.iter().all(|m| !m.contains("image")), "{skipped:#?}");
}

/// No values.schema.json: one `schema-missing` warning for the run; the rules read what the
/// chart's values.yaml sets (`image.digest: ""` declares it); inline secrets are refused anyway.
#[test]
fn a_chart_without_a_schema_says_so_once_and_still_refuses_inline_secrets() {
    let tmp = tempfile::tempdir().unwrap();
    let chart = chart(
        tmp.path(),
        "image: {repository: r, tag: '', digest: ''}\nresources: {}\n",
        None,
    );
    let f = app(
        tmp.path(),
        "a",
        "image: {tag: latest}\npassword: hunter2-literal\n",
    );
    let g = app(
        tmp.path(),
        "b",
        "image: {tag: latest}\nbuild: {pack: true}\n",
    );
    let (code, diags) = validate(tmp.path(), &chart, &[f, g], false);
    assert_eq!(code, 1);
    let missing = with_code(&diags, "schema-missing");
    assert_eq!(
        messages(&missing),
        ["the chart has no values.schema.json: schema checks are skipped"],
        "{diags:#?}"
    );
    assert_eq!(missing[0]["severity"], "warning");
    // Rules that read no chart key apply to any chart.
    assert_eq!(with_code(&diags, "inline-secret").len(), 1, "{diags:#?}");
    assert_eq!(with_code(&diags, "build-config").len(), 1, "{diags:#?}");
    // values.yaml sets `image.tag` and `image.digest`: the image rule applies to both apps.
    assert_eq!(with_code(&diags, "image-not-pinned").len(), 2, "{diags:#?}");
    // `resources: {}` sets neither requests nor limits: those rules are skipped, once; so are
    // the Dapr app id and quota rules (nothing declares `dapr` nor `platform.quota`).
    assert_eq!(
        messages(&with_code(&diags, "rule-skipped")),
        [
            "rule `dapr-app-id` skipped: the chart does not declare `dapr.appId`",
            "rule `invocation-one-sided` skipped: the chart does not declare \
             `networkPolicy.allowIngressFrom`, `networkPolicy.allowEgressTo`",
            "rule `quota-fit` skipped: the chart does not declare `replicas`, \
             `resources.requests`, `resources.limits`, `platform.quota.enabled`, \
             `platform.quota.requestsCpu`, `platform.quota.requestsMemory`, \
             `platform.quota.limitsCpu`, `platform.quota.limitsMemory`, `platform.quota.pods`, \
             `dapr.enabled`, `dapr.sidecar.resources.requests`, `dapr.sidecar.resources.limits`",
            "rule `requests-exceed-limits` skipped: the chart does not declare `resources.requests`, \
             `resources.limits`, `dapr.sidecar.resources.requests`, `dapr.sidecar.resources.limits`",
        ],
        "{diags:#?}"
    );
}

/// The bundled chart without its schema in the example platform repo: one `schema-missing`
/// (its values.yaml sets every key the rules read, so no rule is skipped), which fails
/// `--strict`; `rules: {schema-missing: off}` accepts the chart and the run is clean again.
#[test]
fn rules_off_silence_the_notes() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = common::example_platform(tmp.path());
    add_appconfig(&repo);
    let chart = tmp.path().join("chart");
    std::fs::remove_file(chart.join("values.schema.json")).unwrap();
    let (code, diags) = validate_ws(&repo, true);
    assert_eq!(code, 1, "{diags:#?}");
    assert_eq!(with_code(&diags, "schema-missing").len(), 1, "{diags:#?}");
    // The bundled values.yaml sets every key the rules read.
    assert!(with_code(&diags, "rule-skipped").is_empty(), "{diags:#?}");

    let cfg = repo.join("appkit.yaml");
    let text = std::fs::read_to_string(&cfg).unwrap();
    assert!(text.contains("\nrules:\n"), "the example sets rules:");
    let text = text.replace("\nrules:\n", "\nrules:\n  schema-missing: off\n");
    std::fs::write(&cfg, text).unwrap();
    let (code, diags) = validate_ws(&repo, true);
    assert!(diags.is_empty(), "{diags:#?}");
    assert_eq!(code, 0);
}

/// The Dapr Configuration the example apps name (`dapr.config: appconfig`, the chart default),
/// which `examples/platform/components/` does not carry yet: without it `dapr-config-missing`
/// fails every example app.
fn add_appconfig(repo: &Path) {
    std::fs::write(
        repo.join("platform/components/appconfig.yaml"),
        "apiVersion: dapr.io/v1alpha1\nkind: Configuration\nmetadata:\n  name: appconfig\nspec: {}\n",
    )
    .unwrap();
}

fn validate_ws(repo: &Path, strict: bool) -> (i32, Vec<Value>) {
    let mut cmd = appkit();
    cmd.current_dir(repo).args(["validate", "-o", "json"]);
    if strict {
        cmd.arg("--strict");
    }
    let out = run(&mut cmd);
    let doc: Value = serde_json::from_str(&common::stdout(&out))
        .unwrap_or_else(|e| panic!("no JSON ({e}): {}", common::stderr(&out)));
    (
        out.status.code().unwrap(),
        doc["diagnostics"].as_array().unwrap().clone(),
    )
}

/// The bundled chart declares every key every rule reads: the examples see no note at all.
#[test]
fn the_bundled_chart_declares_every_rule_key() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = common::example_platform(tmp.path());
    add_appconfig(&repo);
    let (code, diags) = validate_ws(&repo, true);
    assert!(diags.is_empty(), "{diags:#?}");
    assert_eq!(code, 0);
    let out = run(appkit().args(["validate", "--list-rules", "-o", "json"]));
    let rules: Value =
        serde_json::from_str::<Value>(&common::stdout(&out)).unwrap()["rules"].clone();
    let reads = |code: &str| {
        rules
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["code"] == code)
            .map(|r| r["reads"].clone())
    };
    assert_eq!(
        reads("image-not-pinned"),
        Some(json!(["image.tag", "image.digest"]))
    );
    assert_eq!(reads("inline-secret"), Some(json!([])));
}
