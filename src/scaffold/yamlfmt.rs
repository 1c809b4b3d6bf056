//! JSON values laid out as the YAML lines of a scaffold: flow collections on one line (`[a, b]`,
//! `{name: X, value: json}`) and block lists/maps one line per entry, so that the templates can put
//! them after a key or behind a `# ` comment. Used for the scaffold's values and the defaults shown
//! in comments and in the reference table. Which strings are plain and how the rest are quoted
//! (and how numbers are written) is [`crate::yamlout`]'s `Profile::Scaffold`, the Flux files'
//! rule plus `%`: plain only where YAML 1.1 (Helm's reading) and 1.2 read the same string back,
//! so `yes`, `on`, `1.4.2`-like strings are quoted. Because that rule never writes `,[]{}` plain,
//! a scalar reads the same in flow and in block context.

use serde_json::Value;

use crate::yamlout::{self, Profile};

/// A scalar or a flow collection on one line (`[a, b]`, `{name: X, value: json}`).
pub fn inline(v: &Value) -> String {
    match v {
        Value::Array(items) => {
            let parts: Vec<String> = items.iter().map(flow_item).collect();
            format!("[{}]", parts.join(", "))
        }
        Value::Object(map) => {
            let parts: Vec<String> = map
                .iter()
                .map(|(k, v)| format!("{}: {}", string(k), flow_item(v)))
                .collect();
            format!("{{{}}}", parts.join(", "))
        }
        other => scalar(other),
    }
}

fn flow_item(v: &Value) -> String {
    match v {
        Value::Array(_) | Value::Object(_) => inline(v),
        other => scalar(other),
    }
}

/// A scalar: `null`, `true`, `8080`, `IfNotPresent`, `"1.4.2"`, `""`.
pub fn scalar(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => yamlout::number(n, Profile::Scaffold),
        Value::String(s) => string(s),
        other => inline(other),
    }
}

/// A list or map written in block style, one line per entry, each line indented by `indent`
/// spaces (the caller writes the key line). Scalars in it are written with [`scalar`].
pub fn block(v: &Value, indent: usize) -> Vec<String> {
    let pad = " ".repeat(indent);
    let mut out = Vec::new();
    match v {
        Value::Array(items) => {
            for item in items {
                match item {
                    Value::Object(map) if !map.is_empty() => {
                        for (i, (k, val)) in map.iter().enumerate() {
                            let lead = if i == 0 { "- " } else { "  " };
                            out.push(format!("{pad}{lead}{}: {}", string(k), inline(val)));
                        }
                    }
                    other => out.push(format!("{pad}- {}", inline(other))),
                }
            }
        }
        Value::Object(map) => {
            for (k, val) in map {
                out.push(format!("{pad}{}: {}", string(k), inline(val)));
            }
        }
        other => out.push(format!("{pad}{}", scalar(other))),
    }
    out
}

/// True for a non-empty list or map (written as a block under its key).
pub fn is_block(v: &Value) -> bool {
    match v {
        Value::Array(a) => !a.is_empty(),
        Value::Object(m) => !m.is_empty(),
        _ => false,
    }
}

/// A string: plain when [`yamlout::is_safe_plain`] allows it, else double-quoted.
pub fn string(s: &str) -> String {
    yamlout::scalar(s, Profile::Scaffold)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn strings_follow_the_appkit_profile_in_flow_and_block() {
        // The quoting table lives in `yamlout`; here only that the scaffold uses it everywhere.
        assert_eq!(string("1.4.2"), "\"1.4.2\"");
        assert_eq!(string("sha256:abc"), "sha256:abc");
        assert_eq!(string("50%"), "50%");
        assert_eq!(string("%x"), "\"%x\"");
        assert_eq!(
            inline(&json!(["a,b", "yes", "64Mi", {"on": "x y"}])),
            "[\"a,b\", \"yes\", 64Mi, {\"on\": \"x y\"}]"
        );
        assert_eq!(block(&json!({"k": "a b"}), 0), ["k: \"a b\""]);
        assert_eq!(inline(&json!(1e20)), "1.0e+20");
    }

    #[test]
    fn inline_and_block_forms() {
        assert_eq!(inline(&json!([])), "[]");
        assert_eq!(
            inline(&json!([{"name": "LOG_FORMAT", "value": "json"}])),
            "[{name: LOG_FORMAT, value: json}]"
        );
        assert_eq!(
            block(&json!([{"cidr": "10.0.0.0/8", "ports": [443]}, "x"]), 2),
            ["  - cidr: 10.0.0.0/8", "    ports: [443]", "  - x"]
        );
    }
}
