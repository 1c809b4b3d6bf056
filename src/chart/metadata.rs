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
        let source = SourceFile::new(path, text);
        let mut md = ChartMetadata {
            path: path.to_path_buf(),
            source: Source(Some(source.clone())),
            ..Default::default()
        };
        let Some(raw) = raw else { return Ok(md) };
        let mut r = Reader {
            source,
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
    pub fn to_chart_yaml(&self) -> Vec<u8> {
        chart_yaml(self).into_bytes()
    }
}

/// The parser's message without its position (reported separately) or source snippet.
fn first_line(s: &str) -> String {
    crate::fsutil::yaml_error_message(s)
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
