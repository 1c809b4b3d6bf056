//! `helm appkit pull <oci://…/chart | oci-layout:DIR/CHART> [--version V] [-d DIR] [--untar]`:
//! fetch a chart and verify the manifest, config and layer digests (and sizes) before anything is
//! written; the archive is written atomically, `--untar` extracts through the chart module's safe
//! extraction (no absolute paths, `..`, links or device files) into a temp dir renamed into place.

use anyhow::{bail, Context, Result};
use serde::Serialize;

use super::registry::{connection, oci_error};
use crate::cli::{GlobalArgs, PullArgs};
use crate::error::Status;
use crate::fsutil::write_atomic;
use crate::oci::reference::{tag_for_version, validate_tag, Target};
use crate::oci::store::Store;
use crate::oci::{block_on, ops};
use crate::printer::Printer;

#[derive(Serialize)]
struct Pulled<'a> {
    #[serde(rename = "ref")]
    reference: &'a str,
    name: &'a str,
    version: &'a str,
    digest: &'a str,
    path: String,
}

pub fn run(_global: &GlobalArgs, args: PullArgs, printer: &Printer) -> Result<Status> {
    let target = Target::parse(&args.chart_ref, false).map_err(anyhow::Error::new)?;
    let (ref_tag, ref_digest) = match &target {
        Target::Registry(r) => (r.tag.clone(), r.digest.clone()),
        Target::Layout(_) => (None, None),
    };
    let wanted_tag = args.version.as_deref().map(tag_for_version);
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
    let conn = connection(&args.registry, printer)?;
    let (store, source) =
        Store::open(&target, None, false, &conn).map_err(|e| oci_error(e, &target))?;
    super::registry::report_credentials(printer, source.as_ref());
    let chart = block_on(async {
        let reference = match (ref_digest, wanted_tag.or(ref_tag)) {
            (Some(d), _) => d,
            (None, Some(t)) => t,
            (None, None) => match ops::highest_published_version(&store).await? {
                Some(v) => v.tag,
                None => {
                    return Err(crate::oci::OciError::NotFound {
                        reference: args.chart_ref.clone(),
                    });
                }
            },
        };
        ops::pull(&store, &reference).await
    })
    .map_err(|e| oci_error(e, &target))?;
    printer.debug(&format!("{} HTTP request(s)", store.requests()));
    if let Some(v) = &args.version {
        if &chart.version != v {
            bail!(
                "{} holds chart version {}, not {v}",
                chart.reference,
                chart.version
            );
        }
    }
    super::push::check_archive(&chart.tgz, &chart.name, &chart.version)
        .with_context(|| format!("{} is not a usable chart", chart.reference))?;
    let path = if args.untar {
        super::push::untar(&chart.tgz, &args.destination)?
    } else {
        let dest = args
            .destination
            .join(format!("{}-{}.tgz", chart.name, chart.version));
        write_atomic(&dest, &chart.tgz)
            .with_context(|| format!("cannot write {}", dest.display()))?;
        dest
    };
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
        printer.status(&format!("Saved to {}", path.display()));
    }
    Ok(Status::Ok)
}
