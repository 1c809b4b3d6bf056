//! The chart contract as the platform rules see it: which of the keys the rules read
//! ([`crate::rules::Rule::reads`]) a chart declares. A chart declares a key when its
//! `values.schema.json` has that path under `properties` (following `$ref`s inside the document
//! and `allOf` / `anyOf` / `oneOf` / `then` / `else`); a chart without a schema declares the keys
//! its `values.yaml` sets. A rule checks a group of keys only where the chart declares all of
//! them (`values::rules` asks [`Contract::applies`]), and the run says so once per rule
//! ([`Contract::skipped`]): a hint such as "set `image.digest`" for a chart that ignores
//! `image.digest` would let `latest` ship.
//!
//! This module owns the "declares" decision; it does not run rules nor resolve severities
//! (`values::rules` does both).

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::yaml::Node;
use crate::rules::{Rule, RULES};

/// Which rule keys one chart declares, decided once per chart.
#[derive(Debug)]
pub struct Contract {
    /// The file that decided: `values.schema.json`, or `values.yaml` when there is no schema.
    pub(super) source: PathBuf,
    pub(super) has_schema: bool,
    /// Of every key some rule reads, those the chart declares.
    declared: HashSet<&'static str>,
}

/// How deep a key path may go through `$ref`s and combinators before the search gives up
/// (a reference cycle is cut by the visited set; this bounds a long chain).
const MAX_DEPTH: usize = 256;

impl Contract {
    /// The keys `schema` (the document of `path`) declares.
    pub fn from_schema(schema: &Value, path: &Path) -> Contract {
        Contract {
            source: path.to_path_buf(),
            has_schema: true,
            declared: rule_keys().filter(|k| schema_declares(schema, k)).collect(),
        }
    }

    /// The keys the chart's defaults (`values.yaml` at `path`) set, for a chart without a schema.
    pub fn from_defaults(defaults: &Node, path: &Path) -> Contract {
        Contract {
            source: path.to_path_buf(),
            has_schema: false,
            declared: rule_keys()
                .filter(|k| defaults.at(k.split('.')).is_some())
                .collect(),
        }
    }

    /// Whether the chart declares `key` (one of the keys a rule reads).
    pub fn declares(&self, key: &str) -> bool {
        self.declared.contains(key)
    }

    /// Whether group `group` of `rule`'s [`Rule::reads`] is checked: the chart declares all of it.
    pub fn applies(&self, rule: &Rule, group: usize) -> bool {
        rule.reads
            .get(group)
            .is_some_and(|g| g.iter().all(|k| self.declares(k)))
    }

    /// The keys of `rule` the chart does not declare, and whether some group is still checked;
    /// `None` when the rule applies in full (or reads no chart key).
    pub fn skipped(&self, rule: &Rule) -> Option<(Vec<&'static str>, bool)> {
        let missing: Vec<&'static str> = rule.keys().filter(|k| !self.declares(k)).collect();
        if missing.is_empty() {
            return None;
        }
        let partly = (0..rule.reads.len()).any(|g| self.applies(rule, g));
        Some((missing, partly))
    }
}

/// The keys the rules read, and the `platform.*` keys appkit fills
/// ([`super::platform::DERIVED_KEYS`]: added only where the chart declares them).
fn rule_keys() -> impl Iterator<Item = &'static str> {
    RULES
        .iter()
        .flat_map(|r| r.keys())
        .chain(super::platform::DERIVED_KEYS)
}

/// Whether `doc` declares the dotted `key` under `properties`.
pub fn schema_declares(doc: &Value, key: &str) -> bool {
    let segs: Vec<&str> = key.split('.').collect();
    let mut seen = HashSet::new();
    declares_at(doc, doc, &segs, 0, &mut seen)
}

/// `seen`: (schema, remaining path length) pairs already searched without success (or being
/// searched): each is searched once, so cycles and shared references stay linear.
fn declares_at(
    doc: &Value,
    schema: &Value,
    segs: &[&str],
    depth: usize,
    seen: &mut HashSet<(*const Value, usize)>,
) -> bool {
    let Some((first, rest)) = segs.split_first() else {
        return true;
    };
    if depth > MAX_DEPTH || !seen.insert((schema as *const Value, segs.len())) {
        return false;
    }
    let Some(obj) = schema.as_object() else {
        return false;
    };
    if let Some(target) = obj
        .get("$ref")
        .and_then(Value::as_str)
        .and_then(|r| resolve(doc, r))
    {
        if declares_at(doc, target, segs, depth + 1, seen) {
            return true;
        }
    }
    for kw in ["allOf", "anyOf", "oneOf"] {
        if let Some(Value::Array(subs)) = obj.get(kw) {
            if subs
                .iter()
                .any(|s| declares_at(doc, s, segs, depth + 1, seen))
            {
                return true;
            }
        }
    }
    for kw in ["then", "else"] {
        if let Some(s) = obj.get(kw) {
            if declares_at(doc, s, segs, depth + 1, seen) {
                return true;
            }
        }
    }
    obj.get("properties")
        .and_then(Value::as_object)
        .and_then(|p| p.get(*first))
        .is_some_and(|s| declares_at(doc, s, rest, depth + 1, seen))
}

/// A reference inside the document (`#`, `#/definitions/x`, `#/$defs/x`); others are not
/// followed (appkit never downloads a remote `$ref`).
fn resolve<'a>(doc: &'a Value, reference: &str) -> Option<&'a Value> {
    let pointer = reference.strip_prefix('#')?;
    if pointer.is_empty() {
        return Some(doc);
    }
    let decoded = percent_decode(pointer)?;
    doc.pointer(&decoded)
}

/// `%XX` escapes of a URI fragment (JSON pointers in `$ref` are URI fragments).
fn percent_decode(s: &str) -> Option<String> {
    if !s.contains('%') {
        return Some(s.to_string());
    }
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn properties_refs_and_combinators_declare_keys() {
        let doc = json!({
            "$defs": {
                "image": {"properties": {"tag": {}, "digest": {"type": "string"}}},
                "loop": {"allOf": [{"$ref": "#/$defs/loop"}]},
                "a~b": {"properties": {"limits": {}}}
            },
            "properties": {
                "image": {"$ref": "#/$defs/image"},
                "resources": {"allOf": [{"$ref": "#/$defs/a~0b"}, {"$ref": "#/$defs/loop"}]},
                "nodepool": true,
                "dapr": {"if": {}, "then": {"properties": {"appId": {}}}},
                "networkPolicy": {"$ref": "#/definitions/missing"}
            }
        });
        assert!(schema_declares(&doc, "image.digest"));
        assert!(schema_declares(&doc, "image.tag"));
        assert!(!schema_declares(&doc, "image.repository"));
        assert!(schema_declares(&doc, "resources.limits"));
        assert!(!schema_declares(&doc, "resources.requests"));
        assert!(schema_declares(&doc, "nodepool"));
        assert!(!schema_declares(&doc, "nodepool.x"));
        assert!(schema_declares(&doc, "dapr.appId"));
        assert!(!schema_declares(&doc, "networkPolicy.allowEgressTo"));
        // A self-reference is searched once.
        let cycle =
            json!({"allOf": [{"$ref": "#"}, {"$ref": "#"}], "properties": {"a": {"$ref": "#"}}});
        assert!(schema_declares(&cycle, "a.a.a"));
        assert!(!schema_declares(&cycle, "b"));
    }

    #[test]
    fn a_group_applies_only_when_every_key_is_declared() {
        let doc = json!({"properties": {"image": {"properties": {"tag": {}}},
            "resources": {"properties": {"requests": {}, "limits": {}}}}});
        let c = Contract::from_schema(&doc, Path::new("values.schema.json"));
        assert!(!c.applies(&crate::rules::IMAGE_NOT_PINNED, 0));
        assert_eq!(
            c.skipped(&crate::rules::IMAGE_NOT_PINNED),
            Some((vec!["image.digest"], false))
        );
        let r = &crate::rules::REQUESTS_EXCEED_LIMITS;
        assert!(c.applies(r, 0) && !c.applies(r, 1));
        assert_eq!(
            c.skipped(r),
            Some((
                vec![
                    "dapr.sidecar.resources.requests",
                    "dapr.sidecar.resources.limits"
                ],
                true
            ))
        );
        assert_eq!(c.skipped(&crate::rules::INLINE_SECRET), None);
    }
}
