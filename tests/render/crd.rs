//! Every rendered object validates against the real Flux CRDs (schema + the CEL rule on chart/chartRef).

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde_json::{json, Value};

use super::*;
use crate::common;

// ---------------------------------------------------------------------------------------------
// Flux CRD schemas

/// The Flux CRDs: `$APPKIT_REFERENCE_DIR/flux`, else the copy in `tests/fixtures/reference/flux`.
fn flux_crd_dir() -> PathBuf {
    common::reference_dir("flux")
}

/// Kubernetes structural schema (OpenAPI v3) → JSON Schema. Objects with `properties` reject
/// unknown fields (the API server would silently prune them — a typo'd field name is a bug);
/// `x-kubernetes-preserve-unknown-fields` keeps anything; `nullable` allows null.
fn to_json_schema(v: &Value) -> Value {
    match v {
        Value::Object(m) => {
            let mut out = serde_json::Map::new();
            for (k, val) in m {
                if k.starts_with("x-kubernetes-") || k == "nullable" || k == "format" {
                    continue;
                }
                let converted = match k.as_str() {
                    "properties" => Value::Object(
                        val.as_object()
                            .unwrap()
                            .iter()
                            .map(|(pk, pv)| (pk.clone(), to_json_schema(pv)))
                            .collect(),
                    ),
                    "items" | "additionalProperties" | "not" if val.is_object() => {
                        to_json_schema(val)
                    }
                    "allOf" | "anyOf" | "oneOf" => {
                        Value::Array(val.as_array().unwrap().iter().map(to_json_schema).collect())
                    }
                    _ => val.clone(),
                };
                out.insert(k.clone(), converted);
            }
            let preserve =
                m.get("x-kubernetes-preserve-unknown-fields") == Some(&Value::Bool(true));
            if m.contains_key("properties") && !m.contains_key("additionalProperties") && !preserve
            {
                out.insert("additionalProperties".into(), Value::Bool(false));
            }
            if m.get("nullable") == Some(&Value::Bool(true)) {
                if let Some(Value::String(t)) = out.get("type").cloned() {
                    out.insert("type".into(), json!([t, "null"]));
                }
            }
            if m.get("x-kubernetes-int-or-string") == Some(&Value::Bool(true)) {
                out.remove("type");
                out.insert(
                    "anyOf".into(),
                    json!([{"type": "integer"}, {"type": "string"}]),
                );
            }
            Value::Object(out)
        }
        other => other.clone(),
    }
}

/// The CRD files of each `flux.version` render supports.
pub(crate) const FLUX_CRDS: [(&str, [&str; 3]); 2] = [
    (
        "2.7",
        [
            "helm.toolkit.fluxcd.io_helmreleases.v1.4.5.yaml",
            "source.toolkit.fluxcd.io_ocirepositories.v1.7.4-with-v1beta2.yaml",
            "source.toolkit.fluxcd.io_helmrepositories.v1.7.4.yaml",
        ],
    ),
    (
        "2.9",
        [
            "helm.toolkit.fluxcd.io_helmreleases.yaml",
            "source.toolkit.fluxcd.io_ocirepositories.yaml",
            "source.toolkit.fluxcd.io_helmrepositories.yaml",
        ],
    ),
];

/// One CRD version: its validator and its raw schema (for the CEL rules).
pub(crate) struct Crd {
    validator: jsonschema::Validator,
    schema: Value,
}

/// (apiVersion, kind) → CRD, for the newest supported Flux.
pub(crate) fn crd_validators() -> BTreeMap<(String, String), Crd> {
    crd_validators_for("2.9")
}

/// (apiVersion, kind) → CRD, from the CRD files of `flux_version`.
pub(crate) fn crd_validators_for(flux_version: &str) -> BTreeMap<(String, String), Crd> {
    let dir = flux_crd_dir();
    let files = FLUX_CRDS
        .iter()
        .find(|(v, _)| *v == flux_version)
        .unwrap_or_else(|| panic!("no CRDs for Flux {flux_version}"))
        .1;
    let mut out = BTreeMap::new();
    for file in files {
        let text = std::fs::read_to_string(dir.join(file))
            .unwrap_or_else(|e| panic!("{}: {e}", dir.join(file).display()));
        let crd: Value = serde_saphyr::from_str(&text).unwrap();
        let group = crd["spec"]["group"].as_str().unwrap();
        let kind = crd["spec"]["names"]["kind"].as_str().unwrap();
        for version in crd["spec"]["versions"].as_array().unwrap() {
            let raw = version["schema"]["openAPIV3Schema"].clone();
            let schema = to_json_schema(&raw);
            let validator =
                jsonschema::validator_for(&schema).unwrap_or_else(|e| panic!("{file}: {e}"));
            out.insert(
                (
                    format!("{group}/{}", version["name"].as_str().unwrap()),
                    kind.to_string(),
                ),
                Crd {
                    validator,
                    schema: raw,
                },
            );
        }
    }
    out
}

/// The CEL rules (`x-kubernetes-validations`) of the CRDs on objects appkit writes, evaluated
/// here by hand: the rule's text → whether `self` (the object at the rule's place) passes. A rule
/// on a field appkit writes that is not in this table fails the check, so a CRD that gains a rule
/// cannot pass unnoticed.
fn cel(rule: &str, this: &Value) -> Option<bool> {
    let has = |k: &str| this.get(k).is_some();
    let name = this.get("name").and_then(Value::as_str);
    Some(match rule {
        "(has(self.chart) && !has(self.chartRef)) || (!has(self.chart) && has(self.chartRef))" => {
            has("chart") != has("chartRef")
        }
        "!has(self.retryInterval) || self.name != 'RemediateOnFailure'" => {
            !has("retryInterval") || name != Some("RemediateOnFailure")
        }
        "!has(self.retryInterval) || self.name == 'RetryOnFailure'" => {
            !has("retryInterval") || name == Some("RetryOnFailure")
        }
        "has(self.configMapRef) || has(self.secretRef)" => has("configMapRef") || has("secretRef"),
        "!has(self.configMapRef) || !has(self.secretRef)" => {
            !has("configMapRef") || !has("secretRef")
        }
        _ => return None,
    })
}

/// Walk `schema` and `doc` together; every rule on a place `doc` has is evaluated.
fn cel_errors(schema: &Value, doc: &Value, path: &str, out: &mut Vec<String>) {
    if let Some(rules) = schema
        .get("x-kubernetes-validations")
        .and_then(Value::as_array)
    {
        for r in rules {
            let rule = r["rule"].as_str().unwrap_or("").replace('\n', " ");
            let rule = rule.split_whitespace().collect::<Vec<_>>().join(" ");
            match cel(&rule, doc) {
                Some(true) => {}
                Some(false) => out.push(format!("CEL at {path}: {} ({rule})", r["message"])),
                None => out.push(format!(
                    "CEL at {path}: the rule {rule:?} is not evaluated by this test: add it to `cel`"
                )),
            }
        }
    }
    if let (Some(props), Some(obj)) = (
        schema.get("properties").and_then(Value::as_object),
        doc.as_object(),
    ) {
        for (k, v) in obj {
            if let Some(s) = props.get(k) {
                cel_errors(s, v, &format!("{path}.{k}"), out);
            }
        }
    }
    if let (Some(items), Some(arr)) = (schema.get("items"), doc.as_array()) {
        for (i, v) in arr.iter().enumerate() {
            cel_errors(items, v, &format!("{path}[{i}]"), out);
        }
    }
}

/// Every problem the CRD (schema + its CEL rules) finds in `doc`.
pub(crate) fn crd_errors(validators: &BTreeMap<(String, String), Crd>, doc: &Value) -> Vec<String> {
    let key = (
        doc["apiVersion"].as_str().unwrap_or("").to_string(),
        doc["kind"].as_str().unwrap_or("").to_string(),
    );
    let Some(crd) = validators.get(&key) else {
        return vec![format!("no CRD for {key:?}")];
    };
    let mut errors: Vec<String> = crd
        .validator
        .iter_errors(doc)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    cel_errors(&crd.schema, doc, "", &mut errors);
    let name = doc["metadata"]["name"].as_str().unwrap_or("");
    if name.is_empty()
        || name.len() > 63
        || !name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        errors.push(format!("metadata.name {name:?} is not a DNS-1123 label"));
    }
    errors
}

#[test]
fn rendered_objects_validate_against_the_flux_crds() {
    let p = Platform::new();
    let config = |source: &str, insecure: bool| {
        let registry = if insecure {
            "  insecure: true\n  cosignSecret: cosign-pub\n"
        } else {
            "  caSecret: harbor-ca\n  cosignSecret: cosign-pub\n"
        };
        APPKIT_YAML
            .replace("  caSecret: harbor-ca\n", registry)
            .replace(
                "  retries: 3\n",
                &format!("  retries: 3\n  sourceKind: {source}\n"),
            )
            .replace(
                "    promoted: true\n",
                "    promoted: true\n    pins:\n      app2: 0.2.0\n",
            )
    };
    for flux_version in ["2.7", "2.9"] {
        let validators = crd_validators_for(flux_version);
        for mode in ["shared", "per-app"] {
            let mut seen = BTreeMap::new();
            let mut insecure_sources = 0;
            for (source, insecure) in [
                ("ocirepository", false),
                ("helmrepository", false),
                ("ocirepository", true),
                ("helmrepository", true),
            ] {
                let cfg = config(source, insecure).replace(
                    "  retries: 3\n",
                    &format!("  retries: 3\n  sources: {mode}\n  version: \"{flux_version}\"\n"),
                );
                p.write("appkit.yaml", &cfg);
                let out = format!(
                    "out-{flux_version}-{mode}-{source}{}",
                    if insecure { "-insecure" } else { "" }
                );
                for env in ["dev", "prod"] {
                    p.render_ok(&["--env", env, "--out", &format!("{out}/{env}")]);
                }
                for (file, bytes) in p.snapshot(&out) {
                    if file.ends_with("kustomization.yaml") {
                        continue;
                    }
                    for doc in docs(std::str::from_utf8(&bytes).unwrap()) {
                        let dapr = doc["apiVersion"]
                            .as_str()
                            .is_some_and(|a| a.starts_with("dapr.io/"));
                        let errors = if dapr {
                            crate::chart_contract::dapr::dapr_crd_errors(&doc)
                        } else {
                            crd_errors(&validators, &doc)
                        };
                        assert!(
                            errors.is_empty(),
                            "Flux {flux_version}, {mode}: {file}: {} does not validate:\n{}\n{doc:#}",
                            doc["kind"],
                            errors.join("\n")
                        );
                        *seen
                            .entry(doc["kind"].as_str().unwrap().to_string())
                            .or_insert(0) += 1;
                        // registry.insecure: every source says so, and only then.
                        if doc["kind"] != "HelmRelease" && !dapr {
                            assert_eq!(
                                doc["spec"].get("insecure"),
                                insecure.then_some(&json!(true)),
                                "{file}: {doc:#}"
                            );
                            assert_eq!(doc["spec"].get("certSecretRef").is_some(), !insecure);
                            insecure_sources += usize::from(insecure);
                        }
                    }
                }
            }
            // Per app: one source per release; shared: dev 0.1.0, prod 0.1.0 and 0.2.0 (a pin).
            let sources = if mode == "shared" { 3 } else { 4 };
            assert_eq!(seen.get("HelmRelease"), Some(&16), "{seen:?}");
            assert_eq!(seen.get("OCIRepository"), Some(&(2 * sources)), "{seen:?}");
            assert_eq!(seen.get("HelmRepository"), Some(&(2 * sources)), "{seen:?}");
            assert_eq!(insecure_sources, 2 * sources);
        }

        // Every fleet setting at once validates against this version's CRDs (and its CEL rules).
        let fleet = APPKIT_YAML
            .replace(
                "  retries: 3\n",
                &format!(
                    "  retries: 3\n  version: \"{flux_version}\"\n  shards: [shard-a, shard-b]\n  strategy: RetryOnFailure\n  retryInterval: 2m\n  serviceAccountName: flux-apps\n  driftDetection:\n    mode: warn\n    ignore:\n      - paths: [/spec/replicas]\n        target: {{kind: Deployment}}\n  commonMetadata:\n    labels: {{owner: platform}}\n    annotations: {{team: apps}}\n"
                ),
            )
            .replace(
                "      dependsOn: [app1]\n",
                "      dependsOn: [app1]\n      flux:\n        shard: shard-b\n        strategy: RemediateOnFailure\n        driftDetection: disabled\n        commonMetadata: {labels: {owner: app2-team}}\n",
            );
        p.write("appkit.yaml", &fleet);
        let out = format!("fleet-{flux_version}");
        p.render_ok(&["--env", "dev", "--out", &out]);
        let app1 = doc_of_kind(&p.read(&format!("{out}/app1.yaml")), "HelmRelease");
        let app2 = doc_of_kind(&p.read(&format!("{out}/app2.yaml")), "HelmRelease");
        for doc in docs(&p.read(&format!("{out}/sources.yaml")))
            .into_iter()
            .chain([app1.clone(), app2.clone()])
        {
            let errors = crd_errors(&validators, &doc);
            assert!(
                errors.is_empty(),
                "Flux {flux_version}: {}\n{doc:#}",
                errors.join("\n")
            );
        }
        let spec = &app1["spec"];
        assert_eq!(
            spec["install"]["strategy"],
            json!({"name": "RetryOnFailure", "retryInterval": "2m"})
        );
        assert!(spec["install"].get("remediation").is_none(), "{spec:#}");
        assert_eq!(spec["upgrade"]["strategy"]["name"], "RetryOnFailure");
        assert_eq!(
            spec["driftDetection"],
            json!({"mode": "warn", "ignore": [{"paths": ["/spec/replicas"], "target": {"kind": "Deployment"}}]})
        );
        assert_eq!(spec["serviceAccountName"], "flux-apps");
        assert_eq!(
            spec["commonMetadata"],
            json!({"labels": {"owner": "platform"}, "annotations": {"team": "apps"}})
        );
        // app2's own settings win.
        assert_eq!(
            app2["metadata"]["labels"]["sharding.fluxcd.io/key"],
            "shard-b"
        );
        assert!(app2["spec"]["install"].get("strategy").is_none());
        assert_eq!(app2["spec"]["install"]["remediation"]["retries"], 3);
        assert_eq!(app2["spec"]["driftDetection"], json!({"mode": "disabled"}));
        assert_eq!(
            app2["spec"]["commonMetadata"]["labels"]["owner"],
            "app2-team"
        );
        assert_eq!(
            app2["spec"]["commonMetadata"]["annotations"]["team"],
            "apps"
        );
        // The CEL rules are evaluated: retryInterval without RetryOnFailure is refused.
        let mut bad = app1.clone();
        bad["spec"]["upgrade"]["strategy"]["name"] = json!("RemediateOnFailure");
        assert!(crd_errors(&validators, &bad)
            .iter()
            .any(|e| e.contains("retryInterval can only be set")));
    }
    let validators = crd_validators();
    p.write(
        "appkit.yaml",
        &config("ocirepository", false)
            .replace("  retries: 3\n", "  retries: 3\n  sources: per-app\n"),
    );
    p.render_ok(&["--env", "prod", "--out", "out-ocirepository/prod"]);
    p.write(
        "appkit.yaml",
        &config("helmrepository", false)
            .replace("  retries: 3\n", "  retries: 3\n  sources: per-app\n"),
    );
    p.render_ok(&["--env", "prod", "--out", "out-helmrepository/prod"]);

    // The check can fail: a typo'd field, a wrong enum value and a missing chart are all caught.
    let text = p.read("out-ocirepository/prod/app2.yaml");
    let mut oci = doc_of_kind(&text, "OCIRepository");
    assert_eq!(
        oci["spec"]["ref"]["tag"], "0.2.0",
        "prod pins app2 to 0.2.0"
    );
    assert_eq!(oci["spec"]["ref"]["digest"], DIGEST_020);
    assert_eq!(oci["spec"]["verify"]["provider"], "cosign");
    oci["spec"]["layerSelector"]["operation"] = json!("unpack");
    oci["spec"]["layerselector"] = json!({});
    let errors = crd_errors(&validators, &oci);
    assert!(errors.iter().any(|e| e.contains("unpack")), "{errors:?}");
    assert!(
        errors.iter().any(|e| e.contains("layerselector")),
        "{errors:?}"
    );
    // The legacy source: a HelmRepository of type oci and chart.spec with the pinned version.
    let legacy = p.read("out-helmrepository/prod/app2.yaml");
    let repo = doc_of_kind(&legacy, "HelmRepository");
    assert_eq!(repo["spec"]["type"], "oci");
    assert_eq!(repo["spec"]["url"], "oci://harbor.example.com/platform");
    let chart = &doc_of_kind(&legacy, "HelmRelease")["spec"]["chart"]["spec"];
    assert_eq!(chart["chart"], "app");
    assert_eq!(chart["version"], "0.2.0");
    assert_eq!(
        chart["sourceRef"],
        json!({"kind": "HelmRepository", "name": "app2", "namespace": "flux-apps"})
    );
    assert_eq!(chart["verify"]["provider"], "cosign");

    let mut hr = doc_of_kind(&text, "HelmRelease");
    hr["spec"].as_object_mut().unwrap().remove("chartRef");
    assert!(crd_errors(&validators, &hr)
        .iter()
        .any(|e| e.starts_with("CEL")));
}
