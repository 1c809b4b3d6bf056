//! `pull`: fetch (resolve what the reference selects — a digest, a tag, or the highest published
//! version — then pull and verify every digest and size), then save: the same archive check as a
//! push ([`check_archive`]), then an atomic write of the `.tgz` or a safe untar. Nothing is
//! written before every check passed.
//!
//! Owns: those steps. Does not own: parsing the reference and `--version` (the command).

use std::path::{Path, PathBuf};

use crate::oci::ops::{self, OnTransfer, PulledChart};
use crate::oci::target::Target;
use crate::oci::OciError;

use super::chart_io::{check_archive, untar, write_archive};
use super::Error;

/// Which version of the chart to pull.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Select {
    Digest(String),
    Tag(String),
    /// The highest published version satisfying a Helm constraint (`*`: the highest stable).
    Matching(crate::chart::version::Constraint),
}

/// A chart fetched and verified, with the requests it took.
#[derive(Debug, Clone)]
pub struct Fetched {
    pub chart: PulledChart,
    pub requests: u64,
}

/// Fetch and verify the selected chart; `chart_ref` names it in a "not found" error.
pub async fn fetch<T: Target>(
    target: &T,
    select: Select,
    chart_ref: &str,
) -> Result<Fetched, OciError> {
    fetch_reporting(target, select, chart_ref, &|_| {}).await
}

/// [`fetch`], the blobs' transfers reported to `progress`.
pub async fn fetch_reporting<T: Target>(
    target: &T,
    select: Select,
    chart_ref: &str,
    progress: OnTransfer<'_>,
) -> Result<Fetched, OciError> {
    let reference = match select {
        Select::Digest(d) => d,
        Select::Tag(t) => t,
        Select::Matching(c) => {
            // Like Helm's `GetTagMatchingVersionOrConstraint`: the strict SemVer tags, highest
            // first, the first that satisfies the constraint.
            let (published, _) = ops::versions(target).await?;
            match published.iter().rev().find(|v| c.matches(&v.semver)) {
                Some(v) => v.tag.clone(),
                None => {
                    return Err(OciError::NotFound {
                        reference: format!("{chart_ref} (no version matches {c})"),
                    })
                }
            }
        }
    };
    let chart = ops::pull(target, &reference, progress).await?;
    Ok(Fetched {
        chart,
        requests: target.requests(),
    })
}

/// Check `chart` (its version is `version`, when one was asked for; its archive is the chart its
/// config says) and write it into `destination`: `<name>-<version>.tgz`, or extracted with
/// `untar`. Returns the path written.
pub fn save(
    chart: &PulledChart,
    version: Option<&str>,
    destination: &Path,
    untar_it: bool,
) -> Result<PathBuf, Error> {
    if let Some(v) = version {
        if chart.version != v {
            return Err(Error::WrongVersion {
                reference: chart.reference.clone(),
                found: chart.version.clone(),
                wanted: v.to_string(),
            });
        }
    }
    check_archive(&chart.tgz, &chart.name, &chart.version).map_err(|source| Error::Unusable {
        message: format!("{} is not a usable chart", chart.reference),
        source,
    })?;
    if untar_it {
        return Ok(untar(&chart.tgz, destination)?);
    }
    let dest = destination.join(format!("{}-{}.tgz", chart.name, chart.version));
    write_archive(&dest, &chart.tgz)?;
    Ok(dest)
}
