//! `helm appkit validate`: resolve which apps, files and environments to check, run the values
//! engine over them (a few threads; the chart and schema are loaded once), and report every
//! diagnostic at once — human text on stderr, `--output json` / `--output github` on stdout.
//!
//! `--list-rules` prints the rule registry ([`crate::rules`]) instead.
//!
//! Exit: 0 clean (warnings allowed unless `--strict`), 1 any error, 2 a file could not be read or
//! parsed, or a usage problem.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use crate::cli::{GlobalArgs, OutputFormat, ValidateArgs};
use crate::config::{self, Loaded};
use crate::diagnostics::{self, Diagnostic, Location};
use crate::error::{Hint, Status};
use crate::printer::Printer;
use crate::values::{Job, Validator, UNREADABLE_CODES};

pub fn run(global: &GlobalArgs, args: ValidateArgs, printer: &Printer) -> Result<Status> {
    if args.list_rules {
        return list_rules(global, printer);
    }
    let loaded = load_config(global, args.inputs.is_empty())?;
    let chart = match (&args.chart, &loaded) {
        (Some(c), _) => c.clone(),
        (None, Some(l)) => l.chart_dir(),
        (None, None) => bail!(anyhow::Error::new(Hint(
            "pass --chart DIR, or run inside a platform repo with appkit.yaml".into()
        ))
        .context("no chart to validate against")),
    };
    let validator = Validator::with_chart(&chart, loaded.as_ref())
        .with_context(|| format!("cannot load the chart at {} (values.yaml, values.schema.json) or the platform's Dapr components", chart.display()))?;
    let envs = environments(loaded.as_ref(), args.env.as_deref())?;
    let (jobs, mut diags) = plan(&args.inputs, loaded.as_ref(), &envs)?;
    let apps: std::collections::BTreeSet<&str> = jobs.iter().map(|j| j.app.as_str()).collect();
    let app_count = apps.len();
    let job_envs: std::collections::BTreeSet<&str> =
        jobs.iter().filter_map(|j| j.env.as_deref()).collect();
    diags.extend(validator.run(&jobs));
    diagnostics::sort_dedup(&mut diags);

    let values = args
        .print_values
        .then(|| coalesced_values(&validator, &jobs));
    if let (Some(v), false) = (&values, global.output == OutputFormat::Json) {
        printer.json(v)?;
    }

    let base = std::env::current_dir().ok();
    let base = base.as_deref();
    let errors = diags.iter().filter(|d| d.is_error()).count();
    let warnings = diags.len() - errors;
    match global.output {
        OutputFormat::Human => {
            printer.stderr_raw(&diagnostics::render_human(&diags, base, printer.color()))
        }
        OutputFormat::Json => {
            let mut doc = diagnostics::to_json(&diags, base);
            if let Some(v) = values {
                doc["values"] = v;
            }
            printer.json(&doc)?
        }
        OutputFormat::Github => {
            let text = diagnostics::render_github(&diags, base);
            if !text.is_empty() {
                printer.data(text.trim_end())?;
            }
        }
    }
    let env_note = match job_envs.len() {
        0 => String::new(),
        n => format!(" in {n} environment{}", if n == 1 { "" } else { "s" }),
    };
    printer.status(&format!(
        "validated {app_count} app{}{env_note}: {errors} error{}, {warnings} warning{}",
        if app_count == 1 { "" } else { "s" },
        if errors == 1 { "" } else { "s" },
        if warnings == 1 { "" } else { "s" },
    ));
    if diags
        .iter()
        .any(|d| UNREADABLE_CODES.contains(&d.code.as_str()))
    {
        bail!("some values files could not be read or parsed (see above)");
    }
    Ok(if errors > 0 || (args.strict && warnings > 0) {
        Status::Failed
    } else {
        Status::Ok
    })
}

/// `--list-rules`: the rule registry as a table on stdout, or JSON.
fn list_rules(global: &GlobalArgs, printer: &Printer) -> Result<Status> {
    match global.output {
        OutputFormat::Json => printer.json(&crate::rules::to_json())?,
        OutputFormat::Human | OutputFormat::Github => {
            printer.data(crate::rules::table().trim_end())?
        }
    }
    Ok(Status::Ok)
}

fn load_config(global: &GlobalArgs, required: bool) -> Result<Option<Loaded>> {
    match config::locate(global.config.as_deref()) {
        Ok(path) => Ok(Some(config::load(&path)?)),
        Err(config::ConfigError::NotFound { .. }) if !required => Ok(None),
        Err(e) => Err(anyhow::Error::new(Hint(
            "run inside a platform repo (with appkit.yaml), pass --config, or name values files and --chart".into(),
        ))
        .context(e.to_string())),
    }
}

fn environments(loaded: Option<&Loaded>, only: Option<&str>) -> Result<Vec<Option<String>>> {
    match (only, loaded) {
        (Some(e), Some(l)) if !l.config.environments.contains_key(e) => {
            let known: Vec<&str> = l.config.environments.keys().map(String::as_str).collect();
            bail!(anyhow::Error::new(Hint(format!(
                "environments in {}: {}",
                l.path.display(),
                known.join(", ")
            )))
            .context(format!("unknown environment `{e}`")))
        }
        (Some(e), _) => Ok(vec![Some(e.to_string())]),
        (None, Some(l)) if !l.config.environments.is_empty() => Ok(l
            .config
            .environments
            .keys()
            .map(|e| Some(e.clone()))
            .collect()),
        (None, _) => Ok(vec![None]),
    }
}

/// Turn inputs into jobs; inputs that do not exist become diagnostics.
fn plan(
    inputs: &[PathBuf],
    loaded: Option<&Loaded>,
    envs: &[Option<String>],
) -> Result<(Vec<Job>, Vec<Diagnostic>)> {
    let mut jobs = Vec::new();
    let mut diags = Vec::new();
    if inputs.is_empty() {
        let l = loaded.expect("config is required without inputs");
        let apps = l
            .app_names()
            .with_context(|| format!("cannot list the apps in {}", l.apps_dir().display()))?;
        for app in apps {
            for env in envs {
                jobs.push(Job {
                    app: app.clone(),
                    files: None,
                    env: env.clone(),
                });
            }
        }
        return Ok((jobs, diags));
    }
    for input in inputs {
        let app = app_name(input);
        if input.is_dir() && input.join("values.yaml").is_file() {
            for env in envs {
                let mut files = vec![input.join("values.yaml")];
                if let Some(e) = env {
                    let overlay = input.join(format!("values.{e}.yaml"));
                    if overlay.is_file() {
                        files.push(overlay);
                    }
                }
                jobs.push(Job {
                    app: app.clone(),
                    files: Some(files),
                    env: env.clone(),
                });
            }
        } else if let Some((base, env)) = overlay_of(input) {
            // An environment overlay is validated on top of its app's values.yaml, in its env.
            jobs.push(Job {
                app: app.clone(),
                files: Some(vec![base, input.clone()]),
                env: Some(env),
            });
        } else if input.exists() && !input.is_dir() {
            for env in envs {
                jobs.push(Job {
                    app: app.clone(),
                    files: Some(vec![input.clone()]),
                    env: env.clone(),
                });
            }
        } else {
            let what = if input.is_dir() {
                "is a directory without a values.yaml"
            } else {
                "does not exist"
            };
            let mut d = Diagnostic::error("unreadable", format!("{} {what}", input.display()))
                .help("pass values files or app directories (apps/<app>, containing values.yaml)");
            d.location = Some(Location::file_only(input.clone()));
            diags.push(d);
        }
    }
    Ok((jobs, diags))
}

/// The app an input belongs to: the directory's name, or the directory holding the file.
fn app_name(input: &Path) -> String {
    let abs = std::path::absolute(input).unwrap_or_else(|_| input.to_path_buf());
    let dir = if abs.is_dir() {
        abs.as_path()
    } else {
        abs.parent().unwrap_or(&abs)
    };
    dir.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "app".into())
}

/// `apps/x/values.<env>.yaml` next to `apps/x/values.yaml` → (that values.yaml, env).
fn overlay_of(input: &Path) -> Option<(PathBuf, String)> {
    if !input.is_file() {
        return None;
    }
    let name = input.file_name()?.to_str()?;
    let env = name.strip_prefix("values.")?.strip_suffix(".yaml")?;
    let base = input.parent()?.join("values.yaml");
    (!env.is_empty() && base.is_file()).then(|| (base, env.to_string()))
}

/// `--print-values`: the coalesced values of every job, as Helm would compute them
/// (`[{"app", "env", "values"}]`; jobs whose files cannot be read are left out).
fn coalesced_values(validator: &Validator, jobs: &[Job]) -> serde_json::Value {
    let mut out = Vec::new();
    for j in jobs {
        let files = match &j.files {
            Some(f) => f.clone(),
            None => validator.app_files(&j.app, j.env.as_deref()),
        };
        if let Ok(v) = validator.coalesce(&j.app, &files, j.env.as_deref()) {
            out.push(serde_json::json!({"app": j.app, "env": j.env, "values": v.json}));
        }
    }
    serde_json::Value::Array(out)
}
