//! `helm appkit report`: arguments → workspace → [`crate::actions::report`] → human tables,
//! one JSON object (`docs/json-output.md`) or one self-contained HTML page, on stdout or written
//! atomically to `--out FILE`.

use anyhow::{Context, Result};

use crate::actions::report::{self as action, Request};
use crate::cli::{GlobalArgs, OutputFormat, ReportArgs};
use crate::error::Status;
use crate::printer::{self, Printer};
use crate::report::{html, human};
use crate::workspace::Workspace;

pub fn run(global: &GlobalArgs, args: ReportArgs, printer: &Printer) -> Result<Status> {
    let ws = Workspace::open(global)?;
    for w in ws.config_warnings() {
        printer.warn(&w.message);
    }
    let report = action::run(
        &ws,
        &Request {
            envs: &args.envs.env,
        },
    )?;
    for s in &report.skipped {
        printer.warn(&format!(
            "{} in {} is left out of the report: {}",
            s.app, s.env, s.problem
        ));
    }
    let text = match global.output {
        OutputFormat::Json => printer::json_text(&report)? + "\n",
        OutputFormat::Html => html::render(&report),
        // Refused before the command runs (commands::refuse_unsupported_output).
        OutputFormat::Human | OutputFormat::Github | OutputFormat::Markdown => {
            human::render(&report)
        }
    };
    match &args.out {
        Some(path) => {
            crate::fsutil::write_atomic(path, text.as_bytes())
                .with_context(|| format!("cannot write {}", ws.display(path)))?;
            printer.status(&format!("wrote {}", ws.display(path)));
        }
        None => printer.raw(&text)?,
    }
    Ok(Status::Ok)
}
