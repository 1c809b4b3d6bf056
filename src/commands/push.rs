//! `helm appkit push <CHART.tgz | CHART_DIR> <oci://HOST/NAMESPACE | oci-layout:DIR>`: build Helm's
//! artifact offline (a directory is packaged first, reproducibly), then upload only what the target
//! lacks, manifest last. Re-pushing the same chart uploads nothing; a tag that points at other
//! content is refused (exit 1) unless `--force`.
//!
//! Arguments → [`actions::push`] (prepare, then push) → output; the policy lives in the action.

use anyhow::{bail, Result};

use super::registry::{action_error, oci_error, open_target_for};
use crate::actions::push as action;
use crate::cli::{GlobalArgs, PushArgs};
use crate::error::Status;
use crate::oci::reference::{Location, LAYOUT_SCHEME};
use crate::oci::target::{with_target, Access};
use crate::printer::Printer;
use crate::progress::Progress;
use crate::runtime;

pub fn run(global: &GlobalArgs, args: PushArgs, printer: &Printer) -> Result<Status> {
    let remote = match (&args.remote, &args.to_layout) {
        (Some(r), None) => r.clone(),
        (None, Some(dir)) => format!("{LAYOUT_SCHEME}{}", dir.display()),
        _ => bail!("give either REMOTE or --to-layout DIR"),
    };
    let location = Location::parse(&remote, true).map_err(anyhow::Error::new)?;
    let prepared = action::prepare(&args.chart).map_err(|e| action_error(e, Some(&location)))?;
    if let Some((file_name, sha256)) = &prepared.packaged {
        printer.debug(&format!("packaged {file_name} (sha256:{sha256})"));
    }
    let artifact = prepared.artifact;
    let platform = super::registry::platform_config(global);
    let opened = open_target_for(
        &location,
        Access::Push {
            chart: &artifact.name,
        },
        &args.registry,
        printer,
        platform.as_ref().map(|w| w.config()),
    )?;
    // A bar per slow blob on a terminal, else a line at each blob's start and end: in a CI log
    // the upload is visible, and a stall shows which blob it is. Ended before the result prints.
    let report = {
        let progress = Progress::new(printer);
        runtime::block_on(async {
            with_target!(&opened, |t| action::push(t, &artifact, args.force, &|ev| {
                progress.event(ev)
            })
            .await)
        })
    }
    .map_err(|e| oci_error(e, &location))?;
    let outcome = &report.outcome;
    printer.debug(&format!(
        "{} HTTP request(s), {} retried, {} blob(s) uploaded in {} ms",
        report.requests,
        report.retries,
        outcome.blobs_uploaded,
        report.elapsed.as_millis()
    ));
    if let Some(old) = &outcome.replaced {
        printer.warn(&format!(
            "--force: {} pointed at {old}; it now points at {}",
            outcome.reference, outcome.digest
        ));
    }
    if outcome.already_published {
        printer.status(&format!(
            "{} is already published with this digest; nothing uploaded",
            outcome.reference
        ));
    }
    if printer.json_output() {
        let mut v = serde_json::to_value(outcome)?;
        v["requests"] = serde_json::Value::from(report.requests);
        printer.json(&v)?;
    } else {
        printer.data(&format!("Pushed: {}", outcome.reference))?;
        printer.data(&format!("Digest: {}", outcome.digest))?;
    }
    Ok(Status::Ok)
}
