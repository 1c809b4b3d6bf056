//! A registry that lies, for tests of what appkit sends where: an HTTP server on a loopback
//! address that asks for Basic credentials, forwards to a real (anonymous) distribution registry,
//! and lets a test rewrite answers — an upload `Location` or a tag-list `Link` on another host, a
//! blob GET redirected elsewhere, a tag list that never ends. Several peers (the registry and
//! "another host" on 127.0.0.2) share one log, which records for each request whether it carried
//! an `Authorization` header, so a test can assert where credentials went.

use std::io::{BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::registry::{read_request, SeenRequest};

/// One request a peer received.
#[derive(Debug, Clone)]
pub struct Seen {
    /// The peer's `ip:port`.
    pub peer: String,
    pub method: String,
    pub target: String,
    /// The `Authorization` value, if any (compared by tests, never printed).
    pub authorization: Option<String>,
}

/// What a peer answers.
pub enum Reply {
    /// Forward to the upstream registry and send its answer back, with header edits: each
    /// `(name, Some(value))` replaces (or adds) that header, `(name, None)` removes it.
    Forward(Vec<(String, Option<String>)>),
    /// Answer 200 with this Content-Type and no Content-Length, then `total` bytes of `x`
    /// (or until the client hangs up).
    Stream {
        content_type: &'static str,
        total: u64,
    },
    /// Answer this instead of forwarding.
    Respond {
        status: u16,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
    },
}

impl Reply {
    pub fn forward() -> Reply {
        Reply::Forward(Vec::new())
    }
    pub fn status(status: u16, headers: &[(&str, &str)]) -> Reply {
        Reply::Respond {
            status,
            headers: headers
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            body: Vec::new(),
        }
    }
}

/// What the handler is asked about.
pub struct Incoming<'a> {
    pub request: &'a SeenRequest,
    /// The upstream's answer for a forwarded request is not known yet; this is the request only.
    pub authorized: bool,
}

pub type Handler = Arc<dyn Fn(&Incoming) -> Reply + Send + Sync>;

pub type Log = Arc<Mutex<Vec<Seen>>>;

pub struct Peer {
    /// `ip:port`
    pub addr: String,
    stop: Arc<AtomicBool>,
}

impl Peer {
    /// A peer on `ip` (a free port), forwarding to `upstream` (`ip:port`) unless the handler
    /// answers itself, logging into `log`.
    pub fn start(ip: &str, upstream: Option<String>, log: Log, handler: Handler) -> Peer {
        let listener = TcpListener::bind(format!("{ip}:0")).unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        listener.set_nonblocking(true).unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let (stop2, addr2) = (stop.clone(), addr.clone());
        std::thread::spawn(move || {
            while !stop2.load(Ordering::Relaxed) {
                let Ok((s, _)) = listener.accept() else {
                    std::thread::sleep(Duration::from_millis(2));
                    continue;
                };
                let (log, handler, upstream, addr) = (
                    log.clone(),
                    handler.clone(),
                    upstream.clone(),
                    addr2.clone(),
                );
                std::thread::spawn(move || {
                    s.set_nonblocking(false).unwrap();
                    serve(s, &addr, upstream.as_deref(), &log, &handler);
                });
            }
        });
        Peer { addr, stop }
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// Requests in `log` received by `peer`.
pub fn seen_by(log: &Log, peer: &Peer) -> Vec<Seen> {
    log.lock()
        .unwrap()
        .iter()
        .filter(|s| s.peer == peer.addr)
        .cloned()
        .collect()
}

fn serve(s: TcpStream, addr: &str, upstream: Option<&str>, log: &Log, handler: &Handler) {
    let mut reader = BufReader::new(s);
    // One request per connection (answers say `Connection: close`).
    let Some((req, body)) = read_request(&mut reader) else {
        return;
    };
    let authorization = req
        .headers
        .iter()
        .find(|(k, _)| k == "authorization")
        .map(|(_, v)| v.clone());
    log.lock().unwrap().push(Seen {
        peer: addr.to_string(),
        method: req.method.clone(),
        target: req.target.clone(),
        authorization: authorization.clone(),
    });
    let reply = handler(&Incoming {
        request: &req,
        authorized: authorization.is_some(),
    });
    let mut client = reader.into_inner();
    let out = match reply {
        Reply::Stream {
            content_type,
            total,
        } => {
            let _ = write!(
                client,
                "HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\nConnection: close\r\n\r\n"
            );
            let chunk = vec![b'x'; 64 * 1024];
            let mut sent = 0u64;
            while sent < total && client.write_all(&chunk).is_ok() {
                sent += chunk.len() as u64;
            }
            let _ = client.shutdown(Shutdown::Both);
            return;
        }
        Reply::Respond {
            status,
            headers,
            body,
        } => {
            let mut head = format!("HTTP/1.1 {status} Liar\r\n");
            for (k, v) in &headers {
                head.push_str(&format!("{k}: {v}\r\n"));
            }
            head.push_str(&format!(
                "Content-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            ));
            let mut out = head.into_bytes();
            if req.method != "HEAD" {
                out.extend_from_slice(&body);
            }
            out
        }
        Reply::Forward(edits) => {
            let Some(upstream) = upstream else {
                return;
            };
            let Ok(mut up) = TcpStream::connect(upstream) else {
                return;
            };
            let mut head = format!("{} {} HTTP/1.1\r\n", req.method, req.target);
            for (k, v) in &req.headers {
                // `Host` is kept: the upstream builds its absolute URLs from it, so they name
                // this peer.
                if k == "connection" || k == "keep-alive" {
                    continue;
                }
                head.push_str(&format!("{k}: {v}\r\n"));
            }
            head.push_str("Connection: close\r\n\r\n");
            up.write_all(head.as_bytes()).unwrap();
            up.write_all(&body).unwrap();
            let mut resp = Vec::new();
            let _ = up.read_to_end(&mut resp);
            edit_headers(resp, &edits)
        }
    };
    let _ = client.write_all(&out);
    let _ = client.shutdown(Shutdown::Both);
}

fn edit_headers(resp: Vec<u8>, edits: &[(String, Option<String>)]) -> Vec<u8> {
    if edits.is_empty() {
        return resp;
    }
    let at = resp
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or(resp.len());
    let head = String::from_utf8_lossy(&resp[..at]).to_string();
    let mut lines: Vec<String> = head.split("\r\n").map(str::to_string).collect();
    for (name, value) in edits {
        let prefix = format!("{}:", name.to_ascii_lowercase());
        lines.retain(|l| !l.to_ascii_lowercase().starts_with(&prefix));
        if let Some(v) = value {
            lines.push(format!("{name}: {v}"));
        }
    }
    let mut out = lines.join("\r\n").into_bytes();
    out.extend_from_slice(&resp[at..]);
    out
}

/// A handler for the registry's own origin: 401 with a Basic challenge without credentials,
/// then `then` decides.
pub fn basic_auth(then: impl Fn(&SeenRequest) -> Reply + Send + Sync + 'static) -> Handler {
    Arc::new(move |i: &Incoming| {
        if i.authorized {
            then(i.request)
        } else {
            Reply::status(401, &[("WWW-Authenticate", "Basic realm=\"liar\"")])
        }
    })
}
