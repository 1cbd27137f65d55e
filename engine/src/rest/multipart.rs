//! `multipart/form-data` bodies (RFC 7578 over RFC 2046 §5.1), sans-IO: a whole request
//! body in, its parts out, each part's bytes borrowed from the body.
//!
//! Discord clients send a message with files as one `multipart/form-data` request: a part
//! named `payload_json` holding the JSON body, and one part per file named `files[n]` with
//! a `filename` and usually a `Content-Type` (discord.py always says
//! `application/octet-stream`). CLIENTS.md §1.4.
//!
//! What this parser accepts, and why:
//! - The boundary comes from the request's `Content-Type` (`boundary_of`): 1–70
//!   characters (RFC 2046's limit), quoted or not.
//! - A preamble before the first delimiter and an epilogue after the close delimiter are
//!   ignored, as RFC 2046 says. Transport padding (spaces, tabs) after a delimiter is
//!   allowed. Line ends must be CRLF: every client library sends CRLF, and a bare LF
//!   would make the part boundaries ambiguous.
//! - Part headers: `Content-Disposition: form-data; name="…"; filename="…"` (quoted or
//!   token values, `\"` escapes as aiohttp and undici write them with `quote_fields=False`,
//!   and RFC 5987 `filename*=utf-8''…`, which wins over `filename`) and `Content-Type`.
//!   `%22`, `%0D` and `%0A` in `name` and `filename` are decoded: that is how the HTML
//!   standard's form encoding (undici's `FormData`, so discord.js) writes `"`, CR and LF.
//!   Other headers are read and ignored. A part without a `form-data` disposition or
//!   without a name is an error.
//! - Bounds: at most `PARTS_MAX` parts and `PART_HEAD_BYTES_MAX` bytes of headers per
//!   part, so a hostile body costs at most one pass over its bytes and a bounded list.
//!
//! What it leaves to others: the body size limit (the HTTP layer, 413), what the parts
//! mean (`app/attachments.rs`), and filename rules for storage (`sanitize_filename`, here
//! because it is a pure function of untrusted text).
//!
//! The body is parsed whole: the HTTP layer already holds it (the reactor buffers a
//! request up to its `Content-Length`), so an incremental parser would only move the same
//! bytes twice. Tests: unit and property tests below (encode → parse round trips over
//! random parts and boundaries; any bytes parse or fail, never panic); fuzz target from
//! `engine/`: `cargo +nightly fuzz run multipart`.

use std::fmt;

/// Most parts in one body (Discord allows 10 files; `payload_json` and a few spare).
pub const PARTS_MAX: usize = 32;
/// Most bytes of headers in one part.
pub const PART_HEAD_BYTES_MAX: usize = 8 * 1024;
/// Longest boundary (RFC 2046 §5.1.1).
pub const BOUNDARY_BYTES_MAX: usize = 70;

/// One part of a body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part<'a> {
    /// The form field name (`payload_json`, `files[0]`, …).
    pub name: String,
    /// The file name the sender gave, if the part is a file (not yet sanitised).
    pub filename: Option<String>,
    /// The part's `Content-Type`, if sent.
    pub content_type: Option<String>,
    /// The part's bytes.
    pub data: &'a [u8],
}

/// Why a body is not a form. The REST layer answers each with 400 code 50035 (Discord's
/// "Invalid Form Body"), naming the rule.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum MultipartError {
    /// The `Content-Type` is not `multipart/form-data` or has no usable boundary.
    BadContentType,
    /// No delimiter line `--boundary` was found.
    NoDelimiter,
    /// The body ends before the close delimiter `--boundary--`.
    Unterminated,
    /// A delimiter line has something other than padding before its CRLF.
    BadDelimiterLine,
    /// A part's headers are malformed or longer than `PART_HEAD_BYTES_MAX`.
    BadPartHeaders,
    /// A part has no `Content-Disposition: form-data; name=…`.
    MissingName,
    /// More than `PARTS_MAX` parts.
    TooManyParts,
}

impl fmt::Display for MultipartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            MultipartError::BadContentType => {
                "Content-Type is not multipart/form-data with a boundary"
            }
            MultipartError::NoDelimiter => "no multipart delimiter found",
            MultipartError::Unterminated => "multipart body ends before its close delimiter",
            MultipartError::BadDelimiterLine => "malformed multipart delimiter line",
            MultipartError::BadPartHeaders => "malformed multipart part headers",
            MultipartError::MissingName => "multipart part without a form-data name",
            MultipartError::TooManyParts => "too many multipart parts",
        })
    }
}

/// Whether a request's `Content-Type` says multipart/form-data.
pub fn is_multipart(content_type: &str) -> bool {
    content_type
        .split(';')
        .next()
        .is_some_and(|media| media.trim().eq_ignore_ascii_case("multipart/form-data"))
}

/// The boundary parameter of a `multipart/form-data` `Content-Type`.
///
/// ```
/// use engine::rest::multipart::boundary_of;
/// assert_eq!(boundary_of("multipart/form-data; boundary=abc").unwrap(), "abc");
/// assert_eq!(boundary_of("multipart/form-data; boundary=\"a b\"").unwrap(), "a b");
/// assert!(boundary_of("application/json").is_err());
/// ```
pub fn boundary_of(content_type: &str) -> Result<String, MultipartError> {
    if !is_multipart(content_type) {
        return Err(MultipartError::BadContentType);
    }
    let boundary = params(content_type)
        .find(|(name, _)| name.eq_ignore_ascii_case("boundary"))
        .map(|(_, value)| value)
        .ok_or(MultipartError::BadContentType)?;
    let valid = !boundary.is_empty()
        && boundary.len() <= BOUNDARY_BYTES_MAX
        && boundary.bytes().all(|b| (0x20..0x7f).contains(&b))
        && !boundary.ends_with(' ');
    if valid {
        Ok(boundary)
    } else {
        Err(MultipartError::BadContentType)
    }
}

/// Splits `body` into its parts.
///
/// ```
/// use engine::rest::multipart::parse_multipart;
/// let body = b"--xyz\r\nContent-Disposition: form-data; name=\"payload_json\"\r\n\r\n{}\r\n\
///              --xyz\r\nContent-Disposition: form-data; name=\"files[0]\"; filename=\"a.txt\"\r\n\
///              Content-Type: text/plain\r\n\r\nhello\r\n--xyz--\r\n";
/// let parts = parse_multipart(body, "xyz").unwrap();
/// assert_eq!(parts[0].name, "payload_json");
/// assert_eq!(parts[1].filename.as_deref(), Some("a.txt"));
/// assert_eq!(parts[1].data, b"hello");
/// ```
pub fn parse_multipart<'a>(
    body: &'a [u8],
    boundary: &str,
) -> Result<Vec<Part<'a>>, MultipartError> {
    debug_assert!(!boundary.is_empty());
    let dash_boundary = format!("--{boundary}").into_bytes();
    // The first delimiter may start the body; later ones follow a CRLF.
    let first = if body.starts_with(&dash_boundary) {
        0
    } else {
        let mut needle = b"\r\n".to_vec();
        needle.extend_from_slice(&dash_boundary);
        find(body, &needle).ok_or(MultipartError::NoDelimiter)? + 2
    };
    let mut delimiter = b"\r\n".to_vec();
    delimiter.extend_from_slice(&dash_boundary);
    let mut parts = Vec::new();
    let mut at = first + dash_boundary.len();
    loop {
        // `at` is just past a `--boundary`.
        let rest = body.get(at..).ok_or(MultipartError::Unterminated)?;
        if rest.starts_with(b"--") {
            return Ok(parts); // close delimiter; the epilogue is ignored
        }
        let line_end = find(rest, b"\r\n").ok_or(MultipartError::Unterminated)?;
        if !rest[..line_end].iter().all(|&b| b == b' ' || b == b'\t') {
            return Err(MultipartError::BadDelimiterLine);
        }
        let part_start = at + line_end + 2;
        let part_bytes = body.get(part_start..).ok_or(MultipartError::Unterminated)?;
        let part_len = find(part_bytes, &delimiter).ok_or(MultipartError::Unterminated)?;
        if parts.len() == PARTS_MAX {
            return Err(MultipartError::TooManyParts);
        }
        parts.push(parse_part(&part_bytes[..part_len])?);
        at = part_start + part_len + delimiter.len();
    }
}

/// Encodes `parts` as a body with `boundary` (for tests and tools; the server never sends
/// a multipart body). The caller picks a boundary that occurs in no part's data.
pub fn encode_multipart(parts: &[Part<'_>], boundary: &str) -> Vec<u8> {
    let mut out = Vec::new();
    for part in parts {
        out.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
        let mut disposition = format!("form-data; name=\"{}\"", quote(&part.name));
        if let Some(filename) = &part.filename {
            disposition.push_str(&format!("; filename=\"{}\"", quote(filename)));
        }
        out.extend_from_slice(format!("Content-Disposition: {disposition}\r\n").as_bytes());
        if let Some(content_type) = &part.content_type {
            out.extend_from_slice(format!("Content-Type: {content_type}\r\n").as_bytes());
        }
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(part.data);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    out
}

/// Longest stored filename, in bytes (ext4 and most file systems allow 255).
pub const FILENAME_BYTES_MAX: usize = 200;

/// A filename safe to store and to put in a URL path, following what Discord's CDN does
/// with uploads: the last path component only (no `/` or `\` survives, so no traversal),
/// every character outside `[A-Za-z0-9._-]` becomes `_`, no leading dot (no hidden files,
/// no `.` or `..`), at most `FILENAME_BYTES_MAX` bytes (the extension kept), and
/// `unknown` when nothing is left.
///
/// ```
/// use engine::rest::multipart::sanitize_filename;
/// assert_eq!(sanitize_filename("../../etc/passwd"), "passwd");
/// assert_eq!(sanitize_filename("my photo (1).png"), "my_photo__1_.png");
/// assert_eq!(sanitize_filename(".."), "unknown");
/// ```
pub fn sanitize_filename(filename: &str) -> String {
    let last = filename.rsplit(['/', '\\']).next().unwrap_or(filename);
    let mapped: String = last
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect();
    let trimmed = mapped.trim_start_matches('.');
    let mut name = trimmed.to_string();
    if name.len() > FILENAME_BYTES_MAX {
        // ASCII only by now, so byte indices are character boundaries.
        let extension = name
            .rfind('.')
            .map(|dot| name[dot..].to_string())
            .filter(|extension| extension.len() <= 16)
            .unwrap_or_default();
        name.truncate(FILENAME_BYTES_MAX - extension.len());
        name.push_str(&extension);
    }
    if name.is_empty() || name.bytes().all(|b| b == b'_' || b == b'.') {
        return "unknown".to_string();
    }
    debug_assert!(is_sanitized(&name));
    name
}

/// Whether `name` is what `sanitize_filename` produces (the serving route checks this, so
/// a request path can never name anything but a stored file).
pub fn is_sanitized(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= FILENAME_BYTES_MAX
        && !name.starts_with('.')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

fn parse_part(bytes: &[u8]) -> Result<Part<'_>, MultipartError> {
    // Headers end at the first empty line; a part with no headers starts with one.
    let (head, data) = if bytes.starts_with(b"\r\n") {
        (&bytes[..0], &bytes[2..])
    } else {
        let end = find(bytes, b"\r\n\r\n").ok_or(MultipartError::BadPartHeaders)?;
        (&bytes[..end], &bytes[end + 4..])
    };
    if head.len() > PART_HEAD_BYTES_MAX {
        return Err(MultipartError::BadPartHeaders);
    }
    let head = std::str::from_utf8(head).map_err(|_| MultipartError::BadPartHeaders)?;
    let mut name = None;
    let mut filename = None;
    let mut content_type = None;
    for line in head.split("\r\n").filter(|line| !line.is_empty()) {
        let (header, value) = line.split_once(':').ok_or(MultipartError::BadPartHeaders)?;
        let value = value.trim();
        if header.eq_ignore_ascii_case("content-disposition") {
            let kind = value.split(';').next().unwrap_or("").trim();
            if !kind.eq_ignore_ascii_case("form-data") {
                return Err(MultipartError::MissingName);
            }
            let mut extended = None;
            for (param, value) in params(value) {
                if param.eq_ignore_ascii_case("name") {
                    name = Some(decode_form_escapes(&value));
                } else if param.eq_ignore_ascii_case("filename") {
                    filename = Some(decode_form_escapes(&value));
                } else if param.eq_ignore_ascii_case("filename*") {
                    extended = decode_extended(&value);
                }
            }
            filename = extended.or(filename);
        } else if header.eq_ignore_ascii_case("content-type") {
            content_type = Some(value.to_string());
        }
    }
    Ok(Part {
        name: name.ok_or(MultipartError::MissingName)?,
        filename,
        content_type,
        data,
    })
}

/// The `; name=value` parameters after a header's first `;` (values unquoted). A quoted
/// value may contain `;` and `\"`.
fn params(header: &str) -> impl Iterator<Item = (String, String)> + '_ {
    let mut rest = header.split_once(';').map_or("", |(_, rest)| rest);
    std::iter::from_fn(move || loop {
        rest = rest.trim_start_matches([' ', '\t', ';']);
        if rest.is_empty() {
            return None;
        }
        let Some(eq) = rest.find('=') else {
            rest = "";
            return None;
        };
        let name = rest[..eq].trim().to_string();
        let after = &rest[eq + 1..];
        let after = after.trim_start();
        if let Some(quoted) = after.strip_prefix('"') {
            let mut value = String::new();
            let mut chars = quoted.char_indices();
            let mut end = quoted.len();
            while let Some((index, c)) = chars.next() {
                match c {
                    '\\' => {
                        if let Some((_, escaped)) = chars.next() {
                            value.push(escaped);
                        }
                    }
                    '"' => {
                        end = index + 1;
                        break;
                    }
                    other => value.push(other),
                }
            }
            rest = &quoted[end.min(quoted.len())..];
            if let Some(semi) = rest.find(';') {
                rest = &rest[semi..];
            } else {
                rest = "";
            }
            return Some((name, value));
        }
        let end = after.find(';').unwrap_or(after.len());
        let value = after[..end].trim().to_string();
        rest = &after[end..];
        if !name.is_empty() {
            return Some((name, value));
        }
    })
}

/// RFC 5987 `charset'language'percent-encoded` (UTF-8 only); `None` when malformed.
fn decode_extended(value: &str) -> Option<String> {
    let mut pieces = value.splitn(3, '\'');
    let charset = pieces.next()?;
    let _language = pieces.next()?;
    let encoded = pieces.next()?;
    if !charset.eq_ignore_ascii_case("utf-8") {
        return None;
    }
    let bytes = encoded.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        if bytes[index] == b'%' {
            let hex = std::str::from_utf8(bytes.get(index + 1..index + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            index += 3;
        } else {
            out.push(bytes[index]);
            index += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// The HTML standard's three form-data escapes: `%22` `"`, `%0D` CR, `%0A` LF (any case).
fn decode_form_escapes(text: &str) -> String {
    if !text.contains('%') {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('%') {
        out.push_str(&rest[..at]);
        let escape = rest.get(at..at + 3).map(str::to_ascii_uppercase);
        let decoded = match escape.as_deref() {
            Some("%22") => Some('"'),
            Some("%0D") => Some('\r'),
            Some("%0A") => Some('\n'),
            _ => None,
        };
        match decoded {
            Some(c) => {
                out.push(c);
                rest = &rest[at + 3..];
            }
            None => {
                out.push('%');
                rest = &rest[at + 1..];
            }
        }
    }
    out.push_str(rest);
    out
}

fn quote(text: &str) -> String {
    text.replace('\\', "\\\\").replace('"', "\\\"")
}

/// The first index of `needle` in `haystack`.
fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || haystack.len() < needle.len() {
        return None;
    }
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn discordpy_shape_parses() {
        // As aiohttp writes it with quote_fields=False.
        let body = b"--4f2b\r\nContent-Type: text/plain; charset=utf-8\r\n\
            Content-Disposition: form-data; name=\"payload_json\"\r\n\r\n\
            {\"content\":\"x\",\"attachments\":[{\"id\":0,\"filename\":\"a \\\"q\\\".txt\"}]}\r\n\
            --4f2b\r\nContent-Type: application/octet-stream\r\n\
            Content-Disposition: form-data; name=\"files[0]\"; filename=\"a \\\"q\\\".txt\"\r\n\r\n\
            line one\r\nline two\r\n--4f2b--\r\n";
        let parts = parse_multipart(body, "4f2b").unwrap();
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0].name, "payload_json");
        assert_eq!(parts[1].name, "files[0]");
        assert_eq!(parts[1].filename.as_deref(), Some("a \"q\".txt"));
        assert_eq!(parts[1].data, b"line one\r\nline two");
        assert_eq!(
            parts[1].content_type.as_deref(),
            Some("application/octet-stream")
        );
    }

    #[test]
    fn html_form_escapes_are_decoded() {
        // As undici (discord.js) writes `quote "me".txt`.
        let body = b"--b\r\nContent-Disposition: form-data; name=\"files[0]\"; \
            filename=\"quote %22me%22%0a.txt\"\r\n\r\nx\r\n--b--";
        let parts = parse_multipart(body, "b").unwrap();
        assert_eq!(parts[0].filename.as_deref(), Some("quote \"me\"\n.txt"));
        assert_eq!(decode_form_escapes("100%.txt %2"), "100%.txt %2");
        assert_eq!(decode_form_escapes("%E9%"), "%E9%");
    }

    #[test]
    fn extended_filename_wins_and_preamble_is_skipped() {
        let body = "preamble\r\n--b\r\nContent-Disposition: form-data; name=\"files[0]\"; \
            filename=\"x.txt\"; filename*=utf-8''%C3%A9t%C3%A9.txt\r\n\r\nhi\r\n--b--";
        let parts = parse_multipart(body.as_bytes(), "b").unwrap();
        assert_eq!(parts[0].filename.as_deref(), Some("été.txt"));
        assert_eq!(parts[0].data, b"hi");
    }

    #[test]
    fn broken_bodies_are_errors() {
        let cases: &[(&[u8], MultipartError)] = &[
            (b"no delimiter here", MultipartError::NoDelimiter),
            (
                b"--b\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nx",
                MultipartError::Unterminated,
            ),
            (
                b"--bjunk\r\n\r\nx\r\n--b--",
                MultipartError::BadDelimiterLine,
            ),
            (b"--b\r\n\r\nx\r\n--b--", MultipartError::MissingName),
            (
                b"--b\r\nContent-Disposition: attachment; name=\"a\"\r\n\r\nx\r\n--b--",
                MultipartError::MissingName,
            ),
            (
                b"--b\r\nno colon\r\n\r\nx\r\n--b--",
                MultipartError::BadPartHeaders,
            ),
        ];
        for (body, error) in cases {
            assert_eq!(
                parse_multipart(body, "b").as_ref().map_err(Clone::clone),
                Err(error.clone()),
                "{}",
                String::from_utf8_lossy(body)
            );
        }
    }

    #[test]
    fn part_count_is_bounded() {
        let data = b"x".to_vec();
        let names: Vec<String> = (0..=PARTS_MAX).map(|n| format!("p{n}")).collect();
        let parts: Vec<Part<'_>> = names
            .iter()
            .map(|name| Part {
                name: name.clone(),
                filename: None,
                content_type: None,
                data: &data,
            })
            .collect();
        let body = encode_multipart(&parts, "bound");
        assert_eq!(
            parse_multipart(&body, "bound"),
            Err(MultipartError::TooManyParts)
        );
        assert_eq!(
            parse_multipart(&encode_multipart(&parts[..PARTS_MAX], "bound"), "bound")
                .unwrap()
                .len(),
            PARTS_MAX
        );
    }

    #[test]
    fn filenames_are_sanitised_like_discord() {
        for (given, stored) in [
            ("cat.png", "cat.png"),
            ("../../etc/passwd", "passwd"),
            ("..\\..\\boot.ini", "boot.ini"),
            ("a/b/", "unknown"),
            ("..", "unknown"),
            (".hidden", "hidden"),
            ("héllo wörld.txt", "h_llo_w_rld.txt"),
            ("%2e%2e%2fx", "_2e_2e_2fx"),
            ("", "unknown"),
        ] {
            assert_eq!(sanitize_filename(given), stored, "{given}");
        }
        let long = format!("{}.png", "a".repeat(500));
        let cut = sanitize_filename(&long);
        assert_eq!(cut.len(), FILENAME_BYTES_MAX);
        assert!(cut.ends_with(".png"));
    }

    fn part_strategy() -> impl Strategy<Value = (String, Option<String>, Option<String>, Vec<u8>)> {
        (
            "[a-z_\\[\\]0-9\" \\\\]{1,12}",
            // Not `%`: the HTML form escapes (`%22`) cannot carry a literal `%22`.
            proptest::option::of("[ -$&-~]{0,16}"),
            proptest::option::of("[a-z]{1,8}/[a-z0-9.+-]{1,12}"),
            proptest::collection::vec(any::<u8>(), 0..300),
        )
    }

    proptest! {
        #[test]
        fn encode_then_parse_round_trips(
            raw in proptest::collection::vec(part_strategy(), 0..6),
            boundary in "[A-Za-z0-9'()+_,./:=?-]{1,69}[A-Za-z0-9]",
        ) {
            let dash_boundary = format!("--{boundary}");
            // A boundary must not occur in the data (the sender's job).
            let fits = raw.iter().all(|(_, _, _, data)| {
                find(data, dash_boundary.as_bytes()).is_none()
            });
            prop_assume!(fits);
            let parts: Vec<Part<'_>> = raw
                .iter()
                .map(|(name, filename, content_type, data)| Part {
                    name: name.clone(),
                    filename: filename.clone(),
                    content_type: content_type.clone(),
                    data,
                })
                .collect();
            let body = encode_multipart(&parts, &boundary);
            if parts.is_empty() {
                // Only a close delimiter: no parts.
                prop_assert_eq!(parse_multipart(&body, &boundary).unwrap(), Vec::new());
            } else {
                prop_assert_eq!(parse_multipart(&body, &boundary).unwrap(), parts);
            }
            let content_type = format!("multipart/form-data; boundary=\"{boundary}\"");
            prop_assert_eq!(boundary_of(&content_type).unwrap(), boundary);
        }

        #[test]
        fn any_bytes_parse_or_fail(body in proptest::collection::vec(any::<u8>(), 0..400),
                                   boundary in "[a-z]{1,4}") {
            if let Ok(parts) = parse_multipart(&body, &boundary) {
                prop_assert!(parts.len() <= PARTS_MAX);
                for part in parts {
                    // Every part's data lies inside the body.
                    let start = part.data.as_ptr() as usize - body.as_ptr() as usize;
                    prop_assert!(start + part.data.len() <= body.len());
                }
            }
        }

        #[test]
        fn truncated_bodies_never_panic(
            raw in proptest::collection::vec(part_strategy(), 1..4),
            cut in any::<prop::sample::Index>(),
        ) {
            let parts: Vec<Part<'_>> = raw
                .iter()
                .map(|(name, filename, content_type, data)| Part {
                    name: name.clone(),
                    filename: filename.clone(),
                    content_type: content_type.clone(),
                    data,
                })
                .collect();
            let body = encode_multipart(&parts, "zz");
            let _ = parse_multipart(&body[..cut.index(body.len())], "zz");
        }

        #[test]
        fn sanitised_names_stay_sanitised(name in "\\PC{0,300}") {
            let clean = sanitize_filename(&name);
            prop_assert!(is_sanitized(&clean));
            prop_assert_eq!(sanitize_filename(&clean), clean.clone());
        }
    }
}
