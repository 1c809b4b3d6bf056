//! Three small defects of issue 16 (item 8), each pinned by a test against the real binary:
//! `publish` recording a changed repository when the digest is unchanged (a real registry),
//! `new --nodepool` with no leftover directories, and `render` warning about the uninstalls its
//! pruning causes (and `render --check` listing them).

use std::path::Path;
use std::process::Output;

use serde_json::Value;

use crate::common::registry::Registry;
use crate::common::{appkit, example_platform, run, stderr, stdout};

fn assert_exit(out: &Output, code: i32, what: &str) {
    assert_eq!(
        out.status.code(),
        Some(code),
        "{what}: expected exit {code}\nstdout:\n{}\nstderr:\n{}",
        stdout(out),
        stderr(out)
    );
    assert!(!stderr(out).contains("panicked"), "{what} panicked");
}

/// Replace `from` (which must occur) by `to` in `path`.
fn edit(path: &Path, from: &str, to: &str) {
    let text = std::fs::read_to_string(path).unwrap();
    assert!(
        text.contains(from),
        "fixture changed: {from:?} not in {text}"
    );
    std::fs::write(path, text.replacen(from, to, 1)).unwrap();
}

fn appkit_in(root: &Path, args: &[&str]) -> Output {
    let mut c = appkit();
    c.current_dir(root).args(args);
    c.env_remove("SOURCE_DATE_EPOCH")
        .env(
            "HELM_REGISTRY_CONFIG",
            "/nonexistent/appkit-test/config.json",
        )
        .env("DOCKER_CONFIG", "/nonexistent/appkit-test");
    run(&mut c)
}

fn lock_chart(root: &Path) -> String {
    let text = std::fs::read_to_string(root.join("appkit.lock")).unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix("chart: "))
        .unwrap_or_else(|| panic!("no chart: line in {text}"))
        .trim_matches('"')
        .to_string()
}

// ---------------------------------------------------------------------------------------------
// 1. publish records a changed repository even when the digest is unchanged

/// The copied-examples story: publish to project A; the same chart is pushed to project B
/// (`publish --to`, which keeps the lock on A); appkit.yaml is pointed at B. `publish` finds the
/// version already published at B with the same digest — and must still record B in the lock,
/// or render refuses forever with a hint back to `publish`.
#[test]
fn publish_records_a_changed_repository_when_the_digest_is_unchanged() {
    let reg = Registry::anonymous();
    let dir = tempfile::tempdir().unwrap();
    let root = example_platform(dir.path());
    let cfg = root.join("appkit.yaml");
    let (a, b) = (reg.oci("team-a"), reg.oci("team-b"));
    edit(&cfg, "oci://harbor.example.com/platform", &a);
    let _ = std::fs::remove_file(root.join("appkit.lock"));

    let out = appkit_in(&root, &["publish", "--plain-http", "-o", "json"]);
    assert_exit(&out, 0, "publish to A");
    let first: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(first["uploaded"], true);
    assert_eq!(lock_chart(&root), format!("{a}/app"));

    // The same chart to B; the lock keeps naming A (appkit.yaml still says A).
    let out = appkit_in(
        &root,
        &["publish", "--plain-http", "--to", &b, "-o", "json"],
    );
    assert_exit(&out, 0, "publish --to B");
    assert_eq!(lock_chart(&root), format!("{a}/app"));

    // appkit.yaml now points at B: render refuses until publish records B.
    edit(&cfg, &a, &b);
    let out = appkit_in(&root, &["render"]);
    assert_exit(&out, 1, "render with the lock naming A");
    assert!(
        stderr(&out).contains(&format!("appkit.lock records chart {a}/app")),
        "{}",
        stderr(&out)
    );

    let out = appkit_in(&root, &["publish", "--plain-http", "-o", "json"]);
    assert_exit(&out, 0, "publish to B, already published there");
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["alreadyPublished"], true, "{v}");
    assert_eq!(v["uploaded"], false, "{v}");
    assert_eq!(v["digest"], first["digest"], "same digest");
    assert!(
        v["lock"]
            .as_str()
            .is_some_and(|l| l.ends_with("appkit.lock")),
        "{v}"
    );
    let err = stderr(&out);
    assert!(
        err.contains(&format!("recorded the new repository {b}/app in "))
            && err.contains(&format!("appkit.lock (it named {a}/app)")),
        "{err}"
    );
    assert!(err.contains("already published"), "{err}");
    assert_eq!(lock_chart(&root), format!("{b}/app"), "the lock names B");
    let text = std::fs::read_to_string(root.join("appkit.lock")).unwrap();
    assert!(
        text.contains(&format!(
            "digest: \"{}\"",
            first["digest"].as_str().unwrap()
        )),
        "{text}"
    );
    assert!(
        !root.read_dir().unwrap().any(|e| e
            .unwrap()
            .file_name()
            .to_string_lossy()
            .starts_with(".appkit")),
        "no temporary file left beside the lock"
    );

    // render works now, and its sources name B.
    let out = appkit_in(&root, &["render"]);
    assert_exit(&out, 0, "render after publish recorded B");
    let rendered = std::fs::read_to_string(root.join("clusters/dev/apps/app1.yaml")).unwrap();
    assert!(rendered.contains(&format!("{b}/app")), "{rendered}");

    // A second publish changes nothing and says nothing about a new repository.
    let before = std::fs::read_to_string(root.join("appkit.lock")).unwrap();
    let out = appkit_in(&root, &["publish", "--plain-http"]);
    assert_exit(&out, 0, "publish to B again");
    assert!(!stderr(&out).contains("new repository"), "{}", stderr(&out));
    assert_eq!(
        std::fs::read_to_string(root.join("appkit.lock")).unwrap(),
        before
    );
}
