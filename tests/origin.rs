//! Credentials stay home (SECURITY.md, "Credentials"): a lying registry on loopback — asking for
//! Basic credentials and forwarding to a real distribution registry — hands out URLs on another
//! host (127.0.0.2): an upload `Location`, a tag-list `Link`, a 307 for a blob GET. The other host
//! must never receive the registry's `Authorization` header; URLs on another origin that would
//! carry the registry's requests are refused (exit 2, naming the URL) before anything is sent
//! there, a blob redirect is followed without credentials (Harbor on S3), and a tag list that
//! loops or never ends stops at its bound. An HTTPS registry whose token realm is plain HTTP gets
//! no request to the realm at all.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use crate::common::liar::{basic_auth, seen_by, Log, Peer, Reply};
use crate::common::registry::{Auth, Options, Registry};
use crate::common::{stderr, stdout};
use crate::oci::{appkit_in, Work};

const USER: &str = "robot$liar";
const PASSWORD: &str = "Liar-Pa55-9c1e-SECRET";

/// The lying registry (127.0.0.1) and "another host" (127.0.0.2), both forwarding to `upstream`.
struct Liars {
    log: Log,
    registry: Peer,
    other: Peer,
    _upstream: Registry,
}

impl Liars {
    /// `rewrite` decides the registry's answers (after the Basic challenge); the other host
    /// forwards everything.
    fn start(rewrite: impl Fn(&str, &str, &str) -> Reply + Send + Sync + 'static) -> Liars {
        let upstream = Registry::anonymous();
        let log: Log = Arc::new(Mutex::new(Vec::new()));
        let other = Peer::start(
            "127.0.0.2",
            Some(upstream.host.clone()),
            log.clone(),
            Arc::new(|_| Reply::forward()),
        );
        let other_addr = other.addr.clone();
        let registry = Peer::start(
            "127.0.0.1",
            Some(upstream.host.clone()),
            log.clone(),
            basic_auth(move |r| rewrite(&r.method, &r.target, &other_addr)),
        );
        Liars {
            log,
            registry,
            other,
            _upstream: upstream,
        }
    }

    fn oci(&self, path: &str) -> String {
        format!("oci://{}/{path}", self.registry.addr)
    }

    /// Run appkit with the registry's credentials from the environment, at full verbosity.
    fn run(&self, args: &[&str]) -> std::process::Output {
        let mut c = appkit_in(&["--plain-http".to_string()], args);
        c.arg("--debug")
            .env("APPKIT_REGISTRY_USERNAME", USER)
            .env("APPKIT_REGISTRY_PASSWORD", PASSWORD);
        c.output().unwrap()
    }

    fn registry_requests(&self) -> usize {
        seen_by(&self.log, &self.registry).len()
    }

    /// Requests the other host got, and how many carried an `Authorization` header.
    fn other_requests(&self) -> (usize, usize) {
        let seen = seen_by(&self.log, &self.other);
        let with_auth = seen.iter().filter(|s| s.authorization.is_some()).count();
        (seen.len(), with_auth)
    }
}

fn assert_no_secret(case: &str, out: &std::process::Output) {
    let all = format!("{}\n{}", stdout(out), stderr(out));
    let b64 = {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.encode(format!("{USER}:{PASSWORD}"))
    };
    for s in [PASSWORD, b64.as_str(), b64.trim_end_matches('=')] {
        assert!(!all.contains(s), "{case}: printed a secret:\n{all}");
    }
}

#[test]
fn an_upload_location_on_another_host_is_refused_before_anything_is_sent_there() {
    let l = Liars::start(|method, target, other| {
        if method == "POST" && target.contains("/blobs/uploads/") {
            // The upstream's own Location, moved to the other host.
            Reply::Forward(vec![(
                "Location".into(),
                Some(format!("http://{other}/v2/p/demo/blobs/uploads/stolen")),
            )])
        } else {
            Reply::forward()
        }
    });
    let w = Work::new();
    let tgz = w.tgz("0.1.0");
    let started = Instant::now();
    let out = l.run(&["push", tgz.to_str().unwrap(), &l.oci("p"), "--retries", "0"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("error: the upload Location from 127.0.0.1:")
            && err.contains(&format!(
                "refused http://{}/v2/p/demo/blobs/uploads/stolen",
                l.other.addr
            ))
            && err.contains("another origin than the registry"),
        "{err}"
    );
    assert!(
        err.contains("hint: the registry must give URLs on its own address"),
        "{err}"
    );
    assert!(started.elapsed().as_secs_f64() < 10.0);
    // The registry saw the push (a positive count first), the other host nothing at all.
    assert!(l.registry_requests() >= 3, "{:?}", l.log.lock().unwrap());
    assert_eq!(l.other_requests(), (0, 0));
    assert_no_secret("upload Location", &out);
}

#[test]
fn a_tag_list_link_to_another_host_is_refused() {
    let l = Liars::start(|method, target, other| {
        if method == "GET" && target.contains("/tags/list") {
            Reply::Forward(vec![(
                "Link".into(),
                Some(format!(
                    "<http://{other}/v2/p/demo/tags/list?n=1000&last=0.1.0>; rel=\"next\""
                )),
            )])
        } else {
            Reply::forward()
        }
    });
    let w = Work::new();
    let tgz = w.tgz("0.1.0");
    // Publish through the upstream directly is not needed: the tag list of an empty
    // repository is a 404 without a Link, so push first (no Link rewrite matters for push).
    let out = l.run(&["push", tgz.to_str().unwrap(), &l.oci("p")]);
    assert!(out.status.success(), "{}", stderr(&out));
    for args in [
        vec!["versions", "REF"],
        vec!["versions", "REF", "-o", "json"],
    ] {
        let reference = l.oci("p/demo");
        let args: Vec<&str> = args
            .iter()
            .map(|a| if *a == "REF" { reference.as_str() } else { a })
            .collect();
        let out = l.run(&args);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(
            err.contains("error: the tag list's Link from 127.0.0.1:")
                && err.contains(&format!(
                    "refused http://{}/v2/p/demo/tags/list",
                    l.other.addr
                )),
            "{err}"
        );
        assert_no_secret("tag-list Link", &out);
    }
    assert_eq!(l.other_requests(), (0, 0));
}

#[test]
fn a_blob_redirected_to_another_host_is_fetched_there_without_credentials() {
    let l = Liars::start(|method, target, other| {
        if method == "GET" && target.contains("/blobs/sha256:") {
            let to = format!("http://{other}{target}?X-Amz-Signature=presigned-secret");
            Reply::Respond {
                status: 307,
                headers: vec![("Location".into(), to)],
                body: Vec::new(),
            }
        } else {
            Reply::forward()
        }
    });
    let w = Work::new();
    let tgz = w.tgz("0.1.0");
    let out = l.run(&["push", tgz.to_str().unwrap(), &l.oci("p")]);
    assert!(out.status.success(), "{}", stderr(&out));
    let dest = w.path().join("pulled");
    let out = l.run(&[
        "pull",
        &format!("{}:0.1.0", l.oci("p/demo")),
        "-d",
        dest.to_str().unwrap(),
    ]);
    let err = stderr(&out);
    assert!(out.status.success(), "{err}");
    // The pulled archive is the pushed one (the digests were verified on the way).
    let pulled = std::fs::read(dest.join("demo-0.1.0.tgz")).unwrap();
    assert_eq!(pulled, std::fs::read(&tgz).unwrap());
    // Config and chart layer came from the other host, neither with the registry's credentials.
    let (n, with_auth) = l.other_requests();
    assert!(n >= 2, "{:?}", l.log.lock().unwrap());
    assert_eq!(with_auth, 0, "{:?}", l.log.lock().unwrap());
    // The presigned URL's signature is not shown in the debug lines.
    assert!(!err.contains("presigned-secret"), "{err}");
    assert!(err.contains("?…"), "{err}");
    assert_no_secret("blob redirect", &out);
}

#[test]
fn a_redirect_loop_ends_after_five_hops() {
    let l = Liars::start(|method, target, _| {
        if method == "GET" && target.contains("/tags/list") {
            Reply::status(307, &[("Location", "/v2/p/demo/tags/list?n=1000&again=1")])
        } else {
            Reply::forward()
        }
    });
    let out = l.run(&["versions", &l.oci("p/demo")]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("more than 5 redirects"), "{err}");
    let tags = seen_by(&l.log, &l.registry)
        .iter()
        .filter(|s| s.target.contains("/tags/list"))
        .count();
    // The challenge, the first request, five followed redirects.
    assert_eq!(tags, 7, "{:?}", l.log.lock().unwrap());
}

/// A tag list whose every page has 1,000 new tags of `name_len` bytes and links to the next.
fn endless_tags(name_len: usize) -> Liars {
    Liars::start(move |method, target, _| {
        if !(method == "GET" && target.contains("/tags/list")) {
            return Reply::forward();
        }
        let page: usize = target
            .split("last=")
            .nth(1)
            .and_then(|p| p.parse().ok())
            .unwrap_or(0);
        let tags: Vec<String> = (0..1000)
            .map(|i| format!("{:0>width$}", page * 1000 + i, width = name_len))
            .collect();
        let body = serde_json::json!({"name": "p/demo", "tags": tags}).to_string();
        Reply::Respond {
            status: 200,
            headers: vec![
                ("Content-Type".into(), "application/json".into()),
                (
                    "Link".into(),
                    format!(
                        "</v2/p/demo/tags/list?n=1000&last={}>; rel=\"next\"",
                        page + 1
                    ),
                ),
            ],
            body: body.into_bytes(),
        }
    })
}

#[test]
fn an_endless_tag_list_stops_at_the_page_bound() {
    let l = endless_tags(8);
    let started = Instant::now();
    let out = l.run(&["versions", &l.oci("p/demo")]);
    let took = started.elapsed().as_secs_f64();
    let err = stderr(&out);
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        &err[err.len().saturating_sub(2000)..]
    );
    assert!(
        err.contains("the tag list goes on for more than 1000 pages (1000000 tags so far)"),
        "{}",
        &err[err.len().saturating_sub(2000)..]
    );
    assert!(
        err.contains("hint: the registry at 127.0.0.1:"),
        "{}",
        &err[err.len().saturating_sub(2000)..]
    );
    // 1,000 pages and the challenge.
    assert_eq!(l.registry_requests(), 1001);
    assert!(took < 30.0, "{took} s");
}

#[test]
fn a_tag_list_too_large_in_total_stops_at_the_byte_bound() {
    // 1,000 tags of 1,000 bytes: ~1 MB a page, the 16 MiB total is reached on page 17.
    let l = endless_tags(1000);
    let out = l.run(&["versions", &l.oci("p/demo"), "-o", "json"]);
    let err = stderr(&out);
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        &err[err.len().saturating_sub(2000)..]
    );
    assert!(
        err.contains(
            "the tag list is larger than 16777216 bytes over 17 pages (16000 tags so far)"
        ),
        "{}",
        &err[err.len().saturating_sub(2000)..]
    );
    assert!(stdout(&out).trim().is_empty() || stdout(&out).contains("\"error\""));
}

#[test]
fn a_tag_list_linking_to_itself_is_a_loop() {
    let l = Liars::start(|method, target, _| {
        if method == "GET" && target.contains("/tags/list") {
            let body = br#"{"name":"p/demo","tags":["0.1.0"]}"#.to_vec();
            Reply::Respond {
                status: 200,
                headers: vec![
                    ("Content-Type".into(), "application/json".into()),
                    (
                        "Link".into(),
                        "</v2/p/demo/tags/list?n=1000>; rel=\"next\"".into(),
                    ),
                ],
                body,
            }
        } else {
            Reply::forward()
        }
    });
    let out = l.run(&["versions", &l.oci("p/demo")]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("its `Link` points back at a page already read (after 1 page)"),
        "{err}"
    );
    // The challenge and one page: the loop is seen before a second request.
    assert_eq!(l.registry_requests(), 2, "{:?}", l.log.lock().unwrap());
}

#[test]
fn an_https_registry_with_a_plain_http_token_realm_gets_no_credentials_sent_there() {
    // The test token service listens on plain HTTP; the registry in front serves TLS.
    let reg = Registry::start(Options {
        auth: Auth::Token {
            user: USER.into(),
            password: PASSWORD.into(),
        },
        tls: true,
    });
    let ca = reg.ca_file.clone().unwrap();
    let issuer = reg.token.as_ref().unwrap();
    let mut c = appkit_in(
        &[],
        &[
            "versions",
            &reg.oci("p/demo"),
            "--ca-file",
            ca.to_str().unwrap(),
            "--debug",
        ],
    );
    c.env("APPKIT_REGISTRY_USERNAME", USER)
        .env("APPKIT_REGISTRY_PASSWORD", PASSWORD);
    let out = c.output().unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains(&format!(
            "error: the token realm of {}: refused {}",
            reg.host, issuer.realm
        )) && err.contains("the registry is HTTPS but its token service is plain HTTP"),
        "{err}"
    );
    assert!(
        err.contains("hint: serve the token service over HTTPS"),
        "{err}"
    );
    // The registry answered the first request with its challenge; the realm got nothing.
    assert!(reg.count("GET", "/v2/") >= 1, "{}", reg.log_text());
    assert!(issuer.seen.lock().unwrap().is_empty());
    assert_no_secret("http realm", &out);
}
