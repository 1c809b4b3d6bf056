//! Validate: which apps, files and environments to check, run once over the values engine (the
//! chart and schema are loaded once), every diagnostic collected. Used by `validate`, and by
//! `publish` and `render` for "every app of the workspace".

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde_json::Value;

use crate::diagnostics::{self, Diagnostic, Location};
use crate::error::Hinted;
use crate::values::{Job, Validator, UNREADABLE_CODES};
use crate::workspace::{self, Workspace};

/// What to validate.
#[derive(Debug, Default)]
pub struct Request<'a> {
    /// Values files or app directories; empty: every app of the workspace.
    pub inputs: &'a [PathBuf],
    /// Environments asked for (`--env`); empty: all.
    pub envs: &'a [String],
    /// The chart directory (default: the workspace's chart).
    pub chart: Option<&'a Path>,
    /// Also compute the coalesced values of every job.
    pub print_values: bool,
}

/// What validation found.
#[derive(Debug)]
pub struct Report {
    /// Sorted, duplicates dropped.
    pub diagnostics: Vec<Diagnostic>,
    /// Distinct apps checked.
    pub apps: usize,
    /// Distinct environments checked (0 when none applies).
    pub envs: usize,
    /// With `print_values`: `[{"app", "env", "values"}]`.
    pub values: Option<Value>,
}

impl Report {
    pub fn errors(&self) -> usize {
        self.diagnostics.iter().filter(|d| d.is_error()).count()
    }
    pub fn warnings(&self) -> usize {
        self.diagnostics.len() - self.errors()
    }
    /// Some file could not be read or parsed (exit 2 rather than 1).
    pub fn unreadable(&self) -> bool {
        self.diagnostics
            .iter()
            .any(|d| UNREADABLE_CODES.contains(&d.code.as_str()))
    }
}

/// Validate what `req` names. Without a workspace only explicit inputs and `--chart` work.
pub fn run(ws: Option<&Workspace>, req: &Request<'_>) -> Result<Report> {
    let chart = match (req.chart, ws) {
        (Some(c), _) => c.to_path_buf(),
        (None, Some(w)) => w.config().chart_dir(),
        (None, None) => {
            return Err(Hinted::new(
                anyhow::anyhow!("no chart to validate against"),
                "pass --chart DIR, or run inside a platform repo with appkit.yaml",
            )
            .into())
        }
    };
    let validator = Validator::with_chart(&chart, ws.map(Workspace::config)).with_context(|| {
        format!(
            "cannot load the chart at {} (values.yaml, values.schema.json) or the platform's Dapr components",
            chart.display()
        )
    })?;
    let envs = environments(ws, req.envs)?;
    let (jobs, mut diags) = match ws {
        Some(w) if req.inputs.is_empty() => (workspace_jobs(w, &envs)?, Vec::new()),
        _ => input_jobs(
            req.inputs,
            &envs,
            ws.map(|w| w.config().apps_dir()).as_deref(),
        ),
    };
    let apps: BTreeSet<&str> = jobs.iter().map(|j| j.app.as_str()).collect();
    let job_envs: BTreeSet<&str> = jobs.iter().filter_map(|j| j.env.as_deref()).collect();
    diags.extend(validator.run(&jobs));
    diags.extend(chart_warnings(&chart, ws));
    // Once per run, not per app: no schema, rules the chart's keys leave out.
    diags.extend(validator.chart_notes());
    diagnostics::sort_dedup(&mut diags);
    Ok(Report {
        apps: apps.len(),
        envs: job_envs.len(),
        values: req
            .print_values
            .then(|| coalesced_values(&validator, &jobs)),
        diagnostics: diags,
    })
}

/// Every app of the workspace in the given environments (`None`: no overlay), as jobs.
pub fn workspace_jobs(ws: &Workspace, envs: &[Option<String>]) -> Result<Vec<Job>> {
    let mut jobs = Vec::new();
    let apps_dir = ws.config().apps_dir();
    for app in ws.apps()? {
        for env in envs {
            jobs.push(Job {
                files: ws.app_files(&app, env.as_deref()),
                app: app.clone(),
                env: env.clone(),
                confine: Some(apps_dir.clone()),
            });
        }
    }
    Ok(jobs)
}

/// What Helm accepts in the chart's Chart.yaml but appkit is stricter about, each under its rule
/// (severity from `appkit.yaml` `rules:`, default warning). A Chart.yaml that cannot be read is
/// left to the values engine's own error.
fn chart_warnings(chart: &Path, ws: Option<&Workspace>) -> Vec<Diagnostic> {
    use crate::chart::metadata::Strictness;
    let Ok(md) = crate::chart::ChartMetadata::load(chart) else {
        return Vec::new();
    };
    let levels = ws
        .map(|w| w.config().config.rules.clone())
        .unwrap_or_default();
    md.strictness()
        .into_iter()
        .filter_map(|(kind, mut d)| {
            let rule = match kind {
                Strictness::LegacyApiVersion => &crate::rules::CHART_LEGACY_API_VERSION,
                Strictness::VersionNotStrict => &crate::rules::CHART_VERSION_NOT_STRICT,
                Strictness::NameNotLowercase => &crate::rules::CHART_NAME_NOT_LOWERCASE,
                Strictness::DuplicateKey => &crate::rules::CHART_DUPLICATE_KEY,
            };
            d.severity = crate::rules::resolve(rule, &levels, false)?;
            d.code = rule.code.to_string();
            Some(d)
        })
        .collect()
}

/// The environments to validate in: the selected ones of `appkit.yaml` (`None` alone when it
/// has none); without a workspace the names asked for, as given.
pub fn environments(ws: Option<&Workspace>, asked: &[String]) -> Result<Vec<Option<String>>> {
    let names = match ws {
        Some(w) => w.select_envs(asked)?,
        None => {
            let mut v: Vec<String> = Vec::new();
            for e in asked {
                if !v.contains(e) {
                    v.push(e.clone());
                }
            }
            v
        }
    };
    Ok(if names.is_empty() {
        vec![None]
    } else {
        names.into_iter().map(Some).collect()
    })
}

/// Turn explicit inputs into jobs; inputs that are neither a values file nor an app directory
/// become diagnostics. A named file (and the `values.yaml` a named overlay goes on) is the
/// user's choice; the files found in a named app directory must stay inside the apps directory
/// (`apps_dir`) when the app is in it, else inside the app directory.
fn input_jobs(
    inputs: &[PathBuf],
    envs: &[Option<String>],
    apps_dir: Option<&Path>,
) -> (Vec<Job>, Vec<Diagnostic>) {
    let mut jobs = Vec::new();
    let mut diags = Vec::new();
    let absolute = |p: &Path| std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
    let apps_abs = apps_dir.map(absolute);
    for input in inputs {
        let app = app_name(input);
        if workspace::is_app_dir(input) {
            let abs = absolute(input);
            let confine = match &apps_abs {
                Some(a) if abs.starts_with(a) => a.clone(),
                _ => abs.clone(),
            };
            for env in envs {
                jobs.push(Job {
                    app: app.clone(),
                    files: workspace::app_files(input, env.as_deref()),
                    env: env.clone(),
                    confine: Some(confine.clone()),
                });
            }
        } else if let Some((base, env)) = workspace::overlay_of(input) {
            // An environment overlay is validated on top of its app's values.yaml, in its env.
            jobs.push(Job {
                app: app.clone(),
                files: vec![base, input.clone()],
                env: Some(env),
                confine: None,
            });
        } else if std::fs::symlink_metadata(input).is_ok() && !input.is_dir() {
            // Any entry that is not a directory is a values file; reading it decides (a FIFO or
            // device is refused there, with the same words as everywhere else).
            for env in envs {
                jobs.push(Job {
                    app: app.clone(),
                    files: vec![input.clone()],
                    env: env.clone(),
                    confine: None,
                });
            }
        } else {
            let what = if input.is_dir() {
                "is a directory without a values.yaml"
            } else {
                "does not exist"
            };
            let d = Diagnostic::error("unreadable", format!("{} {what}", input.display()))
                .help("pass values files or app directories (apps/<app>, containing values.yaml)")
                .at(Location::file_only(input.clone()));
            diags.push(d);
        }
    }
    (jobs, diags)
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

/// The coalesced values of every job, as Helm would compute them (jobs whose files cannot be
/// read are left out).
fn coalesced_values(validator: &Validator, jobs: &[Job]) -> Value {
    let out: Vec<Value> = jobs
        .iter()
        .filter_map(|j| {
            let v = validator
                .coalesce(&j.app, &j.files, j.env.as_deref(), j.confine.as_deref())
                .ok()?;
            Some(serde_json::json!({"app": j.app, "env": j.env, "values": v.json}))
        })
        .collect();
    Value::Array(out)
}
