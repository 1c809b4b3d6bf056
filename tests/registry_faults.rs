//! Registry faults on the pull side and stalls (the push side's 503/429/dropped uploads are in
//! `oci_faults.rs`): a fault-injecting proxy in front of the real registry truncates or corrupts
//! blobs and manifests, serves a manifest that is not Helm's, stalls, or answers 502/429. Each run
//! is bounded: retried then success, or a clear exit-2 error — and `pull` never writes unverified
//! content.

use std::path::Path;
use std::process::Output;
use std::time::{Duration, Instant};

use crate::common::registry::{Fault, FaultAction, FaultProxy, Registry};
use crate::common::{run, stderr};
use crate::oci::{appkit_in, Work};

/// A registry with chart demo 1.0.0 pushed to `p/demo`.
fn registry_with_chart(w: &Work) -> Registry {
    let reg = Registry::anonymous();
    let tgz = w.tgz("1.0.0");
    let out = run(&mut appkit_in(
        &["--plain-http".to_string()],
        &["push", tgz.to_str().unwrap(), &reg.oci("p")],
    ));
    assert!(out.status.success(), "{}", stderr(&out));
    reg
}

fn pull(proxy: &FaultProxy, dest: &Path, extra: &[&str]) -> (Output, f64) {
    std::fs::create_dir_all(dest).unwrap();
    let started = Instant::now();
    let reference = proxy.oci("p/demo");
    let mut args = vec![
        "pull",
        reference.as_str(),
        "--version",
        "1.0.0",
        "--plain-http",
        "-d",
    ];
    let d = dest.to_str().unwrap();
    args.push(d);
    args.extend_from_slice(extra);
    let out = run(&mut appkit_in(&[], &args));
    (out, started.elapsed().as_secs_f64())
}

fn fault(method: &'static str, path: &'static str, action: FaultAction, times: usize) -> Fault {
    Fault {
        method,
        path_contains: path,
        action,
        times,
    }
}

fn empty(dest: &Path) -> bool {
    std::fs::read_dir(dest).unwrap().next().is_none()
}

/// Each fault that must end in a clear error, with nothing written.
#[test]
fn corrupt_truncated_foreign_and_stalled_answers_fail_cleanly_and_write_nothing() {
    let w = Work::new();
    let reg = registry_with_chart(&w);
    let image_manifest = br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2},"layers":[]}"#.to_vec();
    let cases: Vec<(&str, Fault, &str)> = vec![
        (
            "blob corrupted (digest mismatch)",
            fault("GET", "/blobs/", FaultAction::CorruptBody, 100),
            "digest",
        ),
        (
            "blob truncated",
            fault("GET", "/blobs/", FaultAction::TruncateBody, 100),
            "",
        ),
        (
            "manifest truncated",
            fault("GET", "/manifests/", FaultAction::TruncateBody, 100),
            "",
        ),
        (
            "manifest corrupted",
            fault("GET", "/manifests/", FaultAction::CorruptBody, 100),
            "",
        ),
        (
            "manifest of a container image, not a Helm chart",
            fault(
                "GET",
                "/manifests/",
                FaultAction::Respond(
                    200,
                    "application/vnd.oci.image.manifest.v1+json",
                    image_manifest,
                ),
                100,
            ),
            "",
        ),
        (
            "manifest request stalls (request timeout 2 s)",
            fault(
                "GET",
                "/manifests/",
                FaultAction::Stall(Duration::from_secs(30)),
                100,
            ),
            "timed out",
        ),
        (
            "blob request stalls (request timeout 2 s)",
            fault(
                "GET",
                "/blobs/",
                FaultAction::Stall(Duration::from_secs(30)),
                100,
            ),
            "timed out",
        ),
        (
            "502 on every blob request",
            fault("GET", "/blobs/", FaultAction::Status(502, None), 100),
            "502",
        ),
    ];
    for (i, (case, f, needle)) in cases.into_iter().enumerate() {
        let proxy = FaultProxy::start(&reg.host, vec![f]);
        let dest = w.path().join(format!("dest{i}"));
        let (out, secs) = pull(&proxy, &dest, &["--retries", "1", "--request-timeout", "2"]);
        let err = stderr(&out);
        eprintln!(
            "| {case} | {:?} | {secs:.2} s | {} |",
            out.status.code(),
            err.lines().next().unwrap_or_default()
        );
        assert_eq!(out.status.code(), Some(2), "{case}: {err}");
        assert!(
            err.starts_with("error: ") && err.contains(needle),
            "{case}: {err}"
        );
        assert!(!err.contains("panicked"), "{case}: {err}");
        assert!(empty(&dest), "{case}: pull wrote unverified content");
        assert!(secs < 15.0, "{case}: took {secs:.1} s");
    }
}

/// Transient faults are retried and the pull then succeeds with verified content.
#[test]
fn transient_502_and_429_on_pull_are_retried() {
    let w = Work::new();
    let reg = registry_with_chart(&w);
    let proxy = FaultProxy::start(
        &reg.host,
        vec![
            fault("GET", "/manifests/", FaultAction::Status(429, None), 1),
            fault("GET", "/blobs/", FaultAction::Status(502, None), 2),
        ],
    );
    let dest = w.path().join("dest");
    let (out, _) = pull(&proxy, &dest, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(dest.join("demo-1.0.0.tgz").is_file());
    assert_eq!(
        proxy.count("GET", "/manifests/"),
        2,
        "{:?}",
        proxy.requests()
    );
}

/// A push whose manifest PUT stalls times out, and no tag is left behind.
#[test]
fn a_stalled_manifest_put_times_out_without_a_tag() {
    let w = Work::new();
    let reg = Registry::anonymous();
    let proxy = FaultProxy::start(
        &reg.host,
        vec![fault(
            "PUT",
            "/manifests/",
            FaultAction::Stall(Duration::from_secs(30)),
            100,
        )],
    );
    let tgz = w.tgz("1.0.0");
    let started = Instant::now();
    let out = run(&mut appkit_in(
        &[],
        &[
            "push",
            tgz.to_str().unwrap(),
            &proxy.oci("p"),
            "--plain-http",
            "--retries",
            "1",
            "--request-timeout",
            "2",
        ],
    ));
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(started.elapsed() < Duration::from_secs(15), "{err}");
    let (status, _) = reg.get(
        "/v2/p/demo/manifests/1.0.0",
        "application/vnd.oci.image.manifest.v1+json",
    );
    assert_eq!(status, 404, "no tag after a failed push");
}
