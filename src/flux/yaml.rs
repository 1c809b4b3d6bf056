//! A small, deterministic YAML emitter for the Flux files appkit writes.
//!
//! Why our own: the output must be byte-stable across versions of any YAML library, and it must
//! keep every value's type when read by a YAML 1.1 parser (Helm and Flux read YAML through Go's
//! `sigs.k8s.io/yaml`, where a plain `yes`, `on`, `0777` or `1e3` is not a string) *and* by a YAML
//! 1.2 parser. So the rule is simple and conservative: a string is written plain only when no YAML
//! dialect could read it as anything but that string; everything else is double-quoted with
//! JSON-compatible escapes. Multi-line strings without special characters use a literal block
//! (`|`, `|-`, `|+`) so that embedded config files stay readable.
//!
//! Input is a `serde_json::Value` (the typed Flux structs serialise to it); mapping keys are
//! written in the order the value holds them: struct field order for the typed objects, and
//! sorted order for values, which [`sort_keys`] provides. Block style throughout, two-space
//! indentation, sequences indented under their key (`key:\n  - item`), `{}`/`[]` for empties.

use serde_json::{Map, Value};

/// Emit one YAML document (no `---`, ends with a newline).
pub fn to_yaml(value: &Value) -> String {
    let mut out = String::new();
    match value {
        Value::Object(m) if !m.is_empty() => emit_map(&mut out, m, 0),
        Value::Array(a) if !a.is_empty() => emit_seq(&mut out, a, 0),
        scalar => {
            emit_scalar(&mut out, scalar, 0);
            out.push('\n');
        }
    }
    out
}

/// Recursively sort every mapping's keys (byte order), for values whose key order is free.
pub fn sort_keys(value: &mut Value) {
    match value {
        Value::Object(m) => {
            let mut entries: Vec<(String, Value)> = std::mem::take(m).into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            for (k, mut v) in entries {
                sort_keys(&mut v);
                m.insert(k, v);
            }
        }
        Value::Array(a) => a.iter_mut().for_each(sort_keys),
        _ => {}
    }
}

fn indent(out: &mut String, n: usize) {
    for _ in 0..n {
        out.push(' ');
    }
}

fn is_nonempty_collection(v: &Value) -> bool {
    matches!(v, Value::Object(m) if !m.is_empty()) || matches!(v, Value::Array(a) if !a.is_empty())
}

fn emit_map(out: &mut String, m: &Map<String, Value>, level: usize) {
    for (k, v) in m {
        indent(out, level);
        out.push_str(&scalar_string(k, level, true));
        out.push(':');
        emit_value_after_key(out, v, level);
    }
}

/// After `key:` (or `- ` for sequences, handled separately): nested collections go on the next
/// lines, scalars after a space.
fn emit_value_after_key(out: &mut String, v: &Value, level: usize) {
    match v {
        Value::Object(m) if !m.is_empty() => {
            out.push('\n');
            emit_map(out, m, level + 2);
        }
        Value::Array(a) if !a.is_empty() => {
            out.push('\n');
            emit_seq(out, a, level + 2);
        }
        _ => {
            out.push(' ');
            emit_scalar(out, v, level + 2);
            out.push('\n');
        }
    }
}

fn emit_seq(out: &mut String, a: &[Value], level: usize) {
    for item in a {
        indent(out, level);
        out.push('-');
        match item {
            Value::Object(m) if !m.is_empty() => {
                // First entry on the dash line, the rest aligned under it.
                let mut first = true;
                for (k, v) in m {
                    if first {
                        out.push(' ');
                        first = false;
                    } else {
                        indent(out, level + 2);
                    }
                    out.push_str(&scalar_string(k, level + 2, true));
                    out.push(':');
                    emit_value_after_key(out, v, level + 2);
                }
            }
            Value::Array(inner) if !inner.is_empty() => {
                out.push('\n');
                emit_seq(out, inner, level + 2);
            }
            _ => {
                out.push(' ');
                emit_scalar(out, item, level + 2);
                out.push('\n');
            }
        }
    }
}

/// A scalar or an empty collection, written inline. `level` is the indentation of block-scalar
/// content lines.
fn emit_scalar(out: &mut String, v: &Value, level: usize) {
    debug_assert!(!is_nonempty_collection(v));
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&number(n)),
        Value::String(s) => out.push_str(&scalar_string(s, level, false)),
        Value::Array(_) => out.push_str("[]"),
        Value::Object(_) => out.push_str("{}"),
    }
}

/// Numbers in a form both YAML 1.1 and 1.2 read back as the same number: integers as digits,
/// floats always with a `.` and a signed exponent (YAML 1.1's float pattern needs both).
fn number(n: &serde_json::Number) -> String {
    if n.is_i64() || n.is_u64() {
        return n.to_string();
    }
    let f = n.as_f64().unwrap_or(0.0);
    let s = format!("{f:?}"); // Rust's shortest round-trip form: "1.5", "1e20", "1.5e-7"
    match s.split_once('e') {
        None if s.contains('.') => s,
        None => format!("{s}.0"),
        Some((mant, exp)) => {
            let mant = if mant.contains('.') {
                mant.to_string()
            } else {
                format!("{mant}.0")
            };
            let exp = if exp.starts_with('-') {
                exp.to_string()
            } else {
                format!("+{exp}")
            };
            format!("{mant}e{exp}")
        }
    }
}

/// The words YAML 1.1 (and Go's YAML libraries) read as booleans or null, compared case-insensitively.
const RESERVED_WORDS: &[&str] = &["y", "n", "yes", "no", "on", "off", "true", "false", "null"];

/// Characters that may appear in a plain scalar we write unquoted.
fn plain_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/' | '+' | '@')
}

/// Characters that can form a number in some YAML dialect or in Go's number parsing
/// (digits, hex digits, base prefixes, separators, signs, exponent markers).
fn numberish_char(c: char) -> bool {
    c.is_ascii_hexdigit()
        || matches!(
            c,
            'x' | 'X' | 'o' | 'O' | 'p' | 'P' | '_' | '.' | ':' | '+' | '-'
        )
}

fn looks_like_date(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() >= 8 && b[..4].iter().all(u8::is_ascii_digit) && b[4] == b'-' && b[5].is_ascii_digit()
}

/// True when `s` can be written as a plain scalar and read back as this same string by every
/// YAML 1.1 / 1.2 reader.
pub fn is_safe_plain(s: &str) -> bool {
    let Some(first) = s.chars().next() else {
        return false;
    };
    if !s.chars().all(|c| plain_char(c) || c == ':') {
        return false;
    }
    // `:` only inside (never `: ` — excluded above since space is not plain — nor at the end),
    // and only after a letter-led start (a leading digit could make it a YAML 1.1 sexagesimal).
    if s.contains(':') && (s.ends_with(':') || !first.is_ascii_alphabetic()) {
        return false;
    }
    if RESERVED_WORDS.iter().any(|w| w.eq_ignore_ascii_case(s)) {
        return false;
    }
    if first.is_ascii_alphabetic() {
        return true;
    }
    if first == '/' {
        return true;
    }
    // Leading digit: plain only when some character rules out every number syntax (`10m`, `64Mi`).
    // A leading date (`2001-12-14…`) is a timestamp to YAML 1.1 and Go's readers.
    if first.is_ascii_digit() {
        return !s.chars().all(numberish_char) && !looks_like_date(s);
    }
    // Leading `-`, `.`, `_`: quote (`-1`, `.inf`, `-` alone, `.5`).
    false
}

/// A string as a YAML scalar: plain when safe, a literal block for clean multi-line text
/// (values only, never keys), otherwise double-quoted.
fn scalar_string(s: &str, level: usize, is_key: bool) -> String {
    if is_safe_plain(s) {
        return s.to_string();
    }
    if !is_key {
        if let Some(block) = literal_block(s, level) {
            return block;
        }
    }
    double_quoted(s)
}

/// `|`-style block for multi-line strings whose every character is printable and whose lines
/// carry no ambiguity (first line not indented, no whitespace-only lines, no `\r`).
fn literal_block(s: &str, level: usize) -> Option<String> {
    if !s.contains('\n') {
        return None;
    }
    if s.chars().any(|c| c != '\n' && needs_escape(c)) || s.contains('\t') {
        return None;
    }
    let body = s.trim_end_matches('\n');
    let trailing = s.len() - body.len();
    if body.is_empty() || body.starts_with(' ') {
        return None;
    }
    if body
        .split('\n')
        .any(|l| !l.is_empty() && l.trim().is_empty())
    {
        return None;
    }
    let chomp = match trailing {
        0 => "-",
        1 => "",
        _ => "+",
    };
    let mut out = format!("|{chomp}");
    for line in body.split('\n') {
        out.push('\n');
        if !line.is_empty() {
            out.push_str(&" ".repeat(level));
            out.push_str(line);
        }
    }
    // Keep chomping: the extra newlines are empty lines after the body.
    for _ in 1..trailing {
        out.push('\n');
    }
    Some(out)
}

/// Characters YAML does not allow unescaped in a double-quoted scalar (or that would not survive).
fn needs_escape(c: char) -> bool {
    let u = c as u32;
    u < 0x20
        || u == 0x7f
        || (0x80..=0x9f).contains(&u)
        || u == 0xfeff
        || u == 0xfffe
        || u == 0xffff
        || (0xd800..=0xdfff).contains(&u)
}

/// A double-quoted scalar with escapes both YAML 1.1 and JSON understand.
pub fn double_quoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if needs_escape(c) => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Read YAML back with a YAML 1.2 reader (serde-saphyr) into JSON.
    fn reread(text: &str) -> Value {
        serde_saphyr::from_str(text)
            .unwrap_or_else(|e| panic!("emitted YAML does not parse: {e}\n{text}"))
    }

    #[test]
    fn ambiguous_strings_are_quoted_and_keep_their_type() {
        let tricky = [
            "yes",
            "Yes",
            "YES",
            "no",
            "on",
            "Off",
            "y",
            "N",
            "true",
            "False",
            "null",
            "Null",
            "~",
            "",
            "0777",
            "0o17",
            "0x1F",
            "1e3",
            "1E3",
            "1_000",
            "1:20",
            "12",
            "-1",
            "+1",
            ".5",
            ".inf",
            "-.inf",
            ".NaN",
            "1.0",
            "1.2.3",
            "0.1.0",
            "a: b",
            "a #b",
            "*x",
            "&x",
            "!x",
            "|x",
            ">x",
            "%x",
            "@x",
            "`x",
            "-",
            "- x",
            "? x",
            "[a]",
            "{a}",
            "a,b",
            " lead",
            "trail ",
            "tab\there",
            "\"q\"",
            "back\\slash",
            "nul\u{0}",
            "del\u{7f}",
            "bom\u{feff}",
            "ünï",
            "#c",
            "'s'",
            "=",
            "<<",
        ];
        for s in tricky {
            let doc = json!({ "k": s, s: "v", "list": [s] });
            let text = to_yaml(&doc);
            let back = reread(&text);
            assert_eq!(back, doc, "round trip of {s:?} failed:\n{text}");
            if !is_safe_plain(s) {
                assert!(
                    text.contains("k: \""),
                    "{s:?} must be double-quoted:\n{text}"
                );
            }
        }
    }

    #[test]
    fn plain_where_unambiguous() {
        let plain = [
            "app1",
            "10m",
            "64Mi",
            "500m",
            "flux-system",
            "oci://h/p",
            "/healthz",
            "v1.2",
            "a_b",
            "img:tag",
        ];
        for s in plain {
            assert!(is_safe_plain(s), "{s:?} should be plain");
        }
        for s in [
            "2001-12-14t21:59:43.10-05:00",
            "2001-12-14",
            "10:20",
            "a:",
            "1e3",
            "0x1F",
        ] {
            assert!(!is_safe_plain(s), "{s:?} must be quoted");
        }
        assert_eq!(
            to_yaml(&json!({"interval": "10m", "cpu": "500m"})),
            "interval: 10m\ncpu: 500m\n"
        );
        assert_eq!(to_yaml(&json!({"url": "oci://h/p"})), "url: oci://h/p\n");
    }

    #[test]
    fn numbers_bools_nulls_and_empties() {
        let doc = json!({"i": 3, "neg": -7, "f": 1.5, "big": 1e20, "small": 1.5e-7, "b": true, "n": null,
                         "em": {}, "ea": [], "s": "3"});
        let text = to_yaml(&doc);
        assert!(text.contains("big: 1.0e+20\n"), "{text}");
        assert!(text.contains("small: 1.5e-7\n"), "{text}");
        assert!(text.contains("em: {}\nea: []\ns: \"3\"\n"), "{text}");
        assert_eq!(reread(&text), doc);
    }

    #[test]
    fn nested_collections_and_sequences_of_maps() {
        let doc = json!({"spec": {"dependsOn": [{"name": "app1", "namespace": "flux"}, {"name": "b"}],
                          "matrix": [[1, 2], []], "values": {"env": [{"name": "A", "value": "yes"}]}}});
        let text = to_yaml(&doc);
        assert_eq!(
            text,
            "spec:\n  dependsOn:\n    - name: app1\n      namespace: flux\n    - name: b\n  matrix:\n    -\n      - 1\n      - 2\n    - []\n  values:\n    env:\n      - name: A\n        value: \"yes\"\n"
        );
        assert_eq!(reread(&text), doc);
    }

    #[test]
    fn multiline_strings_use_literal_blocks_and_round_trip() {
        for s in [
            "a\nb",
            "a\nb\n",
            "a\nb\n\n",
            "line one\n\nline three\n",
            "x: 1\ny: [2]\n",
            "a\n  indented\n",
        ] {
            let doc = json!({"outer": {"conf": s}, "seq": [s]});
            let text = to_yaml(&doc);
            assert!(text.contains('|'), "{s:?} should be a block:\n{text}");
            assert_eq!(reread(&text), doc, "{s:?}:\n{text}");
        }
        for s in [" lead\nx", "a\n   \nb", "tab\t\nx", "cr\r\nx"] {
            let text = to_yaml(&json!({ "k": s }));
            assert!(text.starts_with("k: \""), "{s:?} should be quoted:\n{text}");
            assert_eq!(reread(&text), json!({ "k": s }));
        }
    }

    #[test]
    fn sort_keys_is_recursive() {
        let mut v = json!({"b": {"z": 1, "a": [{"w": 1, "v": 2}]}, "a": 1, "y": 0});
        sort_keys(&mut v);
        assert_eq!(
            to_yaml(&v),
            "a: 1\nb:\n  a:\n    - v: 2\n      w: 1\n  z: 1\n\"y\": 0\n"
        );
    }
}
