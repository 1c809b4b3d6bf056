//! `appkit.yaml`, the platform config: where the chart lives and is published, the apps directory,
//! the environments and their Flux settings, the node pools and platform namespaces apps may use,
//! and the severity of each platform rule. Paths in it are relative to the file's directory.
//! The schema reference for users is `docs/appkit-yaml.md`.
//!
//! This module owns the typed model and loading it, in three passes that all report
//! [`Diagnostic`]s with file:line:col and the file's text (for a caret snippet), every problem at
//! once: the shape ([`shape`]: unknown keys with "did you mean", wrong types, missing keys, `rules:`
//! codes checked against [`crate::rules`]), the semantic checks ([`check`]: SemVer versions,
//! DNS-1123 names, distinct output directories, `oci://` repository, …), then serde-saphyr, which
//! builds the typed model (and reports syntax errors and duplicate keys). It does not know what
//! the commands do with the config, nor how diagnostics are shown (`crate::diagnostics`; the
//! printer renders those of a failed load before the `error:` line).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::diagnostics::{Diagnostic, Location, SourceFile};

mod check;
mod shape;
mod source_map;

use check::check;
pub use source_map::SourceMap;

pub const CONFIG_FILE: &str = "appkit.yaml";
/// The largest `appkit.yaml` read (a platform config is a few KiB).
pub const MAX_CONFIG_BYTES: u64 = 1024 * 1024;

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
    /// The file was read and is wrong; every problem found, with positions and the file's text.
    /// Its source is an [`crate::error::Invalid`] carrying the same diagnostics, so every command
    /// exits 1 for it (the input is wrong) and the printer renders them with carets above the
    /// `error:` line.
    #[error("{} is invalid", path.display())]
    Diagnostics {
        path: PathBuf,
        diagnostics: Vec<Diagnostic>,
        #[source]
        invalid: crate::error::Invalid,
    },
}

impl ConfigError {
    fn from_diagnostics(path: &Path, diagnostics: Vec<Diagnostic>) -> ConfigError {
        let n = diagnostics.len();
        let name = path
            .file_name()
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_default();
        let invalid = crate::error::Invalid::new(format!(
            "{n} problem{} in {name}",
            if n == 1 { "" } else { "s" }
        ))
        .with_hint("docs/appkit-yaml.md describes every key of appkit.yaml")
        .with_diagnostics(diagnostics.clone());
        ConfigError::Diagnostics {
            path: path.into(),
            diagnostics,
            invalid,
        }
    }
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
    /// Node pools apps may ask for with `nodepool:`: a name, or `{name, allocatable: {cpu,
    /// memory}}` (what the pool's nodes hold together, for `report`).
    #[serde(default)]
    pub node_pools: Vec<NodePool>,
    /// Namespaces owned by the platform that apps may name in network policy allows.
    #[serde(default)]
    pub platform_namespaces: Vec<String>,
    /// Rule code → `error` | `warning` | `off`.
    #[serde(default)]
    pub rules: BTreeMap<String, RuleLevel>,
    /// Values the platform sets for every app (`defaults`, below the app's files) or enforces
    /// (`locked`, above them; an app file that sets a locked path is a `platform-owned` error).
    #[serde(default)]
    pub platform_values: PlatformValues,
    /// Network access the platform grants every app (`platformIngress`).
    #[serde(default)]
    pub network: NetworkConfig,
    /// Directory of the platform's own tera templates for `new` and `docs`; a file there named like
    /// an embedded template (`values.yaml.tera`, `overlay.yaml.tera`, `README.md.tera`) replaces it.
    #[serde(default)]
    pub templates: Option<PathBuf>,
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
    /// The namespace of every app, as a pattern where `{app}` is the app name (`"{app}-ns"`);
    /// default `{app}`. A per-app `settings.<app>.namespace` wins.
    #[serde(default)]
    pub namespace: Option<String>,
    /// Per-app release settings owned by the platform (namespace, dependencies).
    #[serde(default)]
    pub settings: BTreeMap<String, AppSettings>,
}

impl Default for AppsConfig {
    fn default() -> Self {
        AppsConfig {
            dir: default_apps_dir(),
            namespace: None,
            settings: BTreeMap::new(),
        }
    }
}

/// `platformValues:` (top level, and per environment merged over it).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PlatformValues {
    /// Chart values the platform sets for every app; an app's files may override them.
    #[serde(default)]
    pub defaults: serde_json::Map<String, serde_json::Value>,
    /// Chart values the platform enforces; an app file may not set them.
    #[serde(default)]
    pub locked: serde_json::Map<String, serde_json::Value>,
}

/// `network:`.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NetworkConfig {
    /// Platform namespaces admitted to every app, on the ports named.
    #[serde(default)]
    pub platform_ingress: Vec<PlatformIngress>,
}

/// One `network.platformIngress` entry: `{namespace: ingress-nginx, ports: [app]}`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PlatformIngress {
    pub namespace: String,
    /// `app` (the app's port), `dapr-metrics` (the sidecar's 9090), `metrics` (the app's
    /// `metricsPort`) or a port number.
    pub ports: Vec<serde_json::Value>,
}

/// The port names `network.platformIngress` accepts besides numbers.
pub const PORT_NAMES: [&str; 3] = ["app", "dapr-metrics", "metrics"];

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
    /// This app's Flux settings, over the top-level `flux` ones.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flux: Option<AppFlux>,
}

/// `apps.settings.<app>.flux`: the fleet settings one app overrides.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AppFlux {
    /// One of `flux.shards`, instead of the one the app's name hashes to.
    pub shard: Option<String>,
    pub strategy: Option<String>,
    pub retry_interval: Option<String>,
    pub drift_detection: Option<DriftSetting>,
    pub service_account_name: Option<String>,
    /// Merged over `flux.commonMetadata` (the app's keys win).
    pub common_metadata: Option<CommonMetadata>,
}

/// One `nodePools` entry: a name, or a name with what the pool holds. A name is any scalar,
/// as for every other text field (`- 1` is the pool `1`), which serde's untagged enums do not
/// give (they buffer the number and refuse it as a string): hence the visitor.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum NodePool {
    Name(String),
    Full(NodePoolFull),
}

impl<'de> Deserialize<'de> for NodePool {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = NodePool;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a node pool name, or a mapping with `name` and `allocatable`")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<NodePool, E> {
                Ok(NodePool::Name(v.to_string()))
            }
            fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<NodePool, E> {
                Ok(NodePool::Name(v.to_string()))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<NodePool, E> {
                Ok(NodePool::Name(v.to_string()))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<NodePool, E> {
                Ok(NodePool::Name(v.to_string()))
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<NodePool, E> {
                Ok(NodePool::Name(v.to_string()))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, m: A) -> Result<NodePool, A::Error> {
                NodePoolFull::deserialize(serde::de::value::MapAccessDeserializer::new(m))
                    .map(NodePool::Full)
            }
        }
        d.deserialize_any(V)
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NodePoolFull {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allocatable: Option<Allocatable>,
}

/// What a node pool's nodes hold together (Kubernetes quantities: `64`, `256Gi`).
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Allocatable {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory: Option<String>,
}

impl NodePool {
    pub fn name(&self) -> &str {
        match self {
            NodePool::Name(n) => n,
            NodePool::Full(f) => &f.name,
        }
    }
    pub fn allocatable(&self) -> Option<&Allocatable> {
        match self {
            NodePool::Name(_) => None,
            NodePool::Full(f) => f.allocatable.as_ref(),
        }
    }
}

impl Config {
    /// The names of `nodePools`, in order.
    pub fn node_pool_names(&self) -> Vec<String> {
        self.node_pools
            .iter()
            .map(|p| p.name().to_string())
            .collect()
    }
}

/// `flux.driftDetection`: a mode (`enabled`, `warn`, `disabled`), or `{mode, ignore}`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(untagged)]
pub enum DriftSetting {
    Mode(String),
    Full(DriftFull),
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DriftFull {
    pub mode: Option<String>,
    #[serde(default)]
    pub ignore: Vec<DriftIgnore>,
}

/// One of helm-controller's drift-detection ignore rules.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DriftIgnore {
    /// JSON Pointers (RFC 6901), e.g. `/spec/replicas`.
    pub paths: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<DriftTarget>,
}

/// Which objects an ignore rule applies to (helm-controller's selector).
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DriftTarget {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label_selector: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotation_selector: Option<String>,
}

impl DriftSetting {
    pub fn mode(&self) -> Option<&str> {
        match self {
            DriftSetting::Mode(m) => Some(m),
            DriftSetting::Full(f) => f.mode.as_deref(),
        }
    }
    /// The mode render writes (appkit's default: `enabled`).
    pub fn mode_or_default(&self) -> &str {
        self.mode().unwrap_or("enabled")
    }
    pub fn ignore(&self) -> &[DriftIgnore] {
        match self {
            DriftSetting::Mode(_) => &[],
            DriftSetting::Full(f) => &f.ignore,
        }
    }
}

/// Labels and annotations helm-controller puts on every object of the release.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CommonMetadata {
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
}

impl CommonMetadata {
    /// `self` with `over`'s keys on top.
    pub fn merged(&self, over: Option<&CommonMetadata>) -> CommonMetadata {
        let mut out = self.clone();
        if let Some(o) = over {
            out.labels.extend(o.labels.clone());
            out.annotations.extend(o.annotations.clone());
        }
        out
    }
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty() && self.annotations.is_empty()
    }
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
    /// The registry speaks plain HTTP (an in-cluster Harbor): Flux sources get `insecure: true`
    /// and appkit's own calls to it use HTTP, as if `--plain-http` were given.
    #[serde(default)]
    pub insecure: bool,
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
    /// `enabled` | `warn` | `disabled`, or `{mode, ignore: [{paths, target}]}`
    #[serde(default = "default_drift")]
    pub drift_detection: DriftSetting,
    #[serde(default)]
    pub test: bool,
    #[serde(default = "default_true")]
    pub create_namespace: bool,
    /// Where HelmReleases get the chart: `ocirepository` (OCIRepository + `chartRef`, pins the
    /// digest) or `helmrepository` (HelmRepository `type: oci` + `chart.spec`, legacy).
    #[serde(default = "default_source_kind")]
    pub source_kind: String,
    /// `shared`: one source per (environment, chart version) in `sources.yaml`; `per-app`: one
    /// in each app's file.
    #[serde(default = "default_sources")]
    pub sources: String,
    /// Shard names (`sharding.fluxcd.io/key`), each HelmRelease labelled with one.
    #[serde(default)]
    pub shards: Vec<String>,
    /// helm-controller's install/upgrade strategy: `RemediateOnFailure` (default) or
    /// `RetryOnFailure` (Flux >= 2.7).
    #[serde(default)]
    pub strategy: Option<String>,
    /// With `RetryOnFailure`: how long between attempts.
    #[serde(default)]
    pub retry_interval: Option<String>,
    #[serde(default)]
    pub service_account_name: Option<String>,
    #[serde(default)]
    pub common_metadata: Option<CommonMetadata>,
    /// The Flux the cluster runs (`2.7`, `2.9`): render emits only fields its CRDs know.
    #[serde(default = "default_flux_version")]
    pub version: String,
}

/// The Flux versions render knows the CRDs of (vendored in tests/fixtures/reference/flux).
pub const FLUX_VERSIONS: [&str; 2] = ["2.7", "2.9"];
/// The values `flux.sources` accepts.
pub const SOURCE_MODES: [&str; 2] = ["shared", "per-app"];
/// The values `flux.strategy` accepts.
pub const STRATEGIES: [&str; 2] = ["RemediateOnFailure", "RetryOnFailure"];

impl Default for FluxDefaults {
    fn default() -> Self {
        FluxDefaults {
            interval: default_interval(),
            timeout: default_timeout(),
            retries: default_retries(),
            drift_detection: default_drift(),
            test: false,
            create_namespace: true,
            source_kind: default_source_kind(),
            sources: default_sources(),
            shards: Vec::new(),
            strategy: None,
            retry_interval: None,
            service_account_name: None,
            common_metadata: None,
            version: default_flux_version(),
        }
    }
}

/// The values `flux.sourceKind` accepts.
pub const SOURCE_KINDS: [&str; 2] = ["ocirepository", "helmrepository"];

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
    /// Platform values of this environment, merged over the top-level `platformValues`.
    #[serde(default)]
    pub platform_values: PlatformValues,
    /// The cluster's Kubernetes version, for `plan` (`helm template --kube-version`).
    #[serde(default)]
    pub kube_version: Option<String>,
    /// The cluster's API versions, for `plan` (`helm template --api-versions`, each).
    #[serde(default)]
    pub api_versions: Vec<String>,
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
fn default_drift() -> DriftSetting {
    DriftSetting::Mode("enabled".into())
}
fn default_sources() -> String {
    "shared".into()
}
fn default_flux_version() -> String {
    "2.9".into()
}
fn default_true() -> bool {
    true
}
fn default_source_kind() -> String {
    "ocirepository".into()
}
fn default_flux_namespace() -> String {
    "flux-system".into()
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
    pub fn components_dir(&self) -> PathBuf {
        self.root.join(&self.config.components)
    }
    pub fn lock_path(&self) -> PathBuf {
        self.root.join(crate::lock::LOCK_FILE)
    }
    /// The namespace an app is deployed to: its `apps.settings.<app>.namespace`, else the
    /// `apps.namespace` pattern with `{app}` replaced, else the app name.
    pub fn app_namespace(&self, app: &str) -> String {
        let apps = &self.config.apps;
        apps.settings
            .get(app)
            .and_then(|s| s.namespace.clone())
            .or_else(|| apps.namespace.as_ref().map(|p| p.replace("{app}", app)))
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
pub fn load(path: &Path) -> Result<Loaded, ConfigError> {
    load_with_warnings(path).map(|(l, _)| l)
}

/// [`load`], also returning the warnings found.
pub fn load_with_warnings(path: &Path) -> Result<(Loaded, Vec<Diagnostic>), ConfigError> {
    let text = crate::fsutil::read_to_string_limited(path, MAX_CONFIG_BYTES).map_err(|source| {
        // Read, and its content is wrong (not UTF-8, over the size limit): wrong input (exit 1),
        // like a malformed file. Could not read it at all (missing, FIFO, permission): exit 2.
        if source.kind() == std::io::ErrorKind::InvalidData {
            let d = Diagnostic::error("config", source.to_string())
                .at(crate::diagnostics::Location::file_only(path.to_path_buf()))
                .help("appkit.yaml is a small UTF-8 YAML file (at most 1 MiB)");
            ConfigError::from_diagnostics(path, vec![d])
        } else {
            ConfigError::Read {
                path: path.into(),
                source,
            }
        }
    })?;
    load_text(path, text)
}

/// [`load_with_warnings`] of a text in memory, as if it were the file at `path` (its directory
/// is the root): how an edit of `appkit.yaml` is checked before it is written.
pub fn load_text(path: &Path, text: String) -> Result<(Loaded, Vec<Diagnostic>), ConfigError> {
    let source = SourceFile::new(path, text);
    let source_map = SourceMap::build(&source);
    // 1. The shape, every problem at once; with problems, the semantic checks run on what is
    //    usable and everything is reported together.
    if let Some(shaped) = shape::check(&source) {
        if !shaped.diagnostics.is_empty() {
            let mut diagnostics = shaped.diagnostics;
            if let Some(config) = shaped
                .repaired
                .and_then(|v| serde_json::from_value::<Config>(v).ok())
            {
                diagnostics.extend(
                    check(&config, &source_map)
                        .into_iter()
                        .filter(Diagnostic::is_error),
                );
            }
            crate::diagnostics::sort_dedup(&mut diagnostics);
            return Err(ConfigError::from_diagnostics(path, diagnostics));
        }
    }
    // 2. The typed model (serde-saphyr also reports syntax errors and duplicate keys).
    let config: Config = serde_saphyr::from_str(&source.text).map_err(|e| {
        let location = e.location().map(|l| {
            let start = l.span().byte_offset().map(|b| b as usize).unwrap_or(0);
            Location::in_source(
                &source,
                l.line() as usize,
                l.column() as usize,
                start..start,
            )
        });
        let mut d = Diagnostic::error("config", first_line(&e.to_string()))
            .help("see docs/appkit-yaml.md for every key appkit.yaml accepts");
        d.location = location.or_else(|| Some(source_map.value("")));
        ConfigError::from_diagnostics(path, vec![d])
    })?;
    let root = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."));
    // 3. The semantic checks.
    let diagnostics = check(&config, &source_map);
    let (errors, warnings): (Vec<_>, Vec<_>) =
        diagnostics.into_iter().partition(Diagnostic::is_error);
    if !errors.is_empty() {
        return Err(ConfigError::from_diagnostics(path, errors));
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

/// serde-saphyr messages start with the position in words and may append a snippet; keep the
/// message only (the diagnostic carries the position).
fn first_line(s: &str) -> String {
    crate::fsutil::yaml_error_message(s)
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
            Err(ConfigError::Diagnostics { diagnostics, .. }) => diagnostics,
            Err(e) => panic!("expected diagnostics, got {e}"),
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
    fn an_invalid_config_means_exit_code_1_with_a_hint() {
        let text = GOOD.replace("0.1.0\n  prod", "latest\n  prod");
        let err = load_text(&text).map(|_| ()).unwrap_err();
        assert!(matches!(err, ConfigError::Diagnostics { .. }));
        let err = anyhow::Error::new(err);
        assert_eq!(crate::error::exit_code(&err), 1);
        assert!(crate::error::hint(&err)
            .unwrap()
            .contains("docs/appkit-yaml.md"));
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
        let shown = crate::diagnostics::render_human(&d, None, false);
        assert!(shown.contains("appkit.yaml:3:15\n"), "{shown}");
        assert!(shown.contains("error[repository]"), "{shown}");
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

    /// The shape check and serde-saphyr agree on what the model accepts: the shape never refuses
    /// a file serde-saphyr would load (that would break working configs), and what serde refuses
    /// the shape reports in its own words.
    #[test]
    fn the_shape_check_agrees_with_the_serde_model() {
        let doc = include_str!("../docs/appkit-yaml.md");
        let example = doc
            .split("```yaml\n")
            .nth(1)
            .and_then(|s| s.split("```").next())
            .unwrap();
        let cases: Vec<String> = vec![
            GOOD.to_string(),
            example.to_string(),
            GOOD.replace("chartVersion: 0.1.0\n  prod", "chartVersion: 1.10\n  prod"),
            format!("{GOOD}flux:\n  retries: \"3\"\n"),
            format!("{GOOD}flux:\n  retries: 0x10\n"),
            format!("{GOOD}flux:\n  retries: -1\n"),
            format!("{GOOD}flux:\n  retries: 1.5\n"),
            format!("{GOOD}flux:\n  retries: many\n"),
            format!("{GOOD}flux:\n  test: yes\n"),
            format!("{GOOD}flux:\n  test: True\n"),
            format!("{GOOD}flux:\n  test: \"true\"\n"),
            format!("{GOOD}flux:\n  interval: 10\n"),
            format!("{GOOD}flux:\n"),
            format!("{GOOD}registry:\n  pullSecret: ~\n"),
            format!("{GOOD}nodePools:\n"),
            format!("{GOOD}nodePools: [a, 1, true]\n"),
            format!("{GOOD}nodePools: [a, {{name: b, allocatable: {{cpu: 16, memory: 64Gi}}}}]\n"),
            format!("{GOOD}nodePools: [{{name: b, allocatable: {{cpu: 16, disk: 1}}}}]\n"),
            format!("{GOOD}nodePools: [{{allocatable: {{cpu: 16}}}}]\n"),
            format!("{GOOD}nodePools: a\n"),
            format!("{GOOD}templates: [a]\n"),
            format!("{GOOD}rules:\n  image-not-pinned: Error\n"),
            format!("{GOOD}rules:\n  image-not-pinned: off\n"),
            format!("{GOOD}rules:\n  image-not-pinned: \"off\"\n"),
            format!("{GOOD}rules:\n"),
            format!("{GOOD}components: !!str platform\n"),
            GOOD.replace("apps:\n  settings:", "apps:\n  dir: 7\n  settings:"),
            GOOD.replace("      dependsOn: [app1]\n", "      dependsOn:\n"),
            GOOD.replace("      dependsOn: [app1]\n", "      namespace:\n"),
            GOOD.replace("      app1: 0.2.0\n", "      app1: 2\n"),
            GOOD.replace("    pins:\n      app1: 0.2.0\n", "    promoted: 1\n"),
            GOOD.replace("      app1: 0.2.0\n", "      app1: ~\n"),
            GOOD.replace("      dependsOn: [app1]\n", "      dependsOn: [~]\n"),
            GOOD.replace("  path: chart\n", "  path: ~\n"),
            GOOD.replace("  path: chart\n", "  path: \"\"\n"),
            format!("{GOOD}flux:\n  retries: 99999999999\n"),
            format!("{GOOD}flux:\n  test: \"yEs\"\n"),
            format!("{GOOD}flux:\n  test: 1\n"),
            format!("{GOOD}templates:\n"),
        ];
        let mut mismatches = Vec::new();
        for text in &cases {
            let source = SourceFile::new("appkit.yaml", text.clone());
            let shape_ok = shape::check(&source).is_none_or(|c| c.diagnostics.is_empty());
            let serde_ok = serde_saphyr::from_str::<Config>(text).is_ok();
            if shape_ok != serde_ok {
                mismatches.push(format!("shape {shape_ok}, serde {serde_ok}:\n{text}"));
            }
        }
        assert!(mismatches.is_empty(), "{}", mismatches.join("\n---\n"));
    }

    /// Defect 6 of issue 12: only serde's first error was shown, as `invalid u32`, without a
    /// snippet. Now every problem is reported at once, each with a caret, unknown keys with
    /// "did you mean".
    #[test]
    fn appkit_yaml_problems_are_all_reported_at_once_with_carets_and_did_you_mean() {
        let text = GOOD
            .replace(
                "    chartVersion: 0.1.0\n  prod",
                "    chartVersion: latest\n  prod",
            )
            .replace("apps:\n  settings:", "apps:\n  dirr: apps\n  settings:")
            + "flux:\n  retries: many\n";
        let d = errors(&text);
        let got: Vec<(&str, usize)> = d
            .iter()
            .map(|d| (d.code.as_str(), d.location.as_ref().unwrap().line))
            .collect();
        assert_eq!(
            got,
            [("unknown-key", 5), ("version", 12), ("type", 19)],
            "{d:#?}"
        );
        let shown = crate::diagnostics::render_human(&d, None, false);
        assert!(shown.contains("unknown key `dirr` in `apps`"), "{shown}");
        assert!(shown.contains("did you mean `dir`?"), "{shown}");
        assert!(
            shown.contains("`flux.retries` must be an unsigned integer (0 to 4294967295), found `many` (a string)"),
            "{shown}"
        );
        assert!(!shown.contains("invalid u32"), "{shown}");
        for caret in [
            "  dirr: apps\n  |   ^^^^",
            "  retries: many\n   |            ^^^^",
            "chartVersion: latest\n   |                   ^^^^^^",
        ] {
            assert!(shown.contains(caret), "{caret:?} in\n{shown}");
        }
    }

    /// Defect 1 of issue 12: `rules: {image-tag-not-digst: error}` was silently ignored.
    #[test]
    fn an_unknown_rule_code_is_an_error_with_did_you_mean() {
        let d = errors(&format!("{GOOD}rules:\n  image-tag-not-digst: error\n"));
        assert_eq!(d.len(), 1, "{d:?}");
        assert_eq!(d[0].code, "unknown-rule");
        let at = d[0].location.as_ref().unwrap();
        assert_eq!((at.line, at.column), (18, 3));
        assert_eq!(
            d[0].help.as_deref(),
            Some("did you mean `image-tag-not-digest`?")
        );
        let (l, _) = load_text(&format!("{GOOD}rules:\n  image-tag-not-digest: off\n")).unwrap();
        assert_eq!(l.config.rules["image-tag-not-digest"], RuleLevel::Off);
    }
}
