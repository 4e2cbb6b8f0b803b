//! Signed checkpoints: a deployment's signed statement of its log's size and
//! root at a moment, and the Ed25519 keys that make and check them.

use std::fmt;
use std::str::FromStr;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::hash::{sha256, Hash};

/// First line of every signed checkpoint note.
pub const CHECKPOINT_HEADER: &str = "jiefen-checkpoint/v1";
/// Prefix of a [`PublicKey`]'s text form.
pub const PUBLIC_KEY_PREFIX: &str = "ed25519:";
/// Prefix of the one line of a seed file.
pub const SEED_FILE_PREFIX: &str = "jiefen-ed25519-secret:";

/// A log's size and root at a moment, as its deployment states it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Checkpoint {
    /// Names the log (the deployment), so checkpoints of different logs are
    /// never compared with each other. Non-empty, no newline.
    pub origin: String,
    /// Number of leaves in the log.
    pub tree_size: u64,
    /// RFC 6962 root of the first `tree_size` leaves.
    pub root: Hash,
    /// RFC 3339 UTC time supplied by the caller; kept as given (the crate has
    /// no clock), but it must be non-empty and contain no newline.
    pub timestamp: String,
}

impl Checkpoint {
    /// The exact bytes that are signed:
    /// `"jiefen-checkpoint/v1\n{origin}\n{tree_size}\n{root hex}\n{timestamp}\n"`.
    pub fn note_text(&self) -> String {
        format!(
            "{CHECKPOINT_HEADER}\n{}\n{}\n{}\n{}\n",
            self.origin, self.tree_size, self.root, self.timestamp
        )
    }

    /// Checks the text fields cannot blur the line structure of
    /// [`Self::note_text`], which is what makes the signed note unambiguous.
    pub fn validate(&self) -> Result<(), CheckpointError> {
        for (field, value) in [("origin", &self.origin), ("timestamp", &self.timestamp)] {
            if value.is_empty() {
                return Err(CheckpointError::InvalidField {
                    field,
                    reason: "is empty",
                });
            }
            if value.contains(['\n', '\r']) {
                return Err(CheckpointError::InvalidField {
                    field,
                    reason: "contains a line break",
                });
            }
        }
        Ok(())
    }
}

/// A [`Checkpoint`] with its signature. Serializes as one flat JSON object:
/// `{"origin", "tree_size", "root", "timestamp", "key_id", "signature"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "SignedCheckpointWire", into = "SignedCheckpointWire")]
pub struct SignedCheckpoint {
    /// What was signed.
    pub checkpoint: Checkpoint,
    /// [`PublicKey::key_id`] of the signer.
    pub key_id: String,
    /// Base64 (standard alphabet, padded) of the 64-byte Ed25519 signature
    /// over [`Checkpoint::note_text`].
    pub signature: String,
}

// A flat mirror instead of `#[serde(flatten)]`: flatten cannot be combined
// with `deny_unknown_fields`, and it breaks integer fields when serde_json's
// `arbitrary_precision` feature is on anywhere in the build.
#[derive(Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
struct SignedCheckpointWire {
    origin: String,
    tree_size: u64,
    root: Hash,
    timestamp: String,
    key_id: String,
    signature: String,
}

// Documented as the flat wire object it is on the wire, not as the nested
// Rust struct.
#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for SignedCheckpoint {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        <SignedCheckpointWire as utoipa::PartialSchema>::schema()
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for SignedCheckpoint {}

impl From<SignedCheckpointWire> for SignedCheckpoint {
    fn from(w: SignedCheckpointWire) -> Self {
        SignedCheckpoint {
            checkpoint: Checkpoint {
                origin: w.origin,
                tree_size: w.tree_size,
                root: w.root,
                timestamp: w.timestamp,
            },
            key_id: w.key_id,
            signature: w.signature,
        }
    }
}

impl From<SignedCheckpoint> for SignedCheckpointWire {
    fn from(s: SignedCheckpoint) -> Self {
        SignedCheckpointWire {
            origin: s.checkpoint.origin,
            tree_size: s.checkpoint.tree_size,
            root: s.checkpoint.root,
            timestamp: s.checkpoint.timestamp,
            key_id: s.key_id,
            signature: s.signature,
        }
    }
}

impl SignedCheckpoint {
    /// Checks the fields are well-formed, `key_id` names `key`, and the
    /// signature is valid under `key` (strict Ed25519: no malleable or
    /// small-order signatures).
    pub fn verify(&self, key: &PublicKey) -> Result<(), CheckpointError> {
        self.checkpoint.validate()?;
        let expected = key.key_id();
        if self.key_id != expected {
            return Err(CheckpointError::KeyIdMismatch {
                expected,
                found: self.key_id.clone(),
            });
        }
        let bytes = BASE64
            .decode(&self.signature)
            .map_err(|_| CheckpointError::MalformedSignature)?;
        let bytes: [u8; 64] = bytes
            .try_into()
            .map_err(|_| CheckpointError::MalformedSignature)?;
        key.0
            .verify_strict(
                self.checkpoint.note_text().as_bytes(),
                &Signature::from_bytes(&bytes),
            )
            .map_err(|_| CheckpointError::BadSignature)
    }
}

/// Why a checkpoint could not be signed or did not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckpointError {
    /// A text field would make the signed note ambiguous.
    #[error("checkpoint {field} {reason}")]
    InvalidField {
        /// `origin` or `timestamp`.
        field: &'static str,
        /// What is wrong.
        reason: &'static str,
    },
    /// The checkpoint names a different signing key.
    #[error("checkpoint names key {found}, but the key used to verify it is {expected}")]
    KeyIdMismatch {
        /// Key id of the verifying key.
        expected: String,
        /// Key id in the checkpoint.
        found: String,
    },
    /// The signature is not base64 of 64 bytes.
    #[error("checkpoint signature is not base64 of a 64-byte Ed25519 signature")]
    MalformedSignature,
    /// The signature does not match the checkpoint and key.
    #[error("checkpoint signature is invalid")]
    BadSignature,
}

/// Why key text was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// The text does not start with the expected prefix.
    #[error("expected text starting with {expected:?}")]
    MissingPrefix {
        /// The required prefix.
        expected: &'static str,
    },
    /// The part after the prefix is not canonical padded base64.
    #[error("key material is not valid base64")]
    Base64,
    /// Decoded to the wrong number of bytes.
    #[error("key material must be 32 bytes, got {0}")]
    Length(usize),
    /// Not a usable Ed25519 public key (not a curve point, or of small order).
    #[error("not a valid Ed25519 public key")]
    InvalidPublicKey,
}

fn decode_32(text: &str) -> Result<[u8; 32], KeyError> {
    let bytes = BASE64.decode(text).map_err(|_| KeyError::Base64)?;
    let len = bytes.len();
    bytes.try_into().map_err(|_| KeyError::Length(len))
}

/// A deployment's Ed25519 public key. Text and serde form:
/// `ed25519:<standard padded base64 of the 32 key bytes>`.
#[derive(Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(value_type = String))]
pub struct PublicKey(VerifyingKey);

impl PublicKey {
    /// From the 32 raw key bytes.
    pub fn from_bytes(bytes: &[u8; 32]) -> Result<Self, KeyError> {
        let key = VerifyingKey::from_bytes(bytes).map_err(|_| KeyError::InvalidPublicKey)?;
        // A small-order key would accept signatures anyone can forge.
        if key.is_weak() {
            return Err(KeyError::InvalidPublicKey);
        }
        Ok(PublicKey(key))
    }

    /// The 32 raw key bytes.
    pub fn to_bytes(&self) -> [u8; 32] {
        self.0.to_bytes()
    }

    /// The underlying ed25519-dalek key.
    pub fn verifying_key(&self) -> &VerifyingKey {
        &self.0
    }

    /// Lowercase hex of the first 8 bytes of SHA-256 of the raw 32-byte key
    /// (16 characters): short enough to read aloud when comparing keys.
    pub fn key_id(&self) -> String {
        hex::encode(&sha256(&[self.0.as_bytes()]).0[..8])
    }
}

impl fmt::Display for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{PUBLIC_KEY_PREFIX}{}", BASE64.encode(self.0.as_bytes()))
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({self})")
    }
}

impl FromStr for PublicKey {
    type Err = KeyError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let rest = s
            .strip_prefix(PUBLIC_KEY_PREFIX)
            .ok_or(KeyError::MissingPrefix {
                expected: PUBLIC_KEY_PREFIX,
            })?;
        PublicKey::from_bytes(&decode_32(rest)?)
    }
}

impl Serialize for PublicKey {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for PublicKey {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// The deployment's signing key. Its `Debug` shows only the public half so
/// that logging a struct holding it cannot leak the secret.
#[derive(Clone)]
pub struct DeploymentKey(SigningKey);

impl DeploymentKey {
    /// From the 32-byte Ed25519 seed (the caller supplies the randomness).
    pub fn from_seed(seed: [u8; 32]) -> Self {
        DeploymentKey(SigningKey::from_bytes(&seed))
    }

    /// The seed-file text: `jiefen-ed25519-secret:<standard padded base64
    /// of the 32-byte seed>\n`. Whoever holds it can sign checkpoints.
    pub fn to_seed_file_string(&self) -> String {
        format!("{SEED_FILE_PREFIX}{}\n", BASE64.encode(self.0.as_bytes()))
    }

    /// Parses [`Self::to_seed_file_string`]'s format; surrounding whitespace
    /// (such as the final newline, or `\r\n`) is ignored.
    pub fn parse_seed_file(text: &str) -> Result<Self, KeyError> {
        let rest = text
            .trim()
            .strip_prefix(SEED_FILE_PREFIX)
            .ok_or(KeyError::MissingPrefix {
                expected: SEED_FILE_PREFIX,
            })?;
        Ok(DeploymentKey::from_seed(decode_32(rest)?))
    }

    /// A secret for another purpose derived from this key (SHA-256 over a
    /// label, the purpose and the seed), so a deployment keeps one secret
    /// file and no derived secret reveals the signing key.
    pub fn derive_secret(&self, purpose: &str) -> [u8; 32] {
        crate::hash::sha256(&[
            b"jiefen.derived-secret.v1\0",
            purpose.as_bytes(),
            b"\0",
            self.0.as_bytes(),
        ])
        .0
    }

    /// The matching public key.
    pub fn public(&self) -> PublicKey {
        PublicKey(self.0.verifying_key())
    }

    /// Signs [`Checkpoint::note_text`]. Refuses checkpoints whose text fields
    /// fail [`Checkpoint::validate`], since verifiers would reject them.
    pub fn sign(&self, checkpoint: Checkpoint) -> Result<SignedCheckpoint, CheckpointError> {
        checkpoint.validate()?;
        let signature = self.0.sign(checkpoint.note_text().as_bytes());
        Ok(SignedCheckpoint {
            key_id: self.public().key_id(),
            signature: BASE64.encode(signature.to_bytes()),
            checkpoint,
        })
    }
}

impl fmt::Debug for DeploymentKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DeploymentKey")
            .field("public", &self.public())
            .field("key_id", &self.public().key_id())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    // RFC 8032 §7.1, TEST 1.
    const SEED: &str = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";
    const PUBLIC: &str = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";

    fn key() -> DeploymentKey {
        let mut seed = [0u8; 32];
        hex::decode_to_slice(SEED, &mut seed).unwrap();
        DeploymentKey::from_seed(seed)
    }

    fn checkpoint() -> Checkpoint {
        Checkpoint {
            origin: "jiefen.example/log".into(),
            tree_size: 42,
            root: sha256(&[b"root"]),
            timestamp: "2025-03-01T08:00:00Z".into(),
        }
    }

    #[test]
    fn rfc8032_public_key_and_key_id() {
        let public = key().public();
        assert_eq!(hex::encode(public.to_bytes()), PUBLIC);
        let id = public.key_id();
        assert_eq!(id.len(), 16);
        assert_eq!(id, hex::encode(&sha256(&[&public.to_bytes()]).0[..8]));
    }

    #[test]
    fn note_text_is_exact() {
        let c = checkpoint();
        assert_eq!(
            c.note_text(),
            format!(
                "jiefen-checkpoint/v1\njiefen.example/log\n42\n{}\n2025-03-01T08:00:00Z\n",
                c.root
            )
        );
    }

    #[test]
    fn sign_and_verify() {
        let k = key();
        let signed = k.sign(checkpoint()).unwrap();
        assert_eq!(signed.verify(&k.public()), Ok(()));
        // Ed25519 is deterministic, so the same input signs identically.
        assert_eq!(k.sign(checkpoint()).unwrap(), signed);

        let mut t = signed.clone();
        t.checkpoint.tree_size += 1;
        assert_eq!(t.verify(&k.public()), Err(CheckpointError::BadSignature));
        let mut t = signed.clone();
        t.checkpoint.timestamp = "2025-03-01T08:00:01Z".into();
        assert_eq!(t.verify(&k.public()), Err(CheckpointError::BadSignature));
        let mut t = signed.clone();
        t.signature = "AAAA".into();
        assert_eq!(
            t.verify(&k.public()),
            Err(CheckpointError::MalformedSignature)
        );

        let other = DeploymentKey::from_seed([7; 32]);
        assert!(matches!(
            signed.verify(&other.public()),
            Err(CheckpointError::KeyIdMismatch { .. })
        ));
        // A forged key_id does not help a signature made by another key.
        let mut forged = other.sign(checkpoint()).unwrap();
        forged.key_id = k.public().key_id();
        assert_eq!(
            forged.verify(&k.public()),
            Err(CheckpointError::BadSignature)
        );
    }

    #[test]
    fn refuses_ambiguous_fields() {
        let mut c = checkpoint();
        c.origin = "a\n42".into();
        assert!(matches!(
            key().sign(c),
            Err(CheckpointError::InvalidField {
                field: "origin",
                ..
            })
        ));
        let mut c = checkpoint();
        c.timestamp = String::new();
        assert!(key().sign(c).is_err());
    }

    #[test]
    fn signed_checkpoint_json_is_flat() {
        let signed = key().sign(checkpoint()).unwrap();
        let v = serde_json::to_value(&signed).unwrap();
        assert_eq!(
            v,
            json!({
                "origin": "jiefen.example/log",
                "tree_size": 42,
                "root": signed.checkpoint.root.to_string(),
                "timestamp": "2025-03-01T08:00:00Z",
                "key_id": signed.key_id,
                "signature": signed.signature,
            })
        );
        let back: SignedCheckpoint = serde_json::from_value(v.clone()).unwrap();
        assert_eq!(back, signed);
        let mut extra = v;
        extra["note"] = json!("unsigned");
        assert!(serde_json::from_value::<SignedCheckpoint>(extra).is_err());
    }

    #[test]
    fn key_text_forms() {
        let k = key();
        let file = k.to_seed_file_string();
        assert!(file.starts_with("jiefen-ed25519-secret:") && file.ends_with('\n'));
        let again = DeploymentKey::parse_seed_file(&file.replace('\n', "\r\n")).unwrap();
        assert_eq!(again.public(), k.public());
        assert_eq!(
            DeploymentKey::parse_seed_file("ed25519:AAAA").unwrap_err(),
            KeyError::MissingPrefix {
                expected: SEED_FILE_PREFIX
            }
        );
        assert_eq!(
            DeploymentKey::parse_seed_file("jiefen-ed25519-secret:AAAA").unwrap_err(),
            KeyError::Length(3)
        );

        let public = k.public();
        let text = public.to_string();
        assert!(text.starts_with("ed25519:"));
        assert_eq!(text.parse::<PublicKey>().unwrap(), public);
        let json = serde_json::to_string(&public).unwrap();
        assert_eq!(json, format!("\"{text}\""));
        assert_eq!(serde_json::from_str::<PublicKey>(&json).unwrap(), public);
        assert!("ed25519:!!".parse::<PublicKey>().is_err());
        assert!(
            PublicKey::from_bytes(&[0; 32]).is_err(),
            "small-order point"
        );
    }

    #[test]
    fn debug_hides_the_secret() {
        let k = key();
        let debug = format!("{k:?} {k:#?}");
        let seed_b64 = k.to_seed_file_string();
        let seed_b64 = seed_b64.trim().strip_prefix(SEED_FILE_PREFIX).unwrap();
        assert!(!debug.contains(seed_b64));
        assert!(!debug.to_lowercase().contains(SEED));
        assert!(!debug.contains(&format!("{:?}", k.0.to_bytes())));
        assert!(debug.contains(&k.public().to_string()));
    }
}
