//! A real CNCF distribution registry (`docker-registry serve CONFIG`) for tests, on a free
//! 127.0.0.1 port with a temp storage dir, in four flavours: anonymous, htpasswd Basic, TLS with a
//! test CA (made with the `openssl` CLI), and Harbor-style Bearer tokens from a tiny token issuer
//! running in the test (ES256 JWTs signed with `openssl`). Also a small fault-injecting HTTP proxy
//! that sits in front of a registry and answers 503 / 429 or drops connections on cue, recording
//! every request it sees. Every process and thread started here is stopped on drop.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine;

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;
const B64URL: base64::engine::GeneralPurpose = base64::engine::general_purpose::URL_SAFE_NO_PAD;

fn which(tool: &str) -> PathBuf {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join(tool))
            .find(|p| p.is_file())
    });
    found.unwrap_or_else(|| {
        panic!("`{tool}` is not installed: run scripts/test (it installs the test tools)")
    })
}

/// A free TCP port on 127.0.0.1.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn openssl(dir: &Path, args: &[&str]) {
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
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let host = format!("127.0.0.1:{port}");
        let mut cfg = format!(
            "version: 0.1\nlog:\n  level: warn\n  accesslog:\n    disabled: false\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\n  maintenance:\n    uploadpurging:\n      enabled: false\nhttp:\n  addr: {host}\n  secret: appkit-test-secret\n",
            dir.path().join("storage").display()
        );
        let mut ca_file = None;
        if opts.tls {
            let d = dir.path();
            openssl(
                d,
                &[
                    "req",
                    "-x509",
                    "-newkey",
                    "ec",
                    "-pkeyopt",
                    "ec_paramgen_curve:prime256v1",
                    "-nodes",
                    "-keyout",
                    "ca.key",
                    "-out",
                    "ca.pem",
                    "-days",
                    "30",
                    "-subj",
                    "/CN=appkit test CA",
                ],
            );
            openssl(
                d,
                &[
                    "req",
                    "-newkey",
                    "ec",
                    "-pkeyopt",
                    "ec_paramgen_curve:prime256v1",
                    "-nodes",
                    "-keyout",
                    "server.key",
                    "-out",
                    "server.csr",
                    "-subj",
                    "/CN=127.0.0.1",
                ],
            );
            std::fs::write(
                d.join("san.ext"),
                "subjectAltName=IP:127.0.0.1,DNS:localhost\n",
            )
            .unwrap();
            openssl(
                d,
                &[
                    "x509",
                    "-req",
                    "-in",
                    "server.csr",
                    "-CA",
                    "ca.pem",
                    "-CAkey",
                    "ca.key",
                    "-CAcreateserial",
                    "-out",
                    "server.pem",
                    "-days",
                    "30",
                    "-extfile",
                    "san.ext",
                ],
            );
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
        r.wait_ready();
        r
    }

    fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("docker-registry exited ({status}):\n{}", self.log_text());
            }
            if TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return;
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

fn read_request(stream: &mut BufReader<TcpStream>) -> Option<(SeenRequest, Vec<u8>)> {
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

/// Harbor-style token service: `GET /service/token?service=…&scope=…` with Basic credentials →
/// `{"token", "access_token", "expires_in"}`; `POST` → 405 (Harbor implements only GET).
pub struct TokenIssuer {
    pub realm: String,
    pub cert_pem: PathBuf,
    pub seen: Arc<Mutex<Vec<SeenRequest>>>,
    stop: Arc<AtomicBool>,
    port: u16,
}

impl TokenIssuer {
    fn start(dir: &Path, user: &str, password: &str) -> TokenIssuer {
        let tdir = dir.join("token");
        std::fs::create_dir_all(&tdir).unwrap();
        openssl(
            &tdir,
            &[
                "req",
                "-x509",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:prime256v1",
                "-nodes",
                "-keyout",
                "key.pem",
                "-out",
                "cert.pem",
                "-days",
                "30",
                "-subj",
                "/CN=appkit-test-issuer",
            ],
        );
        openssl(
            &tdir,
            &[
                "x509", "-in", "cert.pem", "-outform", "DER", "-out", "cert.der",
            ],
        );
        let x5c = B64.encode(std::fs::read(tdir.join("cert.der")).unwrap());
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        listener.set_nonblocking(true).unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let expected = format!("Basic {}", B64.encode(format!("{user}:{password}")));
        let (seen2, stop2, key) = (seen.clone(), stop.clone(), tdir.join("key.pem"));
        std::thread::spawn(move || {
            while !stop2.load(Ordering::Relaxed) {
                let Ok((s, _)) = listener.accept() else {
                    std::thread::sleep(Duration::from_millis(10));
                    continue;
                };
                s.set_nonblocking(false).unwrap();
                let mut r = BufReader::new(s);
                let Some((req, _)) = read_request(&mut r) else {
                    continue;
                };
                seen2.lock().unwrap().push(req.clone());
                let mut s = r.into_inner();
                let reply = |s: &mut TcpStream, status: &str, body: &str| {
                    let _ = write!(s, "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len());
                };
                if req.method != "GET" {
                    reply(&mut s, "405 Method Not Allowed", "{}");
                    continue;
                }
                let auth = req
                    .headers
                    .iter()
                    .find(|(k, _)| k == "authorization")
                    .map(|(_, v)| v.clone());
                if auth.is_some() && auth.as_deref() != Some(expected.as_str()) {
                    reply(
                        &mut s,
                        "401 Unauthorized",
                        r#"{"errors":[{"code":"UNAUTHORIZED","message":"invalid credentials"}]}"#,
                    );
                    continue;
                }
                // Anonymous callers get a token without access, as Harbor does for private projects.
                let granted = auth.is_some();
                let query = req
                    .target
                    .split_once('?')
                    .map(|(_, q)| q.to_string())
                    .unwrap_or_default();
                let mut access = Vec::new();
                let mut service = String::new();
                for pair in query.split('&') {
                    let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
                    let v = percent_decode(v);
                    if k == "service" {
                        service = v;
                    } else if k == "scope" && granted {
                        let mut it = v.splitn(3, ':');
                        let (t, n, a) = (
                            it.next().unwrap_or(""),
                            it.next().unwrap_or(""),
                            it.next().unwrap_or(""),
                        );
                        let actions: Vec<&str> = a.split(',').filter(|x| !x.is_empty()).collect();
                        access.push(serde_json::json!({"type": t, "name": n, "actions": actions}));
                    }
                }
                let now = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap()
                    .as_secs();
                let header = serde_json::json!({"alg": "ES256", "typ": "JWT", "x5c": [x5c]});
                let claims = serde_json::json!({
                    "iss": "appkit-test-issuer", "aud": service, "sub": if granted { "user" } else { "" },
                    "exp": now + 300, "nbf": now - 10, "iat": now, "jti": format!("t{now}{}", access.len()),
                    "access": access,
                });
                let signing_input = format!(
                    "{}.{}",
                    B64URL.encode(header.to_string()),
                    B64URL.encode(claims.to_string())
                );
                let sig = es256_sign(&key, signing_input.as_bytes());
                let jwt = format!("{signing_input}.{}", B64URL.encode(sig));
                let body =
                    serde_json::json!({"token": jwt, "access_token": jwt, "expires_in": 300})
                        .to_string();
                reply(&mut s, "200 OK", &body);
            }
        });
        TokenIssuer {
            realm: format!("http://127.0.0.1:{port}/service/token"),
            cert_pem: tdir.join("cert.pem"),
            seen,
            stop,
            port,
        }
    }

    /// The scopes asked for in token requests, in order.
    pub fn scopes(&self) -> Vec<String> {
        self.seen
            .lock()
            .unwrap()
            .iter()
            .flat_map(|r| {
                r.target
                    .split_once('?')
                    .map(|(_, q)| q.to_string())
                    .unwrap_or_default()
                    .split('&')
                    .filter_map(|p| p.strip_prefix("scope=").map(percent_decode))
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    pub fn port(&self) -> u16 {
        self.port
    }
}

impl Drop for TokenIssuer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 3 <= b.len() {
            if let Ok(v) = u8::from_str_radix(&s[i + 1..i + 3], 16) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(if b[i] == b'+' { b' ' } else { b[i] });
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// ES256 over `data` with the PEM key, via `openssl dgst`, as a raw 64-byte r‖s (JWS form).
fn es256_sign(key: &Path, data: &[u8]) -> Vec<u8> {
    let mut child = Command::new(which("openssl"))
        .args(["dgst", "-sha256", "-sign"])
        .arg(key)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(data).unwrap();
    let der = child.wait_with_output().unwrap().stdout;
    // SEQUENCE { INTEGER r, INTEGER s }
    assert_eq!(der[0], 0x30, "DER signature");
    let mut i = if der[1] & 0x80 != 0 {
        2 + (der[1] & 0x7f) as usize
    } else {
        2
    };
    let mut out = Vec::new();
    for _ in 0..2 {
        assert_eq!(der[i], 0x02);
        let len = der[i + 1] as usize;
        let int = &der[i + 2..i + 2 + len];
        let int = if int.len() > 32 {
            &int[int.len() - 32..]
        } else {
            int
        };
        out.extend(std::iter::repeat_n(0u8, 32 - int.len()));
        out.extend_from_slice(int);
        i += 2 + len;
    }
    out
}

/// What the proxy does to a matching request.
#[derive(Debug, Clone)]
pub enum FaultAction {
    /// Answer with this status (and `Retry-After` when given) instead of forwarding.
    Status(u16, Option<u64>),
    /// Read the request head and half the body, then close the connection without answering.
    DropMidBody,
}

#[derive(Debug, Clone)]
pub struct Fault {
    pub method: &'static str,
    pub path_contains: &'static str,
    pub action: FaultAction,
    /// How many matching requests get the fault (later ones are forwarded).
    pub times: usize,
}

/// An HTTP proxy in front of a plain-HTTP registry, injecting [`Fault`]s and recording requests.
pub struct FaultProxy {
    pub host: String,
    pub seen: Arc<Mutex<Vec<(String, String, u16)>>>,
    stop: Arc<AtomicBool>,
}

impl FaultProxy {
    pub fn start(upstream: &str, faults: Vec<Fault>) -> FaultProxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let host = listener.local_addr().unwrap().to_string();
        listener.set_nonblocking(true).unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let faults = Arc::new(Mutex::new(faults));
        let (seen2, stop2, upstream) = (seen.clone(), stop.clone(), upstream.to_string());
        std::thread::spawn(move || {
            while !stop2.load(Ordering::Relaxed) {
                let Ok((s, _)) = listener.accept() else {
                    std::thread::sleep(Duration::from_millis(5));
                    continue;
                };
                let (seen, faults, upstream) = (seen2.clone(), faults.clone(), upstream.clone());
                std::thread::spawn(move || {
                    s.set_nonblocking(false).unwrap();
                    proxy_connection(s, &upstream, &faults, &seen);
                });
            }
        });
        FaultProxy { host, seen, stop }
    }

    pub fn oci(&self, path: &str) -> String {
        format!("oci://{}/{path}", self.host)
    }

    /// Requests seen as `(method, target, status answered)`; status 0 = dropped.
    pub fn requests(&self) -> Vec<(String, String, u16)> {
        self.seen.lock().unwrap().clone()
    }

    pub fn count(&self, method: &str, path_part: &str) -> usize {
        self.requests()
            .iter()
            .filter(|(m, t, _)| m == method && t.contains(path_part))
            .count()
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

fn proxy_connection(
    client: TcpStream,
    upstream: &str,
    faults: &Mutex<Vec<Fault>>,
    seen: &Mutex<Vec<(String, String, u16)>>,
) {
    let mut reader = BufReader::new(client);
    // Read the head by hand so a DropMidBody fault can stop inside the body.
    let mut line = String::new();
    if reader.read_line(&mut line).unwrap_or(0) == 0 {
        return;
    }
    let mut parts = line.split_whitespace();
    let (method, target) = (
        parts.next().unwrap_or("").to_string(),
        parts.next().unwrap_or("").to_string(),
    );
    let mut head_lines = Vec::new();
    let mut len = 0usize;
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).unwrap_or(0) == 0 {
            return;
        }
        let t = h.trim_end().to_string();
        if t.is_empty() {
            break;
        }
        if let Some((k, v)) = t.split_once(':') {
            let k = k.trim().to_ascii_lowercase();
            if k == "content-length" {
                len = v.trim().parse().unwrap_or(0);
            }
            if k == "connection" || k == "keep-alive" {
                continue;
            }
        }
        head_lines.push(t);
    }
    let fault = {
        let mut fs = faults.lock().unwrap();
        fs.iter_mut()
            .find(|f| f.times > 0 && f.method == method && target.contains(f.path_contains))
            .map(|f| {
                f.times -= 1;
                f.action.clone()
            })
    };
    let mut client = reader;
    match fault {
        Some(FaultAction::DropMidBody) => {
            let mut half = vec![0; len / 2];
            let _ = client.read_exact(&mut half);
            seen.lock().unwrap().push((method, target, 0));
            let _ = client.get_ref().shutdown(Shutdown::Both);
            return;
        }
        Some(FaultAction::Status(code, retry_after)) => {
            let mut body = vec![0; len];
            let _ = client.read_exact(&mut body);
            seen.lock().unwrap().push((method, target, code));
            let ra = retry_after
                .map(|s| format!("Retry-After: {s}\r\n"))
                .unwrap_or_default();
            let _ = write!(
                client.get_mut(),
                "HTTP/1.1 {code} Fault\r\n{ra}Content-Length: 0\r\nConnection: close\r\n\r\n"
            );
            return;
        }
        None => {}
    }
    let mut body = vec![0; len];
    if client.read_exact(&mut body).is_err() {
        return;
    }
    let Ok(mut up) = TcpStream::connect(upstream) else {
        seen.lock().unwrap().push((method, target, 0));
        return;
    };
    let mut head = format!("{method} {target} HTTP/1.1\r\n");
    for h in &head_lines {
        head.push_str(h);
        head.push_str("\r\n");
    }
    head.push_str("Connection: close\r\n\r\n");
    up.write_all(head.as_bytes()).unwrap();
    up.write_all(&body).unwrap();
    let mut resp = Vec::new();
    let _ = up.read_to_end(&mut resp);
    let status = String::from_utf8_lossy(&resp[..resp.len().min(20)])
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    seen.lock().unwrap().push((method, target, status));
    let _ = client.get_mut().write_all(&resp);
    let _ = client.get_ref().shutdown(Shutdown::Both);
}
