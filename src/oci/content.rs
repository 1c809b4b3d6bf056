//! Content addressing: the digest of bytes, and the one check of fetched bytes against what named
//! them (a descriptor, a digest reference, an index entry). Both targets — the registry and the
//! OCI layout — call [`verify`] before they return a blob or a manifest, so nothing unverified
//! reaches `ops`.
//!
//! Owns: `sha256:<hex>` and the digest/size check. Does not own: where bytes come from.

use sha2::{Digest, Sha256};

use super::error::OciError;
use super::manifest::Descriptor;

/// `sha256:<hex>` of `data`.
pub fn sha256_digest(data: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(data)))
}

/// What fetched bytes must match: a digest, and a size when the namer gave one.
#[derive(Debug, Clone, Copy)]
pub struct Expected<'a> {
    pub digest: &'a str,
    pub size: Option<u64>,
}

impl<'a> From<&'a Descriptor> for Expected<'a> {
    fn from(d: &'a Descriptor) -> Expected<'a> {
        Expected {
            digest: &d.digest,
            size: Some(d.size),
        }
    }
}

impl<'a> Expected<'a> {
    /// Only a digest (a manifest named by a tag's digest or a digest reference).
    pub fn digest(digest: &'a str) -> Expected<'a> {
        Expected { digest, size: None }
    }
}

/// Check `bytes` (read from `what`, a URL or a path) against `expected`: the digest first, then
/// the size. Returns the digest.
pub fn verify(what: &str, expected: Expected<'_>, bytes: &[u8]) -> Result<String, OciError> {
    let actual = sha256_digest(bytes);
    if actual != expected.digest {
        return Err(OciError::DigestMismatch {
            what: what.to_string(),
            expected: expected.digest.to_string(),
            actual,
        });
    }
    if let Some(size) = expected.size.filter(|s| *s != bytes.len() as u64) {
        return Err(OciError::BadArtifact {
            what: what.to_string(),
            reason: format!(
                "size {} does not match the descriptor's {size}",
                bytes.len()
            ),
        });
    }
    Ok(actual)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_then_size() {
        let d = sha256_digest(b"abc");
        assert_eq!(verify("x", Expected::digest(&d), b"abc").unwrap(), d);
        let wrong_size = Expected {
            digest: &d,
            size: Some(4),
        };
        assert!(matches!(
            verify("x", wrong_size, b"abc"),
            Err(OciError::BadArtifact { .. })
        ));
        assert!(matches!(
            verify("x", wrong_size, b"abd"),
            Err(OciError::DigestMismatch { .. })
        ));
    }
}
