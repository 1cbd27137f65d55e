//! Reading Flux's own counters (`GET /_flux/metrics`) around a measured window.
//!
//! The load generator sees what arrives; only the server knows how many frames each of its
//! socket writes carried. That number is the mechanism behind fan-out throughput (the
//! kernel's cost is per write, so frames per write should grow with load), so the suite
//! reads it from Flux before and after each window. The peer has no such endpoint.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// Flux's reactor counters at one moment, summed over cores.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WriteCounters {
    pub frames_queued: u64,
    pub write_batches: u64,
}

impl WriteCounters {
    /// Frames per socket write between `earlier` and `self`.
    pub fn frames_per_write_since(&self, earlier: &WriteCounters) -> Option<f64> {
        let writes = self.write_batches.checked_sub(earlier.write_batches)?;
        let frames = self.frames_queued.checked_sub(earlier.frames_queued)?;
        (writes > 0).then(|| frames as f64 / writes as f64)
    }
}

/// `GET /_flux/metrics` on `addr`; `None` if the server has no such route or answers
/// something else (the peer).
pub fn write_counters(addr: SocketAddr) -> Option<WriteCounters> {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(2)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    stream
        .write_all(b"GET /_flux/metrics HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n")
        .ok()?;
    let mut response = Vec::new();
    stream.take(1 << 20).read_to_end(&mut response).ok()?;
    parse(&response)
}

fn parse(response: &[u8]) -> Option<WriteCounters> {
    let head_end = response.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
    if !response.starts_with(b"HTTP/1.1 200") {
        return None;
    }
    let value: serde_json::Value = serde_json::from_slice(&response[head_end..]).ok()?;
    let reactor = value.get("reactor")?;
    Some(WriteCounters {
        frames_queued: reactor.get("frames_queued")?.as_u64()?,
        write_batches: reactor.get("write_batches")?.as_u64()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_reactor_counters_and_refuses_anything_else() {
        let ok = b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n{\"reactor\":{\"frames_queued\":90,\"write_batches\":10}}";
        let counters = parse(ok).unwrap();
        let before = WriteCounters {
            frames_queued: 10,
            write_batches: 0,
        };
        assert_eq!(counters.frames_per_write_since(&before), Some(8.0));
        assert_eq!(counters.frames_per_write_since(&counters), None);
        assert_eq!(parse(b"HTTP/1.1 404 Not Found\r\n\r\n{}"), None);
        assert_eq!(parse(b"HTTP/1.1 200 OK\r\n\r\n{\"ok\":true}"), None);
    }
}
