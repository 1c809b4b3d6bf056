//! `helm appkit push <CHART.tgz | CHART_DIR> <oci://HOST/NAMESPACE | oci-layout:DIR>`: build Helm's
//! artifact offline (a directory is packaged first, reproducibly), then upload only what the store
//! lacks, manifest last. Re-pushing the same chart uploads nothing; a tag that points at other
//! content is refused (exit 1) unless `--force`.

use std::path::Path;
use std::time::Instant;

use anyhow::{bail, Context, Result};

use super::registry::{connection, oci_error};
use crate::chart::archive::{self, PackageOptions};
use crate::chart::{ChartError, ChartMetadata};
use crate::cli::{GlobalArgs, PushArgs};
use crate::error::{Invalid, Status};
use crate::oci::block_on;
use crate::oci::manifest;
use crate::oci::ops::{self, PushEvent};
use crate::oci::reference::{Target, LAYOUT_SCHEME};
use crate::oci::store::Store;
use crate::oci::transport::Stats;
use crate::printer::Printer;

pub fn run(_global: &GlobalArgs, args: PushArgs, printer: &Printer) -> Result<Status> {
    let remote = match (&args.remote, &args.to_layout) {
        (Some(r), None) => r.clone(),
        (None, Some(dir)) => format!("{LAYOUT_SCHEME}{}", dir.display()),
        _ => bail!("give either REMOTE or --to-layout DIR"),
    };
    let target = Target::parse(&remote, true).map_err(anyhow::Error::new)?;
    let created = match std::env::var("SOURCE_DATE_EPOCH") {
        Ok(v) if !v.is_empty() => Some(manifest::created_from_epoch(&v)?),
        _ => None,
    };
    let (config_json, tgz) = prepare(&args.chart, printer)?;
    let artifact = manifest::build(config_json, tgz, created.as_deref())?;
    let conn = connection(&args.registry, printer)?;
    let (store, source) = Store::open(&target, Some(&artifact.name), true, &conn)
        .map_err(|e| oci_error(e, &target))?;
    super::registry::report_credentials(printer, source.as_ref());
    let started = Instant::now();
    let progress = |ev: PushEvent| report_progress(printer, ev);
    let outcome = block_on(ops::push(&store, &artifact, args.force, &progress))
        .map_err(|e| oci_error(e, &target))?;
    let requests = store.requests();
    printer.debug(&format!(
        "{requests} HTTP request(s), {} retried, {} blob(s) uploaded in {} ms",
        store.counter(|s: &Stats| &s.retries),
        outcome.blobs_uploaded,
        started.elapsed().as_millis()
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
        let mut v = serde_json::to_value(&outcome)?;
        v["requests"] = serde_json::Value::from(requests);
        printer.json(&v)?;
    } else {
        printer.data(&format!("Pushed: {}", outcome.reference))?;
        printer.data(&format!("Digest: {}", outcome.digest))?;
    }
    Ok(Status::Ok)
}

fn report_progress(printer: &Printer, ev: PushEvent) {
    if let PushEvent::Uploading { digest, size } = ev {
        let short = digest.get(..19).unwrap_or(&digest);
        if printer.progress_enabled() {
            printer.status(&format!("Uploading {short}… ({size} bytes)"));
        } else {
            printer.debug(&format!("uploading {digest} ({size} bytes)"));
        }
    }
}

/// The Helm config JSON and the `.tgz` bytes of the chart to push: a directory is packaged
/// reproducibly (as `helm appkit package` does), an archive is read and checked.
fn prepare(chart: &Path, printer: &Printer) -> Result<(Vec<u8>, Vec<u8>)> {
    if chart.is_dir() {
        let opts = PackageOptions {
            source_date_epoch: archive::source_date_epoch_from_env().map_err(chart_error)?,
            ..Default::default()
        };
        let packaged = archive::package(chart, &opts).map_err(chart_error)?;
        printer.debug(&format!(
            "packaged {} (sha256:{})",
            packaged.file_name, packaged.sha256
        ));
        return Ok((packaged.metadata.to_helm_config_json(), packaged.bytes));
    }
    let tgz = crate::fsutil::read_limited(chart, crate::chart::MAX_CHART_SIZE)
        .with_context(|| format!("cannot read {}", chart.display()))?;
    let meta = metadata_of_archive(&tgz)
        .with_context(|| format!("{} is not a usable chart archive", chart.display()))?;
    Ok((meta.to_helm_config_json(), tgz))
}

/// The validated Chart.yaml of a chart archive (read safely; a bad chart is exit 1).
fn metadata_of_archive(tgz: &[u8]) -> Result<ChartMetadata> {
    let contents = archive::read_tgz(tgz).map_err(chart_error)?;
    contents.metadata.validate().map_err(chart_error)?;
    Ok(contents.metadata)
}

fn chart_error(e: ChartError) -> anyhow::Error {
    if e.is_invalid() {
        anyhow::Error::new(Invalid::new(e.to_string()))
    } else {
        anyhow::Error::new(e)
    }
}

/// Check that `tgz` is a chart archive for `name`/`version` (its Chart.yaml agrees).
pub fn check_archive(tgz: &[u8], name: &str, version: &str) -> Result<()> {
    let meta = metadata_of_archive(tgz)?;
    if meta.name != name || meta.version != version {
        bail!(
            "the archive holds chart {} {}, but the config says {name} {version}",
            meta.name,
            meta.version
        );
    }
    Ok(())
}

/// Extract `tgz` safely into `dest_dir/<chart>` (which must not exist yet); returns that path.
pub fn untar(tgz: &[u8], dest_dir: &Path) -> Result<std::path::PathBuf> {
    archive::extract_safely(tgz, dest_dir).map_err(chart_error)
}
