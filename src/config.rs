//! `appkit.yaml`, the platform config: where the chart lives and is published, the apps directory,
//! the environments and their Flux settings, the node pools and platform namespaces apps may use,
//! and the severity of each platform rule. Paths in it are relative to the file's directory.
//! The schema reference for users is `docs/appkit-yaml.md`.
//!
//! This module owns the typed model and loading it: YAML and type errors (unknown keys, wrong
//! types) and semantic checks (SemVer versions, DNS-1123 names, distinct output directories,
//! `oci://` repository, known `dependsOn` targets) all come back as [`Diagnostic`]s with
//! file:line:col, every problem at once. It does not know what the commands do with the config.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Component, Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::diagnostics::{Diagnostic, Location};

pub const CONFIG_FILE: &str = "appkit.yaml";

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("no {CONFIG_FILE} found in {} or any parent directory", start.display())]
    NotFound { start: PathBuf },
    #[error("cannot read {}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}: {message}", path.display())]
    #[allow(dead_code)] // kept for callers that report a whole-file problem without a position
    Invalid { path: PathBuf, message: String },
    /// The file was read and is wrong; every problem found, with positions.
    #[error("{} is invalid:\n{}", path.display(), format_diagnostics(diagnostics))]
    Diagnostics {
        path: PathBuf,
        diagnostics: Vec<Diagnostic>,
    },
}

#[allow(dead_code)] // used by the other commands as they land
impl ConfigError {
    /// True when the config was read and found wrong (exit code 1), not an I/O problem.
    pub fn is_invalid(&self) -> bool {
        matches!(
            self,
            ConfigError::Invalid { .. } | ConfigError::Diagnostics { .. }
        )
    }
    /// The diagnostics, when the config was found wrong.
    pub fn diagnostics(&self) -> &[Diagnostic] {
        match self {
            ConfigError::Diagnostics { diagnostics, .. } => diagnostics,
            _ => &[],
        }
    }
}

/// One line per diagnostic: `file:line:col: severity[code]: message (help: …)`.
pub fn format_diagnostics(diagnostics: &[Diagnostic]) -> String {
    let mut s = String::new();
    for d in diagnostics {
        let sev = if d.is_error() { "error" } else { "warning" };
        match &d.location {
            Some(l) => {
                let _ = write!(s, "  {}:{}:{}: ", l.file.display(), l.line, l.column);
            }
            None => s.push_str("  "),
        }
        let _ = write!(s, "{sev}[{}]: {}", d.code, d.message);
        if let Some(h) = &d.help {
            let _ = write!(s, "\n    = help: {h}");
        }
        s.push('\n');
    }
    s.trim_end().to_string()
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Config {
    pub chart: ChartConfig,
    #[serde(default)]
    pub apps: AppsConfig,
    /// Directory of platform-owned Dapr Component manifests.
    #[serde(default = "default_components")]
    pub components: PathBuf,
    #[serde(default)]
    pub registry: RegistryConfig,
    #[serde(default)]
    pub flux: FluxDefaults,
    pub environments: BTreeMap<String, Environment>,
    /// Node pools apps may ask for with `nodepool:`.
    #[serde(default)]
    pub node_pools: Vec<String>,
    /// Namespaces owned by the platform that apps may name in network policy allows.
    #[serde(default)]
    pub platform_namespaces: Vec<String>,
    /// Rule code → `error` | `warning` | `off`.
    #[serde(default)]
    pub rules: BTreeMap<String, RuleLevel>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ChartConfig {
    /// The chart source directory.
    pub path: PathBuf,
    /// Where the chart is published, without the chart name: `oci://harbor.example.com/platform`.
    pub repository: String,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AppsConfig {
    #[serde(default = "default_apps_dir")]
    pub dir: PathBuf,
    /// Per-app release settings owned by the platform (namespace, dependencies).
    #[serde(default)]
    pub settings: BTreeMap<String, AppSettings>,
}

impl Default for AppsConfig {
    fn default() -> Self {
        AppsConfig {
            dir: default_apps_dir(),
            settings: BTreeMap::new(),
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AppSettings {
    /// Target namespace (default: the app name).
    pub namespace: Option<String>,
    /// Helm release name (default: the app name); at most 53 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub release_name: Option<String>,
    /// Apps whose HelmRelease must be ready first.
    #[serde(default)]
    pub depends_on: Vec<String>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RegistryConfig {
    /// Secret (in the Flux namespace) with registry pull credentials.
    pub pull_secret: Option<String>,
    /// Secret with the registry's CA certificate.
    pub ca_secret: Option<String>,
    /// Verify chart signatures with cosign using this secret's public key.
    pub cosign_secret: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FluxDefaults {
    #[serde(default = "default_interval")]
    pub interval: String,
    #[serde(default = "default_timeout")]
    pub timeout: String,
    #[serde(default = "default_retries")]
    pub retries: u32,
    /// `enabled` | `warn` | `disabled`
    #[serde(default = "default_drift")]
    pub drift_detection: String,
    #[serde(default)]
    pub test: bool,
    #[serde(default = "default_true")]
    pub create_namespace: bool,
}

impl Default for FluxDefaults {
    fn default() -> Self {
        FluxDefaults {
            interval: default_interval(),
            timeout: default_timeout(),
            retries: default_retries(),
            drift_detection: default_drift(),
            test: false,
            create_namespace: true,
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Environment {
    /// Where rendered Flux files go.
    pub output: PathBuf,
    /// Namespace of the Flux objects (OCIRepository, HelmRelease).
    #[serde(default = "default_flux_namespace")]
    pub namespace: String,
    /// Chart version every app of this environment runs.
    pub chart_version: String,
    /// Per-app chart version pins (roll a new chart out app by app).
    #[serde(default)]
    pub pins: BTreeMap<String, String>,
    /// Promoted environments (prod) require images pinned by digest.
    #[serde(default)]
    pub promoted: bool,
}

impl Environment {
    /// The chart version an app runs in this environment (its pin, else the environment's).
    pub fn chart_version_for(&self, app: &str) -> &str {
        self.pins
            .get(app)
            .map(String::as_str)
            .unwrap_or(&self.chart_version)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RuleLevel {
    Error,
    Warning,
    Off,
}

fn default_components() -> PathBuf {
    PathBuf::from("platform/components")
}
fn default_apps_dir() -> PathBuf {
    PathBuf::from("apps")
}
fn default_interval() -> String {
    "10m".into()
}
fn default_timeout() -> String {
    "5m".into()
}
fn default_retries() -> u32 {
    3
}
fn default_drift() -> String {
    "enabled".into()
}
fn default_true() -> bool {
    true
}
fn default_flux_namespace() -> String {
    "flux-system".into()
}

/// Positions of the config's keys and values, by path (`environments/dev/chartVersion`), so
/// checks that run after parsing can still point at the right line.
#[derive(Debug, Clone, Default)]
pub struct SourceMap {
    file: PathBuf,
    /// path → (line, column (1-based), byte range) of the value; for mapping entries also the key.
    entries: BTreeMap<String, (Location, Location)>,
}

impl SourceMap {
    /// Where the value at `path` is (`a/b/0/c`); falls back to the closest parent that exists,
    /// then to the file itself (line 1).
    pub fn value(&self, path: &str) -> Location {
        self.lookup(path)
            .map(|e| e.1.clone())
            .unwrap_or_else(|| self.file_start())
    }
    /// Where the key of the mapping entry at `path` is (same fallbacks as [`Self::value`]).
    pub fn key(&self, path: &str) -> Location {
        self.lookup(path)
            .map(|e| e.0.clone())
            .unwrap_or_else(|| self.file_start())
    }
    fn lookup(&self, path: &str) -> Option<&(Location, Location)> {
        let mut p = path;
        loop {
            if let Some(e) = self.entries.get(p) {
                return Some(e);
            }
            p = p.rsplit_once('/')?.0;
        }
    }
    fn file_start(&self) -> Location {
        Location {
            file: self.file.clone(),
            line: 1,
            column: 1,
            span: 0..0,
        }
    }

    fn build(file: &Path, text: &str) -> SourceMap {
        use saphyr::{LoadableYamlNode, MarkedYaml};
        let mut map = SourceMap {
            file: file.to_path_buf(),
            entries: BTreeMap::new(),
        };
        // Character index → byte offset (saphyr's markers count characters).
        let offsets: Vec<usize> = text
            .char_indices()
            .map(|(b, _)| b)
            .chain(std::iter::once(text.len()))
            .collect();
        // A node's location; the byte range covers the node when it ends on the same line.
        let loc = |m: saphyr::Marker, end: saphyr::Marker| {
            let start = offsets.get(m.index()).copied().unwrap_or(text.len());
            let stop = if end.line() == m.line() && end.index() > m.index() {
                offsets.get(end.index()).copied().unwrap_or(start)
            } else {
                start
            };
            Location {
                file: file.to_path_buf(),
                line: m.line(),
                column: m.col() + 1,
                span: start..stop,
            }
        };
        let Ok(docs) = MarkedYaml::load_from_str(text) else {
            return map;
        };
        fn walk(
            node: &MarkedYaml<'_>,
            path: &str,
            key_loc: Location,
            loc: &dyn Fn(saphyr::Marker, saphyr::Marker) -> Location,
            out: &mut BTreeMap<String, (Location, Location)>,
        ) {
            let value_loc = loc(node.span.start, node.span.end);
            out.insert(path.to_string(), (key_loc, value_loc));
            match &node.data {
                saphyr::YamlData::Mapping(m) => {
                    for (k, v) in m.iter() {
                        let name = match &k.data {
                            saphyr::YamlData::Value(s) => scalar_text(s),
                            _ => continue,
                        };
                        let child = if path.is_empty() {
                            name
                        } else {
                            format!("{path}/{name}")
                        };
                        walk(v, &child, loc(k.span.start, k.span.end), loc, out);
                    }
                }
                saphyr::YamlData::Sequence(items) => {
                    for (i, v) in items.iter().enumerate() {
                        let child = if path.is_empty() {
                            i.to_string()
                        } else {
                            format!("{path}/{i}")
                        };
                        let l = loc(v.span.start, v.span.end);
                        walk(v, &child, l, loc, out);
                    }
                }
                _ => {}
            }
        }
        if let Some(doc) = docs.first() {
            let l = loc(doc.span.start, doc.span.start);
            walk(doc, "", l, &loc, &mut map.entries);
        }
        map
    }
}

fn scalar_text(s: &saphyr::Scalar<'_>) -> String {
    match s {
        saphyr::Scalar::String(t) => t.to_string(),
        saphyr::Scalar::Integer(i) => i.to_string(),
        saphyr::Scalar::Boolean(b) => b.to_string(),
        saphyr::Scalar::FloatingPoint(f) => f.to_string(),
        saphyr::Scalar::Null => "null".into(),
    }
}

/// A loaded config and the directory its relative paths are resolved against.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub path: PathBuf,
    pub root: PathBuf,
    pub config: Config,
    /// Where each key/value of the file is, for diagnostics found after loading.
    pub source_map: SourceMap,
}

impl Loaded {
    pub fn chart_dir(&self) -> PathBuf {
        self.root.join(&self.config.chart.path)
    }
    pub fn apps_dir(&self) -> PathBuf {
        self.root.join(&self.config.apps.dir)
    }
    #[allow(dead_code)] // validate's
    pub fn components_dir(&self) -> PathBuf {
        self.root.join(&self.config.components)
    }
    pub fn lock_path(&self) -> PathBuf {
        self.root.join(crate::lock::LOCK_FILE)
    }
    /// Names of the apps: subdirectories of the apps dir holding a `values.yaml`, sorted.
    pub fn app_names(&self) -> std::io::Result<Vec<String>> {
        let mut names = Vec::new();
        for entry in std::fs::read_dir(self.apps_dir())? {
            let entry = entry?;
            if entry.file_type()?.is_dir() && entry.path().join("values.yaml").is_file() {
                if let Some(n) = entry.file_name().to_str() {
                    names.push(n.to_string());
                }
            }
        }
        names.sort();
        Ok(names)
    }
    /// The namespace an app is deployed to.
    pub fn app_namespace(&self, app: &str) -> String {
        self.config
            .apps
            .settings
            .get(app)
            .and_then(|s| s.namespace.clone())
            .unwrap_or_else(|| app.to_string())
    }
    /// The Helm release name of an app (its `releaseName` setting, else the app name).
    pub fn release_name(&self, app: &str) -> String {
        self.config
            .apps
            .settings
            .get(app)
            .and_then(|s| s.release_name.clone())
            .unwrap_or_else(|| app.to_string())
    }
    /// The apps an app depends on (`apps.settings.<app>.dependsOn`).
    pub fn depends_on(&self, app: &str) -> &[String] {
        self.config
            .apps
            .settings
            .get(app)
            .map(|s| s.depends_on.as_slice())
            .unwrap_or(&[])
    }

    /// Checks that need the list of apps (the apps directory), with positions in appkit.yaml:
    /// app names are DNS-1123 labels, settings and pins name existing apps, `dependsOn` names
    /// existing apps without cycles.
    pub fn check_apps(&self, apps: &[String]) -> Vec<Diagnostic> {
        let known: BTreeSet<&str> = apps.iter().map(String::as_str).collect();
        let sm = &self.source_map;
        let mut out = Vec::new();
        for app in apps {
            if let Some(why) = dns1123_label(app) {
                out.push(
                    Diagnostic::error("app-name", format!("app directory name {app:?} {why}"))
                        .help("app names become Kubernetes object names: lowercase letters, digits and '-'"),
                );
            }
        }
        for (app, settings) in &self.config.apps.settings {
            if !known.contains(app.as_str()) {
                out.push(
                    Diagnostic::warning(
                        "unknown-app",
                        format!("apps.settings names {app:?}, which has no apps/{app}/values.yaml"),
                    )
                    .at(sm.key(&format!("apps/settings/{app}")))
                    .help(suggest(app, &known)),
                );
            }
            for (i, dep) in settings.depends_on.iter().enumerate() {
                let at = sm.value(&format!("apps/settings/{app}/dependsOn/{i}"));
                if dep == app {
                    out.push(
                        Diagnostic::error("depends-on", format!("{app} depends on itself")).at(at),
                    );
                } else if !known.contains(dep.as_str()) {
                    out.push(
                        Diagnostic::error(
                            "depends-on",
                            format!("{app} depends on {dep:?}, which is not an app"),
                        )
                        .at(at)
                        .help(suggest(dep, &known)),
                    );
                }
            }
        }
        if let Some(cycle) = self.dependency_cycle() {
            let first = &cycle[0];
            out.push(
                Diagnostic::error(
                    "depends-on",
                    format!("dependency cycle: {}", cycle.join(" → ")),
                )
                .at(sm.key(&format!("apps/settings/{first}/dependsOn")))
                .help("Flux would wait forever: remove one of these dependsOn entries"),
            );
        }
        for (env, e) in &self.config.environments {
            for app in e.pins.keys() {
                if !known.contains(app.as_str()) {
                    out.push(
                        Diagnostic::warning(
                            "unknown-app",
                            format!("environments.{env}.pins names {app:?}, which is not an app"),
                        )
                        .at(sm.key(&format!("environments/{env}/pins/{app}")))
                        .help(suggest(app, &known)),
                    );
                }
            }
        }
        out
    }

    fn dependency_cycle(&self) -> Option<Vec<String>> {
        let settings = &self.config.apps.settings;
        // Depth-first search with colours; report the first cycle found (deterministic: sorted).
        fn visit<'a>(
            n: &'a str,
            s: &'a BTreeMap<String, AppSettings>,
            state: &mut BTreeMap<&'a str, u8>,
            stack: &mut Vec<&'a str>,
        ) -> Option<Vec<String>> {
            match state.get(n) {
                Some(2) => return None,
                Some(1) => {
                    let start = stack.iter().position(|x| *x == n).unwrap_or(0);
                    let mut c: Vec<String> = stack[start..].iter().map(|x| x.to_string()).collect();
                    c.push(n.to_string());
                    return Some(c);
                }
                _ => {}
            }
            state.insert(n, 1);
            stack.push(n);
            if let Some(st) = s.get(n) {
                for d in &st.depends_on {
                    if d != n {
                        if let Some(c) = visit(d, s, state, stack) {
                            return Some(c);
                        }
                    }
                }
            }
            stack.pop();
            state.insert(n, 2);
            None
        }
        let mut state = BTreeMap::new();
        for n in settings.keys() {
            let mut stack = Vec::new();
            if let Some(c) = visit(n, settings, &mut state, &mut stack) {
                return Some(c);
            }
        }
        None
    }
}

fn suggest(name: &str, known: &BTreeSet<&str>) -> String {
    let best = known
        .iter()
        .map(|k| (strsim::jaro_winkler(name, k), *k))
        .filter(|(s, _)| *s > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0));
    match best {
        Some((_, k)) => format!("did you mean {k:?}?"),
        None if known.is_empty() => "there are no apps (directories with a values.yaml)".into(),
        None => format!(
            "known apps: {}",
            known.iter().copied().collect::<Vec<_>>().join(", ")
        ),
    }
}

/// Find `appkit.yaml`: the explicit path, else the current directory and its parents.
pub fn locate(explicit: Option<&Path>) -> Result<PathBuf, ConfigError> {
    if let Some(p) = explicit {
        return Ok(p.to_path_buf());
    }
    let start = std::env::current_dir().map_err(|source| ConfigError::Read {
        path: ".".into(),
        source,
    })?;
    let mut dir = start.as_path();
    loop {
        let candidate = dir.join(CONFIG_FILE);
        if candidate.is_file() {
            return Ok(candidate);
        }
        match dir.parent() {
            Some(p) => dir = p,
            None => return Err(ConfigError::NotFound { start }),
        }
    }
}

/// Load and check `appkit.yaml`: parse errors, unknown keys and wrong types, then the semantic
/// checks of [`check`]. Warnings do not fail the load; they are returned in [`Loaded`]'s checks
/// by [`load_with_warnings`].
#[allow(dead_code)] // the other commands' entry point
pub fn load(path: &Path) -> Result<Loaded, ConfigError> {
    load_with_warnings(path).map(|(l, _)| l)
}

/// [`load`], also returning the warnings found.
pub fn load_with_warnings(path: &Path) -> Result<(Loaded, Vec<Diagnostic>), ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.into(),
        source,
    })?;
    let source_map = SourceMap::build(path, &text);
    let config: Config = serde_saphyr::from_str(&text).map_err(|e| {
        let location = e.location().map(|l| {
            let start = l.span().byte_offset().map(|b| b as usize).unwrap_or(0);
            Location {
                file: path.into(),
                line: l.line() as usize,
                column: l.column() as usize,
                span: start..start,
            }
        });
        let mut d = Diagnostic::error("config", first_line(&e.to_string()))
            .help("see docs/appkit-yaml.md for every key appkit.yaml accepts");
        d.location = location.or_else(|| Some(source_map.value("")));
        ConfigError::Diagnostics {
            path: path.into(),
            diagnostics: vec![d],
        }
    })?;
    let root = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."));
    let diagnostics = check(&config, &source_map);
    let (errors, warnings): (Vec<_>, Vec<_>) =
        diagnostics.into_iter().partition(Diagnostic::is_error);
    if !errors.is_empty() {
        return Err(ConfigError::Diagnostics {
            path: path.into(),
            diagnostics: errors,
        });
    }
    Ok((
        Loaded {
            path: path.to_path_buf(),
            root,
            config,
            source_map,
        },
        warnings,
    ))
}

/// serde-saphyr messages sometimes append the position in words; keep the first line only.
fn first_line(s: &str) -> String {
    s.lines().next().unwrap_or(s).trim().to_string()
}

/// Semantic checks that need no file system access.
pub fn check(config: &Config, sm: &SourceMap) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let mut err = |path: &str, code: &str, msg: String, help: &str| {
        let mut d = Diagnostic::error(code, msg).at(sm.value(path));
        if !help.is_empty() {
            d = d.help(help);
        }
        out.push(d);
    };

    let repo = &config.chart.repository;
    match repo.strip_prefix("oci://") {
        None => err(
            "chart/repository",
            "repository",
            format!("chart.repository {repo:?} is not an oci:// reference"),
            "write it as oci://<registry host>/<project>, e.g. oci://harbor.example.com/platform",
        ),
        Some(rest) => {
            let bad = rest.is_empty()
                || rest.ends_with('/')
                || rest.contains("//")
                || rest.contains(char::is_whitespace);
            if bad
                || rest
                    .rsplit('/')
                    .next()
                    .is_some_and(|last| last.contains(':') || last.contains('@'))
            {
                err("chart/repository", "repository", format!("chart.repository {repo:?} must be oci://host/project without a tag, digest or trailing '/'"),
                    "the chart name and version are added by appkit");
            }
        }
    }

    if config.environments.is_empty() {
        err(
            "environments",
            "environments",
            "no environments: define at least one under `environments:`".into(),
            "",
        );
    }
    let mut outputs: BTreeMap<PathBuf, &str> = BTreeMap::new();
    for (name, env) in &config.environments {
        let p = format!("environments/{name}");
        if let Some(why) = dns1123_label(name) {
            err(&p, "name", format!("environment name {name:?} {why}"), "environment names appear in file names (values.<env>.yaml): use lowercase letters, digits and '-'");
        }
        if let Some(why) = dns1123_label(&env.namespace) {
            err(
                &format!("{p}/namespace"),
                "name",
                format!("namespace {:?} {why}", env.namespace),
                "",
            );
        }
        if let Err(e) = semver::Version::parse(&env.chart_version) {
            err(
                &format!("{p}/chartVersion"),
                "version",
                format!("chartVersion {:?} is not SemVer 2: {e}", env.chart_version),
                "write a full version like 1.2.0; quote it if YAML would read it as a number",
            );
        }
        for (app, v) in &env.pins {
            if let Err(e) = semver::Version::parse(v) {
                err(
                    &format!("{p}/pins/{app}"),
                    "version",
                    format!("pin {app}: {v:?} is not SemVer 2: {e}"),
                    "",
                );
            }
        }
        if env.output.as_os_str().is_empty() {
            err(
                &format!("{p}/output"),
                "output",
                "output directory is empty".into(),
                "",
            );
        }
        let norm = normalize(&env.output);
        if let Some(other) = outputs.insert(norm, name) {
            err(&format!("{p}/output"), "output", format!("environments {other} and {name} write to the same output directory {}", env.output.display()),
                "each environment needs its own directory, or render would overwrite one with the other");
        }
    }
    for (app, s) in &config.apps.settings {
        let p = format!("apps/settings/{app}");
        if let Some(ns) = &s.namespace {
            if let Some(why) = dns1123_label(ns) {
                err(
                    &format!("{p}/namespace"),
                    "name",
                    format!("namespace {ns:?} {why}"),
                    "",
                );
            }
        }
        if let Some(rn) = &s.release_name {
            if let Some(why) = dns1123_label(rn) {
                err(
                    &format!("{p}/releaseName"),
                    "name",
                    format!("releaseName {rn:?} {why}"),
                    "",
                );
            } else if rn.len() > 53 {
                err(
                    &format!("{p}/releaseName"),
                    "release-name",
                    format!(
                        "releaseName {rn:?} is {} characters; Helm allows at most 53",
                        rn.len()
                    ),
                    "",
                );
            }
        }
    }
    for (key, v) in [
        ("registry/pullSecret", &config.registry.pull_secret),
        ("registry/caSecret", &config.registry.ca_secret),
        ("registry/cosignSecret", &config.registry.cosign_secret),
    ] {
        if let Some(name) = v {
            if let Some(why) = dns1123_subdomain(name) {
                err(key, "name", format!("secret name {name:?} {why}"), "");
            }
        }
    }
    for (key, v) in [
        ("flux/interval", &config.flux.interval),
        ("flux/timeout", &config.flux.timeout),
    ] {
        if !is_go_duration(v) {
            err(
                key,
                "duration",
                format!("{v:?} is not a duration Flux accepts"),
                "use a number with ms, s, m or h, e.g. 10m or 1h30m",
            );
        }
    }
    if !["enabled", "warn", "disabled"].contains(&config.flux.drift_detection.as_str()) {
        err(
            "flux/driftDetection",
            "drift-detection",
            format!(
                "driftDetection {:?} is not one of enabled, warn, disabled",
                config.flux.drift_detection
            ),
            "",
        );
    }
    for (i, ns) in config.platform_namespaces.iter().enumerate() {
        if let Some(why) = dns1123_label(ns) {
            err(
                &format!("platformNamespaces/{i}"),
                "name",
                format!("namespace {ns:?} {why}"),
                "",
            );
        }
    }
    for (i, pool) in config.node_pools.iter().enumerate() {
        if let Some(why) = label_value(pool) {
            err(
                &format!("nodePools/{i}"),
                "name",
                format!("node pool {pool:?} {why}"),
                "node pools are node label values",
            );
        }
    }
    out
}

fn normalize(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            c => out.push(c),
        }
    }
    out
}

/// `None` when `s` is a DNS-1123 label (Kubernetes namespace / object name), else why not.
pub fn dns1123_label(s: &str) -> Option<String> {
    if s.is_empty() {
        return Some("is empty".into());
    }
    if s.len() > 63 {
        return Some(format!("is {} characters long (at most 63)", s.len()));
    }
    if !s
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        return Some("must consist of lowercase letters, digits and '-'".into());
    }
    if s.starts_with('-') || s.ends_with('-') {
        return Some("must start and end with a letter or digit".into());
    }
    None
}

/// `None` when `s` is a DNS-1123 subdomain (Secret names), else why not.
pub fn dns1123_subdomain(s: &str) -> Option<String> {
    if s.len() > 253 {
        return Some("is longer than 253 characters".into());
    }
    for part in s.split('.') {
        if let Some(why) = dns1123_label(part) {
            return Some(format!("is not a DNS-1123 subdomain: part {part:?} {why}"));
        }
    }
    None
}

fn label_value(s: &str) -> Option<String> {
    let ok = !s.is_empty()
        && s.len() <= 63
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        && s.as_bytes()[0].is_ascii_alphanumeric()
        && s.as_bytes()[s.len() - 1].is_ascii_alphanumeric();
    (!ok).then(|| "is not a valid Kubernetes label value".into())
}

/// Go durations as the Flux CRDs accept them: `^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$`.
pub fn is_go_duration(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    if b.is_empty() {
        return false;
    }
    while i < b.len() {
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == start {
            return false;
        }
        if i < b.len() && b[i] == b'.' {
            i += 1;
            let f = i;
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
            if i == f {
                return false;
            }
        }
        if b[i..].starts_with(b"ms") {
            i += 2;
        } else if i < b.len() && matches!(b[i], b's' | b'm' | b'h') {
            i += 1;
        } else {
            return false;
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "chart:\n  path: chart\n  repository: oci://harbor.example.com/platform\napps:\n  settings:\n    app2:\n      dependsOn: [app1]\nenvironments:\n  dev:\n    output: clusters/dev/apps\n    chartVersion: 0.1.0\n  prod:\n    output: clusters/prod/apps\n    chartVersion: 0.1.0\n    pins:\n      app1: 0.2.0\n";

    fn load_text(text: &str) -> Result<(Loaded, Vec<Diagnostic>), ConfigError> {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join(CONFIG_FILE);
        std::fs::write(&p, text).unwrap();
        load_with_warnings(&p)
    }

    fn errors(text: &str) -> Vec<Diagnostic> {
        match load_text(text) {
            Err(e) => e.diagnostics().to_vec(),
            Ok(_) => panic!("expected errors for:\n{text}"),
        }
    }

    #[test]
    fn loads_a_good_config_with_positions() {
        let (l, warnings) = load_text(GOOD).unwrap();
        assert!(warnings.is_empty());
        assert_eq!(
            l.config.environments["prod"].chart_version_for("app1"),
            "0.2.0"
        );
        assert_eq!(
            l.config.environments["prod"].chart_version_for("app2"),
            "0.1.0"
        );
        let at = l.source_map.value("environments/dev/chartVersion");
        assert_eq!((at.line, at.column), (11, 19));
        assert_eq!(&GOOD[at.span.clone()], "0.1.0");
        assert_eq!(l.source_map.value("apps/settings/app2/dependsOn/0").line, 7);
    }

    #[test]
    fn unknown_key_has_a_position() {
        let text = GOOD.replace(
            "    chartVersion: 0.1.0\n  prod",
            "    chartVersoin: 0.1.0\n  prod",
        );
        let d = errors(&text);
        assert_eq!(d.len(), 1, "{d:?}");
        let l = d[0].location.as_ref().unwrap();
        assert_eq!(l.line, 11, "{d:?}");
        assert!(d[0].message.contains("chartVersoin"), "{}", d[0].message);
    }

    #[test]
    fn wrong_type_has_a_position() {
        let text = GOOD.replace(
            "  settings:\n    app2:\n      dependsOn: [app1]\n",
            "  settings:\n    app2:\n      dependsOn: {a: 1}\n",
        );
        let d = errors(&text);
        assert_eq!(d[0].location.as_ref().unwrap().line, 7, "{d:?}");
    }

    #[test]
    fn semantic_errors_are_all_reported_with_positions() {
        let text = GOOD
            .replace(
                "oci://harbor.example.com/platform",
                "https://harbor.example.com/platform",
            )
            .replace(
                "    output: clusters/prod/apps\n    chartVersion: 0.1.0\n",
                "    output: ./clusters/dev/apps\n    chartVersion: \"1.0\"\n",
            )
            .replace("      app1: 0.2.0\n", "      app1: latest\n");
        let d = errors(&text);
        let lines: Vec<(String, usize)> = d
            .iter()
            .map(|d| (d.code.clone(), d.location.as_ref().unwrap().line))
            .collect();
        assert!(lines.contains(&("repository".into(), 3)), "{lines:?}");
        assert!(lines.contains(&("version".into(), 14)), "{lines:?}");
        assert!(lines.contains(&("version".into(), 16)), "{lines:?}");
        assert!(lines.contains(&("output".into(), 13)), "{lines:?}");
        let shown = format_diagnostics(&d);
        assert!(
            shown.contains("appkit.yaml:3:15: error[repository]"),
            "{shown}"
        );
    }

    #[test]
    fn app_checks_find_unknown_dependencies_and_cycles() {
        let text = GOOD.replace(
            "      dependsOn: [app1]\n",
            "      dependsOn: [app1, ap3]\n    app1:\n      dependsOn: [app2]\n",
        );
        let (l, _) = load_text(&text).unwrap();
        let d = l.check_apps(&["app1".into(), "app2".into(), "app3".into()]);
        let msgs: Vec<&str> = d.iter().map(|d| d.message.as_str()).collect();
        assert!(
            msgs.iter()
                .any(|m| m.contains("\"ap3\", which is not an app")),
            "{msgs:?}"
        );
        assert!(
            d.iter()
                .any(|d| d.help.as_deref() == Some("did you mean \"app3\"?")),
            "{d:?}"
        );
        assert!(
            msgs.iter()
                .any(|m| m.starts_with("dependency cycle: app1 → app2 → app1")),
            "{msgs:?}"
        );
        let bad = l.check_apps(&["App_1".into()]);
        assert!(bad.iter().any(|d| d.code == "app-name"), "{bad:?}");
    }

    #[test]
    fn names_and_durations() {
        assert!(dns1123_label("app-1").is_none());
        assert!(dns1123_label("App").is_some());
        assert!(dns1123_label(&"a".repeat(64)).is_some());
        assert!(dns1123_subdomain("harbor.pull-secret").is_none());
        for ok in ["10m", "1h30m", "500ms", "1.5h"] {
            assert!(is_go_duration(ok), "{ok}");
        }
        for bad in ["", "10", "m", "10 m", "1d", "1.m"] {
            assert!(!is_go_duration(bad), "{bad}");
        }
    }
}
