//! Reading a chart archive someone else made (a `.tgz` given to `push`, or pulled from a registry)
//! without trusting it: everything is read into memory first, under Helm's size caps (100 MiB in
//! total, 5 MiB per file), and refused when an entry could land outside the chart directory or is
//! anything but a regular file (no links, devices, FIFOs). Extraction writes only what passed.
//!
//! The rules follow Helm's `LoadArchiveFiles` (first path element is the chart directory, pax
//! headers skipped, directory entries skipped), and are stricter where Helm is lenient: every
//! entry must share one top directory, `..` is refused anywhere in a path, backslashes and
//! duplicate entries are refused.

use std::collections::BTreeSet;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use super::metadata::{ChartMetadata, CHART_FILE};
use super::ChartError;

/// Helm's `MaxDecompressedChartSize`.
pub const MAX_CHART_SIZE: u64 = 100 * 1024 * 1024;
const MAX_FILE_SIZE: u64 = super::archive::MAX_FILE_SIZE;

/// One regular file of an archive; `path` is relative to the chart's top directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArchiveFile {
    pub path: String,
    pub data: Vec<u8>,
}

/// A chart archive read into memory and checked for unsafe entries. `metadata` is parsed but
/// **not validated**: call `metadata.validate()` when the chart must be valid.
#[derive(Debug, Clone)]
pub struct ArchiveContents {
    /// The archive's top directory (normally the chart name).
    pub top_dir: String,
    pub metadata: ChartMetadata,
    /// Files in archive order.
    pub files: Vec<ArchiveFile>,
}

fn unsafe_entry(name: &str, reason: &'static str) -> ChartError {
    ChartError::UnsafeEntry {
        name: name.to_string(),
        reason,
    }
}

/// Read and check a chart archive (`.tgz`) held in memory.
pub fn read_tgz(bytes: &[u8]) -> Result<ArchiveContents, ChartError> {
    if !bytes.starts_with(&[0x1f, 0x8b]) {
        return Err(ChartError::Archive(
            "not a gzip-compressed archive (a chart .tgz was expected)".into(),
        ));
    }
    // Cap the decompressed stream itself (file data + room for tar headers), so a gzip bomb stops
    // early whatever the headers claim.
    let gz = flate2::read::GzDecoder::new(bytes).take(MAX_CHART_SIZE + 16 * 1024 * 1024);
    let mut tar = tar::Archive::new(gz);
    let mut files: Vec<ArchiveFile> = Vec::new();
    let mut seen = BTreeSet::new();
    let mut top: Option<String> = None;
    let mut total: u64 = 0;
    let entries = tar
        .entries()
        .map_err(|e| ChartError::Archive(format!("cannot read the tar stream: {e}")))?;
    for entry in entries {
        let mut entry =
            entry.map_err(|e| ChartError::Archive(format!("cannot read the tar stream: {e}")))?;
        let raw_name = String::from_utf8(entry.path_bytes().into_owned())
            .map_err(|_| ChartError::Archive("an entry name is not UTF-8".into()))?;
        let kind = entry.header().entry_type();
        match kind {
            tar::EntryType::Directory | tar::EntryType::XGlobalHeader | tar::EntryType::XHeader => {
                continue
            }
            tar::EntryType::Regular | tar::EntryType::Continuous => {}
            tar::EntryType::Symlink | tar::EntryType::Link => {
                return Err(unsafe_entry(&raw_name, "links are not allowed"))
            }
            tar::EntryType::Char | tar::EntryType::Block | tar::EntryType::Fifo => {
                return Err(unsafe_entry(
                    &raw_name,
                    "device files and FIFOs are not allowed",
                ))
            }
            _ => return Err(unsafe_entry(&raw_name, "only regular files are allowed")),
        }
        let (top_dir, rel) = split_entry_name(&raw_name)?;
        match &top {
            None => top = Some(top_dir.clone()),
            Some(t) if *t != top_dir => {
                return Err(unsafe_entry(
                    &raw_name,
                    "entries must all be under one top directory",
                ))
            }
            Some(_) => {}
        }
        if !seen.insert(rel.clone()) {
            return Err(unsafe_entry(&raw_name, "the archive holds this file twice"));
        }
        let size = entry
            .header()
            .size()
            .map_err(|e| ChartError::Archive(e.to_string()))?;
        if size > MAX_FILE_SIZE {
            return Err(ChartError::Archive(format!(
                "{raw_name:?} is larger than the limit of {MAX_FILE_SIZE} bytes"
            )));
        }
        let mut data = Vec::with_capacity(size as usize);
        (&mut entry)
            .take(MAX_FILE_SIZE + 1)
            .read_to_end(&mut data)
            .map_err(|e| ChartError::Archive(format!("cannot read {raw_name:?}: {e}")))?;
        total += data.len() as u64;
        if total > MAX_CHART_SIZE {
            return Err(ChartError::Archive(format!(
                "decompressed chart is larger than {MAX_CHART_SIZE} bytes"
            )));
        }
        if data.starts_with(b"\xEF\xBB\xBF") {
            data.drain(..3);
        }
        files.push(ArchiveFile { path: rel, data });
    }
    let top_dir = top.ok_or_else(|| ChartError::Archive("no files in chart archive".into()))?;
    let chart_yaml = files
        .iter()
        .find(|f| f.path == CHART_FILE)
        .ok_or_else(|| ChartError::Archive(format!("no {top_dir}/Chart.yaml in the archive")))?;
    let mut metadata =
        ChartMetadata::from_yaml(&chart_yaml.data, &PathBuf::from(&top_dir).join(CHART_FILE))?;
    // Helm's loader merges requirements.yaml into the metadata (a v1 chart keeps it as a file).
    if let Some(req) = files.iter().find(|f| f.path == "requirements.yaml") {
        metadata.merge_requirements(
            &req.data,
            &PathBuf::from(&top_dir).join("requirements.yaml"),
        )?;
    }
    Ok(ArchiveContents {
        top_dir,
        metadata,
        files,
    })
}

/// `top/rest/of/path` → (`top`, `rest/of/path`), refusing anything that could escape.
fn split_entry_name(name: &str) -> Result<(String, String), ChartError> {
    if name.contains('\\') {
        return Err(unsafe_entry(
            name,
            "backslashes are not allowed in entry names",
        ));
    }
    if name.starts_with('/') {
        return Err(unsafe_entry(name, "absolute paths are not allowed"));
    }
    let parts: Vec<&str> = name
        .split('/')
        .filter(|p| !p.is_empty() && *p != ".")
        .collect();
    if parts.contains(&"..") {
        return Err(unsafe_entry(name, "`..` (parent directory) is not allowed"));
    }
    if parts.len() < 2 {
        return Err(unsafe_entry(
            name,
            "files must be inside the chart's top directory",
        ));
    }
    if parts.iter().any(|p| p.len() == 2 && p.ends_with(':')) || parts[0].contains(':') {
        return Err(unsafe_entry(name, "drive letters are not allowed"));
    }
    Ok((parts[0].to_string(), parts[1..].join("/")))
}

/// Extract a chart archive into `dest_dir/<top dir>` (like `helm pull --untar`), after
/// [`read_tgz`] checked every entry. Refuses to overwrite an existing `<top dir>`; the files are
/// written to a temporary directory first and renamed into place, so a failure leaves nothing.
/// Returns the chart directory written.
pub fn extract_safely(bytes: &[u8], dest_dir: &Path) -> Result<PathBuf, ChartError> {
    let contents = read_tgz(bytes)?;
    let io = |path: &Path, source: std::io::Error| ChartError::Io {
        path: path.to_path_buf(),
        source,
    };
    fs::create_dir_all(dest_dir).map_err(|e| io(dest_dir, e))?;
    crate::fsutil::sweep_stale(dest_dir);
    let target = dest_dir.join(&contents.top_dir);
    if fs::symlink_metadata(&target).is_ok() {
        return Err(io(
            &target,
            std::io::Error::new(
                std::io::ErrorKind::AlreadyExists,
                "already exists; remove it or choose another directory",
            ),
        ));
    }
    let tmp = tempfile::Builder::new()
        .prefix(&crate::fsutil::temp_prefix("untar"))
        .tempdir_in(dest_dir)
        .map_err(|e| io(dest_dir, e))?;
    for f in &contents.files {
        let path = tmp.path().join(&f.path);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).map_err(|e| io(parent, e))?;
        }
        let mut opts = fs::OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o644);
        }
        let mut file = opts.open(&path).map_err(|e| io(&path, e))?;
        std::io::Write::write_all(&mut file, &f.data).map_err(|e| io(&path, e))?;
    }
    let tmp_path = tmp.keep();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = fs::set_permissions(&tmp_path, fs::Permissions::from_mode(0o755));
    }
    crate::fsutil::before_rename(&target)
        .and_then(|()| fs::rename(&tmp_path, &target))
        .map_err(|e| {
            let _ = fs::remove_dir_all(&tmp_path);
            io(&target, e)
        })?;
    Ok(target)
}
