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

/// (apiVersion, kind) → validator, from every CRD file.
pub(crate) fn crd_validators() -> BTreeMap<(String, String), jsonschema::Validator> {
    let dir = flux_crd_dir();
    let mut out = BTreeMap::new();
    for file in [
        "helm.toolkit.fluxcd.io_helmreleases.yaml",
        "source.toolkit.fluxcd.io_ocirepositories.yaml",
        "source.toolkit.fluxcd.io_helmrepositories.yaml",
    ] {
        let text = std::fs::read_to_string(dir.join(file))
            .unwrap_or_else(|e| panic!("{}: {e}", dir.join(file).display()));
        let crd: Value = serde_saphyr::from_str(&text).unwrap();
        let group = crd["spec"]["group"].as_str().unwrap();
        let kind = crd["spec"]["names"]["kind"].as_str().unwrap();
        for version in crd["spec"]["versions"].as_array().unwrap() {
            let schema = to_json_schema(&version["schema"]["openAPIV3Schema"]);
            let validator =
                jsonschema::validator_for(&schema).unwrap_or_else(|e| panic!("{file}: {e}"));
            out.insert(
                (
                    format!("{group}/{}", version["name"].as_str().unwrap()),
                    kind.to_string(),
                ),
                validator,
            );
        }
    }
    out
}

/// Every problem the CRD (schema + the CEL rules appkit's objects touch) finds in `doc`.
pub(crate) fn crd_errors(
    validators: &BTreeMap<(String, String), jsonschema::Validator>,
    doc: &Value,
) -> Vec<String> {
    let key = (
        doc["apiVersion"].as_str().unwrap_or("").to_string(),
        doc["kind"].as_str().unwrap_or("").to_string(),
    );
    let Some(v) = validators.get(&key) else {
        return vec![format!("no CRD for {key:?}")];
    };
    let mut errors: Vec<String> = v
        .iter_errors(doc)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    if key.1 == "HelmRelease" {
        let spec = &doc["spec"];
        if spec.get("chart").is_some() == spec.get("chartRef").is_some() {
            errors.push("CEL: exactly one of spec.chart / spec.chartRef must be set".into());
        }
    }
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
    let validators = crd_validators();
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
    let mut seen = BTreeMap::new();
    let mut insecure_sources = 0;
    for (source, insecure) in [
        ("ocirepository", false),
        ("helmrepository", false),
        ("ocirepository", true),
        ("helmrepository", true),
    ] {
        p.write("appkit.yaml", &config(source, insecure));
        let out = format!("out-{source}{}", if insecure { "-insecure" } else { "" });
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
                    "{file}: {} does not validate:\n{}\n{doc:#}",
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
    assert_eq!(seen.get("HelmRelease"), Some(&16), "{seen:?}");
    assert_eq!(seen.get("OCIRepository"), Some(&8), "{seen:?}");
    assert_eq!(seen.get("HelmRepository"), Some(&8), "{seen:?}");
    assert_eq!(insecure_sources, 8);

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
