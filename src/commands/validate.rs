//! `helm appkit validate`: resolve which apps, files and environments to check, run the values
//! engine over them (a few threads; the chart and schema are loaded once), and report every
//! diagnostic at once — human text on stderr, `--output json` / `--output github` on stdout.
//!
//! `--list-rules` prints the rule registry ([`crate::rules`]) instead.
//!
//! Exit: 0 clean (warnings allowed unless `--strict`), 1 any error, 2 a file could not be read or
//! parsed, or a usage problem.

use anyhow::{bail, Result};

use crate::actions::validate::{self, Request};
use crate::cli::{GlobalArgs, OutputFormat, ValidateArgs};
use crate::diagnostics;
use crate::error::Status;
use crate::printer::Printer;
use crate::workspace::{self, Workspace};

pub fn run(global: &GlobalArgs, args: ValidateArgs, printer: &Printer) -> Result<Status> {
    if args.list_rules {
        return list_rules(global, printer);
    }
    // Without inputs there is nothing to validate but the workspace's apps.
    let ws = if args.inputs.is_empty() {
        Some(Workspace::open(global)?)
    } else {
        Workspace::open_optional(global)?
    };
    let report = validate::run(
        ws.as_ref(),
        &Request {
            inputs: &args.inputs,
            envs: &args.envs.env,
            chart: args.chart.as_deref(),
            print_values: args.print_values,
        },
    )?;
    let diags = &report.diagnostics;
    let unreadable = report.unreadable();
    if let (Some(v), false) = (&report.values, global.output == OutputFormat::Json) {
        printer.json(&serde_json::json!({ "values": v }))?;
    }

    let cwd = workspace::current_dir();
    let base = Some(cwd.as_path());
    let (errors, warnings) = (report.errors(), report.warnings());
    match global.output {
        OutputFormat::Human | OutputFormat::Markdown | OutputFormat::Html => {
            printer.stderr_raw(&diagnostics::render_human(diags, base, printer.color()))
        }
        OutputFormat::Json => {
            let mut doc = diagnostics::to_json(diags, base);
            if let Some(v) = report.values {
                doc["values"] = v;
            }
            printer.json(&doc)?
        }
        OutputFormat::Github => {
            let text = diagnostics::render_github(diags, base);
            if !text.is_empty() {
                printer.data(text.trim_end())?;
            }
        }
    }
    let app_count = report.apps;
    let env_note = match report.envs {
        0 => String::new(),
        n => format!(" in {n} environment{}", if n == 1 { "" } else { "s" }),
    };
    printer.status(&format!(
        "validated {app_count} app{}{env_note}: {errors} error{}, {warnings} warning{}",
        if app_count == 1 { "" } else { "s" },
        if errors == 1 { "" } else { "s" },
        if warnings == 1 { "" } else { "s" },
    ));
    if unreadable {
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
        OutputFormat::Json => {
            printer.json(&serde_json::json!({ "rules": crate::rules::to_json() }))?
        }
        OutputFormat::Human
        | OutputFormat::Github
        | OutputFormat::Markdown
        | OutputFormat::Html => printer.data(crate::rules::table().trim_end())?,
    }
    Ok(Status::Ok)
}
