//! The self-contained, offline-verifiable export of one case.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::canonical::{canonical_json, CanonicalError};
use crate::chain::{commit_personal, event_hash};
use crate::checkpoint::{Checkpoint, CheckpointError, PublicKey, SignedCheckpoint};
use crate::hash::Hash;
use crate::merkle::{leaf_hash, verify_consistency, verify_inclusion, ProofError};

/// Value of [`CaseBundle::format`].
pub const BUNDLE_FORMAT: &str = "jiefen.case-bundle.v1";

/// Everything needed to check one case's history without the server.
///
/// Unknown fields are rejected (here and in the nested types) so that
/// nothing in a bundle file can look meaningful without being verified.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CaseBundle {
    /// Always [`BUNDLE_FORMAT`].
    pub format: String,
    /// The case; every event body must carry it as `"case_id"`.
    pub case_id: String,
    /// The deployment key that signed `checkpoint`.
    pub public_key: PublicKey,
    /// Covers every event below.
    pub checkpoint: SignedCheckpoint,
    /// The case's events in order, `seq` 1, 2, 3, ...
    pub events: Vec<BundleEvent>,
    /// Proofs that `checkpoint` extends earlier checkpoints of the same log.
    pub consistency: Vec<ConsistencyProof>,
    /// Optional disclosure of values committed to in event bodies.
    #[serde(default)]
    pub personal_data: Vec<PersonalDatum>,
}

/// One event with the evidence that places it in the log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct BundleEvent {
    /// 1-based position in the case's chain.
    pub seq: u64,
    /// Hash of the previous event of the case; [`Hash::ZERO`] for `seq` 1.
    pub prev_hash: Hash,
    /// [`event_hash`]`(prev_hash, canonical_json(body))`.
    pub hash: Hash,
    /// Position of `hash` in the deployment-wide log.
    pub leaf_index: u64,
    /// The hashed body; carries `"seq"` and `"case_id"`.
    pub body: Value,
    /// RFC 6962 inclusion proof of the leaf at the checkpoint's tree size.
    pub inclusion_proof: Vec<Hash>,
}

/// RFC 6962 consistency proof from an earlier tree to the bundle's checkpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ConsistencyProof {
    /// Size of the earlier tree.
    pub old_size: u64,
    /// Root of the earlier tree.
    pub old_root: Hash,
    /// The proof hashes.
    pub proof: Vec<Hash>,
}

/// A disclosed personal-data value and what it opens.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PersonalDatum {
    /// [`commit_personal`]`(salt, field, value)`, as found in an event body.
    pub commitment: Hash,
    /// Field name, e.g. `claimant.name`.
    pub field: String,
    /// The personal value itself.
    pub value: String,
    /// Hex of the salt bytes.
    pub salt: String,
}

/// What the verifier knows independently of the bundle.
#[derive(Debug, Clone, Default)]
pub struct VerifyOptions {
    /// The deployment key the reader trusts, obtained out of band.
    pub pinned_key: Option<PublicKey>,
    /// A checkpoint the reader kept from before; the bundle must extend it.
    pub earlier_checkpoint: Option<SignedCheckpoint>,
}

/// What a successful verification established.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyReport {
    /// The case.
    pub case_id: String,
    /// Number of events checked.
    pub events: usize,
    /// `seq` of the last event. A bundle cut short at the end still verifies
    /// (see the crate docs), so compare this with what you expect.
    pub last_seq: u64,
    /// Hash of the last event: the case's head at export time.
    pub head_hash: Hash,
    /// The signed checkpoint's contents.
    pub checkpoint: Checkpoint,
    /// Key id of the signing key.
    pub key_id: String,
    /// Whether the signing key matched a pinned key.
    pub key_pinned: bool,
    /// Whether an earlier checkpoint was checked for consistency.
    pub earlier_checkpoint_checked: bool,
    /// Number of consistency proofs in the bundle, all verified.
    pub consistency_proofs: usize,
    /// Number of disclosed personal-data values, all verified.
    pub personal_data: usize,
}

/// The first reason a bundle failed. Positions are 1-based indexes into
/// `events`; once sequencing passed, position and `seq` coincide, so
/// per-event errors name only `seq`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// `format` is not [`BUNDLE_FORMAT`].
    #[error("unsupported bundle format {found:?}, expected \"jiefen.case-bundle.v1\"")]
    UnsupportedFormat {
        /// The format found.
        found: String,
    },
    /// `events` is empty.
    #[error("bundle contains no events")]
    NoEvents,
    /// No event carries this `seq` (it was removed).
    #[error("event {expected_seq} missing")]
    MissingEvent {
        /// The absent `seq`.
        expected_seq: u64,
    },
    /// The event at `position` should be `seq` = `position` (events were
    /// reordered).
    #[error("event at position {position} has seq {seq}: events are out of order")]
    OutOfOrder {
        /// 1-based position in `events`.
        position: u64,
        /// The `seq` found there.
        seq: u64,
    },
    /// A `seq` appears twice.
    #[error("event at position {position} repeats seq {seq}")]
    DuplicateEvent {
        /// 1-based position in `events`.
        position: u64,
        /// The repeated `seq`.
        seq: u64,
    },
    /// The hashed body does not carry this event's `seq`.
    #[error(
        "event {seq}: body does not carry \"seq\": {seq}, so the event was moved or renumbered"
    )]
    BodySeqMismatch {
        /// The event.
        seq: u64,
    },
    /// The hashed body does not carry the bundle's `case_id`.
    #[error("event {seq}: body does not carry case_id {case_id:?}, so the event belongs to another case")]
    CaseIdMismatch {
        /// The event.
        seq: u64,
        /// The bundle's case id.
        case_id: String,
    },
    /// `prev_hash` is not the previous event's `hash` (zero for event 1).
    #[error("event {seq}: prev_hash does not link to the previous event (the chain is broken)")]
    BrokenChain {
        /// The event.
        seq: u64,
    },
    /// The body has no canonical encoding.
    #[error("event {seq}: body cannot be canonically encoded: {source}")]
    NonCanonicalBody {
        /// The event.
        seq: u64,
        /// Why.
        source: CanonicalError,
    },
    /// `hash` does not match `prev_hash` and `body`.
    #[error("event {seq}: hash does not match its body and prev_hash (the event was altered)")]
    EventHashMismatch {
        /// The event.
        seq: u64,
    },
    /// The inclusion proof does not place the event in the checkpointed log.
    #[error("event {seq}: not proven to be leaf {leaf_index} of the checkpointed log: {source}")]
    InclusionFailed {
        /// The event.
        seq: u64,
        /// The claimed leaf.
        leaf_index: u64,
        /// Why.
        source: ProofError,
    },
    /// Leaf indices must grow with `seq`, since events are logged in order.
    #[error("event {seq}: leaf index {leaf_index} is not after the previous event's")]
    LeafIndexNotIncreasing {
        /// The event.
        seq: u64,
        /// Its leaf index.
        leaf_index: u64,
    },
    /// The checkpoint is not validly signed by `public_key`.
    #[error("checkpoint is not validly signed by the bundle's key: {source}")]
    BadSignature {
        /// Why.
        source: CheckpointError,
    },
    /// The bundle's key is not the pinned key.
    #[error("bundle is signed by a different key ({found}) than the pinned key ({pinned})")]
    KeyMismatch {
        /// Key id of the pinned key.
        pinned: String,
        /// Key id of the bundle's key.
        found: String,
    },
    /// A consistency proof in the bundle does not verify, or the earlier
    /// checkpoint's root differs from the bundle's at the same size: the log
    /// was rewritten or forked.
    #[error("log history is inconsistent with the tree of size {old_size}: it was rewritten after that checkpoint")]
    Inconsistent {
        /// The earlier tree size.
        old_size: u64,
    },
    /// The earlier checkpoint is not validly signed.
    #[error("earlier checkpoint is not validly signed: {source}")]
    EarlierCheckpointBadSignature {
        /// Why.
        source: CheckpointError,
    },
    /// The earlier checkpoint is from another log.
    #[error("earlier checkpoint is for log {earlier:?}, but the bundle's is for {bundle:?}")]
    OriginMismatch {
        /// Earlier checkpoint's origin.
        earlier: String,
        /// Bundle checkpoint's origin.
        bundle: String,
    },
    /// The earlier checkpoint is larger than the bundle's.
    #[error(
        "earlier checkpoint is newer than the bundle's (tree size {earlier_size} > {bundle_size})"
    )]
    EarlierIsNewer {
        /// Earlier checkpoint's size.
        earlier_size: u64,
        /// Bundle checkpoint's size.
        bundle_size: u64,
    },
    /// No consistency proof from the earlier checkpoint's size.
    #[error("bundle has no consistency proof from the earlier checkpoint's tree size {old_size}")]
    NoConsistencyProof {
        /// The earlier tree size.
        old_size: u64,
    },
    /// A personal datum's salt is not hex.
    #[error("personal datum {index} ({field}): salt is not hex")]
    BadSalt {
        /// 0-based index in `personal_data`.
        index: usize,
        /// Its field name.
        field: String,
    },
    /// A personal datum does not open its commitment.
    #[error("personal datum {index} ({field}): value and salt do not match the commitment")]
    CommitmentMismatch {
        /// 0-based index in `personal_data`.
        index: usize,
        /// Its field name.
        field: String,
    },
    /// A personal datum's commitment is in no event body.
    #[error("personal datum {index} ({field}): commitment {commitment} appears in no event body")]
    CommitmentNotFound {
        /// 0-based index in `personal_data`.
        index: usize,
        /// Its field name.
        field: String,
        /// The commitment.
        commitment: Hash,
    },
}

impl VerifyError {
    /// The `seq` of the event the error is about, if it is about one.
    pub fn event_seq(&self) -> Option<u64> {
        match self {
            VerifyError::MissingEvent { expected_seq } => Some(*expected_seq),
            VerifyError::OutOfOrder { seq, .. }
            | VerifyError::DuplicateEvent { seq, .. }
            | VerifyError::BodySeqMismatch { seq }
            | VerifyError::CaseIdMismatch { seq, .. }
            | VerifyError::BrokenChain { seq }
            | VerifyError::NonCanonicalBody { seq, .. }
            | VerifyError::EventHashMismatch { seq }
            | VerifyError::InclusionFailed { seq, .. }
            | VerifyError::LeafIndexNotIncreasing { seq, .. } => Some(*seq),
            _ => None,
        }
    }
}

fn check_sequence(events: &[BundleEvent]) -> Result<(), VerifyError> {
    for (i, event) in events.iter().enumerate() {
        let position = i as u64 + 1;
        if event.seq == position {
            continue;
        }
        // Every earlier position holds its own seq, so a smaller non-zero
        // seq has been seen already.
        if event.seq != 0 && event.seq < position {
            return Err(VerifyError::DuplicateEvent {
                position,
                seq: event.seq,
            });
        }
        let comes_later = events[i + 1..].iter().any(|e| e.seq == position);
        if event.seq > position && !comes_later {
            return Err(VerifyError::MissingEvent {
                expected_seq: position,
            });
        }
        return Err(VerifyError::OutOfOrder {
            position,
            seq: event.seq,
        });
    }
    Ok(())
}

fn check_event(
    event: &BundleEvent,
    case_id: &str,
    prev: Option<&BundleEvent>,
    checkpoint: &Checkpoint,
) -> Result<(), VerifyError> {
    let seq = event.seq;
    if event.body.get("seq").and_then(Value::as_u64) != Some(seq) {
        return Err(VerifyError::BodySeqMismatch { seq });
    }
    if event.body.get("case_id").and_then(Value::as_str) != Some(case_id) {
        return Err(VerifyError::CaseIdMismatch {
            seq,
            case_id: case_id.to_owned(),
        });
    }
    if event.prev_hash != prev.map_or(Hash::ZERO, |p| p.hash) {
        return Err(VerifyError::BrokenChain { seq });
    }
    let body = canonical_json(&event.body)
        .map_err(|source| VerifyError::NonCanonicalBody { seq, source })?;
    if event.hash != event_hash(&event.prev_hash, &body) {
        return Err(VerifyError::EventHashMismatch { seq });
    }
    verify_inclusion(
        &leaf_hash(&event.hash.0),
        event.leaf_index,
        checkpoint.tree_size,
        &event.inclusion_proof,
        &checkpoint.root,
    )
    .map_err(|source| VerifyError::InclusionFailed {
        seq,
        leaf_index: event.leaf_index,
        source,
    })?;
    if prev.is_some_and(|p| event.leaf_index <= p.leaf_index) {
        return Err(VerifyError::LeafIndexNotIncreasing {
            seq,
            leaf_index: event.leaf_index,
        });
    }
    Ok(())
}

fn mentions(value: &Value, needle: &str) -> bool {
    match value {
        Value::String(s) => s.contains(needle),
        Value::Array(items) => items.iter().any(|v| mentions(v, needle)),
        Value::Object(map) => map
            .iter()
            .any(|(k, v)| k.contains(needle) || mentions(v, needle)),
        Value::Null | Value::Bool(_) | Value::Number(_) => false,
    }
}

/// Verifies `bundle` offline, in the order given in the crate docs, and
/// returns the first failure.
pub fn verify_bundle(
    bundle: &CaseBundle,
    opts: &VerifyOptions,
) -> Result<VerifyReport, VerifyError> {
    if bundle.format != BUNDLE_FORMAT {
        return Err(VerifyError::UnsupportedFormat {
            found: bundle.format.clone(),
        });
    }
    let Some(last) = bundle.events.last() else {
        return Err(VerifyError::NoEvents);
    };
    check_sequence(&bundle.events)?;

    let checkpoint = &bundle.checkpoint.checkpoint;
    let mut prev = None;
    for event in &bundle.events {
        check_event(event, &bundle.case_id, prev, checkpoint)?;
        prev = Some(event);
    }

    bundle
        .checkpoint
        .verify(&bundle.public_key)
        .map_err(|source| VerifyError::BadSignature { source })?;
    if let Some(pinned) = &opts.pinned_key {
        if *pinned != bundle.public_key {
            return Err(VerifyError::KeyMismatch {
                pinned: pinned.key_id(),
                found: bundle.public_key.key_id(),
            });
        }
    }

    // Entries are unsigned, but each is checked against the signed root, so
    // a verified entry means the signer's log really had `old_root` at
    // `old_size`.
    for entry in &bundle.consistency {
        verify_consistency(
            entry.old_size,
            checkpoint.tree_size,
            &entry.old_root,
            &checkpoint.root,
            &entry.proof,
        )
        .map_err(|_| VerifyError::Inconsistent {
            old_size: entry.old_size,
        })?;
    }

    if let Some(earlier) = &opts.earlier_checkpoint {
        let key = opts.pinned_key.as_ref().unwrap_or(&bundle.public_key);
        earlier
            .verify(key)
            .map_err(|source| VerifyError::EarlierCheckpointBadSignature { source })?;
        let old = &earlier.checkpoint;
        if old.origin != checkpoint.origin {
            return Err(VerifyError::OriginMismatch {
                earlier: old.origin.clone(),
                bundle: checkpoint.origin.clone(),
            });
        }
        let old_size = old.tree_size;
        if old_size > checkpoint.tree_size {
            return Err(VerifyError::EarlierIsNewer {
                earlier_size: old_size,
                bundle_size: checkpoint.tree_size,
            });
        }
        if old_size == checkpoint.tree_size {
            if old.root != checkpoint.root {
                return Err(VerifyError::Inconsistent { old_size });
            }
        } else {
            let entry = bundle
                .consistency
                .iter()
                .find(|e| e.old_size == old_size)
                .ok_or(VerifyError::NoConsistencyProof { old_size })?;
            // The entry itself verified above, so a different root at the
            // same size means two histories were signed: a fork.
            if entry.old_root != old.root {
                return Err(VerifyError::Inconsistent { old_size });
            }
        }
    }

    for (index, datum) in bundle.personal_data.iter().enumerate() {
        let salt = hex::decode(&datum.salt).map_err(|_| VerifyError::BadSalt {
            index,
            field: datum.field.clone(),
        })?;
        if commit_personal(&salt, &datum.field, &datum.value) != datum.commitment {
            return Err(VerifyError::CommitmentMismatch {
                index,
                field: datum.field.clone(),
            });
        }
        let needle = datum.commitment.to_hex();
        if !bundle.events.iter().any(|e| mentions(&e.body, &needle)) {
            return Err(VerifyError::CommitmentNotFound {
                index,
                field: datum.field.clone(),
                commitment: datum.commitment,
            });
        }
    }

    Ok(VerifyReport {
        case_id: bundle.case_id.clone(),
        events: bundle.events.len(),
        last_seq: last.seq,
        head_hash: last.hash,
        checkpoint: checkpoint.clone(),
        key_id: bundle.public_key.key_id(),
        key_pinned: opts.pinned_key.is_some(),
        earlier_checkpoint_checked: opts.earlier_checkpoint.is_some(),
        consistency_proofs: bundle.consistency.len(),
        personal_data: bundle.personal_data.len(),
    })
}

#[cfg(test)]
mod tests;
