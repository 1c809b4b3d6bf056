//! Values files: loading YAML the way Helm reads it (YAML 1.1 scalars, merge keys, anchors) with
//! source positions, coalescing chart defaults + app values + environment overlay the way Helm
//! does, checking the result against the chart's `values.schema.json` and the platform's rules.
//!
//! Public API used by other modules (keep these signatures stable):
//! - [`load_values_file`]: one YAML file → JSON value (errors carry file:line).
//! - [`app_overlay_values`]: an app's `values.yaml` deep-merged with `values.<env>.yaml`
//!   (what goes into a HelmRelease's `spec.values`; chart defaults are NOT included).

use std::path::{Path, PathBuf};

use serde_json::Value;

#[derive(Debug, thiserror::Error)]
pub enum ValuesError {
    #[error("cannot read {}", path.display())]
    Read { path: PathBuf, #[source] source: std::io::Error },
    #[error("{}: {message}", path.display())]
    Parse { path: PathBuf, message: String },
}

/// Load one values file. An empty file is an empty mapping.
pub fn load_values_file(path: &Path) -> Result<Value, ValuesError> {
    let text = std::fs::read_to_string(path).map_err(|source| ValuesError::Read { path: path.into(), source })?;
    if text.trim().is_empty() {
        return Ok(Value::Object(Default::default()));
    }
    let v: Value = serde_saphyr::from_str(&text)
        .map_err(|e| ValuesError::Parse { path: path.into(), message: e.to_string() })?;
    match v {
        Value::Null => Ok(Value::Object(Default::default())),
        Value::Object(_) => Ok(v),
        _ => Err(ValuesError::Parse { path: path.into(), message: "a values file must be a mapping".into() }),
    }
}

/// Deep-merge `over` into `base` (maps merge recursively; anything else replaces).
pub fn merge_into(base: &mut Value, over: Value) {
    match (base, over) {
        (Value::Object(b), Value::Object(o)) => {
            for (k, v) in o {
                match b.get_mut(&k) {
                    Some(slot) if slot.is_object() && v.is_object() => merge_into(slot, v),
                    _ => {
                        b.insert(k, v);
                    }
                }
            }
        }
        (slot, v) => *slot = v,
    }
}

/// An app's own values: `values.yaml` deep-merged with `values.<env>.yaml` when present.
pub fn app_overlay_values(app_dir: &Path, env: Option<&str>) -> Result<Value, ValuesError> {
    let mut v = load_values_file(&app_dir.join("values.yaml"))?;
    if let Some(env) = env {
        let overlay = app_dir.join(format!("values.{env}.yaml"));
        if overlay.is_file() {
            merge_into(&mut v, load_values_file(&overlay)?);
        }
    }
    Ok(v)
}
