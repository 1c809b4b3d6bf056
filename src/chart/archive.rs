//! Building the chart archive: chart directory → byte-reproducible `.tgz` in memory.
//!
//! What goes in is what `helm package` (3.17 and 4.1) puts in, decided the way Helm decides it
//! (`pkg/chart/loader/directory.go` + `load.go` + `chartutil/save.go`):
//! * the top-level `.helmignore` (Helm's rules, see `ignore.rs`) applies to the whole tree, an
//!   ignored directory is skipped entirely; `templates/.?*` is always ignored;
//! * a UTF-8 BOM at the start of any file is dropped; files above Helm's 5 MiB limit are refused;
//! * `Chart.yaml` is re-serialised from the (validated, sanitised, overridden) metadata;
//! * `requirements.yaml` is merged into the metadata (its `dependencies` replace Chart.yaml's, as
//!   Helm's loader does for every chart); apiVersion v2: it is dropped and `requirements.lock`
//!   becomes `Chart.lock` (re-serialised as Helm's `yaml.Marshal(Lock)`); apiVersion v1 (Helm 2):
//!   both stay as files, Chart.yaml has no `dependencies` and no Chart.lock is written;
//! * `values.yaml` must be what Helm can load: every document a mapping or empty;
//! * in `charts/`: `*.prov` files are kept, entries starting with `_` or `.` are dropped, a
//!   subchart directory must hold a valid Chart.yaml, is loaded by these same rules and is stored
//!   under its **chart name** (`charts/<name>/`), not its directory name, as Helm stores it.
//!   **Difference:** a `charts/*.tgz` subchart is stored as the `.tgz` it is (Helm expands it into
//!   a directory); both forms load the same.
//!
//! Symbolic links: Helm follows every link. appkit follows links that resolve **inside** the chart
//! directory (stored as regular files with the target's content) and refuses links that point
//! outside it, dangling links and loops: a chart must not pick up files from the machine it is
//! packaged on. FIFOs, sockets and devices are refused without being opened (unless ignored).
//!
//! Reproducibility: only file entries (no directory entries, like Helm); order `Chart.yaml`,
//! `Chart.lock`, `values.yaml`, `values.schema.json`, then everything else sorted by path bytes;
//! ustar headers with mode 0644, uid/gid 0, empty user/group names, mtime `SOURCE_DATE_EPOCH` or 0;
//! gzip header with mtime 0, no name, OS byte 255 ("unknown"), fixed compression level.
//! Nothing of the host (umask, owner, file times, timezone, directory order) reaches the bytes.
//!
//! Reading an archive back (`read_tgz`, `extract_safely`) lives in `unpack.rs`.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use flate2::{Compression, GzBuilder};
use sha2::{Digest, Sha256};

use super::ignore::Rules;
use super::metadata::{ChartMetadata, CHART_FILE};
use super::ChartError;

pub use super::unpack::{extract_safely, read_tgz, ArchiveContents, ArchiveFile};

/// Helm's `MaxDecompressedFileSize`: the largest single file a chart may hold.
pub const MAX_FILE_SIZE: u64 = 5 * 1024 * 1024;

/// The files that come first, in this order.
const FIRST: [&str; 4] = [
    CHART_FILE,
    "Chart.lock",
    "values.yaml",
    "values.schema.json",
];

#[derive(Debug, Clone, Default)]
pub struct PackageOptions {
    /// `--version`: replaces `version` in Chart.yaml.
    pub version: Option<String>,
    /// `--app-version`: replaces `appVersion` in Chart.yaml.
    pub app_version: Option<String>,
    /// Seconds since the epoch for every entry's mtime (`SOURCE_DATE_EPOCH`); `None` → 0.
    pub source_date_epoch: Option<u64>,
}

/// A packaged chart, not yet written anywhere.
#[derive(Debug, Clone)]
pub struct Packaged {
    /// The `.tgz` bytes.
    pub bytes: Vec<u8>,
    /// Lowercase hex sha256 of `bytes`.
    pub sha256: String,
    /// `<name>-<version>.tgz`.
    pub file_name: String,
    /// The metadata as written into the archive (overrides applied).
    pub metadata: ChartMetadata,
    /// Entry paths in archive order, relative to the `<name>/` prefix.
    pub files: Vec<String>,
}

/// `SOURCE_DATE_EPOCH` from the environment: unset or empty → `None`.
pub fn source_date_epoch_from_env() -> Result<Option<u64>, ChartError> {
    match std::env::var("SOURCE_DATE_EPOCH") {
        Ok(v) if v.trim().is_empty() => Ok(None),
        Ok(v) => v
            .trim()
            .parse::<u64>()
            .map(Some)
            .map_err(|_| ChartError::BadSourceDateEpoch(v)),
        Err(std::env::VarError::NotPresent) => Ok(None),
        Err(std::env::VarError::NotUnicode(v)) => {
            Err(ChartError::BadSourceDateEpoch(v.to_string_lossy().into()))
        }
    }
}

/// Package `chart_dir` into a reproducible chart archive.
pub fn package(chart_dir: &Path, opts: &PackageOptions) -> Result<Packaged, ChartError> {
    let root = fs::canonicalize(chart_dir).map_err(|source| ChartError::Io {
        path: chart_dir.into(),
        source,
    })?;
    if !root.is_dir() {
        return Err(ChartError::Io {
            path: chart_dir.into(),
            source: std::io::Error::other("not a directory"),
        });
    }
    // Chart.yaml first: it must exist and be valid before anything else is read.
    let mut metadata = ChartMetadata::load(&root).map_err(|e| relabel(e, &root, chart_dir))?;
    if let Some(v) = &opts.version {
        metadata.set_version(v);
    }
    if let Some(v) = &opts.app_version {
        metadata.set_app_version(v);
    }
    metadata
        .validate()
        .map_err(|e| relabel(e, &root, chart_dir))?;

    let rules = Rules::for_chart(&root).map_err(|e| relabel(e, &root, chart_dir))?;
    let mut walker = Walker {
        root: &root,
        shown: chart_dir,
        rules: &rules,
        files: Vec::new(),
        stack: Vec::new(),
        hard_links: BTreeMap::new(),
    };
    walker.walk(&root, "")?;
    walker.check_hard_links()?;
    let files = walker.files;

    if !files.iter().any(|(n, _)| n == CHART_FILE) {
        return Err(ChartError::BadChartsEntry {
            path: chart_dir.join(CHART_FILE),
            message: "Chart.yaml is excluded by .helmignore; Helm cannot load a chart without it"
                .into(),
        });
    }
    let (metadata, present, mut files) = load_level(files, metadata, chart_dir)?;
    let missing: Vec<String> = metadata
        .dependencies
        .iter()
        .filter(|d| !present.contains(&d.name))
        .map(|d| d.name.clone())
        .collect();
    if !missing.is_empty() {
        return Err(ChartError::MissingDependencies {
            path: chart_dir.join("charts"),
            names: missing,
        });
    }
    files.sort_by(|a, b| order_key(&a.0).cmp(&order_key(&b.0)));

    let mtime = opts.source_date_epoch.unwrap_or(0);
    let bytes = write_tgz(&metadata.name, &files, mtime).map_err(|source| ChartError::Io {
        path: chart_dir.into(),
        source,
    })?;
    let sha256 = hex::encode(Sha256::digest(&bytes));
    Ok(Packaged {
        bytes,
        sha256,
        file_name: metadata.archive_file_name(),
        files: files.into_iter().map(|(n, _)| n).collect(),
        metadata,
    })
}

/// Errors name the chart directory as the user typed it, not its canonical path.
fn relabel(e: ChartError, root: &Path, shown: &Path) -> ChartError {
    let fix = |p: PathBuf| match p.strip_prefix(root) {
        Ok(rest) => shown.join(rest),
        Err(_) => p,
    };
    match e {
        ChartError::Io { path, source } => ChartError::Io {
            path: fix(path),
            source,
        },
        ChartError::MissingChartYaml { .. } => ChartError::MissingChartYaml { dir: shown.into() },
        ChartError::Yaml {
            path,
            line,
            column,
            message,
        } => ChartError::Yaml {
            path: fix(path),
            line,
            column,
            message,
        },
        ChartError::Invalid { path, problems } => ChartError::Invalid {
            path: fix(path),
            problems,
        },
        ChartError::IgnoreRule {
            path,
            line,
            rule,
            message,
        } => ChartError::IgnoreRule {
            path: fix(path),
            line,
            rule,
            message,
        },
        other => other,
    }
}

fn order_key(name: &str) -> (usize, &[u8]) {
    let rank = FIRST.iter().position(|f| *f == name).unwrap_or(FIRST.len());
    (rank, name.as_bytes())
}

/// One chart of the tree as Helm's loader and `chartutil.Save` treat it: `requirements.yaml`
/// merged into the metadata (both apiVersions), `values.yaml` checked, the lock written as
/// `Chart.lock` (v2: `requirements.lock` becomes it; v1: the requirements files stay and no
/// Chart.lock is written), Chart.yaml re-serialised, `values.schema.json` checked, and every
/// subchart directory loaded the same way and stored under its chart name. Returns the metadata,
/// the names of the subcharts present, and the files.
#[allow(clippy::type_complexity)]
fn load_level(
    files: Vec<(String, Vec<u8>)>,
    mut metadata: ChartMetadata,
    shown: &Path,
) -> Result<(ChartMetadata, BTreeSet<String>, Vec<(String, Vec<u8>)>), ChartError> {
    let find = |name: &str| {
        files
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, d)| d.clone())
    };
    if let Some(req) = find("requirements.yaml") {
        metadata.merge_requirements(&req, &shown.join("requirements.yaml"))?;
        metadata.validate()?;
    }
    if let Some(values) = find("values.yaml") {
        super::values_check::check_values(&values, &shown.join("values.yaml"))?;
    }
    if let Some(data) = find("values.schema.json") {
        if let Err(e) = serde_json::from_slice::<serde_json::Value>(&data) {
            return Err(ChartError::BadSchema {
                path: shown.join("values.schema.json"),
                message: e.to_string(),
            });
        }
    }
    let v1 = metadata.api_version == super::metadata::API_V1;
    let lock = if v1 {
        None
    } else if let Some(l) = find("requirements.lock") {
        Some(super::goenc::lock_yaml(
            &l,
            &shown.join("requirements.lock"),
        )?)
    } else {
        find("Chart.lock")
    };
    let mut present = BTreeSet::new();
    let mut subcharts: BTreeMap<String, Vec<(String, Vec<u8>)>> = BTreeMap::new();
    let mut keep = Vec::with_capacity(files.len());
    for (name, data) in files {
        match name.as_str() {
            CHART_FILE => {
                keep.push((name, metadata.to_chart_yaml()));
                continue;
            }
            "Chart.lock" => continue,
            "requirements.yaml" | "requirements.lock" if !v1 => continue,
            _ => {}
        }
        let Some(rest) = name.strip_prefix("charts/") else {
            keep.push((name, data));
            continue;
        };
        if name.ends_with(".prov") {
            keep.push((name, data));
            continue;
        }
        let cname = rest.split('/').next().unwrap_or("");
        if cname.starts_with('_') || cname.starts_with('.') {
            continue; // Helm skips these entirely
        }
        if let Some((dir, inner)) = rest.split_once('/') {
            subcharts
                .entry(dir.to_string())
                .or_default()
                .push((inner.to_string(), data));
            continue;
        }
        if !cname.ends_with(".tgz") {
            return Err(ChartError::BadChartsEntry {
                path: shown.join(&name),
                message:
                    "only subchart directories, .tgz subcharts and .prov files may be in charts/"
                        .into(),
            });
        }
        let sub = super::unpack::read_tgz(&data).map_err(|e| ChartError::BadChartsEntry {
            path: shown.join(&name),
            message: format!("not a usable chart archive: {e}"),
        })?;
        present.insert(sub.metadata.name);
        keep.push((name, data));
    }
    if let Some(l) = lock {
        keep.push(("Chart.lock".into(), l));
    }
    let mut stored_as: BTreeMap<String, String> = BTreeMap::new();
    for (dir, sub_files) in subcharts {
        let sub_shown = shown.join("charts").join(&dir);
        let Some((_, data)) = sub_files.iter().find(|(n, _)| n == CHART_FILE) else {
            return Err(ChartError::BadChartsEntry {
                path: sub_shown,
                message: "a subchart directory must contain a Chart.yaml".into(),
            });
        };
        let sub = ChartMetadata::from_yaml(data, &sub_shown.join(CHART_FILE))?;
        sub.validate()?;
        let (sub, _, sub_files) = load_level(sub_files, sub, &sub_shown)?;
        if let Some(other) = stored_as.insert(sub.name.clone(), dir.clone()) {
            return Err(ChartError::BadChartsEntry {
                path: sub_shown,
                message: format!(
                    "charts/{other} and charts/{dir} are both the chart {:?}; Helm stores a \
                     subchart under its chart name, so one would overwrite the other",
                    sub.name
                ),
            });
        }
        for (n, d) in sub_files {
            keep.push((format!("charts/{}/{n}", sub.name), d));
        }
        present.insert(sub.name);
    }
    Ok((metadata, present, keep))
}

struct Walker<'a> {
    root: &'a Path,
    shown: &'a Path,
    rules: &'a Rules,
    files: Vec<(String, Vec<u8>)>,
    /// Canonical directories being walked (symlink loop detection).
    stack: Vec<PathBuf>,
    /// Regular files with more than one name: (device, inode) → (link count, names seen in the
    /// chart, first name seen). A file whose names are not all in the chart is a hard link out.
    hard_links: BTreeMap<(u64, u64), (u64, u64, String)>,
}

impl Walker<'_> {
    fn walk(&mut self, dir: &Path, rel: &str) -> Result<(), ChartError> {
        let canonical = fs::canonicalize(dir).map_err(|source| self.io(rel, source))?;
        if self.stack.contains(&canonical) {
            return Err(ChartError::SymlinkLoop {
                path: self.shown.join(rel),
            });
        }
        self.stack.push(canonical);
        let mut names = Vec::new();
        for entry in fs::read_dir(dir).map_err(|source| self.io(rel, source))? {
            let entry = entry.map_err(|source| self.io(rel, source))?;
            let name = entry.file_name().into_string().map_err(|n| {
                self.io(
                    rel,
                    std::io::Error::new(
                        std::io::ErrorKind::InvalidData,
                        format!("file name {n:?} is not UTF-8"),
                    ),
                )
            })?;
            names.push(name);
        }
        names.sort();
        for name in names {
            let child_rel = if rel.is_empty() {
                name.clone()
            } else {
                format!("{rel}/{name}")
            };
            let path = dir.join(&name);
            let lmeta =
                fs::symlink_metadata(&path).map_err(|source| self.io(&child_rel, source))?;
            let meta = if lmeta.file_type().is_symlink() {
                let target = fs::canonicalize(&path).map_err(|source| ChartError::BadSymlink {
                    path: self.shown.join(&child_rel),
                    source,
                })?;
                let meta = fs::metadata(&target).map_err(|source| self.io(&child_rel, source))?;
                if self.rules.ignore(&child_rel, meta.is_dir()) {
                    continue;
                }
                if !target.starts_with(self.root) {
                    return Err(ChartError::SymlinkOutside {
                        path: self.shown.join(&child_rel),
                        target,
                    });
                }
                meta
            } else {
                if self.rules.ignore(&child_rel, lmeta.is_dir()) {
                    continue;
                }
                #[cfg(unix)]
                {
                    use std::os::unix::fs::MetadataExt;
                    if lmeta.is_file() && lmeta.nlink() > 1 {
                        let e = self
                            .hard_links
                            .entry((lmeta.dev(), lmeta.ino()))
                            .or_insert((lmeta.nlink(), 0, child_rel.clone()));
                        e.1 += 1;
                    }
                }
                lmeta
            };
            let ft = meta.file_type();
            if ft.is_dir() {
                self.walk(&path, &child_rel)?;
            } else if ft.is_file() {
                if meta.len() > super::archive::MAX_FILE_SIZE {
                    return Err(ChartError::FileTooLarge {
                        path: self.shown.join(&child_rel),
                        size: meta.len(),
                        limit: MAX_FILE_SIZE,
                    });
                }
                let mut data = crate::fsutil::read_limited(&path, MAX_FILE_SIZE)
                    .map_err(|source| self.io(&child_rel, source))?;
                if data.starts_with(b"\xEF\xBB\xBF") {
                    data.drain(..3);
                }
                self.files.push((child_rel, data));
            } else {
                return Err(ChartError::Irregular {
                    path: self.shown.join(&child_rel),
                    kind: kind_of(&ft),
                });
            }
        }
        self.stack.pop();
        Ok(())
    }

    /// Refuse a hard link whose other names are outside the chart: its content belongs to a file
    /// elsewhere on the machine (the same refusal as a symlink out). A (.helmignore'd) name inside
    /// the chart counts as outside, since the walk does not see it.
    fn check_hard_links(&self) -> Result<(), ChartError> {
        for (links, seen, rel) in self.hard_links.values() {
            if seen < links {
                return Err(ChartError::HardLinkOutside {
                    path: self.shown.join(rel),
                    links: *links,
                    outside: links - seen,
                });
            }
        }
        Ok(())
    }

    fn io(&self, rel: &str, source: std::io::Error) -> ChartError {
        ChartError::Io {
            path: self.shown.join(rel),
            source,
        }
    }
}

fn kind_of(ft: &fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if ft.is_fifo() {
            return "FIFO (named pipe)";
        }
        if ft.is_socket() {
            return "socket";
        }
        if ft.is_block_device() {
            return "block device";
        }
        if ft.is_char_device() {
            return "character device";
        }
    }
    let _ = ft;
    "special file"
}

/// The tar + gzip encoding, fixed in every byte that could vary.
fn write_tgz(name: &str, files: &[(String, Vec<u8>)], mtime: u64) -> std::io::Result<Vec<u8>> {
    let gz = GzBuilder::new()
        .mtime(0)
        .operating_system(255)
        .write(Vec::new(), Compression::new(6));
    let mut tar = tar::Builder::new(gz);
    for (path, data) in files {
        let mut h = tar::Header::new_ustar();
        h.set_entry_type(tar::EntryType::Regular);
        h.set_mode(0o644);
        h.set_uid(0);
        h.set_gid(0);
        h.set_mtime(mtime);
        h.set_size(data.len() as u64);
        h.set_username("")?;
        h.set_groupname("")?;
        tar.append_data(&mut h, format!("{name}/{path}"), data.as_slice())?;
    }
    let mut gz = tar.into_inner()?;
    gz.flush()?;
    gz.finish()
}

#[cfg(test)]
#[path = "archive_tests.rs"]
mod tests;
