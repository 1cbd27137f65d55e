//! Which side of the connection a decoder sits on, and how much it may buffer.
//!
//! The role decides the masking rule (§5.1): a server only accepts masked frames, a client only
//! unmasked ones. The two limits bound the memory one connection can make us hold; both are
//! checked against the length in a frame header, before any payload is buffered.

/// The side of the connection the decoder runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Role {
    /// We are the server: frames come from a client and must be masked.
    Server,
    /// We are the client (tests, load generators): frames come from a server and must not be
    /// masked.
    Client,
}

/// Decoder settings. Start from [`Config::server`] or [`Config::client`].
///
/// ```
/// use wsframe::{Config, Role};
///
/// // The gateway: 4 KiB client payloads, mapped to close 4002 by the engine.
/// let config = Config::server().with_message_len_max(4096).with_frame_len_max(4096);
/// assert_eq!(config.role, Role::Server);
/// assert_eq!(config.message_len_max, 4096);
/// ```
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Config {
    /// Which side we are; decides the masking rule.
    pub role: Role,
    /// The largest data message (sum of its fragments' payloads) we accept, in bytes.
    pub message_len_max: usize,
    /// The largest single frame payload we accept, in bytes. Applies to control frames too,
    /// though those are capped at 125 bytes by the protocol anyway.
    pub frame_len_max: usize,
}

impl Config {
    /// The default limit for both the message and the frame size: 1 MiB.
    pub const LEN_MAX_DEFAULT: usize = 1 << 20;

    /// A server-side decoder (expects masked client frames) with 1 MiB limits.
    pub const fn server() -> Config {
        Config {
            role: Role::Server,
            message_len_max: Self::LEN_MAX_DEFAULT,
            frame_len_max: Self::LEN_MAX_DEFAULT,
        }
    }

    /// A client-side decoder (expects unmasked server frames) with 1 MiB limits.
    pub const fn client() -> Config {
        Config {
            role: Role::Client,
            ..Config::server()
        }
    }

    /// Sets the largest data message accepted.
    pub const fn with_message_len_max(mut self, message_len_max: usize) -> Config {
        self.message_len_max = message_len_max;
        self
    }

    /// Sets the largest frame payload accepted.
    pub const fn with_frame_len_max(mut self, frame_len_max: usize) -> Config {
        self.frame_len_max = frame_len_max;
        self
    }
}

impl Default for Config {
    fn default() -> Config {
        Config::server()
    }
}
