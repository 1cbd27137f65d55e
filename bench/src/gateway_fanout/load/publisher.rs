//! One keep-alive HTTP/1.1 connection that posts messages, as a publisher of the `fanout`
//! suite uses it: write a request, read the whole answer, check the status.
//!
//! Blocking std I/O on purpose: a publisher is a closed loop (one request in flight per
//! connection), so a thread per publisher is the simplest client that adds no scheduler
//! delay of its own to the latency it measures. Reads time out after `DRAIN_TIMEOUT`, so a
//! server that stops answering ends the run with an error instead of hanging it.

use std::io::{Read, Write};
use std::net::TcpStream;

use super::{Target, DRAIN_TIMEOUT};

/// One keep-alive HTTP/1.1 connection that posts messages.
pub(super) struct Publisher {
    stream: TcpStream,
    buffer: Vec<u8>,
}

impl Publisher {
    pub(super) fn connect(target: &Target) -> Result<Publisher, String> {
        let stream = TcpStream::connect(target.http_addr)
            .map_err(|e| format!("publisher connect to {}: {e}", target.http_addr))?;
        stream.set_nodelay(true).map_err(|e| e.to_string())?;
        stream
            .set_read_timeout(Some(DRAIN_TIMEOUT))
            .map_err(|e| e.to_string())?;
        Ok(Publisher {
            stream,
            buffer: Vec::with_capacity(4096),
        })
    }

    /// POSTs one message and reads the whole answer; anything but 200 is an error.
    pub(super) fn post(&mut self, target: &Target, content: &str) -> Result<(), String> {
        let body = format!("{{\"content\":\"{content}\"}}");
        let request = format!(
            "POST /api/v10/channels/{}/messages HTTP/1.1\r\nHost: flux\r\n\
             Authorization: Bot {}\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\n\r\n{body}",
            target.channel_id,
            target.publisher_token,
            body.len()
        );
        self.stream
            .write_all(request.as_bytes())
            .map_err(|e| format!("POST write: {e}"))?;
        let (status, length) = self.read_head()?;
        self.read_body(length)?;
        if status != 200 {
            let body = String::from_utf8_lossy(&self.buffer[..length]);
            return Err(format!("POST answered {status}: {body}"));
        }
        self.buffer.drain(..length);
        Ok(())
    }

    /// Reads until the end of a response head; returns its status and Content-Length, and
    /// leaves the bytes after the head in `buffer`.
    fn read_head(&mut self) -> Result<(u16, usize), String> {
        loop {
            let mut headers = [httparse::EMPTY_HEADER; 32];
            let mut response = httparse::Response::new(&mut headers);
            match response.parse(&self.buffer) {
                Ok(httparse::Status::Complete(head_len)) => {
                    let status = response.code.unwrap_or(0);
                    let length = response
                        .headers
                        .iter()
                        .find(|h| h.name.eq_ignore_ascii_case("content-length"))
                        .and_then(|h| std::str::from_utf8(h.value).ok())
                        .and_then(|v| v.trim().parse().ok())
                        .ok_or("answer without Content-Length")?;
                    self.buffer.drain(..head_len);
                    return Ok((status, length));
                }
                Ok(httparse::Status::Partial) => self.fill()?,
                Err(error) => return Err(format!("bad HTTP answer: {error}")),
            }
        }
    }

    fn read_body(&mut self, length: usize) -> Result<(), String> {
        while self.buffer.len() < length {
            self.fill()?;
        }
        Ok(())
    }

    fn fill(&mut self) -> Result<(), String> {
        let mut chunk = [0u8; 4096];
        let read = loop {
            match self.stream.read(&mut chunk) {
                Ok(read) => break read,
                // A signal landed on this thread mid-read (the test harness and the
                // in-process server both get them): nothing was read, try again.
                Err(error) if error.kind() == std::io::ErrorKind::Interrupted => {}
                Err(error) => return Err(format!("POST read: {error}")),
            }
        };
        if read == 0 {
            return Err("server closed the HTTP connection".into());
        }
        self.buffer.extend_from_slice(&chunk[..read]);
        Ok(())
    }
}
