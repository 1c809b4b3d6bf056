//! The `oci-layout:DIR` store: a standard OCI image layout (`oci-layout`, `index.json`,
//! `blobs/sha256/<hex>`), written with atomic file replacement so an interrupted push leaves the
//! previous index (blobs are written before the index names them).
//!
//! Each manifest entry in `index.json` carries `org.opencontainers.image.ref.name` = the tag (so
//! `skopeo inspect oci:DIR:TAG` finds it) and `org.opencontainers.image.title` = the chart name (so
//! one layout can hold several charts; `oci-layout:DIR/CHART` selects one). Entries are sorted by
//! (chart, tag) so the index is deterministic. The same immutability rules as a registry apply.
//!
//! Concurrent writers: every read-modify-write of `index.json` (creating the layout, tagging) holds
//! an exclusive advisory lock on `.appkit-layout.lock` in the layout ([`crate::fsutil::FileLock`];
//! the file exists only while it is held), and the tag is checked again under that lock, so two
//! pushes never lose each other's tags and two pushes of one tag with different content cannot
//! both succeed. Blobs are content-addressed and written without the lock.
//!
//! [`Layout`] is the directory (blob paths, the index, reading and verifying manifests and blobs);
//! [`LayoutTarget`] is the [`Target`] on top: the layout seen through one chart name (or all of
//! them, for reading). Owns: everything about the files. Does not own: the push/pull policy (`ops`).

use std::path::{Path, PathBuf};

use serde_json::{json, Map, Value};

use super::content::{self, Expected};
use super::error::OciError;
use super::manifest::{canonical_json, Blob, Descriptor};
use super::media;
use super::reference::LayoutRef;
use super::target::{Access, OnTransfer, TagResult, Target};
use super::transport::Stats;
use crate::fsutil::{write_atomic, FileLock};

const LAYOUT_FILE: &str = "oci-layout";
const INDEX_FILE: &str = "index.json";
/// The lock around `index.json` updates (present only while a run holds it).
pub const LOCK_FILE: &str = ".appkit-layout.lock";
/// The largest `oci-layout`, `index.json` or manifest read from a layout (the OCI distribution
/// spec's manifest limit); blobs are limited to the chart archive limit.
pub const MAX_LAYOUT_JSON: u64 = 4 * 1024 * 1024;

pub struct Layout {
    pub root: PathBuf,
}

/// One tagged manifest in the index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayoutEntry {
    pub chart: Option<String>,
    pub tag: String,
    pub digest: String,
    pub size: u64,
}

impl Layout {
    /// Open an existing layout (`create`: accept a missing or empty directory; the layout files
    /// are written with the first blob).
    pub fn open(root: &Path, create: bool) -> Result<Layout, OciError> {
        let l = Layout {
            root: root.to_path_buf(),
        };
        let marker = root.join(LAYOUT_FILE);
        if marker.is_file() {
            let text = crate::fsutil::read_to_string_limited(&marker, MAX_LAYOUT_JSON)
                .map_err(|source| l.io(&marker, source))?;
            let v: Value =
                serde_json::from_str(&text).map_err(|_| l.bad("`oci-layout` is not JSON"))?;
            if v.get("imageLayoutVersion").and_then(Value::as_str) != Some("1.0.0") {
                return Err(l.bad("unsupported imageLayoutVersion (expected 1.0.0)"));
            }
            return Ok(l);
        }
        if !create {
            return Err(l.bad("not an OCI image layout (no `oci-layout` file)"));
        }
        // A first push killed before it wrote `oci-layout` leaves only its temp file: remove it
        // (its process is gone) before deciding whether the directory is someone else's. A
        // concurrent first push's temp files and lock (`.appkit-*`) do not make it someone else's.
        crate::fsutil::sweep_stale(root);
        if root.is_dir()
            && std::fs::read_dir(root)
                .map_err(|e| l.io(root, e))?
                .flatten()
                .any(|e| !e.file_name().to_string_lossy().starts_with(".appkit-"))
        {
            // A concurrent first push may have made it a layout since the check above.
            if marker.is_file() {
                return Layout::open(root, false);
            }
            return Err(l.bad("the directory exists, is not empty and is not an OCI image layout"));
        }
        // Nothing is written until the first blob: a push that fails early leaves no layout.
        Ok(l)
    }

    /// Take the layout's lock (creating the directory for a first push).
    fn lock(&self) -> Result<FileLock, OciError> {
        std::fs::create_dir_all(&self.root).map_err(|e| self.io(&self.root, e))?;
        let path = self.root.join(LOCK_FILE);
        FileLock::acquire(&path).map_err(|e| self.io(&path, e))
    }

    /// Create `oci-layout` and an empty `index.json` when the layout does not exist yet.
    fn ensure_initialized(&self) -> Result<(), OciError> {
        if self.root.join(LAYOUT_FILE).is_file() && self.root.join(INDEX_FILE).is_file() {
            return Ok(());
        }
        let _lock = self.lock()?;
        self.ensure_initialized_locked()
    }

    /// [`Self::ensure_initialized`], with the lock held (a concurrent first push must not write an
    /// empty `index.json` over one that already names a tag).
    fn ensure_initialized_locked(&self) -> Result<(), OciError> {
        let marker = self.root.join(LAYOUT_FILE);
        if !marker.is_file() {
            write_atomic(&marker, br#"{"imageLayoutVersion":"1.0.0"}"#)
                .map_err(|e| self.io(&marker, e))?;
        }
        if self.root.join(INDEX_FILE).is_file() {
            return Ok(());
        }
        self.write_index(&[])
    }

    fn io(&self, path: &Path, source: std::io::Error) -> OciError {
        OciError::LayoutIo {
            path: path.to_path_buf(),
            source,
        }
    }

    fn bad(&self, reason: &str) -> OciError {
        OciError::Layout {
            path: self.root.clone(),
            reason: reason.to_string(),
        }
    }

    fn blob_path(&self, digest: &str) -> Result<PathBuf, OciError> {
        match digest.split_once(':') {
            Some(("sha256", hex))
                if hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()) =>
            {
                Ok(self.root.join("blobs/sha256").join(hex))
            }
            _ => Err(self.bad(&format!("unsupported digest `{digest}`"))),
        }
    }

    /// Every tagged entry (all charts, or only `chart`'s).
    pub fn entries(&self, chart: Option<&str>) -> Result<Vec<LayoutEntry>, OciError> {
        let path = self.root.join(INDEX_FILE);
        if !path.exists() {
            // A layout still to be created, or one whose creation was killed between writing
            // `oci-layout` and `index.json`: nothing is tagged.
            return Ok(Vec::new());
        }
        let text = crate::fsutil::read_to_string_limited(&path, MAX_LAYOUT_JSON)
            .map_err(|e| self.io(&path, e))?;
        let v: Value =
            serde_json::from_str(&text).map_err(|_| self.bad("index.json is not JSON"))?;
        let manifests = v
            .get("manifests")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let mut out = Vec::new();
        for m in manifests {
            let d: Descriptor = serde_json::from_value(m)
                .map_err(|e| self.bad(&format!("index.json has a bad descriptor ({e})")))?;
            let Some(tag) = d.annotations.get(media::ANNOTATION_REF_NAME).cloned() else {
                continue;
            };
            let title = d.annotations.get(media::ANNOTATION_TITLE).cloned();
            if chart.is_some_and(|c| title.as_deref() != Some(c)) {
                continue;
            }
            out.push(LayoutEntry {
                chart: title,
                tag,
                digest: d.digest,
                size: d.size,
            });
        }
        Ok(out)
    }

    /// The manifest digest of `chart:tag`, if present.
    pub fn resolve(&self, chart: Option<&str>, tag: &str) -> Result<Option<String>, OciError> {
        let found: Vec<LayoutEntry> = self
            .entries(chart)?
            .into_iter()
            .filter(|e| e.tag == tag)
            .collect();
        match found.as_slice() {
            [] => Ok(None),
            [one] => Ok(Some(one.digest.clone())),
            _ => Err(self.bad(&format!(
                "several charts are tagged `{tag}`; name one as oci-layout:DIR/CHART"
            ))),
        }
    }

    pub fn has_blob(&self, digest: &str) -> Result<bool, OciError> {
        Ok(self.blob_path(digest)?.is_file())
    }

    pub fn write_blob(&self, blob: &Blob) -> Result<(), OciError> {
        self.ensure_initialized()?;
        let p = self.blob_path(&blob.digest)?;
        write_atomic(&p, &blob.data).map_err(|e| self.io(&p, e))
    }

    pub fn read_blob(&self, d: &Descriptor) -> Result<Vec<u8>, OciError> {
        let p = self.blob_path(&d.digest)?;
        // Capped (a FIFO or a huge file is refused); a size or digest that differs from the
        // descriptor is reported by `content::verify`.
        let bytes = crate::fsutil::read_limited(&p, crate::chart::MAX_CHART_SIZE)
            .map_err(|e| self.io(&p, e))?;
        content::verify(&p.display().to_string(), d.into(), &bytes)?;
        Ok(bytes)
    }

    /// The manifest `reference` (a tag of `chart`, or a digest) names, verified against its
    /// digest; `None` when the tag or the blob is absent.
    pub fn read_manifest(
        &self,
        chart: Option<&str>,
        reference: &str,
    ) -> Result<Option<(Vec<u8>, String)>, OciError> {
        let digest = if reference.starts_with("sha256:") {
            Some(reference.to_string())
        } else {
            self.resolve(chart, reference)?
        };
        let Some(digest) = digest else {
            return Ok(None);
        };
        if !self.has_blob(&digest)? {
            return Ok(None);
        }
        let path = self.blob_path(&digest)?;
        let bytes =
            crate::fsutil::read_limited(&path, MAX_LAYOUT_JSON).map_err(|e| self.io(&path, e))?;
        content::verify(
            &path.display().to_string(),
            Expected::digest(&digest),
            &bytes,
        )?;
        Ok(Some((bytes, digest)))
    }

    /// Point `chart:tag` at `manifest` (whose blobs must already be written), under the layout's
    /// lock. `replace`: replace any previous entry for the same chart and tag; otherwise an entry
    /// that points at another manifest is kept and its digest returned (`Some`: not tagged).
    pub fn tag(
        &self,
        chart: &str,
        tag: &str,
        manifest: &Blob,
        replace: bool,
    ) -> Result<Option<String>, OciError> {
        let _lock = self.lock()?;
        self.ensure_initialized_locked()?;
        let (same, mut entries): (Vec<LayoutEntry>, Vec<LayoutEntry>) = self
            .entries(None)?
            .into_iter()
            .partition(|e| e.tag == tag && e.chart.as_deref() == Some(chart));
        if let Some(held) = same.iter().find(|e| e.digest != manifest.digest) {
            if !replace {
                return Ok(Some(held.digest.clone()));
            }
        } else if !same.is_empty() {
            return Ok(None);
        }
        entries.push(LayoutEntry {
            chart: Some(chart.to_string()),
            tag: tag.to_string(),
            digest: manifest.digest.clone(),
            size: manifest.size(),
        });
        self.write_index(&entries)?;
        Ok(None)
    }

    fn write_index(&self, entries: &[LayoutEntry]) -> Result<(), OciError> {
        let mut sorted = entries.to_vec();
        sorted.sort_by(|a, b| (&a.chart, &a.tag).cmp(&(&b.chart, &b.tag)));
        let manifests: Vec<Value> = sorted
            .iter()
            .map(|e| {
                let mut ann = Map::new();
                ann.insert(media::ANNOTATION_REF_NAME.into(), Value::from(e.tag.clone()));
                if let Some(c) = &e.chart {
                    ann.insert(media::ANNOTATION_TITLE.into(), Value::from(c.clone()));
                }
                json!({"mediaType": media::IMAGE_MANIFEST, "digest": e.digest, "size": e.size, "annotations": ann})
            })
            .collect();
        let index =
            json!({"schemaVersion": 2, "mediaType": media::IMAGE_INDEX, "manifests": manifests});
        let path = self.root.join(INDEX_FILE);
        write_atomic(&path, &canonical_json(&index)).map_err(|e| self.io(&path, e))
    }
}

/// The layout [`Target`]: a [`Layout`] and the chart selected in it (`None`: every chart, for
/// reading).
pub struct LayoutTarget {
    layout: Layout,
    chart: Option<String>,
}

impl LayoutTarget {
    /// Open the layout `l` names; for a push, `chart` is the chart written (and a missing or
    /// empty directory is accepted).
    pub fn open(l: &LayoutRef, access: Access<'_>) -> Result<LayoutTarget, OciError> {
        let (chart, create) = match access {
            Access::Push { chart } => (Some(chart.to_string()), true),
            Access::Pull => (l.chart.clone(), false),
        };
        Ok(LayoutTarget {
            layout: Layout::open(&l.dir, create)?,
            chart,
        })
    }
}

impl Target for LayoutTarget {
    fn display(&self, reference: &str) -> String {
        let sep = if reference.starts_with("sha256:") {
            '@'
        } else {
            ':'
        };
        let root = self.layout.root.display();
        match &self.chart {
            Some(c) => format!("oci-layout:{root}/{c}{sep}{reference}"),
            None => format!("oci-layout:{root}{sep}{reference}"),
        }
    }

    fn stats(&self) -> Option<&Stats> {
        None
    }

    async fn resolve(&self, tag: &str) -> Result<Option<String>, OciError> {
        self.layout.resolve(self.chart.as_deref(), tag)
    }

    async fn fetch_manifest(&self, reference: &str) -> Result<Option<(Vec<u8>, String)>, OciError> {
        self.layout.read_manifest(self.chart.as_deref(), reference)
    }

    async fn has_blob(&self, digest: &str) -> Result<bool, OciError> {
        self.layout.has_blob(digest)
    }

    /// A local write: no progress in between (the start and end are reported by `ops`).
    async fn put_blob(&self, blob: &Blob, _progress: OnTransfer<'_>) -> Result<(), OciError> {
        self.layout.write_blob(blob)
    }

    async fn put_manifest(
        &self,
        tag: &str,
        manifest: &Blob,
        replace: bool,
    ) -> Result<TagResult, OciError> {
        let Some(chart) = &self.chart else {
            return Err(self
                .layout
                .bad("a manifest is only tagged for a named chart"));
        };
        self.layout.write_blob(manifest)?;
        // Checked and written under the lock: what the index holds afterwards is certain.
        Ok(match self.layout.tag(chart, tag, manifest, replace)? {
            Some(holds) => TagResult::Held { holds },
            None => TagResult::Moved {
                now: Some(manifest.digest.clone()),
            },
        })
    }

    async fn fetch_blob(
        &self,
        descriptor: &Descriptor,
        _progress: OnTransfer<'_>,
    ) -> Result<Vec<u8>, OciError> {
        self.layout.read_blob(descriptor)
    }

    async fn list_tags(&self) -> Result<Vec<(String, Option<String>)>, OciError> {
        Ok(self
            .layout
            .entries(self.chart.as_deref())?
            .into_iter()
            .map(|e| (e.tag, Some(e.digest)))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oci::manifest::build;

    #[test]
    fn writes_a_layout_and_reads_it_back() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("out");
        let l = Layout::open(&root, true).unwrap();
        assert!(!root.exists(), "nothing written before the first blob");
        assert!(l.entries(None).unwrap().is_empty());
        let a = build(
            br#"{"name":"app","version":"1.0.0+b"}"#.to_vec(),
            b"tgz".to_vec(),
            None,
        )
        .unwrap();
        for b in [&a.config, &a.layer, &a.manifest] {
            l.write_blob(b).unwrap();
        }
        assert_eq!(l.tag("app", "1.0.0_b", &a.manifest, false).unwrap(), None);
        assert_eq!(l.tag("other", "1.0.0_b", &a.manifest, false).unwrap(), None);
        assert!(
            !root.join(LOCK_FILE).exists(),
            "the lock file exists only while held"
        );
        // Another manifest for the same tag: kept unless replacing.
        let b = build(
            br#"{"name":"app","version":"1.0.0+b"}"#.to_vec(),
            b"other".to_vec(),
            None,
        )
        .unwrap();
        assert_eq!(
            l.tag("app", "1.0.0_b", &b.manifest, false).unwrap(),
            Some(a.manifest.digest.clone())
        );
        assert_eq!(l.tag("app", "1.0.0_b", &b.manifest, true).unwrap(), None);
        assert_eq!(
            l.resolve(Some("app"), "1.0.0_b").unwrap(),
            Some(b.manifest.digest.clone())
        );
        assert_eq!(l.tag("app", "1.0.0_b", &a.manifest, true).unwrap(), None);
        let l = Layout::open(&root, false).unwrap();
        assert_eq!(
            l.resolve(Some("app"), "1.0.0_b").unwrap(),
            Some(a.manifest.digest.clone())
        );
        assert!(
            l.resolve(None, "1.0.0_b").is_err(),
            "ambiguous without a chart name"
        );
        assert_eq!(l.entries(None).unwrap().len(), 2);
        let d = Descriptor {
            media_type: a.layer.media_type.clone(),
            digest: a.layer.digest.clone(),
            size: 3,
            annotations: Default::default(),
        };
        assert_eq!(l.read_blob(&d).unwrap(), b"tgz");
        std::fs::write(l.blob_path(&d.digest).unwrap(), b"evil").unwrap();
        assert!(matches!(
            l.read_blob(&d),
            Err(OciError::DigestMismatch { .. })
        ));
    }

    #[test]
    fn refuses_a_non_empty_directory_that_is_not_a_layout() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("x"), "").unwrap();
        assert!(Layout::open(dir.path(), true).is_err());
        assert!(Layout::open(&dir.path().join("missing"), false).is_err());
    }
}
