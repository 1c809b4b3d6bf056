//! A small HTTP/1.1 proxy in front of a plain-HTTP registry that injects faults on cue (a status
//! such as 503 or 429 with `Retry-After`, or a connection dropped in the middle of a request body),
//! holds a request at a [`Gate`] until the test opens it (to interleave two pushes exactly), and
//! records every request it sees with the status it answered.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// Where a [`FaultAction::Hold`] keeps requests: the test waits until one has arrived, does what
/// must happen meanwhile (another job runs to its end), then opens the gate and the held request
/// goes on to the registry unchanged.
#[derive(Debug, Clone, Default)]
pub struct Gate(Arc<(Mutex<(usize, bool)>, Condvar)>);

impl Gate {
    pub fn new() -> Gate {
        Gate::default()
    }

    /// Let every held request (and any later one) through.
    pub fn open(&self) {
        let (m, c) = &*self.0;
        m.lock().unwrap().1 = true;
        c.notify_all();
    }

    /// Wait until `n` requests have arrived at the gate (at most `timeout`, then panic).
    pub fn wait_arrived(&self, n: usize, timeout: Duration) {
        let (m, c) = &*self.0;
        let deadline = Instant::now() + timeout;
        let mut g = m.lock().unwrap();
        while g.0 < n {
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(
                !left.is_zero(),
                "no request arrived at the gate in {timeout:?}"
            );
            g = c.wait_timeout(g, left).unwrap().0;
        }
    }

    fn hold(&self) {
        let (m, c) = &*self.0;
        let mut g = m.lock().unwrap();
        g.0 += 1;
        c.notify_all();
        // Bounded: a test that forgets to open the gate fails instead of hanging.
        let deadline = Instant::now() + Duration::from_secs(120);
        while !g.1 && Instant::now() < deadline {
            g = c.wait_timeout(g, Duration::from_millis(200)).unwrap().0;
        }
    }
}

/// What the proxy does to a matching request.
#[derive(Debug, Clone)]
pub enum FaultAction {
    /// Answer with this status (and `Retry-After` when given) instead of forwarding.
    Status(u16, Option<u64>),
    /// Read the request head and half the body, then close the connection without answering.
    DropMidBody,
    /// Read the request, then say nothing for this long before closing (a stalled registry).
    Stall(Duration),
    /// Forward, then send the upstream head (with its Content-Length) and only half the body.
    TruncateBody,
    /// Forward, then flip every byte of the upstream body (same length: a digest mismatch).
    CorruptBody,
    /// The inner action, but only for a request that carries an `Authorization` header (others
    /// are forwarded and do not count): a fault after the credentials were sent.
    IfAuthorized(Box<FaultAction>),
    /// Forward, then drop this response header (case-insensitive name), e.g.
    /// `Docker-Content-Digest`.
    StripHeader(&'static str),
    /// Answer with this status, Content-Type and body instead of forwarding.
    Respond(u16, &'static str, Vec<u8>),
    /// Answer 200 with this Content-Type and no Content-Length, then stream zeros until the client
    /// hangs up (or 1 GiB): a registry trying to exhaust the client's memory.
    Endless(&'static str),
    /// Read the request, wait at the gate until the test opens it, then forward it unchanged.
    Hold(Gate),
    /// Let this many matching requests through untouched (they do not count against `times`),
    /// then apply the inner action: e.g. hold the third HEAD of a tag, not the first.
    After(usize, Box<FaultAction>),
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
    let mut authorized = false;
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
            if k == "authorization" {
                authorized = true;
            }
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
            .find(|f| {
                f.times > 0
                    && f.method == method
                    && target.contains(f.path_contains)
                    && (authorized || !matches!(f.action, FaultAction::IfAuthorized(_)))
            })
            .and_then(|f| {
                if let FaultAction::After(n, inner) = &mut f.action {
                    if *n > 0 {
                        *n -= 1;
                        return None;
                    }
                    let inner = (**inner).clone();
                    f.times -= 1;
                    return Some(inner);
                }
                f.times -= 1;
                Some(match &f.action {
                    FaultAction::IfAuthorized(inner) => (**inner).clone(),
                    a => a.clone(),
                })
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
        Some(FaultAction::Stall(d)) => {
            let mut body = vec![0; len];
            let _ = client.read_exact(&mut body);
            seen.lock().unwrap().push((method, target, 0));
            std::thread::sleep(d);
            let _ = client.get_ref().shutdown(Shutdown::Both);
            return;
        }
        Some(FaultAction::Endless(content_type)) => {
            let mut body = vec![0; len];
            let _ = client.read_exact(&mut body);
            seen.lock().unwrap().push((method, target, 200));
            let _ = write!(
                client.get_mut(),
                "HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\nConnection: close\r\n\r\n"
            );
            let chunk = vec![b'0'; 64 * 1024];
            for _ in 0..16 * 1024 {
                if client.get_mut().write_all(&chunk).is_err() {
                    break;
                }
            }
            let _ = client.get_ref().shutdown(Shutdown::Both);
            return;
        }
        Some(FaultAction::Respond(code, content_type, payload)) => {
            let mut body = vec![0; len];
            let _ = client.read_exact(&mut body);
            let head_only = method == "HEAD";
            seen.lock().unwrap().push((method, target, code));
            let _ = write!(
                client.get_mut(),
                "HTTP/1.1 {code} Fault\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                payload.len()
            );
            if !head_only {
                let _ = client.get_mut().write_all(&payload);
            }
            return;
        }
        _ => {}
    }
    let mutate = fault;
    let mut body = vec![0; len];
    if client.read_exact(&mut body).is_err() {
        return;
    }
    if let Some(FaultAction::Hold(gate)) = &mutate {
        gate.hold();
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
    let body_at = resp
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map_or(resp.len(), |i| i + 4);
    match mutate {
        Some(FaultAction::TruncateBody) => {
            let keep = body_at + (resp.len() - body_at) / 2;
            resp.truncate(keep);
        }
        Some(FaultAction::CorruptBody) => {
            for b in &mut resp[body_at..] {
                *b = !*b;
            }
        }
        Some(FaultAction::StripHeader(name)) => {
            let head = String::from_utf8_lossy(&resp[..body_at]).to_string();
            let prefix = format!("{}:", name.to_ascii_lowercase());
            let kept: String = head
                .split_inclusive("\r\n")
                .filter(|l| !l.to_ascii_lowercase().starts_with(&prefix))
                .collect();
            let mut out = kept.into_bytes();
            out.extend_from_slice(&resp[body_at..]);
            resp = out;
        }
        _ => {}
    }
    let _ = client.get_mut().write_all(&resp);
    let _ = client.get_ref().shutdown(Shutdown::Both);
}
