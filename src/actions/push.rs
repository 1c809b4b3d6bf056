//! `push`: prepare (a directory is packaged reproducibly, an archive is read and checked), build
//! Helm's artifact offline, then push it — only the blobs the target lacks, manifest last, the
//! immutability rules of `oci::ops::push`. A push is "build + upload", never a mix (timoni).
//!
//! Owns: those steps. Does not own: opening the target or reporting progress (the command).

use std::path::Path;
use std::time::{Duration, Instant};

use crate::oci::manifest::{self, Artifact};
use crate::oci::ops::{self, OnTransfer, PushOutcome};
use crate::oci::target::Target;
use crate::oci::OciError;

use super::chart_io::{metadata_of_archive, package_dir};
use super::{ArchiveError, Error};

/// A chart ready to push.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub artifact: Artifact,
    /// When a directory was packaged: the archive's file name and sha256 (hex).
    pub packaged: Option<(String, String)>,
}

/// The artifact for `chart` (a chart directory or a `.tgz`). `created` comes only from
/// `SOURCE_DATE_EPOCH`, so the same chart always yields the same digest.
pub fn prepare(chart: &Path) -> Result<Prepared, Error> {
    let created = match std::env::var("SOURCE_DATE_EPOCH") {
        Ok(v) if !v.is_empty() => Some(manifest::created_from_epoch(&v)?),
        _ => None,
    };
    let (config_json, tgz, packaged) = if chart.is_dir() {
        let sde = crate::chart::archive::source_date_epoch_from_env()?;
        let p = package_dir(chart, sde)?;
        (
            p.metadata.to_helm_config_json(),
            p.bytes,
            Some((p.file_name, p.sha256)),
        )
    } else {
        let tgz =
            crate::fsutil::read_limited(chart, crate::chart::MAX_CHART_SIZE).map_err(|source| {
                Error::Read {
                    path: chart.to_path_buf(),
                    source,
                }
            })?;
        let meta = metadata_of_archive(&tgz).map_err(|e| Error::Unusable {
            message: format!("{} is not a usable chart archive", chart.display()),
            source: ArchiveError::Chart(e),
        })?;
        super::chart_io::check_pushable_name(&meta.name)?;
        (meta.to_helm_config_json(), tgz, None)
    };
    let artifact = manifest::build(config_json, tgz, created.as_deref())?;
    Ok(Prepared { artifact, packaged })
}

/// What a push did, with what it cost on the wire.
#[derive(Debug, Clone)]
pub struct PushReport {
    pub outcome: PushOutcome,
    pub requests: u64,
    pub retries: u64,
    pub elapsed: Duration,
}

/// Push `artifact` to `target` (`force`: replace a tag that points at other content).
pub async fn push<T: Target>(
    target: &T,
    artifact: &Artifact,
    force: bool,
    progress: OnTransfer<'_>,
) -> Result<PushReport, OciError> {
    let started = Instant::now();
    let outcome = ops::push(target, artifact, force, progress).await?;
    Ok(PushReport {
        outcome,
        requests: target.requests(),
        retries: target.retries(),
        elapsed: started.elapsed(),
    })
}
