//! What a published tag promises (issue 13, items 8 and 9): a tag in an OCI layout is never
//! silently overwritten, every digest (manifest, config, chart layer) is verified on pull, a pull
//! by digest returns exactly the pushed bytes, and a tag whose chart holds another version is
//! refused.

use std::fs;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::common::registry::{Fault, FaultAction, FaultProxy, Registry};
use crate::common::{appkit, run, sha256, stderr, stdout};
use crate::oci::{appkit_in, json_out, push_json, Work};

/// `helm package` of the fixture chart at `version` with other values (same version, other bytes).
fn changed_tgz(w: &Work, version: &str) -> PathBuf {
    let chart = w.chart("changed", version);
    std::fs::write(chart.join("values.yaml"), "message: changed\n").unwrap();
    w.package(&chart, "pkg-changed", version)
}

fn layout_push(tgz: &Path, layout: &Path, extra: &[&str]) -> std::process::Output {
    let dest = format!("oci-layout:{}", layout.display());
    let mut args = vec!["push", tgz.to_str().unwrap(), dest.as_str(), "-o", "json"];
    args.extend_from_slice(extra);
    run(&mut appkit_in(&[], &args))
}

/// The manifest digest `index.json` tags as `tag`.
fn tagged(layout: &Path, tag: &str) -> Vec<String> {
    let index: Value =
        serde_json::from_slice(&std::fs::read(layout.join("index.json")).unwrap()).unwrap();
    index["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["annotations"]["org.opencontainers.image.ref.name"] == tag)
        .map(|m| m["digest"].as_str().unwrap().to_string())
        .collect()
}

fn blob(layout: &Path, digest: &str) -> PathBuf {
    layout
        .join("blobs/sha256")
        .join(digest.trim_start_matches("sha256:"))
}

fn pull_layout(layout: &Path, version: &str, out: &Path) -> std::process::Output {
    run(&mut appkit_in(
        &[],
        &[
            "pull",
            &format!("oci-layout:{}/demo", layout.display()),
            "--version",
            version,
            "-d",
            out.to_str().unwrap(),
        ],
    ))
}

/// Nothing was written in `out` (absent, or an empty directory).
fn assert_nothing_written(out: &Path, what: &str) {
    if out.exists() {
        let left: Vec<_> = std::fs::read_dir(out)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert!(left.is_empty(), "{what}: pull wrote {left:?}");
    }
}

#[test]
fn a_published_layout_tag_is_never_overwritten_unless_forced() {
    let w = Work::new();
    let a = w.tgz("0.1.0");
    let b = changed_tgz(&w, "0.1.0");
    // The digest b would get, from a layout of its own (no created time: deterministic).
    let b_digest = json_out(&layout_push(&b, &w.path().join("other"), &[]))["manifestDigest"]
        .as_str()
        .unwrap()
        .to_string();

    let layout = w.path().join("layout");
    let first = json_out(&layout_push(&a, &layout, &[]));
    let a_digest = first["manifestDigest"].as_str().unwrap().to_string();
    assert_ne!(a_digest, b_digest, "the changed chart is other content");
    let index_before = std::fs::read(layout.join("index.json")).unwrap();

    let out = layout_push(&b, &layout, &[]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains(&a_digest), "names the published digest: {err}");
    assert!(err.contains(&b_digest), "names the new digest: {err}");
    assert_eq!(
        std::fs::read(layout.join("index.json")).unwrap(),
        index_before,
        "index.json is byte-identical after the refused push"
    );

    let forced = json_out(&layout_push(&b, &layout, &["--force"]));
    assert_eq!(forced["replaced"], a_digest.as_str());
    assert_eq!(forced["manifestDigest"], b_digest.as_str());
    assert_eq!(tagged(&layout, "0.1.0"), [b_digest.as_str()], "replaced");
    let pulled = w.path().join("pulled");
    let out = pull_layout(&layout, "0.1.0", &pulled);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        std::fs::read(pulled.join("demo-0.1.0.tgz")).unwrap(),
        std::fs::read(&b).unwrap()
    );
}

#[test]
fn every_digest_is_verified_on_pull_from_a_layout() {
    let w = Work::new();
    let tgz = w.tgz("0.1.0");
    for part in ["manifest", "config", "chart layer"] {
        let layout = w.path().join(format!("layout-{}", part.replace(' ', "-")));
        let v = json_out(&layout_push(&tgz, &layout, &[]));
        let manifest_digest = v["manifestDigest"].as_str().unwrap().to_string();
        let manifest: Value =
            serde_json::from_slice(&std::fs::read(blob(&layout, &manifest_digest)).unwrap())
                .unwrap();
        let target = match part {
            "manifest" => manifest_digest.clone(),
            "config" => manifest["config"]["digest"].as_str().unwrap().to_string(),
            _ => manifest["layers"][0]["digest"]
                .as_str()
                .unwrap()
                .to_string(),
        };
        // Same length, one byte changed: only the digest can tell.
        let path = blob(&layout, &target);
        let mut bytes = std::fs::read(&path).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 0x01;
        std::fs::write(&path, &bytes).unwrap();

        let out_dir = w.path().join(format!("out-{}", part.replace(' ', "-")));
        let out = pull_layout(&layout, "0.1.0", &out_dir);
        assert_eq!(out.status.code(), Some(2), "{part}: {}", stderr(&out));
        assert!(
            stderr(&out).contains("digest mismatch"),
            "{part}: {}",
            stderr(&out)
        );
        assert_nothing_written(&out_dir, part);
    }
}

#[test]
fn pull_by_digest_returns_the_pushed_bytes() {
    let reg = Registry::anonymous();
    let w = Work::new();
    let tgz = w.tgz("0.1.0");
    let v = push_json(&reg, &tgz, "p", &[]);
    let digest = v["manifestDigest"].as_str().unwrap();
    // Another version on top, so a pull that ignored the digest would get other bytes.
    push_json(&reg, &w.tgz("0.2.0"), "p", &[]);
    let dest = w.path().join("by-digest");
    let by_digest = format!("{}@{digest}", reg.oci("p/demo"));
    let out = run(&mut appkit_in(
        &reg.appkit_flags(),
        &["pull", &by_digest, "-d", dest.to_str().unwrap()],
    ));
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains(&format!("Digest: {digest}")),
        "{}",
        stdout(&out)
    );
    let pulled = std::fs::read(dest.join("demo-0.1.0.tgz")).unwrap();
    assert_eq!(sha256(&pulled), sha256(&std::fs::read(&tgz).unwrap()));
    assert_eq!(pulled, std::fs::read(&tgz).unwrap());
}

/// The same from an OCI layout: `oci-layout:DIR/CHART@sha256:…` and `…/CHART:TAG`.
#[test]
fn pull_by_digest_and_tag_from_a_layout_returns_the_pushed_bytes() {
    let w = Work::new();
    let layout = w.path().join("layout");
    let tgz = w.tgz("0.1.0");
    let out = layout_push(&tgz, &layout, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let digest = v["manifestDigest"].as_str().unwrap().to_string();
    let out = layout_push(&w.tgz("0.2.0"), &layout, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    for (case, reference) in [
        (
            "digest",
            format!("oci-layout:{}/demo@{digest}", layout.display()),
        ),
        ("tag", format!("oci-layout:{}/demo:0.1.0", layout.display())),
    ] {
        let dest = w.path().join(case);
        let out = run(appkit().args(["pull", &reference, "-d", dest.to_str().unwrap()]));
        assert!(out.status.success(), "{case}: {}", stderr(&out));
        assert!(
            stdout(&out).contains(&format!("Digest: {digest}")),
            "{case}: {}",
            stdout(&out)
        );
        assert_eq!(
            std::fs::read(dest.join("demo-0.1.0.tgz")).unwrap(),
            std::fs::read(&tgz).unwrap(),
            "{case}"
        );
    }
    // A digest that is not there, and one that is not a digest.
    let missing = format!(
        "oci-layout:{}/demo@sha256:{}",
        layout.display(),
        "0".repeat(64)
    );
    let out = run(appkit().args(["pull", &missing, "-d", w.path().join("x").to_str().unwrap()]));
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("not found"), "{}", stderr(&out));
    let bad = format!("oci-layout:{}/demo@sha256:abc", layout.display());
    let out = run(appkit().args(["pull", &bad]));
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("digest"), "{}", stderr(&out));
}

#[test]
fn a_tag_whose_chart_holds_another_version_is_refused() {
    let w = Work::new();
    let tgz = w.tgz("0.1.0");
    let layout = w.path().join("layout");
    json_out(&layout_push(&tgz, &layout, &[]));
    // Retag: the 0.1.0 manifest now answers to tag 0.2.0.
    let index = std::fs::read_to_string(layout.join("index.json")).unwrap();
    let retagged = index.replace(
        r#""org.opencontainers.image.ref.name":"0.1.0""#,
        r#""org.opencontainers.image.ref.name":"0.2.0""#,
    );
    assert_ne!(retagged, index, "index.json format: {index}");
    std::fs::write(layout.join("index.json"), retagged).unwrap();
    assert_eq!(tagged(&layout, "0.2.0").len(), 1);

    let out_dir = w.path().join("out");
    let out = pull_layout(&layout, "0.2.0", &out_dir);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("holds chart version 0.1.0, not 0.2.0"),
        "{err}"
    );
    assert_nothing_written(&out_dir, "wrong version");
}

fn pull_via(reference: &str, version: Option<&str>, out: &Path) -> std::process::Output {
    let mut args = vec![
        "pull",
        reference,
        "-d",
        out.to_str().unwrap(),
        "--plain-http",
    ];
    if let Some(v) = version {
        args.extend_from_slice(&["--version", v]);
    }
    run(&mut appkit_in(&[], &args))
}

fn manifest_fault(path: &'static str, action: FaultAction) -> Vec<Fault> {
    vec![Fault {
        method: "GET",
        path_contains: path,
        action,
        times: 1,
    }]
}

#[test]
fn a_manifest_without_docker_content_digest_is_verified_by_content() {
    let reg = Registry::anonymous();
    let w = Work::new();
    let tgz = w.tgz("0.1.0");
    let digest = push_json(&reg, &tgz, "p", &[])["manifestDigest"]
        .as_str()
        .unwrap()
        .to_string();
    push_json(&reg, &w.tgz("0.2.0"), "p", &[]);
    let (other, _) = crate::oci::get_json(&reg, "/v2/p/demo/manifests/0.2.0");

    // The header stripped from an honest answer: the pull succeeds, the digest is computed.
    let proxy = FaultProxy::start(
        &reg.host,
        manifest_fault(
            "/manifests/0.1.0",
            FaultAction::StripHeader("Docker-Content-Digest"),
        ),
    );
    let out_dir = w.path().join("stripped");
    let out = pull_via(&proxy.oci("p/demo"), Some("0.1.0"), &out_dir);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        proxy.count("GET", "/manifests/0.1.0"),
        1,
        "{:?}",
        proxy.requests()
    );
    assert!(
        stdout(&out).contains(&format!("Digest: {digest}")),
        "{}",
        stdout(&out)
    );
    assert_eq!(
        std::fs::read(out_dir.join("demo-0.1.0.tgz")).unwrap(),
        std::fs::read(&tgz).unwrap()
    );

    // No header and other bytes for a digest reference: the digest asked for is checked.
    let by_digest_path: &'static str = Box::leak(format!("/manifests/{digest}").into_boxed_str());
    let proxy = FaultProxy::start(
        &reg.host,
        manifest_fault(
            by_digest_path,
            FaultAction::Respond(
                200,
                "application/vnd.oci.image.manifest.v1+json",
                other.clone(),
            ),
        ),
    );
    let out_dir = w.path().join("by-digest");
    let reference = format!("{}@{digest}", proxy.oci("p/demo"));
    let out = pull_via(&reference, None, &out_dir);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("digest mismatch"), "{}", stderr(&out));
    assert_eq!(
        proxy.count("GET", by_digest_path),
        1,
        "{:?}",
        proxy.requests()
    );
    assert_nothing_written(&out_dir, "by digest, other bytes");

    // No header and another version's manifest for a tag: the chart version is checked.
    let proxy = FaultProxy::start(
        &reg.host,
        manifest_fault(
            "/manifests/0.1.0",
            FaultAction::Respond(200, "application/vnd.oci.image.manifest.v1+json", other),
        ),
    );
    let out_dir = w.path().join("by-tag");
    let out = pull_via(&proxy.oci("p/demo"), Some("0.1.0"), &out_dir);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("holds chart version 0.2.0, not 0.1.0"),
        "{}",
        stderr(&out)
    );
    assert_nothing_written(&out_dir, "by tag, other version");
}

/// The size limits on what a registry command reads from disk: a credential file (Helm's registry
/// config, Docker's config.json) is read up to 1 MiB, a chart archive to push up to 100 MiB; larger
/// is exit 2 naming the file and the limit, before any connection is made (the registry address
/// here is closed) and with nothing written.
#[test]
fn credential_files_and_push_archives_are_read_up_to_their_limits() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let chart = crate::common::chart_dir();
    let big_auth = serde_json::json!({"auths": {"x": {"auth": "a".repeat(2 << 20)}}}).to_string();
    fs::write(t.join("registry.json"), &big_auth).unwrap();
    let out = run(crate::common::appkit()
        .current_dir(t)
        .env_remove("DOCKER_CONFIG")
        .args([
            "push",
            chart.to_str().unwrap(),
            "oci://127.0.0.1:9/platform",
        ])
        .args(["--plain-http", "--registry-config", "registry.json"]));
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("cannot read registry.json") && err.contains("the limit is 1048576 bytes"),
        "{err}"
    );
    // Docker's config.json has the same limit.
    fs::create_dir(t.join("docker")).unwrap();
    fs::write(t.join("docker/config.json"), &big_auth).unwrap();
    let out = run(crate::common::appkit()
        .current_dir(t)
        .env("DOCKER_CONFIG", t.join("docker"))
        .env("HELM_REGISTRY_CONFIG", t.join("none.json"))
        .args([
            "push",
            chart.to_str().unwrap(),
            "oci://127.0.0.1:9/platform",
        ])
        .arg("--plain-http"));
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("docker/config.json") && err.contains("the limit is 1048576 bytes"),
        "{err}"
    );
    // A 101 MiB archive (sparse) is refused before it is read whole; no layout is created.
    let tgz = t.join("big.tgz");
    fs::File::create(&tgz).unwrap().set_len(101 << 20).unwrap();
    let out =
        run(crate::common::appkit()
            .current_dir(t)
            .args(["push", "big.tgz", "oci-layout:out"]));
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("cannot read big.tgz") && err.contains("the limit is 104857600 bytes"),
        "{err}"
    );
    assert!(!t.join("out").exists());
}
