//! The chart's `values.schema.json` read as a tree of fields: each key with its type, default,
//! examples, allowed values and description, in the schema's own order (that order is the grouping
//! both the scaffold and the reference table follow).
//!
//! Only what the shared chart's schema uses is understood: `properties`, `items`, `required`,
//! `type`, `default`, `examples`, `enum`, `not.enum`, `pattern`, `minimum`/`maximum`, lengths and
//! item counts. `$ref` is not followed (the chart contract forbids it); such a key shows as a field
//! without children.

use std::path::Path;

use serde_json::Value;

use super::ScaffoldError;

/// One key of the values (or the items of a list, whose key is `[]`).
#[derive(Debug, Clone, Default)]
pub struct Field {
    /// Path from the root, e.g. `["image", "repository"]`; list items add a `[]` segment.
    pub path: Vec<String>,
    pub key: String,
    pub types: Vec<String>,
    pub description: Option<String>,
    pub default: Option<Value>,
    pub examples: Vec<Value>,
    pub enum_values: Vec<Value>,
    pub not_enum: Vec<Value>,
    pub pattern: Option<String>,
    pub minimum: Option<Value>,
    pub maximum: Option<Value>,
    pub min_length: Option<u64>,
    pub max_length: Option<u64>,
    pub min_items: Option<u64>,
    pub max_items: Option<u64>,
    pub unique_items: bool,
    /// Listed in its parent's `required`.
    pub required: bool,
    /// Properties of an object, in schema order.
    pub children: Vec<Field>,
    /// The schema of a list's items.
    pub items: Option<Box<Field>>,
}

impl Field {
    /// `image.repository`, `env[].name`.
    pub fn dotted(&self) -> String {
        let mut s = String::new();
        for seg in &self.path {
            if seg == "[]" {
                s.push_str("[]");
            } else {
                if !s.is_empty() {
                    s.push('.');
                }
                s.push_str(seg);
            }
        }
        s
    }

    /// An object with properties (a group of keys), as opposed to a value.
    pub fn is_group(&self) -> bool {
        !self.children.is_empty()
    }

    /// `string`, `integer or string`, `list of object`, …
    pub fn type_label(&self) -> String {
        let base = if self.types.is_empty() {
            if self.is_group() {
                "object".to_string()
            } else {
                "any".to_string()
            }
        } else {
            self.types.join(" or ")
        };
        if self.types == ["array"] {
            match &self.items {
                Some(i) if !i.types.is_empty() => format!("list of {}", i.types.join(" or ")),
                _ => "list".to_string(),
            }
        } else {
            base
        }
    }

    /// Every field below this one (depth first, schema order), list items included.
    pub fn descendants(&self) -> Vec<&Field> {
        let mut out = Vec::new();
        for c in &self.children {
            out.push(c);
            out.extend(c.descendants());
        }
        if let Some(i) = &self.items {
            out.push(i);
            out.extend(i.descendants());
        }
        out
    }
}

/// The root of the schema: its top-level fields plus the schema's own title/description.
#[derive(Debug, Clone)]
pub struct Schema {
    pub description: Option<String>,
    pub fields: Vec<Field>,
}

impl Schema {
    /// Read `<chart>/values.schema.json`.
    pub fn load(chart_dir: &Path) -> Result<Schema, ScaffoldError> {
        let path = chart_dir.join("values.schema.json");
        let text =
            crate::fsutil::read_to_string_limited(&path, crate::values::schema::MAX_SCHEMA_BYTES)
                .map_err(|source| ScaffoldError::Read {
                path: path.clone(),
                source,
            })?;
        let root: Value = serde_json::from_str(&text).map_err(|e| ScaffoldError::Schema {
            path: path.clone(),
            message: format!("line {} column {}: {e}", e.line(), e.column()),
        })?;
        if !root.is_object() {
            return Err(ScaffoldError::Schema {
                path,
                message: "the schema is not a JSON object".into(),
            });
        }
        Ok(Schema::from_value(&root))
    }

    pub fn from_value(root: &Value) -> Schema {
        let root_field = field(root, Vec::new(), String::new(), false);
        Schema {
            description: root_field.description,
            fields: root_field.children,
        }
    }

    /// Every field of the schema, depth first.
    pub fn all(&self) -> Vec<&Field> {
        let mut out = Vec::new();
        for f in &self.fields {
            out.push(f);
            out.extend(f.descendants());
        }
        out
    }

    pub fn top(&self, key: &str) -> Option<&Field> {
        self.fields.iter().find(|f| f.key == key)
    }

    pub fn find(&self, path: &[&str]) -> Option<&Field> {
        let (first, rest) = path.split_first()?;
        let mut f = self.top(first)?;
        for seg in rest {
            f = f.children.iter().find(|c| c.key == *seg)?;
        }
        Some(f)
    }
}

fn field(s: &Value, path: Vec<String>, key: String, required: bool) -> Field {
    let str_of = |k: &str| s.get(k).and_then(Value::as_str).map(str::to_string);
    let u64_of = |k: &str| s.get(k).and_then(Value::as_u64);
    let types = match s.get("type") {
        Some(Value::String(t)) => vec![t.clone()],
        Some(Value::Array(ts)) => ts
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect(),
        _ => Vec::new(),
    };
    let required_keys: Vec<&str> = s
        .get("required")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let children = s
        .get("properties")
        .and_then(Value::as_object)
        .map(|props| {
            props
                .iter()
                .map(|(k, sub)| {
                    let mut p = path.clone();
                    p.push(k.clone());
                    field(sub, p, k.clone(), required_keys.contains(&k.as_str()))
                })
                .collect()
        })
        .unwrap_or_default();
    let items = s.get("items").filter(|i| i.is_object()).map(|i| {
        let mut p = path.clone();
        p.push("[]".into());
        Box::new(field(i, p, "[]".into(), false))
    });
    Field {
        key,
        types,
        description: str_of("description").filter(|d| !d.trim().is_empty()),
        default: s.get("default").cloned(),
        examples: s
            .get("examples")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default(),
        enum_values: s
            .get("enum")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default(),
        not_enum: s
            .get("not")
            .and_then(|n| n.get("enum"))
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default(),
        pattern: str_of("pattern"),
        minimum: s.get("minimum").cloned(),
        maximum: s.get("maximum").cloned(),
        min_length: u64_of("minLength"),
        max_length: u64_of("maxLength"),
        min_items: u64_of("minItems"),
        max_items: u64_of("maxItems"),
        unique_items: s.get("uniqueItems").and_then(Value::as_bool) == Some(true),
        required,
        children,
        items,
        path,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn walks_properties_items_and_required_in_schema_order() {
        let s: Value = serde_json::from_str(
            r#"{"type":"object","required":["b"],"properties":{
                "b":{"type":"object","description":"B","properties":{"x":{"type":"integer","default":1}}},
                "a":{"type":"array","items":{"type":"object","properties":{"n":{"type":"string"}}}}}}"#,
        )
        .unwrap();
        let schema = Schema::from_value(&s);
        let keys: Vec<String> = schema.all().iter().map(|f| f.dotted()).collect();
        assert_eq!(keys, ["b", "b.x", "a", "a[]", "a[].n"]);
        assert!(schema.fields[0].required);
        assert!(!schema.fields[1].required);
        assert_eq!(schema.fields[1].type_label(), "list of object");
        assert_eq!(schema.find(&["b", "x"]).unwrap().default, Some(1.into()));
    }
}
