//! Personal data at rest: every party's names, ID number, phone and
//! address are sealed with AES-256-GCM under a data key of that party's
//! own, and the data key is kept only wrapped (AES-256-GCM again) by a key
//! derived from the deployment's master key. The master key never enters
//! the database: it comes from a file or the environment.
//!
//! Erasing a party destroys its wrapped key (crypto-shredding): its sealed
//! values, in the database and in any copy of it, can no longer be opened
//! by anyone, master key or not, while the case's events, which hold only
//! salted commitments, still verify. The salt of each commitment is sealed
//! with the value, so an erased value cannot be recovered by trying every
//! phone number against its commitment either.
//!
//! Byte formats (all AES-256-GCM with a random 96-bit nonce, stored as
//! `nonce || ciphertext || tag`):
//! - wrapped key: AAD `jiefen.party-key.v1\0<case id>\0<party no>`;
//! - sealed value: AAD `jiefen.personal.v1\0<case id>\0<party no>\0<field>`,
//!   plaintext `salt (16 bytes) || value (UTF-8)`, stored as
//!   `v1.<base64url>`.
//!
//! The AADs bind every ciphertext to its place, so a sealed value moved to
//! another party or case does not open.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hkdf::Hkdf;
use jiefen_domain::case::CaseId;
use jiefen_domain::party::PersonalFieldKind;
use sha2::Sha256;
use std::path::Path;

/// The environment variable a master key may come from (64 hex digits).
pub const MASTER_KEY_ENV: &str = "JIEFEN_MASTER_KEY";

#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    #[error("a master key is 64 hexadecimal digits (32 bytes)")]
    Format,
    #[error("cannot read the master key file {0}: {1}")]
    File(String, std::io::Error),
    #[error(
        "a stored personal value or key does not open: wrong master key, or the data was altered"
    )]
    Open,
}

/// The deployment's master key. Never printed, never stored with the data.
pub struct MasterKey([u8; 32]);

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MasterKey(..)")
    }
}

impl Drop for MasterKey {
    fn drop(&mut self) {
        // Not a guarantee against every copy, but the obvious one goes.
        self.0 = [0; 32];
    }
}

impl MasterKey {
    pub fn parse(text: &str) -> Result<Self, VaultError> {
        let mut key = [0u8; 32];
        hex::decode_to_slice(text.trim(), &mut key).map_err(|_| VaultError::Format)?;
        Ok(Self(key))
    }

    pub fn from_file(path: &Path) -> Result<Self, VaultError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| VaultError::File(path.display().to_string(), e))?;
        Self::parse(&text)
    }

    /// A fresh key and its text form, to be written somewhere safe.
    pub fn generate() -> (Self, String) {
        let key: [u8; 32] = rand::random();
        (Self(key), hex::encode(key))
    }

    pub fn from_bytes(key: [u8; 32]) -> Self {
        Self(key)
    }

    fn derive(&self, info: &str) -> [u8; 32] {
        let mut out = [0u8; 32];
        Hkdf::<Sha256>::new(Some(b"jiefen.master.v1"), &self.0)
            .expand(info.as_bytes(), &mut out)
            .expect("32 bytes is a valid HKDF-SHA256 output length");
        out
    }

    /// The secret of the keyed identity hashes repeats are found by, so a
    /// copy of the database without the master key cannot test guesses.
    pub fn identity_secret(&self) -> [u8; 32] {
        self.derive("identity")
    }

    /// A value that tells whether a store was sealed under this key,
    /// without saying anything about the key.
    pub fn check_value(&self) -> String {
        hex::encode(&self.derive("check")[..16])
    }
}

/// A party's data key, in clear only while in use.
pub struct PartyKey([u8; 32]);

impl Drop for PartyKey {
    fn drop(&mut self) {
        self.0 = [0; 32];
    }
}

fn seal_bytes(key: &[u8; 32], aad: &[u8], plaintext: &[u8]) -> Vec<u8> {
    let cipher = Aes256Gcm::new(key.into());
    let nonce: [u8; 12] = rand::random();
    let ct = cipher
        .encrypt(
            Nonce::from_slice(&nonce),
            Payload {
                msg: plaintext,
                aad,
            },
        )
        .expect("AES-GCM encrypts any message of this size");
    let mut out = Vec::with_capacity(12 + ct.len());
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&ct);
    out
}

fn open_bytes(key: &[u8; 32], aad: &[u8], sealed: &[u8]) -> Result<Vec<u8>, VaultError> {
    if sealed.len() < 12 + 16 {
        return Err(VaultError::Open);
    }
    let (nonce, ct) = sealed.split_at(12);
    Aes256Gcm::new(key.into())
        .decrypt(Nonce::from_slice(nonce), Payload { msg: ct, aad })
        .map_err(|_| VaultError::Open)
}

fn key_aad(case: CaseId, party_no: u32) -> Vec<u8> {
    format!("jiefen.party-key.v1\0{case}\0{party_no}").into_bytes()
}

fn value_aad(case: CaseId, party_no: u32, field: PersonalFieldKind) -> Vec<u8> {
    format!("jiefen.personal.v1\0{case}\0{party_no}\0{}", field.as_str()).into_bytes()
}

/// Seals and opens personal data with the master key.
pub struct Vault {
    kek: [u8; 32],
    identity_secret: [u8; 32],
    check: String,
}

impl std::fmt::Debug for Vault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Vault(..)")
    }
}

impl Drop for Vault {
    fn drop(&mut self) {
        self.kek = [0; 32];
        self.identity_secret = [0; 32];
    }
}

impl Vault {
    pub fn new(master: &MasterKey) -> Self {
        Self {
            kek: master.derive("party-key-wrapping"),
            identity_secret: master.identity_secret(),
            check: master.check_value(),
        }
    }

    pub fn identity_secret(&self) -> [u8; 32] {
        self.identity_secret
    }

    pub fn check_value(&self) -> &str {
        &self.check
    }

    pub fn new_party_key() -> PartyKey {
        PartyKey(rand::random())
    }

    pub fn wrap(&self, key: &PartyKey, case: CaseId, party_no: u32) -> Vec<u8> {
        seal_bytes(&self.kek, &key_aad(case, party_no), &key.0)
    }

    pub fn unwrap(
        &self,
        wrapped: &[u8],
        case: CaseId,
        party_no: u32,
    ) -> Result<PartyKey, VaultError> {
        let bytes = open_bytes(&self.kek, &key_aad(case, party_no), wrapped)?;
        let key: [u8; 32] = bytes.try_into().map_err(|_| VaultError::Open)?;
        Ok(PartyKey(key))
    }

    /// `v1.<base64url(nonce || ciphertext)>` of `salt || value`.
    pub fn seal(
        key: &PartyKey,
        case: CaseId,
        party_no: u32,
        field: PersonalFieldKind,
        salt: &[u8; 16],
        value: &str,
    ) -> String {
        let mut plain = Vec::with_capacity(16 + value.len());
        plain.extend_from_slice(salt);
        plain.extend_from_slice(value.as_bytes());
        let sealed = seal_bytes(&key.0, &value_aad(case, party_no, field), &plain);
        plain.fill(0);
        format!("v1.{}", URL_SAFE_NO_PAD.encode(sealed))
    }

    /// The salt and value of a sealed field.
    pub fn open(
        key: &PartyKey,
        case: CaseId,
        party_no: u32,
        field: PersonalFieldKind,
        sealed: &str,
    ) -> Result<([u8; 16], String), VaultError> {
        let bytes = sealed
            .strip_prefix("v1.")
            .and_then(|b| URL_SAFE_NO_PAD.decode(b).ok())
            .ok_or(VaultError::Open)?;
        let plain = open_bytes(&key.0, &value_aad(case, party_no, field), &bytes)?;
        if plain.len() < 16 {
            return Err(VaultError::Open);
        }
        let (salt, value) = plain.split_at(16);
        let value = String::from_utf8(value.to_vec()).map_err(|_| VaultError::Open)?;
        Ok((salt.try_into().expect("16 bytes"), value))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn case() -> CaseId {
        CaseId::parse("0190a0b0-0000-7000-8000-000000000001").unwrap()
    }

    #[test]
    fn values_round_trip_and_open_only_in_their_place() {
        let (master, text) = MasterKey::generate();
        assert_eq!(text.len(), 64);
        let vault = Vault::new(&master);
        let key = Vault::new_party_key();
        let wrapped = vault.wrap(&key, case(), 1);
        let key = vault.unwrap(&wrapped, case(), 1).unwrap();
        let salt = [7u8; 16];
        let sealed = Vault::seal(
            &key,
            case(),
            1,
            PersonalFieldKind::Phone,
            &salt,
            "13812345678",
        );
        assert!(!sealed.contains("13812345678"));
        let (s, v) = Vault::open(&key, case(), 1, PersonalFieldKind::Phone, &sealed).unwrap();
        assert_eq!((s, v.as_str()), (salt, "13812345678"));
        // Moved to another field, party or case, it does not open.
        assert!(Vault::open(&key, case(), 1, PersonalFieldKind::Name, &sealed).is_err());
        assert!(Vault::open(&key, case(), 2, PersonalFieldKind::Phone, &sealed).is_err());
        assert!(vault.unwrap(&wrapped, case(), 2).is_err());
        // Another master key opens nothing.
        let (other, _) = MasterKey::generate();
        assert!(Vault::new(&other).unwrap(&wrapped, case(), 1).is_err());
        assert_ne!(Vault::new(&other).check_value(), vault.check_value());
    }

    #[test]
    fn master_keys_are_64_hex_digits() {
        assert!(MasterKey::parse(&"ab".repeat(32)).is_ok());
        assert!(MasterKey::parse(&format!("{}\n", "ab".repeat(32))).is_ok());
        assert!(MasterKey::parse("abcd").is_err());
        assert!(MasterKey::parse(&"zz".repeat(32)).is_err());
        assert_eq!(
            format!("{:?}", MasterKey::parse(&"ab".repeat(32)).unwrap()),
            "MasterKey(..)"
        );
    }
}
