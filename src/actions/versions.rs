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

pub async fn list<T: Target>(target: &T) -> Result<Listing, OciError> {
    let (versions, other) = ops::versions(target).await?;
    Ok(Listing {
        versions,
        other,
        requests: target.requests(),
    })
}
