//! JSON values written as YAML that Helm reads back as the same value: plain scalars where that is
//! unambiguous under YAML 1.1 (Helm's reading: `yes`, `on`, `1.4.2`-like strings are quoted),
//! double-quoted (JSON escaping, which YAML accepts) otherwise. Used for the scaffold's values and
//! the defaults shown in comments and in the reference table.

use serde_json::Value;

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
                .map(|(k, v)| format!("{}: {}", string(k, true), flow_item(v)))
                .collect();
            format!("{{{}}}", parts.join(", "))
        }
        other => scalar(other, false),
    }
}

fn flow_item(v: &Value) -> String {
    match v {
        Value::Array(_) | Value::Object(_) => inline(v),
        other => scalar(other, true),
    }
}

/// A scalar: `null`, `true`, `8080`, `IfNotPresent`, `"1.4.2"`, `""`.
pub fn scalar(v: &Value, in_flow: bool) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => string(s, in_flow),
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
                            out.push(format!("{pad}{lead}{}: {}", string(k, false), inline(val)));
                        }
                    }
                    other => out.push(format!("{pad}- {}", inline(other))),
                }
            }
        }
        Value::Object(map) => {
            for (k, val) in map {
                out.push(format!("{pad}{}: {}", string(k, false), inline(val)));
            }
        }
        other => out.push(format!("{pad}{}", scalar(other, false))),
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

/// A string, plain when YAML 1.1 reads the plain form back as this same string.
pub fn string(s: &str, in_flow: bool) -> String {
    if needs_quotes(s, in_flow) {
        serde_json::to_string(s).expect("a string serialises")
    } else {
        s.to_string()
    }
}

fn needs_quotes(s: &str, in_flow: bool) -> bool {
    let Some(first) = s.chars().next() else {
        return true;
    };
    const SPECIAL: [&str; 18] = [
        "y", "n", "yes", "no", "on", "off", "true", "false", "null", "~", ".inf", "-.inf", "+.inf",
        ".nan", "<<", "=", "-", "?",
    ];
    let lower = s.to_ascii_lowercase();
    if SPECIAL.contains(&lower.as_str()) {
        return true;
    }
    // Anything that could be read as a number, a sexagesimal or a date (YAML 1.1) stays a string.
    if (first.is_ascii_digit() || "+-.".contains(first))
        && s.chars()
            .all(|c| c.is_ascii_hexdigit() || "xXoObB_.:+-".contains(c))
    {
        return true;
    }
    if "-?:,[]{}#&*!|>'\"%@` \t".contains(first) {
        return true;
    }
    if s.ends_with(' ') || s.ends_with(':') || s.contains(": ") || s.contains(" #") {
        return true;
    }
    if s.chars().any(|c| c.is_control()) {
        return true;
    }
    in_flow && s.chars().any(|c| ",[]{}".contains(c))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn quotes_what_yaml_1_1_would_misread() {
        for s in [
            "",
            "yes",
            "On",
            "1.4.2",
            "2",
            "0x1F",
            "1:20",
            "2024-01-01",
            "- a",
            "a: b",
            "~",
        ] {
            assert!(string(s, false).starts_with('"'), "{s} must be quoted");
        }
        for s in [
            "50m",
            "64Mi",
            "IfNotPresent",
            "/healthz",
            "sha256:abc",
            "harbor.example.com/a/b",
        ] {
            assert_eq!(string(s, false), s, "{s} can stay plain");
        }
        assert_eq!(string("a,b", true), "\"a,b\"");
        assert_eq!(string("tab\there", false), "\"tab\\there\"");
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
