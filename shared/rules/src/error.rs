//! Errors produced while parsing a rule.

use thiserror::Error;

use crate::Protocol;

/// Why a rule could not be parsed.
///
/// Every variant carries the 1-based column (counted in characters, not bytes)
/// where the problem was found; [`RuleError::column`] returns it. Errors about
/// a matcher's arguments (arity, values, regexps) point at the matcher name.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum RuleError {
    /// The rule is empty or only whitespace.
    #[error("empty rule")]
    Empty,
    /// A specific token was required here.
    #[error("expected {expected} at column {column}")]
    Expected {
        /// What the parser wanted, e.g. `')'`.
        expected: String,
        /// Where it looked.
        column: usize,
    },
    /// A token that cannot appear here.
    #[error("unexpected {found} at column {column}")]
    Unexpected {
        /// Description of the offending token, e.g. `')'` or `newline`.
        found: String,
        /// Where it is.
        column: usize,
    },
    /// A malformed string literal (bad escape, unterminated, ...).
    #[error("invalid string literal at column {column}: {reason}")]
    InvalidString {
        /// What is wrong with it.
        reason: String,
        /// Where the literal starts.
        column: usize,
    },
    /// A name that is not a matcher of either protocol.
    #[error("unknown matcher \"{name}\" at column {column}")]
    UnknownMatcher {
        /// The name as written.
        name: String,
        /// Where the name starts.
        column: usize,
    },
    /// A matcher of the other protocol (e.g. `HostSNI` in an HTTP rule).
    #[error(
        "{name} is a {matcher_protocol} matcher, not allowed in {rule_protocol} rules at column {column}"
    )]
    WrongProtocol {
        /// Canonical matcher name.
        name: &'static str,
        /// The protocol the matcher belongs to.
        matcher_protocol: Protocol,
        /// The protocol of the rule being parsed.
        rule_protocol: Protocol,
        /// Where the name starts.
        column: usize,
    },
    /// Wrong number of arguments.
    #[error("{matcher} expects {expected}, got {got} at column {column}")]
    Arity {
        /// Canonical matcher name.
        matcher: &'static str,
        /// Human description of the accepted counts, e.g. `1 argument`.
        expected: &'static str,
        /// How many were given.
        got: usize,
        /// Where the matcher name starts.
        column: usize,
    },
    /// An argument is the empty string (Traefik rejects those).
    #[error("empty argument in {matcher} at column {column}")]
    EmptyArgument {
        /// Canonical matcher name.
        matcher: &'static str,
        /// Where the matcher name starts.
        column: usize,
    },
    /// A regexp argument does not compile.
    #[error("invalid regexp in {matcher} at column {column}: {message}")]
    InvalidRegex {
        /// Canonical matcher name.
        matcher: &'static str,
        /// Where the matcher name starts.
        column: usize,
        /// The regexp engine's explanation.
        message: String,
    },
    /// `ClientIP` argument is neither an IP address nor a CIDR.
    #[error("invalid IP or CIDR {value:?} in ClientIP at column {column}")]
    InvalidIp {
        /// The argument as written.
        value: String,
        /// Where the matcher name starts.
        column: usize,
    },
    /// Any other rejected argument value.
    #[error("invalid value {value:?} in {matcher} at column {column}: {reason}")]
    InvalidValue {
        /// Canonical matcher name.
        matcher: &'static str,
        /// The argument as written.
        value: String,
        /// Why it is rejected.
        reason: &'static str,
        /// Where the matcher name starts.
        column: usize,
    },
    /// Parentheses or `!` nested deeper than the parser allows.
    #[error("rule nested too deeply at column {column}")]
    TooDeep {
        /// Where the limit was hit.
        column: usize,
    },
}

impl RuleError {
    /// The 1-based character column the error refers to (1 for an empty rule).
    pub fn column(&self) -> usize {
        match self {
            RuleError::Empty => 1,
            RuleError::Expected { column, .. }
            | RuleError::Unexpected { column, .. }
            | RuleError::InvalidString { column, .. }
            | RuleError::UnknownMatcher { column, .. }
            | RuleError::WrongProtocol { column, .. }
            | RuleError::Arity { column, .. }
            | RuleError::EmptyArgument { column, .. }
            | RuleError::InvalidRegex { column, .. }
            | RuleError::InvalidIp { column, .. }
            | RuleError::InvalidValue { column, .. }
            | RuleError::TooDeep { column } => *column,
        }
    }
}
