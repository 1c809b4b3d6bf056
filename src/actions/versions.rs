//! `versions`: the published versions a target holds, SemVer-sorted ascending, and the tags that
//! are not versions.
//!
//! Owns: the listing. Does not own: how it is shown (the command).

use crate::oci::ops::{self, PublishedVersion};
use crate::oci::target::Target;
use crate::oci::OciError;

#[derive(Debug, Clone)]
pub struct Listing {
    pub versions: Vec<PublishedVersion>,
    /// Tags that are not chart versions (ignored).
    pub other: Vec<String>,
    pub requests: u64,
}

/// The listing; a registry repository that does not exist is [`OciError::RepositoryUnknown`]
/// (one that exists without tags lists none).
pub async fn list<T: Target>(target: &T) -> Result<Listing, OciError> {
    let (versions, other) = ops::existing_versions(target).await?;
    Ok(Listing {
        versions,
        other,
        requests: target.requests(),
    })
}
