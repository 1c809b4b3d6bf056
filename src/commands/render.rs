//! `helm appkit render`: appkit.yaml + appkit.lock + apps/ → Flux files per environment, or with
//! `--check` a unified diff of what would change (exit 1 on drift). Arguments → workspace →
//! [`crate::actions::render`] → human text or JSON; all decisions live in `actions/` and `flux/`.
//!
//! Pruning a generated file that holds a HelmRelease (the app's directory is gone) makes Flux
//! uninstall that release: render warns on stderr for each one (`warning: removing
//! clusters/dev/apps/app3.yaml: Flux will uninstall release app3 in namespace app3`; with
//! `--check`, `would remove …`), and the JSON file entry carries `"uninstall": true` with the
//! `releases` (`[{"release", "namespace"}]`) it uninstalls.

use std::path::Path;

use anyhow::Result;
use serde::Serialize;

use crate::actions::render::{self, Outcome, Request};
use crate::cli::{GlobalArgs, RenderArgs};
use crate::config::ConfigError;
use crate::diagnostics::{self, Diagnostic};
use crate::error::{Invalid, Status};
use crate::flux::drift::{self, Action, Uninstall};
use crate::printer::Printer;
use crate::workspace::{self, Workspace};

#[derive(Serialize)]
struct JsonFile {
    path: String,
    action: Action,
    /// With `--check`: the unified diff of a file that would change.
    #[serde(skip_serializing_if = "Option::is_none")]
    diff: Option<String>,
    /// A removal that makes Flux uninstall a release (the file held a HelmRelease).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    uninstall: bool,
    /// The releases that removal uninstalls.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    releases: Vec<Uninstall>,
}

#[derive(Serialize)]
struct JsonEnv {
    env: String,
    /// `apps` (the HelmReleases) or `dapr` (the platform's Dapr resources of the environment).
    content: &'static str,
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
    if let Some(kind) = &args.source {
        return Err(crate::error::Hinted::new(
            anyhow::anyhow!("render --source was removed: the chart source is a setting of appkit.yaml"),
            format!("set `flux: {{sourceKind: {}}}` in appkit.yaml (ocirepository or helmrepository), so `render --check` needs no flags", kind.to_ascii_lowercase()),
        )
        .into());
    }
    let cwd = workspace::current_dir();
    let ws = match Workspace::open(global) {
        Ok(ws) => ws,
        Err(e) => match e.downcast::<ConfigError>() {
            Ok(ConfigError::Diagnostics {
                path, diagnostics, ..
            }) => {
                let what = format!("{} is invalid", path.display());
                return report_invalid(printer, &cwd, args.check, diagnostics, &what);
            }
            Ok(other) => return Err(other.into()),
            Err(e) => return Err(e),
        },
    };
    let outcome = render::run(
        &ws,
        &Request {
            envs: &args.envs.env,
            out: args.out.clone(),
            check: args.check,
        },
    )?;
    let (warnings, plans, apps) = match outcome {
        Outcome::Invalid(diagnostics) => {
            return report_invalid(printer, &cwd, args.check, diagnostics, "cannot render");
        }
        Outcome::Rendered {
            warnings,
            plans,
            apps,
        } => (warnings, plans, apps),
    };
    if !warnings.is_empty() && !printer.json_output() {
        printer.stderr_raw(&diagnostics::render_human(
            &warnings,
            Some(&cwd),
            printer.color(),
        ));
    }
    let shown = |p: &Path| ws.display(p);
    let mut report = JsonReport {
        check: args.check,
        drift: false,
        environments: Vec::new(),
        diagnostics: json_diagnostics(&warnings, &cwd),
    };
    for (plan, apps) in plans.iter().zip(apps) {
        let verb = if args.check {
            "would remove"
        } else {
            "removing"
        };
        let uninstall_warnings = plan
            .changes
            .iter()
            .filter(|c| c.action == Action::Remove)
            .flat_map(|c| {
                c.uninstalls
                    .iter()
                    .map(move |u| format!("{verb} {}: {}", shown(&c.path), u.sentence()))
            });
        let plan_warnings: Vec<String> = plan
            .warnings
            .iter()
            .map(|w| format!("{}: {}", shown(&w.path), w.message))
            .chain(uninstall_warnings)
            .collect();
        let uninstalling: usize = plan.changes.iter().map(|c| c.uninstalls.len()).sum();
        let uninstalled = match uninstalling {
            0 => String::new(),
            1 => ", 1 release uninstalled".to_string(),
            n => format!(", {n} releases uninstalled"),
        };
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
                        printer.diff(&diff)?;
                    }
                }
            }
            if plan.drifted() {
                printer.status(&format!(
                    "{}: {} would change ({created} new, {updated} changed, {removed} removed{uninstalled})",
                    plan.env,
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
            for c in plan
                .changes
                .iter()
                .filter(|c| c.action != Action::Unchanged)
            {
                printer.debug(&format!("{:?} {}", c.action, shown(&c.path)));
            }
            if !plan.kept.is_empty() {
                printer.debug(&format!(
                    "{}: kept what render did not generate: {}",
                    shown(&plan.out_dir),
                    plan.kept.join(", ")
                ));
            }
            let what = if plan.env.ends_with(crate::flux::render::DAPR_LABEL) {
                format!("{apps} namespace(s)")
            } else {
                format!("{apps} app(s)")
            };
            printer.status(&format!(
                "{}: rendered {what} into {} ({created} new, {updated} changed, {removed} removed{uninstalled})",
                plan.env,
                shown(&plan.out_dir)
            ));
        }
        let (env, content) = match plan.env.strip_suffix(crate::flux::render::DAPR_LABEL) {
            Some(e) => (e.to_string(), "dapr"),
            None => (plan.env.clone(), "apps"),
        };
        report.environments.push(JsonEnv {
            env,
            content,
            out: shown(&plan.out_dir),
            files: plan
                .changes
                .iter()
                .map(|c| JsonFile {
                    path: shown(&c.path),
                    action: c.action,
                    diff: (args.check && c.action != Action::Unchanged)
                        .then(|| drift::unified_diff(c, &shown(&c.path))),
                    uninstall: !c.uninstalls.is_empty(),
                    releases: c.uninstalls.clone(),
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
