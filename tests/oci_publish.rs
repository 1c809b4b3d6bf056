//! `helm appkit publish` against a real registry: validate → package → version-increment check →
//! push → appkit.lock, and every failure leaving appkit.lock untouched.

use std::path::{Path, PathBuf};
use std::process::Output;

use serde_json::Value;

use crate::common::registry::{Fault, FaultAction, FaultProxy, Registry};
use crate::common::{appkit, example_platform, run, stderr, stdout};

/// A copy of the example platform repo (`examples/` + `chart/`) publishing to `repository`,
/// without its lock.
fn platform(dir: &Path, repository: &str) -> PathBuf {
    let root = example_platform(dir);
    let cfg = root.join("appkit.yaml");
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
    let _ = std::fs::remove_file(root.join("appkit.lock"));
    root
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
    let before = reg.requests_before_probe();
    assert!(
        before
            .iter()
            .any(|l| l.starts_with("HEAD ") || l.starts_with("GET ")),
        "the dry run's version check is logged: {before:?}"
    );
    assert_eq!(
        reg.count("POST", "/blobs/uploads/"),
        0,
        "dry run uploads nothing"
    );

    let out = publish(&root, &["--plain-http", "-o", "json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        v["manifestDigest"], dry["manifestDigest"],
        "the dry run predicted the digest"
    );
    assert_eq!(v["uploaded"], true);
    let text = std::fs::read_to_string(&lock).unwrap();
    assert!(
        text.contains(&format!("chart: \"{}\"", reg.oci("platform/app"))),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "digest: \"{}\"",
            v["manifestDigest"].as_str().unwrap()
        )),
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
        stderr(&out).contains("is not above 0.2.0 ("),
        "{}",
        stderr(&out)
    );

    // Raised version → published and recorded next to the first.
    set_chart_version(&root, "0.3.0");
    let out = publish(&root, &["--plain-http"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).starts_with(&format!("Published: {}:0.3.0", reg.oci("platform/app"))),
        "{}",
        stdout(&out)
    );
    let text2 = std::fs::read_to_string(&lock).unwrap();
    assert!(
        text2.contains("\"0.2.0\":") && text2.contains("\"0.3.0\":"),
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
    let requests = reg.requests_before_probe();
    assert!(requests.is_empty(), "no registry request: {requests:?}");
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
    assert!(
        lock.contains(v["manifestDigest"].as_str().unwrap()),
        "{lock}"
    );
    // The same chart pushed to a registry gets the same digest.
    let reg = Registry::anonymous();
    let out = publish(
        &root,
        &["--to", &reg.oci("platform"), "--plain-http", "-o", "json"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["manifestDigest"], v["manifestDigest"]);
}

/// A push that fails after validation leaves appkit.lock byte for byte as it was: the lock is
/// saved only once the tag exists. The chart is changed (version 0.3.0), so a lock saved too early
/// would differ. Against a registry whose manifest PUT answers 500, and an OCI layout whose
/// `index.json` cannot be written (`APPKIT_TEST_FAIL_WRITE`, `src/fsutil.rs`).
#[test]
fn a_push_failing_after_validation_leaves_the_lock_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let root = example_platform(dir.path());
    set_chart_version(&root, "0.3.0");
    let lock = root.join("appkit.lock");
    let before = std::fs::read(&lock).unwrap();
    assert!(String::from_utf8_lossy(&before).contains("\"0.2.0\":"));

    let reg = Registry::anonymous();
    let proxy = FaultProxy::start(
        &reg.host,
        // The tag PUT (the manifest is stored by digest first, then tagged).
        vec![Fault {
            method: "PUT",
            path_contains: "/manifests/0.3.0",
            action: FaultAction::Status(500, None),
            times: 100,
        }],
    );
    let out = publish(
        &root,
        &[
            "--to",
            &proxy.oci("platform"),
            "--plain-http",
            "--retries",
            "1",
        ],
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("500"), "{}", stderr(&out));
    // It got past validation and the version check: the blobs went up, the manifest was refused.
    assert!(
        proxy.count("PUT", "/blobs/uploads/") >= 2,
        "{:?}",
        proxy.requests()
    );
    assert!(
        proxy.count("PUT", "/manifests/0.3.0") >= 1,
        "{:?}",
        proxy.requests()
    );
    assert_eq!(
        std::fs::read(&lock).unwrap(),
        before,
        "registry: lock changed"
    );

    // An existing, empty layout: the only index.json write is the one that tags the push.
    let layout = dir.path().join("layout");
    std::fs::create_dir_all(&layout).unwrap();
    std::fs::write(
        layout.join("oci-layout"),
        r#"{"imageLayoutVersion":"1.0.0"}"#,
    )
    .unwrap();
    std::fs::write(
        layout.join("index.json"),
        r#"{"schemaVersion":2,"manifests":[]}"#,
    )
    .unwrap();
    let mut c = appkit();
    c.current_dir(&root)
        .args(["publish", "--to"])
        .arg(format!("oci-layout:{}", layout.display()))
        .env("APPKIT_TEST_FAIL_WRITE", "index.json");
    let out = run(&mut c);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("APPKIT_TEST_FAIL_WRITE"),
        "{}",
        stderr(&out)
    );
    let blobs = std::fs::read_dir(layout.join("blobs/sha256"))
        .unwrap()
        .count();
    assert!(blobs >= 3, "the blobs were written first ({blobs})");
    assert_eq!(
        std::fs::read(&lock).unwrap(),
        before,
        "layout: lock changed"
    );

    // The same publish without the fault records 0.3.0: the test above could see a change.
    let out = publish(
        &root,
        &["--to", &format!("oci-layout:{}", layout.display())],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(String::from_utf8_lossy(&std::fs::read(&lock).unwrap()).contains("\"0.3.0\":"));
}
