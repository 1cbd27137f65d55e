//! HTTP/1.1 responses read incrementally from a keep-alive connection that carries many
//! pipelined requests.
//!
//! Bytes arrive split anywhere; the reader keeps them until a whole response (head and
//! body) is there, then hands it out. Bodies are delimited by `Content-Length` (what Flux
//! sends) or `Transfer-Encoding: chunked` (what other servers may send); 1xx answers are
//! skipped; 204 and 304 have no body.
//!
//! Invariants: responses come out in the order they arrived, each exactly once; a
//! response is never handed out before its last body byte arrived.

/// One complete response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Response<'a> {
    /// The status code.
    pub status: u16,
    /// The body (de-chunked).
    pub body: &'a [u8],
    /// The server said `Connection: close`: no more responses will follow.
    pub close: bool,
}

/// Responses from one connection.
#[derive(Debug, Default)]
pub struct ResponseReader {
    buf: Vec<u8>,
    /// Bytes of `buf` that belong to responses already handed out.
    consumed: usize,
    /// A de-chunked body.
    chunked_body: Vec<u8>,
}

/// A head longer than this is an error, not a reason to buffer forever.
const HEAD_BYTES_MAX: usize = 64 * 1024;

impl ResponseReader {
    /// An empty reader.
    pub fn new() -> ResponseReader {
        ResponseReader::default()
    }

    /// Bytes read from the connection.
    pub fn push(&mut self, bytes: &[u8]) {
        self.compact();
        self.buf.extend_from_slice(bytes);
    }

    /// Bytes held for responses not complete yet.
    #[cfg(test)]
    fn buffered(&self) -> usize {
        self.buf.len() - self.consumed
    }

    /// The next complete response, if one is there. The body borrows the reader until
    /// the next call.
    pub fn next(&mut self) -> Result<Option<Response<'_>>, String> {
        self.compact();
        let head = loop {
            let Some(head) = parse_head(&self.buf)? else {
                return Ok(None);
            };
            if !(100..200).contains(&head.status) {
                break head;
            }
            // An interim answer (100 Continue): the real one follows.
            self.buf.drain(..head.len);
        };
        let (status, close) = (head.status, head.close);
        if status == 204 || status == 304 {
            self.consumed = head.len;
            return Ok(Some(Response {
                status,
                body: &[],
                close,
            }));
        }
        if head.chunked {
            let Some(end) = dechunk(&self.buf[head.len..], &mut self.chunked_body)? else {
                return Ok(None);
            };
            self.consumed = head.len + end;
            return Ok(Some(Response {
                status,
                body: &self.chunked_body,
                close,
            }));
        }
        let Some(length) = head.content_length else {
            return Err(format!(
                "a {status} response without Content-Length or chunking"
            ));
        };
        if self.buf.len() < head.len + length {
            return Ok(None);
        }
        self.consumed = head.len + length;
        Ok(Some(Response {
            status,
            body: &self.buf[head.len..head.len + length],
            close,
        }))
    }

    fn compact(&mut self) {
        if self.consumed > 0 {
            self.buf.drain(..self.consumed);
            self.consumed = 0;
        }
    }
}

/// What a response head says about the response.
struct Head {
    len: usize,
    status: u16,
    close: bool,
    chunked: bool,
    content_length: Option<usize>,
}

fn parse_head(buf: &[u8]) -> Result<Option<Head>, String> {
    let mut headers = [httparse::EMPTY_HEADER; 64];
    let mut response = httparse::Response::new(&mut headers);
    let len = match response.parse(buf) {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) if buf.len() > HEAD_BYTES_MAX => {
            return Err(format!("response head over {HEAD_BYTES_MAX} bytes"))
        }
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(error) => return Err(format!("bad HTTP response: {error}")),
    };
    let header = |name: &str| {
        response
            .headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case(name))
            .map(|h| h.value)
    };
    let content_length = match header("content-length") {
        Some(value) => Some(
            std::str::from_utf8(value)
                .ok()
                .and_then(|v| v.trim().parse::<usize>().ok())
                .ok_or("bad Content-Length")?,
        ),
        None => None,
    };
    Ok(Some(Head {
        len,
        status: response.code.unwrap_or(0),
        close: header("connection").is_some_and(|v| v.eq_ignore_ascii_case(b"close")),
        chunked: header("transfer-encoding").is_some_and(|v| {
            String::from_utf8_lossy(v)
                .to_ascii_lowercase()
                .contains("chunked")
        }),
        content_length,
    }))
}

/// Decodes a chunked body at the start of `bytes` into `body`; returns how many bytes it
/// took, or `None` if the last chunk has not arrived.
fn dechunk(bytes: &[u8], body: &mut Vec<u8>) -> Result<Option<usize>, String> {
    body.clear();
    let mut pos = 0;
    loop {
        let Some(line_len) = bytes[pos..].windows(2).position(|w| w == b"\r\n") else {
            return Ok(None);
        };
        let line =
            std::str::from_utf8(&bytes[pos..pos + line_len]).map_err(|_| "bad chunk size")?;
        let size_text = line.split(';').next().unwrap_or("").trim();
        let size = usize::from_str_radix(size_text, 16)
            .map_err(|_| format!("bad chunk size {size_text:?}"))?;
        pos += line_len + 2;
        if size == 0 {
            // Trailers end with an empty line.
            loop {
                let Some(len) = bytes[pos..].windows(2).position(|w| w == b"\r\n") else {
                    return Ok(None);
                };
                pos += len + 2;
                if len == 0 {
                    return Ok(Some(pos));
                }
            }
        }
        if bytes.len() < pos + size + 2 {
            return Ok(None);
        }
        body.extend_from_slice(&bytes[pos..pos + size]);
        if &bytes[pos + size..pos + size + 2] != b"\r\n" {
            return Err("chunk not followed by CRLF".into());
        }
        pos += size + 2;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collect(wire: &[u8], step: usize) -> Vec<(u16, String, bool)> {
        let mut reader = ResponseReader::new();
        let mut seen = Vec::new();
        for piece in wire.chunks(step) {
            reader.push(piece);
            while let Some(response) = reader.next().unwrap() {
                seen.push((
                    response.status,
                    String::from_utf8_lossy(response.body).into_owned(),
                    response.close,
                ));
            }
        }
        assert_eq!(reader.buffered(), 0);
        seen
    }

    #[test]
    fn pipelined_responses_come_out_in_order_across_any_split() {
        let wire = b"HTTP/1.1 200 OK\r\nContent-Length: 13\r\n\r\n{\"id\":\"1234\"}\
HTTP/1.1 100 Continue\r\n\r\n\
HTTP/1.1 429 Too Many Requests\r\ncontent-length: 2\r\n\r\n{}\
HTTP/1.1 204 No Content\r\n\r\n\
HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\n{\"a\"\r\n3;x=1\r\n:1}\r\n0\r\nX-T: 1\r\n\r\n\
HTTP/1.1 500 Internal Server Error\r\nConnection: close\r\nContent-Length: 0\r\n\r\n";
        let expected = vec![
            (200, "{\"id\":\"1234\"}".to_string(), false),
            (429, "{}".into(), false),
            (204, String::new(), false),
            (200, "{\"a\":1}".into(), false),
            (500, String::new(), true),
        ];
        for step in [1, 2, 5, 17, 64, wire.len()] {
            assert_eq!(collect(wire, step), expected, "step {step}");
        }
    }

    #[test]
    fn broken_responses_are_errors() {
        for wire in [
            &b"HTTP/1.1 200 OK\r\n\r\n"[..],
            b"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n",
            b"SMTP ready\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        ] {
            let mut reader = ResponseReader::new();
            reader.push(wire);
            assert!(reader.next().is_err(), "{}", String::from_utf8_lossy(wire));
        }
    }
}
