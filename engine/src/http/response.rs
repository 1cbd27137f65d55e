//! HTTP/1.1 responses as values, and their encoding.
//!
//! The application builds a [`Response`]; the reactor encodes it with
//! [`Response::encode_into`] straight into the connection's outbound queue, adding
//! `Content-Length` and, when the connection will close, `Connection: close`.
//!
//! Invariant: a JSON body is always labelled `Content-Type: application/json`, exactly,
//! with no `charset` parameter: discord.py compares that header with `==` (CLIENTS.md §0.1).

/// A header field's name: nearly always a constant, so not an allocation per answer.
pub type HeaderName = std::borrow::Cow<'static, str>;

/// One HTTP response.
///
/// ```
/// use engine::http::Response;
/// let response = Response::json(200, br#"{"url":"ws://127.0.0.1:8080"}"#.to_vec());
/// let mut bytes = Vec::new();
/// response.encode_into(&mut bytes, true);
/// let text = String::from_utf8(bytes).unwrap();
/// assert!(text.starts_with("HTTP/1.1 200 OK\r\n"));
/// assert!(text.contains("\r\nContent-Type: application/json\r\n"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// The status code, for example 200.
    pub status: u16,
    /// Header fields other than `Content-Length` and `Connection`, which the encoder adds.
    pub headers: Vec<(HeaderName, String)>,
    /// The body bytes.
    pub body: Vec<u8>,
    /// A file sent after `body`, read in chunks as the socket takes them (never whole:
    /// an attachment may be 25 MiB, and the reactor must not hold it or read it in one go).
    pub file: Option<FileBody>,
}

/// A file's first `len` bytes as a response body (`Response::file`).
#[derive(Debug, Clone)]
pub struct FileBody {
    pub file: std::sync::Arc<std::fs::File>,
    pub len: u64,
}

impl FileBody {
    /// The open file, whose current length is what is sent.
    pub fn open(path: &std::path::Path) -> std::io::Result<FileBody> {
        let file = std::fs::File::open(path)?;
        let len = file.metadata()?.len();
        Ok(FileBody {
            file: std::sync::Arc::new(file),
            len,
        })
    }
}

/// Two file bodies are equal when they are the same open file and length.
impl PartialEq for FileBody {
    fn eq(&self, other: &FileBody) -> bool {
        std::sync::Arc::ptr_eq(&self.file, &other.file) && self.len == other.len
    }
}

impl Eq for FileBody {}

impl Response {
    /// A response with a JSON body and `Content-Type: application/json`.
    pub fn json(status: u16, body: Vec<u8>) -> Response {
        Response {
            status,
            headers: vec![("Content-Type".into(), "application/json".to_string())],
            body,
            file: None,
        }
    }

    /// A Discord-style error: `{"message": "...", "code": N}` with the given status.
    pub fn error(status: u16, message: &str, code: u32) -> Response {
        Response::json(status, json_error_body(message, code))
    }

    /// The 404 every unknown route gets.
    pub fn not_found() -> Response {
        Response::error(404, "404: Not Found", 0)
    }

    /// Add a header field and return the response (builder style).
    pub fn with_header(mut self, name: impl Into<HeaderName>, value: &str) -> Response {
        self.headers.push((name.into(), value.to_string()));
        self
    }

    /// Append the encoded response to `out`. With `keep_alive == false` the response says
    /// `Connection: close`; the caller then closes after writing it.
    /// Encodes the head and `body`; a `file` body's bytes are the caller's to send after
    /// them (the reactor queues the file itself: `outq.rs`).
    pub fn encode_into(&self, out: &mut Vec<u8>, keep_alive: bool) {
        debug_assert!(
            (100..1000).contains(&self.status),
            "status {} is not 3 digits",
            self.status
        );
        out.extend_from_slice(b"HTTP/1.1 ");
        out.extend_from_slice(self.status.to_string().as_bytes());
        out.push(b' ');
        out.extend_from_slice(reason_phrase(self.status).as_bytes());
        out.extend_from_slice(b"\r\n");
        for (name, value) in &self.headers {
            debug_assert!(
                !name.eq_ignore_ascii_case("content-length"),
                "the encoder adds it"
            );
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(b": ");
            out.extend_from_slice(value.as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        let file_len = self.file.as_ref().map_or(0, |file| file.len);
        out.extend_from_slice(b"Content-Length: ");
        out.extend_from_slice((self.body.len() as u64 + file_len).to_string().as_bytes());
        out.extend_from_slice(b"\r\n");
        if !keep_alive {
            out.extend_from_slice(b"Connection: close\r\n");
        }
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(&self.body);
    }
}

/// `{"message": <message as a JSON string>, "code": <code>}`.
pub fn json_error_body(message: &str, code: u32) -> Vec<u8> {
    // Built by hand to keep Discord's field order; the message is escaped by serde_json.
    let message = serde_json::Value::from(message);
    format!(r#"{{"message":{message},"code":{code}}}"#).into_bytes()
}

/// The reason phrase for the status codes Flux sends.
fn reason_phrase(status: u16) -> &'static str {
    match status {
        101 => "Switching Protocols",
        200 => "OK",
        201 => "Created",
        204 => "No Content",
        304 => "Not Modified",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        411 => "Length Required",
        413 => "Payload Too Large",
        426 => "Upgrade Required",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        505 => "HTTP Version Not Supported",
        _ => "Unknown",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_body_is_discord_shaped_json() {
        let response = Response::error(413, "413: Payload \"Too\" Large", 0);
        let value: serde_json::Value = serde_json::from_slice(&response.body).unwrap();
        assert_eq!(value["message"], "413: Payload \"Too\" Large");
        assert_eq!(value["code"], 0);
        assert_eq!(
            response.headers,
            vec![("Content-Type".into(), "application/json".into())]
        );
    }

    #[test]
    fn encoding_adds_length_and_close() {
        let mut out = Vec::new();
        Response::json(404, b"{}".to_vec()).encode_into(&mut out, false);
        assert_eq!(
            out,
            b"HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\
              Connection: close\r\n\r\n{}"
        );
    }
}
