//! Traefik's `encodedCharacters` check: which percent-encoded characters a path may hold.
//!
//! Traefik (entry point `http.encodedCharacters`, and the `EncodedCharacters` middleware)
//! answers 400 when the escaped path contains a denied escape. Everything is allowed by
//! default; each flag denies one character when set to `false`. The query is not checked.

use crate::NormalizeError;

/// Allowed encoded characters in a request path; [`Default`] allows all, as Traefik.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EncodedCharacters {
    /// `%2F` (`/`).
    pub allow_encoded_slash: bool,
    /// `%5C` (`\`).
    pub allow_encoded_back_slash: bool,
    /// `%00` (NUL).
    pub allow_encoded_null_character: bool,
    /// `%3B` (`;`).
    pub allow_encoded_semicolon: bool,
    /// `%25` (`%`).
    pub allow_encoded_percent: bool,
    /// `%3F` (`?`).
    pub allow_encoded_question_mark: bool,
    /// `%23` (`#`).
    pub allow_encoded_hash: bool,
}

impl Default for EncodedCharacters {
    fn default() -> Self {
        Self {
            allow_encoded_slash: true,
            allow_encoded_back_slash: true,
            allow_encoded_null_character: true,
            allow_encoded_semicolon: true,
            allow_encoded_percent: true,
            allow_encoded_question_mark: true,
            allow_encoded_hash: true,
        }
    }
}

impl EncodedCharacters {
    /// Whether nothing is denied (the check can be skipped).
    pub fn allows_all(&self) -> bool {
        *self == Self::default()
    }

    fn allows(&self, decoded: u8) -> bool {
        match decoded {
            b'/' => self.allow_encoded_slash,
            b'\\' => self.allow_encoded_back_slash,
            0 => self.allow_encoded_null_character,
            b';' => self.allow_encoded_semicolon,
            b'%' => self.allow_encoded_percent,
            b'?' => self.allow_encoded_question_mark,
            b'#' => self.allow_encoded_hash,
            _ => true,
        }
    }

    /// Checks a path (raw or normalised; hex case is ignored).
    ///
    /// # Errors
    /// [`NormalizeError::EncodedCharacterDenied`] for the first denied escape,
    /// [`NormalizeError::InvalidPercentEncoding`] for a malformed one.
    pub fn check(&self, path: &str) -> Result<(), NormalizeError> {
        if self.allows_all() {
            return Ok(());
        }
        let bytes = path.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] != b'%' {
                i += 1;
                continue;
            }
            let escape = path
                .get(i..i + 3)
                .filter(|e| e.bytes().skip(1).all(|b| b.is_ascii_hexdigit()))
                .ok_or(NormalizeError::InvalidPercentEncoding { position: i })?;
            let decoded = u8::from_str_radix(&escape[1..], 16)
                .map_err(|_| NormalizeError::InvalidPercentEncoding { position: i })?;
            if !self.allows(decoded) {
                return Err(NormalizeError::EncodedCharacterDenied {
                    escape: escape.to_ascii_uppercase(),
                });
            }
            i += 3;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::EncodedCharacters;
    use crate::NormalizeError;

    fn denied(escape: &str) -> Result<(), NormalizeError> {
        Err(NormalizeError::EncodedCharacterDenied {
            escape: escape.to_owned(),
        })
    }

    #[test]
    fn check_table() {
        let deny_all = EncodedCharacters {
            allow_encoded_slash: false,
            allow_encoded_back_slash: false,
            allow_encoded_null_character: false,
            allow_encoded_semicolon: false,
            allow_encoded_percent: false,
            allow_encoded_question_mark: false,
            allow_encoded_hash: false,
        };
        let deny_slash = EncodedCharacters {
            allow_encoded_slash: false,
            ..EncodedCharacters::default()
        };
        let cases = [
            (
                "default allows slash",
                EncodedCharacters::default(),
                "/a%2Fb",
                Ok(()),
            ),
            (
                "default skips malformed",
                EncodedCharacters::default(),
                "/%",
                Ok(()),
            ),
            ("slash denied", deny_slash, "/a%2fb", denied("%2F")),
            ("other escapes fine", deny_slash, "/a%20b%5C", Ok(())),
            ("backslash", deny_all, "/%5c", denied("%5C")),
            ("null", deny_all, "/%00", denied("%00")),
            ("semicolon", deny_all, "/%3B", denied("%3B")),
            ("percent", deny_all, "/%25", denied("%25")),
            ("question mark", deny_all, "/%3f", denied("%3F")),
            ("hash", deny_all, "/%23", denied("%23")),
            ("first denied wins", deny_all, "/%23%2F", denied("%23")),
            ("unlisted escape", deny_all, "/%41%7E%C3%A9", Ok(())),
            (
                "malformed",
                deny_all,
                "/ab%4",
                Err(NormalizeError::InvalidPercentEncoding { position: 3 }),
            ),
        ];
        for (case, config, path, want) in cases {
            assert_eq!(config.check(path), want, "{case}");
        }
        assert!(EncodedCharacters::default().allows_all());
        assert!(!deny_slash.allows_all());
    }
}
