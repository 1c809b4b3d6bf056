//! Go's encodings of chart metadata, reproduced byte for byte where it matters: the compact JSON
//! of `encoding/json` (struct field order, `omitempty`, sorted map keys, HTML-safe escapes) that
//! `helm push` stores as the OCI config blob, the sorted-key tree of the archived Chart.yaml, and
//! Helm's `sanitizeString`. Only `metadata.rs` uses this. The YAML text itself (which strings are
//! plain, how the rest are quoted, the sequence layout) is `crate::yamlout`'s
//! `Profile::ChartArchive`, not decided here.

use super::metadata::ChartMetadata;
use crate::yamlout::{self, Profile};

/// The metadata as Go's `json.Marshal` would lay it out (struct order, omitempty).
pub(super) fn go_value(md: &ChartMetadata) -> GoValue {
    let mut o = Vec::new();
    str_field(&mut o, "name", &md.name);
    str_field(&mut o, "home", &md.home);
    list_field(&mut o, "sources", &md.sources);
    str_field(&mut o, "version", &md.version);
    str_field(&mut o, "description", &md.description);
    list_field(&mut o, "keywords", &md.keywords);
    if !md.maintainers.is_empty() {
        let ms = md
            .maintainers
            .iter()
            .map(|m| {
                let mut mo = Vec::new();
                str_field(&mut mo, "name", &m.name);
                str_field(&mut mo, "email", &m.email);
                str_field(&mut mo, "url", &m.url);
                GoValue::Obj(mo)
            })
            .collect();
        o.push(("maintainers".into(), GoValue::Arr(ms)));
    }
    str_field(&mut o, "icon", &md.icon);
    str_field(&mut o, "apiVersion", &md.api_version);
    str_field(&mut o, "condition", &md.condition);
    str_field(&mut o, "tags", &md.tags);
    str_field(&mut o, "appVersion", &md.app_version);
    if md.deprecated {
        o.push(("deprecated".into(), GoValue::Bool(true)));
    }
    if !md.annotations.is_empty() {
        let a = md
            .annotations
            .iter()
            .map(|(k, v)| (k.clone(), GoValue::Str(v.clone())))
            .collect();
        o.push(("annotations".into(), GoValue::Obj(a)));
    }
    str_field(&mut o, "kubeVersion", &md.kube_version);
    if !md.dependencies.is_empty() {
        let ds = md
            .dependencies
            .iter()
            .map(|d| {
                let mut dobj = vec![("name".to_string(), GoValue::Str(d.name.clone()))];
                str_field(&mut dobj, "version", &d.version);
                dobj.push(("repository".into(), GoValue::Str(d.repository.clone())));
                str_field(&mut dobj, "condition", &d.condition);
                list_field(&mut dobj, "tags", &d.tags);
                if d.enabled {
                    dobj.push(("enabled".into(), GoValue::Bool(true)));
                }
                if !d.import_values.is_empty() {
                    let iv = d.import_values.iter().map(GoValue::from_json).collect();
                    dobj.push(("import-values".into(), GoValue::Arr(iv)));
                }
                str_field(&mut dobj, "alias", &d.alias);
                GoValue::Obj(dobj)
            })
            .collect();
        o.push(("dependencies".into(), GoValue::Arr(ds)));
    }
    str_field(&mut o, "type", &md.chart_type);
    GoValue::Obj(o)
}

fn str_field(o: &mut Vec<(String, GoValue)>, key: &str, v: &str) {
    if !v.is_empty() {
        o.push((key.to_string(), GoValue::Str(v.to_string())));
    }
}

fn list_field(o: &mut Vec<(String, GoValue)>, key: &str, v: &[String]) {
    if !v.is_empty() {
        o.push((
            key.to_string(),
            GoValue::Arr(v.iter().map(|s| GoValue::Str(s.clone())).collect()),
        ));
    }
}

/// Helm's `sanitizeString`: Unicode white space becomes ' ', non-printable characters are dropped
/// (Go's `unicode.IsPrint`: controls, format characters, private use and non-characters; unassigned
/// code points are kept, the only difference from Go).
pub fn sanitize_string(s: &str) -> String {
    s.chars()
        .filter_map(|c| {
            if c.is_whitespace() {
                Some(' ')
            } else if is_printable(c) {
                Some(c)
            } else {
                None
            }
        })
        .collect()
}

fn is_printable(c: char) -> bool {
    let u = c as u32;
    if c.is_control() {
        return false;
    }
    const FORMAT: &[(u32, u32)] = &[
        (0x00AD, 0x00AD),
        (0x0600, 0x0605),
        (0x061C, 0x061C),
        (0x06DD, 0x06DD),
        (0x070F, 0x070F),
        (0x0890, 0x0891),
        (0x08E2, 0x08E2),
        (0x180E, 0x180E),
        (0x200B, 0x200F),
        (0x202A, 0x202E),
        (0x2060, 0x2064),
        (0x2066, 0x206F),
        (0xFEFF, 0xFEFF),
        (0xFFF9, 0xFFFB),
        (0x110BD, 0x110BD),
        (0x110CD, 0x110CD),
        (0x13430, 0x1343F),
        (0x1BCA0, 0x1BCA3),
        (0x1D173, 0x1D17A),
        (0xE0001, 0xE0001),
        (0xE0020, 0xE007F),
        // private use
        (0xE000, 0xF8FF),
        (0xF0000, 0x10FFFF),
        // non-characters
        (0xFDD0, 0xFDEF),
    ];
    if (u & 0xFFFE) == 0xFFFE {
        return false;
    }
    !FORMAT.iter().any(|(lo, hi)| (*lo..=*hi).contains(&u))
}

/// A JSON value in the order Go's encoder would write it.
#[derive(Debug, Clone)]
pub(super) enum GoValue {
    Str(String),
    Bool(bool),
    Num(serde_json::Number),
    Null,
    Arr(Vec<GoValue>),
    Obj(Vec<(String, GoValue)>),
}

impl GoValue {
    /// `interface{}` values: Go sorts map keys when marshalling.
    fn from_json(v: &serde_json::Value) -> GoValue {
        match v {
            serde_json::Value::Null => GoValue::Null,
            serde_json::Value::Bool(b) => GoValue::Bool(*b),
            serde_json::Value::Number(n) => GoValue::Num(n.clone()),
            serde_json::Value::String(s) => GoValue::Str(s.clone()),
            serde_json::Value::Array(a) => GoValue::Arr(a.iter().map(GoValue::from_json).collect()),
            serde_json::Value::Object(o) => {
                let mut kv: Vec<_> = o
                    .iter()
                    .map(|(k, v)| (k.clone(), GoValue::from_json(v)))
                    .collect();
                kv.sort_by(|a, b| a.0.cmp(&b.0));
                GoValue::Obj(kv)
            }
        }
    }

    pub(super) fn sorted(self) -> GoValue {
        match self {
            GoValue::Arr(a) => GoValue::Arr(a.into_iter().map(GoValue::sorted).collect()),
            GoValue::Obj(mut o) => {
                o.sort_by(|a, b| a.0.cmp(&b.0));
                GoValue::Obj(o.into_iter().map(|(k, v)| (k, v.sorted())).collect())
            }
            other => other,
        }
    }

    pub(super) fn write_json(&self, out: &mut String) {
        match self {
            GoValue::Str(s) => go_json_string(s, out),
            GoValue::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            GoValue::Num(n) => out.push_str(&n.to_string()),
            GoValue::Null => out.push_str("null"),
            GoValue::Arr(a) => {
                out.push('[');
                for (i, v) in a.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    v.write_json(out);
                }
                out.push(']');
            }
            GoValue::Obj(o) => {
                out.push('{');
                for (i, (k, v)) in o.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    go_json_string(k, out);
                    out.push(':');
                    v.write_json(out);
                }
                out.push('}');
            }
        }
    }

    /// The same tree as a JSON value in the same order, for the YAML emitter.
    fn to_value(&self) -> serde_json::Value {
        use serde_json::Value;
        match self {
            GoValue::Str(s) => Value::String(s.clone()),
            GoValue::Bool(b) => Value::Bool(*b),
            GoValue::Num(n) => Value::Number(n.clone()),
            GoValue::Null => Value::Null,
            GoValue::Arr(a) => Value::Array(a.iter().map(GoValue::to_value).collect()),
            GoValue::Obj(o) => {
                Value::Object(o.iter().map(|(k, v)| (k.clone(), v.to_value())).collect())
            }
        }
    }
}

/// The Chart.yaml written into an archive: the metadata's keys sorted (as Helm's `yaml.Marshal`
/// of it), through the one YAML emitter's chart-archive profile.
pub(super) fn chart_yaml(md: &ChartMetadata) -> String {
    yamlout::to_yaml(&go_value(md).sorted().to_value(), Profile::ChartArchive)
}

/// Go `encoding/json` string encoding (Go ≥ 1.22): `\b \f \n \r \t` short escapes, other control
/// characters as `\u00xx`, and `<`, `>`, `&`, U+2028, U+2029 escaped (HTML-safe).
pub(super) fn go_json_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// A lock file (`requirements.lock`, or `Chart.lock`) as Helm writes it into an archive:
/// `yaml.Marshal(chart.Lock)` — `dependencies`, `digest`, `generated` only, keys sorted, each
/// dependency with `name` and `repository` always and the other fields when set. The
/// `generated` time is kept as written (Go normalises it to RFC 3339 with nanoseconds; a lock
/// written by Helm already is).
pub(super) fn lock_yaml(
    bytes: &[u8],
    path: &std::path::Path,
) -> Result<Vec<u8>, super::ChartError> {
    #[derive(serde::Deserialize)]
    struct RawLock {
        generated: Option<String>,
        digest: Option<String>,
        dependencies: Option<Vec<RawDep>>,
    }
    #[derive(serde::Deserialize)]
    struct RawDep {
        name: Option<String>,
        version: Option<String>,
        repository: Option<String>,
        condition: Option<String>,
        tags: Option<Vec<String>>,
        enabled: Option<bool>,
        #[serde(rename = "import-values")]
        import_values: Option<Vec<serde_json::Value>>,
        alias: Option<String>,
    }
    let text = std::str::from_utf8(bytes).unwrap_or("");
    let raw: Option<RawLock> =
        serde_saphyr::from_str(text).map_err(|e| super::ChartError::Yaml {
            path: path.to_path_buf(),
            line: e.location().map(|l| l.line()).filter(|l| *l > 0),
            column: e.location().map(|l| l.column()).filter(|c| *c > 0),
            message: crate::fsutil::yaml_error_message(&e.to_string()),
        })?;
    let raw = raw.unwrap_or(RawLock {
        generated: None,
        digest: None,
        dependencies: None,
    });
    let deps = match raw.dependencies {
        None => GoValue::Null,
        Some(ds) => GoValue::Arr(
            ds.into_iter()
                .map(|d| {
                    let mut o =
                        vec![("name".to_string(), GoValue::Str(d.name.unwrap_or_default()))];
                    str_field(&mut o, "version", &d.version.unwrap_or_default());
                    o.push((
                        "repository".into(),
                        GoValue::Str(d.repository.unwrap_or_default()),
                    ));
                    str_field(&mut o, "condition", &d.condition.unwrap_or_default());
                    list_field(&mut o, "tags", &d.tags.unwrap_or_default());
                    if d.enabled == Some(true) {
                        o.push(("enabled".into(), GoValue::Bool(true)));
                    }
                    if let Some(iv) = d.import_values.filter(|v| !v.is_empty()) {
                        o.push((
                            "import-values".into(),
                            GoValue::Arr(iv.iter().map(GoValue::from_json).collect()),
                        ));
                    }
                    str_field(&mut o, "alias", &d.alias.unwrap_or_default());
                    GoValue::Obj(o)
                })
                .collect(),
        ),
    };
    let lock = GoValue::Obj(vec![
        (
            "generated".into(),
            GoValue::Str(
                raw.generated
                    .unwrap_or_else(|| "0001-01-01T00:00:00Z".into()),
            ),
        ),
        (
            "digest".into(),
            GoValue::Str(raw.digest.unwrap_or_default()),
        ),
        ("dependencies".into(), deps),
    ]);
    Ok(yamlout::to_yaml(&lock.sorted().to_value(), Profile::ChartArchive).into_bytes())
}
