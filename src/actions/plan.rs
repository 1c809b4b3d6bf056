//! `plan`: the two sides of every selected app × environment, rendered by the real Helm, and
//! what differs. The steps:
//!
//! 1. **Base**: `git archive` of the `--base` commit's copy of the platform repo (read with git,
//!    never the working tree) into a temp dir, loaded as a workspace like the working tree.
//! 2. **Pairs**: the selected environments × the apps of either side (`--app` narrows,
//!    `--shard K/N` takes every N-th pair of the sorted list, starting at the K-th).
//! 3. **Sides**: per pair and side, the values exactly as the HelmRelease passes them (the one
//!    coalescer, platform values included), the release name and namespace, `flux.commonMetadata`
//!    (helm-controller puts it on every object, so plan does too), and the chart: the
//!    chart version that side's `appkit.yaml` selects (the environment's, or the app's pin); when
//!    that is the side's own `Chart.yaml` version, that side's chart directory (publish makes the
//!    published chart of that version the directory's), else the locked digest, fetched once
//!    (from the lock's repository or `--from`) and verified. `--chart-preview`: every new side
//!    uses the working-tree chart.
//! 4. **Keys**: sha256 of (chart archive digest, canonical values, release, namespace, Helm
//!    version, kube and API versions, appkit version). Equal keys on both sides: unchanged, with
//!    neither rendered. Other keys are rendered once each (a key shared by pairs once), from the
//!    cache when there, else by `helm template` on `--jobs` threads, masked, then stored.
//! 5. **Diff** per pair, and what caused it: the app's values files that differ from the base,
//!    the chart templates when the chart changed, the `chartVersion`/pin line otherwise.
//!
//! A side that cannot be prepared or rendered is that pair's failure (exit 1), never the
//! others'. What stops the plan (exit 2): no Helm, no git or no base revision, a base without
//! `appkit.yaml`, a registry that cannot be reached.
//!
//! Owns: those steps. Does not own: the registry (the command hands in a fetcher), parsing
//! and diffing manifests (`plan::manifest`), output.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{anyhow, bail, Context, Result};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::error::Hinted;
use crate::plan::cache::Cache;
use crate::plan::helm::{Helm, TemplateArgs};
use crate::plan::manifest::{self, Manifest};
use crate::plan::{Cause, PairPlan, Plan, Side, SideError, SideInfo, Stats, Status};
use crate::values::Validator;
use crate::workspace::{self, Workspace};

/// What to plan.
#[derive(Debug, Default)]
pub struct Request<'a> {
    pub base: &'a str,
    pub envs: &'a [String],
    pub apps: &'a [String],
    pub chart_preview: bool,
    /// `--from`: where locked charts are fetched (`oci://HOST/PROJECT` or `oci-layout:DIR`).
    pub from: Option<&'a str>,
    pub jobs: usize,
    /// `--shard K/N` (1-based K).
    pub shard: Option<(usize, usize)>,
    pub helm: Option<&'a Path>,
    /// The render cache directory (`None`: no cache, e.g. no home directory).
    pub cache_dir: Option<PathBuf>,
}

/// Why a chart could not be fetched.
#[derive(Debug)]
pub enum FetchError {
    /// The registry answered that it does not have it: the pairs that need it fail.
    NotFound(String),
    /// Anything else (unreachable, refused credentials): no plan.
    Other(anyhow::Error),
}

/// Fetches a chart archive by reference (`oci://…/chart@sha256:…`), verified.
pub type Fetcher<'a> = dyn Fn(&str) -> Result<Vec<u8>, FetchError> + 'a;

/// Parse `--shard K/N`.
pub fn parse_shard(s: &str) -> Result<(usize, usize), String> {
    let (k, n) = s
        .split_once('/')
        .ok_or_else(|| format!("--shard {s}: expected K/N, e.g. 1/4"))?;
    let k: usize = k
        .trim()
        .parse()
        .map_err(|_| format!("--shard {s}: K is not a number"))?;
    let n: usize = n
        .trim()
        .parse()
        .map_err(|_| format!("--shard {s}: N is not a number"))?;
    if n == 0 || k == 0 || k > n {
        return Err(format!("--shard {s}: needs 1 ≤ K ≤ N"));
    }
    Ok((k, n))
}

/// One side of the repository: a workspace and what plan needs of it.
struct SideRepo {
    side: Side,
    ws: Workspace,
    validator: std::result::Result<Validator, String>,
    /// The version in this side's `Chart.yaml` (`None`: the chart cannot be read).
    tree_version: Option<String>,
    /// This side's chart directory packaged: (archive sha256), once.
    tree_digest: std::sync::OnceLock<std::result::Result<String, String>>,
    apps: Vec<String>,
    lock: Option<crate::lock::Lock>,
    /// Path prefix from the repository's top directory to this side's root (for causes).
    rel_root: PathBuf,
}

impl SideRepo {
    fn open(side: Side, ws: Workspace, rel_root: PathBuf) -> Result<SideRepo> {
        let loaded = ws.config();
        let validator = Validator::new(loaded).map_err(|e| {
            format!(
                "cannot load the chart at {}: {e}",
                ws.display(&loaded.chart_dir())
            )
        });
        let tree_version = crate::chart::metadata::ChartMetadata::load(&loaded.chart_dir())
            .ok()
            .map(|m| m.version.to_string());
        let apps = match ws.apps() {
            Ok(a) => a,
            Err(_) if !loaded.apps_dir().exists() => Vec::new(),
            Err(e) => return Err(e),
        };
        let lock = crate::lock::Lock::load(&loaded.lock_path())
            .with_context(|| format!("cannot read {}", ws.display(&loaded.lock_path())))?;
        Ok(SideRepo {
            side,
            ws,
            validator,
            tree_version,
            tree_digest: std::sync::OnceLock::new(),
            apps,
            lock,
            rel_root,
        })
    }

    fn tree_digest(&self) -> std::result::Result<String, String> {
        self.tree_digest
            .get_or_init(|| {
                let dir = self.ws.config().chart_dir();
                super::chart_io::package_dir(&dir, None)
                    .map(|p| format!("sha256:{}", p.sha256))
                    .map_err(|e| {
                        format!("cannot package the chart at {}: {e}", self.ws.display(&dir))
                    })
            })
            .clone()
    }
}

/// Where a side's chart comes from.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum ChartFrom {
    /// The side's own chart directory.
    Tree(Side),
    /// A locked manifest digest, from `repository` (an `oci://…/chart` or `oci-layout:` ref).
    Locked { reference: String, digest: String },
}

/// A chart directory and its archive digest, or why there is none.
type ChartResult = std::result::Result<(PathBuf, String), String>;

/// One side of one pair, ready to render.
struct Prepared {
    info: SideInfo,
    chart_dir: PathBuf,
    values: Value,
    release: String,
    namespace: String,
    kube_version: Option<String>,
    api_versions: Vec<String>,
    /// `flux.commonMetadata` (with the app's own): helm-controller puts it on every object.
    common: crate::config::CommonMetadata,
    /// The app's values files on this side (absolute), for causes.
    files: Vec<PathBuf>,
}

/// A pair before rendering.
struct PairWork {
    app: String,
    env: String,
    release: String,
    old: Option<std::result::Result<Prepared, String>>,
    new: Option<std::result::Result<Prepared, String>>,
}

pub fn run(ws: Workspace, req: &Request<'_>, fetch: &Fetcher<'_>) -> Result<Plan> {
    let helm = Helm::find(req.helm).map_err(|e| {
        Hinted::new(
            anyhow!(e),
            "plan renders with the real Helm: install Helm 3 or 4, or pass --helm PATH",
        )
    })?;
    let envs = ws.select_envs(req.envs)?;
    let (top, rel_root) = git_top(&ws.config().root)?;
    let commit = git_commit(&top, req.base)?;
    let cache = match &req.cache_dir {
        Some(d) => Cache::open(d).ok(),
        None => None,
    };
    // In the cache when there is one: what a killed run leaves there is swept by the next.
    let scratch = match cache.as_ref().map(Cache::scratch_dir) {
        Some(d) => tempfile::Builder::new()
            .prefix(&crate::fsutil::temp_prefix("tmp"))
            .tempdir_in(d),
        None => tempfile::Builder::new().prefix(".appkit-plan-").tempdir(),
    }
    .context("cannot make a temp directory for the base revision")?;
    let base_root = scratch.path().join("base");
    git_extract(&top, &commit, &rel_root, &base_root)?;
    let config_rel = ws
        .config()
        .path
        .strip_prefix(&ws.config().root)
        .map(Path::to_path_buf)
        .unwrap_or_else(|_| PathBuf::from("appkit.yaml"));
    let base_config = base_root.join(&rel_root).join(&config_rel);
    if !base_config.is_file() {
        return Err(Hinted::new(
            anyhow!(
                "the base revision {} ({}) has no {}",
                req.base,
                short(&commit),
                rel_root.join(&config_rel).display()
            ),
            "plan compares against a revision that has the platform config: pass --base REF naming one (e.g. --base origin/main)",
        )
        .into());
    }
    let base_ws = Workspace::load(&base_config).with_context(|| {
        format!(
            "cannot load {} of the base revision {}",
            rel_root.join(&config_rel).display(),
            req.base
        )
    })?;
    // The chart, the apps and the components may live outside the platform repo's directory
    // (`chart.path: ../chart`): bring those of the base revision too.
    for dir in [
        base_ws.config().chart_dir(),
        base_ws.config().apps_dir(),
        base_ws.config().components_dir(),
    ] {
        let dir = lexical(&dir);
        if let Ok(r) = dir.strip_prefix(&base_root) {
            if !r.starts_with(&rel_root) || rel_root.as_os_str().is_empty() && !dir.exists() {
                git_extract(&top, &commit, r, &base_root)?;
            }
        }
    }
    let new = SideRepo::open(Side::New, ws, rel_root.clone())?;
    let old = SideRepo::open(Side::Old, base_ws, rel_root)?;

    // Pairs.
    let mut apps: BTreeSet<String> = new.apps.iter().cloned().collect();
    apps.extend(old.apps.iter().cloned());
    if !req.apps.is_empty() {
        let unknown: Vec<&String> = req.apps.iter().filter(|a| !apps.contains(*a)).collect();
        if !unknown.is_empty() {
            return Err(Hinted::new(
                anyhow!(
                    "no app {} in the working tree or the base revision",
                    unknown
                        .iter()
                        .map(|s| s.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                format!(
                    "the apps are the directories of {}",
                    new.ws.display(&new.ws.config().apps_dir())
                ),
            )
            .into());
        }
        apps.retain(|a| req.apps.contains(a));
    }
    let old_envs = &old.ws.config().config.environments;
    let mut pairs: Vec<(String, String)> = Vec::new();
    for app in &apps {
        for env in &envs {
            pairs.push((app.clone(), env.clone()));
        }
    }
    if let Some((k, n)) = req.shard {
        pairs = pairs
            .into_iter()
            .enumerate()
            .filter(|(i, _)| i % n == k - 1)
            .map(|(_, p)| p)
            .collect();
    }

    let mask_key = mask_key(cache.as_ref().map(Cache::dir));
    let charts_dir = scratch.path().join("charts");

    // Locked charts: each digest fetched (or found in the cache) once.
    let mut locked: BTreeMap<ChartFrom, std::result::Result<(PathBuf, String), String>> =
        BTreeMap::new();
    let mut work: Vec<PairWork> = Vec::new();
    for (app, env) in &pairs {
        let on_old = old.apps.contains(app) && old_envs.contains_key(env);
        let on_new = new.apps.contains(app);
        if !on_old && !on_new {
            continue;
        }
        let mut prep = |repo: &SideRepo| {
            prepare(repo, app, env, req, &helm.version, &mut |from| {
                chart_for(
                    from,
                    &mut locked,
                    fetch,
                    cache.as_ref(),
                    &charts_dir,
                    &old,
                    &new,
                )
            })
        };
        let old_side = on_old.then(|| prep(&old));
        let new_side = on_new.then(|| prep(&new));
        let old_side = old_side.transpose()?;
        let new_side = new_side.transpose()?;
        work.push(PairWork {
            app: app.clone(),
            env: env.clone(),
            release: new.ws.config().release_name(app),
            old: old_side,
            new: new_side,
        });
    }

    // Keys; what must be rendered (once per key).
    let mut stats = Stats::default();
    let mut to_render: Vec<(String, &Prepared)> = Vec::new();
    let mut queued: BTreeSet<String> = BTreeSet::new();
    for w in &work {
        let keys = (side_key(&w.old), side_key(&w.new));
        if let (Some(a), Some(b)) = &keys {
            if a == b {
                stats.skipped += 1;
                continue;
            }
        }
        for p in [&w.old, &w.new].into_iter().flatten().flatten() {
            let k = p.info.key.clone().expect("a prepared side has a key");
            if queued.insert(k.clone()) {
                to_render.push((k, p));
            }
        }
    }
    let jobs = if req.jobs == 0 {
        std::thread::available_parallelism().map_or(1, |n| n.get())
    } else {
        req.jobs
    };
    let rendered: Vec<std::result::Result<Manifest, String>> =
        crate::par::map_queue(&to_render, jobs, |(key, p)| {
            if let Some(m) = cache
                .as_ref()
                .and_then(|c| c.get(key))
                .and_then(|b| serde_json::from_slice::<Manifest>(&b).ok())
            {
                return Ok(m);
            }
            let text = helm.template(
                &TemplateArgs {
                    chart_dir: &p.chart_dir,
                    release: &p.release,
                    namespace: &p.namespace,
                    values: &p.values,
                    kube_version: p.kube_version.as_deref(),
                    api_versions: &p.api_versions,
                },
                scratch.path(),
            )?;
            let mut m = manifest::parse(&text, &p.namespace)?;
            manifest::common_metadata(&mut m, &p.common);
            manifest::mask(&mut m, &mask_key);
            if let Some(c) = &cache {
                if let Ok(bytes) = serde_json::to_vec(&m) {
                    let _ = c.put(key, &bytes);
                }
            }
            Ok(m)
        });
    let results: HashMap<String, std::result::Result<Manifest, String>> = to_render
        .iter()
        .map(|(k, _)| k.clone())
        .zip(rendered)
        .collect();
    stats.helm_invocations = helm.invocations();
    stats.cache_hits = cache.as_ref().map_or(0, Cache::hits);
    if let Some(c) = &cache {
        c.evict();
    }

    // Diffs.
    let mut out = Vec::new();
    for w in work {
        out.push(finish(w, &results, &old, &new));
    }
    let mut plan = Plan {
        base: req.base.to_string(),
        base_commit: commit,
        chart_preview: req.chart_preview,
        helm: helm.version.clone(),
        shard: req.shard.map(|(k, n)| format!("{k}/{n}")),
        stats,
        pairs: out,
    };
    plan.sort(&envs);
    Ok(plan)
}

fn short(commit: &str) -> &str {
    &commit[..commit.len().min(12)]
}

fn side_key(s: &Option<std::result::Result<Prepared, String>>) -> Option<String> {
    s.as_ref()?.as_ref().ok()?.info.key.clone()
}

/// Prepare one side of one pair. `Err` of the outer result stops the plan (the registry cannot
/// be reached); `Ok(Err)` is this side's failure.
fn prepare(
    repo: &SideRepo,
    app: &str,
    env_name: &str,
    req: &Request<'_>,
    helm_version: &str,
    chart: &mut dyn FnMut(&ChartFrom) -> Result<ChartResult>,
) -> Result<std::result::Result<Prepared, String>> {
    let loaded = repo.ws.config();
    let env = &loaded.config.environments[env_name];
    let version = env.chart_version_for(app).to_string();
    let validator = match &repo.validator {
        Ok(v) => v,
        Err(e) => return Ok(Err(e.clone())),
    };
    let files = workspace::app_files(&loaded.apps_dir().join(app), Some(env_name));
    let values = match validator.coalesce(app, &files, Some(env_name), Some(&loaded.apps_dir())) {
        Ok(v) => {
            let mut r = v.release;
            crate::yamlout::sort_keys(&mut r);
            r
        }
        Err(diags) => {
            let msgs: Vec<String> = diags
                .iter()
                .map(|d| match &d.location {
                    Some(l) => format!(
                        "{}:{}:{}: {}",
                        repo.ws.display(&l.file),
                        l.line,
                        l.column,
                        d.message
                    ),
                    None => d.message.clone(),
                })
                .collect();
            return Ok(Err(format!("cannot read the values: {}", msgs.join("; "))));
        }
    };
    let from = if repo.side == Side::New && req.chart_preview {
        ChartFrom::Tree(Side::New)
    } else if repo.tree_version.as_deref() == Some(version.as_str()) {
        ChartFrom::Tree(repo.side)
    } else {
        match repo.lock.as_ref().and_then(|l| l.digest_of(&version)) {
            Some(d) => {
                let chart_ref = repo.lock.as_ref().map(|l| l.chart.clone()).unwrap_or_default();
                let reference = match req.from {
                    Some(remote) => {
                        let name = chart_ref.rsplit('/').next().unwrap_or_default();
                        format!("{}/{name}", remote.trim_end_matches('/'))
                    }
                    None => chart_ref,
                };
                ChartFrom::Locked {
                    reference,
                    digest: d.to_string(),
                }
            }
            None => {
                return Ok(Err(format!(
                    "chart version {version} is neither this side's Chart.yaml version ({}) nor in its appkit.lock",
                    repo.tree_version.as_deref().unwrap_or("unreadable")
                )))
            }
        }
    };
    let (chart_dir, digest) = match chart(&from)? {
        Ok(x) => x,
        Err(e) => return Ok(Err(e)),
    };
    let chart_source = match &from {
        ChartFrom::Tree(Side::New) => "working tree".to_string(),
        ChartFrom::Tree(Side::Old) => "base tree".to_string(),
        ChartFrom::Locked { digest, .. } => digest.clone(),
    };
    let release = loaded.release_name(app);
    let namespace = loaded.app_namespace(app);
    let kube_version = env.kube_version.clone();
    let api_versions = env.api_versions.clone();
    let common = crate::flux::render::common_metadata_for(&loaded.config, app);
    let key = {
        let mut h = Sha256::new();
        let parts = serde_json::json!([
            digest,
            values,
            release,
            namespace,
            helm_version,
            kube_version,
            api_versions,
            common,
            env!("CARGO_PKG_VERSION"),
        ]);
        h.update(parts.to_string().as_bytes());
        hex::encode(h.finalize())
    };
    Ok(Ok(Prepared {
        info: SideInfo {
            chart_version: version,
            chart_source,
            chart_digest: Some(digest),
            key: Some(key),
        },
        chart_dir,
        values,
        release,
        namespace,
        kube_version,
        api_versions,
        common,
        files,
    }))
}

/// The chart directory and archive digest for `from`, fetched and extracted once.
fn chart_for(
    from: &ChartFrom,
    locked: &mut BTreeMap<ChartFrom, std::result::Result<(PathBuf, String), String>>,
    fetch: &Fetcher<'_>,
    cache: Option<&Cache>,
    scratch: &Path,
    old: &SideRepo,
    new: &SideRepo,
) -> Result<std::result::Result<(PathBuf, String), String>> {
    if let Some(r) = locked.get(from) {
        return Ok(r.clone());
    }
    let r = match from {
        ChartFrom::Tree(side) => {
            let repo = if *side == Side::Old { old } else { new };
            repo.tree_digest()
                .map(|d| (repo.ws.config().chart_dir(), d))
        }
        ChartFrom::Locked { reference, digest } => {
            fetch_locked(reference, digest, fetch, cache, scratch)?
        }
    };
    locked.insert(from.clone(), r.clone());
    Ok(r)
}

/// A locked chart: from the cache's `charts/<digest>/`, else fetched, checked and extracted there.
fn fetch_locked(
    reference: &str,
    digest: &str,
    fetch: &Fetcher<'_>,
    cache: Option<&Cache>,
    scratch: &Path,
) -> Result<std::result::Result<(PathBuf, String), String>> {
    let dest = match cache {
        Some(c) => c.chart_dir(digest),
        None => scratch.join(digest.replace(':', "-")),
    };
    let digest_file = dest.join("archive.sha256");
    if let Ok(archive) = std::fs::read_to_string(&digest_file) {
        if let Some(dir) = only_subdir(&dest.join("chart")) {
            return Ok(Ok((dir, archive.trim().to_string())));
        }
    }
    let full = format!("{reference}@{digest}");
    let tgz = match fetch(&full) {
        Ok(b) => b,
        Err(FetchError::NotFound(m)) => return Ok(Err(format!("{full}: {m}"))),
        Err(FetchError::Other(e)) => return Err(e.context(format!("cannot fetch {full}"))),
    };
    let archive = format!("sha256:{}", hex::encode(Sha256::digest(&tgz)));
    if let Err(e) = super::chart_io::metadata_of_archive(&tgz) {
        return Ok(Err(format!("{full} is not a usable chart: {e}")));
    }
    // Extract beside, then rename in: a concurrent run or a kill never leaves half a chart.
    let parent = dest.parent().unwrap_or(scratch);
    std::fs::create_dir_all(parent)?;
    let tmp = tempfile::Builder::new()
        .prefix(&crate::fsutil::temp_prefix("untar"))
        .tempdir_in(parent)?;
    super::chart_io::untar(&tgz, &tmp.path().join("chart"))
        .map_err(|e| anyhow!("cannot extract {full}: {e}"))?;
    std::fs::write(tmp.path().join("archive.sha256"), &archive)?;
    let tmp = tmp.keep();
    if std::fs::rename(&tmp, &dest).is_err() {
        // Another run put it there first: use theirs.
        let _ = std::fs::remove_dir_all(&tmp);
    }
    match only_subdir(&dest.join("chart")) {
        Some(dir) => Ok(Ok((dir, archive))),
        None => Ok(Err(format!("{full}: the extracted chart has no directory"))),
    }
}

fn only_subdir(dir: &Path) -> Option<PathBuf> {
    let mut it = std::fs::read_dir(dir)
        .ok()?
        .flatten()
        .filter(|e| e.path().is_dir());
    let first = it.next()?.path();
    it.next().is_none().then_some(first)
}

/// The key of the cache's mask: 32 random bytes kept in the cache (0600), else fresh per run.
fn mask_key(cache: Option<&Path>) -> Vec<u8> {
    let fresh = || {
        let mut b = vec![0u8; 32];
        use std::io::Read;
        if let Ok(mut f) = std::fs::File::open("/dev/urandom") {
            let _ = f.read_exact(&mut b);
        } else {
            let t = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos());
            b = Sha256::digest(format!("{t}{}", std::process::id())).to_vec();
        }
        b
    };
    let Some(dir) = cache else { return fresh() };
    let path = dir.join("mask.key");
    if let Ok(b) = std::fs::read(&path) {
        if b.len() == 32 {
            return b;
        }
    }
    let b = fresh();
    let _ = crate::fsutil::write_atomic(&path, &b);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600));
    }
    std::fs::read(&path)
        .ok()
        .filter(|k| k.len() == 32)
        .unwrap_or(b)
}

/// Diff one pair and say what caused the change.
fn finish(
    w: PairWork,
    results: &HashMap<String, std::result::Result<Manifest, String>>,
    old: &SideRepo,
    new: &SideRepo,
) -> PairPlan {
    let mut errors = Vec::new();
    let mut side =
        |s: &Option<std::result::Result<Prepared, String>>, which: Side| -> Option<Manifest> {
            match s.as_ref()? {
                Err(e) => {
                    errors.push(SideError {
                        side: which,
                        message: e.clone(),
                    });
                    None
                }
                Ok(p) => match results.get(p.info.key.as_deref().unwrap_or_default()) {
                    Some(Ok(m)) => Some(m.clone()),
                    Some(Err(e)) => {
                        errors.push(SideError {
                            side: which,
                            message: e.clone(),
                        });
                        None
                    }
                    None => None, // unchanged: not rendered
                },
            }
        };
    let unchanged = matches!((side_key(&w.old), side_key(&w.new)), (Some(a), Some(b)) if a == b);
    let old_m = if unchanged {
        None
    } else {
        side(&w.old, Side::Old)
    };
    let new_m = if unchanged {
        None
    } else {
        side(&w.new, Side::New)
    };
    let info = |s: &Option<std::result::Result<Prepared, String>>| {
        s.as_ref()
            .and_then(|r| r.as_ref().ok())
            .map(|p| p.info.clone())
    };
    let mut plan = PairPlan {
        app: w.app.clone(),
        env: w.env.clone(),
        release: w.release.clone(),
        status: Status::Unchanged,
        old: info(&w.old),
        new: info(&w.new),
        objects: Vec::new(),
        errors,
        causes: Vec::new(),
    };
    if unchanged {
        return plan;
    }
    if !plan.errors.is_empty() {
        plan.status = Status::Failed;
        plan.causes = causes(&w, &plan, old, new);
        return plan;
    }
    let empty = Manifest::default();
    plan.objects = manifest::diff(
        old_m.as_ref().unwrap_or(&empty),
        new_m.as_ref().unwrap_or(&empty),
    );
    plan.status = match (&w.old, &w.new) {
        (None, Some(_)) => Status::Added,
        (Some(_), None) => Status::Removed,
        _ if plan.objects.is_empty() => Status::Unchanged,
        _ => Status::Changed,
    };
    if plan.differs() {
        plan.causes = causes(&w, &plan, old, new);
    }
    plan
}

/// What made a pair differ, where knowable (paths relative to the repository's top directory).
fn causes(w: &PairWork, plan: &PairPlan, old: &SideRepo, new: &SideRepo) -> Vec<Cause> {
    let mut out: BTreeSet<Cause> = BTreeSet::new();
    let loaded = new.ws.config();
    let rel = |p: &Path| -> String {
        let r = p.strip_prefix(&loaded.root).unwrap_or(p);
        lexical(&new.rel_root.join(r)).display().to_string()
    };
    let Some(Ok(n)) = &w.new else {
        return Vec::new();
    };
    // Values files that differ from the base's copy (or are new).
    let old_root = &old.ws.config().root;
    for f in &n.files {
        let Ok(r) = f.strip_prefix(&loaded.root) else {
            continue;
        };
        let now = std::fs::read(f).ok();
        let before = std::fs::read(old_root.join(r)).ok();
        if now.is_some() && now != before {
            out.insert(Cause {
                file: rel(f),
                line: None,
            });
        }
    }
    let old_info = w
        .old
        .as_ref()
        .and_then(|r| r.as_ref().ok())
        .map(|p| &p.info);
    let chart_changed = old_info.is_some_and(|o| o.chart_digest != n.info.chart_digest);
    if chart_changed {
        if n.info.chart_source == "working tree" {
            let chart = loaded.chart_dir();
            for o in &plan.objects {
                if let Some(s) = &o.source {
                    out.insert(Cause {
                        file: rel(&chart.join(s)),
                        line: None,
                    });
                }
            }
        }
        if old_info.is_some_and(|o| o.chart_version != n.info.chart_version) {
            let env = &loaded.config.environments[&w.env];
            let path = if env.pins.contains_key(&w.app) {
                format!("environments/{}/pins/{}", w.env, w.app)
            } else {
                format!("environments/{}/chartVersion", w.env)
            };
            let loc = loaded.source_map.value(&path);
            out.insert(Cause {
                file: rel(&loaded.path),
                line: (loc.line > 0).then_some(loc.line),
            });
        }
    }
    if out.is_empty() {
        // Platform values or settings in appkit.yaml.
        out.insert(Cause {
            file: rel(&loaded.path),
            line: None,
        });
    }
    out.into_iter().collect()
}

/// `p` with `.` and `..` resolved without touching the file system.
fn lexical(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            std::path::Component::ParentDir => {
                out.pop();
            }
            std::path::Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

/// The repository's top directory and `root`'s path below it.
fn git_top(root: &Path) -> Result<(PathBuf, PathBuf)> {
    let out = git(root, &["rev-parse", "--show-toplevel"])?;
    let top = PathBuf::from(out.trim());
    let canon_root = std::fs::canonicalize(root).unwrap_or_else(|_| root.to_path_buf());
    let canon_top = std::fs::canonicalize(&top).unwrap_or_else(|_| top.clone());
    let rel = canon_root
        .strip_prefix(&canon_top)
        .map(Path::to_path_buf)
        .unwrap_or_default();
    Ok((canon_top, rel))
}

/// The commit `rev` names.
fn git_commit(top: &Path, rev: &str) -> Result<String> {
    if rev.starts_with('-') {
        bail!("--base {rev}: not a revision");
    }
    git(top, &["rev-parse", "--verify", "--quiet", &format!("{rev}^{{commit}}")])
        .map(|s| s.trim().to_string())
        .map_err(|_| {
            Hinted::new(
                anyhow!("--base {rev}: no such revision in {}", top.display()),
                "name a branch, tag or commit of this repository (in CI, fetch it first: git fetch origin main, then --base origin/main)",
            )
            .into()
        })
}

/// Extract `rel` of `commit` into `dest` (`dest/rel/...`).
fn git_extract(top: &Path, commit: &str, rel: &Path, dest: &Path) -> Result<()> {
    std::fs::create_dir_all(dest)?;
    let spec = if rel.as_os_str().is_empty() {
        ".".to_string()
    } else {
        rel.display().to_string()
    };
    let mut child = Command::new("git")
        .arg("-C")
        .arg(top)
        .args(["archive", "--format=tar", commit, "--", &spec])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .context("cannot run git (plan reads the base revision with git)")?;
    let stdout = child.stdout.take().expect("piped");
    let mut archive = tar::Archive::new(stdout);
    let unpacked = archive.unpack(dest);
    let out = child.wait_with_output()?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        if err.contains("did not match") {
            // The platform repo's directory does not exist at that revision.
            return Ok(());
        }
        bail!("git archive {commit} failed: {}", err.trim());
    }
    unpacked.context("cannot unpack the base revision")?;
    Ok(())
}

fn git(dir: &Path, args: &[&str]) -> Result<String> {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| {
            Hinted::new(
                anyhow!("cannot run git: {e}"),
                "plan reads the base revision with git: install git",
            )
        })?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        return Err(Hinted::new(
            anyhow!("git {} failed: {}", args.join(" "), err.trim()),
            "plan runs in a git checkout of the platform repo (it compares with --base, default HEAD)",
        )
        .into());
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards() {
        assert_eq!(parse_shard("1/2"), Ok((1, 2)));
        assert!(parse_shard("0/2").is_err());
        assert!(parse_shard("3/2").is_err());
        assert!(parse_shard("2").is_err());
        assert!(parse_shard("a/b").is_err());
    }
}
