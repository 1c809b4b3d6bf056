//! Faults between appkit and the registry (a proxy that answers 503/429 or drops connections, a
//! registry that is down): retried or a clear exit-2 error, and never a tag to missing blobs.

use std::path::Path;
use std::process::Output;

use crate::common::registry::{Fault, FaultAction, FaultProxy, Registry};
use crate::common::sha256;
use crate::common::stderr;
use crate::hostile::{measure, measure_with};
use crate::oci::{appkit_in, get_json, json_out, Work};

/// Push through the proxy, measured and recorded in the hardening report as `case`.
fn proxy_push(case: &str, proxy: &FaultProxy, tgz: &Path, extra: &[&str]) -> Output {
    let dest = proxy.oci("p");
    let mut args = vec![
        "push",
        tgz.to_str().unwrap(),
        dest.as_str(),
        "--plain-http",
        "-o",
        "json",
    ];
    args.extend_from_slice(extra);
    measure(case, &appkit_in(&[], &args)).output()
}

#[test]
fn retries_503_twice_then_succeeds() {
    let reg = Registry::anonymous();
    let proxy = FaultProxy::start(
        &reg.host,
        vec![Fault {
            method: "HEAD",
            path_contains: "/manifests/",
            action: FaultAction::Status(503, None),
            times: 2,
        }],
    );
    let w = Work::new();
    let out = proxy_push(
        "push: 503 twice on the tag HEAD",
        &proxy,
        &w.tgz("1.0.0"),
        &[],
    );
    let v = json_out(&out);
    assert_eq!(v["uploaded"], true);
    // Two 503s and the answer of the pre-check, then the check right before the tag PUT and the
    // two read-backs after it (src/oci/repository.rs).
    assert_eq!(proxy.count("HEAD", "/manifests/1.0.0"), 6);
}

#[test]
fn honours_retry_after_on_429() {
    let reg = Registry::anonymous();
    let proxy = FaultProxy::start(
        &reg.host,
        vec![Fault {
            method: "PUT",
            path_contains: "/manifests/",
            action: FaultAction::Status(429, Some(2)),
            times: 1,
        }],
    );
    let w = Work::new();
    let tgz = w.tgz("1.0.0");
    let started = std::time::Instant::now();
    let v = json_out(&proxy_push(
        "push: 429 with Retry-After: 2 on the manifest PUT",
        &proxy,
        &tgz,
        &[],
    ));
    assert!(
        started.elapsed() >= std::time::Duration::from_secs(2),
        "waited Retry-After"
    );
    assert_eq!(v["uploaded"], true);
    // The manifest stored by digest (429, then again) and the tag PUT.
    assert_eq!(proxy.count("PUT", "/manifests/"), 3);
}

#[test]
fn a_connection_dropped_mid_upload_restarts_the_upload() {
    let reg = Registry::anonymous();
    let proxy = FaultProxy::start(
        &reg.host,
        vec![Fault {
            method: "PUT",
            path_contains: "/blobs/uploads/",
            action: FaultAction::DropMidBody,
            times: 1,
        }],
    );
    let w = Work::new();
    let v = json_out(&proxy_push(
        "push: connection reset in the middle of a blob upload",
        &proxy,
        &w.tgz("1.0.0"),
        &[],
    ));
    assert_eq!(v["uploaded"], true);
    let (body, _) = get_json(&reg, "/v2/p/demo/manifests/1.0.0");
    assert_eq!(sha256(&body), v["manifestDigest"]);
    assert_eq!(
        proxy.count("POST", "/blobs/uploads/"),
        3,
        "one restarted upload: {:?}",
        proxy.requests()
    );
}

#[test]
fn a_failing_blob_upload_never_leaves_a_tag() {
    let reg = Registry::anonymous();
    let proxy = FaultProxy::start(
        &reg.host,
        vec![Fault {
            method: "PUT",
            path_contains: "/blobs/uploads/",
            action: FaultAction::Status(500, None),
            times: 100,
        }],
    );
    let w = Work::new();
    let out = proxy_push(
        "push: 500 on every blob upload (--retries 1)",
        &proxy,
        &w.tgz("1.0.0"),
        &["--retries", "1"],
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("500"), "{}", stderr(&out));
    assert_eq!(
        proxy.count("PUT", "/manifests/"),
        0,
        "manifest never written"
    );
    let (status, _) = reg.get(
        "/v2/p/demo/manifests/1.0.0",
        "application/vnd.oci.image.manifest.v1+json",
    );
    assert_eq!(status, 404);
}

#[test]
fn a_registry_that_is_down_is_a_clear_error() {
    let port = crate::common::registry::free_port();
    let w = Work::new();
    let tgz = w.tgz("1.0.0");
    let dest = format!("oci://127.0.0.1:{port}/p");
    let started = std::time::Instant::now();
    let out = measure_with(
        "push: registry down (connection refused, --retries 2)",
        &appkit_in(
            &[],
            &[
                "push",
                tgz.to_str().unwrap(),
                &dest,
                "--plain-http",
                "--retries",
                "2",
            ],
        ),
        Some("connection"),
    )
    .output();
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("after 3 attempt(s)") && err.contains("running and reachable"),
        "{err}"
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
}

/// "202 on blob mount": a registry answers a cross-repository mount request
/// (`POST …/blobs/uploads/?mount=<digest>&from=<repo>`) with 202 when it does not mount, and the
/// client must then upload. appkit never asks to mount: pushing the same chart to a second
/// repository of the same registry HEADs each blob there and uploads the missing ones, so a
/// refused mount cannot strand it. This proves it against the real registry, through the proxy
/// that records every request.
#[test]
fn a_second_repository_gets_its_blobs_uploaded_never_mounted() {
    let reg = Registry::anonymous();
    let proxy = FaultProxy::start(&reg.host, vec![]);
    let w = Work::new();
    let tgz = w.tgz("1.0.0");
    for repo in ["p", "q"] {
        let out = measure(
            &format!("push: same chart to a second repository ({repo}): no mount request"),
            &appkit_in(
                &[],
                &[
                    "push",
                    tgz.to_str().unwrap(),
                    &proxy.oci(repo),
                    "--plain-http",
                    "-o",
                    "json",
                ],
            ),
        )
        .output();
        let v = json_out(&out);
        assert_eq!(v["uploaded"], true, "{repo}: {v}");
    }
    let requests = proxy.requests();
    assert!(
        !requests.iter().any(|(_, t, _)| t.contains("mount=")),
        "appkit asked to mount a blob: {requests:?}"
    );
    // Each repository: every upload session started with 202 and finished with 201.
    for repo in ["p", "q"] {
        let posts: Vec<_> = requests
            .iter()
            .filter(|(m, t, _)| {
                m == "POST" && t.starts_with(&format!("/v2/{repo}/demo/blobs/uploads/"))
            })
            .collect();
        assert_eq!(posts.len(), 2, "{repo}: config + chart layer: {requests:?}");
        assert!(posts.iter().all(|(_, _, code)| *code == 202), "{posts:?}");
        let puts = requests
            .iter()
            .filter(|(m, t, c)| {
                m == "PUT" && t.starts_with(&format!("/v2/{repo}/demo/blobs/uploads/")) && *c == 201
            })
            .count();
        assert_eq!(puts, 2, "{repo}: {requests:?}");
    }
    // Both tags resolve to the same manifest, and its blobs are in both repositories.
    let manifest = |repo: &str| get_json(&reg, &format!("/v2/{repo}/demo/manifests/1.0.0")).1;
    let (p, q) = (manifest("p"), manifest("q"));
    assert_eq!(p, q);
    for repo in ["p", "q"] {
        for d in std::iter::once(&p["config"]).chain(p["layers"].as_array().unwrap()) {
            let (status, bytes) = reg.get(
                &format!("/v2/{repo}/demo/blobs/{}", d["digest"].as_str().unwrap()),
                "*/*",
            );
            assert_eq!(status, 200, "{repo}");
            assert_eq!(sha256(&bytes), d["digest"].as_str().unwrap());
        }
    }
}
