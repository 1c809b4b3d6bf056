//! New: check a request for a new app against the platform (name, existing apps, platform
//! namespaces, environments, Dapr components), render the scaffold from the chart's schema,
//! stage it in a hidden directory next to the apps, validate the staged files exactly as
//! `helm appkit validate` would (no overlay, then every environment), and only then move the app
//! directory into place in one rename — nothing is left behind when any step fails: not the
//! staging directory, and not the apps directory (or its parents) when `new` created it.
//!
//! `--nodepool` ([`Request::nodepool`]) is checked here against appkit.yaml `nodePools` before
//! anything is rendered: a pool the platform does not have, or no flag when the chart's default
//! pool is not one of the platform's, is a usage error that lists the platform's pools (the only
//! names ever suggested).

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use crate::config::PlatformValues;
use crate::diagnostics::{self, Diagnostic};
use crate::error::{Hinted, Invalid};
use crate::scaffold::model::Schema;
use crate::scaffold::newapp::{self, EnvInfo, ImageRef, NewApp};
use crate::scaffold::templates::{Templates, OVERLAY, VALUES};
use crate::scaffold::ChartMeta;
use crate::values::{rules, Validator};
use crate::workspace::{self, Workspace};

/// What to create.
#[derive(Debug)]
pub struct Request<'a> {
    pub app: &'a str,
    pub image: ImageRef,
    pub port: Option<u16>,
    /// Dapr components the app uses (duplicates and blanks are dropped).
    pub uses: &'a [String],
    /// `--nodepool`: written as `nodepool:`; one of appkit.yaml `nodePools` when it lists any.
    pub nodepool: Option<&'a str>,
    /// Environments to write an overlay for (`--env`).
    pub envs: &'a [String],
}

/// What was created.
#[derive(Debug)]
pub struct Outcome {
    /// The app directory.
    pub dir: PathBuf,
    /// The files written, in order.
    pub files: Vec<PathBuf>,
    /// Warnings the staged files got from validation (paths are the final ones).
    pub warnings: Vec<Diagnostic>,
    /// Template files in the platform's override directory that are not appkit templates.
    pub ignored_templates: Vec<PathBuf>,
    /// Templates taken from the platform's override directory.
    pub overridden_templates: Vec<(String, PathBuf)>,
}

/// The refusal when the generated values do not validate: every diagnostic (final paths).
#[derive(Debug, thiserror::Error)]
#[error("the values generated for `{app}` do not validate; nothing was written")]
pub struct DoesNotValidate {
    pub app: String,
    pub diagnostics: Vec<Diagnostic>,
}

pub fn run(ws: &Workspace, req: &Request<'_>) -> Result<Outcome> {
    let loaded = ws.config();
    let app = req.app;
    check_app(ws, app)?;
    // Overlays only for the environments asked for (none by default).
    let asked = if req.envs.is_empty() {
        Vec::new()
    } else {
        ws.select_envs(req.envs)?
    };
    let envs: Vec<EnvInfo> = asked
        .into_iter()
        .map(|name| EnvInfo {
            promoted: loaded.config.environments[&name].promoted,
            name,
        })
        .collect();
    let uses = dedup(req.uses);
    check_components(ws, app, &uses)?;

    let chart_dir = loaded.chart_dir();
    let templates = Templates::load(templates_dir(ws).as_deref(), &[VALUES, OVERLAY])?;
    let schema = Schema::load(&chart_dir)?;
    check_nodepool(ws, app, req.nodepool, &schema)?;
    let chart = ChartMeta::load(&chart_dir)?;
    let files = newapp::render(
        &templates,
        &schema,
        &chart,
        &NewApp {
            app: app.to_string(),
            image: req.image.clone(),
            port: req.port,
            uses,
            nodepool: req.nodepool.map(str::to_string),
            envs,
        },
    )?;

    let apps_dir = loaded.apps_dir();
    // Declared before the staging directory, so dropped after it: on any failure below, the
    // directories this run created are removed again (emptied first by the staging drop).
    let mut created = CreatedDirs::missing(&apps_dir);
    std::fs::create_dir_all(&apps_dir)
        .with_context(|| format!("cannot create {}", ws.display(&apps_dir)))?;
    crate::fsutil::sweep_stale(&apps_dir);
    let staging = tempfile::Builder::new()
        .prefix(&crate::fsutil::temp_prefix("new"))
        .tempdir_in(&apps_dir)
        .with_context(|| format!("cannot create a directory in {}", ws.display(&apps_dir)))?;
    for (name, text) in &files {
        write_synced(&staging.path().join(name), text.as_bytes())?;
    }
    let target = apps_dir.join(app);
    let warnings = verify(ws, &chart_dir, app, staging.path(), &target)?;

    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(staging.path(), std::fs::Permissions::from_mode(0o755))?;
    }
    let staged = staging.keep();
    if let Err(e) = std::fs::rename(&staged, &target) {
        let _ = std::fs::remove_dir_all(&staged);
        return Err(e).with_context(|| format!("cannot create {}", target.display()));
    }
    created.keep();
    Ok(Outcome {
        files: files.iter().map(|(n, _)| target.join(n)).collect(),
        dir: target,
        warnings,
        ignored_templates: templates.ignored.clone(),
        overridden_templates: [VALUES, OVERLAY]
            .iter()
            .filter_map(|n| {
                templates
                    .override_file(n)
                    .map(|f| (n.to_string(), f.to_path_buf()))
            })
            .collect(),
    })
}

/// The platform's template directory (`templates:` of appkit.yaml, relative to it).
pub fn templates_dir(ws: &Workspace) -> Option<PathBuf> {
    let loaded = ws.config();
    loaded
        .config
        .templates
        .as_ref()
        .map(|t| loaded.root.join(t))
}

fn check_app(ws: &Workspace, app: &str) -> Result<()> {
    let loaded = ws.config();
    if let Err(reason) = newapp::check_name(app) {
        bail!(
            Invalid::new(format!("`{app}` cannot be an app name: {reason}"))
                .with_hint("e.g. `classifier`, `app3`, `order-service`")
        );
    }
    let namespace = loaded.app_namespace(app);
    let platform = &loaded.config.platform_namespaces;
    if platform.iter().any(|n| n == app || *n == namespace) {
        bail!(Invalid::new(format!(
            "`{app}` would deploy to namespace `{namespace}`, which the platform owns"
        ))
        .with_hint(format!(
            "platform namespaces in {}: {}; choose another name",
            ws.display(&loaded.path),
            platform.join(", ")
        )));
    }
    let dir = ws.app_dir(app);
    if workspace::is_app_dir(&dir) {
        bail!(Invalid::new(format!(
            "`{app}` is already an app ({} exists); appkit new never overwrites an app",
            ws.display(&dir.join(workspace::VALUES_FILE))
        ))
        .with_hint("edit the existing file, or choose another name"));
    }
    if dir.symlink_metadata().is_ok() {
        bail!(Invalid::new(format!(
            "{} already exists; appkit new never overwrites it",
            ws.display(&dir)
        ))
        .with_hint("remove it first if it is left over, or choose another name"));
    }
    Ok(())
}

/// `--nodepool` against appkit.yaml `nodePools` (usage errors, exit 2). With pools listed: a
/// given pool must be one of them; without the flag, the chart's default pool must be one (unless
/// the platform sets `nodepool` itself in `platformValues`). Only the platform's pools are ever
/// suggested. A pool the platform locks cannot be given.
fn check_nodepool(ws: &Workspace, app: &str, given: Option<&str>, schema: &Schema) -> Result<()> {
    let loaded = ws.config();
    let config = &loaded.config;
    let cfg = ws.display(&loaded.path);
    let every = || {
        std::iter::once(&config.platform_values)
            .chain(config.environments.values().map(|e| &e.platform_values))
    };
    let sets = |pv: &PlatformValues, locked: bool| {
        let map = if locked { &pv.locked } else { &pv.defaults };
        map.contains_key("nodepool")
    };
    let pools = &config.node_pool_names();
    let listed = || {
        pools
            .iter()
            .map(|p| format!("`{p}`"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    // The pool to show in an example: the app's own (one pool per app), else the first.
    let example = || {
        pools
            .iter()
            .find(|p| *p == app)
            .or(pools.first())
            .cloned()
            .unwrap_or_default()
    };
    if let Some(pool) = given {
        if every().any(|pv| sets(pv, true)) {
            return Err(Hinted::new(
                anyhow::anyhow!(
                    "--nodepool {pool}: `nodepool` is locked by the platform (`platformValues.locked` in {cfg}); an app may not set it"
                ),
                "leave out --nodepool: the platform decides the node pool",
            )
            .into());
        }
        if !pools.is_empty() && !pools.iter().any(|p| p == pool) {
            let guess = match crate::diagnostics::closest(pool, pools.iter()) {
                Some(best) => format!("did you mean `{best}`? "),
                None => String::new(),
            };
            return Err(Hinted::new(
                anyhow::anyhow!(
                    "--nodepool {pool}: `{pool}` is not a node pool of the platform (`nodePools` in {cfg}: {})",
                    listed()
                ),
                format!("{guess}pass one of {}, e.g. `--nodepool {}`", listed(), example()),
            )
            .into());
        }
        return Ok(());
    }
    if pools.is_empty() || every().any(|pv| sets(pv, false) || sets(pv, true)) {
        return Ok(());
    }
    let default = schema
        .find(&["nodepool"])
        .and_then(|f| f.default.as_ref())
        .and_then(|d| d.as_str());
    match default {
        None => Ok(()),
        Some(d) if pools.iter().any(|p| p == d) => Ok(()),
        Some(d) => Err(Hinted::new(
            anyhow::anyhow!(
                "--nodepool is required: the chart's default node pool `{d}` is not one of the platform's (`nodePools` in {cfg}: {})",
                listed()
            ),
            format!("pass one of {}, e.g. `--nodepool {}`", listed(), example()),
        )
        .into()),
    }
}

/// The directories `create_dir_all(dir)` is about to create (`dir` and its missing parents),
/// removed again on drop unless [`CreatedDirs::keep`] was called. Only empty directories are
/// removed (`remove_dir`), deepest first, so nothing anyone else wrote meanwhile is lost.
struct CreatedDirs {
    dirs: Vec<PathBuf>,
}

impl CreatedDirs {
    fn missing(dir: &Path) -> CreatedDirs {
        let dirs = dir
            .ancestors()
            .take_while(|d| !d.as_os_str().is_empty() && d.symlink_metadata().is_err())
            .map(Path::to_path_buf)
            .collect();
        CreatedDirs { dirs }
    }
    fn keep(&mut self) {
        self.dirs.clear();
    }
}

impl Drop for CreatedDirs {
    fn drop(&mut self) {
        for d in &self.dirs {
            let _ = std::fs::remove_dir(d);
        }
    }
}

/// Every `--uses` name must be a Component visible in the app's namespace (no
/// `metadata.namespace`: delivered to every app namespace; else that one) whose scopes include
/// the app's Dapr app id (a new app's values leave `dapr.appId` empty: its release name).
fn check_components(ws: &Workspace, app: &str, uses: &[String]) -> Result<()> {
    if uses.is_empty() {
        return Ok(());
    }
    let loaded = ws.config();
    let shown = |p: &Path| ws.display(p);
    let dir = loaded.components_dir();
    let mut components = rules::load_components(&dir)
        .with_context(|| format!("cannot read the Dapr components in {}", shown(&dir)))?;
    components.retain(rules::Component::is_component);
    let namespace = loaded.app_namespace(app);
    let app_id = loaded.release_name(app);
    let mut problems = Vec::new();
    for name in uses {
        let same: Vec<&rules::Component> = components.iter().filter(|c| &c.name == name).collect();
        if same.is_empty() {
            let mut names: Vec<&str> = components.iter().map(|c| c.name.as_str()).collect();
            names.sort();
            names.dedup();
            problems.push(format!(
                "no Dapr component named `{name}` in {} (defined: {})",
                shown(&dir),
                if names.is_empty() {
                    "none".into()
                } else {
                    names.join(", ")
                }
            ));
            continue;
        }
        let visible = same
            .iter()
            .any(|c| c.visible_in(&namespace) && c.scoped_to(&app_id));
        if !visible {
            let wheres: Vec<String> = same
                .iter()
                .map(|c| {
                    let ns = match &c.namespace {
                        Some(n) => format!("namespace `{n}`"),
                        None => "every app namespace (no `metadata.namespace`)".to_string(),
                    };
                    if c.scopes.is_empty() {
                        format!("{ns} ({})", shown(&c.file))
                    } else {
                        format!(
                            "{ns}, scoped to {} ({})",
                            c.scopes.join(", "),
                            shown(&c.file)
                        )
                    }
                })
                .collect();
            problems.push(format!(
                "Dapr component `{name}` exists but not for app `{app}` (Dapr app id `{app_id}`) in namespace `{namespace}`: it is in {}",
                wheres.join("; ")
            ));
        }
    }
    if problems.is_empty() {
        return Ok(());
    }
    bail!(Invalid::new(format!("--uses: {}", problems.join("\n  ")))
        .with_hint(format!(
            "components are defined by the platform team in {}; ask them to add one for namespace `{namespace}` (or without a namespace) scoped to `{app_id}`",
            shown(&dir)
        )))
}

/// Validate the staged files as `helm appkit validate` would (no overlay, then every
/// environment). Diagnostics name the final paths. Errors refuse the app; warnings are returned.
fn verify(
    ws: &Workspace,
    chart_dir: &Path,
    app: &str,
    staged: &Path,
    target: &Path,
) -> Result<Vec<Diagnostic>> {
    let loaded = ws.config();
    let validator = Validator::with_chart(chart_dir, Some(loaded))
        .with_context(|| format!("cannot load the chart at {}", ws.display(chart_dir)))?;
    let mut envs: Vec<Option<String>> = vec![None];
    envs.extend(loaded.config.environments.keys().cloned().map(Some));
    let mut diags = validator.chart_notes();
    for env in &envs {
        let files = workspace::app_files(staged, env.as_deref());
        diags.extend(validator.validate_files(app, &files, env.as_deref()));
    }
    for d in &mut diags {
        if let Some(l) = d.location.as_mut() {
            if let Ok(rest) = l.file.strip_prefix(staged) {
                l.file = target.join(rest);
            }
        }
    }
    diagnostics::sort_dedup(&mut diags);
    if diags.iter().any(|d| d.is_error()) {
        return Err(DoesNotValidate {
            app: app.to_string(),
            diagnostics: diags,
        }
        .into());
    }
    Ok(diags)
}

fn write_synced(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut f =
        std::fs::File::create(path).with_context(|| format!("cannot write {}", path.display()))?;
    f.write_all(bytes)?;
    f.sync_all()?;
    Ok(())
}

fn dedup(items: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for i in items {
        let i = i.trim();
        if !i.is_empty() && !out.iter().any(|o| o == i) {
            out.push(i.to_string());
        }
    }
    out
}
