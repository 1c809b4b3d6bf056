//! What the registry answers when the question is wrong, against the real distribution registry:
//!
//! * `versions` of a repository that does not exist (distribution answers the tag list with 404
//!   `NAME_UNKNOWN`) is an error naming the repository (exit 1); a repository whose tags were all
//!   deleted (200, `"tags": null`) still has "no published versions" (exit 0); the first
//!   `publish` and `push` to a new repository work as before;
//! * a tag list the registry refuses (401 from htpasswd, 403 as Harbor answers for a project a
//!   robot account cannot see) is a permission problem (exit 2), never "does not exist";
//! * TLS against a plain-HTTP registry, and `--plain-http` against a TLS one, are recognised on
//!   the first answer — one connection, no retries — and the hint names the flag that fixes it.
//!
//! Connections are counted by a transparent TCP relay in front of the real registry (neither
//! side of a protocol mismatch reaches the registry's access log).

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common::registry::{
    http_request, Auth, Fault, FaultAction, FaultProxy, Options, Registry,
};
use crate::common::{appkit, example_platform, run, stderr, stdout};
use crate::oci::{appkit_in, fixture_chart};

/// A TCP relay on 127.0.0.1 in front of `upstream`: bytes pass unchanged both ways (TLS
/// included); it counts the connections made to it.
struct Relay {
    host: String,
    connections: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
}

impl Relay {
    fn start(upstream: &str) -> Relay {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let host = listener.local_addr().unwrap().to_string();
        listener.set_nonblocking(true).unwrap();
        let connections = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (count, stop2, upstream) = (connections.clone(), stop.clone(), upstream.to_string());
        std::thread::spawn(move || {
            while !stop2.load(Ordering::Relaxed) {
                let Ok((client, _)) = listener.accept() else {
                    std::thread::sleep(Duration::from_millis(5));
                    continue;
                };
                count.fetch_add(1, Ordering::SeqCst);
                client.set_nonblocking(false).unwrap();
                let Ok(server) = TcpStream::connect(&upstream) else {
                    continue;
                };
                pipe(client.try_clone().unwrap(), server.try_clone().unwrap());
                pipe(server, client);
            }
        });
        Relay {
            host,
            connections,
            stop,
        }
    }

    fn oci(&self, path: &str) -> String {
        format!("oci://{}/{path}", self.host)
    }

    fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// Copy `from` to `to` on a thread until `from` ends, then end `to`'s writing side.
fn pipe(mut from: TcpStream, mut to: TcpStream) {
    std::thread::spawn(move || {
        let mut buf = [0u8; 16 * 1024];
        loop {
            match from.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if to.write_all(&buf[..n]).is_err() {
                        break;
                    }
                }
            }
        }
        let _ = to.shutdown(Shutdown::Write);
    });
}

/// Run `cmd`; its output and wall time in seconds.
fn timed(cmd: &mut Command) -> (Output, f64) {
    let started = Instant::now();
    let out = run(cmd);
    (out, started.elapsed().as_secs_f64())
}

// ---------------------------------------------------------------------------------------------
// A repository that does not exist, and one without tags

#[test]
fn versions_of_a_repository_that_does_not_exist_names_it_and_exits_1() {
    let reg = Registry::anonymous();
    // What distribution itself answers, independently of appkit.
    let (status, body) = reg.get("/v2/platform/nope/tags/list", "application/json");
    let body = String::from_utf8_lossy(&body).to_string();
    assert_eq!(status, 404, "{body}");
    assert!(body.contains("\"code\":\"NAME_UNKNOWN\""), "{body}");

    let chart = reg.oci("platform/nope");
    for json in [false, true] {
        let mut args = vec!["versions", chart.as_str()];
        if json {
            args.extend(["-o", "json"]);
        }
        let out = run(&mut appkit_in(&reg.appkit_flags(), &args));
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(1), "json={json}: {err}");
        assert!(
            err.contains(&format!(
                "error: repository {chart} does not exist (the registry answered 404 NAME_UNKNOWN to the tag list)"
            )),
            "json={json}: {err}"
        );
        assert!(
            err.contains("hint: check the name")
                && err.contains("oci://HOST/PROJECT/CHART")
                && err.contains("nothing was published there yet"),
            "json={json}: {err}"
        );
        assert!(!err.contains("no published versions"), "{err}");
        if !json {
            assert!(stdout(&out).is_empty(), "{}", stdout(&out));
        }
    }
    // The namespace instead of the chart's repository is the same mistake, said the same way.
    let out = run(&mut appkit_in(
        &reg.appkit_flags(),
        &["versions", &reg.oci("platform")],
    ));
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(&format!(
            "repository {} does not exist",
            reg.oci("platform")
        )),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_repository_whose_tags_were_all_deleted_has_no_published_versions() {
    let reg = Registry::anonymous();
    let chart_dir = fixture_chart();
    let out = run(&mut appkit_in(
        &reg.appkit_flags(),
        &[
            "push",
            chart_dir.to_str().unwrap(),
            &reg.oci("platform"),
            "-o",
            "json",
        ],
    ));
    assert!(out.status.success(), "{}", stderr(&out));
    let pushed: Value = serde_json::from_slice(&out.stdout).unwrap();
    let digest = pushed["manifestDigest"].as_str().unwrap();
    // Delete the manifest (the test registry allows deletes): distribution drops its tags and
    // keeps the repository, whose tag list is then 200 with `"tags": null`.
    let (status, body) = http_request(
        &reg.host,
        "DELETE",
        &format!("/v2/platform/demo/manifests/{digest}"),
        &[],
        b"",
    );
    assert_eq!(status, 202, "{}", String::from_utf8_lossy(&body));
    let (status, body) = reg.get("/v2/platform/demo/tags/list", "application/json");
    let listed: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(status, 200, "{listed}");
    assert!(
        listed["tags"].as_array().is_none_or(|t| t.is_empty()),
        "{listed}"
    );

    let chart = reg.oci("platform/demo");
    let out = run(&mut appkit_in(&reg.appkit_flags(), &["versions", &chart]));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(&format!("no published versions at {chart}")),
        "{}",
        stderr(&out)
    );
    assert!(!stderr(&out).contains("does not exist"), "{}", stderr(&out));
    let out = run(&mut appkit_in(
        &reg.appkit_flags(),
        &["versions", &chart, "-o", "json"],
    ));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        serde_json::from_slice::<Value>(&out.stdout).unwrap(),
        serde_json::json!({"schemaVersion": 1, "repository": chart, "versions": []})
    );
}

/// A copy of the example platform repo publishing to `repository` (no lock yet).
fn platform(dir: &Path, repository: &str) -> std::path::PathBuf {
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

#[test]
fn the_first_publish_and_push_to_a_new_repository_still_work() {
    let reg = Registry::anonymous();
    let dir = tempfile::tempdir().unwrap();
    let root = platform(dir.path(), &reg.oci("platform"));
    let chart = reg.oci("platform/app");
    let version = std::fs::read_to_string(root.join("../chart/Chart.yaml"))
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("version:"))
        .unwrap()
        .trim()
        .to_string();

    // Nothing there yet: `versions` says so.
    let out = run(&mut appkit_in(&reg.appkit_flags(), &["versions", &chart]));
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("does not exist"), "{}", stderr(&out));

    // The first publish compares with "no versions" and creates the repository.
    let mut c = appkit();
    c.current_dir(&root)
        .args(["publish", "--plain-http", "-o", "json"])
        .env_remove("SOURCE_DATE_EPOCH")
        .env(
            "HELM_REGISTRY_CONFIG",
            "/nonexistent/appkit-test/config.json",
        )
        .env("DOCKER_CONFIG", "/nonexistent/appkit-test");
    let out = run(&mut c);
    assert!(out.status.success(), "{}", stderr(&out));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["uploaded"], true, "{v}");
    assert!(
        reg.count("GET", "/v2/platform/app/tags/list") >= 1,
        "publish read the (missing) tag list first: {:?}",
        reg.requests()
    );
    let out = run(&mut appkit_in(&reg.appkit_flags(), &["versions", &chart]));
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).starts_with(&format!("{version} ")),
        "{}",
        stdout(&out)
    );

    // A first push to another new repository.
    let out = run(&mut appkit_in(
        &reg.appkit_flags(),
        &["push", fixture_chart().to_str().unwrap(), &reg.oci("fresh")],
    ));
    assert!(out.status.success(), "{}", stderr(&out));
    let out = run(&mut appkit_in(
        &reg.appkit_flags(),
        &["versions", &reg.oci("fresh/demo")],
    ));
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).starts_with("0.1.0 "), "{}", stdout(&out));

    // A pull by range from a repository that does not exist is still "no version matches".
    let dest = dir.path().join("pulled");
    std::fs::create_dir_all(&dest).unwrap();
    let out = run(&mut appkit_in(
        &reg.appkit_flags(),
        &[
            "pull",
            &reg.oci("platform/nope"),
            "--version",
            "^1",
            "-d",
            dest.to_str().unwrap(),
        ],
    ));
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("no version matches"),
        "{}",
        stderr(&out)
    );
}

// ---------------------------------------------------------------------------------------------
// A tag list the registry refuses

#[test]
fn a_refused_tag_list_is_a_permission_problem_not_absence() {
    // htpasswd: the real registry answers 401; without credentials, and with the right ones.
    let (user, password) = ("robot$platform+ci", "Pa55-w0rd-4b1e");
    let reg = Registry::start(Options {
        auth: Auth::Basic {
            user: user.into(),
            password: password.into(),
        },
        tls: false,
    });
    let chart = reg.oci("platform/nope");
    let out = run(&mut appkit_in(&reg.appkit_flags(), &["versions", &chart]));
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains(&format!(
            "error: authentication to {} failed: the registry requires credentials and none were found",
            reg.host
        )),
        "{err}"
    );
    assert!(
        err.contains(&format!(
            "hint: log in with `helm registry login {}`",
            reg.host
        )),
        "{err}"
    );
    assert!(
        !err.contains("does not exist") && !err.contains("no published versions"),
        "{err}"
    );
    let mut c = appkit_in(&reg.appkit_flags(), &["versions", &chart]);
    c.env("APPKIT_REGISTRY_USERNAME", user)
        .env("APPKIT_REGISTRY_PASSWORD", password);
    let out = run(&mut c);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(&format!("repository {chart} does not exist")),
        "with access, absence is absence: {}",
        stderr(&out)
    );

    // 403, as Harbor answers for a project the robot account cannot see: the real registry
    // behind a proxy that answers the tag list with distribution's DENIED error.
    let open = Registry::anonymous();
    let proxy = FaultProxy::start(
        &open.host,
        vec![Fault {
            method: "GET",
            path_contains: "/tags/list",
            action: FaultAction::Respond(
                403,
                "application/json; charset=utf-8",
                br#"{"errors":[{"code":"DENIED","message":"requested access to the resource is denied"}]}"#
                    .to_vec(),
            ),
            times: 100,
        }],
    );
    let chart = proxy.oci("platform/secret");
    for json in [false, true] {
        let mut args = vec!["versions", chart.as_str()];
        if json {
            args.extend(["-o", "json"]);
        }
        let out = run(&mut appkit_in(&["--plain-http".to_string()], &args));
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "json={json}: {err}");
        assert!(
            err.contains(&format!(
                "error: the registry refused to list the tags of {chart} (403: DENIED requested access to the resource is denied): the credentials cannot see this repository"
            )),
            "json={json}: {err}"
        );
        assert!(
            err.contains("hint: 403 Forbidden")
                && err.contains("robot account")
                && err.contains(&format!("helm registry login {}", proxy.host)),
            "json={json}: {err}"
        );
        assert!(
            !err.contains("does not exist") && !err.contains("no published versions"),
            "{err}"
        );
    }
    assert_eq!(
        proxy.count("GET", "/tags/list"),
        2,
        "a 403 is not retried: {:?}",
        proxy.requests()
    );
}

// ---------------------------------------------------------------------------------------------
// TLS against plain HTTP, and plain HTTP against TLS

/// The three commands of one direction through `relay`: each fails on its first connection,
/// fast, exit 2, with `message` and `hint`. `flags` are the registry flags (`--plain-http` or
/// none); `--retries 4` (the default) is explicit, so retries would show.
fn expect_mismatch(relay: &Relay, flags: &[&str], message: &str, hint: &str) {
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("pulled");
    std::fs::create_dir_all(&dest).unwrap();
    let chart_dir = fixture_chart();
    let flags: Vec<String> = flags
        .iter()
        .map(|f| f.to_string())
        .chain(["--retries".to_string(), "4".to_string(), "--debug".into()])
        .collect();
    let chart = relay.oci("platform/demo");
    let namespace = relay.oci("platform");
    let cases: Vec<(&str, Vec<&str>, &str)> = vec![
        ("versions", vec!["versions", &chart], "GET "),
        (
            "push",
            vec!["push", chart_dir.to_str().unwrap(), &namespace],
            "HEAD ",
        ),
        (
            "pull",
            vec![
                "pull",
                &chart,
                "--version",
                "0.1.0",
                "-d",
                dest.to_str().unwrap(),
            ],
            "GET ",
        ),
        (
            "pull by range",
            vec![
                "pull",
                &chart,
                "--version",
                "^0.1",
                "-d",
                dest.to_str().unwrap(),
            ],
            "GET ",
        ),
    ];
    for (case, args, method) in cases {
        let before = relay.connections();
        let (out, secs) = timed(&mut appkit_in(&flags, &args));
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{case}: {err}");
        assert!(
            err.contains(&format!("error: {method}")) && err.contains(message),
            "{case}: want {message:?}: {err}"
        );
        assert!(err.contains(&format!("hint: {hint}")), "{case}: {err}");
        assert!(!err.contains(", retry "), "{case}: retried: {err}");
        assert_eq!(
            relay.connections() - before,
            1,
            "{case}: one connection, no retries: {err}"
        );
        // Five attempts took ~4 s (250 + 500 + 1000 + 2000 ms of backoff); one takes well under 1 s.
        assert!(secs < 2.0, "{case}: {secs:.2} s: {err}");
        assert!(
            std::fs::read_dir(&dest).unwrap().next().is_none(),
            "{case}: wrote nothing"
        );
    }
}

#[test]
fn tls_to_a_plain_http_registry_fails_at_once_and_names_plain_http() {
    let reg = Registry::anonymous();
    let relay = Relay::start(&reg.host);
    expect_mismatch(
        &relay,
        &[],
        "the registry speaks plain HTTP, not HTTPS: it answered the TLS handshake with plain HTTP",
        &format!("{} speaks plain HTTP: pass --plain-http", relay.host),
    );
    // The message itself, in full, for one command.
    let (out, _) = timed(&mut appkit_in(
        &[],
        &["versions", &relay.oci("platform/demo")],
    ));
    let err = stderr(&out);
    assert!(
        err.starts_with(&format!(
            "error: GET https://{}/v2/platform/demo/tags/list?n=1000: the registry speaks plain HTTP, not HTTPS: it answered the TLS handshake with plain HTTP\n",
            relay.host
        )),
        "{err}"
    );
    assert!(
        err.contains("`registry.insecure: true` in appkit.yaml"),
        "the platform config's way is named too: {err}"
    );
    assert!(
        !err.contains("attempt(s)"),
        "no attempt count for a failure that is never retried: {err}"
    );
    // With the flag it names, the same registry answers.
    let out = run(&mut appkit_in(
        &["--plain-http".to_string()],
        &["versions", &relay.oci("platform/demo")],
    ));
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("does not exist"), "{}", stderr(&out));
}

#[test]
fn plain_http_to_a_tls_registry_fails_at_once_and_says_drop_plain_http() {
    let reg = Registry::start(Options {
        auth: Auth::Anonymous,
        tls: true,
    });
    let relay = Relay::start(&reg.host);
    expect_mismatch(
        &relay,
        &["--plain-http"],
        "the registry speaks HTTPS, not plain HTTP: it answered 400",
        &format!("{} speaks HTTPS: drop --plain-http", relay.host),
    );
    // GET: Go's TLS server says so in its body; HEAD (push's first request) gets no body, and
    // its bare `HTTP/1.0 400` without headers gives it away.
    let (out, _) = timed(&mut appkit_in(
        &["--plain-http".to_string()],
        &["versions", &relay.oci("platform/demo")],
    ));
    let err = stderr(&out);
    assert!(
        err.starts_with(&format!(
            "error: GET http://{}/v2/platform/demo/tags/list?n=1000: the registry speaks HTTPS, not plain HTTP: it answered 400 \"Client sent an HTTP request to an HTTPS server\"\n",
            relay.host
        )),
        "{err}"
    );
    assert!(
        err.contains("if its certificate is signed by a private CA, pass --ca-file"),
        "{err}"
    );
    let (out, _) = timed(&mut appkit_in(
        &["--plain-http".to_string()],
        &[
            "push",
            fixture_chart().to_str().unwrap(),
            &relay.oci("platform"),
        ],
    ));
    let err = stderr(&out);
    assert!(
        err.starts_with(&format!(
            "error: HEAD http://{}/v2/platform/demo/manifests/0.1.0: the registry speaks HTTPS, not plain HTTP: it answered 400 with no headers, as a TLS server answers a plain-HTTP request\n",
            relay.host
        )),
        "{err}"
    );
    // With the CA instead of --plain-http, the same registry answers.
    let out = run(&mut appkit_in(
        &reg.appkit_flags(),
        &["versions", &relay.oci("platform/demo")],
    ));
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("does not exist"), "{}", stderr(&out));
}
