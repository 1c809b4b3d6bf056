//! The registry [`Target`]: one repository on one registry, reached through a [`RegistryClient`]
//! (distribution API calls) and its [`Transport`] (TLS, retries, auth). Opening one resolves the
//! credentials for the host (`auth.rs`) and asks for `pull,push` scope when pushing.
//!
//! Moving a tag ([`Target::put_manifest`]): the distribution API has no compare-and-swap, so two
//! pushes of one tag race. The manifest is stored by digest first (untagged), then the tag is
//! checked again and, when it is still free, moved with a second PUT right after — one round trip
//! between the check and the move — and read back after it, and once more after
//! [`settle_delay`] (a competing PUT that was already on its way, or a registry that answers
//! reads from a cache). What remains is a competing tag PUT that was checked before this one
//! landed and arrives more than the settle delay after it; a registry that refuses to move a tag
//! (Harbor's tag immutability) closes that too — its refusal is reported as the tag being held.
//!
//! Owns: which repository a location and an access mean, and naming references for output. Does
//! not own: the HTTP calls (`client`) or the policy on top (`ops`).

use std::time::Duration;

use super::auth::{self, CredentialSource};
use super::client::RegistryClient;
use super::error::OciError;
use super::manifest::{Blob, Descriptor};
use super::reference::RegistryRef;
use super::target::{Access, Connection, OnTransfer, TagResult, Target};
use super::transport::{Stats, Transport};

/// How long a push waits after moving a tag before reading it back the second time (default).
pub const SETTLE_DELAY: Duration = Duration::from_millis(250);

/// [`SETTLE_DELAY`], or `APPKIT_PUSH_SETTLE_MS` (milliseconds; 0 skips the second read-back).
pub fn settle_delay() -> Duration {
    std::env::var("APPKIT_PUSH_SETTLE_MS")
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map_or(SETTLE_DELAY, Duration::from_millis)
}

pub struct Repository {
    client: RegistryClient,
    /// `oci://host/repository`, without tag or digest.
    base: String,
}

impl Repository {
    /// Open the repository `r` names (for a push: `r` is the namespace, the chart name is
    /// appended).
    pub fn open(
        r: &RegistryRef,
        access: Access<'_>,
        conn: &Connection,
    ) -> Result<(Repository, Option<CredentialSource>), OciError> {
        let (repository, push) = match access {
            Access::Push { chart } => (r.chart_repository(chart), true),
            Access::Pull => (r.repository.clone(), false),
        };
        let (creds, source) = match auth::resolve(&r.registry, &conn.credentials)? {
            Some((c, s)) => (Some(c), Some(s)),
            None => (None, None),
        };
        let transport = Transport::new(
            &conn.options,
            &r.registry,
            &repository,
            push,
            creds,
            conn.debug.clone(),
        )?;
        let base = RegistryRef {
            registry: r.registry.clone(),
            repository: repository.clone(),
            tag: None,
            digest: None,
        }
        .base();
        Ok((
            Repository {
                client: RegistryClient::new(transport, repository),
                base,
            },
            source,
        ))
    }

    /// `oci://host/repository`.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// The digest of a container image's tag — its index when it has one (every platform),
    /// else its manifest — as the registry names it; `None` when the tag does not exist.
    pub async fn resolve_image(&self, tag: &str) -> Result<Option<String>, OciError> {
        self.client
            .resolve_accepting(tag, super::media::IMAGE_ACCEPT)
            .await
    }
}

impl Target for Repository {
    fn display(&self, reference: &str) -> String {
        let sep = if reference.starts_with("sha256:") {
            '@'
        } else {
            ':'
        };
        format!("{}{sep}{reference}", self.base)
    }

    fn stats(&self) -> Option<&Stats> {
        Some(&self.client.transport.stats)
    }

    async fn resolve(&self, tag: &str) -> Result<Option<String>, OciError> {
        self.client.resolve(tag).await
    }

    async fn fetch_manifest(&self, reference: &str) -> Result<Option<(Vec<u8>, String)>, OciError> {
        self.client.fetch_manifest(reference).await
    }

    async fn has_blob(&self, digest: &str) -> Result<bool, OciError> {
        self.client.blob_exists(digest).await
    }

    async fn put_blob(&self, blob: &Blob, progress: OnTransfer<'_>) -> Result<(), OciError> {
        self.client.upload_blob(blob, progress).await
    }

    async fn put_manifest(
        &self,
        tag: &str,
        manifest: &Blob,
        replace: bool,
    ) -> Result<TagResult, OciError> {
        let ours = manifest.digest.as_str();
        // Stored by digest: the tag PUT below is then a move of a manifest the registry has.
        self.client.put_manifest(ours, manifest).await?;
        let mut tagged = false;
        if !replace {
            match self.client.resolve(tag).await? {
                Some(d) if d != ours => return Ok(TagResult::Held { holds: d }),
                Some(_) => tagged = true,
                None => {}
            }
        }
        if !tagged {
            if let Err(e) = self.client.put_manifest(tag, manifest).await {
                // Refused (Harbor: an immutable tag) or lost on the way: what does the tag hold?
                // A concurrent tag write can also fail ours with an answer that is not about our
                // manifest (seen: distribution 2.8 answered the loser of a free-running race
                // `DIGEST_INVALID`), while for a moment the tag reads as absent: the question is
                // asked again a few times (1.4 s at most) before the error stands.
                let mut held = None;
                for wait_ms in [0u64, 100, 300, 1000] {
                    tokio::time::sleep(std::time::Duration::from_millis(wait_ms)).await;
                    if let Ok(Some(d)) = self.client.resolve(tag).await {
                        held = Some(d);
                        break;
                    }
                }
                match held {
                    Some(d) if d != ours => return Ok(TagResult::Held { holds: d }),
                    Some(_) => {}
                    None => return Err(e),
                }
            }
        }
        let now = self.client.resolve(tag).await?;
        let settle = settle_delay();
        if now.as_deref().is_some_and(|d| d != ours) || settle.is_zero() {
            return Ok(TagResult::Moved { now });
        }
        tokio::time::sleep(settle).await;
        Ok(TagResult::Moved {
            now: self.client.resolve(tag).await?,
        })
    }

    async fn fetch_blob(
        &self,
        descriptor: &Descriptor,
        progress: OnTransfer<'_>,
    ) -> Result<Vec<u8>, OciError> {
        self.client.fetch_blob(descriptor, progress).await
    }

    async fn list_tags(&self) -> Result<Vec<(String, Option<String>)>, OciError> {
        Ok(self
            .client
            .list_tags()
            .await?
            .into_iter()
            .map(|t| (t, None))
            .collect())
    }
}
