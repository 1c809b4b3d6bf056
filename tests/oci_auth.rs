//! Registry authentication and TLS: htpasswd Basic, Harbor-style Bearer tokens with credentials
//! from real `helm registry login`, a TLS registry with a test CA. Never a secret in the output.

use std::path::Path;
use std::process::{Output, Stdio};

use crate::common::registry::{Auth, Options, Registry};
use crate::common::{helm, run, run_ok, stderr, stdout};
use crate::oci::{appkit_in, push_json, Work};

#[test]
fn basic_auth_with_password_stdin_and_wrong_credentials_never_leak() {
    let password = "s3cr3t-Pa55word";
    let user = "robot$platform+ci";
    let reg = Registry::start(Options {
        auth: Auth::Basic {
            user: user.into(),
            password: password.into(),
        },
        tls: false,
    });
    let w = Work::new();
    let tgz = w.tgz("0.7.0");
    let push = |pw: &str, extra: &[&str]| -> Output {
        let dest = reg.oci("p");
        let mut args = vec![
            "push",
            tgz.to_str().unwrap(),
            dest.as_str(),
            "--username",
            user,
            "--password-stdin",
            "--debug",
        ];
        args.extend_from_slice(extra);
        let mut c = appkit_in(&reg.appkit_flags(), &args);
        c.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = c.spawn().unwrap();
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(format!("{pw}\n").as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    };
    let out = push(password, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let all = format!("{}{}", stdout(&out), stderr(&out));
    assert!(!all.contains(password), "password printed: {all}");
    assert!(
        !all.to_lowercase().contains("authorization"),
        "header printed: {all}"
    );

    let out = push("wrong-password", &[]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("authentication") && err.contains(user) && err.contains("hint:"),
        "{err}"
    );
    assert!(!err.contains("wrong-password"), "{err}");

    // No credentials at all.
    let out = run(&mut appkit_in(
        &reg.appkit_flags(),
        &["versions", &reg.oci("p/demo")],
    ));
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("requires credentials"),
        "{}",
        stderr(&out)
    );

    // Environment variables.
    let mut c = appkit_in(&reg.appkit_flags(), &["versions", &reg.oci("p/demo")]);
    c.env("APPKIT_REGISTRY_USERNAME", user)
        .env("APPKIT_REGISTRY_PASSWORD", password);
    assert!(run_ok(&mut c).starts_with("0.7.0 "));
}

fn helm_login(major: u8, home: &Path, reg: &Registry, user: &str, password: &str) {
    let mut c = helm(major, home);
    c.args([
        "registry",
        "login",
        &reg.host,
        "--username",
        user,
        "--password-stdin",
    ]);
    match &reg.ca_file {
        Some(ca) => c.arg("--ca-file").arg(ca),
        None if major == 4 => c.arg("--plain-http"),
        None => c.arg("--insecure"),
    };
    c.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = c.spawn().unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(password.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "helm {major} registry login: {}",
        stderr(&out)
    );
}

#[test]
fn harbor_style_token_auth_with_helm_registry_login_credentials() {
    let (user, password) = ("robot$platform+ci", "tok-en-Pa55");
    let reg = Registry::start(Options {
        auth: Auth::Token {
            user: user.into(),
            password: password.into(),
        },
        tls: false,
    });
    let w = Work::new();
    for (major, version) in [(3u8, "0.8.0"), (4u8, "0.9.0")] {
        let home = w.path().join(format!("home{major}"));
        helm_login(major, &home, &reg, user, password);
        let config = home.join("config/registry/config.json");
        assert!(config.is_file(), "helm {major} wrote {}", config.display());
        let tgz = w.tgz(version);
        let dest = reg.oci("platform");
        let mut c = appkit_in(
            &reg.appkit_flags(),
            &[
                "push",
                tgz.to_str().unwrap(),
                &dest,
                "--debug",
                "-o",
                "json",
            ],
        );
        c.env("HELM_REGISTRY_CONFIG", &config);
        let out = run(&mut c);
        let all = format!("{}{}", stdout(&out), stderr(&out));
        assert!(out.status.success(), "{all}");
        assert!(
            !all.contains(password) && !all.contains("Bearer ") && !all.contains("eyJ"),
            "secret printed: {all}"
        );
        assert!(
            all.contains("Helm registry config"),
            "debug names the credential source: {all}"
        );
        // Helm itself pulls what appkit pushed, through the same token flow.
        let pulled = w.path().join(format!("hp{major}"));
        std::fs::create_dir_all(&pulled).unwrap(); // Helm 3 does not create it
        let mut hp = helm(major, &home);
        hp.args([
            "pull",
            &reg.oci("platform/demo"),
            "--version",
            version,
            "-d",
        ])
        .arg(&pulled);
        hp.args(reg.helm_flags());
        run_ok(&mut hp);
    }
    let scopes = reg.token.as_ref().unwrap().scopes();
    assert!(
        scopes.contains(&"repository:platform/demo:pull,push".to_string()),
        "asked for pull,push up front: {scopes:?}"
    );

    // Anonymous: the issuer grants nothing, the registry says insufficient_scope.
    let out = run(&mut appkit_in(
        &reg.appkit_flags(),
        &["versions", &reg.oci("platform/demo")],
    ));
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("anonymous lacks the permission `repository:platform/demo:pull`"),
        "{}",
        stderr(&out)
    );
    assert!(
        stderr(&out).contains("helm registry login"),
        "{}",
        stderr(&out)
    );

    // Wrong credentials at the token service: exit 2, clear message, no secret.
    let tgz = w.tgz("0.10.0");
    let mut c = appkit_in(
        &reg.appkit_flags(),
        &[
            "push",
            tgz.to_str().unwrap(),
            &reg.oci("platform"),
            "--username",
            user,
            "--password-stdin",
        ],
    );
    c.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = c.spawn().unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"not-the-password")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("token service") && !stderr(&out).contains("not-the-password"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn tls_registry_needs_its_ca_file() {
    let reg = Registry::start(Options {
        auth: Auth::Anonymous,
        tls: true,
    });
    let w = Work::new();
    let tgz = w.tgz("0.1.0");
    let out = run(&mut appkit_in(
        &[],
        &[
            "push",
            tgz.to_str().unwrap(),
            &reg.oci("p"),
            "--retries",
            "0",
        ],
    ));
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("UnknownIssuer") || err.contains("certificate"),
        "{err}"
    );
    assert!(err.contains("--ca-file"), "hint names --ca-file: {err}");
    let v = push_json(&reg, &tgz, "p", &[]);
    assert_eq!(v["uploaded"], true);
    let out = run(&mut appkit_in(
        &[],
        &["versions", &reg.oci("p/demo"), "--insecure-skip-tls-verify"],
    ));
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("verification is disabled"));
}
