//! A TLS client for the voice listener's tests: a rustls client that trusts exactly the
//! server's certificate, and a WebSocket over it (masked frames out, decoded frames in).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use wsframe::{FrameHeader, Opcode};

/// A TLS stream to the server.
pub type Tls = rustls::StreamOwned<rustls::ClientConnection, TcpStream>;

/// `call`, again while a signal interrupts it (the io_uring tests' threads get some).
pub fn retry<T>(mut call: impl FnMut() -> std::io::Result<T>) -> std::io::Result<T> {
    loop {
        match call() {
            Err(error) if error.kind() == std::io::ErrorKind::Interrupted => {}
            result => return result,
        }
    }
}

/// A client configuration that trusts exactly the certificate in `cert_pem`.
#[allow(deprecated)] // ring's provider: see engine::certificate::crypto_provider.
pub fn client_config(cert_pem: &Path) -> Arc<rustls::ClientConfig> {
    use rustls::pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls::pki_types::CertificateDer::pem_file_iter(cert_pem).unwrap() {
        roots.add(cert.unwrap()).unwrap();
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Arc::new(
        rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth(),
    )
}

pub fn cert_of(data_dir: &Path) -> PathBuf {
    engine::certificate::self_signed_paths(data_dir).0
}

pub fn tls_connect(addr: SocketAddr, config: &Arc<rustls::ClientConfig>) -> Tls {
    let stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let name = "localhost".try_into().unwrap();
    let session = rustls::ClientConnection::new(Arc::clone(config), name).unwrap();
    rustls::StreamOwned::new(session, stream)
}

/// Read one HTTP response head and its `Content-Length` body.
pub fn read_response(stream: &mut impl Read) -> (String, Vec<u8>) {
    let mut bytes = Vec::new();
    let mut byte = [0u8];
    while !bytes.ends_with(b"\r\n\r\n") {
        let n = retry(|| stream.read(&mut byte)).unwrap();
        assert_eq!(n, 1, "the server closed mid-head");
        bytes.push(byte[0]);
    }
    let head = String::from_utf8(bytes).unwrap();
    let len = head
        .lines()
        .find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse::<usize>().unwrap())
        })
        .unwrap_or(0);
    let mut body = vec![0; len];
    stream.read_exact(&mut body).unwrap();
    (head, body)
}

/// A WebSocket over TLS: upgrade, then masked frames out and decoded frames in.
pub struct TlsWs {
    pub tls: Tls,
    decoder: wsframe::Decoder,
    pending: Vec<u8>,
}

impl TlsWs {
    pub fn open(mut tls: Tls) -> TlsWs {
        tls.write_all(
            format!(
                "GET /voice HTTP/1.1\r\nHost: flux\r\nUpgrade: websocket\r\n\
                 Connection: Upgrade\r\nSec-WebSocket-Key: {}\r\n\
                 Sec-WebSocket-Version: 13\r\n\r\n",
                super::UPGRADE_KEY
            )
            .as_bytes(),
        )
        .unwrap();
        let (head, _) = read_response(&mut tls);
        assert!(head.starts_with("HTTP/1.1 101 "), "{head}");
        TlsWs {
            tls,
            decoder: wsframe::Decoder::new(wsframe::Config::client()),
            pending: Vec::new(),
        }
    }

    pub fn send(&mut self, opcode: Opcode, payload: &[u8]) {
        let mut frame = Vec::new();
        let header = FrameHeader::client(opcode, payload.len(), [3, 1, 4, 1]);
        wsframe::encode_frame(&mut frame, &header, payload);
        self.tls.write_all(&frame).unwrap();
    }

    /// Reads until the server's Close frame; returns its code.
    pub fn expect_close(&mut self) -> u16 {
        loop {
            let mut input = self.pending.as_slice();
            let decoded = self.decoder.decode(&mut input).unwrap();
            let code = match decoded {
                Some(wsframe::Message::Close { code, .. }) => Some(code.unwrap_or(1005)),
                _ => None,
            };
            let used = self.pending.len() - input.len();
            self.pending.drain(..used);
            if let Some(code) = code {
                return code;
            }
            if used > 0 {
                continue;
            }
            let mut chunk = [0u8; 16 * 1024];
            let n = retry(|| self.tls.read(&mut chunk)).unwrap();
            assert!(n > 0, "the connection ended without a Close frame");
            self.pending.extend_from_slice(&chunk[..n]);
        }
    }

    /// The next data message (text as bytes).
    pub fn recv(&mut self) -> Vec<u8> {
        loop {
            let mut input = self.pending.as_slice();
            let message = match self.decoder.decode(&mut input).unwrap() {
                Some(wsframe::Message::Text(text)) => Some(text.as_bytes().to_vec()),
                Some(wsframe::Message::Binary(bytes)) => Some(bytes.to_vec()),
                Some(other) => panic!("unexpected {other:?}"),
                None => None,
            };
            let used = self.pending.len() - input.len();
            self.pending.drain(..used);
            if let Some(message) = message {
                return message;
            }
            let mut chunk = [0u8; 16 * 1024];
            let n = retry(|| self.tls.read(&mut chunk)).unwrap();
            assert!(n > 0, "the server closed the WebSocket");
            self.pending.extend_from_slice(&chunk[..n]);
        }
    }
}
