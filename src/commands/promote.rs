//! `helm appkit promote --from ENV --to ENV [--app APP…] [--plan] [--dry-run]`: arguments →
//! workspace → [`crate::actions::promote`] → what moved (stderr), the unified diff of
//! `appkit.yaml` (stdout), and with `--plan` the plan of the result for `--to` against HEAD
//! ([`super::plan::plan_workspace`]: after a write, the working tree; in a dry run, the edited
//! config in memory). `--output json`: one document on stdout.
//!
//! Exit: 0 promoted or nothing to do; 1 an unpublished version, an unsafe edit, or with `--plan`
//! a pair that failed to render; 2 usage and I/O.

use anyhow::Result;
use serde_json::{json, Value};

use crate::actions::plan::Request as PlanRequest;
use crate::actions::promote::{self, Outcome, Request};
use crate::cli::{GlobalArgs, PromoteArgs};
use crate::error::Status;
use crate::plan::Plan;
use crate::printer::Printer;
use crate::workspace::Workspace;

pub fn run(global: &GlobalArgs, args: PromoteArgs, printer: &Printer) -> Result<Status> {
    let ws = Workspace::open(global)?;
    let outcome = promote::run(
        &ws,
        &Request {
            from: &args.from,
            to: &args.to,
            apps: &args.apps,
            dry_run: args.dry_run,
        },
    )?;
    // Human output first: what was written shows even when the plan then fails.
    if !printer.json_output() {
        human(&ws, &outcome, &args.apps, printer)?;
    }
    let plan = match (&outcome.write, args.plan) {
        (Some(_), true) => Some(plan(global, &args, &outcome, printer)?),
        (None, true) => {
            printer.status("nothing to plan: appkit.yaml is unchanged");
            None
        }
        _ => None,
    };
    match &plan {
        Some(p) if !printer.json_output() => printer.raw(&super::plan::human(p, printer))?,
        _ => {}
    }
    if printer.json_output() {
        printer.json(&json_report(&ws, &outcome, plan.as_ref())?)?;
    }
    Ok(if plan.as_ref().is_some_and(Plan::failed) {
        Status::Failed
    } else {
        Status::Ok
    })
}

/// The plan of the result for `--to` against HEAD: after a write the working tree, in a dry run
/// the edited config in memory.
fn plan(
    global: &GlobalArgs,
    args: &PromoteArgs,
    outcome: &Outcome,
    printer: &Printer,
) -> Result<Plan> {
    let planned = match (&outcome.edited, outcome.dry_run) {
        (Some((loaded, warnings)), true) => {
            Workspace::from_loaded(loaded.clone(), warnings.clone())
        }
        _ => Workspace::open(global)?,
    };
    let envs = [args.to.clone()];
    let req = PlanRequest {
        base: "HEAD",
        envs: &envs,
        apps: &args.apps,
        helm: args.helm.as_deref(),
        cache_dir: crate::plan::cache::default_dir(),
        ..PlanRequest::default()
    };
    super::plan::plan_workspace(planned, &req, &args.registry, printer)
}

fn human(ws: &Workspace, o: &Outcome, apps: &[String], printer: &Printer) -> Result<()> {
    let verb = if o.dry_run { "would set" } else { "set" };
    for c in &o.changes {
        let what = match (&c.app, &c.new) {
            (None, _) => format!(
                "{}: chartVersion {} → {} ({})",
                o.to,
                c.old.as_deref().unwrap_or("-"),
                c.version,
                c.digest
            ),
            (Some(app), Some(v)) => format!(
                "{}: pin {app} {} → {v} ({}, as in {})",
                o.to,
                c.old.as_deref().unwrap_or("(none)"),
                c.digest,
                o.from
            ),
            (Some(app), None) => format!(
                "{}: pin {app} {} removed: {app} runs the environment's version {}",
                o.to,
                c.old.as_deref().unwrap_or_default(),
                c.version
            ),
        };
        printer.status(&format!("{verb} {what}"));
    }
    if !o.held_back.is_empty() {
        let to = o
            .to_version()
            .map(str::to_string)
            .unwrap_or_else(|| ws.config().config.environments[&o.to].chart_version.clone());
        let names: Vec<String> = o
            .held_back
            .iter()
            .map(|p| format!("{} at {}", p.app, p.version))
            .collect();
        let apps: Vec<&str> = o.held_back.iter().map(|p| p.app.as_str()).collect();
        printer.status(&format!(
            "kept the pins of {} in {} (held back from {to}; `--app {}` moves them too)",
            names.join(", "),
            o.to,
            apps.join(",")
        ));
    }
    if !o.not_moved.is_empty() {
        let names: Vec<String> = o
            .not_moved
            .iter()
            .map(|p| format!("{} at {}", p.app, p.version))
            .collect();
        let apps: Vec<&str> = o.not_moved.iter().map(|p| p.app.as_str()).collect();
        printer.status(&format!(
            "not moved: the pins of {} in {} (`--app {}` promotes them)",
            names.join(", "),
            o.from,
            apps.join(",")
        ));
    }
    match &o.write {
        Some(w) => {
            printer.diff(&w.diff(&ws.display(&w.path)))?;
            if o.dry_run {
                printer.status("dry run: nothing was written");
            }
        }
        None => {
            let env = &ws.config().config.environments[&o.to];
            let what = if apps.is_empty() {
                format!("chartVersion {}", env.chart_version)
            } else {
                apps.iter()
                    .map(|a| format!("{a} at {}", env.chart_version_for(a)))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            printer.status(&format!(
                "nothing to do: {} already runs what {} runs ({what}); {} unchanged",
                o.to,
                o.from,
                ws.display(&ws.config().path)
            ));
        }
    }
    Ok(())
}

fn json_report(ws: &Workspace, o: &Outcome, plan: Option<&Plan>) -> Result<Value> {
    let file = o.write.as_ref().map(|w| {
        let shown = ws.display(&w.path);
        json!({"path": shown, "action": w.action(), "diff": w.diff(&shown)})
    });
    Ok(json!({
        "from": o.from,
        "to": o.to,
        "dryRun": o.dry_run,
        "changed": o.write.is_some(),
        "changes": o.changes,
        "heldBack": o.held_back,
        "notMoved": o.not_moved,
        "file": file,
        "plan": plan.map(serde_json::to_value).transpose()?,
    }))
}
