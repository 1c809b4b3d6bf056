//! `helm appkit pull <oci://…/chart[:tag|@digest] | oci-layout:DIR/CHART[:tag|@digest]> [--version V] [-d DIR] [--untar [--untardir DIR]]`:
//! fetch a chart and verify the manifest, config and layer digests (and sizes) before anything is
//! written; the archive is written atomically, `--untar` extracts through the chart module's safe
//! extraction (no absolute paths, `..`, links or device files) into a temp dir renamed into place.
//!
//! Arguments (which version: a digest, a tag, `--version`, or the highest) →
//! [`actions::pull`](crate::actions::pull) (fetch, then save) → output.

use anyhow::{bail, Result};
use serde::Serialize;

use super::registry::{action_error, oci_error, open_target_for};
use crate::actions::pull::{self as action, Select};
use crate::cli::{GlobalArgs, PullArgs};
use crate::error::Status;
use crate::oci::reference::{tag_for_version, validate_tag, Location};
use crate::oci::target::{with_target, Access};
use crate::printer::Printer;
use crate::progress::Progress;
use crate::runtime;

#[derive(Serialize)]
struct Pulled<'a> {
    #[serde(rename = "ref")]
    reference: &'a str,
    name: &'a str,
    version: &'a str,
    #[serde(rename = "manifestDigest")]
    digest: &'a str,
    path: String,
}

pub fn run(global: &GlobalArgs, args: PullArgs, printer: &Printer) -> Result<Status> {
    let location = Location::parse(&args.chart_ref, false).map_err(anyhow::Error::new)?;
    let (ref_tag, ref_digest) = match &location {
        Location::Registry(r) => (r.tag.clone(), r.digest.clone()),
        Location::Layout(l) => (l.tag.clone(), l.digest.clone()),
    };
    // Helm: a --version that is a version names a tag; anything else is a constraint.
    let constraint = match args.version.as_deref() {
        Some(v) if crate::chart::version::parse_helm(v).is_err() => Some(
            crate::chart::version::Constraint::parse(v)
                .map_err(|e| anyhow::anyhow!("--version {v}: {e}"))?,
        ),
        Some(_) => None,
        None if ref_tag.is_none() && ref_digest.is_none() => Some(
            crate::chart::version::Constraint::parse(if args.devel { ">0.0.0-0" } else { "*" })
                .expect("a valid constraint"),
        ),
        None => None,
    };
    let wanted_tag = match &constraint {
        Some(_) => None,
        None => args.version.as_deref().map(tag_for_version),
    };
    if let Some(t) = &wanted_tag {
        validate_tag(t).map_err(|r| {
            anyhow::anyhow!("--version {}: {r}", args.version.as_deref().unwrap_or(""))
        })?;
    }
    if let (Some(a), Some(b)) = (&wanted_tag, &ref_tag) {
        if a != b {
            bail!("the reference names tag `{b}` but --version asks for `{a}`; give one of them");
        }
    }
    if constraint.is_some() && (ref_tag.is_some() || ref_digest.is_some()) {
        bail!("the reference names a tag or digest; a --version constraint needs a reference without one");
    }
    let select = match (ref_digest, wanted_tag.or(ref_tag), constraint) {
        (Some(d), _, _) => Select::Digest(d),
        (None, Some(t), _) => Select::Tag(t),
        (None, None, Some(c)) => Select::Matching(c),
        (None, None, None) => unreachable!("no tag, digest or constraint"),
    };
    let exact_version = match &select {
        Select::Matching(_) => None,
        _ => args.version.as_deref(),
    };
    let platform = super::registry::platform_config(global);
    let opened = open_target_for(
        &location,
        Access::Pull,
        &args.registry,
        printer,
        platform.as_ref().map(|w| w.config()),
    )?;
    let fetched = {
        let progress = Progress::new(printer);
        runtime::block_on(async {
            with_target!(&opened, |t| action::fetch_reporting(
                t,
                select,
                &args.chart_ref,
                &|ev| progress.event(ev)
            )
            .await)
        })
    }
    .map_err(|e| oci_error(e, &location))?;
    printer.debug(&format!("{} HTTP request(s)", fetched.requests));
    let chart = fetched.chart;
    // Helm: a relative --untardir is joined to --destination, an absolute one is used as it is.
    let dest_dir = if args.untar && args.untardir != std::path::Path::new(".") {
        args.destination.join(&args.untardir)
    } else {
        args.destination.clone()
    };
    let path = action::save(&chart, exact_version, &dest_dir, args.untar)
        .map_err(|e| action_error(e, Some(&location)))?;
    if printer.json_output() {
        printer.json(&Pulled {
            reference: &chart.reference,
            name: &chart.name,
            version: &chart.version,
            digest: &chart.digest,
            path: path.display().to_string(),
        })?;
    } else {
        printer.data(&format!("Pulled: {}", chart.reference))?;
        printer.data(&format!("Digest: {}", chart.digest))?;
        printer.data(&format!("Saved to: {}", path.display()))?;
    }
    Ok(Status::Ok)
}
