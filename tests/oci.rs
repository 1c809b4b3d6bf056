//! OCI push / pull / versions against a real CNCF distribution registry (see
//! `common/registry.rs`), cross-checked with real Helm 3.17 and 4.1. Auth and TLS tests are in
//! `oci_auth.rs`, fault injection in `oci_faults.rs`; they share the helpers here.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

use crate::common::registry::Registry;
use crate::common::{appkit, helm, repo_root, run, run_ok, sha256, stderr, stdout};

pub(crate) fn fixture_chart() -> PathBuf {
    repo_root().join("tests/fixtures/oci/demo")
}

/// A temp dir with a Helm home and a copy of the fixture chart at `chart/` (version overridable).
pub(crate) struct Work {
    dir: tempfile::TempDir,
}

impl Work {
    pub(crate) fn new() -> Work {
        Work {
            dir: tempfile::tempdir().unwrap(),
        }
    }
    pub(crate) fn path(&self) -> &Path {
        self.dir.path()
    }
    pub(crate) fn home(&self) -> PathBuf {
        self.path().join("helm-home")
    }
    /// A copy of the fixture chart with `version`, at `<work>/<sub>/demo`.
    pub(crate) fn chart(&self, sub: &str, version: &str) -> PathBuf {
        let dest = self.path().join(sub).join("demo");
        crate::common::copy_dir(&fixture_chart(), &dest);
        let y = std::fs::read_to_string(dest.join("Chart.yaml")).unwrap();
        std::fs::write(
            dest.join("Chart.yaml"),
            y.replace("version: 0.1.0", &format!("version: {version}")),
        )
        .unwrap();
        dest
    }
    /// `helm package` (Helm 4) of a copy of the fixture chart at `version`.
    pub(crate) fn tgz(&self, version: &str) -> PathBuf {
        let chart = self.chart(&format!("src-{version}"), version);
        self.package(&chart, "pkg", version)
    }
    /// `helm package` (Helm 4) of `chart` (chart `demo` at `version`) into `<work>/<out>`.
    pub(crate) fn package(&self, chart: &Path, out: &str, version: &str) -> PathBuf {
        let out = self.path().join(out);
        run_ok(
            helm(4, &self.home())
                .arg("package")
                .arg(chart)
                .arg("-d")
                .arg(&out),
        );
        out.join(format!("demo-{version}.tgz"))
    }
}

pub(crate) fn appkit_in(reg_flags: &[String], args: &[&str]) -> Command {
    let mut c = appkit();
    c.args(args).args(reg_flags);
    c.env_remove("APPKIT_REGISTRY_USERNAME")
        .env_remove("APPKIT_REGISTRY_PASSWORD")
        .env_remove("SOURCE_DATE_EPOCH");
    c.env(
        "HELM_REGISTRY_CONFIG",
        "/nonexistent/appkit-test/config.json",
    )
    .env("DOCKER_CONFIG", "/nonexistent/appkit-test");
    c
}

pub(crate) fn json_out(out: &Output) -> Value {
    assert!(
        out.status.success(),
        "failed: {}\n{}",
        out.status,
        stderr(out)
    );
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", stdout(out)))
}

pub(crate) fn push_json(reg: &Registry, tgz: &Path, ns: &str, extra: &[&str]) -> Value {
    let dest = reg.oci(ns);
    let mut args = vec!["push", tgz.to_str().unwrap(), dest.as_str(), "-o", "json"];
    args.extend_from_slice(extra);
    json_out(&run(&mut appkit_in(&reg.appkit_flags(), &args)))
}

pub(crate) fn helm_push(major: u8, home: &Path, tgz: &Path, dest: &str, flags: &[String]) {
    run_ok(helm(major, home).arg("push").arg(tgz).arg(dest).args(flags));
}

/// GET a manifest or blob from a plain-HTTP anonymous registry, independently of appkit.
pub(crate) fn get_json(reg: &Registry, path: &str) -> (Vec<u8>, Value) {
    let (status, body) = reg.get(path, "application/vnd.oci.image.manifest.v1+json");
    assert_eq!(
        status,
        200,
        "GET {path}: {}",
        String::from_utf8_lossy(&body)
    );
    let v = serde_json::from_slice(&body).unwrap();
    (body, v)
}

#[test]
fn helm_pushed_charts_are_listed_and_pulled_by_appkit() {
    let reg = Registry::anonymous();
    let w = Work::new();
    let t1 = w.tgz("0.1.0");
    let t2 = w.tgz("0.10.0+build.7");
    let t3 = w.tgz("0.2.0");
    helm_push(3, &w.home(), &t1, &reg.oci("charts"), &reg.helm_flags());
    helm_push(4, &w.home(), &t2, &reg.oci("charts"), &reg.helm_flags());
    helm_push(4, &w.home(), &t3, &reg.oci("charts"), &reg.helm_flags());

    let out = run(&mut appkit_in(
        &reg.appkit_flags(),
        &["versions", &reg.oci("charts/demo")],
    ));
    assert!(out.status.success(), "{}", stderr(&out));
    let lines: Vec<String> = stdout(&out)
        .lines()
        .map(|l| l.split_whitespace().next().unwrap().to_string())
        .collect();
    assert_eq!(
        lines,
        ["0.1.0", "0.2.0", "0.10.0+build.7"],
        "semver order, `_` mapped back to `+`"
    );
    let v = json_out(&run(&mut appkit_in(
        &reg.appkit_flags(),
        &["versions", &reg.oci("charts/demo"), "-o", "json"],
    )));
    assert_eq!(v["versions"][2]["tag"], "0.10.0_build.7");
    let (body, _) = get_json(&reg, "/v2/charts/demo/manifests/0.10.0_build.7");
    assert_eq!(v["versions"][2]["manifestDigest"], sha256(&body));

    let dest = w.path().join("pulled");
    let out = run(&mut appkit_in(
        &reg.appkit_flags(),
        &[
            "pull",
            &reg.oci("charts/demo"),
            "--version",
            "0.10.0+build.7",
            "-d",
            dest.to_str().unwrap(),
        ],
    ));
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains(&format!("Digest: {}", sha256(&body))),
        "{}",
        stdout(&out)
    );
    let pulled = std::fs::read(dest.join("demo-0.10.0+build.7.tgz")).unwrap();
    assert_eq!(
        pulled,
        std::fs::read(&t2).unwrap(),
        "pulled bytes are what Helm pushed"
    );

    // Without --version: the highest version.
    let out = run(&mut appkit_in(
        &reg.appkit_flags(),
        &[
            "pull",
            &reg.oci("charts/demo"),
            "-d",
            dest.to_str().unwrap(),
        ],
    ));
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("demo:0.10.0_build.7"),
        "{}",
        stdout(&out)
    );

    // A version that is not there: exit 2 with a hint.
    let out = run(&mut appkit_in(
        &reg.appkit_flags(),
        &[
            "pull",
            &reg.oci("charts/demo"),
            "--version",
            "9.9.9",
            "-d",
            dest.to_str().unwrap(),
        ],
    ));
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("not found") && stderr(&out).contains("hint:"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn appkit_push_is_pulled_and_templated_by_helm_3_and_4() {
    let reg = Registry::anonymous();
    let w = Work::new();
    let tgz = w.tgz("1.2.3+meta.1");
    let v = push_json(&reg, &tgz, "platform", &[]);
    assert_eq!(
        v["ref"],
        format!("{}:1.2.3_meta.1", reg.oci("platform/demo"))
    );
    assert_eq!(v["tag"], "1.2.3_meta.1");
    assert_eq!(v["version"], "1.2.3+meta.1");
    assert_eq!(v["uploaded"], true);
    assert_eq!(v["size"], std::fs::metadata(&tgz).unwrap().len());
    for major in [3u8, 4] {
        let dest = w.path().join(format!("helm{major}"));
        std::fs::create_dir_all(&dest).unwrap(); // Helm 3 does not create it
        run_ok(
            helm(major, &w.home())
                .args([
                    "pull",
                    &reg.oci("platform/demo"),
                    "--version",
                    "1.2.3+meta.1",
                    "-d",
                ])
                .arg(&dest)
                .args(reg.helm_flags()),
        );
        assert_eq!(
            std::fs::read(dest.join("demo-1.2.3+meta.1.tgz")).unwrap(),
            std::fs::read(&tgz).unwrap()
        );
        let rendered = run_ok(
            helm(major, &w.home())
                .args([
                    "template",
                    "rel",
                    &reg.oci("platform/demo"),
                    "--version",
                    "1.2.3+meta.1",
                ])
                .args(reg.helm_flags()),
        );
        assert!(
            rendered.contains("name: rel-demo") && rendered.contains("message: \"hello\""),
            "{rendered}"
        );
    }
}

#[test]
fn manifest_and_config_match_helm_push_field_by_field() {
    let reg = Registry::anonymous();
    let w = Work::new();
    let tgz = w.tgz("0.3.0");
    helm_push(4, &w.home(), &tgz, &reg.oci("helm4"), &reg.helm_flags());
    helm_push(3, &w.home(), &tgz, &reg.oci("helm3"), &reg.helm_flags());
    push_json(&reg, &tgz, "appkit", &[]);
    let (_, ours) = get_json(&reg, "/v2/appkit/demo/manifests/0.3.0");
    for theirs_ns in ["helm3", "helm4"] {
        let (_, theirs) = get_json(&reg, &format!("/v2/{theirs_ns}/demo/manifests/0.3.0"));
        assert_eq!(ours["schemaVersion"], theirs["schemaVersion"]);
        assert_eq!(
            ours["config"], theirs["config"],
            "{theirs_ns}: config descriptor (so the config JSON is byte-identical)"
        );
        assert_eq!(
            ours["layers"], theirs["layers"],
            "{theirs_ns}: layer descriptors"
        );
        assert!(ours.get("artifactType").is_none() && theirs.get("artifactType").is_none());
        let mut theirs_ann = theirs["annotations"].as_object().unwrap().clone();
        assert!(
            theirs_ann
                .remove("org.opencontainers.image.created")
                .is_some(),
            "Helm sets created"
        );
        assert_eq!(
            ours["annotations"].as_object().unwrap(),
            &theirs_ann,
            "{theirs_ns}: annotations other than created"
        );
        if let Some(mt) = theirs.get("mediaType") {
            assert_eq!(&ours["mediaType"], mt);
        }
    }
    assert_eq!(
        ours["mediaType"],
        "application/vnd.oci.image.manifest.v1+json"
    );
    assert!(
        ours["annotations"]
            .get("org.opencontainers.image.created")
            .is_none(),
        "no clock time without SOURCE_DATE_EPOCH"
    );
    assert_eq!(
        ours["annotations"]["org.opencontainers.image.title"], "demo",
        "Chart.yaml annotations cannot override title"
    );
    let config_digest = ours["config"]["digest"].as_str().unwrap();
    let (status, config) = reg.get(&format!("/v2/appkit/demo/blobs/{config_digest}"), "*/*");
    assert_eq!(status, 200);
    assert_eq!(sha256(&config), config_digest);
}

#[test]
fn source_date_epoch_sets_created_and_the_digest_is_stable() {
    let reg = Registry::anonymous();
    let w = Work::new();
    let tgz = w.tgz("0.4.0");
    let dest = w.path().join("layout");
    let mut c = appkit_in(
        &[],
        &[
            "push",
            tgz.to_str().unwrap(),
            "--to-layout",
            dest.to_str().unwrap(),
            "-o",
            "json",
        ],
    );
    let a = json_out(&run(c.env("SOURCE_DATE_EPOCH", "1700000000")));
    let b = push_json(&reg, &tgz, "x", &[]);
    assert_ne!(
        a["manifestDigest"], b["manifestDigest"],
        "created changes the digest"
    );
    let mut c = appkit_in(
        &reg.appkit_flags(),
        &["push", tgz.to_str().unwrap(), &reg.oci("y"), "-o", "json"],
    );
    let c = json_out(&run(c.env("SOURCE_DATE_EPOCH", "1700000000")));
    assert_eq!(
        a["manifestDigest"], c["manifestDigest"],
        "same chart + same SOURCE_DATE_EPOCH → same digest, layout or registry"
    );
    let (_, m) = get_json(&reg, "/v2/y/demo/manifests/0.4.0");
    assert_eq!(
        m["annotations"]["org.opencontainers.image.created"],
        "2023-11-14T22:13:20Z"
    );
}

#[test]
fn repush_of_an_unchanged_chart_uploads_nothing() {
    let reg = Registry::anonymous();
    let w = Work::new();
    let tgz = w.tgz("0.5.0");
    let first = push_json(&reg, &tgz, "p", &[]);
    assert_eq!(first["blobsUploaded"], 2);
    let posts_before = reg.count("POST", "/blobs/uploads/");
    let puts_before = reg.count("PUT", "/manifests/");
    let heads_before = reg.count("HEAD", "/manifests/0.5.0");
    // The log records the first push, so an unchanged count below means nothing was sent.
    assert!(
        posts_before >= 2 && puts_before >= 1,
        "{:?}",
        reg.requests()
    );
    let second = push_json(&reg, &tgz, "p", &[]);
    assert_eq!(
        reg.count("HEAD", "/manifests/0.5.0"),
        heads_before + 1,
        "the log records the second push's HEAD"
    );
    assert_eq!(second["manifestDigest"], first["manifestDigest"]);
    assert_eq!(second["alreadyPublished"], true);
    assert_eq!(second["uploaded"], false);
    assert_eq!(second["blobsUploaded"], 0);
    assert_eq!(second["requests"], 1, "one HEAD of the tag");
    assert_eq!(
        reg.count("POST", "/blobs/uploads/"),
        posts_before,
        "no upload started"
    );
    assert_eq!(
        reg.count("PUT", "/manifests/"),
        puts_before,
        "no manifest written"
    );
    let out = run(&mut appkit_in(
        &reg.appkit_flags(),
        &["push", tgz.to_str().unwrap(), &reg.oci("p")],
    ));
    assert!(out.status.success());
    assert!(
        stderr(&out).contains("already published"),
        "{}",
        stderr(&out)
    );
    assert!(
        stdout(&out).starts_with(&format!(
            "Pushed: {}:0.5.0\nDigest: sha256:",
            reg.oci("p/demo")
        )),
        "{}",
        stdout(&out)
    );
}

#[test]
fn overwriting_a_version_with_other_content_is_refused_unless_forced() {
    let reg = Registry::anonymous();
    let w = Work::new();
    let a = w.tgz("0.6.0");
    let first = push_json(&reg, &a, "p", &[]);
    // Same version, different content.
    let chart = w.chart("changed", "0.6.0");
    std::fs::write(chart.join("values.yaml"), "message: changed\n").unwrap();
    let out_dir = w.path().join("pkg-changed");
    run_ok(
        helm(4, &w.home())
            .arg("package")
            .arg(&chart)
            .arg("-d")
            .arg(&out_dir),
    );
    let b = out_dir.join("demo-0.6.0.tgz");
    let out = run(&mut appkit_in(
        &reg.appkit_flags(),
        &["push", b.to_str().unwrap(), &reg.oci("p")],
    ));
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains(first["manifestDigest"].as_str().unwrap()),
        "shows the existing digest: {err}"
    );
    assert!(
        err.contains("--force") && err.contains("raise the chart version"),
        "{err}"
    );
    let (body, _) = get_json(&reg, "/v2/p/demo/manifests/0.6.0");
    assert_eq!(sha256(&body), first["manifestDigest"], "tag untouched");

    let forced = push_json(&reg, &b, "p", &["--force"]);
    assert_eq!(forced["replaced"], first["manifestDigest"]);
    let (body, _) = get_json(&reg, "/v2/p/demo/manifests/0.6.0");
    assert_eq!(sha256(&body), forced["manifestDigest"]);
    assert_ne!(forced["manifestDigest"], first["manifestDigest"]);
}

#[test]
fn oci_layout_is_read_by_skopeo_and_by_appkit() {
    let w = Work::new();
    let tgz = w.tgz("2.0.0+b.1");
    let layout = w.path().join("layout");
    let dest = format!("oci-layout:{}", layout.display());
    let v = json_out(&run(&mut appkit_in(
        &[],
        &["push", tgz.to_str().unwrap(), &dest, "-o", "json"],
    )));
    assert_eq!(
        v["ref"],
        format!("oci-layout:{}/demo:2.0.0_b.1", layout.display())
    );
    let again = json_out(&run(&mut appkit_in(
        &[],
        &["push", tgz.to_str().unwrap(), &dest, "-o", "json"],
    )));
    assert_eq!(again["alreadyPublished"], true);

    let out = Command::new("skopeo")
        .args([
            "inspect",
            "--raw",
            &format!("oci:{}:2.0.0_b.1", layout.display()),
        ])
        .output()
        .expect("skopeo is installed (run scripts/test)");
    assert!(out.status.success(), "skopeo: {}", stderr(&out));
    assert_eq!(
        sha256(&out.stdout),
        v["manifestDigest"],
        "skopeo reads the manifest appkit wrote"
    );
    let m: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        m["config"]["mediaType"],
        "application/vnd.cncf.helm.config.v1+json"
    );

    let chart_ref = format!("oci-layout:{}/demo", layout.display());
    let out = run(&mut appkit_in(&[], &["versions", &chart_ref, "-o", "json"]));
    assert_eq!(json_out(&out)["versions"][0]["version"], "2.0.0+b.1");
    let pulled = w.path().join("pulled");
    let out = run(&mut appkit_in(
        &[],
        &[
            "pull",
            &chart_ref,
            "--version",
            "2.0.0+b.1",
            "-d",
            pulled.to_str().unwrap(),
        ],
    ));
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        std::fs::read(pulled.join("demo-2.0.0+b.1.tgz")).unwrap(),
        std::fs::read(&tgz).unwrap()
    );

    // A tampered blob is detected on pull.
    let layer = m["layers"][0]["digest"]
        .as_str()
        .unwrap()
        .trim_start_matches("sha256:")
        .to_string();
    std::fs::write(layout.join("blobs/sha256").join(layer), b"tampered").unwrap();
    let out = run(&mut appkit_in(
        &[],
        &[
            "pull",
            &chart_ref,
            "--version",
            "2.0.0+b.1",
            "-d",
            w.path().join("p2").to_str().unwrap(),
        ],
    ));
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("digest mismatch"), "{}", stderr(&out));
    assert!(!w.path().join("p2/demo-2.0.0+b.1.tgz").exists());
}

#[test]
fn bad_references_are_usage_errors() {
    let out = run(&mut appkit_in(
        &[],
        &["versions", "harbor.example.com/p/app"],
    ));
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("missing the oci:// scheme"),
        "{}",
        stderr(&out)
    );
    let out = run(&mut appkit_in(&[], &["push", "x.tgz", "oci://h/p:1.0"]));
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("the tag comes from the chart version"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_chart_directory_from_two_checkouts_pushes_to_the_same_digest_and_the_second_uploads_nothing() {
    let reg = Registry::anonymous();
    let w = Work::new();
    let a = w.chart("checkout-a", "3.0.0");
    let b = w.chart("checkout-b", "3.0.0");
    // Different file times and an extra ignored file in the second checkout's history.
    let old = std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_000_000);
    for f in ["Chart.yaml", "values.yaml", "templates/configmap.yaml"] {
        std::fs::File::options()
            .write(true)
            .open(b.join(f))
            .unwrap()
            .set_modified(old)
            .unwrap();
    }
    let first = push_json(&reg, &a, "p", &[]);
    assert_eq!(first["uploaded"], true);
    let posts = reg.count("POST", "/blobs/uploads/");
    assert!(
        posts >= 2,
        "the log records the first push: {:?}",
        reg.requests()
    );
    let heads = reg.count("HEAD", "/manifests/3.0.0");
    let second = push_json(&reg, &b, "p", &[]);
    assert!(
        reg.count("HEAD", "/manifests/3.0.0") > heads,
        "the log records the second push: {:?}",
        reg.requests()
    );
    assert_eq!(
        second["manifestDigest"], first["manifestDigest"],
        "same chart → same manifest digest"
    );
    assert_eq!(second["alreadyPublished"], true);
    assert_eq!(
        reg.count("POST", "/blobs/uploads/"),
        posts,
        "nothing uploaded"
    );

    // What appkit packaged and pushed is what Helm renders.
    let rendered = run_ok(
        helm(3, &w.home())
            .args(["template", "r", &reg.oci("p/demo"), "--version", "3.0.0"])
            .args(reg.helm_flags()),
    );
    assert!(rendered.contains("name: r-demo"), "{rendered}");

    // pull --untar extracts safely into DIR/<chart>, and refuses to overwrite it.
    let dest = w.path().join("untar");
    let out = run(&mut appkit_in(
        &reg.appkit_flags(),
        &[
            "pull",
            &reg.oci("p/demo"),
            "--version",
            "3.0.0",
            "--untar",
            "-d",
            dest.to_str().unwrap(),
        ],
    ));
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        std::fs::read_to_string(dest.join("demo/values.yaml")).unwrap(),
        std::fs::read_to_string(a.join("values.yaml")).unwrap()
    );
    let out = run(&mut appkit_in(
        &reg.appkit_flags(),
        &[
            "pull",
            &reg.oci("p/demo"),
            "--version",
            "3.0.0",
            "--untar",
            "-d",
            dest.to_str().unwrap(),
        ],
    ));
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("already exists"), "{}", stderr(&out));
}

#[test]
fn an_invalid_chart_is_refused_before_any_request() {
    let reg = Registry::anonymous();
    let w = Work::new();
    let chart = w.chart("bad", "not-a-version");
    let out = run(&mut appkit_in(
        &reg.appkit_flags(),
        &["push", chart.to_str().unwrap(), &reg.oci("p")],
    ));
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("version"), "{}", stderr(&out));
    let before = reg.requests_before_probe();
    assert!(before.is_empty(), "no request was made: {before:?}");
}
