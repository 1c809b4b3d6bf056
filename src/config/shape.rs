//! The shape of `appkit.yaml` — which keys each mapping accepts, which are required, and what type
//! each value has — checked on saphyr's marked node tree, so that **every** unknown key (with "did
//! you mean" among the keys allowed there), wrong type, missing key and unknown rule code is
//! reported at once with its position. serde-saphyr stops at its first error and words it in
//! Rust's terms (`invalid u32`); this check speaks the file's terms ("expected an unsigned
//! integer"). serde-saphyr still deserialises the file when the shape is right: it stays the
//! authority on what the typed model accepts (and on duplicate keys and syntax errors).
//!
//! Why a hand-written table rather than a JSON Schema of `appkit.yaml` checked with `jsonschema`:
//! the table is small (one entry per field of the structs in `config.rs`), sits next to the model,
//! needs no YAML→JSON conversion that would lose positions, and lets the `rules:` keys be checked
//! against the rule registry ([`crate::rules`]) in the same walk. A test keeps it in step with the
//! serde model (the documented example and every single-problem mutation agree with serde-saphyr).
//!
//! The walk also builds a repaired JSON copy of the config (unknown keys and wrong values left
//! out), so the semantic checks can run and report their problems together with the shape's.

use std::sync::Arc;

use saphyr::{LoadableYamlNode, MarkedYaml, Scalar, YamlData};
use serde_json::{Map, Value};

use crate::diagnostics::{Diagnostic, Location, SourceFile};

/// What a value must be.
#[derive(Clone, Copy)]
enum Shape {
    /// Any scalar, read as text (names, versions, paths, durations).
    Text,
    Uint,
    Bool,
    /// `error` | `warning` | `off`
    Level,
    List(&'static Shape),
    /// Free keys (app and environment names), each value of the shape.
    Map(&'static Shape),
    /// `rules:`: keys are codes of the rule registry, values levels.
    Rules,
    Struct(&'static [Field]),
    /// A mapping of anything (chart values): only its being a mapping is checked here.
    AnyMap,
    /// A scalar read as text, or else the inner shape (`driftDetection: enabled` or a mapping).
    TextOr(&'static Shape),
}

struct Field {
    key: &'static str,
    shape: Shape,
    required: bool,
    /// An `Option` in the model: `key: ~` means "not set".
    nullable: bool,
}

const fn req(key: &'static str, shape: Shape) -> Field {
    Field {
        key,
        shape,
        required: true,
        nullable: false,
    }
}
/// A field with a serde default.
const fn opt(key: &'static str, shape: Shape) -> Field {
    Field {
        key,
        shape,
        required: false,
        nullable: false,
    }
}
/// An `Option` field.
const fn maybe(key: &'static str, shape: Shape) -> Field {
    Field {
        key,
        shape,
        required: false,
        nullable: true,
    }
}

const TEXT: Shape = Shape::Text;
const TEXTS: Shape = Shape::List(&TEXT);
const COMMON_METADATA: Shape = Shape::Struct(&[
    opt("labels", Shape::Map(&TEXT)),
    opt("annotations", Shape::Map(&TEXT)),
]);
/// `flux.driftDetection`: a mode, or `{mode, ignore}`.
const DRIFT: Shape = Shape::TextOr(&Shape::Struct(&[
    maybe("mode", TEXT),
    opt(
        "ignore",
        Shape::List(&Shape::Struct(&[
            req("paths", TEXTS),
            maybe(
                "target",
                Shape::Struct(&[
                    maybe("group", TEXT),
                    maybe("version", TEXT),
                    maybe("kind", TEXT),
                    maybe("name", TEXT),
                    maybe("namespace", TEXT),
                    maybe("labelSelector", TEXT),
                    maybe("annotationSelector", TEXT),
                ]),
            ),
        ])),
    ),
]));

/// A `nodePools` entry: a name, or `{name, allocatable: {cpu, memory}}`.
const NODE_POOL: Shape = Shape::TextOr(&Shape::Struct(&[
    req("name", TEXT),
    maybe(
        "allocatable",
        Shape::Struct(&[maybe("cpu", TEXT), maybe("memory", TEXT)]),
    ),
]));

/// `Config` in `config.rs`, field by field (camelCase as serde renames them).
const CONFIG: Shape = Shape::Struct(&[
    req(
        "chart",
        Shape::Struct(&[req("path", TEXT), req("repository", TEXT)]),
    ),
    opt(
        "apps",
        Shape::Struct(&[
            opt("dir", TEXT),
            maybe("namespace", TEXT),
            opt(
                "settings",
                Shape::Map(&Shape::Struct(&[
                    maybe("namespace", TEXT),
                    maybe("releaseName", TEXT),
                    opt("dependsOn", TEXTS),
                    maybe(
                        "flux",
                        Shape::Struct(&[
                            maybe("shard", TEXT),
                            maybe("strategy", TEXT),
                            maybe("retryInterval", TEXT),
                            maybe("driftDetection", DRIFT),
                            maybe("serviceAccountName", TEXT),
                            maybe("commonMetadata", COMMON_METADATA),
                        ]),
                    ),
                ])),
            ),
        ]),
    ),
    opt("components", TEXT),
    opt(
        "registry",
        Shape::Struct(&[
            maybe("pullSecret", TEXT),
            maybe("caSecret", TEXT),
            maybe("cosignSecret", TEXT),
            opt("insecure", Shape::Bool),
        ]),
    ),
    opt(
        "flux",
        Shape::Struct(&[
            opt("interval", TEXT),
            opt("timeout", TEXT),
            opt("retries", Shape::Uint),
            opt("driftDetection", DRIFT),
            opt("test", Shape::Bool),
            opt("createNamespace", Shape::Bool),
            opt("sourceKind", TEXT),
            opt("sources", TEXT),
            opt("shards", TEXTS),
            maybe("strategy", TEXT),
            maybe("retryInterval", TEXT),
            maybe("serviceAccountName", TEXT),
            maybe("commonMetadata", COMMON_METADATA),
            opt("version", TEXT),
        ]),
    ),
    req(
        "environments",
        Shape::Map(&Shape::Struct(&[
            req("output", TEXT),
            opt("namespace", TEXT),
            req("chartVersion", TEXT),
            opt("pins", Shape::Map(&TEXT)),
            opt("promoted", Shape::Bool),
            opt("platformValues", PLATFORM_VALUES),
            opt("kubeVersion", TEXT),
            opt("apiVersions", TEXTS),
        ])),
    ),
    opt("nodePools", Shape::List(&NODE_POOL)),
    opt("platformNamespaces", TEXTS),
    opt("rules", Shape::Rules),
    maybe("templates", TEXT),
    opt("platformValues", PLATFORM_VALUES),
    opt(
        "network",
        Shape::Struct(&[opt(
            "platformIngress",
            Shape::List(&Shape::Struct(&[
                req("namespace", TEXT),
                req("ports", TEXTS),
            ])),
        )]),
    ),
]);

/// `platformValues` (top level and per environment).
const PLATFORM_VALUES: Shape =
    Shape::Struct(&[opt("defaults", Shape::AnyMap), opt("locked", Shape::AnyMap)]);

/// The result of checking the shape.
pub(super) struct Checked {
    pub(super) diagnostics: Vec<Diagnostic>,
    /// The config with every bad part left out (`None`: nothing usable, e.g. a required key is
    /// missing at the top).
    pub(super) repaired: Option<Value>,
}

/// Check the first document of `source`; `None` when saphyr cannot load it (a syntax error or a
/// duplicate key: serde-saphyr reports those with its own position).
pub(super) fn check(source: &Arc<SourceFile>) -> Option<Checked> {
    let text = source.text.as_str();
    let docs = MarkedYaml::load_from_str(text).ok()?;
    let mut w = Walker {
        source,
        offsets: text
            .char_indices()
            .map(|(b, _)| b)
            .chain(std::iter::once(text.len()))
            .collect(),
        out: Vec::new(),
    };
    let repaired = match docs.first() {
        None => {
            w.out.push(
                Diagnostic::error("missing-key", "appkit.yaml is empty")
                    .at(Location::in_source(source, 1, 1, 0..0))
                    .help(
                        "it needs at least `chart:` and `environments:`; see docs/appkit-yaml.md",
                    ),
            );
            None
        }
        Some(doc) => {
            let at = w.loc(doc);
            w.value(doc, &CONFIG, "", &at)
        }
    };
    Some(Checked {
        diagnostics: w.out,
        repaired,
    })
}

struct Walker<'a> {
    source: &'a Arc<SourceFile>,
    /// Character index → byte offset (saphyr's markers count characters).
    offsets: Vec<usize>,
    out: Vec<Diagnostic>,
}

impl Walker<'_> {
    fn loc(&self, node: &MarkedYaml<'_>) -> Location {
        let (m, end) = (node.span.start, node.span.end);
        let byte = |i: usize| {
            self.offsets
                .get(i)
                .copied()
                .unwrap_or(self.source.text.len())
        };
        let start = byte(m.index());
        let stop = if end.line() == m.line() && end.index() > m.index() {
            byte(end.index())
        } else {
            start
        };
        Location::in_source(self.source, m.line(), m.col() + 1, start..stop)
    }

    /// Check `node` against `shape`; the repaired value, or `None` when it is unusable.
    /// `path` is the dotted path for messages; `key_at` where the node's key is.
    fn value(
        &mut self,
        node: &MarkedYaml<'_>,
        shape: &Shape,
        path: &str,
        key_at: &Location,
    ) -> Option<Value> {
        self.value_or_null(node, shape, false, path, key_at)
    }

    /// [`Self::value`]; `nullable`: a null (`key:` with nothing after it) means "not set".
    fn value_or_null(
        &mut self,
        node: &MarkedYaml<'_>,
        shape: &Shape,
        nullable: bool,
        path: &str,
        key_at: &Location,
    ) -> Option<Value> {
        let data = match &node.data {
            YamlData::Tagged(_, inner) => &inner.data,
            d => d,
        };
        if nullable && matches!(data, YamlData::Value(Scalar::Null)) {
            return None;
        }
        // Aliases are not resolved by saphyr's marked tree: serde-saphyr checks them.
        if matches!(data, YamlData::Alias(_)) {
            return None;
        }
        match (shape, data) {
            (Shape::Text, YamlData::Value(s)) if !matches!(s, Scalar::Null) => {
                Some(Value::String(match s {
                    Scalar::String(t) => t.to_string(),
                    // A plain number or boolean written where text is expected: its text as
                    // written (`1.10`, not the float 1.1), as serde-saphyr reads it.
                    _ => self.raw(node).unwrap_or_else(|| scalar_text(s)),
                }))
            }
            (Shape::Uint, YamlData::Value(Scalar::Integer(i))) if u32::try_from(*i).is_ok() => {
                Some(Value::from(*i))
            }
            // serde-saphyr also reads a quoted number into an integer field.
            (Shape::Uint, YamlData::Value(Scalar::String(t)))
                if !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()) =>
            {
                t.parse::<u32>().ok().map(Value::from).or_else(|| {
                    self.type_error(node, data, shape, path);
                    None
                })
            }
            (Shape::TextOr(_), YamlData::Value(_)) => self.value(node, &Shape::Text, path, key_at),
            (Shape::TextOr(inner), _) => self.value(node, inner, path, key_at),
            (Shape::Bool, YamlData::Value(Scalar::Boolean(b))) => Some(Value::Bool(*b)),
            // serde-saphyr reads YAML 1.1 booleans (`yes`, `on`, `n`, …), quoted or not.
            (Shape::Bool, YamlData::Value(Scalar::String(t))) if yaml11_bool(t).is_some() => {
                yaml11_bool(t).map(Value::Bool)
            }
            (Shape::Level, YamlData::Value(Scalar::String(t)))
                if ["error", "warning", "off"].contains(&t.as_ref()) =>
            {
                Some(Value::String(t.to_string()))
            }
            (Shape::Level, YamlData::Value(s)) => {
                let given = scalar_text(s);
                let mut d = Diagnostic::error(
                    "type",
                    format!("`{path}` is `{given}`; expected one of `error`, `warning`, `off`"),
                )
                .at(self.loc(node));
                if let Some(best) = closest(&given, &["error", "warning", "off"]) {
                    d = d.help(format!("did you mean `{best}`?"));
                }
                self.out.push(d);
                None
            }
            (Shape::List(item), YamlData::Sequence(items)) => {
                let mut ok = true;
                let mut out = Vec::new();
                for (i, it) in items.iter().enumerate() {
                    let at = self.loc(it);
                    match self.value(it, item, &format!("{path}[{i}]"), &at) {
                        Some(v) => out.push(v),
                        None => ok = false,
                    }
                }
                ok.then_some(Value::Array(out))
            }
            (Shape::Map(inner), YamlData::Mapping(m)) => {
                let mut out = Map::new();
                for (k, v) in m.iter() {
                    let Some(name) = self.key_name(k, path) else {
                        continue;
                    };
                    let kat = self.loc(k);
                    if let Some(v) = self.value(v, inner, &join(path, &name), &kat) {
                        out.insert(name, v);
                    }
                }
                Some(Value::Object(out))
            }
            (Shape::Rules, YamlData::Mapping(m)) => {
                let mut out = Map::new();
                for (k, v) in m.iter() {
                    let Some(code) = self.key_name(k, path) else {
                        continue;
                    };
                    let kat = self.loc(k);
                    if crate::rules::lookup(&code).is_none() {
                        let help = match crate::rules::suggest(&code) {
                            Some(best) => format!("did you mean `{best}`?"),
                            None => "`helm appkit validate --list-rules` lists every rule; see docs/rules.md".into(),
                        };
                        self.out.push(
                            Diagnostic::error(
                                "unknown-rule",
                                format!("unknown rule `{code}` in `rules`"),
                            )
                            .at(kat)
                            .help(help),
                        );
                        continue;
                    }
                    if let Some(v) = self.value(v, &Shape::Level, &join(path, &code), &kat) {
                        let fixed = crate::rules::lookup(&code).is_some_and(|r| {
                            r.default_severity == crate::rules::DefaultSeverity::Always
                        });
                        if fixed && v != "error" {
                            self.out.push(
                                Diagnostic::error(
                                    "rule-level",
                                    format!("the rule `{code}` cannot be lowered: it is always an error"),
                                )
                                .at(kat)
                                .help("remove it from `rules`; appkit never reads a file a symbolic link leads out of the platform repo to"),
                            );
                            continue;
                        }
                        out.insert(code, v);
                    }
                }
                Some(Value::Object(out))
            }
            // Chart values: what they may hold is the chart schema's business (checked with the
            // app values they are coalesced with); the semantic checks do not look inside.
            (Shape::AnyMap, YamlData::Mapping(_)) => Some(Value::Object(Map::new())),
            (Shape::Struct(fields), YamlData::Mapping(m)) => {
                let mut out = Map::new();
                let mut complete = true;
                // Required keys an unknown key's "did you mean" already names (one typo, one
                // problem).
                let mut suggested: Vec<&str> = Vec::new();
                for (k, v) in m.iter() {
                    let Some(name) = self.key_name(k, path) else {
                        continue;
                    };
                    let kat = self.loc(k);
                    match fields.iter().find(|f| f.key == name) {
                        Some(f) => match self.value_or_null(
                            v,
                            &f.shape,
                            f.nullable,
                            &join(path, &name),
                            &kat,
                        ) {
                            Some(v) => {
                                out.insert(name, v);
                            }
                            None if f.required => complete = false,
                            None => {}
                        },
                        None => {
                            let keys: Vec<&str> = fields.iter().map(|f| f.key).collect();
                            let mut help = format!("keys here: {}", keys.join(", "));
                            if let Some(best) = closest(&name, &keys) {
                                help = format!("did you mean `{best}`? {help}");
                                suggested.push(best);
                            }
                            let whereat = if path.is_empty() {
                                String::new()
                            } else {
                                format!(" in `{path}`")
                            };
                            self.out.push(
                                Diagnostic::error(
                                    "unknown-key",
                                    format!("unknown key `{name}`{whereat}"),
                                )
                                .at(kat)
                                .help(help),
                            );
                        }
                    }
                }
                for f in fields.iter().filter(|f| f.required) {
                    let present = m.iter().any(|(k, _)| key_text(k).as_deref() == Some(f.key));
                    if !present {
                        complete = false;
                        if suggested.contains(&f.key) {
                            continue;
                        }
                        let whereat = if path.is_empty() {
                            "appkit.yaml".to_string()
                        } else {
                            format!("`{path}`")
                        };
                        self.out.push(
                            Diagnostic::error(
                                "missing-key",
                                format!("{whereat} has no `{}`, which is required", f.key),
                            )
                            .at(key_at.clone())
                            .help("see docs/appkit-yaml.md for every key appkit.yaml accepts"),
                        );
                    }
                }
                complete.then_some(Value::Object(out))
            }
            (shape, _) => {
                self.type_error(node, data, shape, path);
                None
            }
        }
    }

    fn type_error<'i>(
        &mut self,
        node: &MarkedYaml<'i>,
        data: &YamlData<'i, MarkedYaml<'i>>,
        shape: &Shape,
        path: &str,
    ) {
        let what = if path.is_empty() {
            "appkit.yaml".to_string()
        } else {
            format!("`{path}`")
        };
        let d = Diagnostic::error(
            "type",
            format!(
                "{what} must be {}, found {}",
                expected(shape),
                self.found(node, data)
            ),
        )
        .at(self.loc(node));
        self.out.push(d);
    }

    /// A mapping key as text; a key that is a list or mapping is reported and skipped.
    fn key_name(&mut self, k: &MarkedYaml<'_>, path: &str) -> Option<String> {
        match key_text(k) {
            Some(n) => Some(n),
            None => {
                let what = if path.is_empty() {
                    "appkit.yaml".to_string()
                } else {
                    format!("`{path}`")
                };
                self.out.push(
                    Diagnostic::error("type", format!("a key in {what} is not a plain name"))
                        .at(self.loc(k)),
                );
                None
            }
        }
    }

    /// The source text of a scalar node on one line.
    fn raw(&self, node: &MarkedYaml<'_>) -> Option<String> {
        let l = self.loc(node);
        self.source
            .text
            .get(l.span.clone())
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
    }

    fn found<'i>(&self, node: &MarkedYaml<'i>, data: &YamlData<'i, MarkedYaml<'i>>) -> String {
        match data {
            YamlData::Sequence(_) => "a list".into(),
            YamlData::Mapping(_) => "a mapping".into(),
            YamlData::Value(s) => {
                let kind = match s {
                    Scalar::String(_) => "a string",
                    Scalar::Integer(i) if *i < 0 => "a negative integer",
                    Scalar::Integer(_) => "an integer",
                    Scalar::FloatingPoint(_) => "a number",
                    Scalar::Boolean(_) => "a boolean",
                    Scalar::Null => return "nothing (null)".into(),
                };
                let text = self.raw(node).unwrap_or_else(|| scalar_text(s));
                let text: String = text.chars().take(40).collect();
                format!("`{text}` ({kind})")
            }
            _ => "something else".into(),
        }
    }
}

fn expected(shape: &Shape) -> &'static str {
    match shape {
        Shape::Text => "a string",
        Shape::TextOr(_) => "a string or a mapping",
        Shape::Uint => "an unsigned integer (0 to 4294967295)",
        Shape::Bool => "`true` or `false`",
        Shape::Level => "one of `error`, `warning`, `off`",
        Shape::List(_) => "a list",
        Shape::Map(_) | Shape::Rules | Shape::Struct(_) | Shape::AnyMap => "a mapping",
    }
}

/// YAML 1.1 booleans as serde-saphyr reads them (case-insensitive).
fn yaml11_bool(t: &str) -> Option<bool> {
    let t = t.trim_matches([' ', '\t', '\r', '\n']).to_ascii_lowercase();
    match t.as_str() {
        "y" | "yes" | "true" | "on" => Some(true),
        "n" | "no" | "false" | "off" => Some(false),
        _ => None,
    }
}

fn key_text(k: &MarkedYaml<'_>) -> Option<String> {
    match &k.data {
        YamlData::Value(s) => Some(scalar_text(s)),
        _ => None,
    }
}

fn scalar_text(s: &Scalar<'_>) -> String {
    match s {
        Scalar::String(t) => t.to_string(),
        Scalar::Integer(i) => i.to_string(),
        Scalar::Boolean(b) => b.to_string(),
        Scalar::FloatingPoint(f) => f.to_string(),
        Scalar::Null => "null".into(),
    }
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

/// The closest of `known` to `given` ([`crate::diagnostics::closest`]).
fn closest<'k>(given: &str, known: &[&'k str]) -> Option<&'k str> {
    crate::diagnostics::closest(given, known.iter().copied())
}
