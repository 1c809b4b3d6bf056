//! The registry [`Target`]: one repository on one registry, reached through a [`RegistryClient`]
//! (distribution API calls) and its [`Transport`] (TLS, retries, auth). Opening one resolves the
//! credentials for the host (`auth.rs`) and asks for `pull,push` scope when pushing.
//!
//! Owns: which repository a location and an access mean, and naming references for output. Does
//! not own: the HTTP calls (`client`) or the policy on top (`ops`).

use super::auth::{self, CredentialSource};
use super::client::RegistryClient;
use super::error::OciError;
use super::manifest::{Blob, Descriptor};
use super::reference::RegistryRef;
use super::target::{Access, Connection, Target};
use super::transport::{Stats, Transport};

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

    async fn put_blob(&self, blob: &Blob) -> Result<(), OciError> {
        self.client.upload_blob(blob).await
    }

    async fn put_manifest(&self, tag: &str, manifest: &Blob) -> Result<(), OciError> {
        self.client.put_manifest(tag, manifest).await
    }

    async fn fetch_blob(&self, descriptor: &Descriptor) -> Result<Vec<u8>, OciError> {
        self.client.fetch_blob(descriptor).await
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
