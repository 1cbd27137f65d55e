//! Parse one HTTP/1.x request (head and `Content-Length` body) from a byte buffer.
//!
//! The reactor keeps the unparsed bytes of a connection in one buffer. It calls
//! [`parse_request`] after each read; a pipelined second request simply stays in the buffer
//! after the first one's `consumed` bytes and is parsed on the next call.
//!
//! Implements: RFC 9112 §2.2 (message parsing), §6.1–§6.3 (body length).
//! Invariants:
//! - The result depends only on the bytes, never on how they were split into reads.
//! - `consumed <= buf.len()`, and a returned request's body is exactly `Content-Length` bytes.

use super::error::HttpError;

/// How many header fields one request may carry before it is refused with 431.
pub const HEADERS_MAX: usize = 64;

/// Size limits for one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HttpLimits {
    /// Request line plus headers plus the blank line. Past this: 431.
    pub head_bytes_max: usize,
    /// `Content-Length` above this: 413.
    pub body_bytes_max: usize,
    /// `Content-Length` above this for a `multipart/form-data` body (message attachments,
    /// Discord's 25 MiB upload limit): 413. The larger of the two bounds what a
    /// connection buffers.
    pub multipart_body_bytes_max: usize,
}

impl HttpLimits {
    /// The most body bytes any request may carry (for read back-pressure).
    pub fn any_body_bytes_max(&self) -> usize {
        self.body_bytes_max.max(self.multipart_body_bytes_max)
    }
}

impl Default for HttpLimits {
    fn default() -> Self {
        HttpLimits {
            head_bytes_max: 16 * 1024,
            body_bytes_max: 1024 * 1024,
            multipart_body_bytes_max: 25 * 1024 * 1024,
        }
    }
}

/// The HTTP version of a request; it decides the keep-alive default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    /// HTTP/1.0: the connection closes after the response unless asked otherwise.
    Http10,
    /// HTTP/1.1: the connection stays open unless asked otherwise.
    Http11,
}

/// One complete request, owned so an application can keep it or forward it to another core.
///
/// ```
/// use engine::http::{parse_request, HttpLimits};
/// let bytes = b"GET /api/v10/gateway HTTP/1.1\r\nHost: x\r\n\r\n";
/// let (request, consumed) = parse_request(bytes, &HttpLimits::default()).unwrap().unwrap();
/// assert_eq!(consumed, bytes.len());
/// assert_eq!(request.path(), "/api/v10/gateway");
/// assert_eq!(request.header("host"), Some(&b"x"[..]));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// The method token as sent, for example `GET`.
    pub method: String,
    /// The request target as sent: path and query, for example `/?v=10&encoding=json`.
    pub target: String,
    /// HTTP/1.0 or HTTP/1.1.
    pub version: Version,
    /// Header fields in arrival order; names as sent (compare case-insensitively). Read
    /// them with [`Request::header`] or [`Request::headers`].
    fields: HeaderFields,
    /// The body: exactly `Content-Length` bytes, empty without one.
    pub body: Vec<u8>,
    /// Which of the server's listeners the connection came in on (set by the reactor;
    /// `Main` from the parser).
    pub listener: Listener,
    /// The address of the peer that sent it. The parser never sees a socket, so it says
    /// `0.0.0.0`; the reactor fills in the connection's address before the application
    /// sees the request (per-address limits, loopback-only routes).
    pub peer_ip: std::net::IpAddr,
}

/// The listener a connection was accepted on, so the application can tell voice
/// connections from the rest.
///
/// ```
/// use engine::http::{parse_request, HttpLimits, Listener};
/// let bytes = b"GET /voice HTTP/1.1\r\nHost: x\r\n\r\n";
/// let (request, _) = parse_request(bytes, &HttpLimits::default()).unwrap().unwrap();
/// // The parser knows no sockets; the reactor sets the field for each request it reads.
/// assert_eq!(request.listener, Listener::Main);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Listener {
    /// The main listener: REST and the gateway (shared by the cores, `SO_REUSEPORT`).
    #[default]
    Main,
    /// A core's own voice listener (always TLS): its connections land on the core that
    /// owns the voice channel.
    Voice,
}

/// A request's header fields in one buffer: every name and value back to back, and where
/// each ends. Why not a `String` and a `Vec` per field: a request carries five to ten
/// fields, and two allocations each were a tenth of the allocations of a message post
/// (the hot REST path); here the fields take two whatever their number.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
struct HeaderFields {
    bytes: Vec<u8>,
    /// Per field: where its name ends and where its value ends in `bytes` (its name
    /// starts where the previous value ended).
    ends: Vec<(u32, u32)>,
}

impl HeaderFields {
    fn of(fields: &[httparse::Header<'_>]) -> HeaderFields {
        let len: usize = fields.iter().map(|h| h.name.len() + h.value.len()).sum();
        let mut bytes = Vec::with_capacity(len);
        let mut ends = Vec::with_capacity(fields.len());
        for field in fields {
            bytes.extend_from_slice(field.name.as_bytes());
            let name_end = bytes.len();
            bytes.extend_from_slice(field.value);
            // A head is at most `head_bytes_max` bytes, far below 4 GiB.
            let to_u32 = |at: usize| u32::try_from(at).expect("a request head fits u32");
            ends.push((to_u32(name_end), to_u32(bytes.len())));
        }
        HeaderFields { bytes, ends }
    }

    /// Each field's name and value bytes, in arrival order.
    fn iter(&self) -> impl Iterator<Item = (&[u8], &[u8])> {
        let mut start = 0;
        self.ends.iter().map(move |&(name_end, value_end)| {
            let (name_end, value_end) = (name_end as usize, value_end as usize);
            let name = &self.bytes[start..name_end];
            start = value_end;
            (name, &self.bytes[name_end..value_end])
        })
    }
}

impl Request {
    /// The first value of the header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&[u8]> {
        self.fields
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name.as_bytes()))
            .map(|(_, value)| value)
    }

    /// Every header field in arrival order: the name as sent and the value.
    pub fn headers(&self) -> impl Iterator<Item = (&str, &[u8])> {
        self.fields.iter().map(|(name, value)| {
            // httparse accepts only token characters (ASCII) in a field name.
            let name = std::str::from_utf8(name).expect("a header name is ASCII");
            (name, value)
        })
    }

    /// The first value of `name` as text, if it is valid UTF-8.
    pub fn header_str(&self, name: &str) -> Option<&str> {
        self.header(name).and_then(|v| std::str::from_utf8(v).ok())
    }

    /// The target without its query string.
    pub fn path(&self) -> &str {
        self.target
            .split_once('?')
            .map_or(&self.target, |(path, _)| path)
    }

    /// The query string without the `?`, if any.
    pub fn query(&self) -> Option<&str> {
        self.target.split_once('?').map(|(_, query)| query)
    }

    /// Whether the connection may carry another request after this one (RFC 9112 §9.3).
    pub fn keep_alive(&self) -> bool {
        let connection = self.header("connection").unwrap_or(b"");
        match self.version {
            Version::Http11 => !has_token(connection, "close"),
            Version::Http10 => has_token(connection, "keep-alive"),
        }
    }
}

/// Whether a comma-separated header value contains `token` (case-insensitive).
pub(crate) fn has_token(value: &[u8], token: &str) -> bool {
    value
        .split(|&b| b == b',')
        .any(|part| part.trim_ascii().eq_ignore_ascii_case(token.as_bytes()))
}

/// Parse the first request in `buf`.
///
/// Returns `Ok(None)` when more bytes are needed, `Ok(Some((request, consumed)))` for a
/// complete request, or the error to answer with. Never panics, whatever `buf` holds.
pub fn parse_request(
    buf: &[u8],
    limits: &HttpLimits,
) -> Result<Option<(Request, usize)>, HttpError> {
    let mut headers = [httparse::EMPTY_HEADER; HEADERS_MAX];
    let Some((head, fields)) = parse_parts(buf, &mut headers, limits)? else {
        return Ok(None);
    };
    let Some(total) = head.head_len.checked_add(head.body_len) else {
        return Err(HttpError::BodyTooLarge);
    };
    // Nothing is allocated until the whole request is in.
    if buf.len() < total {
        return Ok(None);
    }
    let mut request = head.to_request(fields);
    request.body = buf[head.head_len..total].to_vec();
    Ok(Some((request, total)))
}

/// Parse the first request's head in `buf`: the request with an empty body, the head's
/// length and the announced body length. `Ok(None)` while the head is incomplete. The
/// reactor asks this before it reads a body (`App::check_head`).
pub fn parse_head(
    buf: &[u8],
    limits: &HttpLimits,
) -> Result<Option<(Request, usize, usize)>, HttpError> {
    let mut headers = [httparse::EMPTY_HEADER; HEADERS_MAX];
    Ok(parse_parts(buf, &mut headers, limits)?
        .map(|(head, fields)| (head.to_request(fields), head.head_len, head.body_len)))
}

/// For a buffer [`parse_request`] found incomplete: the announced body length once the
/// head is complete (`None` while the head is still arriving, or if it is bad). The
/// reactor uses it to tell a slow head from a slow body (their deadlines differ).
pub fn awaited_body(buf: &[u8], limits: &HttpLimits) -> Option<usize> {
    let mut headers = [httparse::EMPTY_HEADER; HEADERS_MAX];
    parse_parts(buf, &mut headers, limits)
        .ok()
        .flatten()
        .map(|(head, _)| head.body_len)
}

/// A complete request head, borrowed from the buffer.
struct Head<'b> {
    method: &'b str,
    target: &'b str,
    version: Version,
    head_len: usize,
    body_len: usize,
}

impl Head<'_> {
    /// The owned request (empty body) with header `fields`.
    fn to_request(&self, fields: &[httparse::Header<'_>]) -> Request {
        Request {
            method: self.method.to_string(),
            target: self.target.to_string(),
            version: self.version,
            fields: HeaderFields::of(fields),
            body: Vec::new(),
            listener: Listener::Main,
            peer_ip: std::net::Ipv4Addr::UNSPECIFIED.into(),
        }
    }
}

/// The one parse of a request head every function above shares: the head and its header
/// fields, or `None` while incomplete, or the error to answer with.
fn parse_parts<'h, 'b>(
    buf: &'b [u8],
    headers: &'h mut [httparse::Header<'b>],
    limits: &HttpLimits,
) -> Result<Option<(Head<'b>, &'h [httparse::Header<'b>])>, HttpError> {
    let mut parsed = httparse::Request::new(headers);
    let head_len = match parsed.parse(buf) {
        Ok(httparse::Status::Complete(head_len)) => head_len,
        Ok(httparse::Status::Partial) => {
            if buf.len() > limits.head_bytes_max {
                return Err(HttpError::HeadTooLarge);
            }
            return Ok(None);
        }
        Err(httparse::Error::TooManyHeaders) => return Err(HttpError::TooManyHeaders),
        Err(httparse::Error::Version) => return Err(HttpError::UnsupportedVersion),
        Err(error) => return Err(HttpError::Malformed(describe(error))),
    };
    if head_len > limits.head_bytes_max {
        return Err(HttpError::HeadTooLarge);
    }
    let httparse::Request {
        method,
        path,
        version,
        headers: fields,
    } = parsed;
    // httparse guarantees these are present once the status is Complete.
    let (Some(method), Some(target), Some(minor)) = (method, path, version) else {
        return Err(HttpError::Malformed("incomplete request line"));
    };
    let version = match minor {
        0 => Version::Http10,
        1 => Version::Http11,
        _ => return Err(HttpError::UnsupportedVersion),
    };
    let body_len = body_len(fields, limits)?;
    let head = Head {
        method,
        target,
        version,
        head_len,
        body_len,
    };
    Ok(Some((head, fields)))
}

/// The body length the headers announce (RFC 9112 §6.3).
fn body_len(headers: &[httparse::Header<'_>], limits: &HttpLimits) -> Result<usize, HttpError> {
    let mut length: Option<usize> = None;
    let mut body_bytes_max = limits.body_bytes_max;
    for header in headers {
        if header.name.eq_ignore_ascii_case("content-type")
            && std::str::from_utf8(header.value).is_ok_and(crate::rest::multipart::is_multipart)
        {
            body_bytes_max = limits.multipart_body_bytes_max;
        }
        if header.name.eq_ignore_ascii_case("transfer-encoding") {
            return Err(HttpError::LengthRequired);
        }
        if header.name.eq_ignore_ascii_case("content-length") {
            let value = parse_decimal(header.value).ok_or(HttpError::BadContentLength)?;
            if length.is_some_and(|seen| seen != value) {
                return Err(HttpError::BadContentLength);
            }
            length = Some(value);
        }
    }
    let length = length.unwrap_or(0);
    if length > body_bytes_max {
        return Err(HttpError::BodyTooLarge);
    }
    Ok(length)
}

/// A non-empty run of ASCII digits that fits in `usize`; anything else is `None`.
fn parse_decimal(value: &[u8]) -> Option<usize> {
    let value = value.trim_ascii();
    if value.is_empty() || value.len() > 19 {
        return None;
    }
    value.iter().try_fold(0usize, |acc, &b| {
        b.is_ascii_digit()
            .then(|| acc.checked_mul(10)?.checked_add(usize::from(b - b'0')))
            .flatten()
    })
}

fn describe(error: httparse::Error) -> &'static str {
    match error {
        httparse::Error::HeaderName => "invalid header name",
        httparse::Error::HeaderValue => "invalid header value",
        httparse::Error::NewLine => "invalid line ending",
        httparse::Error::Status => "invalid status",
        httparse::Error::Token => "invalid token in the request line",
        httparse::Error::TooManyHeaders => "too many headers",
        httparse::Error::Version => "invalid HTTP version",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn limits() -> HttpLimits {
        HttpLimits {
            head_bytes_max: 256,
            body_bytes_max: 32,
            multipart_body_bytes_max: 64,
        }
    }

    #[test]
    fn multipart_bodies_have_their_own_limit() {
        let request = |content_type: &str, length: usize| {
            let head = format!(
                "POST /x HTTP/1.1\r\nContent-Type: {content_type}\r\nContent-Length: {length}\r\n\r\n"
            );
            parse_request(head.as_bytes(), &limits()).map(|parsed| parsed.is_some())
        };
        assert_eq!(
            request("application/json", 33),
            Err(HttpError::BodyTooLarge)
        );
        assert_eq!(request("multipart/form-data; boundary=b", 64), Ok(false));
        assert_eq!(request("Multipart/Form-Data; boundary=b", 33), Ok(false));
        assert_eq!(
            request("multipart/form-data; boundary=b", 65),
            Err(HttpError::BodyTooLarge)
        );
        let answer = HttpError::BodyTooLarge.to_response();
        let body: serde_json::Value = serde_json::from_slice(&answer.body).unwrap();
        assert_eq!((answer.status, body["code"].as_u64()), (413, Some(40005)));
    }

    #[test]
    fn partial_head_asks_for_more() {
        assert_eq!(
            parse_request(b"GET / HTTP/1.1\r\nHost:", &limits()),
            Ok(None)
        );
        assert_eq!(parse_request(b"", &limits()), Ok(None));
    }

    #[test]
    fn body_is_exactly_content_length_and_the_rest_stays() {
        let bytes = b"POST /x HTTP/1.1\r\nContent-Length: 5\r\n\r\nhelloGET / HTTP/1.1\r\n\r\n";
        let (request, consumed) = parse_request(bytes, &limits()).unwrap().unwrap();
        assert_eq!(request.body, b"hello");
        assert_eq!(request.method, "POST");
        let (second, rest) = parse_request(&bytes[consumed..], &limits())
            .unwrap()
            .unwrap();
        assert_eq!(second.target, "/");
        assert_eq!(consumed + rest, bytes.len());
    }

    #[test]
    fn body_not_yet_complete_asks_for_more() {
        let bytes = b"POST /x HTTP/1.1\r\nContent-Length: 5\r\n\r\nhel";
        assert_eq!(parse_request(bytes, &limits()), Ok(None));
    }

    #[test]
    fn errors_map_to_their_status() {
        let cases: &[(&[u8], u16)] = &[
            (b"GET / HTTP/1.1\r\nContent-Length: 33\r\n\r\n", 413),
            (b"GET / HTTP/1.1\r\nContent-Length: x1\r\n\r\n", 400),
            (
                b"GET / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
                400,
            ),
            (
                b"GET / HTTP/1.1\r\nContent-Length: 99999999999999999999999\r\n\r\n",
                400,
            ),
            (
                b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n",
                411,
            ),
            (b"GET / HTTP/2.0\r\n\r\n", 505),
            (b"G@T / HTTP/1.1\r\n\r\n", 400),
            (b"GET / HTTP/1.1\r\nBad Name: x\r\n\r\n", 400),
        ];
        for (bytes, status) in cases {
            let error = parse_request(bytes, &limits()).unwrap_err();
            assert_eq!(
                error.status(),
                *status,
                "{:?}",
                String::from_utf8_lossy(bytes)
            );
        }
    }

    #[test]
    fn oversized_head_is_431_complete_or_not() {
        let long = format!("GET / HTTP/1.1\r\nX: {}\r\n\r\n", "a".repeat(300));
        assert_eq!(
            parse_request(long.as_bytes(), &limits()),
            Err(HttpError::HeadTooLarge)
        );
        let partial = &long.as_bytes()[..280];
        assert_eq!(
            parse_request(partial, &limits()),
            Err(HttpError::HeadTooLarge)
        );
    }

    #[test]
    fn too_many_headers_is_431() {
        let mut head = String::from("GET / HTTP/1.1\r\n");
        for i in 0..=HEADERS_MAX {
            head.push_str(&format!("h{i}: v\r\n"));
        }
        head.push_str("\r\n");
        let big = HttpLimits {
            head_bytes_max: 1 << 20,
            body_bytes_max: 0,
            multipart_body_bytes_max: 0,
        };
        assert_eq!(
            parse_request(head.as_bytes(), &big),
            Err(HttpError::TooManyHeaders)
        );
    }

    #[test]
    fn keep_alive_follows_version_and_connection_tokens() {
        let cases: &[(&[u8], bool)] = &[
            (b"GET / HTTP/1.1\r\n\r\n", true),
            (b"GET / HTTP/1.1\r\nConnection: Close\r\n\r\n", false),
            (
                b"GET / HTTP/1.1\r\nConnection: upgrade, close\r\n\r\n",
                false,
            ),
            (b"GET / HTTP/1.0\r\n\r\n", false),
            (b"GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", true),
        ];
        for (bytes, keep_alive) in cases {
            let (request, _) = parse_request(bytes, &limits()).unwrap().unwrap();
            assert_eq!(request.keep_alive(), *keep_alive);
        }
    }

    #[test]
    fn path_and_query_split_on_the_first_question_mark() {
        let bytes = b"GET /?v=10&encoding=json HTTP/1.1\r\n\r\n";
        let (request, _) = parse_request(bytes, &limits()).unwrap().unwrap();
        assert_eq!(request.path(), "/");
        assert_eq!(request.query(), Some("v=10&encoding=json"));
    }

    proptest! {
        #[test]
        fn header_fields_come_back_in_order_as_sent(
            fields in proptest::collection::vec(
                ("[A-Za-z][A-Za-z0-9-]{0,15}", "[ -~]{0,40}"),
                0..20,
            ),
        ) {
            let mut bytes = b"GET / HTTP/1.1\r\n".to_vec();
            for (name, value) in &fields {
                bytes.extend_from_slice(format!("{name}: {value}\r\n").as_bytes());
            }
            bytes.extend_from_slice(b"\r\n");
            let (request, _) = parse_request(&bytes, &HttpLimits::default()).unwrap().unwrap();
            // httparse trims the whitespace around a value.
            let sent: Vec<(&str, &[u8])> = fields
                .iter()
                .map(|(name, value)| (name.as_str(), value.trim_matches([' ', '\t']).as_bytes()))
                .collect();
            prop_assert_eq!(request.headers().collect::<Vec<_>>(), sent.clone());
            for (name, _) in &sent {
                let first = sent.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).unwrap().1;
                prop_assert_eq!(request.header(&name.to_ascii_uppercase()), Some(first));
            }
            prop_assert_eq!(request.header("x-not-sent-here"), None);
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
            let result = parse_request(&bytes, &limits());
            if let Ok(Some((_, consumed))) = result {
                prop_assert!(consumed <= bytes.len());
            }
        }

        #[test]
        fn split_points_do_not_change_the_result(
            body in proptest::collection::vec(any::<u8>(), 0..32),
            target in "/[a-z0-9?=&]{0,20}",
            split in 0usize..200,
        ) {
            let mut bytes = format!(
                "POST {target} HTTP/1.1\r\nHost: h\r\nContent-Length: {}\r\n\r\n", body.len()
            ).into_bytes();
            bytes.extend_from_slice(&body);
            let whole = parse_request(&bytes, &limits());
            let split = split.min(bytes.len());
            // Feeding a prefix first must either ask for more or give the same answer.
            match parse_request(&bytes[..split], &limits()) {
                Ok(None) => {}
                prefix => prop_assert_eq!(prefix, whole.clone()),
            }
            let (request, consumed) = whole.unwrap().unwrap();
            prop_assert_eq!(consumed, bytes.len());
            prop_assert_eq!(&request.body, &body);
            prop_assert_eq!(&request.target, &target);
            // The head alone, from any prefix that holds it, announces the same body.
            let head_len = bytes.len() - body.len();
            let (head, parsed_head_len, body_len) =
                parse_head(&bytes[..split.max(head_len)], &limits()).unwrap().unwrap();
            prop_assert_eq!((parsed_head_len, body_len), (head_len, body.len()));
            prop_assert_eq!(head.target, target);
            prop_assert!(head.body.is_empty());
            prop_assert_eq!(awaited_body(&bytes[..split.max(head_len)], &limits()), Some(body.len()));
            if split < head_len {
                prop_assert_eq!(parse_head(&bytes[..split], &limits()), Ok(None));
                prop_assert_eq!(awaited_body(&bytes[..split], &limits()), None);
            }
        }
    }
}
