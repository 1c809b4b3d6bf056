//! `helm appkit versions <oci://…/chart | oci-layout:DIR/CHART>`: the published versions,
//! SemVer-sorted ascending (tags mapped back `_`→`+`), each with its manifest digest.

use anyhow::Result;

use super::registry::{connection, oci_error};
use crate::cli::{GlobalArgs, VersionsArgs};
use crate::error::Status;
use crate::oci::reference::Target;
use crate::oci::store::Store;
use crate::oci::{block_on, ops};
use crate::printer::Printer;

pub fn run(_global: &GlobalArgs, args: VersionsArgs, printer: &Printer) -> Result<Status> {
    let target = Target::parse(&args.chart_ref, false).map_err(anyhow::Error::new)?;
    if let Target::Registry(r) = &target {
        if r.tag.is_some() || r.digest.is_some() {
            anyhow::bail!(
                "`{}`: versions takes the chart repository without a tag or digest",
                args.chart_ref
            );
        }
    }
    let conn = connection(&args.registry, printer)?;
    let (store, source) =
        Store::open(&target, None, false, &conn).map_err(|e| oci_error(e, &target))?;
    super::registry::report_credentials(printer, source.as_ref());
    let (versions, other) = block_on(ops::versions(&store)).map_err(|e| oci_error(e, &target))?;
    printer.debug(&format!("{} HTTP request(s)", store.requests()));
    if !other.is_empty() {
        printer.warn(&format!(
            "ignoring tags that are not chart versions: {}",
            other.join(", ")
        ));
    }
    if printer.json_output() {
        printer.json(&versions)?;
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
