//! Test clients for the reactor's integration tests: raw HTTP/1.1 and raw WebSocket over
//! `std::net`, so the tests see exactly the bytes the server writes.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use engine::{Config, IoBackend, Server};

/// Run a test body once per I/O backend: `both_backends!(name, body_fn);`
#[macro_export]
macro_rules! both_backends {
    ($name:ident, $body:ident) => {
        mod $name {
            #[test]
            fn epoll() {
                super::$body(engine::IoBackend::Epoll);
            }
            #[test]
            fn io_uring() {
                super::$body(engine::IoBackend::Uring);
            }
        }
    };
}

/// A reactor-test server (the built-in echo app) on an ephemeral port with short
/// timeouts, after `adjust` changed its config.
pub fn start_with(io: IoBackend, adjust: impl FnOnce(&mut Config)) -> Server {
    let mut config = test_config(io);
    adjust(&mut config);
    let server =
        Server::start_with(config, engine::reactor::testapp::EchoApp::new).expect("server starts");
    check_backend(&server, io);
    server
}

/// The real Flux application (REST + gateway) on an ephemeral port with a temporary data
/// dir and test hooks on, after `adjust` changed its config.
pub fn start_flux(io: IoBackend, adjust: impl FnOnce(&mut Config)) -> Server {
    let mut config = test_config(io);
    config.test_hooks = true;
    adjust(&mut config);
    let server = Server::start(config).expect("server starts");
    check_backend(&server, io);
    server
}

fn test_config(io: IoBackend) -> Config {
    let mut config = Config::ephemeral();
    config.io = io;
    config.limits.close_linger_ms = 500;
    config.limits.shutdown_grace_ms = 2_000;
    config
}

fn check_backend(server: &Server, io: IoBackend) {
    if io == IoBackend::Uring && engine::reactor::io_uring_available().is_ok() {
        assert_eq!(
            server.io_backend(),
            IoBackend::Uring,
            "io_uring works here; no fallback"
        );
    }
}

pub fn start(io: IoBackend) -> Server {
    start_with(io, |_| {})
}

pub fn connect(addr: SocketAddr) -> TcpStream {
    let stream = TcpStream::connect(addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    stream.set_nodelay(true).unwrap();
    stream
}

/// One parsed HTTP response.
#[derive(Debug)]
pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl HttpResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("JSON body")
    }

    /// Check the Discord-style error shape and the exact Content-Type (CLIENTS.md §0.1).
    pub fn assert_json_error(&self, status: u16) {
        assert_eq!(self.status, status, "{self:?}");
        assert_eq!(self.header("content-type"), Some("application/json"));
        let body = self.json();
        assert!(body["message"].is_string(), "{body}");
        assert_eq!(body["code"], 0);
    }
}

/// Check a Discord error answer: this HTTP status, the exact Content-Type (CLIENTS.md §0.1)
/// and this JSON error `code`.
pub fn assert_error(response: &HttpResponse, status: u16, code: u64) {
    assert_eq!(response.status, status, "{response:?}");
    assert_eq!(response.header("content-type"), Some("application/json"));
    assert_eq!(response.json()["code"], code, "{response:?}");
}

/// A raw HTTP/1.1 client connection that reads responses one by one.
pub struct HttpClient {
    pub stream: TcpStream,
    buf: Vec<u8>,
}

impl HttpClient {
    pub fn new(addr: SocketAddr) -> HttpClient {
        HttpClient::from_stream(connect(addr))
    }

    /// A client on a stream the caller connected (for example from a chosen source).
    pub fn from_stream(stream: TcpStream) -> HttpClient {
        HttpClient {
            stream,
            buf: Vec::new(),
        }
    }

    pub fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).unwrap();
    }

    /// Read one response (Content-Length framed). `None` on EOF before any byte.
    pub fn read_response(&mut self) -> Option<HttpResponse> {
        loop {
            if let Some(end) = find(&self.buf, b"\r\n\r\n") {
                let head = String::from_utf8(self.buf[..end].to_vec()).unwrap();
                let mut lines = head.split("\r\n");
                let status_line = lines.next().unwrap();
                let status = status_line.split(' ').nth(1).unwrap().parse().unwrap();
                let headers: Vec<(String, String)> = lines
                    .map(|line| {
                        let (name, value) = line.split_once(':').unwrap();
                        (name.trim().to_string(), value.trim().to_string())
                    })
                    .collect();
                let len: usize = headers
                    .iter()
                    .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
                    .map_or(0, |(_, v)| v.parse().unwrap());
                if status == 101 {
                    let body = Vec::new();
                    self.buf.drain(..end + 4);
                    return Some(HttpResponse {
                        status,
                        headers,
                        body,
                    });
                }
                while self.buf.len() < end + 4 + len {
                    self.fill().expect("body bytes before EOF");
                }
                let body = self.buf[end + 4..end + 4 + len].to_vec();
                self.buf.drain(..end + 4 + len);
                return Some(HttpResponse {
                    status,
                    headers,
                    body,
                });
            }
            if self.fill().is_none() {
                assert!(self.buf.is_empty(), "EOF inside a response head");
                return None;
            }
        }
    }

    /// Bytes received but not consumed by `read_response`.
    pub fn take_buffered(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.buf)
    }

    fn fill(&mut self) -> Option<usize> {
        let mut chunk = [0u8; 16 * 1024];
        match self.stream.read(&mut chunk) {
            Ok(0) => None,
            Ok(n) => {
                self.buf.extend_from_slice(&chunk[..n]);
                Some(n)
            }
            Err(error) if error.kind() == std::io::ErrorKind::ConnectionReset => None,
            Err(error) if error.kind() == std::io::ErrorKind::Interrupted => Some(0),
            Err(error) => panic!("read: {error}"),
        }
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// What a WebSocket client received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Received {
    Text(String),
    Binary(Vec<u8>),
    Ping(Vec<u8>),
    Pong(Vec<u8>),
    Close(Option<u16>, String),
    /// The TCP connection ended.
    Eof,
}

/// A raw WebSocket client: masked frames out (wsframe's encoder), a client-role decoder in.
pub struct WsClient {
    pub stream: TcpStream,
    decoder: wsframe::Decoder,
    pending: Vec<u8>,
    mask: u8,
}

pub const UPGRADE_KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";

impl WsClient {
    pub fn connect(addr: SocketAddr, target: &str) -> WsClient {
        let mut http = HttpClient::new(addr);
        http.send(
            format!(
                "GET {target} HTTP/1.1\r\nHost: flux\r\nUpgrade: websocket\r\n\
                 Connection: Upgrade\r\nSec-WebSocket-Key: {UPGRADE_KEY}\r\n\
                 Sec-WebSocket-Version: 13\r\nSec-WebSocket-Extensions: permessage-deflate\r\n\r\n"
            )
            .as_bytes(),
        );
        let response = http.read_response().expect("101");
        assert_eq!(response.status, 101, "{response:?}");
        assert_eq!(
            response.header("sec-websocket-accept"),
            Some("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
        );
        assert_eq!(response.header("sec-websocket-extensions"), None);
        let pending = http.take_buffered();
        WsClient {
            stream: http.stream,
            decoder: wsframe::Decoder::new(wsframe::Config::client()),
            pending,
            mask: 1,
        }
    }

    pub fn frame(&mut self, opcode: wsframe::Opcode, payload: &[u8]) -> Vec<u8> {
        self.mask = self.mask.wrapping_add(37);
        let key = [self.mask, 0xA5, self.mask ^ 0x5A, 7];
        let mut out = Vec::new();
        let header = wsframe::FrameHeader::client(opcode, payload.len(), key);
        wsframe::encode_frame(&mut out, &header, payload);
        out
    }

    pub fn send_raw(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).unwrap();
    }

    pub fn send_text(&mut self, text: &str) {
        let frame = self.frame(wsframe::Opcode::Text, text.as_bytes());
        self.send_raw(&frame);
    }

    pub fn send_binary(&mut self, bytes: &[u8]) {
        let frame = self.frame(wsframe::Opcode::Binary, bytes);
        self.send_raw(&frame);
    }

    pub fn send_close(&mut self, code: u16) {
        let payload = code.to_be_bytes();
        let frame = self.frame(wsframe::Opcode::Close, &payload);
        self.send_raw(&frame);
    }

    /// The next message, or `Eof`.
    pub fn recv(&mut self) -> Received {
        loop {
            let mut input = self.pending.as_slice();
            let result = self.decoder.decode(&mut input).map(|m| m.map(owned));
            let used = self.pending.len() - input.len();
            self.pending.drain(..used);
            match result {
                Ok(Some(received)) => return received,
                Ok(None) => {}
                Err(error) => panic!("server sent a bad frame: {error:?}"),
            }
            let mut chunk = [0u8; 64 * 1024];
            match self.stream.read(&mut chunk) {
                Ok(0) => return Received::Eof,
                Ok(n) => self.pending.extend_from_slice(&chunk[..n]),
                Err(error) if error.kind() == std::io::ErrorKind::ConnectionReset => {
                    return Received::Eof
                }
                Err(error) if error.kind() == std::io::ErrorKind::Interrupted => {}
                Err(error) => panic!("read: {error}"),
            }
        }
    }
}

fn owned(message: wsframe::Message<'_>) -> Received {
    match message {
        wsframe::Message::Text(text) => Received::Text(text.to_string()),
        wsframe::Message::Binary(bytes) => Received::Binary(bytes.to_vec()),
        wsframe::Message::Ping(bytes) => Received::Ping(bytes.to_vec()),
        wsframe::Message::Pong(bytes) => Received::Pong(bytes.to_vec()),
        wsframe::Message::Close { code, reason } => Received::Close(code, reason.to_string()),
    }
}

pub mod gateway;
pub mod real_clients;
pub mod rest;
pub mod session;
pub mod tls;
pub mod voice;

/// A client socket bound to `source` before it connects (std cannot pick the source).
pub fn connect_from(source: std::net::Ipv4Addr, addr: SocketAddr) -> TcpStream {
    let SocketAddr::V4(target) = addr else {
        unreachable!("127.0.0.1")
    };
    let sockaddr = |ip: std::net::Ipv4Addr, port: u16| libc::sockaddr_in {
        sin_family: libc::AF_INET as libc::sa_family_t,
        sin_port: port.to_be(),
        sin_addr: libc::in_addr {
            s_addr: u32::from(ip).to_be(),
        },
        sin_zero: [0; 8],
    };
    let len = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
    // SAFETY: plain integer arguments; the descriptor is owned by the stream below.
    let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0) };
    assert!(fd >= 0, "socket");
    // SAFETY: `fd` is a fresh socket nobody else owns.
    let stream: TcpStream = unsafe { std::os::fd::FromRawFd::from_raw_fd(fd) };
    let local = sockaddr(source, 0);
    // SAFETY: `local` is a valid sockaddr_in of `len` bytes.
    assert_eq!(unsafe { libc::bind(fd, (&raw const local).cast(), len) }, 0);
    let remote = sockaddr(*target.ip(), target.port());
    // SAFETY: `remote` is a valid sockaddr_in of `len` bytes.
    assert_eq!(
        unsafe { libc::connect(fd, (&raw const remote).cast(), len) },
        0
    );
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    stream
}

/// The resident memory of process `pid` (`VmRSS` in `/proc/<pid>/status`), in bytes.
pub fn rss_bytes(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("procfs");
    let kb: u64 = status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS");
    kb * 1024
}
