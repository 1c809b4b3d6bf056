//! TLS failures a user can tell apart: a real distribution registry serving a certificate signed by
//! an unknown CA, one issued for another name, and an expired one (all made here with the
//! `openssl` CLI; `-days -1` gives a `notAfter` in the past). Each must fail fast (no retries: the
//! certificate will not change), exit 2, say which problem it is, and give that problem's fix.
//! Plain HTTP happens only with `--plain-http`, loopback included.

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::appkit;
use crate::common::registry::{free_port, self_signed, signed_by_ca, which, Registry};

/// A docker-registry serving `cert`/`key` over TLS on 127.0.0.1; stopped on drop.
struct TlsRegistry {
    host: String,
    child: Child,
    _dir: tempfile::TempDir,
}

impl TlsRegistry {
    fn start(cert: &Path, key: &Path) -> TlsRegistry {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let host = format!("127.0.0.1:{port}");
        let cfg = format!(
            "version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: {}\nhttp:\n  addr: {host}\n  secret: t\n  tls:\n    certificate: {}\n    key: {}\n",
            dir.path().join("storage").display(),
            cert.display(),
            key.display()
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
        let mut r = TlsRegistry {
            host,
            child,
            _dir: dir,
        };
        let deadline = Instant::now() + Duration::from_secs(15);
        while TcpStream::connect(&r.host).is_err() {
            assert!(Instant::now() < deadline, "registry did not start");
            assert!(r.child.try_wait().unwrap().is_none(), "registry exited");
            std::thread::sleep(Duration::from_millis(50));
        }
        r
    }
}

impl Drop for TlsRegistry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A CA and server certificates signed by it: `good` (127.0.0.1), `other` (only
/// DNS:registry.example), `expired` (127.0.0.1, notAfter yesterday).
struct Pki {
    dir: tempfile::TempDir,
}

impl Pki {
    fn new() -> Pki {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        self_signed(d, "ca.key", "ca.pem", "appkit tls test CA");
        for (name, san, days) in [
            ("good", "IP:127.0.0.1", 30),
            ("other", "DNS:registry.example", 30),
            ("expired", "IP:127.0.0.1", -1),
        ] {
            signed_by_ca(d, name, san, days);
        }
        Pki { dir }
    }
    fn path(&self, f: &str) -> PathBuf {
        self.dir.path().join(f)
    }
    fn serve(&self, name: &str) -> TlsRegistry {
        TlsRegistry::start(
            &self.path(&format!("{name}.pem")),
            &self.path(&format!("{name}.key")),
        )
    }
}

/// `versions` against `host` with `extra` flags; returns (exit code, stderr, seconds).
/// Recorded in the hardening report as `case`.
fn versions(case: &str, host: &str, extra: &[&str]) -> (Option<i32>, String, f64) {
    let started = Instant::now();
    let mut cmd = appkit();
    cmd.args(["versions", &format!("oci://{host}/platform/demo")])
        .args(extra)
        .env(
            "HELM_REGISTRY_CONFIG",
            "/nonexistent/appkit-test/config.json",
        )
        .env("DOCKER_CONFIG", "/nonexistent/appkit-test");
    let run = crate::hostile::measure_with(case, &cmd, Some("hint:"));
    (run.code, run.stderr, started.elapsed().as_secs_f64())
}

fn expect_tls_error(case: &str, host: &str, extra: &[&str], first: &str, hint: &str) {
    let mut args = vec!["--retries", "4"];
    args.extend_from_slice(extra);
    let (code, err, _) = versions(&format!("TLS: {case}"), host, &args);
    assert_eq!(code, Some(2), "{case}: {err}");
    assert!(
        err.starts_with(&format!("error: TLS: the certificate of {host} {first}")),
        "{case}: {err}"
    );
    assert!(err.contains(&format!("hint: {hint}")), "{case}: {err}");
    assert!(
        err.contains("failed after 1 attempt(s)"),
        "{case}: retried: {err}"
    );
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn unknown_ca_name_mismatch_and_expired_certificates_are_told_apart() {
    let pki = Pki::new();
    let ca = pki.path("ca.pem");
    let ca = ca.to_str().unwrap();

    let good = pki.serve("good");
    expect_tls_error(
        "unknown CA",
        &good.host,
        &[],
        "is signed by an unknown certificate authority",
        &format!(
            "the certificate of {} is not signed by a CA this machine trusts: pass --ca-file",
            good.host
        ),
    );
    // With the CA, the same registry is trusted: the chart is simply not there.
    let (code, err, _) = versions(
        "TLS: test CA given with --ca-file (trusted)",
        &good.host,
        &["--ca-file", ca],
    );
    assert_eq!(code, Some(0), "{err}");
    assert!(
        !err.contains("TLS") && err.contains("no published versions"),
        "{err}"
    );

    let other = pki.serve("other");
    expect_tls_error(
        "name mismatch",
        &other.host,
        &["--ca-file", ca],
        "is not valid for this host name",
        &format!(
            "the certificate of {} was issued for other names",
            other.host
        ),
    );

    let expired = pki.serve("expired");
    expect_tls_error(
        "expired",
        &expired.host,
        &["--ca-file", ca],
        "has expired",
        &format!("the certificate of {} has expired", expired.host),
    );

    // Skipping verification is explicit and works for all three.
    for r in [&other, &expired] {
        let (code, err, _) = versions(
            "TLS: --insecure-skip-tls-verify (asked for)",
            &r.host,
            &["--insecure-skip-tls-verify"],
        );
        assert_eq!(code, Some(0), "{err}");
        assert!(
            err.contains(
                "warning: TLS certificate verification is disabled (--insecure-skip-tls-verify)"
            ),
            "skipping verification is never silent: {err}"
        );
        assert!(
            !err.contains("TLS:") && err.contains("no published versions"),
            "{err}"
        );
    }
}

/// Plain HTTP only when asked, even on loopback; and `--plain-http` against a TLS registry fails
/// with a clear error.
#[test]
fn plain_http_only_with_the_flag_even_on_loopback() {
    let plain = Registry::anonymous();
    let (code, err, _) = versions(
        "TLS: plain-HTTP registry on loopback without --plain-http",
        &plain.host,
        &["--retries", "0"],
    );
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("https://127.0.0.1"),
        "tried HTTPS first: {err}"
    );
    assert!(
        err.contains("hint: the registry may speak plain HTTP: pass --plain-http"),
        "{err}"
    );
    let (code, err, _) = versions(
        "TLS: plain-HTTP registry with --plain-http",
        &plain.host,
        &["--plain-http"],
    );
    assert_eq!(code, Some(0), "{err}");
    assert!(err.contains("no published versions"), "{err}");

    let pki = Pki::new();
    let good = pki.serve("good");
    let (code, err, _) = versions(
        "TLS: --plain-http against a TLS registry",
        &good.host,
        &["--plain-http", "--retries", "0"],
    );
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("http://127.0.0.1") && !err.contains("panicked"),
        "{err}"
    );
    assert!(
        err.contains("error: GET http://127.0.0.1")
            && err.contains("the registry answered 400")
            && err.contains("HTTP request to an HTTPS server"),
        "says what the TLS registry answered: {err}"
    );
}
