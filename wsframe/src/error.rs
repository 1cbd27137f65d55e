//! Why a peer's bytes were rejected, and the close code a server answers with.
//!
//! Every rule the decoder enforces has its own variant, so a log line or a test can name the
//! exact rule that was broken. [`Error::close_code`] maps each cause to the status code that
//! goes into our Close frame (RFC 6455 §7.4.1): 1002 for a framing or protocol violation, 1007
//! for text that is not UTF-8, 1009 for a message or frame above the configured limit.
//!
//! Invariants:
//! - Errors are values: nothing a peer sends makes this crate panic.
//! - Errors are `Copy`, so a failed [`Decoder`](crate::Decoder) can hand out the same error again
//!   on every later call without allocating.

use std::fmt;

/// A violation of RFC 6455 (or of our configured limits) by the peer.
///
/// The decoder that returned it is failed for good: every later call returns the same error.
/// The server answers with a Close frame carrying [`Error::close_code`] and then closes the TCP
/// connection.
///
/// ```
/// use wsframe::{Config, Decoder, Error};
///
/// let mut decoder = Decoder::new(Config::server());
/// // A text frame from a client without a masking key.
/// let mut input: &[u8] = &[0x81, 0x02, b'h', b'i'];
/// let error = decoder.decode(&mut input).unwrap_err();
/// assert_eq!(error, Error::UnmaskedClientFrame);
/// assert_eq!(error.close_code(), 1002);
/// ```
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Error {
    /// RSV1, RSV2 or RSV3 is set, but no extension was negotiated (§5.2). Closes with 1002.
    ReservedBitsSet {
        /// The three reserved bits, RSV1 as the highest (`0b100`).
        rsv: u8,
    },
    /// The opcode is one of the reserved values 3–7 or 0xB–0xF (§5.2). Closes with 1002.
    ReservedOpcode {
        /// The 4-bit opcode as received.
        opcode: u8,
    },
    /// A Close, Ping or Pong frame has FIN clear (§5.5: control frames are never fragmented).
    /// Closes with 1002.
    FragmentedControlFrame,
    /// A control frame announces more than 125 payload bytes (§5.5). Closes with 1002.
    ControlFrameTooLong,
    /// The payload length uses a longer form than needed: a 16-bit length below 126 or a 64-bit
    /// length below 65536 (§5.2: "the minimal number of bytes MUST be used"). Closes with 1002.
    NonMinimalLength {
        /// The announced payload length.
        len: u64,
    },
    /// The most significant bit of a 64-bit payload length is set (§5.2). Closes with 1002.
    LengthMsbSet,
    /// A client sent a frame without a masking key (§5.1). Closes with 1002.
    UnmaskedClientFrame,
    /// A server sent a masked frame (§5.1). Closes with 1002.
    MaskedServerFrame,
    /// A continuation frame arrived while no fragmented message was open (§5.4). Closes with
    /// 1002.
    ContinuationWithoutStart,
    /// A Text or Binary frame arrived while a fragmented message was still open; only
    /// continuation and control frames may follow an unfinished message (§5.4). Closes with
    /// 1002.
    DataFrameInsideMessage,
    /// A Close frame carries exactly one payload byte: half a status code (§5.5.1). Closes with
    /// 1002.
    CloseFrameTooShort,
    /// A Close frame carries a status code that may not appear on the wire (§7.4): below 1000,
    /// 1004–1006, 1015, unassigned 1016–2999, or 5000 and above. Closes with 1002.
    InvalidCloseCode {
        /// The code as received.
        code: u16,
    },
    /// A text message is not valid UTF-8, or its bytes so far cannot start valid UTF-8
    /// (§8.1). Closes with 1007.
    InvalidUtf8,
    /// The reason in a Close frame is not valid UTF-8 (§5.5.1). Closes with 1007.
    InvalidCloseReason,
    /// A frame announces more payload than `Config::frame_len_max`. Closes with 1009.
    FrameTooBig {
        /// The announced payload length.
        len: u64,
        /// The configured limit.
        len_max: usize,
    },
    /// A data message would grow past `Config::message_len_max`. Detected from the frame
    /// header, before any of the oversized payload is buffered. Closes with 1009 (the gateway
    /// remaps this to its own 4002).
    MessageTooBig {
        /// The message length the frame header would lead to.
        len: u64,
        /// The configured limit.
        len_max: usize,
    },
}

impl Error {
    /// The status code a server puts in its Close frame for this error (RFC 6455 §7.4.1).
    ///
    /// ```
    /// use wsframe::Error;
    ///
    /// assert_eq!(Error::ReservedOpcode { opcode: 3 }.close_code(), 1002);
    /// assert_eq!(Error::InvalidUtf8.close_code(), 1007);
    /// assert_eq!(Error::MessageTooBig { len: 5000, len_max: 4096 }.close_code(), 1009);
    /// ```
    pub fn close_code(&self) -> u16 {
        match self {
            Error::InvalidUtf8 | Error::InvalidCloseReason => crate::close::INVALID_PAYLOAD,
            Error::FrameTooBig { .. } | Error::MessageTooBig { .. } => {
                crate::close::MESSAGE_TOO_BIG
            }
            Error::ReservedBitsSet { .. }
            | Error::ReservedOpcode { .. }
            | Error::FragmentedControlFrame
            | Error::ControlFrameTooLong
            | Error::NonMinimalLength { .. }
            | Error::LengthMsbSet
            | Error::UnmaskedClientFrame
            | Error::MaskedServerFrame
            | Error::ContinuationWithoutStart
            | Error::DataFrameInsideMessage
            | Error::CloseFrameTooShort
            | Error::InvalidCloseCode { .. } => crate::close::PROTOCOL_ERROR,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::ReservedBitsSet { rsv } => {
                write!(
                    f,
                    "reserved bits {rsv:#05b} set without a negotiated extension"
                )
            }
            Error::ReservedOpcode { opcode } => write!(f, "reserved opcode {opcode:#x}"),
            Error::FragmentedControlFrame => f.write_str("control frame without FIN"),
            Error::ControlFrameTooLong => f.write_str("control frame payload above 125 bytes"),
            Error::NonMinimalLength { len } => {
                write!(f, "payload length {len} not encoded in the minimal form")
            }
            Error::LengthMsbSet => f.write_str("most significant bit of 64-bit length set"),
            Error::UnmaskedClientFrame => f.write_str("client frame without masking key"),
            Error::MaskedServerFrame => f.write_str("server frame with masking key"),
            Error::ContinuationWithoutStart => {
                f.write_str("continuation frame without a message to continue")
            }
            Error::DataFrameInsideMessage => {
                f.write_str("new data frame while a fragmented message is open")
            }
            Error::CloseFrameTooShort => f.write_str("close frame with a 1-byte payload"),
            Error::InvalidCloseCode { code } => write!(f, "close code {code} is not allowed"),
            Error::InvalidUtf8 => f.write_str("text message is not valid UTF-8"),
            Error::InvalidCloseReason => f.write_str("close reason is not valid UTF-8"),
            Error::FrameTooBig { len, len_max } => {
                write!(f, "frame payload of {len} bytes exceeds limit of {len_max}")
            }
            Error::MessageTooBig { len, len_max } => {
                write!(f, "message of {len} bytes exceeds limit of {len_max}")
            }
        }
    }
}

impl std::error::Error for Error {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_error_maps_to_its_close_code() {
        let table: &[(Error, u16)] = &[
            (Error::ReservedBitsSet { rsv: 0b100 }, 1002),
            (Error::ReservedOpcode { opcode: 0xB }, 1002),
            (Error::FragmentedControlFrame, 1002),
            (Error::ControlFrameTooLong, 1002),
            (Error::NonMinimalLength { len: 5 }, 1002),
            (Error::LengthMsbSet, 1002),
            (Error::UnmaskedClientFrame, 1002),
            (Error::MaskedServerFrame, 1002),
            (Error::ContinuationWithoutStart, 1002),
            (Error::DataFrameInsideMessage, 1002),
            (Error::CloseFrameTooShort, 1002),
            (Error::InvalidCloseCode { code: 1005 }, 1002),
            (Error::InvalidUtf8, 1007),
            (Error::InvalidCloseReason, 1007),
            (
                Error::FrameTooBig {
                    len: 10,
                    len_max: 5,
                },
                1009,
            ),
            (
                Error::MessageTooBig {
                    len: 10,
                    len_max: 5,
                },
                1009,
            ),
        ];
        for (error, code) in table {
            assert_eq!(error.close_code(), *code, "{error:?}");
            assert!(!error.to_string().is_empty());
        }
    }
}
