//! The render cache of `plan`: content-addressed (a file's name is its render key, so an entry is
//! never stale, only unused), in `$XDG_CACHE_HOME/appkit`, else `~/.cache/appkit`.
//!
//! - Entries are written atomically (a temp file in the same directory, renamed): a killed run
//!   leaves a temp file that the next run sweeps, never a partial entry; two runs writing the same
//!   key write the same bytes.
//! - Files are 0600 and what is stored is already masked (`plan::manifest` masks Secret data and
//!   secret-looking values before an entry is made).
//! - Size-capped (`APPKIT_CACHE_MAX`, bytes with an optional K/M/G suffix; default 256M) with
//!   least-recently-used eviction: a hit refreshes the entry's mtime; after a run's writes, the
//!   oldest entries go until the cache is under 80 % of the cap.
//! - Pulled charts are kept beside the renders (`charts/<manifest digest>/`), extracted once;
//!   a run's temp files (the base revision) are in `tmp/`, swept when their process is gone.
//!
//! Owns: where the cache is, its entries' lifecycle. Does not own: what a key covers
//! (`actions::plan`) or what an entry holds (`plan::manifest`).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::SystemTime;

/// The default size cap.
pub const DEFAULT_MAX: u64 = 256 << 20;

#[derive(Debug)]
pub struct Cache {
    dir: PathBuf,
    max: u64,
    hits: AtomicU64,
    writes: AtomicU64,
}

/// `$XDG_CACHE_HOME/appkit`, else `~/.cache/appkit`.
pub fn default_dir() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| {
            std::env::var_os("HOME")
                .filter(|v| !v.is_empty())
                .map(|h| PathBuf::from(h).join(".cache"))
        })?;
    Some(base.join("appkit"))
}

/// `APPKIT_CACHE_MAX`: bytes, or with a K, M or G suffix (powers of 1024).
pub fn parse_size(s: &str) -> Option<u64> {
    let s = s.trim();
    let (num, mult) = match s.char_indices().last()? {
        (i, 'K' | 'k') => (&s[..i], 1u64 << 10),
        (i, 'M' | 'm') => (&s[..i], 1 << 20),
        (i, 'G' | 'g') => (&s[..i], 1 << 30),
        _ => (s, 1),
    };
    num.trim().parse::<u64>().ok()?.checked_mul(mult)
}

impl Cache {
    /// Open (create) the cache at `dir`, mode 0700.
    pub fn open(dir: &Path) -> std::io::Result<Cache> {
        for sub in ["renders", "charts", "tmp"] {
            std::fs::create_dir_all(dir.join(sub))?;
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700));
        }
        let max = std::env::var("APPKIT_CACHE_MAX")
            .ok()
            .and_then(|v| parse_size(&v))
            .unwrap_or(DEFAULT_MAX);
        crate::fsutil::sweep_stale(&dir.join("renders"));
        crate::fsutil::sweep_stale(&dir.join("charts"));
        crate::fsutil::sweep_stale(&dir.join("tmp"));
        Ok(Cache {
            dir: dir.to_path_buf(),
            max,
            hits: AtomicU64::new(0),
            writes: AtomicU64::new(0),
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Where a run keeps its temp files (the base revision, values files for Helm).
    pub fn scratch_dir(&self) -> PathBuf {
        self.dir.join("tmp")
    }

    pub fn hits(&self) -> u64 {
        self.hits.load(Ordering::Relaxed)
    }

    fn entry(&self, key: &str) -> PathBuf {
        self.dir.join("renders").join(format!("{key}.json"))
    }

    /// The entry of `key`, refreshed as recently used.
    pub fn get(&self, key: &str) -> Option<Vec<u8>> {
        let path = self.entry(key);
        let bytes = std::fs::read(&path).ok()?;
        if let Ok(f) = std::fs::File::options().write(true).open(&path) {
            let _ = f.set_modified(SystemTime::now());
        }
        self.hits.fetch_add(1, Ordering::Relaxed);
        Some(bytes)
    }

    /// Store `bytes` under `key` (0600, atomically). A failure is not the plan's failure: the
    /// entry is simply not there next time.
    pub fn put(&self, key: &str, bytes: &[u8]) -> std::io::Result<()> {
        let dir = self.dir.join("renders");
        let mut tmp = tempfile::Builder::new()
            .prefix(&crate::fsutil::temp_prefix("tmp"))
            .tempfile_in(&dir)?; // 0600
        tmp.write_all(bytes)?;
        tmp.as_file().sync_data()?;
        tmp.persist(self.entry(key)).map_err(|e| e.error)?;
        self.writes.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    /// Where the chart with manifest `digest` is extracted (it may not exist yet).
    pub fn chart_dir(&self, digest: &str) -> PathBuf {
        self.dir.join("charts").join(digest.replace(':', "-"))
    }

    /// Evict least-recently-used renders until the cache is under 80 % of its cap (only after
    /// this run wrote something). Returns the number of entries removed.
    pub fn evict(&self) -> usize {
        if self.writes.load(Ordering::Relaxed) == 0 {
            return 0;
        }
        let Ok(entries) = std::fs::read_dir(self.dir.join("renders")) else {
            return 0;
        };
        let mut files: Vec<(SystemTime, u64, PathBuf)> = entries
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().ends_with(".json"))
            .filter_map(|e| {
                let m = e.metadata().ok()?;
                Some((m.modified().ok()?, m.len(), e.path()))
            })
            .collect();
        let mut total: u64 = files.iter().map(|f| f.1).sum();
        if total <= self.max {
            return 0;
        }
        files.sort();
        let target = self.max / 10 * 8;
        let mut removed = 0;
        for (_, len, path) in files {
            if total <= target {
                break;
            }
            if std::fs::remove_file(&path).is_ok() {
                total -= len;
                removed += 1;
            }
        }
        removed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("1024"), Some(1024));
        assert_eq!(parse_size("2K"), Some(2048));
        assert_eq!(parse_size("3M"), Some(3 << 20));
        assert_eq!(parse_size("1g"), Some(1 << 30));
        assert_eq!(parse_size("x"), None);
        assert_eq!(parse_size(""), None);
    }

    #[test]
    fn entries_are_private_and_evicted_oldest_first() {
        let d = tempfile::tempdir().unwrap();
        let c = Cache::open(d.path()).unwrap();
        let c = Cache { max: 3000, ..c };
        for i in 0..5 {
            c.put(&format!("k{i}"), &[b'x'; 1000]).unwrap();
            let t = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1000 + i);
            std::fs::File::options()
                .write(true)
                .open(c.entry(&format!("k{i}")))
                .unwrap()
                .set_modified(t)
                .unwrap();
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(c.entry("k0"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        // k1 used recently: it survives, the oldest others go.
        assert!(c.get("k1").is_some());
        assert_eq!(c.evict(), 3);
        assert!(c.get("k1").is_some());
        assert!(c.get("k4").is_some());
        assert!(c.get("k0").is_none());
    }
}
