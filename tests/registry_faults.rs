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
use crate::hostile::{measure, measure_with};
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

/// Pull through the proxy, measured and recorded in the hardening report as `case`.
fn pull(
    case: &str,
    proxy: &FaultProxy,
    dest: &Path,
    extra: &[&str],
    needle: &str,
) -> (Output, f64) {
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
    let out = measure_with(case, &appkit_in(&[], &args), Some(needle)).output();
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
            "blob truncated (every attempt)",
            fault("GET", "/blobs/", FaultAction::TruncateBody, 100),
            "broke off before its end (after 2 attempt(s))",
        ),
        (
            "manifest truncated (every attempt)",
            fault("GET", "/manifests/", FaultAction::TruncateBody, 100),
            "broke off before its end (after 2 attempt(s))",
        ),
        (
            "manifest of 5 MiB",
            fault(
                "GET",
                "/manifests/",
                FaultAction::Respond(
                    200,
                    "application/vnd.oci.image.manifest.v1+json",
                    vec![b' '; 5 * 1024 * 1024],
                ),
                100,
            ),
            "larger than 4194304 bytes",
        ),
        (
            "endless manifest body (no Content-Length)",
            fault(
                "GET",
                "/manifests/",
                FaultAction::Endless("application/vnd.oci.image.manifest.v1+json"),
                100,
            ),
            "larger than 4194304 bytes",
        ),
        (
            "endless blob body (no Content-Length)",
            fault(
                "GET",
                "/blobs/",
                FaultAction::Endless("application/octet-stream"),
                100,
            ),
            "sent more than",
        ),
        (
            "manifest corrupted",
            fault("GET", "/manifests/", FaultAction::CorruptBody, 100),
            "digest mismatch",
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
            "not a Helm chart",
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
        let (out, secs) = pull(
            &format!("pull: {case} (--retries 1 --request-timeout 2)"),
            &proxy,
            &dest,
            &["--retries", "1", "--request-timeout", "2"],
            needle,
        );
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{case}: {err}");
        // Before the error: only the retry notices ("…, retry 1 of 1 in 0.2 s") and the start
        // of a blob's download.
        let at = err
            .find("error: ")
            .unwrap_or_else(|| panic!("{case}: no error: {err}"));
        assert!(
            err[..at]
                .lines()
                .all(|l| l.contains(", retry ") || l.starts_with("downloading sha256:"))
                && err.contains(needle),
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
            fault("GET", "/blobs/", FaultAction::TruncateBody, 1),
            fault("GET", "/manifests/", FaultAction::TruncateBody, 1),
        ],
    );
    let dest = w.path().join("dest");
    let (out, _) = pull(
        "pull: 429 once, 502 twice, truncated manifest and blob once each",
        &proxy,
        &dest,
        &[],
        "",
    );
    assert!(out.status.success(), "{}", stderr(&out));
    // The pulled archive is the pushed one, byte for byte (the truncated bodies were retried,
    // not kept).
    let pushed = std::fs::read(w.path().join("pkg/demo-1.0.0.tgz")).unwrap();
    assert!(
        std::fs::read(dest.join("demo-1.0.0.tgz")).unwrap() == pushed,
        "the pulled archive differs from the pushed one"
    );
    // Every fault fired: one 429 and one truncated manifest, two 502s and one truncated blob,
    // then the answers that worked.
    let answered = |path: &str, status: u16| {
        proxy
            .requests()
            .iter()
            .filter(|(m, p, s)| m == "GET" && p.contains(path) && *s == status)
            .count()
    };
    assert_eq!(answered("/manifests/", 429), 1, "{:?}", proxy.requests());
    assert_eq!(answered("/blobs/", 502), 2, "{:?}", proxy.requests());
    // Each retry is one line on stderr with its cause (without --debug: CI logs say why a run
    // took longer), none under -q.
    let err = stderr(&out);
    let host = &proxy.host;
    assert!(
        err.contains(&format!("429 from {host} (GET ")) && err.contains(", retry 1 of 4 in "),
        "{err}"
    );
    assert_eq!(
        err.matches(&format!("502 from {host} (GET ")).count(),
        2,
        "{err}"
    );
    assert!(answered("/manifests/", 200) >= 2, "{:?}", proxy.requests());
    assert!(answered("/blobs/", 200) >= 2, "{:?}", proxy.requests());
    assert_eq!(
        proxy.count("GET", "/manifests/"),
        3,
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
    let out = measure_with(
        "push: manifest PUT stalls (--retries 1 --request-timeout 2)",
        &appkit_in(
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
        ),
        Some("timed out"),
    )
    .output();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("timed out"), "{err}");
    assert!(started.elapsed() < Duration::from_secs(15), "{err}");
    let (status, _) = reg.get(
        "/v2/p/demo/manifests/1.0.0",
        "application/vnd.oci.image.manifest.v1+json",
    );
    assert_eq!(status, 404, "no tag after a failed push");
}

/// `DIGEST_INVALID` on a manifest PUT is not about appkit's bytes (it hashed what it sends):
/// distribution answers it in a race, while another upload rewrites the link of a blob the
/// manifest references. It is tried again with a retry line, twice here, and the push lands;
/// answered every time, the push fails (exit 2) after three retries, without a tag.
#[test]
fn digest_invalid_on_a_manifest_put_is_retried() {
    let w = Work::new();
    let reg = Registry::anonymous();
    let answer = br#"{"errors":[{"code":"DIGEST_INVALID","message":"provided digest did not match uploaded content"}]}"#;
    let tgz = w.tgz("1.0.0");
    let push = |proxy: &FaultProxy| {
        run(&mut appkit_in(
            &[],
            &[
                "push",
                tgz.to_str().unwrap(),
                &proxy.oci("p"),
                "--plain-http",
            ],
        ))
    };

    let proxy = FaultProxy::start(
        &reg.host,
        vec![fault(
            "PUT",
            "/manifests/sha256:",
            FaultAction::Respond(400, "application/json", answer.to_vec()),
            2,
        )],
    );
    let out = push(&proxy);
    let err = stderr(&out);
    assert!(out.status.success(), "{err}");
    assert_eq!(err.matches("400 from ").count(), 2, "{err}");
    assert!(err.contains("retry 1 of 3 in 0.1 s"), "{err}");
    assert!(err.contains("retry 2 of 3 in 0.3 s"), "{err}");
    let (status, _) = reg.get(
        "/v2/p/demo/manifests/1.0.0",
        "application/vnd.oci.image.manifest.v1+json",
    );
    assert_eq!(status, 200, "the tag after the retried push");

    let reg = Registry::anonymous();
    let proxy = FaultProxy::start(
        &reg.host,
        vec![fault(
            "PUT",
            "/manifests/sha256:",
            FaultAction::Respond(400, "application/json", answer.to_vec()),
            100,
        )],
    );
    let started = Instant::now();
    let out = push(&proxy);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("DIGEST_INVALID"), "{err}");
    assert_eq!(err.matches("400 from ").count(), 3, "{err}");
    assert!(started.elapsed() < Duration::from_secs(10), "{err}");
    let (status, _) = reg.get(
        "/v2/p/demo/manifests/1.0.0",
        "application/vnd.oci.image.manifest.v1+json",
    );
    assert_eq!(status, 404, "no tag after a failed push");
}

/// A host that never completes the TCP handshake: a listener with a backlog of 0 whose accept
/// queue is already full, so the kernel drops further SYNs (what a firewalled or dead host does).
/// Returns the address, the listener and the connections that fill its queue (keep them alive).
fn unanswering_host() -> (
    std::net::SocketAddr,
    std::net::TcpListener,
    Vec<std::net::TcpStream>,
) {
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    socket
        .bind(
            &"127.0.0.1:0"
                .parse::<std::net::SocketAddr>()
                .unwrap()
                .into(),
        )
        .unwrap();
    socket.listen(0).unwrap();
    let listener: std::net::TcpListener = socket.into();
    let addr = listener.local_addr().unwrap();
    let mut fillers = Vec::new();
    for _ in 0..16 {
        match std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(300)) {
            Ok(s) => fillers.push(s),
            Err(_) => return (addr, listener, fillers),
        }
    }
    panic!("the accept queue never filled: cannot simulate an unanswering host");
}

/// Connecting to a host that never answers ends at --connect-timeout (per attempt, retried a
/// bounded number of times) with an error that says so — for pull and push.
#[test]
fn an_unanswering_host_hits_the_connect_timeout() {
    let w = Work::new();
    let (addr, _listener, _fillers) = unanswering_host();
    let tgz = w.tgz("1.0.0");
    let reference = format!("oci://{addr}/p");
    let dest = w.path().join("dest");
    std::fs::create_dir_all(&dest).unwrap();
    let demo = format!("{reference}/demo");
    let cases: Vec<(&str, Vec<&str>)> = vec![
        ("push", vec!["push", tgz.to_str().unwrap(), &reference]),
        (
            "pull",
            vec![
                "pull",
                &demo,
                "--version",
                "1.0.0",
                "-d",
                dest.to_str().unwrap(),
            ],
        ),
    ];
    for (case, mut args) in cases {
        args.extend_from_slice(&["--plain-http", "--connect-timeout", "1", "--retries", "1"]);
        let started = Instant::now();
        let out = measure(
            &format!(
                "{case}: host never answers the TCP handshake (--connect-timeout 1 --retries 1)"
            ),
            &appkit_in(&[], &args),
        )
        .output();
        let secs = started.elapsed().as_secs_f64();
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{case}: {err}");
        // The retry notice, then the error.
        let at = err
            .find("error: ")
            .unwrap_or_else(|| panic!("{case}: {err}"));
        assert!(
            err[..at].lines().all(|l| l.contains(", retry 1 of 1 in "))
                && err[at..].contains(&addr.to_string()),
            "{case}: {err}"
        );
        assert!(
            err.to_lowercase().contains("timed out") || err.to_lowercase().contains("timeout"),
            "{case}: the error does not say it timed out: {err}"
        );
        assert!(!err.contains("panicked"), "{case}: {err}");
        // Two attempts of 1 s plus backoff: well under the 10 s default, and not instant.
        assert!((1.9..9.0).contains(&secs), "{case}: took {secs:.1} s");
    }
    assert!(empty(&dest), "pull wrote something");
}

/// The tag list is read up to 16 MiB: an endless one is cut off with an error naming the limit.
/// A 1 MiB error page (over the 64 KiB error-body limit) ends as an error naming the status, with
/// none of the page shown. Both bounded in time and memory (`measure_with`). (The error-body limit
/// itself is not observable here: a page under it is not shown either unless it is the registry's
/// JSON error format.)
#[test]
fn endless_tag_lists_and_huge_error_bodies_are_read_with_limits() {
    let w = Work::new();
    let reg = registry_with_chart(&w);
    let proxy = FaultProxy::start(
        &reg.host,
        vec![fault(
            "GET",
            "/tags/list",
            FaultAction::Endless("application/json"),
            100,
        )],
    );
    let reference = proxy.oci("p/demo");
    let case = "versions: endless tag list (no Content-Length)";
    let needle = "larger than 16777216 bytes";
    let out = measure_with(
        case,
        &appkit_in(
            &[],
            &["versions", &reference, "--plain-http", "--retries", "0"],
        ),
        Some(needle),
    )
    .output();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{case}: {err}");
    assert!(err.contains(needle), "{case}: {err}");
    assert!(
        proxy
            .seen
            .lock()
            .unwrap()
            .iter()
            .any(|(_, p, _)| p.contains("/tags/list")),
        "{case}: the fault never fired"
    );

    let page = [b"<html>".as_slice(), &vec![b'x'; 1 << 20]].concat();
    let proxy = FaultProxy::start(
        &reg.host,
        vec![fault(
            "GET",
            "/manifests/",
            FaultAction::Respond(500, "text/html", page),
            100,
        )],
    );
    let dest = w.path().join("dest-500");
    let case = "pull: 500 with a 1 MiB error page (--retries 0)";
    let (out, _) = pull(case, &proxy, &dest, &["--retries", "0"], "answered 500");
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{case}: {err}");
    assert!(err.contains("answered 500"), "{case}: {err}");
    assert!(
        !err.contains("xxxxxxxx"),
        "{case}: the error page was shown"
    );
    assert!(err.len() < 4096, "{case}: {} bytes of stderr", err.len());
    assert!(empty(&dest), "{case}: pull wrote something");
}

/// A token service whose answer is over the 1 MiB token limit — announced by Content-Length, or
/// streamed without one — is refused at the limit: exit 2, bounded memory, the body never shown.
#[test]
fn a_token_answer_over_1_mib_is_refused_at_the_limit() {
    use crate::common::liar::{Log, Peer, Reply};
    use std::sync::{Arc, Mutex};
    for (case, streamed) in [
        ("token service: 2 MiB answer (Content-Length)", false),
        ("token service: endless answer (no Content-Length)", true),
    ] {
        let log: Log = Arc::new(Mutex::new(Vec::new()));
        let me = Arc::new(Mutex::new(String::new()));
        let me2 = me.clone();
        let peer = Peer::start(
            "127.0.0.1",
            None,
            log.clone(),
            Arc::new(move |i| {
                if i.request.target.starts_with("/token") {
                    return if streamed {
                        Reply::Stream {
                            content_type: "application/json",
                            total: 1 << 30,
                        }
                    } else {
                        Reply::Respond {
                            status: 200,
                            headers: vec![("Content-Type".into(), "application/json".into())],
                            body: format!("{{\"token\":\"{}\"}}", "t".repeat(2 << 20)).into_bytes(),
                        }
                    };
                }
                let realm = format!(
                    "Bearer realm=\"http://{}/token\",service=\"liar\"",
                    me2.lock().unwrap()
                );
                Reply::status(401, &[("WWW-Authenticate", realm.as_str())])
            }),
        );
        *me.lock().unwrap() = peer.addr.clone();
        let reference = format!("oci://{}/p/demo", peer.addr);
        let mut c = appkit_in(&["--plain-http".to_string()], &["versions", &reference]);
        c.env("APPKIT_REGISTRY_USERNAME", "robot")
            .env("APPKIT_REGISTRY_PASSWORD", "token-limit-SECRET");
        let run = measure_with(case, &c, Some("error:"));
        assert_eq!(run.code, Some(2), "{case}: {}", run.stderr);
        assert!(
            run.stderr.contains(&format!(
                "error: GET http://{}/token: the response is larger than 1048576 bytes; refusing to read it",
                peer.addr
            )) && run.stderr.contains("\nhint: appkit reads at most"),
            "{case}: {}",
            run.stderr
        );
        assert!(
            !run.stderr.contains("ttttttttt") && !run.stderr.contains("xxxxxxxx"),
            "{case}"
        );
        assert!(!run.stderr.contains("token-limit-SECRET"), "{case}");
        assert!(run.rss_kb > 0, "{case}: nothing was measured");
        assert!(run.rss_kb < 40 * 1024, "{case}: {} KiB", run.rss_kb);
        assert!(run.secs < 5.0, "{case}: {} s", run.secs);
        // The registry's challenge, then one request to the token service.
        let seen = log.lock().unwrap();
        assert_eq!(
            seen.iter()
                .filter(|s| s.target.starts_with("/token"))
                .count(),
            1,
            "{seen:?}"
        );
    }
}
