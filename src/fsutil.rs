//! Atomic file writes: every artifact appkit writes goes to a temp file in the target directory,
//! then is renamed over the destination, so an interrupted or killed run leaves the old file or the
//! new one, never a partial file.
//!
//! The data is not fsynced: rename is atomic against a killed process, which is the failure a CLI
//! run in CI meets; durability across a power loss is left to the OS, as `helm package` and most
//! build tools do. (An fsync per file cost 20–120 ms on a loaded disk — more than packaging itself.)
//!
//! A killed run can leave its temp file (`.appkit-tmp-<pid>-…`) or staging directory
//! (`.appkit-untar-<pid>-…`, `.appkit-new-<pid>-…`) behind. The next run that writes into the same
//! directory removes those whose process is gone ([`sweep_stale`]); the pid in the name keeps it from
//! touching a concurrent run's files.
//!
//! Locks: [`FileLock`] is an exclusive advisory lock (`flock`) on a lock file that exists only while
//! it is held, for the read-modify-write steps that two runs must not interleave (an OCI layout's
//! `index.json`, a render's output directory). Directories are switched in one step by
//! [`replace_dir`] (`renameat2(RENAME_EXCHANGE)` where the kernel and file system have it).
//!
//! Bounded reads: [`read_limited`] reads a user file only when it is a regular file (a FIFO or a
//! device would block or never end) and no larger than a limit, so a hostile path cannot hang a
//! run or exhaust memory.
//!
//! Confinement: [`confined`] says whether a path found under a directory of the platform repo
//! (apps, components, templates, the repo itself for `appkit.yaml`/`appkit.lock`) stays inside it
//! once every symbolic link on the way is followed — without opening anything, so a link to
//! `~/.docker/config.json` is refused before a byte of it is read.

use std::collections::HashSet;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

/// The kinds of temp entries appkit creates; each is named `.appkit-<kind>-<pid>-<random>`.
const TEMP_KINDS: [&str; 3] = ["tmp", "untar", "new"];

/// A temp entry older than this is stale even when its pid is alive (pids are reused): no write
/// appkit does takes anywhere near this long.
const STALE_AFTER: Duration = Duration::from_secs(60 * 60);

/// The prefix for a temp entry of `kind` made by this process.
pub fn temp_prefix(kind: &str) -> String {
    debug_assert!(TEMP_KINDS.contains(&kind));
    format!(".appkit-{kind}-{}-", std::process::id())
}

/// Remove temp entries that killed appkit runs left in `dir`: those whose process no longer runs,
/// and any older than an hour. Each directory is swept once per process; failures are ignored
/// (a leftover is untidy, not wrong). Returns how many entries were removed.
pub fn sweep_stale(dir: &Path) -> usize {
    static SWEPT: Mutex<Option<HashSet<PathBuf>>> = Mutex::new(None);
    {
        let mut swept = SWEPT.lock().unwrap_or_else(|e| e.into_inner());
        if !swept
            .get_or_insert_with(HashSet::new)
            .insert(dir.to_path_buf())
        {
            return 0;
        }
    }
    let Ok(entries) = fs::read_dir(dir) else {
        return 0;
    };
    let mut removed = 0;
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name.to_str().and_then(temp_entry_pid) else {
            continue;
        };
        let Ok(meta) = entry.path().symlink_metadata() else {
            continue;
        };
        let old = meta
            .modified()
            .ok()
            .and_then(|m| SystemTime::now().duration_since(m).ok())
            .is_some_and(|age| age > STALE_AFTER);
        let gone = pid.is_some_and(|p| p != std::process::id() && process_gone(p));
        if !(old || gone) {
            continue;
        }
        let path = entry.path();
        let ok = if meta.is_dir() {
            fs::remove_dir_all(&path).is_ok()
        } else {
            fs::remove_file(&path).is_ok()
        };
        removed += ok as usize;
    }
    removed
}

/// For a name `.appkit-<kind>-<pid>-…`, `Some(Some(pid))`; for an older `.appkit-<kind>-…` without
/// a pid, `Some(None)` (removed by age only); `None` for anything else.
fn temp_entry_pid(name: &str) -> Option<Option<u32>> {
    let rest = name.strip_prefix(".appkit-")?;
    let (kind, rest) = rest.split_once('-')?;
    if !TEMP_KINDS.contains(&kind) {
        return None;
    }
    Some(
        rest.split_once('-')
            .and_then(|(pid, _)| pid.parse::<u32>().ok()),
    )
}

/// True when no process `pid` exists. Only answerable with /proc; without it the age rule decides.
fn process_gone(pid: u32) -> bool {
    let proc = Path::new("/proc");
    proc.join("self").exists() && !proc.join(pid.to_string()).exists()
}

/// Write `bytes` to `path` atomically (temp file in the same directory + rename).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    fs::create_dir_all(dir)?;
    sweep_stale(dir);
    let mut tmp = tempfile::Builder::new()
        .prefix(&temp_prefix("tmp"))
        .tempfile_in(dir)?;
    tmp.write_all(bytes)?;
    // Keep the file mode the user would get from a normal create (tempfile uses 0600).
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = match fs::metadata(path) {
            Ok(m) => m.permissions().mode() & 0o777,
            Err(_) => 0o644 & !current_umask(),
        };
        fs::set_permissions(tmp.path(), fs::Permissions::from_mode(mode))?;
    }
    before_rename(path)?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// An exclusive advisory lock (`flock`) on the file at a path, held until dropped.
///
/// The lock file exists only while it is held: it is created on [`acquire`](FileLock::acquire) and
/// removed (still locked) on drop, so nothing is left to commit or to list. A waiter may therefore
/// lock a file that its holder has just removed; after locking, it checks that the file it holds
/// is still the one at the path, and starts over when not. A killed holder leaves the file behind
/// (the kernel releases the lock): it is simply locked again by the next run.
///
/// Advisory: it orders appkit runs among themselves (on a local file system; `flock` over NFS
/// depends on the server). Without Unix there is no lock.
#[derive(Debug)]
pub struct FileLock {
    path: PathBuf,
    _file: fs::File,
}

impl FileLock {
    /// Wait for the lock at `path` (its directory must exist) and take it.
    pub fn acquire(path: &Path) -> io::Result<FileLock> {
        loop {
            let file = fs::OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .open(path)?;
            #[cfg(unix)]
            {
                use std::os::unix::fs::MetadataExt;
                lock_exclusive(&file)?;
                let held = file.metadata()?;
                match fs::metadata(path) {
                    Ok(now) if now.dev() == held.dev() && now.ino() == held.ino() => {}
                    // The previous holder removed it as it let go: this lock excludes nobody.
                    Ok(_) => continue,
                    Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                    Err(e) => return Err(e),
                }
            }
            return Ok(FileLock {
                path: path.to_path_buf(),
                _file: file,
            });
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for FileLock {
    fn drop(&mut self) {
        // Removed while still locked; the file is closed (and unlocked) right after.
        let _ = fs::remove_file(&self.path);
    }
}

#[cfg(unix)]
fn lock_exclusive(file: &fs::File) -> io::Result<()> {
    use rustix::fs::{flock, FlockOperation};
    loop {
        match flock(file, FlockOperation::LockExclusive) {
            Ok(()) => return Ok(()),
            Err(rustix::io::Errno::INTR) => continue,
            Err(e) => return Err(e.into()),
        }
    }
}

/// Put the directory `staged` in place of `dest` in one step, then remove what `dest` held. Both
/// must be on one file system (`staged` is a sibling). With `renameat2(RENAME_EXCHANGE)` (Linux)
/// `dest` always names a complete directory, the old or the new one; elsewhere, or on a file
/// system without it, the old directory is renamed aside first, and put back if the second rename
/// fails. A run killed after the switch leaves the old directory under `staged`'s name (a temp
/// entry the next run sweeps).
pub fn replace_dir(staged: &Path, dest: &Path) -> io::Result<()> {
    if fs::symlink_metadata(dest).is_err() {
        before_rename(dest)?;
        return fs::rename(staged, dest);
    }
    before_rename(dest)?;
    if !exchange(staged, dest)? {
        let aside = {
            let name = staged.file_name().unwrap_or_default().to_string_lossy();
            staged.with_file_name(format!("{name}-old"))
        };
        fs::rename(dest, &aside)?;
        if let Err(e) = fs::rename(staged, dest) {
            let _ = fs::rename(&aside, dest);
            return Err(e);
        }
        let _ = fs::remove_dir_all(&aside);
        return Ok(());
    }
    let _ = fs::remove_dir_all(staged);
    Ok(())
}

/// Swap two directory entries atomically; `Ok(false)` when this system or file system cannot.
fn exchange(a: &Path, b: &Path) -> io::Result<bool> {
    #[cfg(any(target_os = "linux", target_os = "android", target_vendor = "apple"))]
    {
        use rustix::fs::{renameat_with, RenameFlags, CWD};
        use rustix::io::Errno;
        match renameat_with(CWD, a, CWD, b, RenameFlags::EXCHANGE) {
            Ok(()) => Ok(true),
            // Not supported by this kernel or file system (macOS: ENOTSUP): the two-rename way.
            Err(e)
                if [Errno::INVAL, Errno::NOSYS, Errno::OPNOTSUPP, Errno::NOTSUP].contains(&e) =>
            {
                Ok(false)
            }
            Err(e) => Err(e.into()),
        }
    }
    #[cfg(not(any(target_os = "linux", target_os = "android", target_vendor = "apple")))]
    {
        let _ = (a, b);
        Ok(false)
    }
}

/// Test seam, the moment a kill does the most harm: the new content is complete in its temp
/// entry and not yet renamed over `dest`. Called by [`write_atomic`] and by the staging-directory
/// renames (`pull --untar`). Without the variables below it does nothing (one env lookup per
/// write, cached).
///
/// - `APPKIT_TEST_CRASH_AT_WRITE=N`: the Nth call of the process aborts it (SIGABRT: no
///   destructor runs, the temp entry stays behind, exactly as after a SIGKILL). `tests/interrupt.rs`
///   runs each command with N = 1, 2, … until a run completes, so a kill lands between every
///   write and its rename, deterministically.
/// - `APPKIT_TEST_FAIL_WRITE=<file name>`: writing a file of that name fails with an I/O error (a
///   full disk, a read-only mount) — e.g. `index.json`, to fail a push to an OCI layout after the
///   blobs are written.
/// - `APPKIT_TEST_STOP_BEFORE=<file name>`: before the first rename onto a path of that name the
///   process stops itself (SIGSTOP), holding whatever lock it holds; `tests/concurrency.rs` then
///   starts a competing run, and resumes (SIGCONT) or kills (SIGKILL) the stopped one.
pub fn before_rename(dest: &Path) -> io::Result<()> {
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    use std::sync::OnceLock;
    type Seam = (
        Option<usize>,
        Option<std::ffi::OsString>,
        Option<std::ffi::OsString>,
    );
    static SEAM: OnceLock<Seam> = OnceLock::new();
    static CALLS: AtomicUsize = AtomicUsize::new(0);
    static STOPPED: AtomicBool = AtomicBool::new(false);
    let (crash_at, fail, stop) = SEAM.get_or_init(|| {
        (
            std::env::var("APPKIT_TEST_CRASH_AT_WRITE")
                .ok()
                .and_then(|n| n.parse().ok()),
            std::env::var_os("APPKIT_TEST_FAIL_WRITE"),
            std::env::var_os("APPKIT_TEST_STOP_BEFORE"),
        )
    });
    if let Some(name) = stop {
        if dest.file_name() == Some(name.as_os_str()) && !STOPPED.swap(true, Ordering::SeqCst) {
            let _ = writeln!(
                io::stderr(),
                "appkit: APPKIT_TEST_STOP_BEFORE: stopping before {} is replaced",
                dest.display()
            );
            // kill(2) itself, not a `kill` executable: a minimal Debian has none (procps), and a
            // failed spawn went unnoticed (the process ran on instead of stopping).
            #[cfg(unix)]
            rustix::process::kill_process(
                rustix::process::getpid(),
                rustix::process::Signal::STOP,
            )?;
        }
    }
    if let Some(n) = crash_at {
        let call = CALLS.fetch_add(1, Ordering::SeqCst) + 1;
        if call == *n {
            let _ = writeln!(
                io::stderr(),
                "appkit: APPKIT_TEST_CRASH_AT_WRITE={n}: aborting before {} is replaced",
                dest.display()
            );
            std::process::abort();
        }
    }
    if let Some(name) = fail {
        if dest.file_name() == Some(name.as_os_str()) {
            return Err(io::Error::other(format!(
                "APPKIT_TEST_FAIL_WRITE: refusing to write {}",
                dest.display()
            )));
        }
    }
    Ok(())
}

/// Read `path` (symlinks followed) when it is a regular file of at most `limit` bytes. A FIFO,
/// socket, device or directory is refused before it is opened (opening a FIFO blocks); a file
/// that grows past `limit` while being read is refused too. `NotFound` passes through unchanged.
pub fn read_limited(path: &Path, limit: u64) -> io::Result<Vec<u8>> {
    use std::io::Read;
    let meta = fs::metadata(path)?;
    if !meta.is_file() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("not a regular file but {}", file_kind(&meta)),
        ));
    }
    let too_big = |len: u64| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("the file is {len} bytes or more; the limit is {limit} bytes"),
        )
    };
    if meta.len() > limit {
        return Err(too_big(meta.len()));
    }
    let mut data = Vec::with_capacity(meta.len() as usize);
    fs::File::open(path)?
        .take(limit + 1)
        .read_to_end(&mut data)?;
    if data.len() as u64 > limit {
        return Err(too_big(data.len() as u64));
    }
    Ok(data)
}

/// The hint of every [`SymlinkEscape`].
pub const SYMLINK_ESCAPE_HINT: &str = "files of the platform repo must stay inside it: replace the link by a copy of the file, or by a link to a file inside the same directory";

/// A path found under `root` that leads outside it through a symbolic link; nothing was read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.message())]
pub struct SymlinkEscape {
    /// The file that was to be read.
    pub file: PathBuf,
    /// The link on its way that leaves `root` (the file itself, or a directory above it).
    pub link: PathBuf,
    /// Where the link leads (resolved; for a dangling link, where it would lead).
    pub target: PathBuf,
    pub root: PathBuf,
}

impl SymlinkEscape {
    /// The `symlink-escapes` diagnostic (file position only: the file was not read), paths shown
    /// relative to the current directory.
    pub fn diagnostic(&self) -> crate::diagnostics::Diagnostic {
        crate::diagnostics::Diagnostic::error(crate::rules::SYMLINK_ESCAPES.code, self.message())
            .at(crate::diagnostics::Location::file_only(self.file.clone()))
            .help(SYMLINK_ESCAPE_HINT)
    }

    /// What happened, in one line (paths relative to the current directory).
    fn message(&self) -> String {
        let cwd = std::env::current_dir().unwrap_or_default();
        let shown = |p: &Path| crate::diagnostics::display_path(p, Some(&cwd));
        let file_abs = std::path::absolute(&self.file).unwrap_or_else(|_| self.file.clone());
        let what = if self.link == self.file || self.link == file_abs {
            format!("{} is a symbolic link", shown(&self.file))
        } else {
            format!(
                "{} is under {}, a symbolic link",
                shown(&self.file),
                shown(&self.link)
            )
        };
        format!(
            "{what} to {}, outside {}; it was not read",
            self.target.display(),
            shown(&self.root)
        )
    }

    /// As an error that fails the command with exit 1, carrying [`Self::diagnostic`].
    pub fn invalid(&self) -> crate::error::Invalid {
        let cwd = std::env::current_dir().unwrap_or_default();
        crate::error::Invalid::new(format!(
            "refused {}: a symbolic link out of {}",
            crate::diagnostics::display_path(&self.file, Some(&cwd)),
            crate::diagnostics::display_path(&self.root, Some(&cwd))
        ))
        .with_hint(SYMLINK_ESCAPE_HINT)
        .with_diagnostics(vec![self.diagnostic()])
    }
}

/// A [`SymlinkEscape`] as a domain error: its message, and as its source the [`Invalid`] that
/// makes the command exit 1 and carries the diagnostic (boxed: error enums stay small).
///
/// [`Invalid`]: crate::error::Invalid
#[derive(Debug, thiserror::Error)]
#[error("{escape}")]
pub struct Refused {
    pub escape: SymlinkEscape,
    #[source]
    pub invalid: crate::error::Invalid,
}

impl From<SymlinkEscape> for Box<Refused> {
    fn from(escape: SymlinkEscape) -> Self {
        Box::new(Refused {
            invalid: escape.invalid(),
            escape,
        })
    }
}

/// Whether `path`, found under `root`, stays inside `root` with every symbolic link on the way
/// followed (the whole chain: `apps/a` may itself be a link). Only links are resolved; nothing is
/// opened. A path that is not below `root` as written, or that does not exist, is not this
/// function's business (`Ok`: reading it reports what is wrong).
pub fn confined(path: &Path, root: &Path) -> Result<(), SymlinkEscape> {
    use std::path::Component;
    let escape = |link: &Path, target: PathBuf| SymlinkEscape {
        file: path.to_path_buf(),
        link: link.to_path_buf(),
        target,
        root: root.to_path_buf(),
    };
    // Compared as absolute paths (lexically: `apps/a` against `/repo/apps`).
    let (abs_path, abs_root) = match (std::path::absolute(path), std::path::absolute(root)) {
        (Ok(p), Ok(r)) => (p, r),
        _ => return Ok(()),
    };
    let Ok(rel) = abs_path.strip_prefix(&abs_root) else {
        return Ok(());
    };
    let Ok(real_root) = fs::canonicalize(root) else {
        return Ok(());
    };
    if rel.components().any(|c| c == Component::ParentDir) {
        return match fs::canonicalize(path) {
            Ok(t) if !t.starts_with(&real_root) => Err(escape(path, t)),
            _ => Ok(()),
        };
    }
    let mut at = abs_root.clone();
    for c in rel.components() {
        let Component::Normal(name) = c else { continue };
        at.push(name);
        let Ok(meta) = fs::symlink_metadata(&at) else {
            return Ok(());
        };
        if !meta.file_type().is_symlink() {
            continue;
        }
        let target = match fs::canonicalize(&at) {
            Ok(t) => t,
            // Dangling: where it would lead, without `..` (nothing to read there, but a link out
            // is refused all the same).
            Err(_) => {
                let Ok(t) = fs::read_link(&at) else {
                    return Ok(());
                };
                let dir = at.parent().map(Path::to_path_buf).unwrap_or_default();
                let dir = fs::canonicalize(&dir).unwrap_or(dir);
                let mut out = PathBuf::new();
                for c in dir.join(t).components() {
                    match c {
                        Component::ParentDir => {
                            out.pop();
                        }
                        Component::CurDir => {}
                        c => out.push(c),
                    }
                }
                out
            }
        };
        if !target.starts_with(&real_root) {
            return Err(escape(&at, target));
        }
    }
    Ok(())
}

/// [`read_limited`], as UTF-8 text.
pub fn read_to_string_limited(path: &Path, limit: u64) -> io::Result<String> {
    String::from_utf8(read_limited(path, limit)?).map_err(|e| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("not UTF-8 text ({})", e.utf8_error()),
        )
    })
}

/// The message of a serde-saphyr error without its position prefix (`error: line 3 column 7: `)
/// and without the source snippet it appends: callers report the position themselves.
pub fn yaml_error_message(display: &str) -> String {
    let first = display.lines().next().unwrap_or(display).trim();
    // A hint for the library's API, not for the user.
    let first = first
        .strip_suffix(", set DuplicateKeyPolicy in Options if acceptable")
        .unwrap_or(first);
    let rest = first.strip_prefix("error: ").unwrap_or(first);
    let rest = &budget_message(rest);
    if let Some(after) = rest.strip_prefix("line ") {
        let mut parts = after.splitn(2, ": ");
        if let (Some(pos), Some(msg)) = (parts.next(), parts.next()) {
            if pos.contains(" column ") && pos.split(" column ").all(|n| n.parse::<u64>().is_ok()) {
                return msg.to_string();
            }
        }
    }
    rest.to_string()
}

/// serde-saphyr reports a breached resource budget with a Debug dump (`budget breached: Depth {
/// depth: 65 }`); say it in words.
fn budget_message(msg: &str) -> String {
    let Some((head, dump)) = msg.split_once("budget breached: ") else {
        return msg.to_string();
    };
    let what = dump.split([' ', '{']).next().unwrap_or(dump);
    let words = match what {
        "Depth" => "nesting too deep (at most 64 levels)".to_string(),
        "Nodes" => "too many YAML nodes (at most 250000)".to_string(),
        "Aliases" => "too many aliases (at most 50000)".to_string(),
        "Events" => "too many YAML events (at most 1000000)".to_string(),
        "Documents" => "too many YAML documents (at most 1024)".to_string(),
        _ => format!("a YAML size limit was exceeded ({})", dump.trim()),
    };
    format!("{head}{words}")
}

/// A short name for what a non-regular file is, for error messages.
pub fn file_kind(meta: &fs::Metadata) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        let t = meta.file_type();
        if t.is_fifo() {
            return "a FIFO (named pipe)";
        }
        if t.is_socket() {
            return "a socket";
        }
        if t.is_char_device() || t.is_block_device() {
            return "a device file";
        }
    }
    if meta.is_dir() {
        "a directory"
    } else if meta.is_file() {
        "a regular file"
    } else {
        "a special file"
    }
}

#[cfg(unix)]
fn current_umask() -> u32 {
    // There is no way to read the umask without setting it; 0o022 is the conventional default and
    // only affects the mode of newly created files.
    0o022
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_error_message_drops_position_and_snippet() {
        assert_eq!(
            yaml_error_message(
                "error: line 1 column 11: expected mapping start\n --> <input>:1:11"
            ),
            "expected mapping start"
        );
        assert_eq!(yaml_error_message("something else"), "something else");
        assert_eq!(
            yaml_error_message("error: line 65 column 65: budget breached: Depth { depth: 65 }"),
            "nesting too deep (at most 64 levels)"
        );
    }

    #[test]
    fn links_that_leave_their_directory_are_found_without_reading() {
        use std::os::unix::fs::symlink;
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("apps");
        let outside = tmp.path().join("secret");
        fs::create_dir_all(root.join("a")).unwrap();
        fs::create_dir_all(&outside).unwrap();
        fs::write(outside.join("values.yaml"), "auth: x").unwrap();
        fs::write(root.join("a/values.yaml"), "a: 1").unwrap();
        // Inside: fine (a link to a sibling app, a link to a file in the same directory).
        symlink("../a/values.yaml", root.join("a/values.dev.yaml")).unwrap();
        assert_eq!(confined(&root.join("a/values.dev.yaml"), &root), Ok(()));
        // The file itself leads out.
        symlink(outside.join("values.yaml"), root.join("a/values.prod.yaml")).unwrap();
        let e = confined(&root.join("a/values.prod.yaml"), &root).unwrap_err();
        assert_eq!(e.link, root.join("a/values.prod.yaml"));
        assert!(e.target.ends_with("secret/values.yaml"), "{e}");
        // A directory on the way leads out.
        symlink(&outside, root.join("b")).unwrap();
        let e = confined(&root.join("b/values.yaml"), &root).unwrap_err();
        assert_eq!(
            (e.link, e.file),
            (root.join("b"), root.join("b/values.yaml"))
        );
        // Dangling, out: refused; dangling, in: reading reports it.
        symlink("/nonexistent/config.json", root.join("a/values.x.yaml")).unwrap();
        assert!(confined(&root.join("a/values.x.yaml"), &root).is_err());
        symlink("gone.yaml", root.join("a/values.y.yaml")).unwrap();
        assert_eq!(confined(&root.join("a/values.y.yaml"), &root), Ok(()));
        // `..` in the path, and paths not below the root as written.
        assert!(confined(&root.join("a/../b/values.yaml"), &root).is_err());
        assert_eq!(confined(&outside.join("values.yaml"), &root), Ok(()));
        // The root itself may be a link (configured paths may point anywhere).
        symlink(&root, tmp.path().join("apps-link")).unwrap();
        let via = tmp.path().join("apps-link");
        assert_eq!(confined(&via.join("a/values.dev.yaml"), &via), Ok(()));
        assert!(confined(&via.join("a/values.prod.yaml"), &via).is_err());
    }

    #[test]
    fn read_limited_refuses_fifos_devices_and_big_files() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        assert!(std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success());
        let e = read_limited(&fifo, 10).unwrap_err();
        assert!(e.to_string().contains("FIFO"), "{e}");
        let e = read_limited(Path::new("/dev/zero"), 10).unwrap_err();
        assert!(e.to_string().contains("device"), "{e}");
        let big = dir.path().join("big");
        fs::write(&big, b"0123456789A").unwrap();
        let e = read_limited(&big, 10).unwrap_err();
        assert!(e.to_string().contains("limit is 10 bytes"), "{e}");
        assert_eq!(read_limited(&big, 11).unwrap(), b"0123456789A");
        let e = read_limited(&dir.path().join("none"), 10).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::NotFound);
    }

    #[test]
    fn writes_and_replaces_without_leaving_temp_files() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("sub/out.txt");
        write_atomic(&p, b"one").unwrap();
        write_atomic(&p, b"two").unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"two");
        let names: Vec<_> = fs::read_dir(p.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 1, "{names:?}");
    }

    /// A reader that opened the file before it was replaced keeps reading the old content in
    /// full (rename swaps the directory entry; a truncate-then-write would change the bytes under
    /// the reader), and the new content is complete the moment the name shows it.
    #[test]
    fn an_open_handle_of_the_old_file_still_reads_the_old_content() {
        use std::io::Read;
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("chart.tgz");
        let old: Vec<u8> = (0..10_000u32).map(|i| (i % 251) as u8).collect();
        let new: Vec<u8> = (0..7_000u32).map(|i| (i % 13) as u8 + 100).collect();
        write_atomic(&p, &old).unwrap();
        let mut reader = fs::File::open(&p).unwrap();
        let mut first = vec![0; 100];
        reader.read_exact(&mut first).unwrap();
        write_atomic(&p, &new).unwrap();
        let mut rest = Vec::new();
        reader.read_to_end(&mut rest).unwrap();
        first.extend(rest);
        assert_eq!(first, old, "an open handle saw the file change under it");
        assert_eq!(fs::read(&p).unwrap(), new);
    }

    #[test]
    fn a_file_lock_excludes_a_second_holder_and_leaves_no_file() {
        use std::sync::atomic::{AtomicBool, Ordering};
        use std::sync::Arc;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(".appkit-test.lock");
        let held = Arc::new(AtomicBool::new(false));
        let first = FileLock::acquire(&path).unwrap();
        held.store(true, Ordering::SeqCst);
        let (p, h) = (path.clone(), held.clone());
        let waiter = std::thread::spawn(move || {
            let _second = FileLock::acquire(&p).unwrap();
            assert!(!h.load(Ordering::SeqCst), "both held the lock");
        });
        std::thread::sleep(Duration::from_millis(100));
        assert!(!waiter.is_finished(), "the second acquire did not wait");
        held.store(false, Ordering::SeqCst);
        drop(first);
        waiter.join().unwrap();
        assert!(!path.exists(), "the lock file is removed on release");
    }

    #[test]
    fn replace_dir_switches_a_directory_or_puts_one_in_place() {
        let dir = tempfile::tempdir().unwrap();
        let (staged, dest) = (dir.path().join(".appkit-new-1-x"), dir.path().join("env"));
        fs::create_dir_all(&staged).unwrap();
        fs::write(staged.join("a"), b"new").unwrap();
        replace_dir(&staged, &dest).unwrap();
        assert_eq!(fs::read(dest.join("a")).unwrap(), b"new");
        fs::create_dir_all(&staged).unwrap();
        fs::write(staged.join("b"), b"newer").unwrap();
        replace_dir(&staged, &dest).unwrap();
        assert!(!dest.join("a").exists() && dest.join("b").is_file());
        let names: Vec<_> = fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(names.len(), 1, "the old directory is removed");
    }

    #[test]
    fn temp_entry_names_are_recognised() {
        assert_eq!(temp_entry_pid(".appkit-tmp-123-abc"), Some(Some(123)));
        assert_eq!(temp_entry_pid(".appkit-untar-7-x"), Some(Some(7)));
        assert_eq!(temp_entry_pid(".appkit-new-7-x"), Some(Some(7)));
        assert_eq!(temp_entry_pid(".appkit-tmp-abc"), Some(None));
        assert_eq!(temp_entry_pid(".appkit-other-1-x"), None);
        assert_eq!(temp_entry_pid("appkit-tmp-1-x"), None);
        assert_eq!(temp_entry_pid("values.yaml"), None);
    }

    #[test]
    fn sweep_removes_entries_of_dead_processes_only() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        // A process that has exited: its pid is free (until reused, which the test tolerates by
        // picking the pid of a child it has reaped).
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let dead = child.id();
        child.wait().unwrap();
        let mine = std::process::id();
        fs::write(d.join(format!(".appkit-tmp-{dead}-aaa")), b"partial").unwrap();
        fs::create_dir_all(d.join(format!(".appkit-untar-{dead}-bbb/app/templates"))).unwrap();
        fs::write(d.join(format!(".appkit-tmp-{mine}-ccc")), b"in flight").unwrap();
        fs::write(d.join(".appkit-tmp-nopid"), b"recent, no pid").unwrap();
        fs::write(d.join(".appkit-mine"), b"not ours").unwrap();
        fs::write(d.join("values.yaml"), b"a: 1").unwrap();
        assert_eq!(sweep_stale(d), 2);
        let mut names: Vec<_> = fs::read_dir(d)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        let mut want = vec![
            format!(".appkit-tmp-{mine}-ccc"),
            ".appkit-tmp-nopid".to_string(),
            ".appkit-mine".to_string(),
            "values.yaml".to_string(),
        ];
        want.sort();
        assert_eq!(names, want);
        // Once per directory per process.
        fs::write(d.join(format!(".appkit-tmp-{dead}-ddd")), b"x").unwrap();
        assert_eq!(sweep_stale(d), 0);
    }
}
