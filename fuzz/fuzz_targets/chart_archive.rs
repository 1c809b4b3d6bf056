//! The chart archive reader: any bytes as a `.tgz` → contents or an error, never a panic, with the
//! size caps; what it accepts has no `..`, absolute or empty path, and its Chart.yaml is then
//! validated. Also the safe extractor on what the reader accepts: nothing lands outside the
//! destination.
#![no_main]

use std::path::Path;

use appkit::chart;
use libfuzzer_sys::fuzz_target;

fn walk(root: &Path, dir: &Path) {
    for e in std::fs::read_dir(dir).unwrap() {
        let e = e.unwrap();
        let p = e.path();
        let meta = std::fs::symlink_metadata(&p).unwrap();
        assert!(
            !meta.file_type().is_symlink(),
            "extracted a symlink: {}",
            p.display()
        );
        assert!(
            p.starts_with(root),
            "{} outside {}",
            p.display(),
            root.display()
        );
        if meta.is_dir() {
            walk(root, &p);
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(contents) = chart::read_tgz(data) else {
        return;
    };
    for f in contents.files.iter().map(|f| f.path.as_str()) {
        assert!(!f.is_empty() && !f.starts_with('/'), "{f:?}");
        assert!(!f.split('/').any(|c| c == ".."), "{f:?}");
    }
    let _ = contents.metadata.validate();
    let parent = tempfile::tempdir().unwrap();
    let dest = parent.path().join("out");
    std::fs::create_dir(&dest).unwrap();
    if chart::extract_safely(data, &dest).is_ok() {
        walk(&dest, &dest);
    }
    let stray: Vec<_> = std::fs::read_dir(parent.path()).unwrap().collect();
    assert_eq!(stray.len(), 1, "files next to the destination");
});
