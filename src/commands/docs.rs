//! `helm appkit docs`: render the chart's `README.md` values reference from its schema and write it
//! (atomically, only when it changed), or with `--check` compare it with the committed file and
//! print a unified diff (exit 1 when stale) — the CI guard that keeps the reference true.
//!
//! Schema keys without a description are warnings (errors with `--strict`). The plan and the
//! write are [`crate::actions::docs`]; this file formats.

use std::path::PathBuf;

use anyhow::Result;

use crate::actions::docs;
use crate::cli::{DocsArgs, GlobalArgs};
use crate::error::Status;
use crate::printer::Printer;
use crate::scaffold::templates::README;
use crate::workspace::{self, Workspace};

pub fn run(global: &GlobalArgs, args: DocsArgs, printer: &Printer) -> Result<Status> {
    let ws = Workspace::open_optional(global)?;
    let chart_dir = match (&args.chart, &ws) {
        (Some(c), _) => c.clone(),
        (None, Some(w)) => w.config().chart_dir(),
        (None, None) => PathBuf::from("."),
    };
    let templates_dir = ws.as_ref().and_then(crate::actions::new::templates_dir);
    let plan = docs::plan(&chart_dir, templates_dir.as_deref())?;
    if let Some(f) = &plan.template_override {
        printer.debug(&format!("template {README}: {}", f.display()));
    }
    report_ignored_templates(&plan.ignored_templates, printer);

    let cwd = workspace::current_dir();
    let shown = workspace::display_path(&plan.readme, &cwd);
    let schema_shown = workspace::display_path(&plan.schema, &cwd);
    for key in &plan.undescribed {
        let msg = format!(
            "{schema_shown}: key `{key}` has no description (its row in the reference is empty)"
        );
        if args.strict {
            printer.problem(&msg);
        } else {
            printer.warn(&msg);
        }
    }
    let strict_failed = args.strict && !plan.undescribed.is_empty();
    let up_to_date = plan.up_to_date();
    let json = printer.json_output();
    if args.check && !up_to_date {
        let old = plan
            .current
            .as_deref()
            .map(|b| String::from_utf8_lossy(b).into_owned())
            .unwrap_or_default();
        let diff = similar::TextDiff::from_lines(old.as_str(), plan.text.as_str())
            .unified_diff()
            .context_radius(3)
            .header(&format!("a/{shown}"), &format!("b/{shown}"))
            .to_string();
        let state = if plan.current.is_some() {
            "stale"
        } else {
            "missing"
        };
        if json {
            printer.json(&report(&shown, state, &plan.undescribed, Some(&diff)))?;
        } else {
            printer.data(diff.trim_end())?;
        }
        printer.problem(&format!("{shown} is {state}"));
        printer.hint("run `helm appkit docs` and commit the result");
        return Ok(Status::Failed);
    }
    if !args.check {
        docs::write(&plan)?;
    }
    let state = if up_to_date { "current" } else { "written" };
    if json {
        printer.json(&report(&shown, state, &plan.undescribed, None))?;
    } else if !args.check {
        printer.data(&shown)?;
    }
    if up_to_date {
        printer.status(&format!("{shown} is up to date"));
    } else {
        printer.status(&format!(
            "wrote {shown}: {} keys from {schema_shown}",
            plan.keys
        ));
    }
    Ok(if strict_failed {
        Status::Failed
    } else {
        Status::Ok
    })
}

/// The `--output json` document: the README's path, its state (`current`, `written`, `stale`,
/// `missing`), the keys without a description and, for a stale README, the diff.
fn report(
    readme: &str,
    state: &str,
    undescribed: &[String],
    diff: Option<&str>,
) -> serde_json::Value {
    let mut v = serde_json::json!({
        "readme": readme,
        "state": state,
        "undescribed": undescribed,
    });
    if let Some(d) = diff {
        v["diff"] = d.into();
    }
    v
}

/// Warn about files in the template directory that are not appkit templates.
pub fn report_ignored_templates(ignored: &[std::path::PathBuf], printer: &Printer) {
    for f in ignored {
        printer.warn(&format!(
            "{} is not one of appkit's templates ({}); it is ignored",
            f.display(),
            crate::scaffold::templates::names().join(", ")
        ));
    }
}
