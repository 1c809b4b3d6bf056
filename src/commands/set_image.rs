//! `helm appkit set-image APP [--env ENV] (--digest D | --from-pack-report FILE | --resolve)`:
//! arguments → workspace → [`crate::actions::set_image`]: the target file, the digest (for
//! `--resolve` the registry is opened here, as `pull` opens it: credentials, TLS, the platform's
//! plain-HTTP setting), the splice, validation, the write → the unified diff on stdout, what was
//! set on stderr. `--output json`: one document on stdout.

use anyhow::Result;
use serde_json::json;

use super::registry::{oci_error, open_target_for};
use crate::actions::set_image::{self as action, Outcome, Source};
use crate::cli::{GlobalArgs, SetImageArgs};
use crate::diagnostics;
use crate::error::Status;
use crate::oci::reference::Location;
use crate::oci::target::{Access, Opened};
use crate::printer::Printer;
use crate::runtime;
use crate::workspace::Workspace;

pub fn run(global: &GlobalArgs, args: SetImageArgs, printer: &Printer) -> Result<Status> {
    let ws = Workspace::open(global)?;
    let target = action::target(&ws, &args.app, args.env.as_deref())?;
    let (digest, source) = if let Some(d) = &args.digest {
        action::check_digest(d)?;
        (d.clone(), Source::Given)
    } else if let Some(report) = &args.from_pack_report {
        let shown = ws.display(report);
        (
            action::from_report(&target, report, &shown)?,
            Source::PackReport(report.clone()),
        )
    } else {
        let reference = action::registry_reference(&target)?;
        let location = Location::parse(&reference, false).map_err(anyhow::Error::new)?;
        let opened = open_target_for(
            &location,
            Access::Pull,
            &args.registry,
            printer,
            Some(ws.config()),
        )?;
        let Opened::Registry(repo) = &opened else {
            unreachable!("an oci:// reference opens a registry")
        };
        printer.status(&format!("resolving {reference}"));
        let digest = runtime::block_on(action::resolve(repo, &reference)).map_err(|e| {
            match e.downcast::<crate::oci::OciError>() {
                Ok(oci) => oci_error(oci, &location),
                Err(e) => e,
            }
        })?;
        (digest, Source::Registry(reference))
    };
    let outcome = action::apply(&ws, target, digest, source, args.dry_run)?;
    if printer.json_output() {
        printer.json(&json_report(&ws, &outcome, args.dry_run))?;
    } else {
        human(&ws, &outcome, args.dry_run, printer)?;
    }
    Ok(Status::Ok)
}

fn source_text(ws: &Workspace, s: &Source) -> String {
    match s {
        Source::Given => "given".into(),
        Source::PackReport(p) => ws.display(p),
        Source::Registry(r) => r.clone(),
    }
}

fn human(ws: &Workspace, o: &Outcome, dry_run: bool, printer: &Printer) -> Result<()> {
    if !o.warnings.is_empty() {
        printer.stderr_raw(&diagnostics::render_human(
            &o.warnings,
            Some(ws.cwd()),
            printer.color(),
        ));
    }
    let file = ws.display(&o.target.file);
    let from = source_text(ws, &o.source);
    match &o.write {
        Some(w) => {
            printer.diff(&w.diff(&file))?;
            let verb = if dry_run { "would set" } else { "set" };
            printer.status(&format!(
                "{verb} {}'s image.digest in {file} to {} ({from})",
                o.target.app, o.digest
            ));
            if dry_run {
                printer.status("dry run: nothing was written");
            }
        }
        None => printer.status(&format!(
            "nothing to do: {file} already has image.digest {}",
            o.digest
        )),
    }
    Ok(())
}

fn json_report(ws: &Workspace, o: &Outcome, dry_run: bool) -> serde_json::Value {
    let file = ws.display(&o.target.file);
    let (kind, from) = match &o.source {
        Source::Given => ("digest", None),
        Source::PackReport(p) => ("packReport", Some(ws.display(p))),
        Source::Registry(r) => ("registry", Some(r.clone())),
    };
    let mut warnings = o.warnings.clone();
    diagnostics::sort_dedup(&mut warnings);
    json!({
        "app": o.target.app,
        "env": o.target.env,
        "dryRun": dry_run,
        "path": file,
        "digest": o.digest,
        "previous": o.target.digest,
        "source": {"kind": kind, "from": from},
        "changed": o.write.is_some(),
        "file": o.write.as_ref().map(|w| json!({"action": w.action(), "diff": w.diff(&file)})),
        "diagnostics": diagnostics::to_json(&warnings, Some(ws.cwd()))["diagnostics"].take(),
    })
}
