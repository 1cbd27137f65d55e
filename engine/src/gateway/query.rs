//! The gateway connection query: `?v=10&encoding=json&compress=zlib-stream`.
//!
//! Implements: the query parameters of Discord's "Connecting to the Gateway". Any path is
//! accepted (discord.py connects to `/`, twilight to `/?...`, serenity sends only `?v=10`).
//!
//! Rules (each refusal closes with 4012 right after the upgrade, reason naming the value):
//! - `v`: missing means 10 (Discord accepts that too); anything other than `10` is refused.
//! - `encoding`: missing or `json`; `etf` and anything else is refused (Flux speaks JSON only).
//! - `compress`: missing/empty (plain TEXT frames), `zlib-stream` or `zstd-stream`; anything
//!   else is refused rather than silently ignored, so a misconfigured client learns why.
//! - Unknown parameters are ignored; a repeated parameter: the last one wins.

/// Transport compression a connection asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TransportCompression {
    /// TEXT frames, no compression.
    None,
    /// One zlib stream for the connection; every message ends on a sync flush (`00 00 ff ff`).
    ZlibStream,
    /// One zstd frame for the connection; every message ends on a flush.
    ZstdStream,
}

/// A parsed connection query.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectQuery {
    pub compression: TransportCompression,
}

/// Why a connection query was refused. Every variant closes with 4012.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QueryError {
    /// `v` was not 10.
    UnsupportedVersion(String),
    /// `encoding` was not `json`.
    UnsupportedEncoding(String),
    /// `compress` was not `zlib-stream` or `zstd-stream`.
    UnsupportedCompression(String),
}

impl QueryError {
    /// A close reason for the client (at most 123 bytes, as a close frame requires).
    pub fn reason(&self) -> String {
        let (what, value, expected) = match self {
            QueryError::UnsupportedVersion(v) => ("v", v, "10"),
            QueryError::UnsupportedEncoding(v) => ("encoding", v, "json"),
            QueryError::UnsupportedCompression(v) => ("compress", v, "zlib-stream or zstd-stream"),
        };
        format!("unsupported {what}={}; use {expected}", truncate(value, 32))
    }
}

/// The longest prefix of `text` that fits in `bytes_max` bytes, cut on a char boundary.
pub(crate) fn truncate(text: &str, bytes_max: usize) -> &str {
    let mut end = text.len().min(bytes_max);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// Parses the request target (`/path?query` or just the query, with or without `?`).
///
/// ```
/// use engine::gateway::{parse_connect_query, TransportCompression};
/// let q = parse_connect_query("/?v=10&encoding=json&compress=zstd-stream").unwrap();
/// assert_eq!(q.compression, TransportCompression::ZstdStream);
/// assert!(parse_connect_query("/?v=9").is_err());
/// assert!(parse_connect_query("/").is_ok());
/// ```
pub fn parse_connect_query(target: &str) -> Result<ConnectQuery, QueryError> {
    let query = match target.split_once('?') {
        Some((_, query)) => query,
        None if target.contains('=') => target,
        None => "",
    };
    let query = query.split('#').next().unwrap_or("");
    let (mut version, mut encoding, mut compress) = (None, None, None);
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        match key {
            "v" => version = Some(value),
            "encoding" => encoding = Some(value),
            "compress" => compress = Some(value),
            _ => {}
        }
    }
    if let Some(v) = version.filter(|v| *v != "10") {
        return Err(QueryError::UnsupportedVersion(v.to_string()));
    }
    if let Some(e) = encoding.filter(|e| *e != "json") {
        return Err(QueryError::UnsupportedEncoding(e.to_string()));
    }
    let compression = match compress.unwrap_or("") {
        "" => TransportCompression::None,
        "zlib-stream" => TransportCompression::ZlibStream,
        "zstd-stream" => TransportCompression::ZstdStream,
        other => return Err(QueryError::UnsupportedCompression(other.to_string())),
    };
    Ok(ConnectQuery { compression })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use TransportCompression::*;

    #[test]
    fn what_real_clients_send_is_accepted() {
        for (target, compression) in [
            ("/?v=10&encoding=json&compress=zlib-stream", ZlibStream), // discord.py, hikari
            ("/?v=10&encoding=json&compress=zstd-stream", ZstdStream), // twilight, discord.py[speed]
            ("/?v=10&encoding=json", None),                            // discord.js
            ("?v=10", None),                                           // serenity
            ("/", None),
            ("", None),
            (
                "/any/path?v=10&encoding=json&compress=zlib-stream&x=1",
                ZlibStream,
            ),
            ("/?v=10&compress=", None),
        ] {
            assert_eq!(
                parse_connect_query(target),
                Ok(ConnectQuery { compression }),
                "{target}"
            );
        }
    }

    #[test]
    fn other_versions_encodings_and_compressions_are_refused() {
        assert_eq!(
            parse_connect_query("/?v=9"),
            Err(QueryError::UnsupportedVersion("9".into()))
        );
        assert_eq!(
            parse_connect_query("/?v="),
            Err(QueryError::UnsupportedVersion("".into()))
        );
        assert_eq!(
            parse_connect_query("/?v=10&encoding=etf"),
            Err(QueryError::UnsupportedEncoding("etf".into()))
        );
        assert_eq!(
            parse_connect_query("/?compress=deflate"),
            Err(QueryError::UnsupportedCompression("deflate".into()))
        );
        let reason = parse_connect_query("/?encoding=etf").unwrap_err().reason();
        assert_eq!(reason, "unsupported encoding=etf; use json");
    }

    #[test]
    fn last_repeated_parameter_wins() {
        assert!(parse_connect_query("/?v=9&v=10").is_ok());
        assert!(parse_connect_query("/?v=10&v=9").is_err());
    }

    proptest! {
        #[test]
        fn never_panics_and_reasons_fit_a_close_frame(target in ".{0,200}") {
            if let Err(e) = parse_connect_query(&target) {
                prop_assert!(e.reason().len() <= 123);
            }
        }
    }
}
