//! `helm appkit render`: appkit.yaml + appkit.lock + apps/ → Flux files per environment, or with
//! `--check` a unified diff of what would change (exit 1 on drift). Resolves the arguments, calls
//! `flux::render` and `flux::drift`, prints; all decisions live in `flux/`.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use serde::Serialize;

use crate::cli::{GlobalArgs, RenderArgs, RenderSource};
use crate::config::{self, ConfigError};
use crate::diagnostics::{self, Diagnostic};
use crate::error::{Hint, Invalid, Status};
use crate::flux::drift::{self, Action};
use crate::flux::render::{self as flux_render, RenderOptions, SourceKind};
use crate::flux::FluxError;
use crate::printer::Printer;
use crate::values::Validator;

#[derive(Serialize)]
struct JsonFile {
    path: String,
    action: Action,
    /// With `--check`: the unified diff of a file that would change.
    #[serde(skip_serializing_if = "Option::is_none")]
    diff: Option<String>,
}

#[derive(Serialize)]
struct JsonEnv {
    env: String,
    out: String,
    files: Vec<JsonFile>,
    warnings: Vec<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct JsonReport {
    check: bool,
    drift: bool,
    environments: Vec<JsonEnv>,
    diagnostics: Vec<serde_json::Value>,
}

pub fn run(global: &GlobalArgs, args: RenderArgs, printer: &Printer) -> Result<Status> {
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    let path = config::locate(global.config.as_deref())?;
    let (loaded, config_warnings) = match config::load_with_warnings(&path) {
        Ok(l) => l,
        Err(ConfigError::Diagnostics {
            path, diagnostics, ..
        }) => {
            let what = format!("{} is invalid", path.display());
            return report_invalid(printer, &cwd, args.check, diagnostics, &what);
        }
        Err(e) => return Err(e.into()),
    };
    check_usage(&loaded, &args)?;
    let opts = RenderOptions {
        envs: args.env.clone(),
        out: args.out.clone(),
        source: match args.source {
            RenderSource::Ocirepository => SourceKind::OciRepository,
            RenderSource::Helmrepository => SourceKind::HelmRepository,
        },
    };
    // Render refuses apps whose values fail validation (schema + platform rules), per environment.
    let validator = Validator::new(&loaded)
        .with_context(|| format!("cannot load the chart at {}", loaded.chart_dir().display()))?;
    let check_app = |app: &str, _dir: &Path, env: &str| validator.validate_app(app, Some(env));
    let rendered = match flux_render::render(&loaded, &opts, &check_app) {
        Ok(r) => r,
        Err(FluxError::Invalid(diagnostics)) => {
            return report_invalid(printer, &cwd, args.check, diagnostics, "cannot render");
        }
        Err(e) => return Err(e.into()),
    };
    let mut warnings: Vec<Diagnostic> = config_warnings;
    warnings.extend(rendered.warnings.iter().cloned());
    diagnostics::sort_dedup(&mut warnings);
    if !warnings.is_empty() && !printer.json_output() {
        printer.stderr_raw(&diagnostics::render_human(
            &warnings,
            Some(&cwd),
            printer.color(),
        ));
    }
    let shown = |p: &Path| display_path(p, &cwd);
    let mut report = JsonReport {
        check: args.check,
        drift: false,
        environments: Vec::new(),
        diagnostics: json_diagnostics(&warnings, &cwd),
    };
    // Plan every environment before writing anything: a problem in one (e.g. a hand-written
    // file in the way) leaves all of them untouched.
    let mut plans = Vec::new();
    for env in &rendered.envs {
        plans.push(
            drift::plan(env).with_context(|| format!("cannot plan environment {}", env.env))?,
        );
    }
    for (env, plan) in rendered.envs.iter().zip(plans) {
        let plan_warnings: Vec<String> = plan
            .warnings
            .iter()
            .map(|w| format!("{}: {}", shown(&w.path), w.message))
            .collect();
        for w in &plan_warnings {
            printer.warn(w);
        }
        let count = |a: Action| plan.changes.iter().filter(|c| c.action == a).count();
        let (created, updated, removed) = (
            count(Action::Create),
            count(Action::Update),
            count(Action::Remove),
        );
        report.drift |= plan.drifted();
        if args.check {
            if !printer.json_output() {
                for c in &plan.changes {
                    let diff = drift::unified_diff(c, &shown(&c.path));
                    if !diff.is_empty() {
                        print_raw(&diff)?;
                    }
                }
            }
            if plan.drifted() {
                printer.status(&format!(
                    "{}: {} would change ({created} new, {updated} changed, {removed} removed)",
                    env.env,
                    shown(&plan.out_dir)
                ));
            } else {
                printer.status(&format!(
                    "{}: {} is up to date",
                    plan.env,
                    shown(&plan.out_dir)
                ));
            }
        } else {
            drift::apply(&plan)?;
            for c in plan
                .changes
                .iter()
                .filter(|c| c.action != Action::Unchanged)
            {
                printer.debug(&format!("{:?} {}", c.action, shown(&c.path)));
            }
            let apps = env.files.len().saturating_sub(1);
            printer.status(&format!(
                "{}: rendered {apps} app(s) into {} ({created} new, {updated} changed, {removed} removed)",
                env.env,
                shown(&plan.out_dir)
            ));
        }
        report.environments.push(JsonEnv {
            env: env.env.clone(),
            out: shown(&plan.out_dir),
            files: plan
                .changes
                .iter()
                .map(|c| JsonFile {
                    path: shown(&c.path),
                    action: c.action,
                    diff: (args.check && c.action != Action::Unchanged)
                        .then(|| drift::unified_diff(c, &shown(&c.path))),
                })
                .collect(),
            warnings: plan_warnings,
        });
    }
    if printer.json_output() {
        printer.json(&report)?;
    }
    if args.check && report.drift {
        printer.status("hint: run `helm appkit render` and commit the result");
        return Ok(Status::Failed);
    }
    Ok(Status::Ok)
}

/// Usage errors (exit 2): an unknown `--env`, or `--out` without exactly one environment.
fn check_usage(loaded: &config::Loaded, args: &RenderArgs) -> Result<()> {
    let known = &loaded.config.environments;
    if let Some(e) = args.env.iter().find(|e| !known.contains_key(*e)) {
        let names: Vec<&str> = known.keys().map(String::as_str).collect();
        return Err(anyhow::Error::new(Hint(format!(
            "environments in {}: {}",
            loaded.path.display(),
            names.join(", ")
        )))
        .context(format!("unknown environment `{e}`")));
    }
    let count = if args.env.is_empty() {
        known.len()
    } else {
        args.env.len()
    };
    if args.out.is_some() && count != 1 {
        bail!(
            anyhow::Error::new(Hint("name one environment with --env ENV".into()))
                .context(format!("--out needs exactly one environment, got {count}"))
        );
    }
    Ok(())
}

/// Show every problem (human text on stderr, or the JSON report on stdout) and fail with exit 1.
fn report_invalid(
    printer: &Printer,
    cwd: &Path,
    check: bool,
    mut diagnostics: Vec<Diagnostic>,
    what: &str,
) -> Result<Status> {
    diagnostics::sort_dedup(&mut diagnostics);
    let errors = diagnostics.iter().filter(|d| d.is_error()).count();
    if printer.json_output() {
        let diagnostics = json_diagnostics(&diagnostics, cwd);
        printer.json(&JsonReport {
            check,
            drift: false,
            environments: vec![],
            diagnostics,
        })?;
        return Ok(Status::Failed);
    }
    printer.stderr_raw(&diagnostics::render_human(
        &diagnostics,
        Some(cwd),
        printer.color(),
    ));
    Err(anyhow::Error::new(
        Invalid::new(format!(
            "{what}: {errors} problem{} found; nothing was written",
            if errors == 1 { "" } else { "s" }
        ))
        .with_hint("fix every problem above, then run render again"),
    ))
}

fn json_diagnostics(diagnostics: &[Diagnostic], cwd: &Path) -> Vec<serde_json::Value> {
    let mut report = diagnostics::to_json(diagnostics, Some(cwd));
    match report.get_mut("diagnostics").map(serde_json::Value::take) {
        Some(serde_json::Value::Array(a)) => a,
        _ => Vec::new(),
    }
}

fn print_raw(text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())?;
    out.flush()
}

/// A path relative to the current directory when it is below it, without `./`.
fn display_path(p: &Path, cwd: &Path) -> String {
    let rel = p.strip_prefix(cwd).unwrap_or(p);
    let s: Vec<String> = rel
        .components()
        .filter(|c| !matches!(c, std::path::Component::CurDir))
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if s.is_empty() {
        ".".into()
    } else if rel.is_absolute() {
        rel.display().to_string()
    } else {
        s.join("/")
    }
}
