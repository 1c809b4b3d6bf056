//! A Harbor-style token service for tests: answers `GET realm?service=…&scope=…` with an ES256 JWT
//! (signed with the `openssl` CLI, its certificate in the `x5c` header and in the registry's
//! `rootcertbundle`), refuses wrong Basic credentials with 401, grants anonymous callers nothing
//! (as Harbor does for private projects) and answers `POST` with 405 (Harbor implements only GET).

use std::io::{BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;

use super::registry::{openssl, read_request, self_signed, which, SeenRequest};

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;
const B64URL: base64::engine::GeneralPurpose = base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// Harbor-style token service: `GET /service/token?service=…&scope=…` with Basic credentials →
/// `{"token", "access_token", "expires_in"}`; `POST` → 405 (Harbor implements only GET).
pub struct TokenIssuer {
    pub realm: String,
    pub cert_pem: PathBuf,
    pub seen: Arc<Mutex<Vec<SeenRequest>>>,
    /// Every token handed out (so a test can check none of them is ever printed).
    pub issued: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
    port: u16,
}

impl TokenIssuer {
    pub(crate) fn start(dir: &Path, user: &str, password: &str) -> TokenIssuer {
        let tdir = dir.join("token");
        std::fs::create_dir_all(&tdir).unwrap();
        self_signed(&tdir, "key.pem", "cert.pem", "appkit-test-issuer");
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
        let issued = Arc::new(Mutex::new(Vec::new()));
        let issued2 = issued.clone();
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
                issued2.lock().unwrap().push(jwt.clone());
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
            issued,
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
