//! `helm appkit import FILES… [--dry-run] [--prefer release|file] [--env ENV]`: arguments →
//! workspace → [`crate::actions::import`] → the report: per app what was written (or, with
//! `--dry-run`, a unified diff of what would be, on stdout), everything not imported, drift and
//! secrets (diagnostics on stderr), then the validation of the imported apps — what must change
//! to pass `helm appkit validate`, which does not fail the import. `--output json`: one document
//! on stdout.
//!
//! Exit: 0 imported (validation findings allowed), 1 an app refused (drift, a setting appkit.yaml
//! cannot take) or a secret left out or an input that could not be read or parsed, 2 usage and
//! I/O.

use anyhow::Result;
use serde_json::{json, Value};

use crate::actions::import::{self, AppStatus, FileWrite, Outcome, Prefer, Request};
use crate::cli::{GlobalArgs, ImportArgs, ImportPrefer};
use crate::diagnostics::{self, Diagnostic};
use crate::error::Status;
use crate::printer::Printer;
use crate::workspace::Workspace;

pub fn run(global: &GlobalArgs, args: ImportArgs, printer: &Printer) -> Result<Status> {
    let ws = Workspace::open(global)?;
    let outcome = import::run(
        &ws,
        &Request {
            files: &args.files,
            dry_run: args.dry_run,
            prefer: args.prefer.map(|p| match p {
                ImportPrefer::Release => Prefer::Release,
                ImportPrefer::File => Prefer::File,
            }),
            env: args.env.as_deref(),
        },
    )?;
    let wrote = !outcome.dry_run
        && (outcome.config.is_some()
            || outcome
                .apps
                .iter()
                .any(|a| a.status == AppStatus::Imported && !a.files.is_empty()));
    // Validation sees the repo as the import left it: re-open the workspace after writing.
    let validation = if outcome.dry_run {
        None
    } else {
        let ws = if wrote { Workspace::open(global)? } else { ws };
        let report = import::validate_imported(&ws, &outcome)?;
        Some((ws, report))
    };
    let ws_ref = match &validation {
        Some((w, _)) => w,
        None => &Workspace::open(global)?,
    };
    let report = validation.as_ref().and_then(|(_, r)| r.as_ref());
    if printer.json_output() {
        printer.json(&json_report(ws_ref, &outcome, report))?;
    } else {
        human(ws_ref, &outcome, report, printer)?;
    }
    Ok(if outcome.failed() {
        Status::Failed
    } else {
        Status::Ok
    })
}

fn human(
    ws: &Workspace,
    outcome: &Outcome,
    validation: Option<&crate::actions::validate::Report>,
    printer: &Printer,
) -> Result<()> {
    let cwd = ws.cwd();
    let render = |d: &[Diagnostic]| {
        let mut d = d.to_vec();
        diagnostics::sort_dedup(&mut d);
        diagnostics::render_human(&d, Some(cwd), printer.color())
    };
    if !outcome.diagnostics.is_empty() {
        printer.stderr_raw(&render(&outcome.diagnostics));
    }
    let verb = if outcome.dry_run {
        "would write"
    } else {
        "wrote"
    };
    for a in &outcome.apps {
        let env = a
            .env
            .as_ref()
            .map_or(String::new(), |e| format!(", environment {e}"));
        let what = match a.status {
            AppStatus::Imported => {
                let mut parts: Vec<String> = a
                    .files
                    .iter()
                    .map(|f| format!("{} ({})", ws.display(&f.path), action_word(f)))
                    .collect();
                if !a.settings.is_empty() {
                    let keys: Vec<&str> = a.settings.iter().map(|e| e.key).collect();
                    parts.push(format!(
                        "{} apps.settings.{}: {}",
                        ws.display(&ws.config().path),
                        a.app,
                        keys.join(", ")
                    ));
                }
                format!("{verb} {}", parts.join("; "))
            }
            AppStatus::Unchanged => "already imported: the files say what the release says".into(),
            AppStatus::Drift => {
                "the release disagrees with the existing files (below): nothing written".into()
            }
            AppStatus::Refused => {
                "appkit.yaml could not take its settings (above): nothing written".into()
            }
            AppStatus::Failed => "not imported (below)".into(),
        };
        printer.status(&format!("{} ({}{env}): {what}", a.app, a.origin));
        if !a.diagnostics.is_empty() {
            printer.stderr_raw(&render(&a.diagnostics));
        }
    }
    if outcome.dry_run {
        let files = outcome.config.iter().chain(
            outcome
                .apps
                .iter()
                .filter(|a| a.status == AppStatus::Imported)
                .flat_map(|a| a.files.iter()),
        );
        for f in files {
            printer.raw(&f.diff(&ws.display(&f.path)))?;
        }
    }
    match validation {
        Some(report) => {
            printer.status(
                "validation of the imported apps (what must change to pass `helm appkit validate`; it does not fail the import):",
            );
            if !report.diagnostics.is_empty() {
                printer.stderr_raw(&render(&report.diagnostics));
            }
            printer.status(&format!(
                "validation: {} error{}, {} warning{}",
                report.errors(),
                plural(report.errors()),
                report.warnings(),
                plural(report.warnings())
            ));
        }
        None if outcome.dry_run => printer.status(
            "validation runs on the written files: run without --dry-run (or `helm appkit validate` after it)",
        ),
        None => {}
    }
    let count = |s: AppStatus| outcome.apps.iter().filter(|a| a.status == s).count();
    let mut summary = format!(
        "{} app{} imported",
        count(AppStatus::Imported),
        plural(count(AppStatus::Imported))
    );
    for (s, word) in [
        (AppStatus::Unchanged, "unchanged"),
        (AppStatus::Drift, "drifted"),
        (AppStatus::Refused, "refused"),
        (AppStatus::Failed, "failed"),
    ] {
        if count(s) > 0 {
            summary.push_str(&format!(", {} {word}", count(s)));
        }
    }
    if outcome.dry_run {
        summary.push_str(" (dry run: nothing was written)");
    }
    printer.status(&summary);
    if outcome.apps.iter().any(|a| a.status == AppStatus::Drift) {
        printer.hint("pass --prefer release to write the releases' values, or --prefer file to keep the files");
    }
    Ok(())
}

fn json_report(
    ws: &Workspace,
    outcome: &Outcome,
    validation: Option<&crate::actions::validate::Report>,
) -> Value {
    let cwd = ws.cwd();
    let diags = |d: &[Diagnostic]| {
        let mut d = d.to_vec();
        diagnostics::sort_dedup(&mut d);
        diagnostics::to_json(&d, Some(cwd))["diagnostics"].take()
    };
    let file = |f: &FileWrite| {
        let shown = ws.display(&f.path);
        let mut v = json!({"path": shown, "action": f.action()});
        if outcome.dry_run {
            v["diff"] = f.diff(&shown).into();
        }
        v
    };
    let apps: Vec<Value> = outcome
        .apps
        .iter()
        .map(|a| {
            let settings: serde_json::Map<String, Value> = a
                .settings
                .iter()
                .map(|e| {
                    let v = match &e.value {
                        import::SettingValue::Text(t) => Value::from(t.clone()),
                        import::SettingValue::List(l) => Value::from(l.clone()),
                    };
                    (e.key.to_string(), v)
                })
                .collect();
            json!({
                "app": a.app,
                "env": a.env,
                "release": a.origin,
                "status": a.status,
                "files": a.files.iter().map(file).collect::<Vec<_>>(),
                "settings": settings,
                "diagnostics": diags(&a.diagnostics),
            })
        })
        .collect();
    json!({
        "dryRun": outcome.dry_run,
        "apps": apps,
        "config": outcome.config.as_ref().map(file),
        "byHand": outcome.by_hand,
        "diagnostics": diags(&outcome.diagnostics),
        "validation": validation.map(|r| {
            let mut d = r.diagnostics.clone();
            diagnostics::sort_dedup(&mut d);
            diagnostics::to_json(&d, Some(cwd))
        }),
        "failed": outcome.failed(),
    })
}

fn action_word(f: &FileWrite) -> &'static str {
    match f.action() {
        import::FileAction::Create => "new",
        import::FileAction::Update => "changed",
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}
