//! One interface over the two places charts live — a registry repository or an OCI image layout —
//! so push, pull and versions are written once (`ops.rs`). Opening a registry store resolves the
//! credentials for its host (see `auth.rs`).

use std::sync::atomic::AtomicU64;

use super::auth::{self, CredentialQuery, CredentialSource};
use super::client::RegistryClient;
use super::error::OciError;
use super::layout::Layout;
use super::manifest::{sha256_digest, Blob, Descriptor};
use super::reference::{RegistryRef, Target};
use super::transport::{DebugHook, Stats, Transport, TransportOptions};

/// How to reach registries: transport settings, where credentials come from, a debug sink.
#[derive(Clone, Default)]
pub struct Connection {
    pub options: TransportOptions,
    pub credentials: CredentialQuery,
    pub debug: Option<DebugHook>,
}

pub enum Store {
    Registry {
        client: Box<RegistryClient>,
        reference: RegistryRef,
    },
    Layout {
        layout: Layout,
        chart: Option<String>,
    },
}

impl Store {
    /// Open `target`. For a push, `chart` is the chart name appended to the namespace (registry)
    /// or recorded as the entry's title (layout), and a missing layout is created.
    pub fn open(
        target: &Target,
        chart: Option<&str>,
        push: bool,
        conn: &Connection,
    ) -> Result<(Store, Option<CredentialSource>), OciError> {
        match target {
            Target::Registry(r) => {
                let repository = match (push, chart) {
                    (true, Some(c)) => r.chart_repository(c),
                    _ => r.repository.clone(),
                };
                let creds = auth::resolve(&r.registry, &conn.credentials)?;
                let (creds, source) = match creds {
                    Some((c, s)) => (Some(c), Some(s)),
                    None => (None, None),
                };
                let t = Transport::new(
                    &conn.options,
                    &r.registry,
                    &repository,
                    push,
                    creds,
                    conn.debug.clone(),
                )?;
                let reference = RegistryRef {
                    registry: r.registry.clone(),
                    repository: repository.clone(),
                    tag: None,
                    digest: None,
                };
                Ok((
                    Store::Registry {
                        client: Box::new(RegistryClient::new(t, repository)),
                        reference,
                    },
                    source,
                ))
            }
            Target::Layout(l) => {
                let layout = Layout::open(&l.dir, push)?;
                let chart = if push {
                    chart.map(str::to_string)
                } else {
                    l.chart.clone()
                };
                Ok((Store::Layout { layout, chart }, None))
            }
        }
    }

    /// How to name `tag` (or a digest) in this store, for output.
    pub fn display(&self, tag: &str) -> String {
        let sep = if tag.starts_with("sha256:") { '@' } else { ':' };
        match self {
            Store::Registry { reference, .. } => format!("{}{sep}{tag}", reference.base()),
            Store::Layout { layout, chart, .. } => match chart {
                Some(c) => format!("oci-layout:{}/{c}{sep}{tag}", layout.root.display()),
                None => format!("oci-layout:{}{sep}{tag}", layout.root.display()),
            },
        }
    }

    /// The request counters (zero for a layout).
    pub fn stats(&self) -> Option<&Stats> {
        match self {
            Store::Registry { client, .. } => Some(&client.transport.stats),
            Store::Layout { .. } => None,
        }
    }

    pub fn requests(&self) -> u64 {
        self.stats().map(|s| Stats::get(&s.requests)).unwrap_or(0)
    }

    pub fn counter(&self, f: impl Fn(&Stats) -> &AtomicU64) -> u64 {
        self.stats().map(|s| Stats::get(f(s))).unwrap_or(0)
    }

    pub async fn resolve(&self, tag: &str) -> Result<Option<String>, OciError> {
        match self {
            Store::Registry { client, .. } => client.resolve(tag).await,
            Store::Layout { layout, chart, .. } => layout.resolve(chart.as_deref(), tag),
        }
    }

    /// Manifest bytes and digest for a tag or digest (verified), `None` when absent.
    pub async fn fetch_manifest(
        &self,
        reference: &str,
    ) -> Result<Option<(Vec<u8>, String)>, OciError> {
        match self {
            Store::Registry { client, .. } => client.fetch_manifest(reference).await,
            Store::Layout { layout, chart, .. } => {
                let digest = if reference.starts_with("sha256:") {
                    Some(reference.to_string())
                } else {
                    layout.resolve(chart.as_deref(), reference)?
                };
                let Some(digest) = digest else {
                    return Ok(None);
                };
                if !layout.has_blob(&digest)? {
                    return Ok(None);
                }
                let path = layout
                    .root
                    .join("blobs/sha256")
                    .join(digest.trim_start_matches("sha256:"));
                let bytes = crate::fsutil::read_limited(&path, super::layout::MAX_LAYOUT_JSON)
                    .map_err(|source| OciError::LayoutIo {
                        path: path.clone(),
                        source,
                    })?;
                let actual = sha256_digest(&bytes);
                if actual != digest {
                    return Err(OciError::DigestMismatch {
                        what: path.display().to_string(),
                        expected: digest,
                        actual,
                    });
                }
                Ok(Some((bytes, digest)))
            }
        }
    }

    pub async fn has_blob(&self, digest: &str) -> Result<bool, OciError> {
        match self {
            Store::Registry { client, .. } => client.blob_exists(digest).await,
            Store::Layout { layout, .. } => layout.has_blob(digest),
        }
    }

    pub async fn put_blob(&self, blob: &Blob) -> Result<(), OciError> {
        match self {
            Store::Registry { client, .. } => client.upload_blob(blob).await,
            Store::Layout { layout, .. } => layout.write_blob(blob),
        }
    }

    pub async fn put_manifest(
        &self,
        tag: &str,
        chart: &str,
        manifest: &Blob,
    ) -> Result<(), OciError> {
        match self {
            Store::Registry { client, .. } => client.put_manifest(tag, manifest).await,
            Store::Layout { layout, .. } => {
                layout.write_blob(manifest)?;
                layout.tag(chart, tag, manifest)
            }
        }
    }

    pub async fn fetch_blob(&self, d: &Descriptor) -> Result<Vec<u8>, OciError> {
        match self {
            Store::Registry { client, .. } => client.fetch_blob(d).await,
            Store::Layout { layout, .. } => layout.read_blob(d),
        }
    }

    /// Tags, with their manifest digest when the store knows it without another request.
    pub async fn list_tags(&self) -> Result<Vec<(String, Option<String>)>, OciError> {
        match self {
            Store::Registry { client, .. } => Ok(client
                .list_tags()
                .await?
                .into_iter()
                .map(|t| (t, None))
                .collect()),
            Store::Layout { layout, chart, .. } => Ok(layout
                .entries(chart.as_deref())?
                .into_iter()
                .map(|e| (e.tag, Some(e.digest)))
                .collect()),
        }
    }
}
