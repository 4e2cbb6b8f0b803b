//! Attachments, stored content-addressed (SHA-256) beside the database.

use jiefen_ledger::hash::{sha256, Hash};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Accepted types, recognised by their first bytes rather than by what the
/// client claims, so a renamed executable is never stored as a "photo".
pub const ALLOWED: &[(&str, &[u8])] = &[
    ("image/jpeg", b"\xFF\xD8\xFF"),
    ("image/png", b"\x89PNG\r\n\x1a\n"),
    ("image/webp", b"RIFF"),
    ("application/pdf", b"%PDF-"),
];

pub const MAX_ATTACHMENT_BYTES: usize = 20 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    #[error("attachment is empty")]
    Empty,
    #[error("attachment is larger than {0} bytes")]
    TooLarge(usize),
    #[error("attachment type {0} is not accepted (JPEG, PNG, WebP or PDF)")]
    Type(String),
    #[error("attachment content does not match its declared type {0}")]
    Mismatch(String),
    #[error("storing attachment: {0}")]
    Io(#[from] std::io::Error),
}

#[derive(Debug, Clone)]
pub struct BlobStore {
    root: PathBuf,
}

impl BlobStore {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    fn path_of(&self, hash: &Hash) -> PathBuf {
        let hex = hash.to_string();
        self.root.join(&hex[..2]).join(&hex)
    }

    /// Checks type and size, then writes the file durably (temp file, fsync,
    /// rename) under its hash. Storing the same content twice is a no-op.
    pub fn put(&self, media_type: &str, bytes: &[u8]) -> Result<Hash, BlobError> {
        if bytes.is_empty() {
            return Err(BlobError::Empty);
        }
        if bytes.len() > MAX_ATTACHMENT_BYTES {
            return Err(BlobError::TooLarge(MAX_ATTACHMENT_BYTES));
        }
        let Some((_, magic)) = ALLOWED.iter().find(|(t, _)| *t == media_type) else {
            return Err(BlobError::Type(media_type.to_owned()));
        };
        if !bytes.starts_with(magic)
            || (media_type == "image/webp" && bytes.get(8..12) != Some(b"WEBP"))
        {
            return Err(BlobError::Mismatch(media_type.to_owned()));
        }
        let hash = sha256(&[bytes]);
        let path = self.path_of(&hash);
        if path.exists() {
            return Ok(hash);
        }
        let dir = path.parent().expect("blob paths have a parent");
        std::fs::create_dir_all(dir)?;
        let tmp = dir.join(format!(".{}.tmp", hash));
        {
            let mut f = std::fs::File::create(&tmp)?;
            f.write_all(bytes)?;
            f.sync_all()?;
        }
        std::fs::rename(&tmp, &path)?;
        std::fs::File::open(dir)?.sync_all()?;
        Ok(hash)
    }

    pub fn get(&self, hash: &Hash) -> Result<Option<Vec<u8>>, BlobError> {
        match std::fs::read(self.path_of(hash)) {
            Ok(b) => Ok(Some(b)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }
}
