//! From appkit.yaml, appkit.lock and `apps/` to the exact bytes of every Flux file, per
//! environment — computed entirely in memory, so that any problem stops the run before a single
//! file is written (all-or-nothing). Problems are collected, not returned one at a time.
//!
//! The chart source (`flux.sources`):
//! - `shared` (default): one OCIRepository per (environment, chart version), named
//!   [`shared_source_name`] (`<chart>-<version>`, DNS-1123), in `<out>/sources.yaml`, in the
//!   environment's Flux namespace; every HelmRelease of that version points at it with
//!   `chartRef`. Flux's guidance for fleets: one source per artifact, not one per release.
//! - `per-app`: `<out>/<app>.yaml` also holds an OCIRepository `<app>`.
//!
//! An OCIRepository has `url` = `<chart.repository>/<chart name>` (no tag), `ref.tag` = the chart
//! version as an OCI tag (`+` → `_`), `ref.digest` from appkit.lock, a `layerSelector` that copies
//! the Helm chart layer, pull/CA secrets and cosign verification when configured. With
//! [`SourceKind::HelmRepository`] it is a HelmRepository `type: oci` and the HelmRelease uses the
//! legacy `chart.spec`, which cannot pin a digest.
//!
//! Fleet settings: `flux.shards` labels each HelmRelease `sharding.fluxcd.io/key` with the shard
//! [`shard_for`] picks (rendezvous hashing of the app name: adding an app never moves another, a
//! new shard takes only its share), a source shared by releases of several shards is labelled for
//! none; `flux.strategy`/`retryInterval`, `driftDetection.ignore`, `serviceAccountName` and
//! `commonMetadata`, each overridable per app under `apps.settings.<app>.flux`.
//!
//! `<out>/kustomization.yaml` lists the files. Every file starts with [`super::GENERATED_MARKER`].

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// What an environment's Dapr-resources render is called after the environment's name (status
/// lines say `dev (Dapr resources)`; `-o json` gives `env: dev` and `content: dapr`).
pub const DAPR_LABEL: &str = " (Dapr resources)";

use serde_json::Value;

use super::model::*;
use super::FluxError;
use crate::config::Loaded;
use crate::diagnostics::Diagnostic;
use crate::lock::Lock;

/// Helm's limit on release names.
pub const MAX_RELEASE_NAME: usize = 53;

/// Where HelmReleases get their chart from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SourceKind {
    /// OCIRepository + `chartRef` (Flux ≥ 2.6; pins the digest).
    #[default]
    OciRepository,
    /// HelmRepository `type: oci` + `chart.spec` (legacy, for older Flux; no digest pinning).
    HelmRepository,
}

/// What to render.
#[derive(Debug, Clone, Default)]
pub struct RenderOptions {
    /// Environments to render, already selected by the workspace (each one of appkit.yaml's).
    pub envs: Vec<String>,
    /// The apps, as the workspace lists them.
    pub apps: Vec<String>,
    /// Output directory overriding the environment's (only with exactly one environment).
    pub out: Option<PathBuf>,
}

impl SourceKind {
    /// `flux.sourceKind` of `appkit.yaml` (checked when it was loaded).
    pub fn of(config: &crate::config::Config) -> SourceKind {
        match config.flux.source_kind.as_str() {
            "helmrepository" => SourceKind::HelmRepository,
            _ => SourceKind::OciRepository,
        }
    }
}

/// The settings that decide which Helm release a HelmRelease manages; when one changes, Flux
/// uninstalls the old release and installs a new one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReleaseIdentity {
    pub release_name: String,
    pub target_namespace: String,
    pub storage_namespace: String,
}

/// One environment's render: file name (in `out_dir`) → content.
#[derive(Debug, Clone)]
pub struct EnvRender {
    pub env: String,
    pub out_dir: PathBuf,
    pub files: BTreeMap<String, String>,
    /// App file name → the release identity its HelmRelease has (for the reinstall warning).
    pub releases: BTreeMap<String, ReleaseIdentity>,
}

#[derive(Debug, Clone)]
pub struct Rendered {
    pub envs: Vec<EnvRender>,
    /// Non-fatal problems (e.g. a pin for an app that does not exist).
    pub warnings: Vec<Diagnostic>,
}

/// Checks one app's values for one environment (the validation engine): its diagnostics, and
/// the values its HelmRelease passes (`spec.values`: the app's files with the platform's values,
/// from the one coalescer in `values::platform`) when they could be read.
pub type AppCheck<'a> = dyn Fn(&str, &Path, &str) -> AppChecked + Sync + 'a;

/// What the validation engine says of one app in one environment.
#[derive(Debug, Default)]
pub struct AppChecked {
    pub diagnostics: Vec<Diagnostic>,
    /// The HelmRelease's `spec.values` (platform values included, chart defaults not).
    pub release: Option<Value>,
    /// The coalesced values as Helm sees them (chart defaults included).
    pub values: Option<Value>,
}

/// Render every selected environment, or report every problem found.
pub fn render(
    loaded: &Loaded,
    opts: &RenderOptions,
    check_app: &AppCheck<'_>,
) -> Result<Rendered, FluxError> {
    let cfg = &loaded.config;
    let mut problems: Vec<Diagnostic> = Vec::new();

    let envs = &opts.envs;
    let apps = &opts.apps;
    let (app_errors, warnings): (Vec<_>, Vec<_>) = loaded
        .check_apps(apps)
        .into_iter()
        .partition(Diagnostic::is_error);
    problems.extend(app_errors);

    let chart_name = chart_name(loaded, &mut problems)?;
    let lock = load_lock(loaded, chart_name.as_deref(), &mut problems)?;
    let dapr_resources = match crate::values::components::load_components(&loaded.components_dir())
    {
        Ok(r) => Some(r),
        Err(e) => {
            problems.push(Diagnostic::error("components", e.to_string()));
            None
        }
    };

    let mut out = Vec::new();
    for env_name in envs {
        let env = &cfg.environments[env_name];
        let out_dir = match &opts.out {
            Some(o) => o.clone(),
            None => loaded.root.join(&env.output),
        };
        let mut files = BTreeMap::new();
        let mut releases = BTreeMap::new();
        let results = crate::par::map(apps, 16, |app| {
            app_file(
                loaded,
                env_name,
                app,
                chart_name.as_deref(),
                lock.as_ref(),
                SourceKind::of(cfg),
                check_app,
            )
        });
        let mut dapr_apps = Vec::new();
        // Shared sources: chart version → (digest, the shards of the releases using it).
        let mut shared: BTreeMap<String, (String, std::collections::BTreeSet<Option<String>>)> =
            BTreeMap::new();
        for (app, (app_problems, rendered, dapr)) in apps.iter().zip(results) {
            problems.extend(app_problems);
            dapr_apps.extend(dapr);
            if let Some(r) = rendered {
                let file = format!("{app}.yaml");
                releases.insert(file.clone(), r.identity);
                files.insert(file, r.text);
                if let Some(u) = r.shared {
                    shared
                        .entry(u.version)
                        .or_insert_with(|| (u.digest, Default::default()))
                        .1
                        .insert(u.shard);
                }
            }
        }
        if let Some(chart) = chart_name.as_deref() {
            if !shared.is_empty() {
                let header = format!(
                    "{} (appkit {}): environment {env_name}, the chart sources its HelmReleases share. Do not edit.\n",
                    super::GENERATED_MARKER,
                    env!("CARGO_PKG_VERSION")
                );
                let docs: Vec<String> = shared
                    .iter()
                    .map(|(version, (digest, shards))| {
                        // A source used by one shard only goes with that shard; by several, none.
                        let shard = match shards.iter().collect::<Vec<_>>().as_slice() {
                            [one] => (*one).clone(),
                            _ => None,
                        };
                        source_doc(
                            loaded,
                            env_name,
                            &shared_source_name(chart, version),
                            chart,
                            version,
                            digest,
                            shard,
                        )
                    })
                    .collect();
                files.insert(
                    SOURCES_FILE.into(),
                    format!("{header}{}", docs.join("---\n")),
                );
            }
        }
        let kustomization = Kustomization::new(files.keys().cloned().collect());
        let header = format!(
            "{} (appkit {}): environment {env_name}. Do not edit.\n",
            super::GENERATED_MARKER,
            env!("CARGO_PKG_VERSION")
        );
        files.insert(
            "kustomization.yaml".into(),
            format!("{header}{}", to_yaml(&kustomization)),
        );
        let platform = platform_render(env_name, &out_dir, dapr_resources.as_deref(), &dapr_apps);
        out.push(EnvRender {
            env: env_name.clone(),
            out_dir,
            files,
            releases,
        });
        out.extend(platform);
    }
    // Two environments whose Dapr directories (or a Dapr directory and an output) coincide
    // would overwrite each other.
    let mut dirs: BTreeMap<PathBuf, &str> = BTreeMap::new();
    for e in &out {
        if let Some(other) = dirs.insert(lexical(&e.out_dir), &e.env) {
            problems.push(
                Diagnostic::error(
                    "output",
                    format!("{} and {} would both write {}", other, e.env, e.out_dir.display()),
                )
                .help("the platform's Dapr resources go to <output>/../platform: give each environment an output directory of its own parent, e.g. clusters/<env>/apps"),
            );
        }
    }

    if problems.iter().any(Diagnostic::is_error) {
        return Err(FluxError::Invalid(problems));
    }
    Ok(Rendered {
        envs: out,
        warnings,
    })
}

/// One app in one environment: its problems, or its file and release identity.
fn app_file(
    loaded: &Loaded,
    env_name: &str,
    app: &str,
    chart_name: Option<&str>,
    lock: Option<&Lock>,
    source: SourceKind,
    check_app: &AppCheck<'_>,
) -> AppResult {
    let env = &loaded.config.environments[env_name];
    let sm = &loaded.source_map;
    let mut problems: Vec<Diagnostic> = Vec::new();
    let app_dir = loaded.apps_dir().join(app);
    let checked = check_app(app, &app_dir, env_name);
    problems.extend(checked.diagnostics.into_iter().filter(Diagnostic::is_error));
    let release_values = checked.release;
    let dapr = checked.values.as_ref().and_then(|v| {
        super::dapr::AppDapr::from_values(v, &loaded.app_namespace(app), &loaded.release_name(app))
    });
    let version = env.chart_version_for(app).to_string();
    let version_at = if env.pins.contains_key(app) {
        sm.value(&format!("environments/{env_name}/pins/{app}"))
    } else {
        sm.value(&format!("environments/{env_name}/chartVersion"))
    };
    let digest = match &lock {
        Some(l) => {
            match l.digest_of(&version) {
                Some(d) if is_sha256_digest(d) => Some(d.to_string()),
                Some(d) => {
                    problems.push(
                    Diagnostic::error("lock", format!("appkit.lock has a malformed digest {d:?} for chart version {version}"))
                        .at(version_at.clone())
                        .help("run helm appkit publish to record the real digest"),
                );
                    None
                }
                None => {
                    problems.push(
                    Diagnostic::error("missing-digest", format!("chart version {version} ({app} in {env_name}) has no digest in appkit.lock"))
                        .at(version_at.clone())
                        .help(format!("run helm appkit publish to publish chart version {version} and record its digest")),
                );
                    None
                }
            }
        }
        None => None,
    };
    let release_name = loaded.release_name(app);
    if release_name.len() > MAX_RELEASE_NAME {
        let mut d = Diagnostic::error(
            "release-name",
            format!("release name {release_name:?} is {} characters; Helm allows at most {MAX_RELEASE_NAME}", release_name.len()),
        )
        .help(format!("shorten the app directory name, or set apps.settings.{app}.releaseName in appkit.yaml"));
        if loaded
            .config
            .apps
            .settings
            .get(app)
            .is_some_and(|s| s.release_name.is_some())
        {
            d = d.at(sm.value(&format!("apps/settings/{app}/releaseName")));
        }
        problems.push(d);
    }
    let values = match release_values {
        Some(mut v) => {
            crate::yamlout::sort_keys(&mut v);
            v
        }
        None => return (problems, None, dapr),
    };
    let (Some(chart), Some(digest)) = (chart_name, digest) else {
        return (problems, None, dapr);
    };
    if problems.iter().any(Diagnostic::is_error) {
        return (problems, None, dapr);
    }
    let app_ctx = AppContext {
        app,
        env_name,
        chart,
        version: &version,
        digest: &digest,
        values,
        release_name,
    };
    let rendered = render_app(loaded, &app_ctx, source);
    (problems, Some(rendered), dapr)
}

/// One app's rendered file.
struct AppFile {
    text: String,
    identity: ReleaseIdentity,
    /// With shared sources: the source it points at.
    shared: Option<SharedUse>,
}

/// A HelmRelease's use of a shared source.
struct SharedUse {
    version: String,
    digest: String,
    shard: Option<String>,
}

/// One app in one environment: its problems, its file and release identity, what it needs of
/// the platform's Dapr resources.
type AppResult = (
    Vec<Diagnostic>,
    Option<AppFile>,
    Option<super::dapr::AppDapr>,
);

/// The file of an environment's shared sources.
pub const SOURCES_FILE: &str = "sources.yaml";

/// The label Flux's sharded controllers select on.
pub const SHARD_LABEL: &str = "sharding.fluxcd.io/key";

/// The name of the shared source of `chart` at `version`: `<chart>-<version>` as a DNS-1123
/// label (lower case; `.`, `+` and anything else not allowed → `-`), at most 63 characters — a
/// longer one is cut and ends in 8 hex digits of the full name's sha256, so two long names never
/// collide.
pub fn shared_source_name(chart: &str, version: &str) -> String {
    let raw = format!("{chart}-{version}").to_ascii_lowercase();
    let mut name: String = raw
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    while name.contains("--") {
        name = name.replace("--", "-");
    }
    let name = name.trim_matches('-').to_string();
    if name.len() <= 63 {
        return name;
    }
    use sha2::Digest;
    let tag = hex::encode(&sha2::Sha256::digest(raw.as_bytes())[..4]);
    let cut = name[..54].trim_end_matches('-');
    format!("{cut}-{tag}")
}

/// The shard an app's HelmRelease goes to: its `apps.settings.<app>.flux.shard`, else the shard
/// with the highest sha256(shard, app) (rendezvous hashing: stable per app, whatever other apps
/// come and go). `None` when the fleet is not sharded.
pub fn shard_for(cfg: &crate::config::Config, app: &str) -> Option<String> {
    let shards = &cfg.flux.shards;
    if let Some(s) = cfg
        .apps
        .settings
        .get(app)
        .and_then(|s| s.flux.as_ref())
        .and_then(|f| f.shard.clone())
    {
        return Some(s);
    }
    use sha2::Digest;
    shards
        .iter()
        .max_by_key(|s| {
            let mut h = sha2::Sha256::new();
            h.update(s.as_bytes());
            h.update([0]);
            h.update(app.as_bytes());
            let d = h.finalize();
            (
                u64::from_be_bytes(d[..8].try_into().expect("8 bytes")),
                (*s).clone(),
            )
        })
        .cloned()
}

/// The labels and annotations helm-controller puts on every object of an app's release:
/// `flux.commonMetadata` with the app's own over it (what `plan` renders with, too).
pub fn common_metadata_for(cfg: &crate::config::Config, app: &str) -> CommonMetadata {
    let own = cfg
        .apps
        .settings
        .get(app)
        .and_then(|s| s.flux.as_ref())
        .and_then(|f| f.common_metadata.as_ref());
    cfg.flux
        .common_metadata
        .clone()
        .unwrap_or_default()
        .merged(own)
}

/// An OCIRepository or HelmRepository document named `name`.
fn source_doc(
    loaded: &Loaded,
    env_name: &str,
    name: &str,
    chart: &str,
    version: &str,
    digest: &str,
    shard: Option<String>,
) -> String {
    let cfg = &loaded.config;
    let env = &cfg.environments[env_name];
    let flux = &cfg.flux;
    let secret = |s: &Option<String>| s.as_ref().map(|n| LocalObjectReference { name: n.clone() });
    let repository = cfg.chart.repository.trim_end_matches('/');
    let meta = ObjectMeta {
        name: name.to_string(),
        namespace: env.namespace.clone(),
        labels: shard
            .map(|s| BTreeMap::from([(SHARD_LABEL.to_string(), s)]))
            .unwrap_or_default(),
    };
    match SourceKind::of(cfg) {
        SourceKind::OciRepository => {
            to_yaml(&OciRepository {
                api_version: SOURCE_API_VERSION.into(),
                kind: "OCIRepository".into(),
                metadata: meta,
                spec: OciRepositorySpec {
                    url: format!("{repository}/{chart}"),
                    reference: OciRepositoryRef {
                        digest: Some(digest.to_string()),
                        tag: Some(oci_tag(version)),
                    },
                    layer_selector: OciLayerSelector {
                        media_type: HELM_CHART_LAYER_MEDIA_TYPE.into(),
                        operation: "copy".into(),
                    },
                    interval: flux.interval.clone(),
                    insecure: cfg.registry.insecure.then_some(true),
                    secret_ref: secret(&cfg.registry.pull_secret),
                    cert_secret_ref: secret(&cfg.registry.ca_secret),
                    verify: cfg.registry.cosign_secret.as_ref().map(|n| {
                        OciRepositoryVerification {
                            provider: "cosign".into(),
                            secret_ref: Some(LocalObjectReference { name: n.clone() }),
                        }
                    }),
                },
            })
        }
        SourceKind::HelmRepository => to_yaml(&HelmRepository {
            api_version: SOURCE_API_VERSION.into(),
            kind: "HelmRepository".into(),
            metadata: meta,
            spec: HelmRepositorySpec {
                repo_type: "oci".into(),
                url: repository.to_string(),
                interval: flux.interval.clone(),
                insecure: cfg.registry.insecure.then_some(true),
                secret_ref: secret(&cfg.registry.pull_secret),
                cert_secret_ref: secret(&cfg.registry.ca_secret),
            },
        }),
    }
}

struct AppContext<'a> {
    app: &'a str,
    env_name: &'a str,
    chart: &'a str,
    version: &'a str,
    digest: &'a str,
    values: Value,
    release_name: String,
}

/// Render one app's file and the release identity its HelmRelease carries.
fn render_app(loaded: &Loaded, a: &AppContext<'_>, source: SourceKind) -> AppFile {
    let cfg = &loaded.config;
    let env = &cfg.environments[a.env_name];
    let flux = &cfg.flux;
    let own = cfg.apps.settings.get(a.app).and_then(|s| s.flux.as_ref());
    let shared_sources = flux.sources == "shared";
    let shard = shard_for(cfg, a.app);
    let meta = ObjectMeta {
        name: a.app.to_string(),
        namespace: env.namespace.clone(),
        labels: shard
            .clone()
            .map(|s| BTreeMap::from([(SHARD_LABEL.to_string(), s)]))
            .unwrap_or_default(),
    };
    let target_namespace = loaded.app_namespace(a.app);
    let strategy_name = own
        .and_then(|f| f.strategy.clone())
        .or_else(|| flux.strategy.clone());
    let retry = strategy_name.as_deref() == Some("RetryOnFailure");
    let retry_interval = own
        .and_then(|f| f.retry_interval.clone())
        .or_else(|| flux.retry_interval.clone());
    let strategy = strategy_name.as_ref().filter(|_| retry).map(|n| Strategy {
        name: n.clone(),
        retry_interval: retry_interval.clone(),
    });
    // RetryOnFailure does not remediate: no remediation settings beside it.
    let remediation = |upgrade: bool| {
        (!retry).then(|| Remediation {
            retries: i64::from(flux.retries),
            remediate_last_failure: (upgrade && flux.retries > 0).then_some(true),
        })
    };
    let drift = own
        .and_then(|f| f.drift_detection.as_ref())
        .unwrap_or(&flux.drift_detection);
    let common = common_metadata_for(cfg, a.app);
    let source_name = if shared_sources {
        shared_source_name(a.chart, a.version)
    } else {
        a.app.to_string()
    };

    let mut spec = HelmReleaseSpec {
        chart_ref: None,
        chart: None,
        release_name: a.release_name.clone(),
        target_namespace: target_namespace.clone(),
        storage_namespace: target_namespace.clone(),
        interval: flux.interval.clone(),
        timeout: flux.timeout.clone(),
        depends_on: loaded
            .depends_on(a.app)
            .iter()
            .map(|d| DependencyReference {
                name: d.clone(),
                namespace: None,
            })
            .collect(),
        install: Install {
            create_namespace: flux.create_namespace,
            remediation: remediation(false),
            strategy: strategy.clone(),
        },
        upgrade: Upgrade {
            remediation: remediation(true),
            strategy,
        },
        drift_detection: DriftDetection {
            mode: drift.mode_or_default().to_string(),
            ignore: drift.ignore().to_vec(),
        },
        test: Test { enable: flux.test },
        service_account_name: own
            .and_then(|f| f.service_account_name.clone())
            .or_else(|| flux.service_account_name.clone()),
        common_metadata: (!common.is_empty()).then_some(common),
        values: match &a.values {
            Value::Object(m) if m.is_empty() => None,
            v => Some(v.clone()),
        },
    };
    spec.depends_on.sort_by(|x, y| x.name.cmp(&y.name));
    spec.depends_on.dedup();

    match source {
        SourceKind::OciRepository => {
            spec.chart_ref = Some(CrossNamespaceSourceReference {
                kind: "OCIRepository".into(),
                name: source_name.clone(),
                namespace: Some(env.namespace.clone()),
            });
        }
        SourceKind::HelmRepository => {
            spec.chart =
                Some(HelmChartTemplate {
                    spec: HelmChartTemplateSpec {
                        chart: a.chart.to_string(),
                        version: a.version.to_string(),
                        source_ref: CrossNamespaceSourceReference {
                            kind: "HelmRepository".into(),
                            name: source_name.clone(),
                            namespace: Some(env.namespace.clone()),
                        },
                        interval: flux.interval.clone(),
                        verify: cfg.registry.cosign_secret.as_ref().map(|n| {
                            HelmChartVerification {
                                provider: "cosign".into(),
                                secret_ref: Some(LocalObjectReference { name: n.clone() }),
                            }
                        }),
                    },
                });
        }
    }
    let source_doc = (!shared_sources).then(|| {
        source_doc(
            loaded,
            a.env_name,
            &source_name,
            a.chart,
            a.version,
            a.digest,
            shard.clone(),
        )
    });
    let identity = ReleaseIdentity {
        release_name: spec.release_name.clone(),
        target_namespace: spec.target_namespace.clone(),
        storage_namespace: spec.storage_namespace.clone(),
    };
    let release = HelmRelease {
        api_version: HELM_API_VERSION.into(),
        kind: "HelmRelease".into(),
        metadata: meta,
        spec,
    };
    let apps_rel = display_rel(&loaded.config.apps.dir.join(a.app));
    let header = format!(
        "{} (appkit {}): chart {} {}, environment {}. Do not edit.\n# Change {apps_rel}/values.yaml or appkit.yaml instead, then run `helm appkit render`.\n",
        super::GENERATED_MARKER,
        env!("CARGO_PKG_VERSION"),
        a.chart,
        a.version,
        a.env_name,
    );
    let text = match source_doc {
        Some(doc) => format!("{header}{doc}---\n{}", to_yaml(&release)),
        None => format!("{header}{}", to_yaml(&release)),
    };
    AppFile {
        text,
        identity,
        shared: shared_sources.then(|| SharedUse {
            version: a.version.to_string(),
            digest: a.digest.to_string(),
            shard,
        }),
    }
}

/// The directory the platform's Dapr resources of an environment go to: beside its output.
pub fn platform_dir(out_dir: &Path) -> PathBuf {
    out_dir
        .parent()
        .map(|p| p.join("platform"))
        .unwrap_or_else(|| PathBuf::from("platform"))
}

/// The environment's Dapr resources ([`super::dapr`]) as a directory of its own: one file per
/// namespace and a kustomization; `None` when there is nothing to deliver.
fn platform_render(
    env_name: &str,
    out_dir: &Path,
    resources: Option<&[crate::values::components::Component]>,
    apps: &[super::dapr::AppDapr],
) -> Option<EnvRender> {
    let delivered = super::dapr::deliver(resources?, apps);
    if delivered.is_empty() {
        return None;
    }
    let header = format!(
        "{} (appkit {}): the platform's Dapr resources, environment {env_name}. Do not edit.\n",
        super::GENERATED_MARKER,
        env!("CARGO_PKG_VERSION")
    );
    let mut files = BTreeMap::new();
    for (ns, docs) in delivered {
        let body: Vec<String> = docs
            .iter()
            .map(|d| crate::yamlout::to_yaml(d, crate::yamlout::Profile::Appkit))
            .collect();
        files.insert(
            format!("{ns}.yaml"),
            format!("{header}{}", body.join("---\n")),
        );
    }
    let kustomization = Kustomization::new(files.keys().cloned().collect());
    files.insert(
        "kustomization.yaml".into(),
        format!("{header}{}", to_yaml(&kustomization)),
    );
    Some(EnvRender {
        env: format!("{env_name}{DAPR_LABEL}"),
        out_dir: platform_dir(out_dir),
        files,
        releases: BTreeMap::new(),
    })
}

/// A path without `.` and with `..` folded (for comparing output directories).
fn lexical(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            c => out.push(c),
        }
    }
    out
}

/// A relative path with `/` separators and no leading `./` (the workspace's display rule).
fn display_rel(p: &Path) -> String {
    crate::workspace::display_path(p, Path::new(""))
}

/// The OCI tag Helm pushes a chart version under: `+` is not allowed in tags, Helm uses `_`.
pub fn oci_tag(version: &str) -> String {
    version.replace('+', "_")
}

fn is_sha256_digest(d: &str) -> bool {
    d.strip_prefix("sha256:").is_some_and(|h| {
        h.len() == 64
            && h.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}

/// The chart's name: `name` in `<chart.path>/Chart.yaml` (read with the shared Chart.yaml model).
fn chart_name(
    loaded: &Loaded,
    problems: &mut Vec<Diagnostic>,
) -> Result<Option<String>, FluxError> {
    use crate::chart::{ChartError, ChartMetadata};
    let path = loaded.chart_dir().join("Chart.yaml");
    match ChartMetadata::load(&loaded.chart_dir()) {
        Ok(meta) if !meta.name.is_empty() => Ok(Some(meta.name)),
        Ok(_) => {
            problems.push(Diagnostic::error(
                "chart",
                format!("{} has no name", path.display()),
            ));
            Ok(None)
        }
        Err(ChartError::MissingChartYaml { .. }) => {
            problems.push(
                Diagnostic::error("chart", format!("no chart at {}: {} is missing", loaded.chart_dir().display(), path.display()))
                    .at(loaded.source_map.value("chart/path"))
                    .help("render validates every app against the chart: point chart.path at the chart's source"),
            );
            Ok(None)
        }
        Err(e) => {
            let mut msg = e.to_string();
            if let Some(src) = std::error::Error::source(&e) {
                msg.push_str(&format!(": {src}"));
            }
            problems.push(Diagnostic::error("chart", msg));
            Ok(None)
        }
    }
}

/// The lock, or a diagnostic (exit 1) when it is missing, malformed or records another chart; a lock
/// that cannot be read at all (a directory, a FIFO, too big, permissions) is an I/O error (exit 2).
fn load_lock(
    loaded: &Loaded,
    chart: Option<&str>,
    problems: &mut Vec<Diagnostic>,
) -> Result<Option<Lock>, FluxError> {
    let path = loaded.lock_path();
    Ok(match Lock::load(&path) {
        Ok(Some(lock)) => {
            if let Some(chart) = chart {
                let expected = format!(
                    "{}/{chart}",
                    loaded.config.chart.repository.trim_end_matches('/')
                );
                if lock.chart != expected {
                    problems.push(
                        Diagnostic::error("lock", format!("appkit.lock records chart {}, but appkit.yaml publishes {expected}", lock.chart))
                            .at(loaded.source_map.value("chart/repository"))
                            .help("run helm appkit publish to record digests for this repository"),
                    );
                }
            }
            Some(lock)
        }
        Ok(None) => {
            problems.push(
                Diagnostic::error("missing-digest", format!("{} does not exist, so no chart version has a digest", path.display()))
                    .help("run helm appkit publish: it pushes the chart and records its digest in appkit.lock"),
            );
            None
        }
        Err(crate::lock::LockError::Read { path, source }) => {
            return Err(FluxError::Read { path, source })
        }
        Err(e) => {
            let mut msg = e.to_string();
            if let Some(src) = std::error::Error::source(&e) {
                msg.push_str(&format!(": {src}"));
            }
            problems.push(Diagnostic::error("lock", msg));
            None
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oci_tags_and_digests() {
        assert_eq!(oci_tag("1.2.3+build.4"), "1.2.3_build.4");
        assert_eq!(oci_tag("1.2.3-rc.1"), "1.2.3-rc.1");
        assert!(is_sha256_digest(&format!("sha256:{}", "a1".repeat(32))));
        assert!(!is_sha256_digest(&format!("sha256:{}", "A1".repeat(32))));
        assert!(!is_sha256_digest("sha256:abc"));
        assert!(!is_sha256_digest(&format!("sha512:{}", "a1".repeat(32))));
    }

    #[test]
    fn display_rel_uses_slashes_without_dot() {
        assert_eq!(display_rel(Path::new("./apps/app1")), "apps/app1");
    }
}
