//! The Chart.yaml model: every field of Helm's `chart.Metadata` (Helm 3.17 `pkg/chart/metadata.go`,
//! identical in Helm 4.1 `pkg/chart/v2`), its checks, and the two serialisations Helm produces from it:
//!
//! * [`ChartMetadata::to_helm_config_json`] — the OCI config blob `helm push` writes: Go's
//!   `json.Marshal(chart.Metadata)` with the struct's field order, `omitempty`, sorted map keys and
//!   Go's HTML-safe string escaping, after Helm's `sanitizeString` (spaces normalised, non-printable
//!   characters dropped) that `Metadata.Validate` applies while loading a chart;
//! * [`ChartMetadata::to_chart_yaml`] — the Chart.yaml written into an archive. Like `helm package`,
//!   the archive carries a re-serialised Chart.yaml (keys sorted, unknown keys dropped), so
//!   `--version`/`--app-version` overrides are reflected and the bytes do not depend on formatting.
//!
//! Checks are stricter than Helm in two places, on purpose: the version must be strict SemVer 2
//! (Helm also accepts `v1.2` and `1.2`), and the name must be a lowercase DNS-1123-style name that
//! is also a valid OCI repository component (Helm only refuses path separators). Every problem is
//! collected with its line and column; loading never stops at the first one.
//! This module does not read the rest of the chart directory (see `archive.rs`).

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_saphyr::Spanned;

use super::ChartError;

pub const CHART_FILE: &str = "Chart.yaml";

/// One maintainer (`maintainers[]`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Maintainer {
    pub name: String,
    pub email: String,
    pub url: String,
}

/// One dependency (`dependencies[]`), Helm's `chart.Dependency`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Dependency {
    pub name: String,
    pub version: String,
    pub repository: String,
    pub condition: String,
    pub tags: Vec<String>,
    pub enabled: bool,
    /// Strings or `{child, parent}` maps, kept as parsed.
    pub import_values: Vec<serde_json::Value>,
    pub alias: String,
}

/// A problem found in Chart.yaml, with the 1-based line/column of the offending value when known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub line: Option<u64>,
    pub column: Option<u64>,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.line, self.column) {
            (Some(l), Some(c)) => write!(f, "{l}:{c}: {}", self.message),
            (Some(l), None) => write!(f, "{l}: {}", self.message),
            _ => f.write_str(&self.message),
        }
    }
}

/// Helm's `chart.Metadata`. String fields Helm leaves empty are empty strings here.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ChartMetadata {
    pub name: String,
    pub home: String,
    pub sources: Vec<String>,
    pub version: String,
    pub description: String,
    pub keywords: Vec<String>,
    pub maintainers: Vec<Maintainer>,
    pub icon: String,
    pub api_version: String,
    pub condition: String,
    pub tags: String,
    pub app_version: String,
    pub deprecated: bool,
    pub annotations: BTreeMap<String, String>,
    pub kube_version: String,
    pub dependencies: Vec<Dependency>,
    /// `type`: `application`, `library` or empty.
    pub chart_type: String,
    /// Where the metadata came from (for messages).
    pub path: PathBuf,
    /// Positions of the top-level values, by Chart.yaml key.
    positions: BTreeMap<&'static str, (u64, u64)>,
    /// Problems found while reading (wrong types, null list entries), reported by `validate`.
    load_problems: Vec<Problem>,
}

// ---------------------------------------------------------------------------------------------
// Reading

/// Any YAML scalar (or null), so that a wrong type becomes a reported problem, not a parse abort.
#[derive(Debug, Clone)]
enum Scalar {
    Str(String),
    Int(String),
    Float(f64),
    Bool(bool),
    Null,
    Other(&'static str),
}

impl<'de> Deserialize<'de> for Scalar {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Scalar;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a scalar")
            }
            fn visit_str<E>(self, v: &str) -> Result<Scalar, E> {
                Ok(Scalar::Str(v.to_string()))
            }
            fn visit_string<E>(self, v: String) -> Result<Scalar, E> {
                Ok(Scalar::Str(v))
            }
            fn visit_i64<E>(self, v: i64) -> Result<Scalar, E> {
                Ok(Scalar::Int(v.to_string()))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Scalar, E> {
                Ok(Scalar::Int(v.to_string()))
            }
            fn visit_i128<E>(self, v: i128) -> Result<Scalar, E> {
                Ok(Scalar::Int(v.to_string()))
            }
            fn visit_u128<E>(self, v: u128) -> Result<Scalar, E> {
                Ok(Scalar::Int(v.to_string()))
            }
            fn visit_f64<E>(self, v: f64) -> Result<Scalar, E> {
                Ok(Scalar::Float(v))
            }
            fn visit_bool<E>(self, v: bool) -> Result<Scalar, E> {
                Ok(Scalar::Bool(v))
            }
            fn visit_unit<E>(self) -> Result<Scalar, E> {
                Ok(Scalar::Null)
            }
            fn visit_none<E>(self) -> Result<Scalar, E> {
                Ok(Scalar::Null)
            }
            fn visit_some<D: serde::Deserializer<'de>>(self, d: D) -> Result<Scalar, D::Error> {
                Scalar::deserialize(d)
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut a: A) -> Result<Scalar, A::Error> {
                while a.next_element::<serde::de::IgnoredAny>()?.is_some() {}
                Ok(Scalar::Other("a list"))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut a: A) -> Result<Scalar, A::Error> {
                while a
                    .next_entry::<serde::de::IgnoredAny, serde::de::IgnoredAny>()?
                    .is_some()
                {}
                Ok(Scalar::Other("a mapping"))
            }
        }
        d.deserialize_any(V)
    }
}

type S = Spanned<Scalar>;

/// A value that may be a list or something else (reported).
#[derive(Debug)]
enum ListOr<T> {
    List(Vec<Option<T>>),
    Not(Scalar),
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for ListOr<T> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw<T> {
            List(Vec<Option<T>>),
            Not(Scalar),
        }
        Ok(match Raw::<T>::deserialize(d)? {
            Raw::List(v) => ListOr::List(v),
            Raw::Not(s) => ListOr::Not(s),
        })
    }
}

#[derive(Debug, Deserialize)]
struct RawMaintainer {
    name: Option<S>,
    email: Option<S>,
    url: Option<S>,
}

#[derive(Debug, Deserialize)]
struct RawDependency {
    name: Option<S>,
    version: Option<S>,
    repository: Option<S>,
    condition: Option<S>,
    tags: Option<Spanned<ListOr<S>>>,
    enabled: Option<S>,
    #[serde(rename = "import-values")]
    import_values: Option<Vec<serde_json::Value>>,
    alias: Option<S>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawChart {
    name: Option<S>,
    home: Option<S>,
    sources: Option<Spanned<ListOr<S>>>,
    version: Option<S>,
    description: Option<S>,
    keywords: Option<Spanned<ListOr<S>>>,
    maintainers: Option<Spanned<ListOr<Spanned<RawMaintainer>>>>,
    icon: Option<S>,
    api_version: Option<S>,
    condition: Option<S>,
    tags: Option<S>,
    app_version: Option<S>,
    deprecated: Option<S>,
    annotations: Option<Spanned<Option<BTreeMap<String, S>>>>,
    kube_version: Option<S>,
    dependencies: Option<Spanned<ListOr<Spanned<RawDependency>>>>,
    #[serde(rename = "type")]
    chart_type: Option<S>,
}

fn pos<T>(s: &Spanned<T>) -> (u64, u64) {
    (s.referenced.line(), s.referenced.column())
}

/// Collects conversions of raw values and the problems they raise.
struct Reader {
    problems: Vec<Problem>,
}

impl Reader {
    fn problem(&mut self, at: (u64, u64), message: String) {
        let (l, c) = at;
        self.problems.push(Problem {
            line: (l > 0).then_some(l),
            column: (c > 0).then_some(c),
            message,
        });
    }

    /// A string field. Numbers and booleans become their text, as Helm's YAML loader does; when
    /// `strict` (version, appVersion) they are reported instead, because `1.10` would silently become
    /// `1.1` in Helm.
    fn string(&mut self, field: &str, v: &Option<S>, strict: bool) -> String {
        let Some(v) = v else { return String::new() };
        match &v.value {
            Scalar::Str(s) => s.clone(),
            Scalar::Null => String::new(),
            Scalar::Int(s) if !strict => s.clone(),
            Scalar::Bool(b) if !strict => b.to_string(),
            Scalar::Float(f) if !strict => f.to_string(),
            Scalar::Int(s) => {
                self.problem(
                    pos(v),
                    format!("`{field}` must be a string, found the number {s} (quote it)"),
                );
                s.clone()
            }
            Scalar::Float(f) => {
                self.problem(
                    pos(v),
                    format!("`{field}` must be a string, found the number {f:?} (quote it)"),
                );
                f.to_string()
            }
            Scalar::Bool(b) => {
                self.problem(
                    pos(v),
                    format!("`{field}` must be a string, found the boolean {b} (quote it)"),
                );
                b.to_string()
            }
            Scalar::Other(what) => {
                self.problem(pos(v), format!("`{field}` must be a string, found {what}"));
                String::new()
            }
        }
    }

    fn bool(&mut self, field: &str, v: &Option<S>) -> bool {
        let Some(v) = v else { return false };
        match &v.value {
            Scalar::Bool(b) => *b,
            Scalar::Null => false,
            other => {
                self.problem(
                    pos(v),
                    format!("`{field}` must be true or false, found {}", describe(other)),
                );
                false
            }
        }
    }

    fn strings(&mut self, field: &str, v: &Option<Spanned<ListOr<S>>>) -> Vec<String> {
        let Some(v) = v else { return Vec::new() };
        match &v.value {
            ListOr::List(items) => items
                .iter()
                .map(|i| match i {
                    Some(s) => self.string(field, &Some(s.clone()), false),
                    None => String::new(),
                })
                .collect(),
            ListOr::Not(Scalar::Null) => Vec::new(),
            ListOr::Not(other) => {
                self.problem(
                    pos(v),
                    format!(
                        "`{field}` must be a list of strings, found {}",
                        describe(other)
                    ),
                );
                Vec::new()
            }
        }
    }
}

fn describe(s: &Scalar) -> String {
    match s {
        Scalar::Str(s) => format!("the string {s:?}"),
        Scalar::Int(s) => format!("the number {s}"),
        Scalar::Float(f) => format!("the number {f:?}"),
        Scalar::Bool(b) => format!("the boolean {b}"),
        Scalar::Null => "null".into(),
        Scalar::Other(w) => (*w).into(),
    }
}

impl ChartMetadata {
    /// Read `<chart_dir>/Chart.yaml`.
    pub fn load(chart_dir: &Path) -> Result<Self, ChartError> {
        let path = chart_dir.join(CHART_FILE);
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(ChartError::MissingChartYaml {
                    dir: chart_dir.to_path_buf(),
                })
            }
            Err(source) => return Err(ChartError::Io { path, source }),
        };
        Self::from_yaml(&bytes, &path)
    }

    /// Parse Chart.yaml bytes (a UTF-8 BOM is skipped, as Helm does). Fails only when the text is
    /// not YAML; wrong types and bad values are reported by [`ChartMetadata::validate`].
    pub fn from_yaml(bytes: &[u8], path: &Path) -> Result<Self, ChartError> {
        let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
        let text = std::str::from_utf8(bytes).map_err(|e| ChartError::Yaml {
            path: path.to_path_buf(),
            line: None,
            column: None,
            message: format!("not UTF-8 text ({e})"),
        })?;
        let raw: Option<RawChart> = if text.trim().is_empty() {
            None
        } else {
            serde_saphyr::from_str(text).map_err(|e| {
                let loc = e.location();
                ChartError::Yaml {
                    path: path.to_path_buf(),
                    line: loc.map(|l| l.line()).filter(|l| *l > 0),
                    column: loc.map(|l| l.column()).filter(|c| *c > 0),
                    message: first_line(&e.to_string()),
                }
            })?
        };
        let mut md = ChartMetadata {
            path: path.to_path_buf(),
            ..Default::default()
        };
        let Some(raw) = raw else { return Ok(md) };
        let mut r = Reader {
            problems: Vec::new(),
        };
        let mut positions = BTreeMap::new();
        macro_rules! at {
            ($key:literal, $v:expr) => {
                if let Some(v) = &$v {
                    positions.insert($key, pos(v));
                }
            };
        }
        at!("name", raw.name);
        at!("version", raw.version);
        at!("apiVersion", raw.api_version);
        at!("type", raw.chart_type);
        at!("appVersion", raw.app_version);
        at!("kubeVersion", raw.kube_version);
        at!("dependencies", raw.dependencies);
        at!("maintainers", raw.maintainers);

        md.name = r.string("name", &raw.name, false);
        md.home = r.string("home", &raw.home, false);
        md.sources = r.strings("sources", &raw.sources);
        md.version = r.string("version", &raw.version, true);
        md.description = r.string("description", &raw.description, false);
        md.keywords = r.strings("keywords", &raw.keywords);
        md.icon = r.string("icon", &raw.icon, false);
        md.api_version = r.string("apiVersion", &raw.api_version, false);
        md.condition = r.string("condition", &raw.condition, false);
        md.tags = r.string("tags", &raw.tags, false);
        md.app_version = r.string("appVersion", &raw.app_version, true);
        md.deprecated = r.bool("deprecated", &raw.deprecated);
        md.kube_version = r.string("kubeVersion", &raw.kube_version, false);
        md.chart_type = r.string("type", &raw.chart_type, false);
        if let Some(a) = &raw.annotations {
            for (k, v) in a.value.iter().flatten() {
                let s = r.string(&format!("annotations.{k}"), &Some(v.clone()), false);
                md.annotations.insert(k.clone(), s);
            }
        }
        if let Some(m) = &raw.maintainers {
            match &m.value {
                ListOr::List(items) => {
                    for (i, item) in items.iter().enumerate() {
                        match item {
                            Some(it) => md.maintainers.push(Maintainer {
                                name: r.string("maintainers[].name", &it.value.name, false),
                                email: r.string("maintainers[].email", &it.value.email, false),
                                url: r.string("maintainers[].url", &it.value.url, false),
                            }),
                            None => r.problem(pos(m), format!("maintainers[{i}] is empty or null")),
                        }
                    }
                }
                ListOr::Not(Scalar::Null) => {}
                ListOr::Not(o) => r.problem(
                    pos(m),
                    format!("`maintainers` must be a list, found {}", describe(o)),
                ),
            }
        }
        if let Some(d) = &raw.dependencies {
            match &d.value {
                ListOr::List(items) => {
                    for (i, item) in items.iter().enumerate() {
                        let Some(it) = item else {
                            r.problem(pos(d), format!("dependencies[{i}] is empty or null"));
                            continue;
                        };
                        let v = &it.value;
                        let dep = Dependency {
                            name: r.string("dependencies[].name", &v.name, false),
                            version: r.string("dependencies[].version", &v.version, false),
                            repository: r.string("dependencies[].repository", &v.repository, false),
                            condition: r.string("dependencies[].condition", &v.condition, false),
                            tags: r.strings("dependencies[].tags", &v.tags),
                            enabled: r.bool("dependencies[].enabled", &v.enabled),
                            import_values: v.import_values.clone().unwrap_or_default(),
                            alias: r.string("dependencies[].alias", &v.alias, false),
                        };
                        positions.entry("dependencies[]").or_insert(pos(it));
                        md.dependencies.push(dep);
                    }
                }
                ListOr::Not(Scalar::Null) => {}
                ListOr::Not(o) => r.problem(
                    pos(d),
                    format!("`dependencies` must be a list, found {}", describe(o)),
                ),
            }
        }
        md.positions = positions;
        md.load_problems = r.problems;
        md.sanitize();
        Ok(md)
    }

    /// Helm's `Metadata.Validate` sanitising, applied to the same fields.
    fn sanitize(&mut self) {
        for s in [
            &mut self.name,
            &mut self.description,
            &mut self.home,
            &mut self.icon,
            &mut self.condition,
            &mut self.tags,
            &mut self.app_version,
            &mut self.kube_version,
        ] {
            *s = sanitize_string(s);
        }
        for s in self.sources.iter_mut().chain(self.keywords.iter_mut()) {
            *s = sanitize_string(s);
        }
        for m in &mut self.maintainers {
            m.name = sanitize_string(&m.name);
            m.email = sanitize_string(&m.email);
            m.url = sanitize_string(&m.url);
        }
        for d in &mut self.dependencies {
            d.name = sanitize_string(&d.name);
            d.version = sanitize_string(&d.version);
            d.repository = sanitize_string(&d.repository);
            d.condition = sanitize_string(&d.condition);
            for t in &mut d.tags {
                *t = sanitize_string(t);
            }
        }
    }

    /// Set the version (as `helm package --version`); checked by the next `validate`.
    pub fn set_version(&mut self, version: &str) {
        self.version = version.to_string();
        self.positions.remove("version");
        self.load_problems
            .retain(|p| !p.message.starts_with("`version`"));
    }

    /// Set the appVersion (as `helm package --app-version`).
    pub fn set_app_version(&mut self, app_version: &str) {
        self.app_version = sanitize_string(app_version);
        self.positions.remove("appVersion");
        self.load_problems
            .retain(|p| !p.message.starts_with("`appVersion`"));
    }

    /// Every problem with this metadata (empty when it is valid).
    pub fn problems(&self) -> Vec<Problem> {
        let mut out = self.load_problems.clone();
        let at = |key: &str| self.positions.get(key).copied();
        let mut push = |key: &str, message: String| {
            let p = at(key);
            out.push(Problem {
                line: p.map(|p| p.0),
                column: p.map(|p| p.1),
                message,
            });
        };
        match self.api_version.as_str() {
            "v2" => {}
            "" => push(
                "apiVersion",
                "`apiVersion` is required and must be v2".into(),
            ),
            "v1" => push(
                "apiVersion",
                "`apiVersion: v1` (Helm 2 charts) is not supported; use v2".into(),
            ),
            other => push(
                "apiVersion",
                format!("`apiVersion` must be v2, found {other:?}"),
            ),
        }
        if self.name.is_empty() {
            push("name", "`name` is required".into());
        } else if let Err(why) = check_chart_name(&self.name) {
            push("name", format!("`name` {:?} is invalid: {why}", self.name));
        }
        if self.version.is_empty() {
            push(
                "version",
                "`version` is required (a SemVer 2 version such as 1.2.3)".into(),
            );
        } else if self
            .load_problems
            .iter()
            .any(|p| p.message.starts_with("`version`"))
        {
            // already reported as a wrong type
        } else if let Err(e) = semver::Version::parse(&self.version) {
            push(
                "version",
                format!(
                    "`version` {:?} is not a SemVer 2 version ({e}); use e.g. 1.2.3",
                    self.version
                ),
            );
        }
        match self.chart_type.as_str() {
            "" | "application" | "library" => {}
            other => push(
                "type",
                format!("`type` must be application or library, found {other:?}"),
            ),
        }
        let mut seen = BTreeMap::new();
        for d in &self.dependencies {
            if d.name.is_empty() {
                push("dependencies[]", "a dependency has no `name`".into());
            }
            if !d.alias.is_empty()
                && !d
                    .alias
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
            {
                push(
                    "dependencies[]",
                    format!(
                        "dependency {:?} has disallowed characters in the alias {:?}",
                        d.name, d.alias
                    ),
                );
            }
            let key = if d.alias.is_empty() {
                &d.name
            } else {
                &d.alias
            };
            if seen.insert(key.clone(), ()).is_some() {
                push(
                    "dependencies[]",
                    format!("more than one dependency with name or alias {key:?}"),
                );
            }
        }
        out.sort_by_key(|p| (p.line.unwrap_or(u64::MAX), p.column.unwrap_or(0)));
        out
    }

    /// Check the metadata; reports every problem at once.
    pub fn validate(&self) -> Result<(), ChartError> {
        let problems = self.problems();
        if problems.is_empty() {
            Ok(())
        } else {
            Err(ChartError::Invalid {
                path: self.path.clone(),
                problems,
            })
        }
    }

    /// The file name `helm package` gives the archive: `<name>-<version>.tgz`.
    pub fn archive_file_name(&self) -> String {
        format!("{}-{}.tgz", self.name, self.version)
    }

    /// The metadata as Go's `json.Marshal` would lay it out (struct order, omitempty).
    fn to_go_value(&self) -> GoValue {
        let mut o = Vec::new();
        str_field(&mut o, "name", &self.name);
        str_field(&mut o, "home", &self.home);
        list_field(&mut o, "sources", &self.sources);
        str_field(&mut o, "version", &self.version);
        str_field(&mut o, "description", &self.description);
        list_field(&mut o, "keywords", &self.keywords);
        if !self.maintainers.is_empty() {
            let ms = self
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
        str_field(&mut o, "icon", &self.icon);
        str_field(&mut o, "apiVersion", &self.api_version);
        str_field(&mut o, "condition", &self.condition);
        str_field(&mut o, "tags", &self.tags);
        str_field(&mut o, "appVersion", &self.app_version);
        if self.deprecated {
            o.push(("deprecated".into(), GoValue::Bool(true)));
        }
        if !self.annotations.is_empty() {
            let a = self
                .annotations
                .iter()
                .map(|(k, v)| (k.clone(), GoValue::Str(v.clone())))
                .collect();
            o.push(("annotations".into(), GoValue::Obj(a)));
        }
        str_field(&mut o, "kubeVersion", &self.kube_version);
        if !self.dependencies.is_empty() {
            let ds = self
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
        str_field(&mut o, "type", &self.chart_type);
        GoValue::Obj(o)
    }

    /// The OCI config blob `helm push` writes for this chart: byte-identical to Go's
    /// `json.Marshal(chart.Metadata)` (compact, struct field order, omitempty, HTML escaping).
    pub fn to_helm_config_json(&self) -> Vec<u8> {
        let mut out = String::new();
        self.to_go_value().write_json(&mut out);
        out.into_bytes()
    }

    /// The Chart.yaml written into the archive: keys sorted (as Helm's `yaml.Marshal` of the
    /// metadata), empty fields omitted, strings quoted whenever plain YAML could change their type.
    pub fn to_chart_yaml(&self) -> Vec<u8> {
        let mut out = String::new();
        self.to_go_value().sorted().write_yaml(&mut out, 0);
        out.into_bytes()
    }
}

fn first_line(s: &str) -> String {
    s.lines().next().unwrap_or("").to_string()
}

/// Chart names: lowercase letters, digits and `-`/`.`/`_` separators, starting and ending with a
/// letter or digit, at most 250 characters (so `<name>-<version>.tgz` and the OCI repository
/// name stay valid). Helm itself only refuses names that are not their own `filepath.Base`.
pub fn check_chart_name(name: &str) -> Result<(), &'static str> {
    if name.contains('/') || name.contains('\\') || name == "." || name == ".." {
        return Err("a chart name must not contain path separators");
    }
    if name.len() > 250 {
        return Err("longer than 250 characters");
    }
    let ok_char = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit();
    let first = name.chars().next().unwrap_or('-');
    let last = name.chars().last().unwrap_or('-');
    if !ok_char(first) || !ok_char(last) {
        return Err("must start and end with a lowercase letter or digit");
    }
    if !name
        .chars()
        .all(|c| ok_char(c) || c == '-' || c == '.' || c == '_')
    {
        return Err("use only lowercase letters, digits, '-', '.' and '_'");
    }
    Ok(())
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
enum GoValue {
    Str(String),
    Bool(bool),
    Num(String),
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
            serde_json::Value::Number(n) => GoValue::Num(n.to_string()),
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

    fn sorted(self) -> GoValue {
        match self {
            GoValue::Arr(a) => GoValue::Arr(a.into_iter().map(GoValue::sorted).collect()),
            GoValue::Obj(mut o) => {
                o.sort_by(|a, b| a.0.cmp(&b.0));
                GoValue::Obj(o.into_iter().map(|(k, v)| (k, v.sorted())).collect())
            }
            other => other,
        }
    }

    fn write_json(&self, out: &mut String) {
        match self {
            GoValue::Str(s) => go_json_string(s, out),
            GoValue::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            GoValue::Num(n) => out.push_str(n),
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

    fn write_yaml(&self, out: &mut String, indent: usize) {
        let pad = " ".repeat(indent);
        match self {
            GoValue::Obj(o) => {
                for (k, v) in o {
                    out.push_str(&pad);
                    out.push_str(&yaml_scalar(k));
                    out.push(':');
                    v.write_yaml_value(out, indent);
                }
            }
            other => {
                out.push_str(&pad);
                other.write_yaml_value(out, indent);
            }
        }
    }

    /// Writes after a `key:` or `-`; ends with a newline.
    fn write_yaml_value(&self, out: &mut String, indent: usize) {
        match self {
            GoValue::Str(s) => {
                out.push(' ');
                out.push_str(&yaml_scalar(s));
                out.push('\n');
            }
            GoValue::Bool(b) => out.push_str(if *b { " true\n" } else { " false\n" }),
            GoValue::Num(n) => {
                out.push(' ');
                out.push_str(n);
                out.push('\n');
            }
            GoValue::Null => out.push_str(" null\n"),
            GoValue::Arr(a) if a.is_empty() => out.push_str(" []\n"),
            GoValue::Obj(o) if o.is_empty() => out.push_str(" {}\n"),
            GoValue::Arr(a) => {
                out.push('\n');
                let pad = " ".repeat(indent);
                for v in a {
                    out.push_str(&pad);
                    out.push('-');
                    match v {
                        GoValue::Obj(o) if !o.is_empty() => {
                            // first key on the dash line, the rest indented below it
                            let mut inner = String::new();
                            v.write_yaml(&mut inner, indent + 2);
                            out.push(' ');
                            out.push_str(inner.trim_start());
                        }
                        _ => v.write_yaml_value(out, indent + 2),
                    }
                }
            }
            GoValue::Obj(_) => {
                out.push('\n');
                self.write_yaml(out, indent + 2);
            }
        }
    }
}

/// A YAML scalar for a string: plain when it cannot be read as anything but this string, else a
/// double-quoted string (JSON escapes are valid YAML escapes).
fn yaml_scalar(s: &str) -> String {
    let plain = s
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '/')
        && !s.ends_with(' ')
        && !s.contains("  ")
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || " ._/+-".contains(c))
        && !matches!(
            s.to_ascii_lowercase().as_str(),
            "y" | "n" | "yes" | "no" | "on" | "off" | "true" | "false" | "null" | "nan" | "inf"
        );
    if plain {
        s.to_string()
    } else {
        serde_json::to_string(s).unwrap_or_else(|_| format!("{s:?}"))
    }
}

/// Go `encoding/json` string encoding (Go ≥ 1.22): `\b \f \n \r \t` short escapes, other control
/// characters as `\u00xx`, and `<`, `>`, `&`, U+2028, U+2029 escaped (HTML-safe).
fn go_json_string(s: &str, out: &mut String) {
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

#[cfg(test)]
#[path = "metadata_tests.rs"]
mod tests;
