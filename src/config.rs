//! `appkit.yaml`, the platform config: where the chart lives and is published, the apps directory,
//! the environments and their Flux settings, the node pools and platform namespaces apps may use,
//! and the severity of each platform rule. Paths in it are relative to the file's directory.
//!
//! This module owns the typed model and loading it (with file:line errors); it does not know
//! what the commands do with it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

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
    Invalid { path: PathBuf, message: String },
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

/// A loaded config and the directory its relative paths are resolved against.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub path: PathBuf,
    pub root: PathBuf,
    pub config: Config,
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

/// Load and check `appkit.yaml`.
pub fn load(path: &Path) -> Result<Loaded, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.into(),
        source,
    })?;
    let config: Config = serde_saphyr::from_str(&text).map_err(|e| ConfigError::Invalid {
        path: path.into(),
        message: e.to_string(),
    })?;
    let root = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."));
    Ok(Loaded {
        path: path.to_path_buf(),
        root,
        config,
    })
}
