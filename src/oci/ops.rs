//! The operations the actions build on: push an artifact with the immutability rules, pull and
//! verify a chart, list published versions, read what a version holds. All are generic over
//! [`Target`], so they work the same against a registry and an OCI layout; [`copy_blob`] is the
//! one routine that moves content (has → put). Nothing here prints; progress goes to a callback.
//!
//! Owns: the rules of a push and the shape of a pulled chart. Does not own: opening targets
//! (`target`), or what a command decides from the results (`crate::actions`).

use semver::Version;
use serde::Serialize;

use super::error::OciError;
use super::manifest::{parse_chart_manifest, Artifact, Blob};
use super::reference::{tag_for_version, version_for_tag};
pub use super::target::{Direction, OnTransfer, TransferEvent};
use super::target::{TagResult, Target};

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PushOutcome {
    #[serde(rename = "ref")]
    pub reference: String,
    pub tag: String,
    pub version: String,
    /// The OCI manifest's digest.
    #[serde(rename = "manifestDigest")]
    pub digest: String,
    /// Size of the chart archive in bytes.
    pub size: u64,
    /// Whether anything (blob or manifest) was written.
    pub uploaded: bool,
    /// Blobs written (those the target did not have).
    pub blobs_uploaded: u64,
    /// The tag already pointed at exactly this manifest.
    pub already_published: bool,
    /// With `--force`: the digest the tag pointed at before.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replaced: Option<String>,
}

/// Push `artifact` as tag `version` (`+`→`_`): check the tag first (same digest, or a manifest
/// with the same config and chart layer such as `helm push` makes → nothing to do; other content
/// → [`OciError::TagExists`] unless `force`), upload only missing blobs, write the manifest last
/// so a failure never leaves a tag pointing at missing blobs.
///
/// Concurrent pushes of the tag: the target checks the tag again right before moving it and
/// reads it back after ([`Target::put_manifest`]). When it then holds other content (another
/// config or layer digest — a manifest that differs only in annotations is the same chart), the
/// push fails with [`OciError::TagConflict`], naming both digests; when it holds the same chart
/// under another manifest, that manifest's digest is the outcome's (the one the tag names).
pub async fn push<T: Target>(
    target: &T,
    artifact: &Artifact,
    force: bool,
    progress: OnTransfer<'_>,
) -> Result<PushOutcome, OciError> {
    let tag = tag_for_version(&artifact.version);
    let reference = target.display(&tag);
    let mut outcome = PushOutcome {
        reference: reference.clone(),
        tag: tag.clone(),
        version: artifact.version.clone(),
        digest: artifact.manifest.digest.clone(),
        size: artifact.layer.size(),
        uploaded: false,
        blobs_uploaded: 0,
        already_published: false,
        replaced: None,
    };
    match target.resolve(&tag).await? {
        Some(d) if d == artifact.manifest.digest => {
            outcome.already_published = true;
            return Ok(outcome);
        }
        Some(d) if !force && same_content(target, &d, artifact).await? => {
            outcome.already_published = true;
            outcome.digest = d;
            return Ok(outcome);
        }
        Some(d) if !force => {
            return Err(OciError::TagExists {
                reference,
                existing: d,
                new: artifact.manifest.digest.clone(),
            });
        }
        Some(d) => outcome.replaced = Some(d),
        None => {}
    }
    let (a, b) = tokio::join!(
        copy_blob(target, &artifact.config, progress),
        copy_blob(target, &artifact.layer, progress)
    );
    outcome.blobs_uploaded = u64::from(a?) + u64::from(b?);
    let result = target.put_manifest(&tag, &artifact.manifest, force).await?;
    outcome.uploaded = true;
    let (theirs, after) = match result {
        TagResult::Moved { now: Some(d) } if d == artifact.manifest.digest => return Ok(outcome),
        TagResult::Moved { now } => (now, true),
        TagResult::Held { holds } => (Some(holds), false),
    };
    if let Some(d) = &theirs {
        if same_content(target, d, artifact).await? {
            outcome.digest = d.clone();
            outcome.already_published = !after;
            return Ok(outcome);
        }
    }
    Err(OciError::TagConflict {
        reference,
        ours: artifact.manifest.digest.clone(),
        theirs,
        after,
    })
}

/// True when the manifest `digest` in `target` is the same chart as `artifact`: the same config
/// and chart layer (its annotations, such as Helm's `created`, may differ). A manifest that is
/// absent or not a Helm chart's is other content.
async fn same_content<T: Target>(
    target: &T,
    digest: &str,
    artifact: &Artifact,
) -> Result<bool, OciError> {
    let Some((bytes, _)) = target.fetch_manifest(digest).await? else {
        return Ok(false);
    };
    let shown = target.display(digest);
    let Ok(m) = parse_chart_manifest(&shown, &bytes) else {
        return Ok(false);
    };
    let Ok(layer) = m.chart_layer(&shown) else {
        return Ok(false);
    };
    Ok(m.config.digest == artifact.config.digest && layer.digest == artifact.layer.digest)
}

/// Make sure `target` holds `blob`: upload it unless it is already there. True when it was
/// uploaded. Its start and end go to `progress` (only for a blob that is uploaded).
pub async fn copy_blob<T: Target>(
    target: &T,
    blob: &Blob,
    progress: OnTransfer<'_>,
) -> Result<bool, OciError> {
    if target.has_blob(&blob.digest).await? {
        return Ok(false);
    }
    progress(TransferEvent::Started {
        digest: blob.digest.clone(),
        size: blob.size(),
        direction: Direction::Upload,
    });
    target.put_blob(blob, progress).await?;
    progress(TransferEvent::Finished {
        digest: blob.digest.clone(),
        direction: Direction::Upload,
    });
    Ok(true)
}

/// A blob's verified bytes from `target`, its start and end reported to `progress`.
async fn download_blob<T: Target>(
    target: &T,
    descriptor: &super::manifest::Descriptor,
    progress: OnTransfer<'_>,
) -> Result<Vec<u8>, OciError> {
    progress(TransferEvent::Started {
        digest: descriptor.digest.clone(),
        size: descriptor.size,
        direction: Direction::Download,
    });
    let bytes = target.fetch_blob(descriptor, progress).await?;
    progress(TransferEvent::Finished {
        digest: descriptor.digest.clone(),
        direction: Direction::Download,
    });
    Ok(bytes)
}

/// A chart fetched and verified.
#[derive(Debug, Clone)]
pub struct PulledChart {
    pub reference: String,
    pub name: String,
    pub version: String,
    pub digest: String,
    pub tgz: Vec<u8>,
}

/// Fetch the manifest for `reference` (a tag or a digest), then config and chart layer, checking
/// every digest and size and that it is a Helm chart. The blobs' transfers go to `progress`.
pub async fn pull<T: Target>(
    target: &T,
    reference: &str,
    progress: OnTransfer<'_>,
) -> Result<PulledChart, OciError> {
    let shown = target.display(reference);
    let (bytes, digest) =
        target
            .fetch_manifest(reference)
            .await?
            .ok_or_else(|| OciError::NotFound {
                reference: shown.clone(),
            })?;
    let manifest = parse_chart_manifest(&shown, &bytes)?;
    let layer = manifest.chart_layer(&shown)?.clone();
    let (config, tgz) = tokio::join!(
        download_blob(target, &manifest.config, progress),
        download_blob(target, &layer, progress)
    );
    let (config, tgz) = (config?, tgz?);
    let meta: serde_json::Value =
        serde_json::from_slice(&config).map_err(|e| OciError::BadArtifact {
            what: shown.clone(),
            reason: format!("the chart config is not JSON ({e})"),
        })?;
    let field = |k: &str| {
        meta.get(k)
            .and_then(|v| v.as_str())
            .unwrap_or("")
            .to_string()
    };
    let (name, version) = (field("name"), field("version"));
    if name.is_empty() || version.is_empty() {
        return Err(OciError::BadArtifact {
            what: shown,
            reason: "the chart config has no name or version".into(),
        });
    }
    Ok(PulledChart {
        reference: shown,
        name,
        version,
        digest,
        tgz,
    })
}

/// One published chart version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PublishedVersion {
    pub version: String,
    /// `version` parsed (every published version is SemVer; carried so no caller re-parses).
    #[serde(skip)]
    pub semver: Version,
    pub tag: String,
    /// The OCI manifest's digest (what Flux pins).
    #[serde(rename = "manifestDigest")]
    pub digest: String,
}

/// All published versions (tags that are SemVer after `_`→`+`), sorted ascending by SemVer
/// precedence (build metadata as a tie-break), each with its manifest digest. Returns the tags
/// that are not versions separately. A repository that does not exist has none: what `publish`
/// and `pull` compare with before the first push ([`existing_versions`] tells it apart).
pub async fn versions<T: Target>(
    target: &T,
) -> Result<(Vec<PublishedVersion>, Vec<String>), OciError> {
    match existing_versions(target).await {
        Err(OciError::RepositoryUnknown { .. }) => Ok((Vec::new(), Vec::new())),
        other => other,
    }
}

/// [`versions`], but a repository that does not exist is [`OciError::RepositoryUnknown`] (what
/// `versions` reports), not an empty list.
pub async fn existing_versions<T: Target>(
    target: &T,
) -> Result<(Vec<PublishedVersion>, Vec<String>), OciError> {
    let tags = target.list_tags().await?;
    let mut parsed = Vec::new();
    let mut other = Vec::new();
    for (tag, digest) in tags {
        let v = version_for_tag(&tag);
        match Version::parse(&v) {
            Ok(sv) => parsed.push((sv, tag, digest)),
            Err(_) => other.push(tag),
        }
    }
    // Resolve missing digests concurrently (HEAD per tag), a few at a time.
    let mut out = Vec::with_capacity(parsed.len());
    for chunk in parsed.chunks(8) {
        let futs = chunk.iter().map(|(_, tag, d)| async move {
            match d {
                Some(d) => Ok(Some(d.clone())),
                None => target.resolve(tag).await,
            }
        });
        let digests = join_all(futs).await;
        for ((sv, tag, _), d) in chunk.iter().zip(digests) {
            if let Some(d) = d? {
                out.push((
                    sv.clone(),
                    PublishedVersion {
                        version: sv.to_string(),
                        semver: sv.clone(),
                        tag: tag.clone(),
                        digest: d,
                    },
                ));
            }
        }
    }
    out.sort_by(|a, b| a.0.cmp_precedence(&b.0).then_with(|| a.0.cmp(&b.0)));
    other.sort();
    Ok((out.into_iter().map(|(_, p)| p).collect(), other))
}

/// The highest published version (what `publish` compares the chart with), if any.
pub async fn highest_published_version<T: Target>(
    target: &T,
) -> Result<Option<PublishedVersion>, OciError> {
    Ok(versions(target).await?.0.pop())
}

/// What a registry holds for one chart version: the manifest digest and the digests of its
/// config and chart layer (content equality that ignores annotations such as Helm's `created`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishedContent {
    pub manifest: String,
    pub config: String,
    pub layer: String,
}

/// The published content of `version`, if that version is published.
pub async fn published_content<T: Target>(
    target: &T,
    version: &str,
) -> Result<Option<PublishedContent>, OciError> {
    let tag = tag_for_version(version);
    let Some((bytes, digest)) = target.fetch_manifest(&tag).await? else {
        return Ok(None);
    };
    let shown = target.display(&tag);
    let m = parse_chart_manifest(&shown, &bytes)?;
    let layer = m.chart_layer(&shown)?.digest.clone();
    Ok(Some(PublishedContent {
        manifest: digest,
        config: m.config.digest,
        layer,
    }))
}

impl PublishedContent {
    /// True when `artifact` has the same chart content (config and layer), whatever the manifest
    /// annotations.
    pub fn same_content(&self, artifact: &Artifact) -> bool {
        self.config == artifact.config.digest && self.layer == artifact.layer.digest
    }
}

/// Minimal `join_all` for a handful of futures on the current-thread runtime.
async fn join_all<F: std::future::Future>(futs: impl IntoIterator<Item = F>) -> Vec<F::Output> {
    let mut set = Vec::new();
    for f in futs {
        set.push(Box::pin(f));
    }
    let mut out: Vec<Option<F::Output>> = (0..set.len()).map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (i, f) in set.iter_mut().enumerate() {
            if out[i].is_none() {
                match f.as_mut().poll(cx) {
                    std::task::Poll::Ready(v) => out[i] = Some(v),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    out.into_iter()
        .map(|o| o.expect("every future completed"))
        .collect()
}
