//! `helm appkit versions <oci://…/chart | oci-layout:DIR/CHART>`: the published versions,
//! SemVer-sorted ascending (tags mapped back `_`→`+`), each with its manifest digest.
//!
//! Arguments → [`actions::versions`](crate::actions::versions) → output.

use anyhow::Result;

use super::registry::{oci_error, open_target_for};
use crate::actions::versions as action;
use crate::cli::{GlobalArgs, VersionsArgs};
use crate::error::Status;
use crate::oci::reference::Location;
use crate::oci::target::{with_target, Access};
use crate::printer::Printer;
use crate::runtime;

pub fn run(global: &GlobalArgs, args: VersionsArgs, printer: &Printer) -> Result<Status> {
    let location = Location::parse(&args.chart_ref, false).map_err(anyhow::Error::new)?;
    if let Location::Registry(r) = &location {
        if r.tag.is_some() || r.digest.is_some() {
            anyhow::bail!(
                "`{}`: versions takes the chart repository without a tag or digest",
                args.chart_ref
            );
        }
    }
    let platform = super::registry::platform_config(global);
    let opened = open_target_for(
        &location,
        Access::Pull,
        &args.registry,
        printer,
        platform.as_ref().map(|w| w.config()),
    )?;
    let listing = runtime::block_on(async { with_target!(&opened, |t| action::list(t).await) })
        .map_err(|e| oci_error(e, &location))?;
    printer.debug(&format!("{} HTTP request(s)", listing.requests));
    if !listing.other.is_empty() {
        printer.warn(&format!(
            "ignoring tags that are not chart versions: {}",
            listing.other.join(", ")
        ));
    }
    let versions = listing.versions;
    if printer.json_output() {
        printer.json(&serde_json::json!({
            "repository": args.chart_ref,
            "versions": versions,
        }))?;
        return Ok(Status::Ok);
    }
    if versions.is_empty() {
        printer.status(&format!("no published versions at {}", args.chart_ref));
        return Ok(Status::Ok);
    }
    let width = versions.iter().map(|v| v.version.len()).max().unwrap_or(0);
    for v in &versions {
        printer.data(&format!("{:width$}  {}", v.version, v.digest))?;
    }
    Ok(Status::Ok)
}
