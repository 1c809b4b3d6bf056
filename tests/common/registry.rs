//! A real CNCF distribution registry (`docker-registry serve CONFIG`) for tests, on a free
//! 127.0.0.1 port with a temp storage dir, in four flavours: anonymous, htpasswd Basic, TLS with a
//! test CA (made with the `openssl` CLI), and Harbor-style Bearer tokens from the in-test issuer
//! of `token_issuer.rs`. `fault_proxy.rs` puts a fault-injecting proxy in front of one. Every
//! process and thread started here is stopped on drop.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub use super::fault_proxy::{Fault, FaultAction, FaultProxy, Gate};
pub use super::token_issuer::TokenIssuer;

pub(crate) fn which(tool: &str) -> PathBuf {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join(tool))
            .find(|p| p.is_file())
    });
    found.unwrap_or_else(|| {
        panic!("`{tool}` is not installed: run scripts/test (it installs the test tools)")
    })
}

/// A TCP port on 127.0.0.1 that was free a moment ago and that no other caller in this process
/// has been given. The port is released before the caller binds it, so another process can still
/// take it: callers that start a server on it must check that *their* server got it (see
/// [`Registry::start`], which retries on a clash).
pub fn free_port() -> u16 {
    use std::collections::HashSet;
    use std::sync::Mutex;
    static GIVEN: Mutex<Option<HashSet<u16>>> = Mutex::new(None);
    loop {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut given = GIVEN.lock().unwrap_or_else(|e| e.into_inner());
        if given.get_or_insert_with(HashSet::new).insert(port) {
            return port;
        }
    }
}

pub(crate) fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new(which("openssl"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run openssl");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `openssl` arguments for a new P-256 key, unencrypted.
const EC_KEY: [&str; 5] = [
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:prime256v1",
    "-nodes",
];

/// A self-signed certificate `cert` with key `key` in `dir` (a test CA, or a token issuer's key),
/// valid for 30 days.
pub(crate) fn self_signed(dir: &Path, key: &str, cert: &str, cn: &str) {
    let subj = format!("/CN={cn}");
    let mut args = vec!["req", "-x509"];
    args.extend(EC_KEY);
    args.extend(["-keyout", key, "-out", cert, "-days", "30", "-subj", &subj]);
    openssl(dir, &args);
}

/// `<name>.key` and `<name>.pem` in `dir`, signed by `ca.pem`/`ca.key` there, for `san`
/// (`IP:127.0.0.1`, `DNS:x`), valid for `days` (negative: already expired).
pub(crate) fn signed_by_ca(dir: &Path, name: &str, san: &str, days: i32) {
    let (key, csr, pem, ext) = (
        format!("{name}.key"),
        format!("{name}.csr"),
        format!("{name}.pem"),
        format!("{name}.ext"),
    );
    let mut req = vec!["req"];
    req.extend(EC_KEY);
    req.extend([
        "-keyout",
        &key,
        "-out",
        &csr,
        "-subj",
        "/CN=appkit test registry",
    ]);
    openssl(dir, &req);
    std::fs::write(dir.join(&ext), format!("subjectAltName={san}\n")).unwrap();
    let days = days.to_string();
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            &csr,
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            &pem,
            "-days",
            &days,
            "-extfile",
            &ext,
        ],
    );
}

#[derive(Debug, Clone, Default)]
pub enum Auth {
    #[default]
    Anonymous,
    /// htpasswd Basic auth with one user.
    Basic { user: String, password: String },
    /// Bearer tokens from an in-test issuer that accepts this user (Harbor-style).
    Token { user: String, password: String },
}

#[derive(Debug, Clone, Default)]
pub struct Options {
    pub auth: Auth,
    pub tls: bool,
}

pub struct Registry {
    pub port: u16,
    /// `127.0.0.1:PORT`
    pub host: String,
    pub dir: tempfile::TempDir,
    /// The CA that signed the server certificate (TLS only).
    pub ca_file: Option<PathBuf>,
    pub token: Option<TokenIssuer>,
    child: Child,
    log: PathBuf,
}

impl Registry {
    pub fn anonymous() -> Registry {
        Registry::start(Options::default())
    }

    pub fn start(opts: Options) -> Registry {
        // free_port() releases the port before docker-registry binds it: on a clash (another
        // process took it) the registry exits, and a new port is tried.
        for _ in 0..5 {
            if let Some(r) = Registry::try_start(&opts) {
                return r;
            }
        }
        panic!("docker-registry could not bind a free port in 5 attempts");
    }

    fn try_start(opts: &Options) -> Option<Registry> {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let host = format!("127.0.0.1:{port}");
        // Level info: the log says `listening on HOST` once this registry has bound the port.
        let mut cfg = format!(
            "version: 0.1\nlog:\n  level: info\n  accesslog:\n    disabled: false\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\n  maintenance:\n    uploadpurging:\n      enabled: false\nhttp:\n  addr: {host}\n  secret: appkit-test-secret\n",
            dir.path().join("storage").display()
        );
        let mut ca_file = None;
        if opts.tls {
            let d = dir.path();
            self_signed(d, "ca.key", "ca.pem", "appkit test CA");
            signed_by_ca(d, "server", "IP:127.0.0.1,DNS:localhost", 30);
            cfg.push_str(&format!(
                "  tls:\n    certificate: {}\n    key: {}\n",
                d.join("server.pem").display(),
                d.join("server.key").display()
            ));
            ca_file = Some(d.join("ca.pem"));
        }
        let mut token = None;
        match &opts.auth {
            Auth::Anonymous => {}
            Auth::Basic { user, password } => {
                let out = Command::new(which("htpasswd"))
                    .args(["-Bbn", user, password])
                    .output()
                    .unwrap();
                assert!(out.status.success(), "htpasswd failed");
                let path = dir.path().join("htpasswd");
                std::fs::write(&path, &out.stdout).unwrap();
                cfg.push_str(&format!(
                    "auth:\n  htpasswd:\n    realm: appkit-test\n    path: {}\n",
                    path.display()
                ));
            }
            Auth::Token { user, password } => {
                let issuer = TokenIssuer::start(dir.path(), user, password);
                cfg.push_str(&format!(
                    "auth:\n  token:\n    realm: {}\n    service: harbor-registry\n    issuer: appkit-test-issuer\n    rootcertbundle: {}\n",
                    issuer.realm,
                    issuer.cert_pem.display()
                ));
                token = Some(issuer);
            }
        }
        let config = dir.path().join("config.yml");
        std::fs::write(&config, cfg).unwrap();
        let log = dir.path().join("registry.log");
        let logf = std::fs::File::create(&log).unwrap();
        let child = Command::new(which("docker-registry"))
            .arg("serve")
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(logf.try_clone().unwrap())
            .stderr(logf)
            .spawn()
            .expect("start docker-registry");
        let mut r = Registry {
            port,
            host,
            dir,
            ca_file,
            token,
            child,
            log,
        };
        r.wait_ready().then_some(r)
    }

    /// True once this registry listens on its port (its own log says so and the port answers);
    /// false when it exited because the port was taken.
    fn wait_ready(&mut self) -> bool {
        let deadline = Instant::now() + Duration::from_secs(15);
        let listening = format!("listening on {}", self.host);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                let log = self.log_text();
                if log.contains("address already in use") {
                    return false;
                }
                panic!("docker-registry exited ({status}):\n{log}");
            }
            if self.log_text().contains(&listening)
                && TcpStream::connect(("127.0.0.1", self.port)).is_ok()
            {
                return true;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!(
            "docker-registry did not listen on {} within 15 s:\n{}",
            self.host,
            self.log_text()
        );
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Access-log lines of HTTP requests (`"METHOD /path HTTP/1.1" status`), in order.
    pub fn requests(&self) -> Vec<String> {
        self.log_text()
            .lines()
            .filter_map(|l| {
                let start = l
                    .find("\"GET ")
                    .or(l.find("\"HEAD "))
                    .or(l.find("\"POST "))
                    .or(l.find("\"PUT "))
                    .or(l.find("\"PATCH "))
                    .or(l.find("\"DELETE "))?;
                Some(l[start + 1..].to_string())
            })
            .collect()
    }

    /// The requests logged before a probe (`GET /v2/?appkit-probe=N`) this call makes and waits to
    /// see in the access log: proof that the log records requests, so that an empty answer means
    /// no request was made rather than a log that records nothing. Anonymous plain HTTP only.
    pub fn requests_before_probe(&self) -> Vec<String> {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static N: AtomicUsize = AtomicUsize::new(0);
        let probe = format!("/v2/?appkit-probe={}", N.fetch_add(1, Ordering::SeqCst));
        let (status, _) = self.get(&probe, "*/*");
        assert_eq!(status, 200, "probe {probe}");
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let reqs = self.requests();
            if let Some(i) = reqs.iter().position(|l| l.contains(&probe)) {
                return reqs[..i].to_vec();
            }
            assert!(
                Instant::now() < deadline,
                "the access log never recorded the probe {probe}:\n{}",
                self.log_text()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// How many requests matched `method` and a path containing `path_part`.
    pub fn count(&self, method: &str, path_part: &str) -> usize {
        self.requests()
            .iter()
            .filter(|l| l.starts_with(&format!("{method} ")) && l.contains(path_part))
            .count()
    }

    pub fn oci(&self, path: &str) -> String {
        format!("oci://{}/{path}", self.host)
    }

    /// Flags appkit needs for this registry (plain HTTP or the test CA).
    pub fn appkit_flags(&self) -> Vec<String> {
        match &self.ca_file {
            Some(ca) => vec!["--ca-file".into(), ca.display().to_string()],
            None => vec!["--plain-http".into()],
        }
    }

    /// Flags Helm needs for this registry.
    pub fn helm_flags(&self) -> Vec<String> {
        match &self.ca_file {
            Some(ca) => vec!["--ca-file".into(), ca.display().to_string()],
            None => vec!["--plain-http".into()],
        }
    }

    /// Raw HTTP GET on the registry with optional Basic creds (for independent checks).
    pub fn get(&self, path: &str, accept: &str) -> (u16, Vec<u8>) {
        assert!(
            self.ca_file.is_none() && self.token.is_none(),
            "raw get: anonymous plain HTTP only"
        );
        http_request(&self.host, "GET", path, &[("Accept", accept)], b"")
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A one-shot HTTP/1.1 request (Connection: close); returns status and body.
pub fn http_request(
    host: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> (u16, Vec<u8>) {
    let mut s = TcpStream::connect(host).unwrap();
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).unwrap();
    s.write_all(body).unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).unwrap();
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("HTTP response head");
    let head = String::from_utf8_lossy(&raw[..split]).to_string();
    let status: u16 = head.split_whitespace().nth(1).unwrap().parse().unwrap();
    let mut body = raw[split + 4..].to_vec();
    if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        body = dechunk(&body);
    }
    (status, body)
}

fn dechunk(mut b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(nl) = b.windows(2).position(|w| w == b"\r\n") {
        let size = usize::from_str_radix(String::from_utf8_lossy(&b[..nl]).trim(), 16).unwrap_or(0);
        if size == 0 {
            break;
        }
        out.extend_from_slice(&b[nl + 2..nl + 2 + size]);
        b = &b[nl + 2 + size + 2..];
    }
    out
}

/// One parsed HTTP request as seen by the test servers.
#[derive(Debug, Clone)]
pub struct SeenRequest {
    pub method: String,
    pub target: String,
    /// Header names (lower case) and values. Kept only for servers that must check credentials;
    /// tests assert on what appkit sends, never print these.
    pub headers: Vec<(String, String)>,
}

pub(crate) fn read_request(stream: &mut BufReader<TcpStream>) -> Option<(SeenRequest, Vec<u8>)> {
    let mut line = String::new();
    if stream.read_line(&mut line).ok()? == 0 {
        return None;
    }
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_string();
    let target = parts.next()?.to_string();
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        stream.read_line(&mut h).ok()?;
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
        }
    }
    let len: usize = headers
        .iter()
        .find(|(k, _)| k == "content-length")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; len];
    stream.read_exact(&mut body).ok()?;
    Some((
        SeenRequest {
            method,
            target,
            headers,
        },
        body,
    ))
}
