//! The one error type of the crate.

use thiserror::Error;

/// Why a request target (or a setting feeding the normaliser) was refused.
///
/// Every variant that comes from a request target means "answer 400 Bad Request";
/// positions are byte offsets into the target as received, for logs and the CLI.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum NormalizeError {
    /// The request target is empty.
    #[error("empty request target")]
    Empty,
    /// A raw `#` appears in the target: fragments are never sent to a server.
    #[error("fragment ('#') in request target at byte {position}")]
    Fragment {
        /// Byte offset of the `#`.
        position: usize,
    },
    /// A `%` that is not followed by two hexadecimal digits.
    #[error("invalid percent-encoding in request path at byte {position}")]
    InvalidPercentEncoding {
        /// Byte offset of the `%`.
        position: usize,
    },
    /// A control character (0x00-0x1F, 0x7F) or a space in the target.
    #[error("invalid character {byte:#04x} in request target at byte {position}")]
    InvalidCharacter {
        /// The offending byte.
        byte: u8,
        /// Its byte offset.
        position: usize,
    },
    /// The target is neither origin-form (`/path`), absolute-form
    /// (`scheme://authority/path`) nor asterisk-form (`*`).
    #[error("request target is not in origin, absolute or asterisk form")]
    InvalidForm,
    /// The authority of an absolute-form target is empty, carries userinfo or
    /// is not a valid `host[:port]`.
    #[error("invalid authority in absolute-form request target")]
    InvalidAuthority,
    /// The path holds an encoded character that the entry point does not allow
    /// (Traefik's `http.encodedCharacters`).
    #[error("encoded character {escape} is not allowed in the request path")]
    EncodedCharacterDenied {
        /// The escape as found, upper-cased (e.g. `%2F`).
        escape: String,
    },
    /// An HTTP/1.1 request without a `Host` header (RFC 9112 §3.2), or with several.
    #[error("{0}")]
    Host(&'static str),
    /// A trusted-IP setting is neither an IP address nor a CIDR.
    #[error("invalid trusted IP or CIDR {0:?}")]
    InvalidTrustedIp(String),
}
