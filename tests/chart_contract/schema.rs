//! `values.schema.json` itself: draft-07, closed objects (a map such as `platform.appNamespaces`
//! has no `properties` and types its values with an `additionalProperties` schema), a description
//! on every property (the values reference is generated from them), only keywords that Helm 3.17
//! and Helm 4.1 enforce identically, and defaults that match `values.yaml`.

use serde_json::{json, Value};

use crate::common::chart_dir;

/// Keywords Helm 3.17 (gojsonschema, draft-07) and Helm 4.1 (santhosh-tekuri/jsonschema) both
/// enforce the same way. Anything else (`format`, `$defs`, `dependentRequired`,
/// `unevaluatedProperties`, …) could pass on one Helm and fail on the other.
const PORTABLE_KEYWORDS: &[&str] = &[
    "$schema",
    "title",
    "description",
    "type",
    "properties",
    "required",
    "additionalProperties",
    "enum",
    "pattern",
    "minimum",
    "maximum",
    "items",
    "minItems",
    "maxItems",
    "uniqueItems",
    "minLength",
    "maxLength",
    "default",
    "examples",
    "anyOf",
    "not",
];

fn chart_schema() -> Value {
    let text = std::fs::read_to_string(chart_dir().join("values.schema.json")).unwrap();
    serde_json::from_str(&text).expect("values.schema.json is JSON")
}

fn chart_defaults() -> Value {
    serde_saphyr::from_str(&std::fs::read_to_string(chart_dir().join("values.yaml")).unwrap())
        .expect("values.yaml parses")
}

/// Walk every subschema with its JSON path.
fn walk(schema: &Value, path: &str, f: &mut impl FnMut(&str, &Value)) {
    f(path, schema);
    if let Some(props) = schema["properties"].as_object() {
        for (k, v) in props {
            walk(v, &format!("{path}/{k}"), f);
        }
    }
    if schema["items"].is_object() {
        walk(&schema["items"], &format!("{path}/items"), f);
    }
    if schema["additionalProperties"].is_object() {
        walk(
            &schema["additionalProperties"],
            &format!("{path}/additionalProperties"),
            f,
        );
    }
    for key in ["anyOf"] {
        for (i, sub) in schema[key].as_array().into_iter().flatten().enumerate() {
            walk(sub, &format!("{path}/{key}/{i}"), f);
        }
    }
    if schema["not"].is_object() {
        walk(&schema["not"], &format!("{path}/not"), f);
    }
}

#[test]
fn schema_is_draft07_closed_described_and_portable() {
    let schema = chart_schema();
    assert_eq!(schema["$schema"], "http://json-schema.org/draft-07/schema#");
    jsonschema::draft7::new(&schema).expect("a valid draft-07 schema");
    let mut problems = Vec::new();
    walk(&schema, "", &mut |path, s| {
        for key in s.as_object().unwrap().keys() {
            if !PORTABLE_KEYWORDS.contains(&key.as_str()) {
                problems.push(format!(
                    "{path}: keyword {key} is not enforced identically by Helm 3 and Helm 4"
                ));
            }
        }
        let is_object = s["type"] == "object";
        // A map (no fixed keys) types every value instead: its keys are data (app names).
        let is_map = s.get("properties").is_none()
            && s["additionalProperties"]["type"].is_string()
            && s["additionalProperties"]["description"].is_string();
        if is_object && s["additionalProperties"] != false && !is_map {
            problems.push(format!(
                "{path}: an object without additionalProperties: false lets typos through"
            ));
        }
        let in_properties = path.rsplit('/').nth(1).is_some()
            && !path.contains("/anyOf/")
            && !path.ends_with("/not");
        if in_properties && s["description"].as_str().is_none_or(|d| d.len() < 10) {
            problems.push(format!(
                "{path}: needs a description for app owners (the docs are generated from it)"
            ));
        }
    });
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn schema_defaults_match_values_yaml() {
    let defaults = chart_defaults();
    jsonschema::draft7::new(&chart_schema())
        .unwrap()
        .validate(&json!({}))
        .expect_err("empty values miss the required keys");
    let mut problems = Vec::new();
    let mut count = 0;
    walk(&chart_schema(), "", &mut |path, s| {
        if let Some(want) = s.get("default") {
            if path.contains("/items") {
                return;
            }
            count += 1;
            let got = defaults.pointer(path).unwrap_or(&Value::Null);
            if got != want {
                problems.push(format!(
                    "{path}: schema default {want} but values.yaml has {got}"
                ));
            }
        }
    });
    assert!(count > 30, "only {count} defaults documented");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn chart_defaults_satisfy_the_schema_except_the_image_every_app_must_name() {
    let validator = jsonschema::draft7::new(&chart_schema()).unwrap();
    let mut values = chart_defaults();
    let errors: Vec<String> = validator
        .iter_errors(&values)
        .map(|e| e.instance_path().to_string())
        .collect();
    assert!(
        !errors.is_empty() && errors.iter().all(|p| p == "/image/repository"),
        "{errors:?}"
    );
    values["image"]["repository"] = json!("harbor.example.com/apps/x");
    assert!(validator.is_valid(&values));
}

#[test]
fn chart_yaml_declares_the_shared_app_chart() {
    let chart: Value =
        serde_saphyr::from_str(&std::fs::read_to_string(chart_dir().join("Chart.yaml")).unwrap())
            .unwrap();
    assert_eq!(chart["apiVersion"], "v2");
    assert_eq!(chart["name"], "app");
    assert_eq!(chart["type"], "application");
    assert!(semver::Version::parse(chart["version"].as_str().unwrap()).is_ok());
    for key in [
        "description",
        "home",
        "sources",
        "maintainers",
        "keywords",
        "annotations",
    ] {
        assert!(!chart[key].is_null(), "Chart.yaml: {key}");
    }
}
