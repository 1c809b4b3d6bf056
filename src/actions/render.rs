//! Render: every selected environment's Flux files computed in memory (apps whose values do not
//! validate are refused), compared with what is on disk, then either applied or left as a plan for
//! `--check`. The decisions about each file live in `flux/`; this is the order of the steps:
//! render in memory → lock the output directories (`flux::drift::lock`, so a concurrent render
//! waits) → plan every environment → stage every changed environment's new directory beside it →
//! switch each in with one rename → unlock. A problem before the switches (a hand-written file in
//! the way, a full disk) leaves every environment as it was.

use std::path::PathBuf;

use anyhow::{Context, Result};

use crate::diagnostics::{self, Diagnostic};
use crate::flux::drift::{self, EnvPlan};
use crate::flux::render::{self as flux_render, RenderOptions};
use crate::flux::FluxError;
use crate::values::Validator;
use crate::workspace::{self, Workspace};

/// What to render.
#[derive(Debug)]
pub struct Request<'a> {
    /// `--env` as given (empty: every environment).
    pub envs: &'a [String],
    /// Output directory instead of the environment's (exactly one environment).
    pub out: Option<PathBuf>,
    /// Plan only; write nothing.
    pub check: bool,
}

/// How a render ended.
#[derive(Debug)]
pub enum Outcome {
    /// The inputs are wrong; nothing was written. Every problem found.
    Invalid(Vec<Diagnostic>),
    /// Every environment planned (and, without `check`, applied).
    Rendered {
        /// Non-fatal problems (config warnings, a pin for an app that does not exist), sorted.
        warnings: Vec<Diagnostic>,
        /// One plan per environment, in the order rendered.
        plans: Vec<EnvPlan>,
        /// Apps rendered per environment (same order as `plans`).
        apps: Vec<usize>,
    },
}

/// `--out` names one directory, so it needs exactly one environment (usage error, exit 2).
fn check_out(req: &Request<'_>, envs: &[String]) -> Result<()> {
    if req.out.is_some() && envs.len() != 1 {
        return Err(crate::error::Hinted::new(
            anyhow::anyhow!("--out needs exactly one environment, got {}", envs.len()),
            "name one environment with --env ENV",
        )
        .into());
    }
    Ok(())
}

/// Render replaces an output directory as a whole: one that holds the workspace (`--out .`) is
/// refused before anything is written.
fn refuse_workspace_output(root: &std::path::Path, envs: &[flux_render::EnvRender]) -> Result<()> {
    let Ok(root) = std::fs::canonicalize(root) else {
        return Ok(());
    };
    for env in envs {
        if let Ok(out) = std::fs::canonicalize(&env.out_dir) {
            if root.starts_with(&out) {
                return Err(FluxError::OutputHoldsWorkspace {
                    out_dir: env.out_dir.clone(),
                    root,
                }
                .into());
            }
        }
    }
    Ok(())
}

pub fn run(ws: &Workspace, req: &Request<'_>) -> Result<Outcome> {
    let envs = ws.select_envs(req.envs)?;
    check_out(req, &envs)?;
    let loaded = ws.config();
    let opts = RenderOptions {
        envs,
        apps: ws.apps()?,
        out: req.out.clone(),
    };
    // Render refuses apps whose values fail validation (schema + platform rules), per environment.
    let validator = Validator::new(loaded)
        .with_context(|| format!("cannot load the chart at {}", loaded.chart_dir().display()))?;
    // What the fleet checks need of each app, collected while the apps are checked.
    let entries = std::sync::Mutex::new(Vec::new());
    let check_app = |app: &str, dir: &std::path::Path, env: &str| {
        let files = workspace::app_files(dir, Some(env));
        match validator.coalesce(app, &files, Some(env), Some(&loaded.apps_dir())) {
            Ok(values) => flux_render::AppChecked {
                diagnostics: {
                    if let Some(e) = validator.fleet_entry(&values) {
                        entries.lock().unwrap_or_else(|p| p.into_inner()).push(e);
                    }
                    validator.check(&values)
                },
                release: Some(values.release.clone()),
                values: Some(values.json),
            },
            Err(diagnostics) => flux_render::AppChecked {
                diagnostics,
                ..Default::default()
            },
        }
    };
    let rendered = flux_render::render(loaded, &opts, &check_app);
    let mut entries = entries.into_inner().unwrap_or_else(|p| p.into_inner());
    entries.sort_by(|a, b| (&a.env, &a.app).cmp(&(&b.env, &b.app)));
    let fleet: Vec<Diagnostic> = validator
        .fleet(&entries)
        .into_iter()
        .filter(Diagnostic::is_error)
        .collect();
    let rendered = match rendered {
        Ok(_) if !fleet.is_empty() => return Ok(Outcome::Invalid(fleet)),
        Ok(r) => r,
        Err(FluxError::Invalid(mut diagnostics)) => {
            diagnostics.extend(fleet);
            diagnostics::sort_dedup(&mut diagnostics);
            return Ok(Outcome::Invalid(diagnostics));
        }
        Err(e) => return Err(e.into()),
    };
    let mut warnings: Vec<Diagnostic> = ws.config_warnings().to_vec();
    warnings.extend(rendered.warnings.iter().cloned());
    diagnostics::sort_dedup(&mut warnings);
    if !req.check {
        refuse_workspace_output(&loaded.root, &rendered.envs)?;
    }
    // Held until every environment is switched: a concurrent render plans against the result.
    let out_dirs: Vec<&std::path::Path> =
        rendered.envs.iter().map(|e| e.out_dir.as_path()).collect();
    let _locks = drift::lock(&out_dirs, req.check)?;
    // Plan every environment, then stage every changed one, before switching any: a problem in
    // one (a hand-written file in the way, a full disk) leaves all of them untouched.
    let mut plans = Vec::new();
    for env in &rendered.envs {
        plans.push(
            drift::plan(env).with_context(|| format!("cannot plan environment {}", env.env))?,
        );
    }
    if !req.check {
        let mut staged = Vec::new();
        for plan in &plans {
            staged.extend(drift::stage(plan)?);
        }
        for s in staged {
            s.commit()?;
        }
    }
    let apps = rendered
        .envs
        .iter()
        .map(|e| {
            e.files
                .keys()
                .filter(|f| *f != "kustomization.yaml" && *f != flux_render::SOURCES_FILE)
                .count()
        })
        .collect();
    Ok(Outcome::Rendered {
        warnings,
        plans,
        apps,
    })
}
