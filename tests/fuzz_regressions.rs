//! Replays the inputs the fuzz targets (`fuzz/`) found problems with, through the real binary:
//! `tests/fixtures/fuzz-regressions/<target>/<name>` is fed to the command that reads that kind
//! of input, which must answer with exit 0, 1 or 2 — never a panic or a hang.
//!
//! | target | replayed as |
//! |---|---|
//! | `yaml_positions`, `values_validate` | `validate --chart chart/ <seed as values.yaml>` |
//! | `helmignore` | `package` of a chart whose `.helmignore` is the seed (rules part, before a NUL) |
//! | `chart_archive` | `push <seed as .tgz> oci-layout:DIR` |
//! | `oci_reference` | `versions <seed>` (with `--plain-http`, 1 s timeouts, no retries) |

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::{appkit, chart_dir, repo_root};
use crate::hostile::measure;

fn seeds(target: &str) -> Vec<PathBuf> {
    let dir = repo_root()
        .join("tests/fixtures/fuzz-regressions")
        .join(target);
    // Every target has seeds: a missing or empty directory fails instead of replaying nothing.
    let mut v: Vec<PathBuf> = fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    v.retain(|p| p.file_name().is_some_and(|n| n != "README.md"));
    v.sort();
    assert!(!v.is_empty(), "no seeds in {}", dir.display());
    v
}

fn replay(case: &str, cmd: &Command) {
    let r = measure(case, cmd);
    assert!(
        matches!(r.code, Some(0..=2)),
        "{case}: exit {:?}\n{}",
        r.code,
        r.stderr
    );
    assert!(!r.stderr.contains("panicked"), "{case}: {}", r.stderr);
}

#[test]
fn fuzz_regressions_replay_without_panics() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let mut replayed = 0;
    for target in ["yaml_positions", "values_validate"] {
        for seed in seeds(target) {
            let values = t.join("values.yaml");
            fs::copy(&seed, &values).unwrap();
            let mut c = appkit();
            c.current_dir(t)
                .arg("validate")
                .arg("--chart")
                .arg(chart_dir())
                .arg(&values);
            replay(&format!("{target}/{}", name(&seed)), &c);
            replayed += 1;
        }
    }
    for seed in seeds("helmignore") {
        let chart = t.join(format!("hi-{}", name(&seed)));
        crate::hostile::chart_with(&chart, b"apiVersion: v2\nname: demo\nversion: 1.0.0\n");
        let bytes = fs::read(&seed).unwrap();
        let rules = bytes.split(|b| *b == 0).next().unwrap_or_default();
        fs::write(chart.join(".helmignore"), rules).unwrap();
        let mut c = appkit();
        c.arg("package").arg(&chart).arg("-d").arg(t.join("out"));
        replay(&format!("helmignore/{}", name(&seed)), &c);
        replayed += 1;
    }
    for seed in seeds("chart_archive") {
        let layout = t.join(format!("layout-{}", name(&seed)));
        let mut c = appkit();
        c.arg("push")
            .arg(&seed)
            .arg(format!("oci-layout:{}", layout.display()));
        replay(&format!("chart_archive/{}", name(&seed)), &c);
        replayed += 1;
    }
    for seed in seeds("oci_reference") {
        let text = String::from_utf8_lossy(&fs::read(&seed).unwrap()).into_owned();
        let mut c = appkit();
        c.arg("versions")
            .arg(text.trim_end_matches('\n'))
            .args(["--plain-http", "--retries", "0", "--connect-timeout", "1"])
            .args(["--request-timeout", "1"]);
        replay(&format!("oci_reference/{}", name(&seed)), &c);
        replayed += 1;
    }
    assert!(
        replayed > 0,
        "no seeds under tests/fixtures/fuzz-regressions"
    );
}

fn name(p: &Path) -> String {
    p.file_name().unwrap().to_string_lossy().into_owned()
}
