//! `helm appkit new <APP>`: check the request against the platform (name, existing apps, platform
//! namespaces, environments, Dapr components), render the scaffold, validate it with the values
//! engine exactly as `helm appkit validate` would (every environment), and only then move the new
//! app directory into place in one rename — nothing is written when any check fails.
//!
//! `--image` is required: the file must validate as written, and a placeholder image would either
//! fail validation or deploy nothing. Exit 2: usage (no or malformed `--image`, unknown
//! environment), I/O. Exit 1: the request was checked and refused (bad or taken name, platform
//! namespace, component missing or not visible to the app, generated values that do not validate).

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use crate::cli::{GlobalArgs, NewArgs};
use crate::config::{self, Loaded};
use crate::diagnostics;
use crate::error::{Hint, Invalid, Status};
use crate::printer::Printer;
use crate::scaffold::model::Schema;
use crate::scaffold::newapp::{self, EnvInfo, ImageRef, NewApp};
use crate::scaffold::templates::{Templates, OVERLAY, VALUES};
use crate::scaffold::ChartMeta;
use crate::values::{rules, Validator};

pub fn run(global: &GlobalArgs, args: NewArgs, printer: &Printer) -> Result<Status> {
    let loaded = load_config(global)?;
    let app = args.app.clone();
    let Some(image) = args.image.as_deref() else {
        bail!(anyhow::Error::new(Hint(format!(
            "pass the image the build printed, e.g. `helm appkit new {app} --image harbor.example.com/apps/{app}@sha256:<64 hex>`"
        )))
        .context("--image is required: the new values file must validate as written, and the platform deploys images by digest"));
    };
    let image = ImageRef::parse(image).map_err(|e| {
        anyhow::Error::new(Hint(
            "copy the reference with its digest from the build output (`pack build` prints it)"
                .into(),
        ))
        .context(e.to_string())
    })?;

    check_app(&loaded, &app)?;
    let envs = environments(&loaded, &args.env)?;
    let uses = dedup(&args.uses);
    check_components(&loaded, &app, &uses)?;

    let chart_dir = loaded.chart_dir();
    let templates = Templates::load(templates_dir(&loaded).as_deref(), &[VALUES, OVERLAY])?;
    super::docs::report_templates(&templates, &[VALUES, OVERLAY], printer);
    let schema = Schema::load(&chart_dir)?;
    let chart = ChartMeta::load(&chart_dir)?;
    let req = NewApp {
        app: app.clone(),
        image,
        port: args.port,
        uses,
        envs,
    };
    let files = newapp::render(&templates, &schema, &chart, &req)?;

    let apps_dir = loaded.apps_dir();
    std::fs::create_dir_all(&apps_dir)
        .with_context(|| format!("cannot create {}", shown(&apps_dir)))?;
    crate::fsutil::sweep_stale(&apps_dir);
    let staging = tempfile::Builder::new()
        .prefix(&crate::fsutil::temp_prefix("new"))
        .tempdir_in(&apps_dir)
        .with_context(|| format!("cannot create a directory in {}", shown(&apps_dir)))?;
    for (name, text) in &files {
        write_synced(&staging.path().join(name), text.as_bytes())?;
    }
    let target = apps_dir.join(&app);
    verify(&loaded, &chart_dir, &app, staging.path(), &target, printer)?;

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
    let written: Vec<String> = files.iter().map(|(n, _)| shown(&target.join(n))).collect();
    if printer.json_output() {
        printer.json(&serde_json::json!({ "app": app, "files": written }))?;
    } else {
        for f in &written {
            printer.data(f)?;
        }
    }
    printer.status(&format!(
        "created app `{app}` from the chart's schema; edit {} and check it with `helm appkit validate`",
        shown(&target.join("values.yaml"))
    ));
    Ok(Status::Ok)
}

fn load_config(global: &GlobalArgs) -> Result<Loaded> {
    let path = config::locate(global.config.as_deref()).map_err(|e| {
        anyhow::Error::new(e).context(Hint(
            "run inside a platform repo (with appkit.yaml) or pass --config".into(),
        ))
    })?;
    Ok(config::load(&path)?)
}

/// The platform's template directory, relative to appkit.yaml.
pub fn templates_dir(loaded: &Loaded) -> Option<PathBuf> {
    loaded
        .config
        .templates
        .as_ref()
        .map(|t| loaded.root.join(t))
}

fn check_app(loaded: &Loaded, app: &str) -> Result<()> {
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
            shown(&loaded.path),
            platform.join(", ")
        )));
    }
    let dir = loaded.apps_dir().join(app);
    if dir.join("values.yaml").is_file() {
        bail!(Invalid::new(format!(
            "`{app}` is already an app ({} exists); appkit new never overwrites an app",
            shown(&dir.join("values.yaml"))
        ))
        .with_hint("edit the existing file, or choose another name"));
    }
    if dir.symlink_metadata().is_ok() {
        bail!(Invalid::new(format!(
            "{} already exists; appkit new never overwrites it",
            shown(&dir)
        ))
        .with_hint("remove it first if it is left over, or choose another name"));
    }
    Ok(())
}

fn environments(loaded: &Loaded, asked: &[String]) -> Result<Vec<EnvInfo>> {
    let mut out = Vec::new();
    for name in dedup(asked) {
        let Some(env) = loaded.config.environments.get(&name) else {
            let known: Vec<&str> = loaded
                .config
                .environments
                .keys()
                .map(String::as_str)
                .collect();
            bail!(anyhow::Error::new(Hint(format!(
                "environments in {}: {}",
                shown(&loaded.path),
                known.join(", ")
            )))
            .context(format!("unknown environment `{name}`")));
        };
        out.push(EnvInfo {
            name,
            promoted: env.promoted,
        });
    }
    Ok(out)
}

/// Every `--uses` name must be a Component in the app's namespace whose scopes include the app.
fn check_components(loaded: &Loaded, app: &str, uses: &[String]) -> Result<()> {
    if uses.is_empty() {
        return Ok(());
    }
    let dir = loaded.components_dir();
    let components = rules::load_components(&dir)
        .with_context(|| format!("cannot read the Dapr components in {}", shown(&dir)))?;
    let namespace = loaded.app_namespace(app);
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
        let visible = same.iter().any(|c| {
            c.namespace.as_deref() == Some(namespace.as_str())
                && (c.scopes.is_empty() || c.scopes.iter().any(|s| s == app))
        });
        if !visible {
            let wheres: Vec<String> = same
                .iter()
                .map(|c| {
                    let ns = c.namespace.as_deref().unwrap_or("no namespace");
                    if c.scopes.is_empty() {
                        format!("namespace `{ns}` ({})", shown(&c.file))
                    } else {
                        format!(
                            "namespace `{ns}`, scoped to {} ({})",
                            c.scopes.join(", "),
                            shown(&c.file)
                        )
                    }
                })
                .collect();
            problems.push(format!(
                "Dapr component `{name}` exists but not for app `{app}` in namespace `{namespace}`: it is in {}",
                wheres.join("; ")
            ));
        }
    }
    if problems.is_empty() {
        return Ok(());
    }
    bail!(Invalid::new(format!("--uses: {}", problems.join("\n  ")))
        .with_hint(format!(
            "components are defined by the platform team in {}; ask them to add one for namespace `{namespace}` scoped to `{app}`",
            shown(&dir)
        )))
}

/// Validate the staged files as `helm appkit validate` would (no overlay, then every
/// environment); report with the final paths and refuse when anything is an error.
fn verify(
    loaded: &Loaded,
    chart_dir: &Path,
    app: &str,
    staged: &Path,
    target: &Path,
    printer: &Printer,
) -> Result<()> {
    let validator = Validator::with_chart(chart_dir, Some(loaded))
        .with_context(|| format!("cannot load the chart at {}", shown(chart_dir)))?;
    let mut envs: Vec<Option<String>> = vec![None];
    envs.extend(loaded.config.environments.keys().cloned().map(Some));
    let mut diags = Vec::new();
    for env in &envs {
        let mut files = vec![staged.join("values.yaml")];
        if let Some(e) = env {
            let overlay = staged.join(format!("values.{e}.yaml"));
            if overlay.is_file() {
                files.push(overlay);
            }
        }
        diags.extend(validator.validate_files(app, &files, env.as_deref()));
    }
    diagnostics::sort_dedup(&mut diags);
    if diags.is_empty() {
        return Ok(());
    }
    let base = std::env::current_dir().ok();
    let text = diagnostics::render_human(&diags, base.as_deref(), printer.color());
    let text = text.replace(
        &diagnostics::display_path(staged, base.as_deref()),
        &diagnostics::display_path(target, base.as_deref()),
    );
    printer.stderr_raw(&text);
    if diags.iter().any(|d| d.is_error()) {
        bail!(Invalid::new(format!(
            "the values generated for `{app}` do not validate (see above); nothing was written"
        ))
        .with_hint("fix the flags (image, port, components) or the chart's schema defaults"));
    }
    Ok(())
}

fn write_synced(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut f =
        std::fs::File::create(path).with_context(|| format!("cannot write {}", path.display()))?;
    f.write_all(bytes)?;
    f.sync_all()?;
    Ok(())
}

/// A path as the user sees it: relative to the current directory when below it.
fn shown(p: &Path) -> String {
    let base = std::env::current_dir().ok();
    diagnostics::display_path(p, base.as_deref())
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
