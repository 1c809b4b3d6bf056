//! What push, pull and publish share about chart archives: packaging a chart directory
//! reproducibly, reading the validated Chart.yaml of an archive, the one check that an archive is
//! the chart its OCI config says ([`check_archive`], for a push and after every pull), writing an
//! archive atomically and the one safe untar.
//!
//! Owns: those steps. Does not own: the archive format and its safety rules (`crate::chart`).

use std::path::{Path, PathBuf};

use crate::chart::archive::{self, PackageOptions, Packaged};
use crate::chart::{ChartError, ChartMetadata};
use crate::fsutil::write_atomic;

use super::Error;

/// Why an archive is not the chart it should be.
#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    #[error(transparent)]
    Chart(#[from] ChartError),

    #[error(
        "the archive holds chart {found_name} {found_version}, but the config says {name} {version}"
    )]
    Mismatch {
        found_name: String,
        found_version: String,
        name: String,
        version: String,
    },
}

/// Package `dir` reproducibly (as `helm appkit package` does; `source_date_epoch` fixes the
/// timestamps).
/// For push and publish: the name must be a valid OCI repository name (Helm packages `MyChart`,
/// `helm push` refuses it).
pub fn package_dir(dir: &Path, source_date_epoch: Option<u64>) -> Result<Packaged, ChartError> {
    let p = archive::package(
        dir,
        &PackageOptions {
            source_date_epoch,
            ..Default::default()
        },
    )?;
    check_pushable_name(&p.metadata.name)?;
    Ok(p)
}

/// Refuse a chart name that cannot be an OCI repository name, as `helm push` does.
pub fn check_pushable_name(name: &str) -> Result<(), ChartError> {
    crate::chart::metadata::check_chart_name(name).map_err(|why| ChartError::NotAnOciName {
        name: name.to_string(),
        why,
    })
}

/// The validated Chart.yaml of a chart archive (read safely).
pub fn metadata_of_archive(tgz: &[u8]) -> Result<ChartMetadata, ChartError> {
    let contents = archive::read_tgz(tgz)?;
    contents.metadata.validate()?;
    Ok(contents.metadata)
}

/// Check that `tgz` is a valid chart archive for `name`/`version` (its Chart.yaml agrees).
pub fn check_archive(tgz: &[u8], name: &str, version: &str) -> Result<ChartMetadata, ArchiveError> {
    let meta = metadata_of_archive(tgz)?;
    if meta.name != name || meta.version != version {
        return Err(ArchiveError::Mismatch {
            found_name: meta.name,
            found_version: meta.version,
            name: name.to_string(),
            version: version.to_string(),
        });
    }
    Ok(meta)
}

/// Write `tgz` to `dest` atomically (a reader never sees half an archive).
pub fn write_archive(dest: &Path, tgz: &[u8]) -> Result<(), Error> {
    write_atomic(dest, tgz).map_err(|source| Error::Write {
        path: dest.to_path_buf(),
        source,
    })
}

/// Extract `tgz` safely into `dest_dir/<chart>` (which must not exist yet); returns that path.
pub fn untar(tgz: &[u8], dest_dir: &Path) -> Result<PathBuf, ChartError> {
    archive::extract_safely(tgz, dest_dir)
}
