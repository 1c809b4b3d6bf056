//! An app's values file through the whole validator: coalesced over the repository's chart
//! defaults (`../chart`), checked against its schema and the platform rules, diagnostics rendered
//! with source snippets (spans must fall on char boundaries). Never a panic.
#![no_main]

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use appkit::diagnostics::render_human;
use appkit::values::Validator;
use libfuzzer_sys::fuzz_target;

struct Setup {
    validator: Validator,
    dir: tempfile::TempDir,
}

fn setup() -> &'static Setup {
    static S: OnceLock<Setup> = OnceLock::new();
    S.get_or_init(|| {
        let chart = Path::new(env!("CARGO_MANIFEST_DIR")).join("../chart");
        Setup {
            validator: Validator::with_chart(&chart, None).expect("the repository's chart loads"),
            dir: tempfile::tempdir().unwrap(),
        }
    })
}

fuzz_target!(|data: &[u8]| {
    let s = setup();
    let file: PathBuf = s.dir.path().join("values.yaml");
    std::fs::write(&file, data).unwrap();
    let diags = match s.validator.coalesce("app1", &[file], None, None) {
        Ok(values) => s.validator.check(&values),
        Err(diags) => diags,
    };
    let _ = render_human(&diags, Some(s.dir.path()), false);
});
