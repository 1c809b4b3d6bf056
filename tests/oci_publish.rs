//! `helm appkit publish` against a real registry: validate → package → version-increment check →
//! push → appkit.lock, and every failure leaving appkit.lock untouched.

use std::path::{Path, PathBuf};
use std::process::Output;

use serde_json::Value;

use crate::common::registry::Registry;
use crate::common::{appkit, copy_dir, repo_root, run, stderr, stdout};

/// A copy of the example platform repo (`examples/` + `chart/`) publishing to `repository`.
fn platform(dir: &Path, repository: &str) -> PathBuf {
    copy_dir(&repo_root().join("chart"), &dir.join("chart"));
    copy_dir(&repo_root().join("examples"), &dir.join("examples"));
    let cfg = dir.join("examples/appkit.yaml");
    let text = std::fs::read_to_string(&cfg).unwrap();
    assert!(
        text.contains("repository: oci://harbor.example.com/platform"),
        "fixture changed: {text}"
    );
    std::fs::write(
        &cfg,
        text.replace("oci://harbor.example.com/platform", repository),
    )
    .unwrap();
    let _ = std::fs::remove_file(dir.join("examples/appkit.lock"));
    dir.join("examples")
}

fn publish(root: &Path, extra: &[&str]) -> Output {
    let mut c = appkit();
    c.current_dir(root).arg("publish").args(extra);
    c.env_remove("SOURCE_DATE_EPOCH").env(
        "HELM_REGISTRY_CONFIG",
        "/nonexistent/appkit-test/config.json",
    );
    c.env("DOCKER_CONFIG", "/nonexistent/appkit-test");
    run(&mut c)
}

fn set_chart_version(root: &Path, version: &str) {
    let p = root.join("../chart/Chart.yaml");
    let text = std::fs::read_to_string(&p).unwrap();
    let line = text
        .lines()
        .find(|l| l.starts_with("version:"))
        .unwrap()
        .to_string();
    std::fs::write(&p, text.replace(&line, &format!("version: {version}"))).unwrap();
}

#[test]
fn publish_validates_pushes_and_records_the_digest_in_appkit_lock() {
    let reg = Registry::anonymous();
    let dir = tempfile::tempdir().unwrap();
    let root = platform(dir.path(), &reg.oci("platform"));
    let lock = root.join("appkit.lock");

    // Dry run: everything but upload and write.
    let out = publish(&root, &["--plain-http", "--dry-run", "-o", "json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let dry: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(dry["dryRun"], true);
    assert_eq!(dry["appsValidated"], 2);
    assert!(!lock.exists(), "dry run writes no lock");
    assert_eq!(
        reg.count("POST", "/blobs/uploads/"),
        0,
        "dry run uploads nothing"
    );

    let out = publish(&root, &["--plain-http", "-o", "json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        v["digest"], dry["digest"],
        "the dry run predicted the digest"
    );
    assert_eq!(v["uploaded"], true);
    let text = std::fs::read_to_string(&lock).unwrap();
    assert!(
        text.contains(&format!("chart: \"{}\"", reg.oci("platform/app"))),
        "{text}"
    );
    assert!(
        text.contains(&format!("digest: \"{}\"", v["digest"].as_str().unwrap())),
        "{text}"
    );

    // Publishing again without changes is a no-op.
    let out = publish(&root, &["--plain-http", "-o", "json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let again: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(again["alreadyPublished"], true);
    assert_eq!(std::fs::read_to_string(&lock).unwrap(), text);

    // Changed chart, same version → exit 1 with a hint, lock untouched.
    let values = root.join("../chart/values.yaml");
    let mut vt = std::fs::read_to_string(&values).unwrap();
    vt.push_str("\n# a change\n");
    std::fs::write(&values, vt).unwrap();
    let out = publish(&root, &["--plain-http"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("was not raised") && stderr(&out).contains("hint: raise `version`"),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        std::fs::read_to_string(&lock).unwrap(),
        text,
        "appkit.lock untouched on failure"
    );

    // A lower version is refused too.
    set_chart_version(&root, "0.0.9");
    let out = publish(&root, &["--plain-http"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("not above the highest published version 0.1.0"),
        "{}",
        stderr(&out)
    );

    // Raised version → published and recorded next to the first.
    set_chart_version(&root, "0.2.0");
    let out = publish(&root, &["--plain-http"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).starts_with(&format!("Published: {}:0.2.0", reg.oci("platform/app"))),
        "{}",
        stdout(&out)
    );
    let text2 = std::fs::read_to_string(&lock).unwrap();
    assert!(
        text2.contains("\"0.1.0\":") && text2.contains("\"0.2.0\":"),
        "{text2}"
    );
}

#[test]
fn publish_stops_on_invalid_app_values_and_leaves_the_lock_alone() {
    let reg = Registry::anonymous();
    let dir = tempfile::tempdir().unwrap();
    let root = platform(dir.path(), &reg.oci("platform"));
    std::fs::write(root.join("appkit.lock"), "# Generated by helm appkit publish. Do not edit.\nlockVersion: 1\nchart: \"x\"\nversions: {}\n").unwrap();
    let before = std::fs::read_to_string(root.join("appkit.lock")).unwrap();
    let values = root.join("apps/app1/values.yaml");
    let mut t = std::fs::read_to_string(&values).unwrap();
    t.push_str("\nreplcias: 3\n");
    std::fs::write(&values, t).unwrap();
    let out = publish(&root, &["--plain-http"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("apps/app1/values.yaml"),
        "diagnostics name the file: {}",
        stderr(&out)
    );
    assert!(
        stderr(&out).contains("nothing was published"),
        "{}",
        stderr(&out)
    );
    assert!(
        reg.requests().is_empty(),
        "no registry request: {:?}",
        reg.requests()
    );
    assert_eq!(
        std::fs::read_to_string(root.join("appkit.lock")).unwrap(),
        before
    );
}

#[test]
fn publish_to_an_oci_layout_records_the_registry_independent_digest() {
    let dir = tempfile::tempdir().unwrap();
    let layout = dir.path().join("layout");
    let to_layout = format!("oci-layout:{}", layout.display());
    let root = platform(dir.path(), "oci://harbor.example.com/platform");
    let out = publish(&root, &["--to", &to_layout, "--dry-run"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!layout.exists(), "a dry run creates no layout");
    assert!(
        !root.join("appkit.lock").exists(),
        "a dry run writes no lock"
    );
    let out = publish(&root, &["--to", &to_layout, "-o", "json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    // The lock names the chart where appkit.yaml publishes it (what render points Flux at).
    let lock = std::fs::read_to_string(root.join("appkit.lock")).unwrap();
    assert!(
        lock.contains("chart: \"oci://harbor.example.com/platform/app\""),
        "{lock}"
    );
    assert!(lock.contains(v["digest"].as_str().unwrap()), "{lock}");
    // The same chart pushed to a registry gets the same digest.
    let reg = Registry::anonymous();
    let out = publish(
        &root,
        &["--to", &reg.oci("platform"), "--plain-http", "-o", "json"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["digest"], v["digest"]);
}
