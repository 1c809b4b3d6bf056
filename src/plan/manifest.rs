//! What `helm template` printed, as objects `plan` can compare: parsed, masked, matched and
//! diffed field by field.
//!
//! - [`parse`] splits Helm's output into objects keyed by apiVersion/kind/namespace/name (an
//!   object without a namespace is in the release's namespace unless its kind is cluster-wide) and
//!   keeps the `# Source:` template each came from.
//! - [`mask`] runs before anything is stored or shown: every value of a Secret's `data` and
//!   `stringData`, every container `env` value whose name names a credential (the inline-secret
//!   rule's test) and every string that looks like a token or private key becomes
//!   `(masked, N bytes, #tag)`. The tag is a keyed hash (the key is private to the cache), so a
//!   changed secret still shows as changed and equal ones as equal, but nothing of it is printed.
//! - [`diff`] compares two sides: objects added, removed and changed, and per changed object the
//!   fields (lists of named items — containers, env, ports — matched by `name`).
//!
//! Owns: those three. Does not own: running Helm, grouping or printing.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

/// Which object: what Kubernetes matches on.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectId {
    pub api_version: String,
    pub kind: String,
    pub namespace: String,
    pub name: String,
}

impl std::fmt::Display for ObjectId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.namespace.is_empty() {
            write!(f, "{} {}", self.kind, self.name)
        } else {
            write!(f, "{} {}/{}", self.kind, self.namespace, self.name)
        }
    }
}

/// One rendered object.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Object {
    pub id: ObjectId,
    /// The chart template it came from (`# Source:` of Helm's output), chart-relative.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    pub body: Value,
}

/// One side's render: its objects, sorted by id.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub objects: Vec<Object>,
}

/// Kinds that have no namespace (the common ones; anything else is namespaced).
const CLUSTER_KINDS: [&str; 12] = [
    "Namespace",
    "ClusterRole",
    "ClusterRoleBinding",
    "CustomResourceDefinition",
    "PriorityClass",
    "StorageClass",
    "PersistentVolume",
    "IngressClass",
    "ValidatingWebhookConfiguration",
    "MutatingWebhookConfiguration",
    "APIService",
    "RuntimeClass",
];

/// Parse Helm's output; objects without a namespace get `namespace` (the release's).
pub fn parse(text: &str, namespace: &str) -> Result<Manifest, String> {
    let mut objects: Vec<Object> = Vec::new();
    let mut doc = String::new();
    let mut source: Option<String> = None;
    let mut flush = |doc: &mut String, source: &mut Option<String>| -> Result<(), String> {
        let d = std::mem::take(doc);
        let src = source.take();
        if d.lines().all(|l| {
            let t = l.trim();
            t.is_empty() || t.starts_with('#')
        }) {
            return Ok(());
        }
        let body: Value = serde_saphyr::from_str(&d).map_err(|e| {
            format!(
                "Helm printed YAML appkit cannot read{}: {e}",
                src.as_deref()
                    .map(|s| format!(" (from {s})"))
                    .unwrap_or_default()
            )
        })?;
        if body.is_null() {
            return Ok(());
        }
        let text = |v: Option<&Value>| v.and_then(Value::as_str).unwrap_or("").to_string();
        let kind = text(body.get("kind"));
        let meta = body.get("metadata");
        let ns = text(meta.and_then(|m| m.get("namespace")));
        let ns = if !ns.is_empty() {
            ns
        } else if CLUSTER_KINDS.contains(&kind.as_str()) {
            String::new()
        } else {
            namespace.to_string()
        };
        let id = ObjectId {
            api_version: text(body.get("apiVersion")),
            kind,
            namespace: ns,
            name: text(meta.and_then(|m| m.get("name"))),
        };
        objects.push(Object {
            id,
            source: src,
            body,
        });
        Ok(())
    };
    for line in text.lines() {
        if line == "---" || line.starts_with("--- ") {
            flush(&mut doc, &mut source)?;
            continue;
        }
        if let Some(s) = line.strip_prefix("# Source: ") {
            if source.is_none() && doc.trim().is_empty() {
                // `chart/templates/x.yaml` → `templates/x.yaml` (chart-relative).
                let s = s.trim();
                source = Some(s.split_once('/').map_or(s, |(_, rest)| rest).to_string());
            }
        }
        doc.push_str(line);
        doc.push('\n');
    }
    flush(&mut doc, &mut source)?;
    objects.sort_by(|a, b| a.id.cmp(&b.id));
    // Two objects with one id: Kubernetes would apply the last; say so rather than pick one.
    for w in objects.windows(2) {
        if w[0].id == w[1].id {
            return Err(format!("the chart renders {} twice", w[0].id));
        }
    }
    Ok(Manifest { objects })
}

/// What helm-controller's `commonMetadata` does after Helm rendered: its labels and annotations
/// on every object's metadata, over the chart's own.
pub fn common_metadata(m: &mut Manifest, common: &crate::config::CommonMetadata) {
    if common.is_empty() {
        return;
    }
    for o in &mut m.objects {
        let Some(meta) = o.body.get_mut("metadata").and_then(Value::as_object_mut) else {
            continue;
        };
        for (field, add) in [
            ("labels", &common.labels),
            ("annotations", &common.annotations),
        ] {
            if add.is_empty() {
                continue;
            }
            let entry = meta
                .entry(field)
                .or_insert_with(|| Value::Object(Default::default()));
            if !entry.is_object() {
                *entry = Value::Object(Default::default());
            }
            let map = entry.as_object_mut().expect("an object");
            for (k, v) in add {
                map.insert(k.clone(), Value::String(v.clone()));
            }
        }
    }
}

/// Mask every secret in `m` (see the module header), with `key` for the tags.
pub fn mask(m: &mut Manifest, key: &[u8]) {
    for o in &mut m.objects {
        if o.id.kind == "Secret" && o.id.api_version == "v1" {
            for field in ["data", "stringData"] {
                if let Some(Value::Object(map)) = o.body.get_mut(field) {
                    for v in map.values_mut() {
                        *v = Value::String(masked(v, key));
                    }
                }
            }
        }
        mask_walk(&mut o.body, key);
    }
}

fn masked(v: &Value, key: &[u8]) -> String {
    let raw = match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let mut h = Sha256::new();
    h.update(key);
    h.update(raw.as_bytes());
    let tag = hex::encode(&h.finalize()[..4]);
    format!("(masked, {} bytes, #{tag})", raw.len())
}

fn is_masked(s: &str) -> bool {
    s.starts_with("(masked, ")
}

fn mask_walk(v: &mut Value, key: &[u8]) {
    match v {
        Value::String(s)
            if !is_masked(s) && crate::values::secrets::looks_like_secret(s).is_some() =>
        {
            *s = masked(&Value::String(s.clone()), key);
        }
        Value::Array(items) => {
            for item in items {
                mask_walk(item, key);
            }
        }
        Value::Object(map) => {
            // A container env entry: `{name: DB_PASSWORD, value: …}`.
            let secret_env = map
                .get("name")
                .and_then(Value::as_str)
                .is_some_and(crate::values::secrets::is_secret_key)
                && map.get("value").is_some_and(Value::is_string);
            if secret_env {
                if let Some(val) = map.get_mut("value") {
                    if !val.as_str().is_some_and(is_masked) {
                        *val = Value::String(masked(val, key));
                    }
                }
            }
            for child in map.values_mut() {
                mask_walk(child, key);
            }
        }
        _ => {}
    }
}

/// What happened to an object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Change {
    Added,
    Removed,
    Changed,
}

/// One field of a changed object: `old` absent = added, `new` absent = removed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldChange {
    pub path: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub old: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new: Option<Value>,
}

/// One object that differs between the sides.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ObjectChange {
    pub id: ObjectId,
    pub change: Change,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<FieldChange>,
}

/// Compare two sides (either may be empty: an app added or removed).
pub fn diff(old: &Manifest, new: &Manifest) -> Vec<ObjectChange> {
    let old_by: BTreeMap<&ObjectId, &Object> = old.objects.iter().map(|o| (&o.id, o)).collect();
    let new_by: BTreeMap<&ObjectId, &Object> = new.objects.iter().map(|o| (&o.id, o)).collect();
    let mut out = Vec::new();
    for (id, o) in &old_by {
        match new_by.get(id) {
            None => out.push(ObjectChange {
                id: (*id).clone(),
                change: Change::Removed,
                source: o.source.clone(),
                fields: Vec::new(),
            }),
            Some(n) if n.body != o.body => {
                let mut fields = Vec::new();
                diff_value("", &o.body, &n.body, &mut fields);
                out.push(ObjectChange {
                    id: (*id).clone(),
                    change: Change::Changed,
                    source: n.source.clone().or_else(|| o.source.clone()),
                    fields,
                });
            }
            Some(_) => {}
        }
    }
    for (id, n) in &new_by {
        if !old_by.contains_key(id) {
            out.push(ObjectChange {
                id: (*id).clone(),
                change: Change::Added,
                source: n.source.clone(),
                fields: Vec::new(),
            });
        }
    }
    out.sort_by(|a, b| a.id.cmp(&b.id));
    out
}

/// `path` + `.key`, or `["key"]` when the key is not a plain identifier (labels, annotations).
fn child(path: &str, key: &str) -> String {
    let plain = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    match (path.is_empty(), plain) {
        (true, true) => key.to_string(),
        (false, true) => format!("{path}.{key}"),
        (_, false) => format!("{path}[{}]", Value::String(key.to_string())),
    }
}

/// The `name` of every item when all items are objects with distinct string names.
fn names(items: &[Value]) -> Option<Vec<&str>> {
    let names: Vec<&str> = items
        .iter()
        .map(|i| i.get("name").and_then(Value::as_str))
        .collect::<Option<_>>()?;
    let mut sorted = names.clone();
    sorted.sort_unstable();
    sorted.dedup();
    (sorted.len() == names.len()).then_some(names)
}

fn diff_value(path: &str, old: &Value, new: &Value, out: &mut Vec<FieldChange>) {
    if old == new {
        return;
    }
    match (old, new) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, av) in a {
                match b.get(k) {
                    Some(bv) => diff_value(&child(path, k), av, bv, out),
                    None => out.push(FieldChange {
                        path: child(path, k),
                        old: Some(av.clone()),
                        new: None,
                    }),
                }
            }
            for (k, bv) in b {
                if !a.contains_key(k) {
                    out.push(FieldChange {
                        path: child(path, k),
                        old: None,
                        new: Some(bv.clone()),
                    });
                }
            }
        }
        (Value::Array(a), Value::Array(b)) => {
            if let (Some(an), Some(bn)) = (names(a), names(b)) {
                for (i, n) in an.iter().enumerate() {
                    let p = format!("{path}[{n}]");
                    match bn.iter().position(|m| m == n) {
                        Some(j) => diff_value(&p, &a[i], &b[j], out),
                        None => out.push(FieldChange {
                            path: p,
                            old: Some(a[i].clone()),
                            new: None,
                        }),
                    }
                }
                for (j, n) in bn.iter().enumerate() {
                    if !an.contains(n) {
                        out.push(FieldChange {
                            path: format!("{path}[{n}]"),
                            old: None,
                            new: Some(b[j].clone()),
                        });
                    }
                }
            } else if a.len() == b.len() && a.iter().chain(b).all(|v| v.is_object()) {
                for (i, (x, y)) in a.iter().zip(b).enumerate() {
                    diff_value(&format!("{path}[{i}]"), x, y, out);
                }
            } else {
                out.push(FieldChange {
                    path: path.to_string(),
                    old: Some(old.clone()),
                    new: Some(new.clone()),
                });
            }
        }
        _ => out.push(FieldChange {
            path: path.to_string(),
            old: Some(old.clone()),
            new: Some(new.clone()),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const OUT: &str = "---\n# Source: app/templates/sa.yaml\napiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: a\n---\n# Source: app/templates/ns.yaml\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: a-ns\n---\n# Source: app/templates/secret.yaml\napiVersion: v1\nkind: Secret\nmetadata:\n  name: s\nstringData:\n  password: hunter2hunter2\n";

    #[test]
    fn parses_ids_sources_and_namespaces() {
        let m = parse(OUT, "apps").unwrap();
        let ids: Vec<String> = m.objects.iter().map(|o| o.id.to_string()).collect();
        assert_eq!(
            ids,
            ["Namespace a-ns", "Secret apps/s", "ServiceAccount apps/a"]
        );
        assert_eq!(m.objects[2].source.as_deref(), Some("templates/sa.yaml"));
    }

    #[test]
    fn refuses_an_object_rendered_twice() {
        let twice =
            format!("{OUT}---\napiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: a\n");
        assert!(parse(&twice, "apps").unwrap_err().contains("twice"));
    }

    #[test]
    fn masks_secret_data_env_and_tokens_keeping_equality() {
        let mut m = parse(OUT, "apps").unwrap();
        m.objects.push(Object {
            id: ObjectId {
                api_version: "apps/v1".into(),
                kind: "Deployment".into(),
                namespace: "apps".into(),
                name: "d".into(),
            },
            source: None,
            body: json!({"env": [{"name": "DB_PASSWORD", "value": "s3cr3t-value"},
                                 {"name": "MODE", "value": "prod"},
                                 {"name": "X", "value": "ghp_abcdefghijklmnopqrstuvwxyz0123456789"}]}),
        });
        let mut again = m.clone();
        mask(&mut m, b"k");
        mask(&mut again, b"k");
        assert_eq!(m, again, "masking is deterministic under one key");
        let text = serde_json::to_string(&m).unwrap();
        for secret in ["hunter2hunter2", "s3cr3t-value", "ghp_abcdefghij"] {
            assert!(!text.contains(secret), "{secret} leaked: {text}");
        }
        assert!(text.contains("\"prod\""));
        assert!(text.contains("(masked, 14 bytes, #"));
    }

    #[test]
    fn diffs_fields_and_matches_named_items() {
        let old = json!({"metadata": {"labels": {"app.kubernetes.io/name": "a"}},
            "spec": {"containers": [{"name": "app", "image": "x@1"}, {"name": "daprd", "image": "d"}], "replicas": 1}});
        let new = json!({"metadata": {"labels": {"app.kubernetes.io/name": "a", "tier": "web"}},
            "spec": {"containers": [{"name": "daprd", "image": "d"}, {"name": "app", "image": "x@2"}]}});
        let mut out = Vec::new();
        diff_value("", &old, &new, &mut out);
        let paths: Vec<&str> = out.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "metadata.labels.tier",
                "spec.containers[app].image",
                "spec.replicas"
            ]
        );
        assert_eq!(out[1].old, Some(json!("x@1")));
        assert_eq!(out[2].new, None);
        let mut out = Vec::new();
        diff_value(
            "",
            &json!({"a": {"x.y/z": 1}}),
            &json!({"a": {"x.y/z": 2}}),
            &mut out,
        );
        assert_eq!(out[0].path, "a[\"x.y/z\"]");
    }

    #[test]
    fn objects_added_removed_changed() {
        let a = parse(OUT, "apps").unwrap();
        let mut b = a.clone();
        b.objects.remove(0);
        b.objects[1].body["metadata"]["labels"] = json!({"x": "1"});
        let d = diff(&a, &b);
        assert_eq!(d.len(), 2);
        assert_eq!(d[0].change, Change::Removed);
        assert_eq!(d[1].change, Change::Changed);
        assert_eq!(d[1].fields[0].path, "metadata.labels");
        assert!(diff(&a, &a).is_empty());
    }
}
