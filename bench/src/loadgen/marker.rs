//! The marker each measured message carries in its `content`, so a session can tell which
//! post it received and when that post was due, without any clock synchronisation.
//!
//! Format: `fx:<window>:<publisher>:<seq>:<scheduled_ns>` for a measured post, and
//! `fx:warm:<round>` for a warm-up post. `scheduled_ns` counts from the fleet's epoch
//! `Instant`, shared by every thread of the one process that sends and receives, so
//! `received_ns - scheduled_ns` is the publish→deliver latency measured from the time the
//! post was *due* (an open-loop schedule: no coordinated omission).
//!
//! The marker is ASCII digits, letters and colons, so it never needs JSON escaping, and a
//! session finds it by byte search after `"content":"`.

/// What a message's `content` says about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Marker {
    /// A warm-up post, sent before measuring.
    Warm {
        /// Which warm-up round.
        round: u64,
    },
    /// A measured post.
    Post {
        /// The measurement window it belongs to.
        window: u32,
        /// Which publisher sent it.
        publisher: u32,
        /// The publisher's sequence number in the window, from 0.
        seq: u64,
        /// When it was due, nanoseconds after the fleet's epoch.
        scheduled_ns: u64,
    },
}

/// Appends `marker` to `out`.
pub fn encode_marker(out: &mut Vec<u8>, marker: Marker) {
    use std::io::Write as _;
    // Writing to a Vec cannot fail.
    let _ = match marker {
        Marker::Warm { round } => write!(out, "fx:warm:{round}"),
        Marker::Post {
            window,
            publisher,
            seq,
            scheduled_ns,
        } => write!(out, "fx:{window}:{publisher}:{seq}:{scheduled_ns}"),
    };
}

/// Reads a marker from a message's `content` bytes; `None` if it is not one of ours.
pub fn parse_marker(content: &[u8]) -> Option<Marker> {
    let rest = content.strip_prefix(b"fx:")?;
    if let Some(round) = rest.strip_prefix(b"warm:") {
        return Some(Marker::Warm {
            round: parse_u64(round)?,
        });
    }
    if let Some(marker) = parse_post_fast(rest) {
        return Some(marker);
    }
    let mut fields = rest.split(|&b| b == b':');
    let window = u32::try_from(parse_u64(fields.next()?)?).ok()?;
    let publisher = u32::try_from(parse_u64(fields.next()?)?).ok()?;
    let seq = parse_u64(fields.next()?)?;
    let scheduled_ns = parse_u64(fields.next()?)?;
    if fields.next().is_some() {
        return None;
    }
    Some(Marker::Post {
        window,
        publisher,
        seq,
        scheduled_ns,
    })
}

/// `<window>:<publisher>:<seq>:<scheduled_ns>` in one pass, when every number has at most
/// 19 digits (so none can overflow); `None` sends it to the general parse, which decides.
/// Once per delivery, so it matters that it is one pass.
fn parse_post_fast(rest: &[u8]) -> Option<Marker> {
    let mut fields = [0u64; 4];
    let mut field = 0;
    let mut digits = 0;
    for &b in rest {
        if b.is_ascii_digit() && digits < 19 {
            fields[field] = fields[field] * 10 + u64::from(b - b'0');
            digits += 1;
        } else if b == b':' && digits > 0 && field < 3 {
            field += 1;
            digits = 0;
        } else {
            return None;
        }
    }
    if field != 3 || digits == 0 {
        return None;
    }
    Some(Marker::Post {
        window: u32::try_from(fields[0]).ok()?,
        publisher: u32::try_from(fields[1]).ok()?,
        seq: fields[2],
        scheduled_ns: fields[3],
    })
}

/// Decimal digits only, at least one, no overflow.
pub fn parse_u64(digits: &[u8]) -> Option<u64> {
    if digits.is_empty() || digits.len() > 20 {
        return None;
    }
    if !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    if digits.len() < 20 {
        // At most 19 digits: below 10^19 < 2^64, so nothing can overflow (the hot case:
        // every delivery parses four numbers of a marker).
        return Some(
            digits
                .iter()
                .fold(0u64, |value, &b| value * 10 + u64::from(b - b'0')),
        );
    }
    let mut value: u64 = 0;
    for &b in digits {
        value = value.checked_mul(10)?.checked_add(u64::from(b - b'0'))?;
    }
    Some(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers_round_trip() {
        let markers = [
            Marker::Warm { round: 0 },
            Marker::Warm { round: 17 },
            Marker::Post {
                window: 0,
                publisher: 0,
                seq: 0,
                scheduled_ns: 0,
            },
            Marker::Post {
                window: 3,
                publisher: 7,
                seq: 881,
                scheduled_ns: u64::MAX,
            },
        ];
        for marker in markers {
            let mut out = Vec::new();
            encode_marker(&mut out, marker);
            assert_eq!(
                parse_marker(&out),
                Some(marker),
                "{}",
                String::from_utf8_lossy(&out)
            );
        }
    }

    #[test]
    fn the_one_pass_parse_agrees_with_the_general_one() {
        for content in [
            &b"fx:1:2:3:4"[..],
            b"fx:0:0:0:0",
            b"fx:4294967295:7:881:1234567890123456789",
            b"fx:4294967296:7:881:1",
            b"fx:1:2:3:18446744073709551615",
            b"fx:1:2:3:18446744073709551616",
            b"fx:1:2:3",
            b"fx:1:2:3:4:5",
            b"fx:1::3:4",
            b"fx:1:2:3:",
            b"fx::1:2:3",
            b"fx:1:2:x:4",
        ] {
            let general = {
                let rest = &content[3..];
                let mut fields = rest.split(|&b| b == b':');
                (|| {
                    let window = u32::try_from(parse_u64(fields.next()?)?).ok()?;
                    let publisher = u32::try_from(parse_u64(fields.next()?)?).ok()?;
                    let seq = parse_u64(fields.next()?)?;
                    let scheduled_ns = parse_u64(fields.next()?)?;
                    fields.next().is_none().then_some(Marker::Post {
                        window,
                        publisher,
                        seq,
                        scheduled_ns,
                    })
                })()
            };
            assert_eq!(
                parse_marker(content),
                general,
                "{}",
                String::from_utf8_lossy(content)
            );
        }
    }

    #[test]
    fn numbers_parse_up_to_the_largest_u64_and_no_further() {
        assert_eq!(parse_u64(b"0"), Some(0));
        assert_eq!(
            parse_u64(b"9999999999999999999"),
            Some(9_999_999_999_999_999_999)
        );
        assert_eq!(parse_u64(b"18446744073709551615"), Some(u64::MAX));
        assert_eq!(parse_u64(b"18446744073709551616"), None);
        assert_eq!(parse_u64(b"99999999999999999999"), None);
        assert_eq!(parse_u64(b"000000000000000000001"), None, "over 20 digits");
        assert_eq!(parse_u64(b"12a"), None);
        assert_eq!(parse_u64(b""), None);
    }

    #[test]
    fn foreign_contents_are_not_markers() {
        for content in [
            &b""[..],
            b"hello",
            b"fx:",
            b"fx:1:2:3",
            b"fx:1:2:3:4:5",
            b"fx:1:2:x:4",
            b"fx:warm:",
            b"fx:warm:1a",
            b"fx:1:2:3:99999999999999999999999",
            b"fx:4294967296:0:0:0",
        ] {
            assert_eq!(
                parse_marker(content),
                None,
                "{}",
                String::from_utf8_lossy(content)
            );
        }
    }
}
