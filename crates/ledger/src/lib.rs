//! Makes a Jiefen case's event history verifiable offline.
//!
//! Each case is a hash chain of events; every event hash is also a leaf of
//! one deployment-wide, append-only RFC 6962 Merkle log; the deployment signs
//! checkpoints (size + root) of that log with an Ed25519 key; a
//! [`CaseBundle`] packs one case's events with inclusion proofs, a signed
//! checkpoint and consistency proofs so anyone can check it with this crate
//! alone. The crate is pure: no I/O, no clock, no randomness; callers pass in
//! keys, seeds, salts and timestamps.
//!
//! # Byte formats (public contract)
//!
//! Everything below is fixed for the `v1` formats. Changing any of it means
//! new domain strings / format names, never a silent change.
//!
//! ## Hashes
//!
//! SHA-256. Text form (Display, FromStr, serde): exactly 64 **lowercase** hex
//! characters. [`Hash::ZERO`] is 32 zero bytes.
//!
//! ## Canonical JSON ([`canonical_json`])
//!
//! UTF-8 bytes of the value encoded with:
//! - no whitespace outside strings;
//! - object members sorted by key, comparing the keys' UTF-8 bytes
//!   (this is *not* RFC 8785/JCS, which compares UTF-16 code units);
//! - arrays in their given order;
//! - `null`, `true`, `false` literally;
//! - numbers only if they are integers representable as `i64` or `u64`,
//!   written in plain decimal (`-` for negatives, no leading zeros, no `+`,
//!   no exponent); any other number (`1.5`, `1.0`, `1e3`) is an error;
//! - strings (and keys) escaped exactly as `serde_json` does: `"` → `\"`,
//!   `\` → `\\`, U+0008/0009/000A/000C/000D → `\b \t \n \f \r`, other
//!   U+0000..U+001F → `\u00XX` (lowercase hex); everything else, including
//!   `/`, U+007F and all non-ASCII, is written as raw UTF-8.
//!
//! ## Event hash ([`event_hash`])
//!
//! `SHA-256("jiefen.event.v1" 0x00 || prev[32] || canonical_json(body))`,
//! where `prev` is the previous event's hash in the same case and
//! [`Hash::ZERO`] for the first. The body must carry `"seq"` (1-based
//! position in the case) and `"case_id"`, so an event cannot be moved to
//! another position or case without changing its hash.
//!
//! ## Personal-data commitment ([`commit_personal`])
//!
//! `SHA-256("jiefen.pii.v1" 0x00 || u32be(len salt) || salt ||
//! u32be(len field) || field || u32be(len value) || value)`, lengths in bytes,
//! field and value as UTF-8. Event bodies hold the commitment's hex text,
//! never the value, so erasing a value (and its salt) breaks no hash. The
//! salt must be secret and random per value, or short values can be guessed.
//!
//! ## Merkle log ([`merkle`])
//!
//! RFC 6962 §2.1 / RFC 9162 §2.1 with SHA-256: leaf data is the 32 raw bytes
//! of an event hash; `leaf_hash(d) = SHA-256(0x00 || d)`;
//! `node_hash(l, r) = SHA-256(0x01 || l || r)`; the empty tree's root is
//! `SHA-256("")` = `e3b0c442…b855`. Inclusion proofs are RFC 6962 `PATH`,
//! consistency proofs RFC 6962 `PROOF` (empty when the old size is 0 or
//! equals the new size), both ordered as there (deepest node first).
//! Stored nodes are addressed as [`Subtree`] `{ level, index }` =
//! leaves `[index·2^level, (index+1)·2^level)`; level 0 nodes are leaf hashes.
//!
//! ## Checkpoint note ([`Checkpoint::note_text`])
//!
//! The Ed25519 signature (RFC 8032, pure Ed25519) is over the UTF-8 bytes of
//!
//! ```text
//! jiefen-checkpoint/v1\n{origin}\n{tree_size}\n{root hex}\n{timestamp}\n
//! ```
//!
//! with `tree_size` in plain decimal. `origin` and `timestamp` must be
//! non-empty and contain no `\n` or `\r`. The timestamp is RFC 3339 UTC text
//! chosen by the caller and is not interpreted.
//!
//! ## Keys
//!
//! - Public key text and serde form: `ed25519:` + standard base64 (with
//!   padding) of the 32 raw key bytes. Small-order keys are refused.
//! - Key id: lowercase hex of the first 8 bytes of SHA-256 of the 32 raw
//!   public key bytes (16 characters).
//! - Seed file: one line `jiefen-ed25519-secret:` + standard padded base64
//!   of the 32-byte seed, then `\n` (surrounding whitespace is ignored when
//!   reading).
//! - Signature: standard padded base64 of the 64 signature bytes; verified
//!   with `verify_strict`.
//!
//! ## Signed checkpoint JSON ([`SignedCheckpoint`])
//!
//! One flat object, unknown fields refused:
//! `{"origin": str, "tree_size": int, "root": hex, "timestamp": str,
//! "key_id": str, "signature": base64}`.
//!
//! ## Case bundle JSON ([`CaseBundle`])
//!
//! ```text
//! { "format": "jiefen.case-bundle.v1", "case_id": str,
//!   "public_key": "ed25519:…", "checkpoint": <signed checkpoint>,
//!   "events": [ { "seq": int, "prev_hash": hex, "hash": hex,
//!                 "leaf_index": int, "body": {…}, "inclusion_proof": [hex…] } ],
//!   "consistency": [ { "old_size": int, "old_root": hex, "proof": [hex…] } ],
//!   "personal_data": [ { "commitment": hex, "field": str, "value": str,
//!                        "salt": hex } ]   // optional
//! }
//! ```
//!
//! Unknown fields are refused at every level, so nothing unverified can
//! ride along.
//!
//! # Bundle verification ([`verify_bundle`])
//!
//! Checks run in this order and the first failure is returned:
//! 1. `format` is `jiefen.case-bundle.v1`.
//! 2. `events` is non-empty and its `seq`s are exactly 1, 2, 3, … in order
//!    (a gap is "event N missing", a misplaced event is out of order at its
//!    1-based position, a repeat is a duplicate).
//! 3. For each event in order: the body carries the same `seq` and the
//!    bundle's `case_id`; `prev_hash` is the previous event's `hash` (zero
//!    for event 1); `hash` equals the event hash of the body; the inclusion
//!    proof places `leaf_hash(hash)` at `leaf_index` under the checkpoint's
//!    root and size; leaf indices strictly increase.
//! 4. The checkpoint is signed by `public_key` (and names its key id).
//! 5. If a key is pinned, `public_key` is that key.
//! 6. Every `consistency` entry proves the checkpoint extends the tree of
//!    `old_size` leaves with root `old_root`.
//! 7. If an earlier checkpoint is given: it is signed by the pinned key (or
//!    the bundle's key), is for the same origin, is not larger than the
//!    bundle's; at equal size the roots are equal; at smaller size the
//!    bundle has a consistency entry for that size whose `old_root` is the
//!    earlier root.
//! 8. Each personal datum opens its commitment, and the commitment's hex
//!    text appears in some event body.
//!
//! ## What a bundle cannot show on its own
//!
//! - **History rewritten by the key holder.** The deployment holds its key,
//!   so it can change an old event, recompute the case chain, rebuild the
//!   whole log and sign a new checkpoint. That bundle is internally
//!   consistent and verifies. Only a checkpoint obtained *before* the
//!   rewrite (`VerifyOptions::earlier_checkpoint`, kept by a party or a
//!   witness) exposes it, because the new log does not extend it
//!   ([`VerifyError::Inconsistent`] / [`VerifyError::NoConsistencyProof`]).
//! - **A bundle cut short at the end.** The checkpoint covers the whole log,
//!   not each case's head, so a bundle missing the last events of a case is
//!   a valid bundle of a shorter history. [`VerifyReport`] gives `last_seq`
//!   and `head_hash` to compare with what the reader expects.
//! - **A different key.** Without a pinned key, any key can sign a bundle;
//!   pin the deployment's key obtained out of band.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod bundle;
pub mod canonical;
pub mod chain;
pub mod checkpoint;
pub mod hash;
pub mod merkle;

pub use bundle::{
    verify_bundle, BundleEvent, CaseBundle, ConsistencyProof, PersonalDatum, VerifyError,
    VerifyOptions, VerifyReport, BUNDLE_FORMAT,
};
pub use canonical::{canonical_json, CanonicalError};
pub use chain::{commit_personal, event_hash, hash_event_body};
pub use checkpoint::{
    Checkpoint, CheckpointError, DeploymentKey, KeyError, PublicKey, SignedCheckpoint,
};
pub use hash::{sha256, Hash, HashParseError};
pub use merkle::{Frontier, ProofError, Subtree};
