//! The chart's `values.schema.json`: compiled once, checked against each app's coalesced values,
//! and every error turned into a diagnostic that points at the line that supplied the value.
//!
//! The draft comes from `$schema`; without one it is 2020-12, as in Helm ≥ 3.18.5 and Helm 4.
//! `format` is asserted as Helm 4 asserts it (`formats.rs`); `tests/schema_suite.rs` compares
//! every case of the JSON-Schema-Test-Suite with real Helm 4.
//! References are resolved offline only: a remote `$ref` (http, https, file) makes loading fail —
//! appkit never fetches anything while validating (Helm's CVE-2025-55199 class of problems).
//!
//! Where an error points: the value at the error's instance path; for `additionalProperties`,
//! `propertyNames` and `false` schemas the key itself; for `required` the mapping that lacks the
//! key (its key line), for `dependentRequired` the key that asks for the missing one. Messages are
//! written for app owners: unknown keys list the allowed keys (and `keys matching /re/` for
//! `patternProperties`) and the closest match, type errors say what was given and what is expected
//! (with YAML 1.1 hints: `yes` is a boolean, `"8080"` is text), pattern errors quote the schema's
//! `description` of the field, enums and consts quote text (`"gold"`), `not: {enum: […]}` names
//! the reserved values, `contains` says which item the list lacks, and a key that
//! `unevaluatedProperties: {…}` lets in is checked against that subschema and reported like any
//! other field. A value is quoted only from its source text, never when it is a secret.
//!
//! A schema that cannot be compiled is a `schema-invalid` diagnostic at its own file:line:col
//! (the JSON pointer located in the text), saying why; only a remote `$ref` says that appkit never
//! downloads one.

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
    /// The schema is not one Helm can compile; its source carries the diagnostic at the
    /// schema's file:line:col (exit 1).
    #[error("the chart schema {} cannot be compiled", path.display())]
    Compile {
        path: PathBuf,
        #[source]
        invalid: crate::error::Invalid,
    },
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

/// A schema that cannot be compiled: the diagnostic at the JSON `pointer`'s file:line:col in
/// the schema's `text` (the file only without it).
fn compile_error(path: &Path, text: Option<&str>, pointer: &str, d: Diagnostic) -> SchemaError {
    let location = match text {
        Some(text) => {
            let source = crate::diagnostics::SourceFile::new(path, text);
            let range = super::fanout::locate(text, pointer).unwrap_or(0..0);
            // Carets on the first line of the subschema only (it may span the whole file).
            let end = text[range.clone()]
                .find('\n')
                .map_or(range.end, |i| range.start + i);
            crate::diagnostics::Location::at_byte(&source, range.start, end)
        }
        None => crate::diagnostics::Location::file_only(path),
    };
    let name = path
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_default();
    SchemaError::Compile {
        path: path.into(),
        invalid: crate::error::Invalid::new(format!("1 problem in {name}"))
            .with_diagnostics(vec![d.at(location)]),
    }
}

/// Why jsonschema refused to compile the schema, for the chart's author, and where (a JSON
/// pointer into the schema).
fn compile_diagnostic(e: &ValidationError<'_>, doc: &Value) -> (String, Diagnostic) {
    let refs = || {
        let mut all = Vec::new();
        collect_refs(doc, &mut String::new(), &mut all);
        all
    };
    let shown = |pointer: &str| {
        if pointer.is_empty() {
            "the schema".to_string()
        } else {
            format!("`#{pointer}`")
        }
    };
    if let ValidationErrorKind::Referencing(r) = e.kind() {
        use jsonschema::ReferencingError as R;
        let found = |hit: &dyn Fn(&str) -> bool| {
            refs().into_iter().find(|(_, r)| hit(r)).unwrap_or_default()
        };
        return match r {
            R::Unretrievable { uri, .. } => {
                let (at, reference) = found(&|r: &str| {
                    let doc_part = r.split('#').next().unwrap_or_default();
                    r == uri || (!doc_part.is_empty() && uri.ends_with(doc_part))
                });
                let reference = if reference.is_empty() {
                    uri.clone()
                } else {
                    reference
                };
                (
                    at,
                    Diagnostic::error(
                        "schema-invalid",
                        format!("the reference `$ref: {reference}` points outside the schema file"),
                    )
                    .help(
                        "appkit resolves references inside the schema only; it never downloads a \
                         remote $ref. Copy the referenced schema into `$defs` and refer to it as \
                         `#/$defs/NAME`",
                    ),
                )
            }
            R::PointerToNowhere { pointer } => {
                let (at, reference) = found(&|r: &str| {
                    r.split_once('#').is_some_and(|(_, f)| {
                        f == pointer || super::fanout::percent_decode(f) == *pointer
                    })
                });
                let reference = if reference.is_empty() {
                    format!("#{pointer}")
                } else {
                    reference
                };
                (
                    at,
                    Diagnostic::error(
                        "schema-invalid",
                        format!(
                            "the reference `$ref: {reference}` points at nothing: the schema has no `#{pointer}`"
                        ),
                    )
                    .help("correct the reference, or add the definition it names"),
                )
            }
            R::NoSuchAnchor { anchor } | R::InvalidAnchor { anchor } => {
                let (at, reference) =
                    found(&|r: &str| r.split_once('#').is_some_and(|(_, f)| f == anchor));
                (
                    at,
                    Diagnostic::error(
                        "schema-invalid",
                        format!(
                            "the reference `$ref: {reference}` points at nothing: the schema has no `$anchor: {anchor}`"
                        ),
                    )
                    .help("correct the reference, or add the `$anchor` it names"),
                )
            }
            other => (
                String::new(),
                Diagnostic::error(
                    "schema-invalid",
                    format!("the schema cannot be read: {other}"),
                ),
            ),
        };
    }
    // The schema is not valid against its draft's meta-schema: the instance is the schema itself.
    let pointer = e.instance_path().to_string();
    let segs = pointer_segments(&pointer);
    let d = match (segs.last().map(String::as_str), e.instance().as_ref()) {
        (Some("type"), Value::String(t)) => Diagnostic::error(
            "schema-invalid",
            format!("{}: `{t}` is not a type JSON Schema knows", shown(&pointer)),
        )
        .help("a type is one of: array, boolean, integer, null, number, object, string"),
        _ => Diagnostic::error(
            "schema-invalid",
            format!("{} is not valid JSON Schema: {e}", shown(&pointer)),
        ),
    };
    (pointer, d)
}

/// Every `$ref` of a schema document: (JSON pointer of the `$ref` value, the reference).
fn collect_refs(v: &Value, at: &mut String, out: &mut Vec<(String, String)>) {
    match v {
        Value::Object(map) => {
            for (k, x) in map {
                if matches!(k.as_str(), "enum" | "const" | "default" | "examples") {
                    continue;
                }
                let len = at.len();
                at.push('/');
                at.push_str(&k.replace('~', "~0").replace('/', "~1"));
                match (k.as_str(), x) {
                    ("$ref", Value::String(r)) => out.push((at.clone(), r.clone())),
                    _ => collect_refs(x, at, out),
                }
                at.truncate(len);
            }
        }
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                let len = at.len();
                at.push_str(&format!("/{i}"));
                collect_refs(x, at, out);
                at.truncate(len);
            }
        }
        _ => {}
    }
}

/// A compiled chart schema.
pub struct Schema {
    validator: jsonschema::Validator,
    /// The schema as written: descriptions, keys and patterns as the chart's author wrote them.
    doc: Value,
    /// What `validator` was built from (patterns rewritten for Go's semantics) and its draft:
    /// a subschema is validated on its own against it (see [`Schema::sub_validator`]).
    compiled: Value,
    draft: Draft,
    /// Validators of single subschemas, by JSON pointer (`None`: it cannot be built alone).
    subs: std::sync::Mutex<HashMap<String, Option<std::sync::Arc<jsonschema::Validator>>>>,
}

/// The URI the compiled schema is registered under when one of its subschemas is validated alone.
const SELF_URI: &str = "urn:appkit:values-schema";

/// Validation options as Helm 4 validates: offline, formats asserted for drafts ≤ 7 with Helm's
/// rules, patterns on the `regex` crate, content keywords as annotations.
/// `force`: use `draft` even though the schema has no `$schema` (a subschema's wrapper).
fn options<'a>(draft: Draft, force: bool) -> jsonschema::ValidationOptions<'a> {
    let assert_formats = matches!(draft, Draft::Draft4 | Draft::Draft6 | Draft::Draft7);
    let mut options = jsonschema::options();
    if force {
        options = options.with_draft(draft);
    }
    let mut options = options
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
    options
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
        Self::compile_text(doc, &path, Some(&text)).map(Some)
    }

    /// Compile a schema document (offline: remote references are an error).
    pub fn compile(doc: Value, path: &Path) -> Result<Schema, SchemaError> {
        Self::compile_text(doc, path, None)
    }

    /// Compile a schema document; with its `text`, a compile error points at its line.
    fn compile_text(doc: Value, path: &Path, text: Option<&str>) -> Result<Schema, SchemaError> {
        // Patterns as Go's `regexp` reads them (Helm 4 evaluates them with it): one that Go
        // refuses makes Helm 4 refuse the schema; `\s`/`\S` are ASCII in Go.
        let mut compiled = doc.clone();
        if let Err((pointer, pattern)) = go_patterns(&mut compiled, &mut String::new()) {
            let d = Diagnostic::error(
                "schema-invalid",
                format!("the pattern `{pattern}` is not a regular expression Helm accepts"),
            )
            .help(
                "Helm 4 evaluates patterns with Go's regexp: RE2 syntax, no look-around, no \
                 backreferences, no `\\c` control escapes, repetition counts up to 1000",
            );
            return Err(compile_error(path, text, &pointer, d));
        }
        // The draft is the one `$schema` names (2020-12 without one), as in Helm 4; formats are
        // asserted the way Helm 4's library asserts them (drafts 4–7 only, its own rules); patterns
        // run on the `regex` crate, an RE2 dialect like Go's `regexp`.
        let draft = Draft::default().detect(&doc);
        let validator = match options(draft, false).build(&compiled) {
            Ok(v) => v,
            Err(e) => {
                let (pointer, d) = compile_diagnostic(&e, &doc);
                return Err(compile_error(path, text, &pointer, d));
            }
        };
        Ok(Schema {
            validator,
            doc,
            compiled,
            draft,
            subs: Default::default(),
        })
    }

    /// A validator of the subschema at `pointer` alone (its `$ref`s resolve in the whole schema).
    fn sub_validator(&self, pointer: &str) -> Option<std::sync::Arc<jsonschema::Validator>> {
        let mut subs = self.subs.lock().unwrap_or_else(|e| e.into_inner());
        subs.entry(pointer.to_string())
            .or_insert_with(|| {
                let registry = jsonschema::Registry::new()
                    .add(SELF_URI, self.draft.create_resource(self.compiled.clone()))
                    .ok()?
                    .prepare()
                    .ok()?;
                let wrapper = serde_json::json!({ "$ref": format!("{SELF_URI}#{pointer}") });
                options(self.draft, true)
                    .with_registry(&registry)
                    .build(&wrapper)
                    .ok()
                    .map(std::sync::Arc::new)
            })
            .clone()
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
            let path = pointer_segments(&err.instance_path().to_string());
            self.describe(&err, path, app, &mut out);
        }
        out
    }

    /// One error as diagnostics; `path` is where its instance is in the app's values.
    fn describe(
        &self,
        err: &ValidationError<'_>,
        path: Vec<String>,
        app: &AppValues,
        out: &mut Vec<Diagnostic>,
    ) {
        let schema_path = err.schema_path().to_string();
        let node = app.merged.at(path.iter().map(String::as_str));
        let field = display_path(&path);
        let where_ = if path.is_empty() {
            "at the top level".to_string()
        } else {
            format!("in `{field}`")
        };
        let given = node.and_then(|n| shown_raw(app, n));
        let parent = parent_pointer(&schema_path);
        match err.kind() {
            ValidationErrorKind::AdditionalProperties { unexpected }
            | ValidationErrorKind::UnevaluatedProperties { unexpected } => {
                let allowed = self.allowed_keys(&schema_path);
                let names: Vec<String> = allowed
                    .iter()
                    .filter(|k| !k.starts_with("keys matching "))
                    .cloned()
                    .collect();
                // `unevaluatedProperties` with a subschema: the keys it reports are allowed, but
                // their values fail that subschema.
                let rule = match err.kind() {
                    ValidationErrorKind::UnevaluatedProperties { .. } => self
                        .doc
                        .pointer(&schema_path)
                        .filter(|v| !matches!(v, Value::Bool(false))),
                    _ => None,
                };
                // One lookup table for the mapping (thousands of unknown keys stay linear).
                let children: HashMap<&str, &Node> = node
                    .and_then(Node::as_map)
                    .map(|m| m.iter().map(|(k, v)| (k.as_str(), v)).collect())
                    .unwrap_or_default();
                let allowed_list = if allowed.is_empty() {
                    "no keys are allowed here".to_string()
                } else {
                    format!("allowed keys: {}", allowed.join(", "))
                };
                for (n, key) in unexpected.iter().enumerate() {
                    let mut child_path = path.clone();
                    child_path.push(key.clone());
                    let child = children.get(key.as_str()).copied();
                    if rule.is_some() {
                        self.describe_other_key(&schema_path, child_path, &allowed, app, out);
                        continue;
                    }
                    let mut d =
                        Diagnostic::error("schema", format!("unknown key `{key}` {where_}"));
                    d.path = Some(to_pointer(&child_path));
                    let mut help = String::new();
                    // "Did you mean" for the first keys of a mapping only: thousands of unknown
                    // keys are not typos, and the comparisons are the costliest part.
                    if n < MAX_SUGGESTIONS {
                        if let Some(best) = closest(key, &names) {
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
                let desc = self.description(&format!("{parent}/properties/{prop}"));
                let add = match desc {
                    Some(desc) => format!("add `{prop}:` ({desc})"),
                    None => format!("add `{prop}:`"),
                };
                let mut child = path.clone();
                child.push(prop.clone());
                let child_ptr = to_pointer(&child);
                // `dependentRequired` (draft 7: `dependencies` with a list): another key asks
                // for this one. Point at that key.
                if let Some((trigger, at)) = self.dependent_trigger(&schema_path, node, &prop) {
                    let message = if path.is_empty() {
                        format!("the values set `{trigger}`, so they must also set `{prop}`")
                    } else {
                        format!("`{field}` sets `{trigger}`, so it must also set `{prop}`")
                    };
                    let mut d = Diagnostic::error("schema", message);
                    d.help = Some(format!("{add}, or remove `{trigger}:`"));
                    d.path = Some(child_ptr);
                    out.push(app.place_default_note(d, Some(at)));
                    return;
                }
                let message = if path.is_empty() {
                    format!("the values are missing the required key `{prop}`")
                } else {
                    format!("`{field}` is missing the required key `{prop}`")
                };
                let mut d = Diagnostic::error("schema", message);
                d.help = Some(add);
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
                d.help =
                    hint.or_else(|| self.description(&parent).map(|s| format!("`{field}`: {s}")));
                out.push(app.place_default_note(d, node.map(|n| n.pos)));
            }
            ValidationErrorKind::Pattern { pattern } => {
                let mut d =
                    Diagnostic::error("schema", format!("`{field}` is not in the expected format"));
                d.path = Some(to_pointer(&path));
                d.help = Some(match self.description(&parent) {
                    Some(desc) => desc,
                    None => format!("it must match the pattern `{pattern}`"),
                });
                out.push(app.place_default_note(d, node.map(|n| n.pos)));
            }
            ValidationErrorKind::MinLength { limit } | ValidationErrorKind::MaxLength { limit } => {
                let (least, s) = (
                    matches!(err.kind(), ValidationErrorKind::MinLength { .. }),
                    if *limit == 1 { "" } else { "s" },
                );
                let bound = if least { "at least" } else { "at most" };
                let mut d = Diagnostic::error(
                    "schema",
                    format!("`{field}` must be {bound} {limit} character{s} long"),
                );
                d.path = Some(to_pointer(&path));
                d.help = self.description(&parent);
                out.push(app.place_default_note(d, node.map(|n| n.pos)));
            }
            ValidationErrorKind::Enum { options } => {
                let opts: &[Value] = options.as_array().map_or(&[], Vec::as_slice);
                let mut d = Diagnostic::error(
                    "schema",
                    match opts {
                        [] => format!(
                            "`{field}` cannot be set: the chart's schema lists no value it accepts"
                        ),
                        [one] => format!("`{field}` must be {}", shown(one)),
                        _ => format!("`{field}` must be one of: {}", shown_list(opts, ", ")),
                    },
                );
                d.path = Some(to_pointer(&path));
                let words: Vec<String> = opts
                    .iter()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect();
                d.help = match node
                    .and_then(|n| n.as_str())
                    .and_then(|s| closest(s, &words))
                {
                    Some(best) => Some(format!("did you mean \"{best}\"?")),
                    None if opts.is_empty() => Some(format!(
                        "remove `{}:`; the chart's schema has an empty `enum` for it",
                        path.last().map_or("it", String::as_str)
                    )),
                    None => self.description(&parent),
                };
                out.push(app.place_default_note(d, node.map(|n| n.pos)));
            }
            ValidationErrorKind::Constant { expected_value } => {
                let mut d = Diagnostic::error(
                    "schema",
                    format!("`{field}` must be {}", shown(expected_value)),
                );
                d.path = Some(to_pointer(&path));
                d.help = self.description(&parent);
                out.push(app.place_default_note(d, node.map(|n| n.pos)));
            }
            ValidationErrorKind::Not { schema } => {
                let it_is = given.as_deref().map(|g| format!(" (it is `{g}`)"));
                let message = match schema.get("enum").and_then(Value::as_array) {
                    // Reserved values: `not: {enum: [...]}`; the value is one of them (as the
                    // schema writes it), shown unless it is a secret.
                    Some(list) if list.len() > 1 => match given
                        .as_ref()
                        .and_then(|_| list.iter().find(|v| *v == err.instance().as_ref()))
                    {
                        Some(g) => format!(
                            "`{field}` must not be {}: the chart reserves {}",
                            shown(g),
                            shown_list(list, ", ")
                        ),
                        None => format!(
                            "`{field}` must not be one of the values the chart reserves: {}",
                            shown_list(list, ", ")
                        ),
                    },
                    Some(list) if list.len() == 1 => {
                        format!("`{field}` must not be {}", shown(&list[0]))
                    }
                    _ => match (schema.get("const"), schema_words(schema)) {
                        (Some(c), _) => format!("`{field}` must not be {}", shown(c)),
                        (None, Some(words)) => {
                            format!("`{field}` must not be {words}{}", it_is.unwrap_or_default())
                        }
                        (None, None) => {
                            format!("`{field}` has a value the chart's schema rules out here")
                        }
                    },
                };
                let mut d = Diagnostic::error("schema", message);
                d.path = Some(to_pointer(&path));
                d.help = self.description(&parent);
                out.push(app.place_default_note(d, node.map(|n| n.pos)));
            }
            ValidationErrorKind::Contains => {
                let keyword = schema_path.rsplit('/').next().unwrap_or_default();
                let count = |k: &str| {
                    self.doc
                        .pointer(&format!("{parent}/{k}"))
                        .and_then(Value::as_u64)
                };
                let sub = self.doc.pointer(&format!("{parent}/contains"));
                let (bound, n) = match keyword {
                    "maxContains" => ("at most", count("maxContains").unwrap_or(0)),
                    _ => ("at least", count("minContains").unwrap_or(1)),
                };
                let items = match (n, bound) {
                    (1, "at least") => "at least one item".to_string(),
                    (1, _) => format!("{bound} one item"),
                    (n, _) => format!("{bound} {n} items"),
                };
                let message = match sub.and_then(schema_words) {
                    Some(words) => format!(
                        "`{field}` must contain {items} that {} {words}",
                        if n == 1 { "is" } else { "are" }
                    ),
                    None => {
                        format!("`{field}` must contain {items} of the kind the chart asks for")
                    }
                };
                let mut d = Diagnostic::error("schema", message);
                d.path = Some(to_pointer(&path));
                d.help = self
                    .description(&format!("{parent}/contains"))
                    .or_else(|| self.description(&parent));
                out.push(app.place_default_note(d, node.map(|n| n.pos)));
            }
            ValidationErrorKind::FalseSchema => {
                let last = path.last().map(String::as_str);
                let (message, help) = match last {
                    None => (
                        "the chart's schema accepts no values at all (it is `false`)".to_string(),
                        "the chart's values.schema.json must be fixed by its authors".to_string(),
                    ),
                    Some(i) if i.parse::<usize>().is_ok() => (
                        format!("`{field}` is not allowed: the chart accepts no item at this position of the list"),
                        "remove this item".to_string(),
                    ),
                    Some(key) => (
                        format!("`{field}` is not allowed: the chart accepts no value for it"),
                        format!("remove `{key}:`"),
                    ),
                };
                let mut d = Diagnostic::error("schema", message);
                d.path = Some(to_pointer(&path));
                d.help = Some(help);
                out.push(app.place_default_note(d, node.map(|n| n.key.unwrap_or(n.pos))));
            }
            ValidationErrorKind::PropertyNames { error } => {
                let key = error
                    .instance()
                    .as_str()
                    .map(str::to_string)
                    .unwrap_or_else(|| error.instance().to_string());
                let names = parent_pointer(&error.schema_path().to_string());
                let desc = self.description(&names);
                let reason = match error.kind() {
                    ValidationErrorKind::Pattern { pattern } => {
                        format!("key names here must match the pattern `{pattern}`")
                    }
                    ValidationErrorKind::MaxLength { limit } => {
                        format!("key names here can be at most {limit} characters long")
                    }
                    ValidationErrorKind::MinLength { limit } => {
                        format!("key names here must be at least {limit} characters long")
                    }
                    ValidationErrorKind::Enum { options } => {
                        match options.as_array().map_or(&[][..], Vec::as_slice) {
                            [] => "no key names are accepted here".to_string(),
                            list => {
                                format!("key names here must be one of: {}", shown_list(list, ", "))
                            }
                        }
                    }
                    ValidationErrorKind::Constant { expected_value } => {
                        format!(
                            "the only key name allowed here is {}",
                            shown(expected_value)
                        )
                    }
                    ValidationErrorKind::FalseSchema => "no keys are allowed here".to_string(),
                    ValidationErrorKind::Format { format } => {
                        format!("key names here must be in the `{format}` format")
                    }
                    _ => format!("the chart's schema refuses it: {}", error.masked()),
                };
                let mut child_path = path.clone();
                child_path.push(key.clone());
                let child = node
                    .and_then(Node::as_map)
                    .and_then(|m| m.iter().find(|(k, _)| *k == key))
                    .map(|(_, c)| c);
                let mut d = Diagnostic::error(
                    "schema",
                    format!("`{key}` is not an accepted key name {where_}"),
                );
                d.path = Some(to_pointer(&child_path));
                d.help = Some(match desc {
                    Some(desc) => format!("{reason} ({desc})"),
                    None => reason,
                });
                out.push(app.place_default_note(d, child.or(node).map(|c| c.key.unwrap_or(c.pos))));
            }
            ValidationErrorKind::AnyOf { .. } | ValidationErrorKind::OneOfNotValid { .. } => {
                let mut d = Diagnostic::error(
                    "schema",
                    format!("`{field}` does not match any of the accepted forms"),
                );
                d.path = Some(to_pointer(&path));
                d.help = self.description(&parent);
                out.push(app.place_default_note(d, node.map(|n| n.pos)));
            }
            _ => {
                let what = err.masked().to_string();
                let mut d = Diagnostic::error("schema", format!("`{field}`: {what}"));
                d.path = Some(to_pointer(&path));
                d.help = self.description(&parent);
                out.push(app.place_default_note(d, node.map(|n| n.pos)));
            }
        }
    }

    /// A key that `unevaluatedProperties: {…}` (at `rule`) lets in but whose value fails that
    /// subschema: what is wrong with the value, said as for any other field.
    fn describe_other_key(
        &self,
        rule: &str,
        child_path: Vec<String>,
        allowed: &[String],
        app: &AppValues,
        out: &mut Vec<Diagnostic>,
    ) {
        let key = child_path.last().cloned().unwrap_or_default();
        let note = if allowed.is_empty() {
            "every key here must follow the chart's rule for extra keys".to_string()
        } else {
            format!(
                "`{key}` is not one of the listed keys ({}), so it must follow the chart's rule for other keys",
                allowed.join(", ")
            )
        };
        let first = out.len();
        let value = app.json.pointer(&to_pointer(&child_path));
        if let (Some(v), Some(value)) = (self.sub_validator(rule), value) {
            for e in v.iter_errors(value) {
                let mut p = child_path.clone();
                p.extend(pointer_segments(&e.instance_path().to_string()));
                self.describe(&e, p, app, out);
            }
        }
        if out.len() == first {
            let node = app.merged.at(child_path.iter().map(String::as_str));
            let mut d = Diagnostic::error(
                "schema",
                format!(
                    "`{}` has a value the chart does not accept",
                    display_path(&child_path)
                ),
            );
            d.path = Some(to_pointer(&child_path));
            out.push(app.place_default_note(d, node.map(|n| n.pos)));
        }
        for d in &mut out[first..] {
            d.help = Some(match d.help.take() {
                Some(h) => format!("{h}; {note}"),
                None => note.clone(),
            });
        }
    }

    /// For a `required` error of `dependentRequired` (or draft 7's `dependencies`) at
    /// `schema_path`: the key of the mapping that asks for `prop`, and its position.
    fn dependent_trigger(
        &self,
        schema_path: &str,
        node: Option<&Node>,
        prop: &str,
    ) -> Option<(String, super::yaml::Pos)> {
        let keyword = schema_path.rsplit('/').next()?;
        if !matches!(keyword, "dependentRequired" | "dependencies") {
            return None;
        }
        let deps = self.doc.pointer(schema_path)?.as_object()?;
        node?.as_map()?.iter().find_map(|(k, v)| {
            let wants = deps
                .get(k)?
                .as_array()?
                .iter()
                .any(|x| x.as_str() == Some(prop));
            wants.then(|| (k.clone(), v.key.unwrap_or(v.pos)))
        })
    }

    /// Keys the schema allows next to an `additionalProperties` error (sorted), then the
    /// patterns of its `patternProperties` as `keys matching /re/`.
    fn allowed_keys(&self, schema_path: &str) -> Vec<String> {
        let parent = parent_pointer(schema_path);
        let mut keys: Vec<String> = self
            .doc
            .pointer(&format!("{parent}/properties"))
            .and_then(Value::as_object)
            .map(|o| o.keys().cloned().collect())
            .unwrap_or_default();
        keys.sort();
        if let Some(patterns) = self
            .doc
            .pointer(&format!("{parent}/patternProperties"))
            .and_then(Value::as_object)
        {
            keys.extend(patterns.keys().map(|p| format!("keys matching /{p}/")));
        }
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

/// A value of the schema as an app owner reads it: text in double quotes, the rest as JSON.
fn shown(v: &Value) -> String {
    match v {
        Value::String(s) => format!("\"{s}\""),
        other => other.to_string(),
    }
}

fn shown_list(vs: &[Value], sep: &str) -> String {
    vs.iter().map(shown).collect::<Vec<_>>().join(sep)
}

/// The source text of a value, when it is short, on one line and not a secret.
fn shown_raw(app: &AppValues, n: &Node) -> Option<String> {
    app.raw(n)
        .filter(|r| !r.is_empty() && r.len() <= 40 && !r.contains('\n'))
        .map(str::to_string)
}

/// A simple subschema in words (`"prod"`, `one of: "a", "b"`, `text`); `None` when it is not
/// one of those forms.
fn schema_words(s: &Value) -> Option<String> {
    let o = s.as_object()?;
    if let Some(c) = o.get("const") {
        return Some(shown(c));
    }
    if let Some(list) = o.get("enum").and_then(Value::as_array) {
        return match list.as_slice() {
            [] => None,
            [one] => Some(shown(one)),
            many => Some(format!("one of: {}", shown_list(many, ", "))),
        };
    }
    if o.len() != 1 {
        return None;
    }
    let word = |t: &str| match t {
        "string" => Some("text"),
        "integer" => Some("a whole number"),
        "number" => Some("a number"),
        "boolean" => Some("true or false"),
        "array" => Some("a list"),
        "object" => Some("a mapping"),
        "null" => Some("null"),
        _ => None,
    };
    match o.get("type")? {
        Value::String(t) => word(t).map(str::to_string),
        Value::Array(ts) => ts
            .iter()
            .map(|t| t.as_str().and_then(word))
            .collect::<Option<Vec<_>>>()
            .map(|w| w.join(" or ")),
        _ => None,
    }
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
        let Err(SchemaError::Compile { invalid, .. }) = Schema::compile(doc, Path::new("s.json"))
        else {
            panic!("must fail to compile");
        };
        let help = invalid.diagnostics[0].help.as_deref().unwrap_or_default();
        assert!(help.contains("never downloads"), "{help}");
        // Any other reason to fail says nothing about downloads.
        let doc = serde_json::json!({"$ref": "#/$defs/missing"});
        let Err(SchemaError::Compile { invalid, .. }) = Schema::compile(doc, Path::new("s.json"))
        else {
            panic!("must fail to compile");
        };
        let d = &invalid.diagnostics[0];
        assert!(d.message.contains("points at nothing"), "{}", d.message);
        assert!(!format!("{d:?}").contains("never downloads"), "{d:?}");
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
