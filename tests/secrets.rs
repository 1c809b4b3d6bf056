//! Secrets never reach the output: every registry command (push, pull, versions, publish) runs at
//! the highest verbosity (`--debug` and `HELM_DEBUG=1`) with known credentials from each source
//! (flags + stdin, environment, Helm registry config, Docker config) against a real registry with
//! Basic auth and one with Harbor-style Bearer tokens — successful runs and failing ones (wrong
//! password → 401, a 403 from a proxy after the credentials were sent, a connection dropped after
//! they were sent, a refused connection) — and stdout + stderr are scanned for
//! the password, every token the issuer handed out, and their base64 forms (including the
//! `user:password` pair of a Basic header). Credential files other users can read get a warning.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use base64::Engine;

use crate::common::registry::{free_port, Auth, Fault, FaultAction, FaultProxy, Options, Registry};
use crate::common::{stderr, stdout};
use crate::oci::{appkit_in, Work};

const USER: &str = "robot$platform+ci";
const PASSWORD: &str = "Pa55-w0rd-7f3a-SECRET";

/// How the credentials reach appkit.
#[derive(Clone, Copy, Debug)]
enum Source {
    Stdin,
    Env,
    /// Helm registry config (`helm registry login` format) with this file mode.
    HelmConfig(u32),
    /// Docker config.json with this file mode.
    DockerConfig(u32),
    /// Docker config.json naming a credential helper (`credHelpers`), a script on PATH that
    /// answers `get` with the password.
    CredHelper,
}

/// Every form of a secret that must never be printed.
fn forbidden(password: &str, tokens: &[String]) -> Vec<String> {
    let std = base64::engine::general_purpose::STANDARD;
    let url = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let pair = format!("{USER}:{password}");
    let mut v = vec![
        password.to_string(),
        std.encode(password),
        url.encode(password),
        std.encode(&pair),
        url.encode(&pair),
        // Without padding, a prefix of the encoding is still recognisable.
        std.encode(&pair).trim_end_matches('=').to_string(),
    ];
    for t in tokens {
        v.push(t.clone());
        // The JWT's signature alone is a secret-bearing suffix; its base64 too.
        if let Some(sig) = t.rsplit('.').next() {
            v.push(sig.to_string());
        }
        v.push(std.encode(t));
    }
    v
}

/// Assert no secret form appears in the output of `case`.
fn scan(case: &str, out: &Output, secrets: &[String]) {
    let all = format!("{}\n{}", stdout(out), stderr(out));
    for s in secrets {
        assert!(
            !all.contains(s.as_str()),
            "{case}: printed a secret ({s}):\n{all}"
        );
    }
    let lower = all.to_lowercase();
    for h in [
        "authorization: basic",
        "authorization: bearer",
        "bearer ey",
        "basic cm9i",
    ] {
        assert!(
            !lower.contains(h),
            "{case}: printed an auth header ({h}):\n{all}"
        );
    }
    assert!(!all.contains("panicked"), "{case}: {all}");
}

/// A platform repo (examples + chart) for publish, made once per directory.
fn platform(t: &Path) -> PathBuf {
    let repo = t.join("repo");
    if repo.exists() {
        repo
    } else {
        crate::common::example_platform(t)
    }
}

/// Run one command with credentials from `source` (password `pw`) at full verbosity.
fn run_with(
    w: &Work,
    flags: &[String],
    args: &[&str],
    source: Source,
    pw: &str,
    host: &str,
) -> Output {
    let mut c: Command = appkit_in(flags, args);
    c.arg("--debug").env("HELM_DEBUG", "1");
    let std = base64::engine::general_purpose::STANDARD;
    let config = format!(
        r#"{{"auths":{{"{host}":{{"auth":"{}"}}}}}}"#,
        std.encode(format!("{USER}:{pw}"))
    );
    let write_config = |name: &str, mode: u32| -> PathBuf {
        use std::os::unix::fs::PermissionsExt;
        let dir = w.path().join(format!("cfg-{name}-{mode:o}"));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("config.json");
        std::fs::write(&p, &config).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
        p
    };
    match source {
        Source::Stdin => {
            c.args(["--username", USER, "--password-stdin"]);
        }
        Source::Env => {
            c.env("APPKIT_REGISTRY_USERNAME", USER)
                .env("APPKIT_REGISTRY_PASSWORD", pw);
        }
        Source::HelmConfig(mode) => {
            c.env("HELM_REGISTRY_CONFIG", write_config("helm", mode));
        }
        Source::DockerConfig(mode) => {
            let p = write_config("docker", mode);
            c.env("DOCKER_CONFIG", p.parent().unwrap());
        }
        Source::CredHelper => {
            use std::os::unix::fs::PermissionsExt;
            let dir = w.path().join("cfg-helper");
            let bin = dir.join("bin");
            std::fs::create_dir_all(&bin).unwrap();
            std::fs::write(
                dir.join("config.json"),
                format!(r#"{{"credHelpers":{{"{host}":"appkit-test"}}}}"#),
            )
            .unwrap();
            let script = bin.join("docker-credential-appkit-test");
            std::fs::write(
                &script,
                format!(
                    "#!/bin/sh\n[ \"$1\" = get ] || exit 1\nread server\nprintf '{{\"ServerURL\":\"%s\",\"Username\":\"{USER}\",\"Secret\":\"{pw}\"}}' \"$server\"\n"
                ),
            )
            .unwrap();
            std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
            let path = std::env::var("PATH").unwrap_or_default();
            c.env("DOCKER_CONFIG", &dir)
                .env("HELM_REGISTRY_CONFIG", dir.join("none.json"))
                .env("PATH", format!("{}:{path}", bin.display()));
        }
    }
    c.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = c.spawn().unwrap();
    let mut stdin = child.stdin.take().unwrap();
    if matches!(source, Source::Stdin) {
        let _ = stdin.write_all(format!("{pw}\n").as_bytes());
    }
    drop(stdin);
    child.wait_with_output().unwrap()
}

#[allow(clippy::too_many_arguments)]
/// The four registry commands against `base` (an `oci://host/project`), each with a source.
fn every_command(
    w: &Work,
    t: &Path,
    flags: &[String],
    base: &str,
    host: &str,
    pw: &str,
    // None: every command succeeds; Some(text): every command fails (exit 2) saying `text`.
    fail: Option<&str>,
    secrets: &dyn Fn() -> Vec<String>,
    label: &str,
) {
    let tgz = w.tgz("1.2.3");
    let chart = format!("{base}/demo");
    let dest = t.join(format!("pulled-{label}"));
    std::fs::create_dir_all(&dest).unwrap();
    let config = platform(t).join("appkit.yaml");
    let runs: Vec<(&str, Vec<&str>, Source)> = vec![
        (
            "push",
            vec!["push", tgz.to_str().unwrap(), base],
            Source::Stdin,
        ),
        ("versions", vec!["versions", &chart], Source::Env),
        (
            "versions -o json",
            vec!["versions", &chart, "-o", "json"],
            Source::CredHelper,
        ),
        (
            "pull",
            vec![
                "pull",
                &chart,
                "--version",
                "1.2.3",
                "-d",
                dest.to_str().unwrap(),
            ],
            Source::HelmConfig(0o600),
        ),
        (
            "publish",
            vec![
                "publish",
                "--to",
                base,
                "--config",
                config.to_str().unwrap(),
            ],
            Source::DockerConfig(0o600),
        ),
    ];
    for (name, args, source) in runs {
        let case = format!("{label}: {name} ({source:?})");
        let out = run_with(w, flags, &args, source, pw, host);
        if std::env::var_os("SECRETS_SHOW").is_some() {
            eprintln!("=== {case}: {:?}\n{}", out.status.code(), stderr(&out));
        }
        scan(&case, &out, &secrets());
        let err = stderr(&out);
        assert!(
            err.contains("debug: credentials from "),
            "{case}: debug output names the source: {err}"
        );
        match fail {
            None => assert!(out.status.success(), "{case}: {err}"),
            Some(text) => {
                assert_eq!(out.status.code(), Some(2), "{case}: {err}");
                assert!(
                    err.contains("error: ") && err.contains(text),
                    "{case}: want {text:?}: {err}"
                );
            }
        }
        assert!(
            !stderr(&out).contains("warning: ") || !stderr(&out).contains("chmod 600"),
            "{case}: a 0600 file got a permission warning: {}",
            stderr(&out)
        );
    }
}

#[test]
fn basic_auth_commands_never_print_credentials() {
    let reg = Registry::start(Options {
        auth: Auth::Basic {
            user: USER.into(),
            password: PASSWORD.into(),
        },
        tls: false,
    });
    let w = Work::new();
    let t = w.path().join("t");
    let flags = reg.appkit_flags();
    let base = reg.oci("platform");
    let secrets = || forbidden(PASSWORD, &[]);
    every_command(
        &w, &t, &flags, &base, &reg.host, PASSWORD, None, &secrets, "basic ok",
    );
    // Wrong password: the registry answers 401; the secret tried must not be echoed either.
    let wrong = "Wr0ng-Pa55-9c1e";
    let both = || [forbidden(PASSWORD, &[]), forbidden(wrong, &[])].concat();
    every_command(
        &w,
        &t,
        &flags,
        &base,
        &reg.host,
        wrong,
        Some("credentials of user `robot$platform+ci` were refused"),
        &both,
        "basic 401",
    );

    // 403 from a proxy in front of the registry, on every request that carries credentials
    // (the registry's 401 challenge gets through, so appkit does send them).
    let forbid = |method| Fault {
        method,
        path_contains: "/v2/",
        action: FaultAction::IfAuthorized(Box::new(FaultAction::Status(403, None))),
        times: 10_000,
    };
    let proxy = FaultProxy::start(
        &reg.host,
        vec![
            forbid("GET"),
            forbid("HEAD"),
            forbid("POST"),
            forbid("PUT"),
            forbid("PATCH"),
        ],
    );
    let pbase = format!("oci://{}/platform", proxy.host);
    every_command(
        &w,
        &t,
        &flags,
        &pbase,
        &proxy.host,
        PASSWORD,
        Some("hint: 403 Forbidden"),
        &secrets,
        "basic 403",
    );
    let answered_403 = proxy.requests().iter().filter(|r| r.2 == 403).count();
    assert!(
        answered_403 >= 4,
        "every command sent credentials (only requests with Authorization get the 403): {:?}",
        proxy.requests()
    );

    // The connection dropped once credentials were sent (after the 401 challenge).
    let drop_it = |method| Fault {
        method,
        path_contains: "/v2/",
        action: FaultAction::IfAuthorized(Box::new(FaultAction::DropMidBody)),
        times: 10_000,
    };
    let proxy = FaultProxy::start(
        &reg.host,
        vec![
            drop_it("GET"),
            drop_it("HEAD"),
            drop_it("POST"),
            drop_it("PUT"),
            drop_it("PATCH"),
        ],
    );
    let mut rflags = flags.clone();
    rflags.extend(["--retries", "1"].map(String::from));
    every_command(
        &w,
        &t,
        &rflags,
        &format!("oci://{}/platform", proxy.host),
        &proxy.host,
        PASSWORD,
        Some("connection closed before message completed"),
        &secrets,
        "basic dropped after credentials",
    );
    let dropped = proxy.requests().iter().filter(|r| r.2 == 0).count();
    assert!(
        dropped >= 4,
        "every command sent credentials (only requests with Authorization are dropped): {:?}",
        proxy.requests()
    );

    // A refused connection (nothing listens), with few retries.
    let dead = format!("127.0.0.1:{}", free_port());
    let mut dflags = flags.clone();
    dflags.extend(["--retries", "1", "--connect-timeout", "2"].map(String::from));
    let dbase = format!("oci://{dead}/platform");
    every_command(
        &w,
        &t,
        &dflags,
        &dbase,
        &dead,
        PASSWORD,
        Some("Connection refused"),
        &secrets,
        "network error",
    );
}

#[test]
fn token_auth_commands_never_print_credentials_or_tokens() {
    let reg = Registry::start(Options {
        auth: Auth::Token {
            user: USER.into(),
            password: PASSWORD.into(),
        },
        tls: false,
    });
    let issued = reg.token.as_ref().unwrap().issued.clone();
    let w = Work::new();
    let t = w.path().join("t");
    let flags = reg.appkit_flags();
    let base = reg.oci("platform");
    let secrets = || forbidden(PASSWORD, &issued.lock().unwrap());
    every_command(
        &w, &t, &flags, &base, &reg.host, PASSWORD, None, &secrets, "token ok",
    );
    assert!(
        issued.lock().unwrap().len() >= 4,
        "the issuer handed out tokens: {}",
        issued.lock().unwrap().len()
    );
    // Wrong password at the token service (401 there).
    let wrong = "Wr0ng-T0ken-Pa55";
    let both = || [secrets(), forbidden(wrong, &[])].concat();
    every_command(
        &w,
        &t,
        &flags,
        &base,
        &reg.host,
        wrong,
        Some("refused by the token service"),
        &both,
        "token 401",
    );
}

/// Credential files group- or world-readable get a warning naming the file and the fix; the
/// command still runs (the warning is advice, not a refusal).
#[test]
fn world_readable_credential_files_get_a_warning() {
    let reg = Registry::start(Options {
        auth: Auth::Basic {
            user: USER.into(),
            password: PASSWORD.into(),
        },
        tls: false,
    });
    let w = Work::new();
    let flags = reg.appkit_flags();
    let chart = reg.oci("platform/demo");
    let tgz = w.tgz("1.0.0");
    let out = run_with(
        &w,
        &flags,
        &["push", tgz.to_str().unwrap(), &reg.oci("platform")],
        Source::Stdin,
        PASSWORD,
        &reg.host,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    for (source, who) in [
        (Source::HelmConfig(0o644), "every user (mode 0644)"),
        (Source::DockerConfig(0o640), "its group (mode 0640)"),
    ] {
        let out = run_with(
            &w,
            &flags,
            &["versions", &chart],
            source,
            PASSWORD,
            &reg.host,
        );
        let err = stderr(&out);
        assert!(out.status.success(), "{source:?}: {err}");
        assert!(
            err.contains("warning: ")
                && err.contains("holds registry credentials")
                && err.contains(who)
                && err.contains("chmod 600"),
            "{source:?}: {err}"
        );
        scan(
            &format!("{source:?} warning"),
            &out,
            &forbidden(PASSWORD, &[]),
        );
    }
    let out = run_with(
        &w,
        &flags,
        &["versions", &chart],
        Source::HelmConfig(0o600),
        PASSWORD,
        &reg.host,
    );
    assert!(
        out.status.success() && !stderr(&out).contains("chmod"),
        "{}",
        stderr(&out)
    );
}

/// The scanner itself: each form of a secret is caught (so the tests above can fail).
#[test]
fn the_scan_catches_every_form_of_a_secret() {
    use std::os::unix::process::ExitStatusExt;
    let token = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJlLXNlY3JldA".to_string();
    let secrets = forbidden(PASSWORD, std::slice::from_ref(&token));
    let std = base64::engine::general_purpose::STANDARD;
    for leak in [
        PASSWORD.to_string(),
        std.encode(PASSWORD),
        std.encode(format!("{USER}:{PASSWORD}")),
        token.clone(),
        "c2lnbmF0dXJlLXNlY3JldA".to_string(),
        "Authorization: Bearer xyz".to_string(),
    ] {
        let out = Output {
            status: std::process::ExitStatus::from_raw(0),
            stdout: Vec::new(),
            stderr: format!("debug: {leak}\n").into_bytes(),
        };
        let caught = std::panic::catch_unwind(|| scan("self-test", &out, &secrets)).is_err();
        assert!(caught, "not caught: {leak}");
    }
}
