//! Private keys on the bus: sealed with ChaCha20-Poly1305 under a key that only the
//! certificates service and the proxies hold.
//!
//! The KV key a secret is stored under is the additional authenticated data, so a sealed
//! value copied to another key (another domain's certificate) fails to open.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use ring::aead::{Aad, CHACHA20_POLY1305, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use ring::rand::{SecureRandom, SystemRandom};
use serde::{Deserialize, Serialize};

/// Name of the only algorithm of contract v1.
pub const ALGORITHM: &str = "chacha20-poly1305";

/// Errors of sealing and opening.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SealError {
    /// The shared secret is not 32 bytes of base64 or hex.
    #[error("bus secret key: {0}")]
    BadKey(String),
    /// The sealed value names an algorithm this version does not know.
    #[error("sealed value uses unknown algorithm {0:?}")]
    UnknownAlgorithm(String),
    /// Nonce or ciphertext are not valid base64 / of the wrong length.
    #[error("sealed value is malformed: {0}")]
    Malformed(String),
    /// Wrong key, or the value was tampered with or moved to another key.
    #[error("sealed value does not open with this key (wrong key, tampered, or moved)")]
    Open,
    /// The system random generator failed.
    #[error("no randomness available")]
    Random,
}

/// The shared secret (32 bytes).
#[derive(Clone)]
pub struct SealKey([u8; 32]);

impl std::fmt::Debug for SealKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SealKey(..)")
    }
}

impl SealKey {
    /// Reads a key written as 64 hex digits or as base64 of 32 bytes (surrounding whitespace ignored).
    pub fn parse(text: &str) -> Result<Self, SealError> {
        let text = text.trim();
        let bytes = if text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit()) {
            (0..32)
                .map(|i| u8::from_str_radix(&text[2 * i..2 * i + 2], 16))
                .collect::<Result<Vec<u8>, _>>()
                .map_err(|e| SealError::BadKey(e.to_string()))?
        } else {
            B64.decode(text)
                .map_err(|e| SealError::BadKey(format!("not hex or base64: {e}")))?
        };
        let array: [u8; 32] = bytes.try_into().map_err(|b: Vec<u8>| {
            SealError::BadKey(format!("expected 32 bytes, got {}", b.len()))
        })?;
        Ok(Self(array))
    }

    /// A fresh random key, written as base64 by [`SealKey::to_base64`].
    pub fn generate() -> Result<Self, SealError> {
        let mut bytes = [0u8; 32];
        SystemRandom::new()
            .fill(&mut bytes)
            .map_err(|_| SealError::Random)?;
        Ok(Self(bytes))
    }

    /// The key as base64, the form `parse` reads.
    pub fn to_base64(&self) -> String {
        B64.encode(self.0)
    }

    fn aead(&self) -> LessSafeKey {
        // 32 bytes is exactly ChaCha20-Poly1305's key length, so this cannot fail.
        LessSafeKey::new(
            UnboundKey::new(&CHACHA20_POLY1305, &self.0)
                .unwrap_or_else(|_| unreachable!("a 32-byte key is valid for ChaCha20-Poly1305")),
        )
    }

    /// Seals `plaintext`, bound to `context` (the KV key it will be stored under).
    pub fn seal(&self, plaintext: &[u8], context: &str) -> Result<Sealed, SealError> {
        let mut nonce = [0u8; NONCE_LEN];
        SystemRandom::new()
            .fill(&mut nonce)
            .map_err(|_| SealError::Random)?;
        let mut data = plaintext.to_vec();
        self.aead()
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(context.as_bytes()),
                &mut data,
            )
            .map_err(|_| SealError::Open)?;
        Ok(Sealed {
            alg: ALGORITHM.to_owned(),
            nonce: B64.encode(nonce),
            ciphertext: B64.encode(data),
        })
    }

    /// Opens a sealed value stored under `context`.
    pub fn open(&self, sealed: &Sealed, context: &str) -> Result<Vec<u8>, SealError> {
        if sealed.alg != ALGORITHM {
            return Err(SealError::UnknownAlgorithm(sealed.alg.clone()));
        }
        let nonce: [u8; NONCE_LEN] = B64
            .decode(&sealed.nonce)
            .map_err(|e| SealError::Malformed(format!("nonce: {e}")))?
            .try_into()
            .map_err(|_| SealError::Malformed("nonce length".into()))?;
        let mut data = B64
            .decode(&sealed.ciphertext)
            .map_err(|e| SealError::Malformed(format!("ciphertext: {e}")))?;
        let plain = self
            .aead()
            .open_in_place(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(context.as_bytes()),
                &mut data,
            )
            .map_err(|_| SealError::Open)?;
        Ok(plain.to_vec())
    }
}

/// A secret as it travels and rests on the bus.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sealed {
    /// Always [`ALGORITHM`] in v1.
    pub alg: String,
    /// Base64 of the 12-byte nonce.
    pub nonce: String,
    /// Base64 of ciphertext followed by the 16-byte tag.
    pub ciphertext: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_open_round_trip() {
        let key = SealKey::generate().unwrap();
        let sealed = key.seal(b"-----BEGIN PRIVATE KEY-----", "k1").unwrap();
        assert!(!sealed.ciphertext.contains("PRIVATE"));
        assert_eq!(
            key.open(&sealed, "k1").unwrap(),
            b"-----BEGIN PRIVATE KEY-----"
        );
    }

    #[test]
    fn moved_tampered_or_wrong_key_fails() {
        let key = SealKey::generate().unwrap();
        let sealed = key.seal(b"secret", "k1").unwrap();
        assert_eq!(key.open(&sealed, "k2"), Err(SealError::Open));
        let other = SealKey::generate().unwrap();
        assert_eq!(other.open(&sealed, "k1"), Err(SealError::Open));
        let mut tampered = sealed.clone();
        let mut raw = B64.decode(&tampered.ciphertext).unwrap();
        raw[0] ^= 1;
        tampered.ciphertext = B64.encode(raw);
        assert_eq!(key.open(&tampered, "k1"), Err(SealError::Open));
        let mut alg = sealed;
        alg.alg = "rot13".into();
        assert_eq!(
            key.open(&alg, "k1"),
            Err(SealError::UnknownAlgorithm("rot13".into()))
        );
    }

    #[test]
    fn keys_parse_from_hex_and_base64() {
        let hex = "00".repeat(32);
        assert!(SealKey::parse(&hex).is_ok());
        let key = SealKey::generate().unwrap();
        let again = SealKey::parse(&format!(" {}\n", key.to_base64())).unwrap();
        let sealed = key.seal(b"x", "c").unwrap();
        assert_eq!(again.open(&sealed, "c").unwrap(), b"x");
        for bad in ["", "abc", &"00".repeat(31), "!!!!"] {
            assert!(
                matches!(SealKey::parse(bad), Err(SealError::BadKey(_))),
                "{bad:?}"
            );
        }
    }
}
