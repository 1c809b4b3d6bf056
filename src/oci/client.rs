//! The registry's distribution API: the handful of OCI distribution calls appkit needs, on top of
//! [`Transport`] (retries, auth). Own client rather than `oci-client`: a push must HEAD the tag
//! (immutability) and each blob before uploading, restart an upload whose connection dropped,
//! count its requests, and honour `Retry-After` — request-level control `oci-client`'s
//! push/pull helpers do not expose, and these few calls are less code than adapting it.
//!
//! Every byte read back is checked against its digest before it is returned (`content::verify`);
//! retries follow the transport's [`RetryPolicy`](super::retry::RetryPolicy), each one said as a
//! retry line. A blob's bytes are reported as they go ([`TransferEvent::Progress`]): an upload
//! sends a counted body and reports the count every [`UPLOAD_REPORT_EVERY`], a download reports
//! after each chunk read (the digest is checked once all are read). The [`Target`]
//! implementation on top is `repository.rs`.
//!
//! [`Target`]: super::target::Target

use reqwest::{Method, StatusCode};

use super::content::{self, sha256_digest, Expected};
use super::error::OciError;
use super::manifest::{Blob, Descriptor};
use super::media;
use super::target::{OnTransfer, TransferEvent};
use super::transport::{
    read_body, read_body_counted, registry_error_code, Request, Transport, MAX_ERROR_BODY,
};

/// How often an upload's count of bytes sent is reported while it goes.
pub const UPLOAD_REPORT_EVERY: std::time::Duration = std::time::Duration::from_millis(100);

/// The largest manifest read from a registry (containerd and Docker use the same limit).
pub const MAX_MANIFEST_BYTES: u64 = 4 * 1024 * 1024;
/// The most bytes of tag list read, all pages together.
pub const MAX_TAG_LIST_BYTES: u64 = 16 * 1024 * 1024;
/// The most tag-list pages followed (at 1,000 tags a page: a million tags).
pub const MAX_TAG_PAGES: usize = 1000;

pub struct RegistryClient {
    pub transport: Transport,
    pub repository: String,
}

impl RegistryClient {
    pub fn new(transport: Transport, repository: String) -> RegistryClient {
        RegistryClient {
            transport,
            repository,
        }
    }

    fn path(&self, tail: &str) -> String {
        self.transport
            .registry_url(&format!("/v2/{}/{tail}", self.repository))
    }

    /// The manifest digest a tag (or digest) points at, or `None` when it does not exist.
    pub async fn resolve(&self, reference: &str) -> Result<Option<String>, OciError> {
        self.resolve_accepting(reference, media::MANIFEST_ACCEPT)
            .await
    }

    /// [`resolve`](Self::resolve) with another `Accept` header (an image's index: see
    /// [`media::IMAGE_ACCEPT`]): HEAD, the `Docker-Content-Digest` header; without one, GET and
    /// the sha256 of the body.
    pub async fn resolve_accepting(
        &self,
        reference: &str,
        accept: &'static str,
    ) -> Result<Option<String>, OciError> {
        let url = self.path(&format!("manifests/{reference}"));
        let req = Request::new(Method::HEAD, url.clone()).header("accept", accept);
        let resp = self.transport.send(&req).await?;
        match resp.status() {
            StatusCode::NOT_FOUND => Ok(None),
            s if s.is_success() => {
                let d = resp
                    .headers()
                    .get("docker-content-digest")
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_string);
                match d {
                    Some(d) => Ok(Some(d)),
                    // No digest header: fetch and hash.
                    None => Ok(self
                        .fetch_manifest_accepting(reference, accept)
                        .await?
                        .map(|(_, d)| d)),
                }
            }
            _ => Err(self.transport.status_error(&Method::HEAD, &url, resp).await),
        }
    }

    /// The manifest bytes and their digest (verified against a digest reference and the
    /// `Docker-Content-Digest` header), or `None` when it does not exist.
    pub async fn fetch_manifest(
        &self,
        reference: &str,
    ) -> Result<Option<(Vec<u8>, String)>, OciError> {
        self.fetch_manifest_accepting(reference, media::MANIFEST_ACCEPT)
            .await
    }

    /// [`fetch_manifest`](Self::fetch_manifest) with another `Accept` header.
    pub async fn fetch_manifest_accepting(
        &self,
        reference: &str,
        accept: &'static str,
    ) -> Result<Option<(Vec<u8>, String)>, OciError> {
        self.transport
            .policy()
            .body(
                || self.fetch_manifest_once(reference, accept),
                &|e, n, m, w| self.transport.retry_notice(e, n, m, w),
            )
            .await
    }

    async fn fetch_manifest_once(
        &self,
        reference: &str,
        accept: &'static str,
    ) -> Result<Option<(Vec<u8>, String)>, OciError> {
        let url = self.path(&format!("manifests/{reference}"));
        let req = Request::new(Method::GET, url.clone()).header("accept", accept);
        let resp = self.transport.send(&req).await?;
        if resp.status() == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        if !resp.status().is_success() {
            return Err(self.transport.status_error(&Method::GET, &url, resp).await);
        }
        let header = resp
            .headers()
            .get("docker-content-digest")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let bytes = read_body(resp, MAX_MANIFEST_BYTES, &Method::GET, &url).await?;
        let expected = if reference.contains(':') {
            Some(reference.to_string())
        } else {
            header
        };
        let digest = match expected.filter(|e| e.starts_with("sha256:")) {
            Some(e) => content::verify(&format!("manifest {url}"), Expected::digest(&e), &bytes)?,
            None => sha256_digest(&bytes),
        };
        Ok(Some((bytes, digest)))
    }

    pub async fn blob_exists(&self, digest: &str) -> Result<bool, OciError> {
        let url = self.path(&format!("blobs/{digest}"));
        let resp = self
            .transport
            .send(&Request::new(Method::HEAD, url.clone()))
            .await?;
        match resp.status() {
            StatusCode::NOT_FOUND => Ok(false),
            s if s.is_success() => Ok(true),
            _ => Err(self.transport.status_error(&Method::HEAD, &url, resp).await),
        }
    }

    /// Monolithic upload: `POST …/blobs/uploads/` then `PUT <Location>?digest=…` with the bytes.
    /// A failed PUT (dropped connection, 5xx) restarts the upload with a new session. The bytes
    /// sent go to `progress` every [`UPLOAD_REPORT_EVERY`] while the PUT runs, and once at its end.
    pub async fn upload_blob(&self, blob: &Blob, progress: OnTransfer<'_>) -> Result<(), OciError> {
        self.transport
            .policy()
            .upload(|| self.upload_once(blob, progress), &|e, n, m, w| {
                self.transport.retry_notice(e, n, m, w)
            })
            .await?;
        self.transport.stats.count_upload(blob.size());
        Ok(())
    }

    async fn upload_once(&self, blob: &Blob, progress: OnTransfer<'_>) -> Result<(), OciError> {
        let url = self.path("blobs/uploads/");
        let resp = self
            .transport
            .send(&Request::new(Method::POST, url.clone()).header("content-length", "0"))
            .await?;
        if resp.status() != StatusCode::ACCEPTED {
            return Err(self.transport.status_error(&Method::POST, &url, resp).await);
        }
        let location = resp
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| OciError::Status {
                method: "POST".into(),
                url: url.clone(),
                status: 202,
                detail: "no Location header for the upload".into(),
            })?;
        let mut put = self.transport.url("the upload Location", &url, location)?;
        put.push(if put.contains('?') { '&' } else { '?' });
        put.push_str("digest=");
        put.push_str(&blob.digest);
        let sent = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
        let req = Request::new(Method::PUT, put.clone())
            .header("content-type", "application/octet-stream")
            .body(blob.data.clone())
            .no_retry()
            .counting(sent.clone());
        let report = || {
            progress(TransferEvent::Progress {
                digest: blob.digest.clone(),
                bytes: sent.load(std::sync::atomic::Ordering::Relaxed),
            })
        };
        report();
        let send = self.transport.send(&req);
        tokio::pin!(send);
        let mut every = tokio::time::interval(UPLOAD_REPORT_EVERY);
        let resp = loop {
            tokio::select! {
                resp = &mut send => break resp?,
                _ = every.tick() => report(),
            }
        };
        report();
        if resp.status() != StatusCode::CREATED {
            return Err(self.transport.status_error(&Method::PUT, &put, resp).await);
        }
        Ok(())
    }

    /// `PUT /v2/<repo>/manifests/<tag>`; checks the digest the registry computed.
    pub async fn put_manifest(&self, tag: &str, manifest: &Blob) -> Result<(), OciError> {
        // appkit hashed exactly the bytes it sends, so `DIGEST_INVALID` on a manifest is not about
        // them: distribution 2.8 answers it while another client's upload of a blob this manifest
        // references rewrites the repository's link to it (two publishes of one chart version
        // share the config blob). Such an answer is tried again, briefly, like a 503.
        const WAITS_MS: [u64; 3] = [100, 300, 1000];
        let mut retry = 0;
        loop {
            match self.put_manifest_once(tag, manifest).await {
                Err(e @ OciError::Status { status: 400, .. })
                    if retry < WAITS_MS.len() && e.to_string().contains("DIGEST_INVALID") =>
                {
                    let wait = std::time::Duration::from_millis(WAITS_MS[retry]);
                    retry += 1;
                    self.transport
                        .retry_notice(&e, retry as u32, WAITS_MS.len() as u32, wait);
                    tokio::time::sleep(wait).await;
                }
                other => return other,
            }
        }
    }

    async fn put_manifest_once(&self, tag: &str, manifest: &Blob) -> Result<(), OciError> {
        let url = self.path(&format!("manifests/{tag}"));
        let req = Request::new(Method::PUT, url.clone())
            .header("content-type", manifest.media_type.clone())
            .body(manifest.data.clone());
        let resp = self.transport.send(&req).await?;
        if resp.status() != StatusCode::CREATED {
            return Err(self.transport.status_error(&Method::PUT, &url, resp).await);
        }
        if let Some(d) = resp
            .headers()
            .get("docker-content-digest")
            .and_then(|v| v.to_str().ok())
        {
            if d != manifest.digest {
                return Err(OciError::DigestMismatch {
                    what: format!("manifest stored at {url}"),
                    expected: manifest.digest.clone(),
                    actual: d.to_string(),
                });
            }
        }
        Ok(())
    }

    /// A blob's bytes, verified against the descriptor's digest and size. At most the
    /// descriptor's size is read (and never more than a chart may be). The bytes read so far go to
    /// `progress` chunk by chunk; the digest is checked once all are read.
    pub async fn fetch_blob(
        &self,
        d: &Descriptor,
        progress: OnTransfer<'_>,
    ) -> Result<Vec<u8>, OciError> {
        self.transport
            .policy()
            .body(|| self.fetch_blob_once(d, progress), &|e, n, m, w| {
                self.transport.retry_notice(e, n, m, w)
            })
            .await
    }

    async fn fetch_blob_once(
        &self,
        d: &Descriptor,
        progress: OnTransfer<'_>,
    ) -> Result<Vec<u8>, OciError> {
        let url = self.path(&format!("blobs/{}", d.digest));
        let limit = crate::chart::MAX_CHART_SIZE;
        if d.size > limit {
            return Err(OciError::BadArtifact {
                what: format!("blob {}", d.digest),
                reason: format!("its descriptor says {} bytes; the limit is {limit}", d.size),
            });
        }
        let resp = self
            .transport
            .send(&Request::new(Method::GET, url.clone()))
            .await?;
        if resp.status() == StatusCode::NOT_FOUND {
            return Err(OciError::NotFound {
                reference: format!("blob {}", d.digest),
            });
        }
        if !resp.status().is_success() {
            return Err(self.transport.status_error(&Method::GET, &url, resp).await);
        }
        // One byte more than announced, so that a longer body is caught as a size mismatch.
        let mut read = |bytes| {
            progress(TransferEvent::Progress {
                digest: d.digest.clone(),
                bytes,
            })
        };
        let bytes = match read_body_counted(resp, d.size + 1, &Method::GET, &url, &mut read).await {
            Err(OciError::TooLarge { .. }) => {
                return Err(OciError::BadArtifact {
                    what: url,
                    reason: format!(
                        "the registry sent more than the {} bytes its descriptor says",
                        d.size
                    ),
                })
            }
            other => other?,
        };
        content::verify(&url, d.into(), &bytes)?;
        Ok(bytes)
    }

    /// `oci://host/repository`, for messages.
    fn reference(&self) -> String {
        format!("oci://{}/{}", self.transport.registry, self.repository)
    }

    /// Every tag of the repository (following `Link` pagination). A 404 for the first page is
    /// [`OciError::RepositoryUnknown`] (a repository whose tags were all deleted lists an empty
    /// page instead), a 401 or 403 [`OciError::ListRefused`].
    /// Bounded: at most [`MAX_TAG_PAGES`] pages and [`MAX_TAG_LIST_BYTES`] in all, a `Link` back
    /// to a page already read is a loop, a `Link` to another origin is refused.
    pub async fn list_tags(&self) -> Result<Vec<String>, OciError> {
        let mut tags = Vec::new();
        let mut seen = std::collections::HashSet::new();
        let mut budget = MAX_TAG_LIST_BYTES;
        let mut next = Some(self.path("tags/list?n=1000"));
        let endless = |url: &str, reason: String| OciError::Refused {
            what: format!("the tag list of {}", self.repository),
            url: url.to_string(),
            reason,
        };
        while let Some(url) = next.take() {
            if !seen.insert(url.clone()) {
                return Err(endless(
                    &url,
                    format!(
                        "its `Link` points back at a page already read (after {} page{}): the registry's pagination loops",
                        seen.len(),
                        if seen.len() == 1 { "" } else { "s" }
                    ),
                ));
            }
            if seen.len() > MAX_TAG_PAGES {
                return Err(endless(
                    &url,
                    format!(
                        "the tag list goes on for more than {MAX_TAG_PAGES} pages ({} tags so far)",
                        tags.len()
                    ),
                ));
            }
            let resp = self
                .transport
                .send(&Request::new(Method::GET, url.clone()))
                .await?;
            let status = resp.status();
            // Only the first page can tell that the repository is not there (a later 404 is a
            // registry that lost a page: an error like any other).
            if status == StatusCode::NOT_FOUND && seen.len() == 1 {
                let body = read_body(resp, MAX_ERROR_BODY, &Method::GET, &url)
                    .await
                    .unwrap_or_default();
                return Err(OciError::RepositoryUnknown {
                    repository: self.reference(),
                    code: registry_error_code(&body),
                });
            }
            if status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN {
                let (detail, repository) =
                    match self.transport.status_error(&Method::GET, &url, resp).await {
                        OciError::Status { detail, .. } => (detail, self.reference()),
                        other => return Err(other),
                    };
                return Err(OciError::ListRefused {
                    repository,
                    status: status.as_u16(),
                    detail,
                });
            }
            if !status.is_success() {
                return Err(self.transport.status_error(&Method::GET, &url, resp).await);
            }
            next = match resp
                .headers()
                .get("link")
                .and_then(|v| v.to_str().ok())
                .and_then(next_link)
            {
                Some(link) => Some(self.transport.url("the tag list's Link", &url, &link)?),
                None => None,
            };
            let body = match read_body(resp, budget, &Method::GET, &url).await {
                Err(OciError::TooLarge { .. }) => {
                    return Err(endless(
                        &url,
                        format!(
                            "the tag list is larger than {MAX_TAG_LIST_BYTES} bytes over {} pages ({} tags so far)",
                            seen.len(),
                            tags.len()
                        ),
                    ))
                }
                other => other?,
            };
            budget -= body.len() as u64;
            tags.extend(parse_tag_page(&body).map_err(|detail| OciError::Status {
                method: "GET".into(),
                url: url.clone(),
                status: 200,
                detail,
            })?);
        }
        Ok(tags)
    }
}

/// The tags of one tag-list page (`{"name": …, "tags": [...]}`; `tags` may be null or missing).
pub fn parse_tag_page(body: &[u8]) -> Result<Vec<String>, String> {
    let v: serde_json::Value =
        serde_json::from_slice(body).map_err(|e| format!("the tag list is not JSON ({e})"))?;
    Ok(v.get("tags")
        .and_then(|t| t.as_array())
        .map(|a| {
            a.iter()
                .filter_map(|t| t.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default())
}

/// The target of the `rel="next"` entry of a `Link` header (RFC 8288), e.g.
/// `</v2/r/tags/list?n=2&last=b>; rel="next"`. A header with one entry and no `rel` is taken as
/// next too (older distribution versions send that).
pub fn next_link(header: &str) -> Option<String> {
    let mut only = None;
    let mut count = 0;
    for entry in split_link_entries(header) {
        let entry = entry.trim();
        let Some(rest) = entry.strip_prefix('<') else {
            continue;
        };
        let Some((target, params)) = rest.split_once('>') else {
            continue;
        };
        count += 1;
        let mut has_rel = false;
        for p in params.split(';') {
            let Some((k, v)) = p.split_once('=') else {
                continue;
            };
            if k.trim().eq_ignore_ascii_case("rel") {
                has_rel = true;
                let v = v.trim().trim_matches('"');
                if v.split_ascii_whitespace()
                    .any(|r| r.eq_ignore_ascii_case("next"))
                {
                    return Some(target.trim().to_string());
                }
            }
        }
        if !has_rel {
            only = Some(target.trim().to_string());
        }
    }
    if count == 1 {
        only
    } else {
        None
    }
}

/// The comma-separated entries of a `Link` header; a comma inside `<…>` or a quoted string does
/// not split.
fn split_link_entries(header: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut start, mut in_angle, mut in_quote) = (0, false, false);
    for (i, c) in header.char_indices() {
        match c {
            '<' if !in_quote => in_angle = true,
            '>' if !in_quote => in_angle = false,
            '"' if !in_angle => in_quote = !in_quote,
            ',' if !in_angle && !in_quote => {
                out.push(&header[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&header[start..]);
    out
}

#[cfg(test)]
mod tests {
    use super::next_link;

    #[test]
    fn next_links() {
        assert_eq!(
            next_link(r#"</v2/r/tags/list?n=2&last=b>; rel="next""#).as_deref(),
            Some("/v2/r/tags/list?n=2&last=b")
        );
        assert_eq!(next_link("</v2/a>").as_deref(), Some("/v2/a"));
        assert_eq!(
            next_link(r#"</v2/p>; rel="prev", </v2/n?a=1,2>; rel="next""#).as_deref(),
            Some("/v2/n?a=1,2")
        );
        assert_eq!(next_link(r#"</v2/p>; rel="prev""#), None);
        assert_eq!(next_link(""), None);
        assert_eq!(next_link("<unterminated"), None);
        assert_eq!(next_link(r#"<a>; rel="prev next""#).as_deref(), Some("a"));
    }
}
