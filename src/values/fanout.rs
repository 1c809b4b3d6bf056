//! How much work a `values.schema.json` can make for one value, measured before it is compiled.
//!
//! The validator (the `jsonschema` crate) has no evaluation budget: a schema whose `$ref` /
//! `allOf` fan-out doubles per level (`d40: {allOf: [{$ref: d39}, {$ref: d39}]}`, 18 KB at depth
//! 40) makes it evaluate 2^40 subschemas for a single value — a hang. [`analyse`] counts the
//! schema nodes a full expansion reaches: every subschema under an applicator keyword (`allOf`,
//! `anyOf`, `oneOf`, `not`, `if`/`then`/`else`, `properties`, `items`, …), with each `$ref`
//! replaced by what it points at. The count is computed once per node (memoised by JSON pointer),
//! so the analysis is linear in the schema's size however large the expansion is; a reference
//! back to a node being expanded (a recursive schema) counts as one node, since the recursion is
//! bounded by the value's own depth.
//!
//! A schema without references or combinators expands to itself, so the budget is on the nodes a
//! schema gains by expansion: more than [`MAX_EXPANSION`] beyond the document's own nodes is
//! refused, at the smallest subschema that exceeds it.

use std::collections::HashMap;

use serde_json::Value;

/// The most schema nodes a full expansion may add to the document's own (about 0.25 s of
/// validation per app in a debug build).
pub const MAX_EXPANSION: u64 = 250_000;

/// Keywords whose value is a schema.
const SCHEMA_KEYWORDS: [&str; 12] = [
    "additionalProperties",
    "unevaluatedProperties",
    "additionalItems",
    "unevaluatedItems",
    "contains",
    "propertyNames",
    "if",
    "then",
    "else",
    "not",
    "items",
    "contentSchema",
];
/// Keywords whose value is an array of schemas.
const SCHEMA_ARRAY_KEYWORDS: [&str; 5] = ["allOf", "anyOf", "oneOf", "prefixItems", "items"];
/// Keywords whose value is an object of schemas.
const SCHEMA_MAP_KEYWORDS: [&str; 4] = [
    "properties",
    "patternProperties",
    "dependentSchemas",
    "dependencies",
];
/// Keywords that replace themselves by the schema they name.
const REF_KEYWORDS: [&str; 3] = ["$ref", "$dynamicRef", "$recursiveRef"];

/// A schema whose expansion is over budget.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OverBudget {
    /// JSON pointer of the smallest subschema over budget (`""`: the root).
    pub pointer: String,
    /// Nodes its expansion reaches (saturated: "more than" when the count stopped there).
    pub expanded: u64,
    /// Nodes the document holds.
    pub nodes: u64,
}

/// Count the expansion of `doc`; `Err` when it adds more than `budget` nodes to the document's own.
pub fn analyse(doc: &Value, budget: u64) -> Result<u64, OverBudget> {
    let mut a = Analyser {
        root: doc,
        ids: HashMap::new(),
        memo: HashMap::new(),
        active: HashMap::new(),
        nodes: 0,
        limit: 0,
        over: None,
    };
    a.index(doc, &mut String::new());
    a.limit = a.nodes.saturating_add(budget);
    let total = a.expand(doc, "");
    match a.over {
        Some(pointer) => Err(OverBudget {
            pointer,
            expanded: total.max(a.limit + 1),
            nodes: a.nodes,
        }),
        None => Ok(total),
    }
}

struct Analyser<'a> {
    root: &'a Value,
    /// `$id` and `$anchor` values → JSON pointer of the schema that declares them.
    ids: HashMap<String, String>,
    memo: HashMap<String, u64>,
    /// Pointers being expanded (a reference to one of them is recursion).
    active: HashMap<String, ()>,
    nodes: u64,
    limit: u64,
    over: Option<String>,
}

impl<'a> Analyser<'a> {
    /// Count the document's schema nodes and index its `$id`s and `$anchor`s.
    fn index(&mut self, v: &'a Value, ptr: &mut String) {
        let Value::Object(o) = v else { return };
        self.nodes += 1;
        for key in ["$id", "id", "$anchor", "$dynamicAnchor"] {
            if let Some(Value::String(s)) = o.get(key) {
                let name = if key.ends_with("nchor") {
                    format!("#{s}")
                } else {
                    s.clone()
                };
                self.ids.entry(name).or_insert_with(|| ptr.clone());
            }
        }
        for_each_child(v, true, |seg, child| {
            let len = ptr.len();
            ptr.push_str(&seg);
            self.index(child, ptr);
            ptr.truncate(len);
        });
    }

    /// Nodes reached by expanding the schema `v` at `ptr` (saturating at the limit + 1).
    fn expand(&mut self, v: &'a Value, ptr: &str) -> u64 {
        if self.over.is_some() {
            return self.limit + 1;
        }
        let Value::Object(o) = v else { return 0 };
        if let Some(&n) = self.memo.get(ptr) {
            return n;
        }
        if self.active.contains_key(ptr) {
            return 1;
        }
        self.active.insert(ptr.to_string(), ());
        let mut total: u64 = 1;
        for key in REF_KEYWORDS {
            if let Some(Value::String(r)) = o.get(key) {
                if let Some(target_ptr) = self.resolve(r) {
                    if let Some(target) = self.root.pointer(&target_ptr) {
                        total = total.saturating_add(self.expand(target, &target_ptr));
                    }
                }
            }
        }
        let mut children: Vec<(String, &'a Value)> = Vec::new();
        for_each_child(v, false, |seg, child| children.push((seg, child)));
        for (seg, child) in children {
            let child_ptr = format!("{ptr}{seg}");
            total = total.saturating_add(self.expand(child, &child_ptr));
            if total > self.limit {
                break;
            }
        }
        self.active.remove(ptr);
        let total = total.min(self.limit + 1);
        if total > self.limit && self.over.is_none() {
            // Post-order: the first node over the limit is the smallest one.
            self.over = Some(ptr.to_string());
        }
        self.memo.insert(ptr.to_string(), total);
        total
    }

    /// The JSON pointer a reference names, when it is inside this document.
    fn resolve(&self, r: &str) -> Option<String> {
        let (base, fragment) = match r.split_once('#') {
            Some((b, f)) => (b, Some(f)),
            None => (r, None),
        };
        let start = if base.is_empty() {
            String::new()
        } else {
            let found = self.ids.get(base).or_else(|| {
                // A relative reference against some `$id`: match on the last path segment.
                self.ids
                    .iter()
                    .find(|(id, _)| id.rsplit('/').next() == Some(base) || id.ends_with(base))
                    .map(|(_, p)| p)
            })?;
            found.clone()
        };
        match fragment {
            None | Some("") => Some(start),
            Some(f) if f.starts_with('/') => Some(format!("{start}{}", percent_decode(f))),
            Some(anchor) => self.ids.get(&format!("#{anchor}")).cloned(),
        }
    }
}

/// Call `f(pointer segment, child)` for each subschema of `v`; with `all`, also those under
/// `$defs`/`definitions` (which are only evaluated when referenced).
fn for_each_child<'a>(v: &'a Value, all: bool, mut f: impl FnMut(String, &'a Value)) {
    let Value::Object(o) = v else { return };
    for (k, child) in o {
        let k = k.as_str();
        let esc = escape(k);
        if SCHEMA_KEYWORDS.contains(&k) && child.is_object() {
            f(format!("/{esc}"), child);
        }
        if SCHEMA_ARRAY_KEYWORDS.contains(&k) {
            if let Value::Array(items) = child {
                for (i, item) in items.iter().enumerate() {
                    f(format!("/{esc}/{i}"), item);
                }
            }
        }
        let is_map =
            SCHEMA_MAP_KEYWORDS.contains(&k) || (all && matches!(k, "$defs" | "definitions"));
        if is_map {
            if let Value::Object(m) = child {
                for (name, item) in m {
                    f(format!("/{esc}/{}", escape(name)), item);
                }
            }
        }
    }
}

fn escape(seg: &str) -> String {
    seg.replace('~', "~0").replace('/', "~1")
}

/// `%25` → `%` etc. in a URI fragment (JSON pointers in `$ref` are URI-encoded).
pub(super) fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 3 <= bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
            if let Ok(b) = u8::from_str_radix(hex, 16) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The byte range of the value at JSON `pointer` in the JSON `text` (which must parse), for a
/// diagnostic's position; `None` when it cannot be found.
pub fn locate(text: &str, pointer: &str) -> Option<std::ops::Range<usize>> {
    let segs: Vec<String> = if pointer.is_empty() {
        Vec::new()
    } else {
        pointer
            .trim_start_matches('/')
            .split('/')
            .map(|s| s.replace("~1", "/").replace("~0", "~"))
            .collect()
    };
    let b = text.as_bytes();
    let mut at = skip_ws(b, 0);
    for seg in &segs {
        match b.get(at)? {
            b'{' => {
                let mut i = skip_ws(b, at + 1);
                let mut found = None;
                while b.get(i) == Some(&b'"') {
                    let key_end = string_end(b, i)?;
                    let key: String = serde_json::from_str(&text[i..key_end]).ok()?;
                    i = skip_ws(b, key_end);
                    if b.get(i) != Some(&b':') {
                        return None;
                    }
                    let value_start = skip_ws(b, i + 1);
                    let value_end = value_end(b, value_start)?;
                    if &key == seg {
                        // The last one wins, as in serde_json.
                        found = Some(value_start);
                    }
                    i = skip_ws(b, value_end);
                    if b.get(i) == Some(&b',') {
                        i = skip_ws(b, i + 1);
                    }
                }
                at = found?;
            }
            b'[' => {
                let want: usize = seg.parse().ok()?;
                let mut i = skip_ws(b, at + 1);
                let mut n = 0;
                loop {
                    if b.get(i) == Some(&b']') || i >= b.len() {
                        return None;
                    }
                    if n == want {
                        break;
                    }
                    i = skip_ws(b, value_end(b, i)?);
                    if b.get(i) == Some(&b',') {
                        i = skip_ws(b, i + 1);
                    }
                    n += 1;
                }
                at = i;
            }
            _ => return None,
        }
    }
    Some(at..value_end(b, at)?)
}

fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && matches!(b[i], b' ' | b'\t' | b'\n' | b'\r') {
        i += 1;
    }
    i
}

/// The index after the closing quote of the string starting at `i`.
fn string_end(b: &[u8], i: usize) -> Option<usize> {
    let mut j = i + 1;
    while j < b.len() {
        match b[j] {
            b'\\' => j += 2,
            b'"' => return Some(j + 1),
            _ => j += 1,
        }
    }
    None
}

/// The index after the JSON value starting at `i`.
fn value_end(b: &[u8], i: usize) -> Option<usize> {
    match b.get(i)? {
        b'"' => string_end(b, i),
        b'{' | b'[' => {
            let mut depth = 0usize;
            let mut j = i;
            while j < b.len() {
                match b[j] {
                    b'"' => {
                        j = string_end(b, j)?;
                        continue;
                    }
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth -= 1;
                        if depth == 0 {
                            return Some(j + 1);
                        }
                    }
                    _ => {}
                }
                j += 1;
            }
            None
        }
        _ => {
            let mut j = i;
            while j < b.len() && !matches!(b[j], b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r')
            {
                j += 1;
            }
            Some(j)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn doubling(depth: usize) -> Value {
        let mut defs = serde_json::Map::new();
        defs.insert("d0".into(), json!({"type": "object"}));
        for i in 1..=depth {
            let r = format!("#/$defs/d{}", i - 1);
            defs.insert(
                format!("d{i}"),
                json!({"allOf": [{"$ref": r}, {"$ref": r}]}),
            );
        }
        json!({"$defs": defs, "allOf": [{"$ref": format!("#/$defs/d{depth}")}]})
    }

    #[test]
    fn a_doubling_fan_out_is_refused_at_its_smallest_node_over_budget() {
        let doc = doubling(40);
        let t = std::time::Instant::now();
        let e = analyse(&doc, 1000).unwrap_err();
        assert!(t.elapsed().as_millis() < 500, "{:?}", t.elapsed());
        // d_k expands to 2^(k+2) − 3 nodes: d9 (2045) is the first above 1000 + the document's
        // 123 nodes.
        assert_eq!(e.pointer, "/$defs/d9");
        assert!(e.expanded > 1000);
        // Within budget: counted exactly.
        assert_eq!(analyse(&doubling(3), 1000), Ok(1 + 1 + 29));
    }

    #[test]
    fn plain_and_recursive_schemas_are_not_refused() {
        let plain = json!({"type": "object", "properties": {"a": {"type": "string"}, "b": {"items": {"type": "integer"}}}});
        assert_eq!(analyse(&plain, 0), Ok(4));
        let recursive = json!({"$defs": {"t": {"properties": {"children": {"items": {"$ref": "#/$defs/t"}}}}}, "$ref": "#/$defs/t"});
        assert!(analyse(&recursive, 10).is_ok());
        let bundled: Value = serde_json::from_str(
            &std::fs::read_to_string(
                std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("chart/values.schema.json"),
            )
            .unwrap(),
        )
        .unwrap();
        assert!(analyse(&bundled, MAX_EXPANSION).is_ok());
    }

    #[test]
    fn references_by_anchor_and_id_are_followed() {
        let mut doc = doubling(12);
        doc["$defs"]["d12"]["$anchor"] = json!("top");
        doc["allOf"] = json!([{"$ref": "#top"}]);
        assert!(analyse(&doc, 1000).is_err());
        let mut doc = doubling(12);
        doc["$defs"]["d12"]["$id"] = json!("https://example.com/d12.json");
        doc["allOf"] = json!([{"$ref": "https://example.com/d12.json"}]);
        assert!(analyse(&doc, 1000).is_err());
    }

    #[test]
    fn pointers_are_located_in_the_text() {
        let text = "{\n  \"a\": [1, {\"b~/c\": {\"x\": 2}}],\n  \"a\": [3, {\"b~/c\": 4}]\n}";
        let r = locate(text, "/a/1/b~0~1c").unwrap();
        assert_eq!(&text[r], "4");
        assert_eq!(&text[locate(text, "").unwrap()], text);
        assert_eq!(locate(text, "/nope"), None);
        assert_eq!(locate(text, "/a/7"), None);
    }
}
