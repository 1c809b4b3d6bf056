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
//! Checks are Helm's (a chart Helm packages is packaged): the version is what Masterminds/semver
//! reads (`v1.2`, `1.2` too), the name must not hold path separators, `apiVersion` v1 (or none)
//! is Helm 2's format, a duplicate key keeps its last value. What is stricter than Helm — a strict
//! SemVer 2 version, a lower-case DNS-like name that is a valid OCI repository component, v2, no
//! duplicate keys — is [`ChartMetadata::strictness`], warnings of `validate` (rules in
//! `crate::rules`); push refuses a name that is not a valid OCI repository name, as `helm push`
//! does, and publish refuses a version that is not strict SemVer 2. Every problem is
//! collected as a [`Diagnostic`] (code `chart`) at its line and column, carrying the file's text
//! for a caret snippet; loading never stops at the first one.
//! The raw YAML shape lives in `chartfile_raw.rs`, Go's encodings in `goenc.rs` (the archived
//! Chart.yaml's text through `crate::yamlout`). This module does
//! not read the rest of the chart directory (see `archive.rs`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::chartfile_raw::{describe, pos, problem, ListOr, RawChart, Reader, Scalar};
use super::goenc::{chart_yaml, go_value};
use super::ChartError;
use crate::diagnostics::{Diagnostic, SourceFile};

pub use super::goenc::sanitize_string;

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

/// The Chart.yaml text a metadata was read from, for diagnostics. Not part of the metadata's
/// value: two metadata that say the same are equal whatever their formatting.
#[derive(Debug, Clone, Default)]
struct Source(Option<Arc<SourceFile>>);

impl PartialEq for Source {
    fn eq(&self, _: &Source) -> bool {
        true
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
    load_problems: Vec<Diagnostic>,
    source: Source,
    /// The file `dependencies` came from (Chart.yaml, or requirements.yaml) and the position of
    /// its first entry there.
    dependency_source: Source,
    dependency_position: Option<(u64, u64)>,
    /// Chart.yaml had no `apiVersion` (Helm assumes v1).
    api_version_defaulted: bool,
    /// The first duplicate key of Chart.yaml (Helm keeps the last value), as a warning.
    duplicate_key: Option<Diagnostic>,
}

/// Helm 2's chart format (`apiVersion: v1`, or none): Helm 3 and 4 still load and package it.
pub const API_V1: &str = "v1";
pub const API_V2: &str = "v2";

/// What Helm accepts in Chart.yaml but appkit's `validate` warns about (each is a platform rule).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strictness {
    /// `apiVersion: v1` or no apiVersion (Helm 2's format).
    LegacyApiVersion,
    /// A version Helm reads but that is not strict SemVer 2 (`v1.2.3`, `1.2`, `01.2.3`).
    VersionNotStrict,
    /// A name that is not a lower-case DNS-like name (an OCI repository must be lower-case).
    NameNotLowercase,
    /// A key written twice (the last one wins).
    DuplicateKey,
}

/// Parse YAML text as the raw Chart.yaml shape; duplicate keys are retried last-wins (Helm's
/// reading) and the first one is returned as a warning.
#[allow(clippy::type_complexity)]
fn parse_raw(
    bytes: &[u8],
    path: &Path,
) -> Result<(Option<RawChart>, Arc<SourceFile>, Option<Diagnostic>), ChartError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let text = std::str::from_utf8(bytes).map_err(|e| ChartError::Yaml {
        path: path.to_path_buf(),
        line: None,
        column: None,
        message: format!("not UTF-8 text ({e})"),
    })?;
    let source = SourceFile::new(path, text);
    if text.trim().is_empty() {
        return Ok((None, source, None));
    }
    let yaml_error = |e: &serde_saphyr::Error| {
        let loc = e.location();
        ChartError::Yaml {
            path: path.to_path_buf(),
            line: loc.map(|l| l.line()).filter(|l| *l > 0),
            column: loc.map(|l| l.column()).filter(|c| *c > 0),
            message: first_line(&e.to_string()),
        }
    };
    match serde_saphyr::from_str::<Option<RawChart>>(text) {
        Ok(raw) => Ok((raw, source, None)),
        Err(strict) if !strict.to_string().contains("duplicate") => Err(yaml_error(&strict)),
        Err(strict) => {
            // Only a duplicate key is read again (last wins): never a budget error twice.
            let opts = serde_saphyr::options! {
                duplicate_keys: serde_saphyr::DuplicateKeyPolicy::LastWins,
            };
            match serde_saphyr::from_str_with_options::<Option<RawChart>>(text, opts) {
                Ok(raw) => {
                    let at = strict
                        .location()
                        .map(|l| (l.line(), l.column()))
                        .filter(|(l, _)| *l > 0);
                    let message = format!(
                        "{} (Helm keeps the last value)",
                        first_line(&strict.to_string())
                    );
                    let d = problem(&source, at, message);
                    Ok((raw, source, Some(d)))
                }
                Err(_) => Err(yaml_error(&strict)),
            }
        }
    }
}

impl ChartMetadata {
    /// Read `<chart_dir>/Chart.yaml`.
    pub fn load(chart_dir: &Path) -> Result<Self, ChartError> {
        let path = chart_dir.join(CHART_FILE);
        let bytes = match crate::fsutil::read_limited(&path, super::archive::MAX_FILE_SIZE) {
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
    /// not YAML; wrong types and bad values are reported by [`ChartMetadata::validate`]. A missing
    /// `apiVersion` is `v1`, as Helm's loader assumes (a Helm 2 chart). Duplicate keys: the last
    /// one wins, as in Helm (go-yaml v2); [`ChartMetadata::strictness`] reports them.
    pub fn from_yaml(bytes: &[u8], path: &Path) -> Result<Self, ChartError> {
        let (raw, source, duplicate) = parse_raw(bytes, path)?;
        let mut md = ChartMetadata {
            path: path.to_path_buf(),
            source: Source(Some(source.clone())),
            duplicate_key: duplicate,
            ..Default::default()
        };
        if let Some(raw) = raw {
            md.apply(raw, source, true);
        }
        if md.api_version.is_empty() {
            md.api_version = API_V1.into();
            md.api_version_defaulted = true;
        }
        md.sanitize();
        Ok(md)
    }

    /// Merge a chart's `requirements.yaml` into its metadata, as Helm's loader does for every
    /// chart (`yaml.Unmarshal` into the loaded `Chart.yaml`): each key it sets replaces the
    /// Chart.yaml value, so its `dependencies` (conditions, tags, aliases) become the chart's.
    pub fn merge_requirements(&mut self, bytes: &[u8], path: &Path) -> Result<(), ChartError> {
        let (raw, source, _) = parse_raw(bytes, path)?;
        if let Some(raw) = raw {
            self.apply(raw, source, false);
        }
        self.sanitize();
        Ok(())
    }

    /// Set every field `raw` has (`from_chart_yaml`: positions refer to Chart.yaml).
    fn apply(&mut self, raw: RawChart, source: Arc<SourceFile>, from_chart_yaml: bool) {
        let mut r = Reader {
            source: source.clone(),
            problems: Vec::new(),
        };
        let md = self;
        if from_chart_yaml {
            macro_rules! at {
                ($key:literal, $v:expr) => {
                    if let Some(v) = &$v {
                        md.positions.insert($key, pos(v));
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
        }
        macro_rules! set {
            ($field:ident, $v:expr) => {
                if raw.$field.is_some() {
                    md.$field = $v;
                }
            };
        }
        set!(name, r.string("name", &raw.name, false));
        set!(home, r.string("home", &raw.home, false));
        set!(sources, r.strings("sources", &raw.sources));
        set!(version, r.string("version", &raw.version, true));
        set!(
            description,
            r.string("description", &raw.description, false)
        );
        set!(keywords, r.strings("keywords", &raw.keywords));
        set!(icon, r.string("icon", &raw.icon, false));
        set!(api_version, r.string("apiVersion", &raw.api_version, false));
        set!(condition, r.string("condition", &raw.condition, false));
        set!(tags, r.string("tags", &raw.tags, false));
        set!(app_version, r.string("appVersion", &raw.app_version, true));
        set!(deprecated, r.bool("deprecated", &raw.deprecated));
        set!(
            kube_version,
            r.string("kubeVersion", &raw.kube_version, false)
        );
        set!(chart_type, r.string("type", &raw.chart_type, false));
        if let Some(a) = &raw.annotations {
            md.annotations.clear();
            for (k, v) in a.value.iter().flatten() {
                let s = r.string(&format!("annotations.{k}"), &Some(v.clone()), false);
                md.annotations.insert(k.clone(), s);
            }
        }
        if let Some(m) = &raw.maintainers {
            md.maintainers.clear();
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
            md.dependencies.clear();
            md.dependency_source = Source(Some(source.clone()));
            md.positions.remove("dependencies[]");
            if !from_chart_yaml {
                md.positions.remove("dependencies");
            }
            let mut first = None;
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
                        first.get_or_insert(pos(it));
                        md.dependencies.push(dep);
                    }
                }
                ListOr::Not(Scalar::Null) => {}
                ListOr::Not(o) => r.problem(
                    pos(d),
                    format!("`dependencies` must be a list, found {}", describe(o)),
                ),
            }
            md.dependency_position = first;
        }
        md.load_problems.extend(r.problems);
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
    pub fn problems(&self) -> Vec<Diagnostic> {
        let mut out = self.load_problems.clone();
        let source = self
            .source
            .0
            .clone()
            .unwrap_or_else(|| SourceFile::new(self.path.clone(), String::new()));
        let at = |key: &str| self.positions.get(key).copied();
        let mut push = |key: &str, message: String| {
            out.push(problem(&source, at(key), message));
        };
        match self.api_version.as_str() {
            API_V1 | API_V2 => {}
            other => push(
                "apiVersion",
                format!("`apiVersion` must be v2 (or Helm 2's v1), found {other:?}"),
            ),
        }
        if self.name.is_empty() {
            push("name", "`name` is required".into());
        } else if let Err(why) = check_chart_name_like_helm(&self.name) {
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
        } else if super::version::parse_helm(&self.version).is_err() {
            push(
                "version",
                format!(
                    "`version` {:?} is not a version Helm can read; use SemVer 2, e.g. 1.2.3",
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
        let dep_source = self.dependency_source.0.clone().unwrap_or(source.clone());
        let dep_at = self.dependency_position;
        let mut push = |_: &str, message: String| {
            out.push(problem(&dep_source, dep_at, message));
        };
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
        out.sort_by_key(|p| {
            p.location
                .as_ref()
                .filter(|l| l.line > 0)
                .map_or((usize::MAX, 0), |l| (l.line, l.column))
        });
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

    /// The OCI config blob `helm push` writes for this chart: byte-identical to Go's
    /// `json.Marshal(chart.Metadata)` (compact, struct field order, omitempty, HTML escaping).
    pub fn to_helm_config_json(&self) -> Vec<u8> {
        let mut out = String::new();
        go_value(self).write_json(&mut out);
        out.into_bytes()
    }

    /// The Chart.yaml written into the archive: keys sorted (as Helm's `yaml.Marshal` of the
    /// metadata), empty fields omitted, strings quoted whenever plain YAML could change their type.
    /// A v1 chart's dependencies live in its requirements.yaml, so Helm leaves them out here.
    pub fn to_chart_yaml(&self) -> Vec<u8> {
        if self.api_version == API_V1 && !self.dependencies.is_empty() {
            let mut v1 = self.clone();
            v1.dependencies.clear();
            return chart_yaml(&v1).into_bytes();
        }
        chart_yaml(self).into_bytes()
    }

    /// What Helm accepts here but appkit's `validate` warns about, each with its diagnostic
    /// (a warning with code `chart`; the caller gives it the rule's code).
    pub fn strictness(&self) -> Vec<(Strictness, Diagnostic)> {
        let source = self
            .source
            .0
            .clone()
            .unwrap_or_else(|| SourceFile::new(self.path.clone(), String::new()));
        let at = |key: &str| self.positions.get(key).copied();
        let warn = |key: &str, message: String| {
            let mut d = problem(&source, at(key), message);
            d.severity = crate::diagnostics::Severity::Warning;
            d
        };
        let mut out = Vec::new();
        if self.api_version == API_V1 {
            let how = if self.api_version_defaulted {
                "Chart.yaml has no `apiVersion`, so Helm reads it as a v1 (Helm 2) chart"
            } else {
                "`apiVersion: v1` is Helm 2's chart format"
            };
            out.push((
                Strictness::LegacyApiVersion,
                warn(
                    "apiVersion",
                    format!("{how}; use `apiVersion: v2` (dependencies in Chart.yaml, Chart.lock)"),
                ),
            ));
        }
        if !self.version.is_empty()
            && super::version::parse_helm(&self.version).is_ok()
            && !super::version::is_strict(&self.version)
        {
            out.push((
                Strictness::VersionNotStrict,
                warn(
                    "version",
                    format!(
                        "`version` {:?} is not strict SemVer 2: Helm lists only strict versions as \
                         OCI tags, so `helm pull` without --version never selects it, and \
                         `appkit publish` refuses it; use e.g. {}",
                        self.version,
                        super::version::parse_helm(&self.version)
                            .map(|v| v.to_string())
                            .unwrap_or_default()
                    ),
                ),
            ));
        }
        if !self.name.is_empty() && check_chart_name_like_helm(&self.name).is_ok() {
            if let Err(why) = check_chart_name(&self.name) {
                out.push((
                    Strictness::NameNotLowercase,
                    warn(
                        "name",
                        format!(
                            "`name` {:?} cannot be pushed to an OCI registry ({why}; repository \
                             names are lower-case)",
                            self.name
                        ),
                    ),
                ));
            }
        }
        if let Some(d) = &self.duplicate_key {
            let mut d = d.clone();
            d.severity = crate::diagnostics::Severity::Warning;
            out.push((Strictness::DuplicateKey, d));
        }
        out
    }
}

/// The parser's message without its position (reported separately) or source snippet.
fn first_line(s: &str) -> String {
    crate::fsutil::yaml_error_message(s)
}

/// Helm's own rule (`name == filepath.Base(name)`): no path separators, not `.` or `..`.
pub fn check_chart_name_like_helm(name: &str) -> Result<(), &'static str> {
    if name.contains('/') || name.contains('\\') || name == "." || name == ".." {
        return Err("a chart name must not contain path separators");
    }
    Ok(())
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

#[cfg(test)]
#[path = "metadata_tests.rs"]
mod tests;
