//! `.helmignore` parsing and matching: the first line block (up to a NUL byte) is the file, the
//! rest are paths to match (one per line; a trailing `/` means a directory). Also Go's
//! `filepath.Match` port on (pattern, name) pairs. Never a panic.
#![no_main]

use std::path::Path;

use appkit::chart::ignore::{go_match, Rules};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (rules_text, paths) = text
        .split_once('\0')
        .unwrap_or((text, "a/b\ntemplates/.x\n"));
    if let Ok(mut rules) = Rules::parse(rules_text, Path::new(".helmignore")) {
        rules.add_defaults();
        for p in paths.lines().take(64) {
            let (p, dir) = match p.strip_suffix('/') {
                Some(p) => (p, true),
                None => (p, false),
            };
            let _ = rules.ignore(p, dir);
        }
    }
    for line in rules_text.lines().take(16) {
        for p in paths.lines().take(16) {
            let _ = go_match(line, p);
        }
    }
});
