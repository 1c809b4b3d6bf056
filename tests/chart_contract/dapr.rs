//! The platform's Dapr manifests (`examples/platform/components/`): they match the real Dapr CRDs
//! (`tests/fixtures/reference/dapr/`, copied from the platform's `shared/reference/`), are namespaced and scoped, keep
//! credentials out of plain text, and define every component the example apps name.

use std::path::PathBuf;

use serde_json::{json, Value};

use super::parse_docs;
use crate::common::{self, examples_dir};

fn component_manifests() -> Vec<(PathBuf, Value)> {
    let dir = examples_dir().join("platform/components");
    let mut out = Vec::new();
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        for doc in parse_docs(&text) {
            out.push((file.clone(), doc));
        }
    }
    assert!(
        out.len() >= 2,
        "expected Dapr manifests in {}",
        dir.display()
    );
    out
}

/// The real Dapr CRDs: `$APPKIT_REFERENCE_DIR/dapr`, else the copy in
/// `tests/fixtures/reference/dapr`.
fn dapr_reference_dir() -> PathBuf {
    common::reference_dir("dapr")
}

/// Make a CRD's structural schema strict: an object with declared properties and no
/// `x-kubernetes-preserve-unknown-fields` accepts no other key (the API server would prune it,
/// silently dropping a misspelt setting — here it is an error).
fn strict(schema: &mut Value) {
    let Some(map) = schema.as_object_mut() else {
        return;
    };
    if map.contains_key("properties")
        && !map.contains_key("additionalProperties")
        && map.get("x-kubernetes-preserve-unknown-fields") != Some(&Value::Bool(true))
    {
        map.insert("additionalProperties".into(), Value::Bool(false));
    }
    if let Some(Value::Object(props)) = map.get_mut("properties") {
        props.values_mut().for_each(strict);
    }
    for key in ["items", "additionalProperties"] {
        if let Some(sub) = map.get_mut(key) {
            strict(sub);
        }
    }
}

/// Every served version of every reference Dapr CRD: (apiVersion, kind) → strict schema.
fn dapr_schemas() -> &'static Vec<(String, String, Value)> {
    static SCHEMAS: std::sync::OnceLock<Vec<(String, String, Value)>> = std::sync::OnceLock::new();
    SCHEMAS.get_or_init(|| {
        let dir = dapr_reference_dir();
        let mut out = Vec::new();
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let text = std::fs::read_to_string(&path)
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            for crd in parse_docs(&text) {
                let group = crd["spec"]["group"].as_str().unwrap().to_string();
                let kind = crd["spec"]["names"]["kind"].as_str().unwrap().to_string();
                for v in crd["spec"]["versions"].as_array().unwrap() {
                    if v["served"] != true {
                        continue;
                    }
                    let mut schema = v["schema"]["openAPIV3Schema"].clone();
                    strict(&mut schema);
                    out.push((
                        format!("{group}/{}", v["name"].as_str().unwrap()),
                        kind.clone(),
                        schema,
                    ));
                }
            }
        }
        out
    })
}

/// What the reference Dapr CRDs (made strict) find wrong with one Dapr object; a kind or
/// apiVersion no served CRD version has is an error too.
pub(crate) fn dapr_crd_errors(doc: &Value) -> Vec<String> {
    let kind = doc["kind"].as_str().unwrap_or("");
    let api = doc["apiVersion"].as_str().unwrap_or("");
    let Some((_, _, schema)) = dapr_schemas()
        .iter()
        .find(|(a, k, _)| a == api && k == kind)
    else {
        return vec![format!(
            "{api} {kind} is not a served version of a Dapr CRD"
        )];
    };
    let validator = jsonschema::validator_for(schema).expect("CRD schema compiles");
    validator
        .iter_errors(doc)
        .map(|e| format!("{}: {e}", e.instance_path()))
        .collect()
}

#[test]
fn dapr_manifests_match_the_reference_crds() {
    let mut checked = 0;
    for (file, doc) in component_manifests() {
        let errors = dapr_crd_errors(&doc);
        assert!(
            errors.is_empty(),
            "{} does not match the Dapr CRDs in {}:\n{}",
            file.display(),
            dapr_reference_dir().display(),
            errors.join("\n")
        );
        checked += 1;
    }
    assert!(checked >= 3);
}

#[test]
fn strict_crd_schema_rejects_a_misspelt_component_field() {
    let mut schema = json!({
        "type": "object",
        "properties": {"spec": {"type": "object", "properties": {"type": {"type": "string"}}}, "metadata": {"type": "object"}}
    });
    strict(&mut schema);
    let v = jsonschema::validator_for(&schema).unwrap();
    assert!(v.is_valid(&json!({"spec": {"type": "state.redis"}, "metadata": {"anything": 1}})));
    assert!(!v.is_valid(&json!({"spec": {"typ": "state.redis"}})));
}

/// Always-on checks of the platform's Components (and Resiliencies): they are namespaced, scoped, and never hold a
/// credential in plain text; and each component an example app names exists for it.
#[test]
fn example_components_are_scoped_and_keep_credentials_out_of_plain_text() {
    let mut visible: Vec<(String, String, Vec<String>)> = Vec::new(); // (namespace, name, scopes)
    for (file, doc) in component_manifests() {
        let f = file.display();
        if doc["kind"] == "Configuration" {
            // A Configuration has no scopes (the CRD has none), and one without a namespace is
            // copied by render into every app namespace whose apps name it.
            continue;
        }
        let meta = &doc["metadata"];
        let name = meta["name"]
            .as_str()
            .unwrap_or_else(|| panic!("{f}: metadata.name"));
        let namespace = meta["namespace"]
            .as_str()
            .unwrap_or_else(|| panic!("{f}: metadata.namespace"));
        let scopes: Vec<String> = doc["scopes"]
            .as_array()
            .unwrap_or_else(|| panic!("{f}: scopes"))
            .iter()
            .map(|s| s.as_str().unwrap().to_string())
            .collect();
        assert!(
            !scopes.is_empty(),
            "{f}: a platform component is scoped to the apps that use it"
        );
        if doc["kind"] != "Component" {
            continue;
        }
        assert_eq!(doc["apiVersion"], "dapr.io/v1alpha1", "{f}");
        assert!(
            doc["spec"]["type"].is_string() && doc["spec"]["version"] == "v1",
            "{f}"
        );
        for entry in doc["spec"]["metadata"]
            .as_array()
            .unwrap_or_else(|| panic!("{f}: spec.metadata"))
        {
            let key = entry["name"]
                .as_str()
                .unwrap_or_else(|| panic!("{f}: metadata entry without name"));
            let has_value = entry.get("value").is_some();
            let has_ref = entry.get("secretKeyRef").is_some();
            assert!(
                has_value ^ has_ref,
                "{f}: {key} needs exactly one of value / secretKeyRef"
            );
            let lower = key.to_lowercase();
            if ["password", "token", "secret", "apikey"]
                .iter()
                .any(|w| lower.contains(w))
            {
                assert!(
                    has_ref,
                    "{f}: {key} must come from a secretKeyRef, never a plain value"
                );
                assert!(
                    entry["secretKeyRef"]["name"].is_string()
                        && entry["secretKeyRef"]["key"].is_string(),
                    "{f}: {key}"
                );
            }
        }
        visible.push((namespace.to_string(), name.to_string(), scopes));
    }
    // app1 (namespace app1, Dapr app id app1) names statestore and secretstore.
    let app1: Value = serde_saphyr::from_str(
        &std::fs::read_to_string(examples_dir().join("apps/app1/values.yaml")).unwrap(),
    )
    .unwrap();
    let wanted = app1["dapr"]["components"].as_array().unwrap();
    assert!(!wanted.is_empty());
    for component in wanted {
        let component = component.as_str().unwrap();
        assert!(
            visible.iter().any(|(ns, name, scopes)| ns == "app1" && name == component && scopes.iter().any(|s| s == "app1")),
            "app1 names Dapr component {component}, which is not defined for it in examples/platform/components"
        );
    }
}
