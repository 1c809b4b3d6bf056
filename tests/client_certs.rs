//! Mutual TLS (`--cert-file`/`--key-file`, Helm's flags of the same names) against the real CNCF
//! distribution registry verifying client certificates (`http.tls.clientcas`), with certificates
//! made here by the `openssl` CLI; and `pull --untardir`, which must extract where real Helm 3 and
//! 4 extract for the same flags.

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::common::registry::{free_port, self_signed, signed_by_ca, which, Registry};
use crate::common::{appkit, chart_dir, helm, run, run_ok, stderr, stdout};

/// A server CA and certificate (`srv/`), a client CA (`cli/ca.pem`) and two client certificates
/// signed by it (`cli/client.*`, `cli/other.*`), and a registry serving `srv/server.*` that
/// requires a client certificate signed by the client CA; stopped on drop.
struct MtlsRegistry {
    host: String,
    dir: tempfile::TempDir,
    child: Child,
}

impl MtlsRegistry {
    fn start() -> MtlsRegistry {
        let dir = tempfile::tempdir().unwrap();
        let (srv, cli) = (dir.path().join("srv"), dir.path().join("cli"));
        for d in [&srv, &cli] {
            std::fs::create_dir_all(d).unwrap();
        }
        self_signed(&srv, "ca.key", "ca.pem", "appkit mtls server CA");
        signed_by_ca(&srv, "server", "IP:127.0.0.1", 30);
        // A client certificate from a CA the registry does not trust for clients.
        signed_by_ca(&srv, "stranger", "DNS:appkit-stranger", 30);
        self_signed(&cli, "ca.key", "ca.pem", "appkit mtls client CA");
        signed_by_ca(&cli, "client", "DNS:appkit-client", 30);
        signed_by_ca(&cli, "other", "DNS:appkit-other", 30);
        let host = format!("127.0.0.1:{}", free_port());
        let cfg = format!(
            "version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: {}\nhttp:\n  addr: {host}\n  secret: t\n  tls:\n    certificate: {}\n    key: {}\n    clientcas:\n      - {}\n",
            dir.path().join("storage").display(),
            srv.join("server.pem").display(),
            srv.join("server.key").display(),
            cli.join("ca.pem").display(),
        );
        let config = dir.path().join("config.yml");
        std::fs::write(&config, cfg).unwrap();
        let child = Command::new(which("docker-registry"))
            .arg("serve")
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start docker-registry");
        let mut r = MtlsRegistry { host, dir, child };
        let deadline = Instant::now() + Duration::from_secs(15);
        while TcpStream::connect(&r.host).is_err() {
            assert!(Instant::now() < deadline, "registry did not start");
            assert!(r.child.try_wait().unwrap().is_none(), "registry exited");
            std::thread::sleep(Duration::from_millis(50));
        }
        r
    }

    fn path(&self, f: &str) -> PathBuf {
        self.dir.path().join(f)
    }

    fn ca(&self) -> String {
        self.path("srv/ca.pem").display().to_string()
    }

    /// `--ca-file` for the server, `--cert-file`/`--key-file` with `cert` and `key` (in `cli/`).
    fn flags(&self, cert: &str, key: &str) -> Vec<String> {
        vec![
            "--ca-file".into(),
            self.ca(),
            "--cert-file".into(),
            self.path(&format!("cli/{cert}")).display().to_string(),
            "--key-file".into(),
            self.path(&format!("cli/{key}")).display().to_string(),
        ]
    }

    /// The base64 body lines of the client key: must never be printed.
    fn key_lines(&self) -> Vec<String> {
        let mut lines = Vec::new();
        for f in ["cli/client.key", "cli/other.key"] {
            let text = std::fs::read_to_string(self.path(f)).unwrap();
            lines.extend(
                text.lines()
                    .filter(|l| !l.starts_with("-----"))
                    .map(str::to_string),
            );
        }
        assert!(!lines.is_empty());
        lines
    }
}

impl Drop for MtlsRegistry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn isolated(cmd: &mut Command) -> &mut Command {
    cmd.env(
        "HELM_REGISTRY_CONFIG",
        "/nonexistent/appkit-test/config.json",
    )
    .env("DOCKER_CONFIG", "/nonexistent/appkit-test")
}

fn appkit_run(args: &[String]) -> Output {
    run(isolated(appkit().args(args)))
}

fn strings(args: &[&str]) -> Vec<String> {
    args.iter().map(|s| s.to_string()).collect()
}

fn assert_no_key(r: &MtlsRegistry, out: &Output) {
    let text = format!("{}{}", stdout(out), stderr(out));
    assert!(!text.contains("PRIVATE KEY"), "{text}");
    for line in r.key_lines() {
        assert!(!text.contains(&line), "key material printed:\n{text}");
    }
}

#[test]
fn push_pull_and_versions_present_the_client_certificate() {
    let r = MtlsRegistry::start();
    let remote = format!("oci://{}/p", r.host);
    let flags = r.flags("client.pem", "client.key");
    let chart = chart_dir().display().to_string();
    let dest = tempfile::tempdir().unwrap();
    let dest_s = dest.path().display().to_string();
    let runs: Vec<Vec<String>> = vec![
        [strings(&["push", &chart, &remote]), flags.clone()].concat(),
        [
            strings(&["versions", &format!("{remote}/app")]),
            flags.clone(),
        ]
        .concat(),
        [
            strings(&["versions", &format!("{remote}/app"), "-o", "json"]),
            flags.clone(),
        ]
        .concat(),
        [
            strings(&[
                "pull",
                &format!("{remote}/app"),
                "-d",
                &dest_s,
                "-o",
                "json",
            ]),
            flags.clone(),
        ]
        .concat(),
        [
            strings(&["pull", &format!("{remote}/app"), "--untar", "-d", &dest_s]),
            flags.clone(),
        ]
        .concat(),
    ];
    for args in &runs {
        let out = appkit_run(args);
        assert!(
            out.status.success(),
            "{args:?}: {}{}",
            stdout(&out),
            stderr(&out)
        );
        assert_no_key(&r, &out);
    }
    let version = std::fs::read_to_string(chart_dir().join("Chart.yaml"))
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("version:").map(|v| v.trim().to_string()))
        .unwrap();
    assert!(dest.path().join(format!("app-{version}.tgz")).is_file());
    assert!(dest.path().join("app/Chart.yaml").is_file());
}

#[test]
fn a_client_certificate_is_sent_with_insecure_skip_tls_verify_too() {
    // Without --ca-file the server's certificate is not verified (asked for), but the client
    // certificate is still presented: the registry, which requires it, answers.
    let r = MtlsRegistry::start();
    let remote = format!("oci://{}/p", r.host);
    let cert = r.path("cli/client.pem").display().to_string();
    let key = r.path("cli/client.key").display().to_string();
    let chart = chart_dir().display().to_string();
    let out = appkit_run(&strings(&[
        "push",
        &chart,
        &remote,
        "--insecure-skip-tls-verify",
        "--cert-file",
        &cert,
        "--key-file",
        &key,
    ]));
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    assert_no_key(&r, &out);
    // And without the certificate, skipping verification does not get past the registry.
    let out = appkit_run(&strings(&[
        "versions",
        &format!("{remote}/app"),
        "--insecure-skip-tls-verify",
    ]));
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("--cert-file"), "{}", stderr(&out));
}

#[test]
fn without_a_client_certificate_the_registry_refuses_and_the_hint_names_the_flags() {
    let r = MtlsRegistry::start();
    let out = appkit_run(&strings(&[
        "versions",
        &format!("oci://{}/p/app", r.host),
        "--ca-file",
        &r.ca(),
        "--retries",
        "4",
    ]));
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.starts_with(&format!(
            "error: TLS: {} refused the connection: it requires a client certificate",
            r.host
        )),
        "{err}"
    );
    assert!(
        err.contains("hint: ") && err.contains("--cert-file") && err.contains("--key-file"),
        "{err}"
    );
    assert!(err.contains("failed after 1 attempt(s)"), "retried: {err}");

    // A client certificate the registry does not accept (signed by another CA).
    let stranger = r.path("srv/stranger.pem").display().to_string();
    let out = appkit_run(&strings(&[
        "versions",
        &format!("oci://{}/p/app", r.host),
        "--ca-file",
        &r.ca(),
        "--cert-file",
        &stranger,
        "--key-file",
        &r.path("srv/stranger.key").display().to_string(),
    ]));
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.starts_with(&format!(
            "error: TLS: {} refused the client certificate {stranger} (TLS alert ",
            r.host
        )),
        "{err}"
    );
    assert!(err.contains("hint: check that the --cert-file certificate is signed by a CA the registry trusts for clients"), "{err}");
    assert!(err.contains("failed after 1 attempt(s)"), "retried: {err}");
}

#[test]
fn a_key_that_does_not_belong_to_the_certificate_is_refused_naming_both_files() {
    let r = MtlsRegistry::start();
    let out = appkit_run(
        &[
            strings(&["versions", &format!("oci://{}/p/app", r.host)]),
            r.flags("client.pem", "other.key"),
        ]
        .concat(),
    );
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.starts_with(&format!(
            "error: the private key in {} does not belong to the client certificate in {}",
            r.path("cli/other.key").display(),
            r.path("cli/client.pem").display()
        )),
        "{err}"
    );
    assert_no_key(&r, &out);
}

#[test]
fn cert_file_without_key_file_and_unusable_files_are_clear_errors() {
    let r = MtlsRegistry::start();
    let app = format!("oci://{}/p/app", r.host);
    let cert = r.path("cli/client.pem").display().to_string();
    let key = r.path("cli/client.key").display().to_string();
    for (flag, other) in [("--cert-file", "--key-file"), ("--key-file", "--cert-file")] {
        let file = if flag == "--cert-file" { &cert } else { &key };
        let out = appkit_run(&strings(&[
            "versions",
            &app,
            "--ca-file",
            &r.ca(),
            flag,
            file,
        ]));
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(
            err.starts_with(&format!("error: {flag} needs {other}")),
            "{err}"
        );
        assert!(
            err.contains("hint: a TLS client certificate goes with its private key: pass both --cert-file FILE and --key-file FILE (PEM)"),
            "{err}"
        );
        assert_no_key(&r, &out);
    }
    // A flag without its value is clap's usage error.
    let out = appkit_run(&strings(&["versions", &app, "--cert-file"]));
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));

    let missing = r.path("cli/missing.pem").display().to_string();
    let garbage = r.path("cli/garbage.pem");
    std::fs::write(&garbage, "not a certificate\n").unwrap();
    let garbage = garbage.display().to_string();
    let cases = [
        (
            missing.clone(),
            key.clone(),
            format!("error: cannot read the client certificate file {missing} ("),
        ),
        (
            garbage.clone(),
            key.clone(),
            format!("error: the client certificate file {garbage} holds no PEM certificate"),
        ),
        (
            cert.clone(),
            missing.clone(),
            format!("error: cannot read the client key file {missing} ("),
        ),
        // A certificate where the key should be: no private key in it.
        (
            cert.clone(),
            cert.clone(),
            format!("error: the client key file {cert} holds no unencrypted PEM private key (PKCS#8, PKCS#1 or SEC1)"),
        ),
    ];
    for (c, k, first) in cases {
        let out = appkit_run(&strings(&[
            "versions",
            &app,
            "--ca-file",
            &r.ca(),
            "--cert-file",
            &c,
            "--key-file",
            &k,
        ]));
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(err.starts_with(&first), "want {first}\n{err}");
        assert_no_key(&r, &out);
    }
}

/// Every path under `root`, relative, sorted.
fn tree(root: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            out.push(p.strip_prefix(root).unwrap().display().to_string());
            if p.is_dir() {
                stack.push(p);
            }
        }
    }
    out.sort();
    out
}

#[test]
fn pull_untardir_extracts_where_helm_3_and_4_extract() {
    let version = std::fs::read_to_string(chart_dir().join("Chart.yaml"))
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("version:").map(|v| v.trim().to_string()))
        .unwrap();
    let work = tempfile::tempdir().unwrap();
    // The same chart in an OCI layout (for appkit) and in a plain-HTTP registry (for Helm).
    let layout = work.path().join("layout");
    let chart = chart_dir().display().to_string();
    run_ok(appkit().args(["push", &chart, &format!("oci-layout:{}", layout.display())]));
    let reg = Registry::anonymous();
    run_ok(isolated(appkit().args([
        "push",
        &chart,
        &reg.oci("p"),
        "--plain-http",
    ])));

    let cases: [(&str, &[&str]); 3] = [
        ("relative", &["--untardir", "sub", "-d", "DEST"]),
        ("nested", &["--untardir", "a/b", "-d", "DEST"]),
        ("default", &["-d", "DEST"]),
    ];
    for (name, flags) in cases {
        let mut trees = Vec::new();
        for major in [3u8, 4] {
            let cwd = work.path().join(format!("helm{major}-{name}"));
            std::fs::create_dir_all(&cwd).unwrap();
            let home = work.path().join(format!("home{major}"));
            run_ok(
                helm(major, &home)
                    .current_dir(&cwd)
                    .args(["pull", &reg.oci("p/app"), "--version", &version])
                    .args(["--untar", "--plain-http"])
                    .args(flags),
            );
            trees.push((format!("helm {major}"), tree(&cwd)));
        }
        let cwd = work.path().join(format!("appkit-{name}"));
        std::fs::create_dir_all(&cwd).unwrap();
        let out = run_ok(
            appkit()
                .current_dir(&cwd)
                .args(["pull", &format!("oci-layout:{}/app", layout.display())])
                .args(["--version", &version, "--untar"])
                .args(flags),
        );
        let dir = match flags {
            [_, sub, ..] if !sub.starts_with('-') && flags[0] == "--untardir" => {
                format!("DEST/{sub}/app")
            }
            _ => "DEST/app".to_string(),
        };
        assert!(out.contains(&format!("Saved to: {dir}")), "{name}: {out}");
        assert!(cwd.join(&dir).join("Chart.yaml").is_file(), "{name}: {dir}");
        let mine = tree(&cwd);
        for (who, t) in &trees {
            assert_eq!(&mine, t, "{name}: appkit vs {who}");
        }
    }

    // An absolute --untardir is used as it is, --destination is ignored (and not created).
    let abs = work.path().join("abs");
    for major in [3u8, 4] {
        let cwd = work.path().join(format!("helm{major}-abs"));
        std::fs::create_dir_all(&cwd).unwrap();
        let target = abs.join(format!("helm{major}"));
        run_ok(
            helm(major, &work.path().join(format!("home{major}")))
                .current_dir(&cwd)
                .args(["pull", &reg.oci("p/app"), "--version", &version])
                .args(["--untar", "--plain-http", "-d", "DEST", "--untardir"])
                .arg(&target),
        );
        assert!(target.join("app/Chart.yaml").is_file());
        assert!(!cwd.join("DEST").exists(), "helm {major} created DEST");
    }
    let cwd = work.path().join("appkit-abs");
    std::fs::create_dir_all(&cwd).unwrap();
    let target = abs.join("appkit");
    run_ok(
        appkit()
            .current_dir(&cwd)
            .args(["pull", &format!("oci-layout:{}/app", layout.display())])
            .args(["--version", &version, "--untar", "-d", "DEST", "--untardir"])
            .arg(&target),
    );
    assert!(target.join("app/Chart.yaml").is_file());
    assert!(!cwd.join("DEST").exists(), "appkit created DEST");
    assert_eq!(tree(&target), tree(&abs.join("helm3")));
}
