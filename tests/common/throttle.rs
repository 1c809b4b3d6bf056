//! A TCP forwarder on loopback that limits each connection to a number of bytes per second in
//! each direction: in front of the test registry it makes a small chart's transfer last seconds,
//! so progress output can be seen (the bar appears only for a transfer over a second).
//!
//! Its listening socket has a small receive buffer, so an upload is held back at the client
//! instead of disappearing into the kernel's buffers.

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

pub struct Throttle {
    /// `127.0.0.1:PORT`
    pub host: String,
    stop: Arc<AtomicBool>,
}

impl Throttle {
    /// Forward to `upstream` (`host:port`) at `bytes_per_sec` each way, per connection.
    pub fn start(upstream: &str, bytes_per_sec: u64) -> Throttle {
        let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None)
            .expect("a socket");
        socket.set_recv_buffer_size(4096).unwrap();
        let addr: SocketAddr = "127.0.0.1:0".parse().unwrap();
        socket.bind(&addr.into()).unwrap();
        socket.listen(64).unwrap();
        let listener: TcpListener = socket.into();
        let host = listener.local_addr().unwrap().to_string();
        listener.set_nonblocking(true).unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let (stop2, upstream) = (stop.clone(), upstream.to_string());
        std::thread::spawn(move || {
            while !stop2.load(Ordering::Relaxed) {
                let Ok((client, _)) = listener.accept() else {
                    std::thread::sleep(Duration::from_millis(5));
                    continue;
                };
                client.set_nonblocking(false).unwrap();
                let Ok(server) = TcpStream::connect(&upstream) else {
                    continue;
                };
                let (c2, s2) = (client.try_clone().unwrap(), server.try_clone().unwrap());
                std::thread::spawn(move || pump(client, server, bytes_per_sec));
                std::thread::spawn(move || pump(s2, c2, bytes_per_sec));
            }
        });
        Throttle { host, stop }
    }

    pub fn oci(&self, path: &str) -> String {
        format!("oci://{}/{path}", self.host)
    }
}

impl Drop for Throttle {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// Copy `from` → `to` in small pieces, sleeping after each so the rate stays at `rate` bytes/s.
fn pump(mut from: TcpStream, mut to: TcpStream, rate: u64) {
    let mut buf = [0u8; 1024];
    loop {
        match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                if to.write_all(&buf[..n]).is_err() {
                    break;
                }
                std::thread::sleep(Duration::from_micros(n as u64 * 1_000_000 / rate));
            }
        }
    }
    let _ = to.shutdown(Shutdown::Write);
    let _ = from.shutdown(Shutdown::Read);
}
