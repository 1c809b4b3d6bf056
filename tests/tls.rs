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
    assert_eq!(code, Some(1), "{err}");
    assert!(
        !err.contains("TLS") && err.contains("does not exist"),
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
        assert_eq!(code, Some(1), "{err}");
        assert!(
            err.contains(
                "warning: TLS certificate verification is disabled (--insecure-skip-tls-verify)"
            ),
            "skipping verification is never silent: {err}"
        );
        assert!(
            !err.contains("TLS:") && err.contains("does not exist"),
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
        err.contains("the registry speaks plain HTTP, not HTTPS")
            && err.contains(&format!(
                "hint: {} speaks plain HTTP: pass --plain-http",
                plain.host
            )),
        "{err}"
    );
    let (code, err, _) = versions(
        "TLS: plain-HTTP registry with --plain-http",
        &plain.host,
        &["--plain-http"],
    );
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("does not exist"), "{err}");

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
            && err.contains("the registry speaks HTTPS, not plain HTTP: it answered 400")
            && err.contains("HTTP request to an HTTPS server")
            && err.contains("drop --plain-http"),
        "says what the TLS registry answered: {err}"
    );
}

/// A self-signed registry certificate (`CA:TRUE`, as `openssl req -x509` makes it) in `dir`:
/// `<name>.pem`/`<name>.key`, with `extra` extension lines, valid for `days` (negative: expired).
fn self_signed_leaf(dir: &Path, name: &str, days: i32, extra: &str) {
    let (key, csr, pem, ext) = (
        format!("{name}.key"),
        format!("{name}.csr"),
        format!("{name}.pem"),
        format!("{name}.ext"),
    );
    crate::common::registry::openssl(
        dir,
        &[
            "req",
            "-new",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            &key,
            "-out",
            &csr,
            "-subj",
            "/CN=appkit self-signed registry",
        ],
    );
    std::fs::write(
        dir.join(&ext),
        format!("basicConstraints=critical,CA:TRUE\nsubjectAltName=IP:127.0.0.1\n{extra}"),
    )
    .unwrap();
    let days = days.to_string();
    crate::common::registry::openssl(
        dir,
        &[
            "x509", "-req", "-in", &csr, "-signkey", &key, "-days", &days, "-extfile", &ext,
            "-out", &pem,
        ],
    );
}

/// The verdicts of two independent clients on the registry's certificate with `ca` as the only
/// trust: Helm 4 (`helm pull --ca-file` of the chart published there, which must give the
/// published archive) and skopeo (`inspect --cert-dir`). Helm 3.17 cannot be asked: like
/// containerd's resolver it speaks plain HTTP to a loopback registry whatever `--ca-file` says
/// (`unexpected status from HEAD request to http://127.0.0.1:…: 400`).
fn oracles_trust(host: &str, ca: &Path, published: &Path) -> [(&'static str, bool); 2] {
    let home = tempfile::tempdir().unwrap();
    let helm = crate::common::helm(4, home.path())
        .args([
            "pull",
            &format!("oci://{host}/platform/demo"),
            "--version",
            "0.1.0",
        ])
        .arg("--ca-file")
        .arg(ca)
        .arg("--destination")
        .arg(home.path())
        .output()
        .unwrap();
    if helm.status.success() {
        assert_eq!(
            std::fs::read(home.path().join("demo-0.1.0.tgz")).unwrap(),
            std::fs::read(published).unwrap()
        );
    }
    let certs = home.path().join("certs");
    std::fs::create_dir_all(&certs).unwrap();
    std::fs::copy(ca, certs.join("ca.crt")).unwrap();
    let skopeo = Command::new("skopeo")
        .args(["inspect", "--raw", "--cert-dir"])
        .arg(&certs)
        .arg(format!("docker://{host}/platform/demo:0.1.0"))
        .env("HOME", home.path())
        .output()
        .expect("skopeo is installed (run scripts/test)");
    [
        ("Helm 4", helm.status.success()),
        ("skopeo", skopeo.status.success()),
    ]
}

/// The self-signed certificate people make with `openssl req -x509` carries `CA:TRUE`; with it in
/// `--ca-file` appkit trusts exactly it, as Helm 4 and skopeo do — and refuses it, as they do, once it
/// has expired, when it is not allowed for servers, for another host name, and when it is not in
/// `--ca-file`. appkit's verdict is compared with theirs for each case.
#[test]
fn a_self_signed_certificate_in_ca_file_is_trusted_exactly_as_helm_4_and_skopeo_trust_it() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    self_signed_leaf(d, "leaf", 30, "");
    self_signed_leaf(d, "expired", -1, "");
    self_signed_leaf(d, "client", 30, "extendedKeyUsage=clientAuth\n");
    self_signed_leaf(d, "unrelated", 30, "");
    let pem = |n: &str| d.join(format!("{n}.pem"));
    let serve = |n: &str| TlsRegistry::start(&pem(n), &d.join(format!("{n}.key")));

    let leaf = serve("leaf");
    let by_name = format!("localhost:{}", leaf.host.rsplit(':').next().unwrap());
    let expired = serve("expired");
    let client = serve("client");
    let w = crate::oci::Work::new();
    let tgz = w.tgz("0.1.0");
    for r in [&leaf, &expired, &client] {
        let out = crate::oci::appkit_in(
            &["--insecure-skip-tls-verify".to_string()],
            &[
                "push",
                tgz.to_str().unwrap(),
                &format!("oci://{}/platform", r.host),
            ],
        )
        .output()
        .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // (case, host, --ca-file, appkit's expected first words after "the certificate of HOST")
    let cases: [(&str, &str, PathBuf, Option<&str>); 5] = [
        (
            "self-signed CA:TRUE leaf in --ca-file",
            &leaf.host,
            pem("leaf"),
            None,
        ),
        (
            "self-signed leaf, expired",
            &expired.host,
            pem("expired"),
            Some("has expired"),
        ),
        (
            "self-signed leaf for clientAuth only",
            &client.host,
            pem("client"),
            Some("is not allowed for TLS servers"),
        ),
        (
            "self-signed leaf, reached by another name",
            &by_name,
            pem("leaf"),
            Some("is not valid for this host name"),
        ),
        (
            "self-signed leaf, --ca-file holds another certificate",
            &leaf.host,
            pem("unrelated"),
            Some(
                "is a CA certificate (CA:TRUE) used as a server certificate, and not in --ca-file",
            ),
        ),
    ];
    for (case, host, ca, refusal) in cases {
        let (code, err, _) = versions(
            &format!("TLS: {case}"),
            host,
            &["--ca-file", ca.to_str().unwrap(), "--retries", "2"],
        );
        match refusal {
            None => {
                assert_eq!(code, Some(0), "{case}: {err}");
                assert!(!err.contains("TLS"), "{case}: {err}");
            }
            Some(words) => {
                assert_eq!(code, Some(2), "{case}: {err}");
                assert!(
                    err.starts_with(&format!("error: TLS: the certificate of {host} {words}")),
                    "{case}: {err}"
                );
                assert!(err.contains("\nhint: "), "{case}: {err}");
                assert!(
                    err.contains("failed after 1 attempt(s)"),
                    "{case}: retried: {err}"
                );
            }
        }
        for (client, trusted) in oracles_trust(host, &ca, &tgz) {
            assert_eq!(
                trusted,
                refusal.is_none(),
                "{case}: {client} disagrees with appkit"
            );
        }
    }
    // Trusted means usable: a pull through it gives the published archive.
    let dest = w.path().join("pulled");
    let ca = pem("leaf");
    let out = crate::oci::appkit_in(
        &["--ca-file".to_string(), ca.to_str().unwrap().to_string()],
        &[
            "pull",
            &format!("oci://{}/platform/demo:0.1.0", leaf.host),
            "-d",
            dest.to_str().unwrap(),
        ],
    )
    .output()
    .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        std::fs::read(dest.join("demo-0.1.0.tgz")).unwrap(),
        std::fs::read(&tgz).unwrap()
    );
}
