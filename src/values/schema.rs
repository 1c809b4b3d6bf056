//! The chart's `values.schema.json`: compiled once, checked against each app's coalesced values,
//! and every error turned into a diagnostic that points at the line that supplied the value.
//!
//! The draft comes from `$schema`; without one it is 2020-12, as in Helm ≥ 3.18.5 and Helm 4.
//! `format` is asserted as Helm 4 asserts it (`formats.rs`); `tests/schema_suite.rs` compares
//! every case of the JSON-Schema-Test-Suite with real Helm 4.
//! References are resolved offline only: a remote `$ref` (http, https, file) makes loading fail —
//! appkit never fetches anything while validating (Helm's CVE-2025-55199 class of problems).
//!
//! Where an error points: the value at the error's instance path; for `additionalProperties` the
//! unknown key itself; for `required` the mapping that lacks the key (its key line). Messages are
//! written for app owners: unknown keys list the allowed keys and the closest match, type errors say
//! what was given and what is expected (with YAML 1.1 hints: `yes` is a boolean, `"8080"` is text),
//! pattern errors quote the schema's `description` of the field.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use jsonschema::error::{TypeKind, ValidationErrorKind};
use jsonschema::{Draft, JsonType, ValidationError};
use serde_json::Value;

use super::yaml::{Node, Val};
use super::AppValues;
use crate::diagnostics::Diagnostic;

/// Unknown keys of one mapping that get a "did you mean" suggestion.
const MAX_SUGGESTIONS: usize = 1000;

/// The largest `values.schema.json` read.
pub const MAX_SCHEMA_BYTES: u64 = 5 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum SchemaError {
    #[error("cannot read the chart schema {}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the chart schema {} is not valid JSON: {message}", path.display())]
    Json { path: PathBuf, message: String },
    #[error("the chart schema {} cannot be compiled: {message}", path.display())]
    Compile { path: PathBuf, message: String },
    /// The schema's `$ref`/`allOf`/`anyOf`/`oneOf` fan-out expands beyond
    /// [`super::fanout::MAX_EXPANSION`]; its source carries the diagnostic at the subschema (exit 1).
    #[error("the chart schema {} expands to more than {} schema nodes", path.display(), super::fanout::MAX_EXPANSION)]
    FanOut {
        path: PathBuf,
        #[source]
        invalid: crate::error::Invalid,
    },
}

/// The diagnostic for a schema whose expansion is over budget, at the subschema's file:line:col.
fn fan_out_error(path: &Path, text: &str, over: &super::fanout::OverBudget) -> SchemaError {
    let source = crate::diagnostics::SourceFile::new(path, text);
    let range = super::fanout::locate(text, &over.pointer).unwrap_or(0..0);
    // Carets on the first line of the subschema only (it may span the whole file).
    let end = text[range.clone()]
        .find('\n')
        .map_or(range.end, |i| range.start + i);
    let shown = if over.pointer.is_empty() {
        "the schema".to_string()
    } else {
        format!("`#{}`", over.pointer)
    };
    let d = Diagnostic::error(
        "schema-fan-out",
        format!(
            "{shown} expands to more than {} schema nodes through $ref/allOf/anyOf/oneOf (the file itself has {}); validating a value against it would not finish",
            super::fanout::MAX_EXPANSION,
            over.nodes
        ),
    )
    .at(crate::diagnostics::Location::at_byte(&source, range.start, end))
    .help("a $ref or combinator that names the same subschema several times multiplies at every level; reference a shared definition once per level, or merge the branches into one subschema");
    let name = path
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_default();
    SchemaError::FanOut {
        path: path.into(),
        invalid: crate::error::Invalid::new(format!("1 problem in {name}"))
            .with_hint("SECURITY.md (Limits) documents the schema expansion budget")
            .with_diagnostics(vec![d]),
    }
}

/// A compiled chart schema.
pub struct Schema {
    validator: jsonschema::Validator,
    doc: Value,
}

impl Schema {
    /// Load `<chart>/values.schema.json`; `None` when the chart has no schema (Helm skips validation).
    pub fn load(chart_dir: &Path) -> Result<Option<Schema>, SchemaError> {
        let path = chart_dir.join("values.schema.json");
        let text = match crate::fsutil::read_to_string_limited(&path, MAX_SCHEMA_BYTES) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => return Err(SchemaError::Read { path, source }),
        };
        let doc: Value = serde_json::from_str(&text).map_err(|e| SchemaError::Json {
            path: path.clone(),
            message: e.to_string(),
        })?;
        // Before compiling: the validator has no evaluation budget of its own.
        if let Err(over) = super::fanout::analyse(&doc, super::fanout::MAX_EXPANSION) {
            return Err(fan_out_error(&path, &text, &over));
        }
        Self::compile(doc, &path).map(Some)
    }

    /// Compile a schema document (offline: remote references are an error).
    pub fn compile(doc: Value, path: &Path) -> Result<Schema, SchemaError> {
        // Patterns as Go's `regexp` reads them (Helm 4 evaluates them with it): one that Go
        // refuses makes Helm 4 refuse the schema; `\s`/`\S` are ASCII in Go.
        let mut compiled_doc = doc.clone();
        if let Err((pointer, pattern)) = go_patterns(&mut compiled_doc, &mut String::new()) {
            return Err(SchemaError::Compile {
                path: path.into(),
                message: format!(
                    "the pattern `{pattern}` at {pointer} is not a regular expression Helm accepts \
                     (Helm 4 evaluates patterns with Go's regexp: RE2 syntax, no look-around, no \
                     backreferences, no `\\c` control escapes, repetition counts up to 1000)"
                ),
            });
        }
        // The draft is the one `$schema` names (2020-12 without one), as in Helm 4; formats are
        // asserted the way Helm 4's library asserts them (drafts 4–7 only, its own rules); patterns
        // run on the `regex` crate, an RE2 dialect like Go's `regexp`.
        let draft = Draft::default().detect(&doc);
        let assert_formats = matches!(draft, Draft::Draft4 | Draft::Draft6 | Draft::Draft7);
        let mut options = jsonschema::options()
            .offline()
            .should_validate_formats(assert_formats)
            .with_pattern_options(jsonschema::PatternOptions::regex())
            // Helm 4's library treats `contentMediaType`/`contentEncoding` as annotations only.
            .without_content_media_type_support("application/json")
            .without_content_encoding_support("base64");
        if assert_formats {
            for (name, check) in super::formats::HELM_FORMATS {
                options = options.with_format(*name, *check);
            }
            for name in super::formats::UNKNOWN_TO_HELM {
                options = options.with_format(*name, |_: &str| true);
            }
        }
        let validator = options
            .build(&compiled_doc)
            .map_err(|e| SchemaError::Compile {
                path: path.into(),
                message: format!("{e} (appkit resolves references inside the schema only; it never downloads a remote $ref)"),
            })?;
        Ok(Schema { validator, doc })
    }

    /// The schema document as written (before Go-pattern translation).
    pub fn doc(&self) -> &Value {
        &self.doc
    }

    /// True when the JSON values pass.
    #[cfg(test)]
    pub fn is_valid(&self, json: &Value) -> bool {
        self.validator.is_valid(json)
    }

    /// Every schema error of one app's coalesced values, as diagnostics.
    pub fn check(&self, app: &AppValues) -> Vec<Diagnostic> {
        let mut out = Vec::new();
        for err in self.validator.iter_errors(&app.json) {
            self.describe(&err, app, &mut out);
        }
        out
    }

    fn describe(&self, err: &ValidationError<'_>, app: &AppValues, out: &mut Vec<Diagnostic>) {
        let path = pointer_segments(&err.instance_path().to_string());
        let schema_path = err.schema_path().to_string();
        let node = app.merged.at(path.iter().map(String::as_str));
        let field = display_path(&path);
        match err.kind() {
            ValidationErrorKind::AdditionalProperties { unexpected }
            | ValidationErrorKind::UnevaluatedProperties { unexpected } => {
                let allowed = self.allowed_keys(&schema_path);
                // One lookup table for the mapping (thousands of unknown keys stay linear).
                let children: HashMap<&str, &Node> = node
                    .and_then(Node::as_map)
                    .map(|m| m.iter().map(|(k, v)| (k.as_str(), v)).collect())
                    .unwrap_or_default();
                let where_ = if path.is_empty() {
                    "at the top level".to_string()
                } else {
                    format!("in `{field}`")
                };
                let allowed_list = if allowed.is_empty() {
                    "no keys are allowed here".to_string()
                } else {
                    format!("allowed keys: {}", allowed.join(", "))
                };
                for (n, key) in unexpected.iter().enumerate() {
                    let mut child_path = path.clone();
                    child_path.push(key.clone());
                    let child = children.get(key.as_str()).copied();
                    let mut d =
                        Diagnostic::error("schema", format!("unknown key `{key}` {where_}"));
                    d.path = Some(to_pointer(&child_path));
                    let mut help = String::new();
                    // "Did you mean" for the first keys of a mapping only: thousands of unknown
                    // keys are not typos, and the comparisons are the costliest part.
                    if n < MAX_SUGGESTIONS {
                        if let Some(best) = closest(key, &allowed) {
                            help.push_str(&format!("did you mean `{best}`? "));
                        }
                    }
                    help.push_str(&allowed_list);
                    d.help = Some(help);
                    out.push(app.place(d, child.map(|c| c.key.unwrap_or(c.pos))));
                }
            }
            ValidationErrorKind::Required { property } => {
                let prop = property
                    .as_str()
                    .map(str::to_string)
                    .unwrap_or_else(|| property.to_string());
                let message = if path.is_empty() {
                    format!("the values are missing the required key `{prop}`")
                } else {
                    format!("`{field}` is missing the required key `{prop}`")
                };
                let mut d = Diagnostic::error("schema", message);
                let desc = self.description(&format!(
                    "{}/properties/{prop}",
                    parent_pointer(&schema_path)
                ));
                d.help = Some(match desc {
                    Some(desc) => format!("add `{prop}:` ({desc})"),
                    None => format!("add `{prop}:`"),
                });
                let mut child = path.clone();
                child.push(prop.clone());
                let child_ptr = to_pointer(&child);
                d.path = Some(to_pointer(&path));
                // Removed by a `null` in an app file? Point at that line.
                if let Some((_, pos)) = app.removed.iter().find(|(p, _)| *p == child_ptr) {
                    d.message = format!(
                        "{} (the app file sets it to null, which removes the chart's default)",
                        d.message
                    );
                    out.push(app.place(d, Some(*pos)));
                    return;
                }
                out.push(app.place_default_note(d, node.map(|n| n.key.unwrap_or(n.pos))));
            }
            ValidationErrorKind::Type { kind } => {
                let expected = expected_words(kind);
                let (given, hint) = match node {
                    Some(n) => given_and_hint(n, app.raw(n), kind),
                    None => ("a different value".into(), None),
                };
                let mut d = Diagnostic::error(
                    "schema",
                    format!("`{field}` must be {expected}, but it is {given}"),
                );
                d.path = Some(to_pointer(&path));
                d.help = hint.or_else(|| {
                    self.description(&parent_pointer(&schema_path))
                        .map(|s| format!("`{field}`: {s}"))
                });
                out.push(app.place_default_note(d, node.map(|n| n.pos)));
            }
            ValidationErrorKind::Pattern { pattern } => {
                let mut d =
                    Diagnostic::error("schema", format!("`{field}` is not in the expected format"));
                d.path = Some(to_pointer(&path));
                d.help = Some(match self.description(&parent_pointer(&schema_path)) {
                    Some(desc) => desc,
                    None => format!("it must match the pattern `{pattern}`"),
                });
                out.push(app.place_default_note(d, node.map(|n| n.pos)));
            }
            ValidationErrorKind::Enum { options } => {
                let opts: Vec<String> = options
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .map(|v| {
                                v.as_str()
                                    .map(str::to_string)
                                    .unwrap_or_else(|| v.to_string())
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                let mut d = Diagnostic::error(
                    "schema",
                    format!("`{field}` must be one of: {}", opts.join(", ")),
                );
                d.path = Some(to_pointer(&path));
                if let Some(best) = node
                    .and_then(|n| n.as_str())
                    .and_then(|s| closest(s, &opts))
                {
                    d.help = Some(format!("did you mean `{best}`?"));
                }
                out.push(app.place_default_note(d, node.map(|n| n.pos)));
            }
            ValidationErrorKind::AnyOf { .. } | ValidationErrorKind::OneOfNotValid { .. } => {
                let mut d = Diagnostic::error(
                    "schema",
                    format!("`{field}` does not match any of the accepted forms"),
                );
                d.path = Some(to_pointer(&path));
                d.help = self.description(&parent_pointer(&schema_path));
                out.push(app.place_default_note(d, node.map(|n| n.pos)));
            }
            _ => {
                let what = err.masked().to_string();
                let mut d = Diagnostic::error("schema", format!("`{field}`: {what}"));
                d.path = Some(to_pointer(&path));
                d.help = self.description(&parent_pointer(&schema_path));
                out.push(app.place_default_note(d, node.map(|n| n.pos)));
            }
        }
    }

    /// Keys the schema allows next to an `additionalProperties` error (sorted).
    fn allowed_keys(&self, schema_path: &str) -> Vec<String> {
        let parent = parent_pointer(schema_path);
        let mut keys: Vec<String> = self
            .doc
            .pointer(&format!("{parent}/properties"))
            .and_then(Value::as_object)
            .map(|o| o.keys().cloned().collect())
            .unwrap_or_default();
        keys.sort();
        keys
    }

    fn description(&self, pointer: &str) -> Option<String> {
        self.doc
            .pointer(pointer)?
            .get("description")?
            .as_str()
            .map(str::to_string)
    }
}

/// The closest allowed word ([`crate::diagnostics::closest`]).
pub fn closest(word: &str, allowed: &[String]) -> Option<String> {
    crate::diagnostics::closest(word, allowed).map(str::to_string)
}

fn expected_words(kind: &TypeKind) -> String {
    let word = |t: JsonType| match t {
        JsonType::String => "text",
        JsonType::Integer => "a whole number",
        JsonType::Number => "a number",
        JsonType::Boolean => "true or false",
        JsonType::Array => "a list",
        JsonType::Object => "a mapping of `key: value` lines",
        JsonType::Null => "null",
    };
    match kind {
        TypeKind::Single(t) => word(*t).to_string(),
        TypeKind::Multiple(set) => set.iter().map(word).collect::<Vec<_>>().join(" or "),
    }
}

fn expects(kind: &TypeKind, t: JsonType) -> bool {
    match kind {
        TypeKind::Single(k) => *k == t,
        TypeKind::Multiple(set) => set.iter().any(|k| k == t),
    }
}

/// What the user gave (quoting the source text) and a hint for the usual YAML traps.
fn given_and_hint(n: &Node, raw: Option<&str>, kind: &TypeKind) -> (String, Option<String>) {
    let shown = raw
        .filter(|r| r.len() <= 40 && !r.contains('\n'))
        .map(str::to_string);
    let given = match &shown {
        Some(r) => format!("{} (`{r}`)", n.kind_word()),
        None => n.kind_word().to_string(),
    };
    let wants_text = expects(kind, JsonType::String);
    let wants_number = expects(kind, JsonType::Integer) || expects(kind, JsonType::Number);
    let hint = match &n.val {
        Val::Bool(b) => {
            let r = shown.clone().unwrap_or_default();
            if !matches!(
                r.as_str(),
                "true" | "false" | "True" | "False" | "TRUE" | "FALSE"
            ) && !r.is_empty()
            {
                Some(format!(
                    "YAML reads `{r}` as the boolean {b} (Helm uses YAML 1.1: yes/no/on/off/y/n are booleans); write \"{r}\" in quotes if you mean the text"
                ))
            } else if wants_text {
                Some(format!("write \"{r}\" in quotes to make it text"))
            } else {
                None
            }
        }
        Val::Num(_) if wants_text => shown
            .clone()
            .map(|r| format!("put it in quotes to make it text: \"{r}\"")),
        Val::Str(s) if wants_number && s.trim().parse::<f64>().is_ok() => Some(format!(
            "remove the quotes: write {} instead of \"{}\"",
            s.trim(),
            s
        )),
        Val::Null => Some(
            "the key has no value; give it one, or remove the line to use the chart's default"
                .into(),
        ),
        _ => None,
    };
    (given, hint)
}

/// `/a/b~1c/0` → `["a", "b/c", "0"]`.
pub fn pointer_segments(ptr: &str) -> Vec<String> {
    if ptr.is_empty() {
        return Vec::new();
    }
    ptr.trim_start_matches('/')
        .split('/')
        .map(|s| s.replace("~1", "/").replace("~0", "~"))
        .collect()
}

pub fn to_pointer(segs: &[String]) -> String {
    segs.iter()
        .map(|s| format!("/{}", s.replace('~', "~0").replace('/', "~1")))
        .collect()
}

fn parent_pointer(ptr: &str) -> String {
    match ptr.rfind('/') {
        Some(i) => ptr[..i].to_string(),
        None => String::new(),
    }
}

/// `["env", "0", "name"]` → `env[0].name`.
pub fn display_path(segs: &[String]) -> String {
    let mut s = String::new();
    for seg in segs {
        if seg.parse::<usize>().is_ok() {
            s.push_str(&format!("[{seg}]"));
        } else {
            if !s.is_empty() {
                s.push('.');
            }
            s.push_str(seg);
        }
    }
    if s.is_empty() {
        "(top level)".into()
    } else {
        s
    }
}

/// Rewrite every `pattern` and `patternProperties` key of a schema for the `regex` crate with
/// Go's semantics; `Err((pointer, pattern))` for the first one Go's `regexp` would refuse. The
/// values of `enum`, `const`, `default` and `examples` are data, not schemas: left alone.
fn go_patterns(v: &mut Value, at: &mut String) -> Result<(), (String, String)> {
    match v {
        Value::Object(map) => {
            for (k, x) in map.iter_mut() {
                let len = at.len();
                at.push('/');
                at.push_str(&k.replace('~', "~0").replace('/', "~1"));
                match (k.as_str(), &mut *x) {
                    ("enum" | "const" | "default" | "examples", _) => {}
                    ("pattern", Value::String(p)) => {
                        if !super::formats::go_regex_ok(p) {
                            return Err((at.clone(), p.clone()));
                        }
                        *p = go_to_rust_pattern(p);
                    }
                    ("patternProperties", Value::Object(props)) => {
                        let old = std::mem::take(props);
                        for (key, sub) in old {
                            if !super::formats::go_regex_ok(&key) {
                                return Err((at.clone(), key));
                            }
                            props.insert(go_to_rust_pattern(&key), sub);
                        }
                        go_patterns(x, at)?;
                    }
                    _ => go_patterns(x, at)?,
                }
                at.truncate(len);
            }
            Ok(())
        }
        Value::Array(a) => {
            for (i, x) in a.iter_mut().enumerate() {
                let len = at.len();
                at.push_str(&format!("/{i}"));
                go_patterns(x, at)?;
                at.truncate(len);
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

/// Go's `\s` is `[\t\n\f\r ]` (ASCII only; ECMAScript's and the `regex` crate's are Unicode).
/// `\d` and `\w` are already ASCII after jsonschema's ECMAScript translation.
fn go_to_rust_pattern(p: &str) -> String {
    const SPACE: &str = "\\t\\n\\f\\r ";
    let mut out = String::with_capacity(p.len());
    let mut chars = p.chars();
    let mut in_class = false;
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some('s') if in_class => out.push_str(SPACE),
                Some('s') => out.push_str(&format!("[{SPACE}]")),
                Some('S') if !in_class => out.push_str(&format!("[^{SPACE}]")),
                Some(n) => {
                    out.push('\\');
                    out.push(n);
                }
                None => out.push('\\'),
            },
            '[' if !in_class => {
                in_class = true;
                out.push(c);
                // `[]…]` and `[^]…]`: a `]` first in a class is a literal.
                let rest = chars.as_str();
                let skip = if rest.starts_with("^]") {
                    2
                } else if rest.starts_with(']') {
                    1
                } else {
                    0
                };
                for _ in 0..skip {
                    if let Some(n) = chars.next() {
                        out.push(n);
                    }
                }
            }
            ']' if in_class => {
                in_class = false;
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remote_refs_are_refused() {
        let doc = serde_json::json!({"$ref": "https://example.com/schema.json"});
        let err = Schema::compile(doc, Path::new("s.json"))
            .err()
            .expect("must fail");
        assert!(err.to_string().contains("never downloads"), "{err}");
    }

    #[test]
    fn draft_defaults_to_2020_12() {
        // `prefixItems` exists only in 2019-09+/2020-12; with draft 7 it would be ignored.
        let doc = serde_json::json!({"properties": {"a": {"prefixItems": [{"type": "string"}]}}});
        let s = Schema::compile(doc, Path::new("s.json")).unwrap();
        assert!(!s.is_valid(&serde_json::json!({"a": [1]})));
    }

    #[test]
    fn paths_display_for_humans() {
        assert_eq!(
            display_path(&pointer_segments("/env/0/name")),
            "env[0].name"
        );
        assert_eq!(to_pointer(&["a/b".into()]), "/a~1b");
        assert_eq!(
            closest("imagee", &["image".into(), "port".into()]).as_deref(),
            Some("image")
        );
    }
}
