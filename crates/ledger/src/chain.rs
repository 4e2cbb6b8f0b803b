//! The per-case hash chain and commitments to personal data.

use serde_json::Value;

use crate::canonical::{canonical_json, CanonicalError};
use crate::hash::{sha256, Hash};

/// Domain separator of event hashes. The trailing NUL keeps it from being a
/// prefix of any other separator this crate uses.
pub const EVENT_DOMAIN: &[u8] = b"jiefen.event.v1\0";

/// Domain separator of personal-data commitments.
pub const PII_DOMAIN: &[u8] = b"jiefen.pii.v1\0";

/// `SHA-256(EVENT_DOMAIN || prev || canonical_body)`.
///
/// `prev` is the previous event's hash in the same case, [`Hash::ZERO`] for
/// the first. Only `prev` is fixed-length, so no further framing is needed.
pub fn event_hash(prev: &Hash, canonical_body: &[u8]) -> Hash {
    sha256(&[EVENT_DOMAIN, &prev.0, canonical_body])
}

/// [`event_hash`] of the canonical encoding of `body`.
pub fn hash_event_body(prev: &Hash, body: &Value) -> Result<Hash, CanonicalError> {
    Ok(event_hash(prev, &canonical_json(body)?))
}

/// A salted commitment to one personal-data value:
/// `SHA-256(PII_DOMAIN || u32be(len salt) || salt || u32be(len field) || field
/// || u32be(len value) || value)`, lengths in bytes.
///
/// The event body stores only this commitment, so erasing the value (and
/// the salt) later leaves every event hash intact. The salt must be secret
/// and random per value (chosen by the caller): without it a short value
/// such as a phone number could be found by trying every candidate.
///
/// # Panics
///
/// If any input is 4 GiB or longer, which a length prefix of 32 bits cannot
/// describe.
pub fn commit_personal(salt: &[u8], field: &str, value: &str) -> Hash {
    let len = |b: &[u8]| {
        u32::try_from(b.len())
            .expect("personal-data commitment input must be shorter than 4 GiB")
            .to_be_bytes()
    };
    let (ls, lf, lv) = (len(salt), len(field.as_bytes()), len(value.as_bytes()));
    sha256(&[
        PII_DOMAIN,
        &ls,
        salt,
        &lf,
        field.as_bytes(),
        &lv,
        value.as_bytes(),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn event_hash_layout() {
        let prev = sha256(&[b"p"]);
        let mut framed = b"jiefen.event.v1\0".to_vec();
        framed.extend_from_slice(&prev.0);
        framed.extend_from_slice(b"{\"a\":1}");
        assert_eq!(event_hash(&prev, b"{\"a\":1}"), sha256(&[&framed]));
        assert_eq!(
            hash_event_body(&prev, &json!({"a": 1})).unwrap(),
            event_hash(&prev, b"{\"a\":1}")
        );
        assert!(hash_event_body(&prev, &json!({"a": 1.5})).is_err());
    }

    #[test]
    fn commitment_layout_and_framing() {
        let mut framed = b"jiefen.pii.v1\0".to_vec();
        framed.extend_from_slice(&[0, 0, 0, 2, 0xAA, 0xBB]);
        framed.extend_from_slice(&[0, 0, 0, 4]);
        framed.extend_from_slice(b"name");
        framed.extend_from_slice(&[0, 0, 0, 6]);
        framed.extend_from_slice("张三".as_bytes());
        assert_eq!(
            commit_personal(&[0xAA, 0xBB], "name", "张三"),
            sha256(&[&framed])
        );
        // Length prefixes keep a byte from sliding between field and value.
        assert_ne!(
            commit_personal(b"s", "ab", "c"),
            commit_personal(b"s", "a", "bc")
        );
        assert_ne!(
            commit_personal(b"s1", "a", "b"),
            commit_personal(b"s2", "a", "b")
        );
    }
}
