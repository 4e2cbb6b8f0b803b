//! SHA-256 digests and their text form.

use std::fmt;
use std::str::FromStr;

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest, Sha256};

/// A SHA-256 digest.
///
/// Its only text form is 64 **lowercase** hex characters: accepting upper
/// case too would give one hash two spellings, and a bundle whose bytes can
/// change without its meaning changing is harder to reason about.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(value_type = String, format = "sha256-hex"))]
pub struct Hash(pub [u8; 32]);

impl Hash {
    /// All zero bytes: the `prev` of the first event of every case.
    pub const ZERO: Hash = Hash([0; 32]);

    /// The raw digest bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// The 64-character lowercase hex form (same as `Display`).
    pub fn to_hex(&self) -> String {
        self.hex_ascii().iter().map(|&b| char::from(b)).collect()
    }

    /// Lowercase hex without allocating: hashes are formatted several
    /// times per stored event, on the write path.
    fn hex_ascii(&self) -> [u8; 64] {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        let mut out = [0u8; 64];
        for (i, b) in self.0.iter().enumerate() {
            out[2 * i] = DIGITS[usize::from(b >> 4)];
            out[2 * i + 1] = DIGITS[usize::from(b & 0x0f)];
        }
        out
    }
}

/// SHA-256 over the concatenation of `parts`.
///
/// Taking the parts separately lets callers hash framed data without first
/// copying it into one buffer.
pub fn sha256(parts: &[&[u8]]) -> Hash {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update(part);
    }
    Hash(hasher.finalize().into())
}

impl fmt::Display for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ascii = self.hex_ascii();
        f.write_str(std::str::from_utf8(&ascii).expect("hex digits are ASCII"))
    }
}

impl fmt::Debug for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Hash({self})")
    }
}

/// Why a string is not a [`Hash`](struct@Hash).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HashParseError {
    /// Wrong number of characters.
    #[error("a hash is 64 lowercase hex characters, got {0} characters")]
    Length(usize),
    /// Something other than `0-9a-f`.
    #[error("a hash is 64 lowercase hex characters, found {0:?}")]
    Character(char),
}

impl FromStr for Hash {
    type Err = HashParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if let Some(c) = s.chars().find(|c| !matches!(c, '0'..='9' | 'a'..='f')) {
            return Err(HashParseError::Character(c));
        }
        if s.len() != 64 {
            return Err(HashParseError::Length(s.len()));
        }
        let mut out = [0u8; 32];
        // Cannot fail: length and alphabet were checked above.
        hex::decode_to_slice(s, &mut out).map_err(|_| HashParseError::Length(s.len()))?;
        Ok(Hash(out))
    }
}

impl Serialize for Hash {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_hex())
    }
}

impl<'de> Deserialize<'de> for Hash {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct HexVisitor;

        impl Visitor<'_> for HexVisitor {
            type Value = Hash;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string of 64 lowercase hex characters")
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<Hash, E> {
                v.parse().map_err(E::custom)
            }
        }

        deserializer.deserialize_str(HexVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_input_is_the_well_known_digest() {
        assert_eq!(
            sha256(&[]).to_string(),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(sha256(&[b"ab", b"c"]), sha256(&[b"abc"]));
    }

    #[test]
    fn text_round_trip() {
        let h = sha256(&[b"jiefen"]);
        let s = h.to_string();
        assert_eq!(s.len(), 64);
        assert_eq!(s.parse::<Hash>().unwrap(), h);
        assert_eq!(format!("{h:?}"), format!("Hash({s})"));
        assert_eq!(Hash::ZERO.to_string(), "0".repeat(64));
    }

    #[test]
    fn rejects_bad_text() {
        assert_eq!("ab".parse::<Hash>(), Err(HashParseError::Length(2)));
        let upper = "A".repeat(64);
        assert_eq!(upper.parse::<Hash>(), Err(HashParseError::Character('A')));
        let long = "0".repeat(66);
        assert_eq!(long.parse::<Hash>(), Err(HashParseError::Length(66)));
        assert!("é".repeat(32).parse::<Hash>().is_err());
    }

    #[test]
    fn serde_is_a_hex_string() {
        let h = sha256(&[b"x"]);
        let json = serde_json::to_string(&h).unwrap();
        assert_eq!(json, format!("\"{h}\""));
        assert_eq!(serde_json::from_str::<Hash>(&json).unwrap(), h);
        let from_value: Hash = serde_json::from_value(serde_json::json!(h.to_string())).unwrap();
        assert_eq!(from_value, h);
        assert!(serde_json::from_str::<Hash>("\"00\"").is_err());
        assert!(serde_json::from_str::<Hash>("12").is_err());
    }
}
