//! Why a request could not be accepted, and what the client is told.
//!
//! Every variant maps to one status code and one Discord-style JSON body
//! `{"message": "...", "code": 0}`. After any of these the reactor closes the connection
//! once the answer is written, because the request framing can no longer be trusted.

use super::response::Response;

/// A request the server refuses. Each variant names the rule that was broken.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum HttpError {
    /// The bytes are not an HTTP/1.x request head (RFC 9112 §3). The client sees 400.
    Malformed(&'static str),
    /// The request line and headers are longer than the configured limit. 431.
    HeadTooLarge,
    /// More header fields than the parser keeps. 431.
    TooManyHeaders,
    /// `Content-Length` is larger than the configured body limit. 413.
    BodyTooLarge,
    /// The body uses `Transfer-Encoding` (chunked); Flux needs `Content-Length`. 411.
    LengthRequired,
    /// `Content-Length` is not a decimal number, or appears twice with different values
    /// (RFC 9112 §6.3, rule 5). 400.
    BadContentLength,
    /// Only HTTP/1.0 and HTTP/1.1 are spoken. 505.
    UnsupportedVersion,
    /// The client took longer than its deadline to send a request head or body
    /// (`Limits::http_head_timeout_ms`, `http_body_timeout_ms`). 408.
    RequestTimeout,
}

impl HttpError {
    /// The status code the client receives.
    pub fn status(&self) -> u16 {
        match self {
            HttpError::Malformed(_) | HttpError::BadContentLength => 400,
            HttpError::HeadTooLarge | HttpError::TooManyHeaders => 431,
            HttpError::BodyTooLarge => 413,
            HttpError::LengthRequired => 411,
            HttpError::UnsupportedVersion => 505,
            HttpError::RequestTimeout => 408,
        }
    }

    /// A human-readable reason, used as the JSON `message`.
    pub fn message(&self) -> String {
        match self {
            HttpError::Malformed(what) => format!("400: Bad Request ({what})"),
            HttpError::HeadTooLarge => "431: Request Header Fields Too Large".to_string(),
            HttpError::TooManyHeaders => {
                "431: Request Header Fields Too Large (too many headers)".to_string()
            }
            HttpError::BodyTooLarge => "413: Payload Too Large".to_string(),
            HttpError::LengthRequired => {
                "411: Length Required (send a Content-Length body, not chunked)".to_string()
            }
            HttpError::BadContentLength => "400: Bad Request (invalid Content-Length)".to_string(),
            HttpError::UnsupportedVersion => "505: HTTP Version Not Supported".to_string(),
            HttpError::RequestTimeout => "408: Request Timeout".to_string(),
        }
    }

    /// The full answer: status, JSON body, and `Connection: close`.
    pub fn to_response(&self) -> Response {
        if *self == HttpError::BodyTooLarge {
            // Discord's own answer to an oversized upload (JSON error code 40005).
            return Response::error(413, "Request entity too large", 40005);
        }
        Response::error(self.status(), &self.message(), 0)
    }
}

impl std::fmt::Display for HttpError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message())
    }
}

impl std::error::Error for HttpError {}
