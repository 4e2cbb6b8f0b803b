//! End-to-end: a deployment logs several interleaved cases, exports one, and
//! the export is tampered with the way a person with a text editor would.

use std::collections::BTreeMap;

use serde_json::json;

use super::*;
use crate::chain::hash_event_body;
use crate::checkpoint::DeploymentKey;
use crate::merkle::{
    consistency_proof, inclusion_proof, root_at, Frontier, Subtree, TreeRangeError,
};

const ORIGIN: &str = "jiefen.example.cn/log";
const CASE_A: &str = "JF-2025-0001";
const CASE_B: &str = "JF-2025-0002";
const CASE_C: &str = "JF-2025-0003";
const SALT: [u8; 16] = [0x5a; 16];
const EARLIER_SIZE: u64 = 7;

#[derive(Debug)]
struct Missing;

impl From<TreeRangeError> for Missing {
    fn from(_: TreeRangeError) -> Self {
        Missing
    }
}

struct Logged {
    case_id: String,
    seq: u64,
    prev: Hash,
    hash: Hash,
    leaf_index: u64,
    body: Value,
}

/// The server side, reduced to what the ledger crate needs.
struct Deployment {
    key: DeploymentKey,
    frontier: Frontier,
    store: BTreeMap<Subtree, Hash>,
    log: Vec<Logged>,
}

impl Deployment {
    fn new(key: DeploymentKey) -> Self {
        Deployment {
            key,
            frontier: Frontier::empty(),
            store: BTreeMap::new(),
            log: Vec::new(),
        }
    }

    fn lookup(&self) -> impl FnMut(Subtree) -> Result<Hash, Missing> + '_ {
        |s| self.store.get(&s).copied().ok_or(Missing)
    }

    fn record(&mut self, case_id: &str, mut body: Value) {
        let (seq, prev) = self
            .log
            .iter()
            .rev()
            .find(|e| e.case_id == case_id)
            .map_or((1, Hash::ZERO), |e| (e.seq + 1, e.hash));
        body["seq"] = json!(seq);
        body["case_id"] = json!(case_id);
        let hash = hash_event_body(&prev, &body).unwrap();
        let leaf_index = self.frontier.size();
        self.store.extend(self.frontier.append(leaf_hash(&hash.0)));
        self.log.push(Logged {
            case_id: case_id.into(),
            seq,
            prev,
            hash,
            leaf_index,
            body,
        });
    }

    fn checkpoint(&self, tree_size: u64, timestamp: &str) -> SignedCheckpoint {
        self.key
            .sign(Checkpoint {
                origin: ORIGIN.into(),
                tree_size,
                root: root_at(tree_size, self.lookup()).unwrap(),
                timestamp: timestamp.into(),
            })
            .unwrap()
    }

    fn bundle(&self, case_id: &str, checkpoint: &SignedCheckpoint, earlier: &[u64]) -> CaseBundle {
        let size = checkpoint.checkpoint.tree_size;
        let events = self
            .log
            .iter()
            .filter(|e| e.case_id == case_id && e.leaf_index < size)
            .map(|e| BundleEvent {
                seq: e.seq,
                prev_hash: e.prev,
                hash: e.hash,
                leaf_index: e.leaf_index,
                body: e.body.clone(),
                inclusion_proof: inclusion_proof(e.leaf_index, size, self.lookup()).unwrap(),
            })
            .collect();
        let consistency = earlier
            .iter()
            .map(|&old_size| ConsistencyProof {
                old_size,
                old_root: root_at(old_size, self.lookup()).unwrap(),
                proof: consistency_proof(old_size, size, self.lookup()).unwrap(),
            })
            .collect();
        CaseBundle {
            format: BUNDLE_FORMAT.into(),
            case_id: case_id.into(),
            public_key: self.key.public(),
            checkpoint: checkpoint.clone(),
            events,
            consistency,
            personal_data: vec![PersonalDatum {
                commitment: name_commitment(),
                field: "claimant.name".into(),
                value: "王小明".into(),
                salt: hex::encode(SALT),
            }],
        }
    }
}

fn honest_key() -> DeploymentKey {
    DeploymentKey::from_seed([0x11; 32])
}

fn name_commitment() -> Hash {
    commit_personal(&SALT, "claimant.name", "王小明")
}

struct Run {
    deployment: Deployment,
    /// Signed after the first `EARLIER_SIZE` leaves; a party kept it.
    earlier: SignedCheckpoint,
    latest: SignedCheckpoint,
}

/// The same activity every time; `claim` is case A's second statement, so a
/// second run with another `claim` is a rewrite of history.
fn run(key: DeploymentKey, claim: &str) -> Run {
    let mut d = Deployment::new(key);
    d.record(
        CASE_A,
        json!({
            "type": "case.opened",
            "at": "2025-03-01T09:00:00Z",
            "actor": "staff:li.wei",
            "title": "物业费纠纷调解",
            "claimant": {"role": "业主", "name_commitment": name_commitment().to_hex()},
        }),
    );
    d.record(
        CASE_B,
        json!({"type": "case.opened", "at": "2025-03-01T10:12:00Z", "title": "劳动合同争议"}),
    );
    d.record(
        CASE_A,
        json!({"type": "statement.submitted", "at": "2025-03-02T14:30:00Z", "party": "claimant", "text": claim}),
    );
    d.record(
        CASE_C,
        json!({"type": "case.opened", "at": "2025-03-03T08:00:00Z", "title": "邻里噪音投诉"}),
    );
    d.record(
        CASE_B,
        json!({"type": "document.attached", "sha256": "00".repeat(32), "pages": 3}),
    );
    d.record(
        CASE_A,
        json!({"type": "mediation.session", "at": "2025-03-04T15:00:00Z", "minutes": "双方同意于三月十五日再次协商。", "duration_min": 45}),
    );
    d.record(CASE_C, json!({"type": "statement.submitted", "party": "respondent", "text": "晚上十点后不再使用音响。"}));
    let earlier = d.checkpoint(EARLIER_SIZE, "2025-03-05T00:00:00Z");
    d.record(
        CASE_B,
        json!({"type": "mediation.session", "minutes": "未达成一致。"}),
    );
    d.record(
        CASE_A,
        json!({"type": "settlement.proposed", "at": "2025-03-15T10:00:00Z", "text": "赔偿金额为五千元，分两期支付。", "amount_fen": 500000}),
    );
    d.record(
        CASE_C,
        json!({"type": "case.closed", "outcome": "withdrawn"}),
    );
    d.record(
        CASE_B,
        json!({"type": "case.escalated", "to": "仲裁委员会"}),
    );
    d.record(
        CASE_A,
        json!({"type": "settlement.accepted", "by": ["claimant", "respondent"], "note": "\"已签字\"\n\t附件 2 份"}),
    );
    d.record(CASE_C, json!({"type": "note", "text": "归档"}));
    d.record(
        CASE_A,
        json!({"type": "case.closed", "outcome": "settled", "at": "2025-03-18T17:45:00Z"}),
    );
    d.record(CASE_B, json!({"type": "note", "text": "等待仲裁结果"}));
    let latest = d.checkpoint(d.frontier.size(), "2025-03-20T00:00:00Z");
    Run {
        deployment: d,
        earlier,
        latest,
    }
}

const CLAIM: &str = "申请人称：被申请人拖欠物业费三个月，共计人民币四千五百元。";

fn honest() -> (Run, CaseBundle) {
    let run = run(honest_key(), CLAIM);
    let bundle = run
        .deployment
        .bundle(CASE_A, &run.latest, &[4, EARLIER_SIZE]);
    (run, bundle)
}

fn full_opts(run: &Run) -> VerifyOptions {
    VerifyOptions {
        pinned_key: Some(honest_key().public()),
        earlier_checkpoint: Some(run.earlier.clone()),
    }
}

fn to_text(bundle: &CaseBundle) -> String {
    serde_json::to_string_pretty(bundle).unwrap()
}

fn from_text(text: &str) -> CaseBundle {
    serde_json::from_str(text).unwrap()
}

/// Replaces exactly one occurrence, so a test cannot pass by editing nothing.
fn edit_once(text: &str, from: &str, to: &str) -> String {
    assert_eq!(text.matches(from).count(), 1, "{from:?} must occur once");
    text.replacen(from, to, 1)
}

fn edit_json(bundle: &CaseBundle, f: impl FnOnce(&mut Value)) -> CaseBundle {
    let mut v: Value = serde_json::from_str(&to_text(bundle)).unwrap();
    f(&mut v);
    serde_json::from_str(&serde_json::to_string_pretty(&v).unwrap()).unwrap()
}

fn flip_hex(h: &Hash) -> String {
    let mut s = h.to_hex();
    let c = if s.starts_with('0') { "1" } else { "0" };
    s.replace_range(0..1, c);
    s
}

#[test]
fn honest_bundle_verifies() {
    let (run, bundle) = honest();
    // Through text, as a file would travel.
    let bundle = from_text(&to_text(&bundle));
    let report = verify_bundle(&bundle, &full_opts(&run)).unwrap();
    assert_eq!(report.case_id, CASE_A);
    assert_eq!(report.events, 6);
    assert_eq!(report.last_seq, 6);
    assert_eq!(report.checkpoint.tree_size, 15);
    assert_eq!(report.key_id, honest_key().public().key_id());
    assert!(report.key_pinned && report.earlier_checkpoint_checked);
    assert_eq!(report.consistency_proofs, 2);
    assert_eq!(report.personal_data, 1);
    // Events of other cases sit between ours in the shared log.
    let leaves: Vec<u64> = bundle.events.iter().map(|e| e.leaf_index).collect();
    assert_eq!(leaves, [0, 2, 5, 8, 11, 13]);

    let bare = verify_bundle(&bundle, &VerifyOptions::default()).unwrap();
    assert!(!bare.key_pinned && !bare.earlier_checkpoint_checked);

    // Other cases export and verify from the same log and checkpoint.
    for case in [CASE_B, CASE_C] {
        let mut other = run.deployment.bundle(case, &run.latest, &[EARLIER_SIZE]);
        other.personal_data.clear();
        verify_bundle(&other, &full_opts(&run)).unwrap();
    }
    // An earlier checkpoint of the same size as the bundle's is fine too.
    let opts = VerifyOptions {
        earlier_checkpoint: Some(run.latest.clone()),
        ..full_opts(&run)
    };
    verify_bundle(&bundle, &opts).unwrap();
    // A bundle cut at the earlier checkpoint needs no consistency proof.
    let mut old = run.deployment.bundle(CASE_A, &run.earlier, &[]);
    old.personal_data.clear();
    let report = verify_bundle(&old, &full_opts(&run)).unwrap();
    assert_eq!(report.last_seq, 3);
}

#[test]
fn bundle_json_shape() {
    let (_, bundle) = honest();
    let v = serde_json::to_value(&bundle).unwrap();
    assert_eq!(v["format"], "jiefen.case-bundle.v1");
    assert!(v["public_key"].as_str().unwrap().starts_with("ed25519:"));
    assert_eq!(v["checkpoint"]["tree_size"], 15);
    assert!(v["checkpoint"]["signature"].is_string());
    assert_eq!(v["events"][0]["prev_hash"], Hash::ZERO.to_hex());
    assert_eq!(v["events"][2]["body"]["seq"], 3);
    // Chinese text stays readable in the file.
    assert!(to_text(&bundle).contains("赔偿金额为五千元"));
    // personal_data may be left out entirely.
    let mut v = v;
    v.as_object_mut().unwrap().remove("personal_data");
    let without: CaseBundle = serde_json::from_value(v.clone()).unwrap();
    assert!(without.personal_data.is_empty());
    v["comment"] = json!("unverified claims are refused");
    assert!(serde_json::from_value::<CaseBundle>(v).is_err());
}

#[test]
fn one_character_changed_in_a_body() {
    let (run, bundle) = honest();
    let text = edit_once(&to_text(&bundle), "赔偿金额为五千元", "赔偿金额为六千元");
    let err = verify_bundle(&from_text(&text), &full_opts(&run)).unwrap_err();
    assert_eq!(err, VerifyError::EventHashMismatch { seq: 4 });
    assert_eq!(err.event_seq(), Some(4));
    assert!(err.to_string().starts_with("event 4: hash does not match"));

    // Escaped characters count as well.
    let text = edit_once(&to_text(&bundle), "\\\"已签字\\\"", "\\\"未签字\\\"");
    let err = verify_bundle(&from_text(&text), &full_opts(&run)).unwrap_err();
    assert_eq!(err, VerifyError::EventHashMismatch { seq: 5 });
}

#[test]
fn event_removed() {
    let (run, bundle) = honest();
    let err = verify_bundle(
        &edit_json(&bundle, |v| {
            v["events"].as_array_mut().unwrap().remove(2);
        }),
        &full_opts(&run),
    )
    .unwrap_err();
    assert_eq!(err, VerifyError::MissingEvent { expected_seq: 3 });
    assert_eq!(err.to_string(), "event 3 missing");
    assert_eq!(err.event_seq(), Some(3));

    let err = verify_bundle(
        &edit_json(&bundle, |v| {
            v["events"].as_array_mut().unwrap().remove(0);
        }),
        &full_opts(&run),
    )
    .unwrap_err();
    assert_eq!(err, VerifyError::MissingEvent { expected_seq: 1 });

    let err = verify_bundle(
        &edit_json(&bundle, |v| v["events"] = json!([])),
        &full_opts(&run),
    )
    .unwrap_err();
    assert_eq!(err, VerifyError::NoEvents);
}

#[test]
fn tail_truncation_is_only_visible_in_the_report() {
    // The checkpoint covers the whole log, not each case's head, so dropping
    // the last events leaves a valid bundle of a shorter history. The report
    // exposes `last_seq` and `head_hash` for comparison with what the reader
    // knows (documented in the crate docs).
    let (run, bundle) = honest();
    let cut = edit_json(&bundle, |v| {
        v["events"].as_array_mut().unwrap().pop();
    });
    let report = verify_bundle(&cut, &full_opts(&run)).unwrap();
    assert_eq!(report.last_seq, 5);
    assert_eq!(report.head_hash, bundle.events[4].hash);
}

#[test]
fn events_swapped() {
    let (run, bundle) = honest();
    let err = verify_bundle(
        &edit_json(&bundle, |v| v["events"].as_array_mut().unwrap().swap(1, 2)),
        &full_opts(&run),
    )
    .unwrap_err();
    assert_eq!(
        err,
        VerifyError::OutOfOrder {
            position: 2,
            seq: 3
        }
    );
    assert_eq!(err.event_seq(), Some(3));

    // Renumbering the outer `seq` after the swap is caught by the hashed
    // body, which still says where the event really was.
    let err = verify_bundle(
        &edit_json(&bundle, |v| {
            let events = v["events"].as_array_mut().unwrap();
            events.swap(1, 2);
            events[1]["seq"] = json!(2);
            events[2]["seq"] = json!(3);
        }),
        &full_opts(&run),
    )
    .unwrap_err();
    assert_eq!(err, VerifyError::BodySeqMismatch { seq: 2 });

    let err = verify_bundle(
        &edit_json(&bundle, |v| {
            let events = v["events"].as_array_mut().unwrap();
            let dup = events[1].clone();
            events.insert(2, dup);
        }),
        &full_opts(&run),
    )
    .unwrap_err();
    assert_eq!(
        err,
        VerifyError::DuplicateEvent {
            position: 3,
            seq: 2
        }
    );
}

#[test]
fn event_moved_from_another_case() {
    let (run, bundle) = honest();
    let other = run.deployment.bundle(CASE_B, &run.latest, &[]);
    // Case B's second event put in place of A's second: same seq, so only
    // the case id in its hashed body betrays it.
    let moved = edit_json(&bundle, |v| {
        v["events"][1] = serde_json::to_value(&other.events[1]).unwrap();
    });
    let err = verify_bundle(&moved, &full_opts(&run)).unwrap_err();
    assert_eq!(
        err,
        VerifyError::CaseIdMismatch {
            seq: 2,
            case_id: CASE_A.into()
        }
    );
    // Relabelling the whole bundle as another case fails at event 1.
    let text = to_text(&bundle).replacen(
        &format!("\"case_id\": \"{CASE_A}\""),
        &format!("\"case_id\": \"{CASE_B}\""),
        1,
    );
    let err = verify_bundle(&from_text(&text), &full_opts(&run)).unwrap_err();
    assert_eq!(err.event_seq(), Some(1));
    assert!(matches!(err, VerifyError::CaseIdMismatch { .. }));
}

#[test]
fn hash_changed() {
    let (run, bundle) = honest();
    let h = bundle.events[2].hash;
    let text = edit_once(
        &to_text(&bundle),
        &format!("\"hash\": \"{h}\""),
        &format!("\"hash\": \"{}\"", flip_hex(&h)),
    );
    let err = verify_bundle(&from_text(&text), &full_opts(&run)).unwrap_err();
    assert_eq!(err, VerifyError::EventHashMismatch { seq: 3 });

    // Changing it where the next event links to it too still fails at 3.
    let text = to_text(&bundle).replace(&h.to_hex(), &flip_hex(&h));
    let err = verify_bundle(&from_text(&text), &full_opts(&run)).unwrap_err();
    assert_eq!(err, VerifyError::EventHashMismatch { seq: 3 });

    // Only the link: the chain is broken at 4.
    let text = edit_once(
        &to_text(&bundle),
        &format!("\"prev_hash\": \"{h}\""),
        &format!("\"prev_hash\": \"{}\"", flip_hex(&h)),
    );
    let err = verify_bundle(&from_text(&text), &full_opts(&run)).unwrap_err();
    assert_eq!(err, VerifyError::BrokenChain { seq: 4 });
    assert_eq!(err.event_seq(), Some(4));
}

#[test]
fn inclusion_evidence_changed() {
    let (run, bundle) = honest();
    let p = bundle.events[3].inclusion_proof[1];
    let text = to_text(&bundle).replace(&p.to_hex(), &flip_hex(&p));
    let err = verify_bundle(&from_text(&text), &full_opts(&run)).unwrap_err();
    // The same node can serve several events' proofs; the first one fails.
    let first = bundle
        .events
        .iter()
        .find(|e| e.inclusion_proof.contains(&p))
        .unwrap()
        .seq;
    assert!(matches!(err, VerifyError::InclusionFailed { seq, .. } if seq == first));

    let moved = edit_json(&bundle, |v| v["events"][3]["leaf_index"] = json!(9));
    let err = verify_bundle(&moved, &full_opts(&run)).unwrap_err();
    assert!(matches!(
        err,
        VerifyError::InclusionFailed {
            seq: 4,
            leaf_index: 9,
            ..
        }
    ));
}

#[test]
fn checkpoint_changed_or_signature_broken() {
    let (run, bundle) = honest();
    let text = edit_once(
        &to_text(&bundle),
        "2025-03-20T00:00:00Z",
        "2025-03-21T00:00:00Z",
    );
    let err = verify_bundle(&from_text(&text), &full_opts(&run)).unwrap_err();
    assert_eq!(
        err,
        VerifyError::BadSignature {
            source: CheckpointError::BadSignature
        }
    );
    assert_eq!(err.event_seq(), None);

    // An inclusion proof need not pin the tree size (these proofs for 15
    // leaves also fit a 16-leaf shape); the signature over it does.
    let bigger = edit_json(&bundle, |v| v["checkpoint"]["tree_size"] = json!(16));
    let err = verify_bundle(&bigger, &full_opts(&run)).unwrap_err();
    assert!(matches!(err, VerifyError::BadSignature { .. }));
    let halved = edit_json(&bundle, |v| v["checkpoint"]["tree_size"] = json!(8));
    let err = verify_bundle(&halved, &full_opts(&run)).unwrap_err();
    assert!(matches!(err, VerifyError::InclusionFailed { seq: 1, .. }));

    let bad_format = edit_json(&bundle, |v| v["format"] = json!("jiefen.case-bundle.v2"));
    assert!(matches!(
        verify_bundle(&bad_format, &full_opts(&run)),
        Err(VerifyError::UnsupportedFormat { .. })
    ));
}

#[test]
fn wrong_pinned_key() {
    let (run, bundle) = honest();
    let opts = VerifyOptions {
        pinned_key: Some(DeploymentKey::from_seed([0x22; 32]).public()),
        earlier_checkpoint: None,
    };
    let err = verify_bundle(&bundle, &opts).unwrap_err();
    assert!(matches!(err, VerifyError::KeyMismatch { .. }));
    assert!(err.to_string().contains("signed by a different key"));

    // An impostor re-signs the honest log under its own key and ships its
    // own public key: self-consistent, so only a pinned key or a kept
    // checkpoint exposes it.
    let impostor = DeploymentKey::from_seed([0x33; 32]);
    let mut forged = bundle.clone();
    forged.public_key = impostor.public();
    forged.checkpoint = impostor.sign(run.latest.checkpoint.clone()).unwrap();
    verify_bundle(&forged, &VerifyOptions::default()).unwrap();
    let err = verify_bundle(&forged, &full_opts(&run)).unwrap_err();
    assert!(matches!(err, VerifyError::KeyMismatch { .. }));
    let kept_only = VerifyOptions {
        pinned_key: None,
        earlier_checkpoint: Some(run.earlier.clone()),
    };
    let err = verify_bundle(&forged, &kept_only).unwrap_err();
    assert!(matches!(
        err,
        VerifyError::EarlierCheckpointBadSignature {
            source: CheckpointError::KeyIdMismatch { .. }
        }
    ));
    // Keeping the honest key but swapping in the impostor's signature fails.
    let mut resigned = bundle.clone();
    resigned.checkpoint = forged.checkpoint.clone();
    assert!(matches!(
        verify_bundle(&resigned, &VerifyOptions::default()),
        Err(VerifyError::BadSignature { .. })
    ));
}

/// The deployment operator holds the key, so it can rewrite an old event,
/// recompute the case's chain, rebuild the whole log and re-sign. The result
/// is a perfectly self-consistent bundle: nothing inside a bundle can tell
/// it from the truth. What gives it away is a checkpoint signed *before* the
/// rewrite and kept by someone else: the new log is not an extension of it.
#[test]
fn history_rewritten_and_resigned() {
    let honest_run = run(honest_key(), CLAIM);
    let forged_claim = "申请人称：被申请人拖欠物业费三个月，共计人民币九千元。";
    let forged_run = run(honest_key(), forged_claim);
    // The rewrite touched leaf 2, inside the earlier checkpoint.
    assert_ne!(
        forged_run.earlier.checkpoint.root,
        honest_run.earlier.checkpoint.root
    );
    let forged = forged_run
        .deployment
        .bundle(CASE_A, &forged_run.latest, &[EARLIER_SIZE]);
    assert!(to_text(&forged).contains("九千元"));

    // Without outside knowledge: valid, even with the key pinned.
    verify_bundle(&forged, &VerifyOptions::default()).unwrap();
    let pinned = VerifyOptions {
        pinned_key: Some(honest_key().public()),
        earlier_checkpoint: None,
    };
    verify_bundle(&forged, &pinned).unwrap();

    // With the checkpoint a party kept from before the rewrite: caught.
    let err = verify_bundle(&forged, &full_opts(&honest_run)).unwrap_err();
    assert_eq!(
        err,
        VerifyError::Inconsistent {
            old_size: EARLIER_SIZE
        }
    );
    assert!(err.to_string().contains("rewritten"));

    // Grafting the kept checkpoint's root onto the forged proof fails too.
    let grafted = edit_json(&forged, |v| {
        v["consistency"][0]["old_root"] = json!(honest_run.earlier.checkpoint.root.to_hex());
    });
    assert_eq!(
        verify_bundle(&grafted, &VerifyOptions::default()).unwrap_err(),
        VerifyError::Inconsistent {
            old_size: EARLIER_SIZE
        }
    );

    // Hiding the proof only changes the complaint.
    let hidden = edit_json(&forged, |v| v["consistency"] = json!([]));
    assert_eq!(
        verify_bundle(&hidden, &full_opts(&honest_run)).unwrap_err(),
        VerifyError::NoConsistencyProof {
            old_size: EARLIER_SIZE
        }
    );
}

#[test]
fn earlier_checkpoint_problems() {
    let (run, bundle) = honest();
    let d = &run.deployment;
    let newer = d.key.sign(Checkpoint {
        tree_size: 16,
        ..run.latest.checkpoint.clone()
    });
    let opts = VerifyOptions {
        earlier_checkpoint: Some(newer.unwrap()),
        ..full_opts(&run)
    };
    let err = verify_bundle(&bundle, &opts).unwrap_err();
    assert!(matches!(
        err,
        VerifyError::EarlierIsNewer {
            earlier_size: 16,
            bundle_size: 15
        }
    ));
    assert!(err
        .to_string()
        .contains("earlier checkpoint is newer than the bundle's"));

    let same_size_other_root = d
        .key
        .sign(Checkpoint {
            root: Hash::ZERO,
            ..run.latest.checkpoint.clone()
        })
        .unwrap();
    let opts = VerifyOptions {
        earlier_checkpoint: Some(same_size_other_root),
        ..full_opts(&run)
    };
    assert_eq!(
        verify_bundle(&bundle, &opts).unwrap_err(),
        VerifyError::Inconsistent { old_size: 15 }
    );

    let other_log = d
        .key
        .sign(Checkpoint {
            origin: "elsewhere/log".into(),
            ..run.earlier.checkpoint.clone()
        })
        .unwrap();
    let opts = VerifyOptions {
        earlier_checkpoint: Some(other_log),
        ..full_opts(&run)
    };
    assert!(matches!(
        verify_bundle(&bundle, &opts),
        Err(VerifyError::OriginMismatch { .. })
    ));

    let mut tampered = run.earlier.clone();
    tampered.checkpoint.tree_size = 6;
    let opts = VerifyOptions {
        earlier_checkpoint: Some(tampered),
        ..full_opts(&run)
    };
    assert!(matches!(
        verify_bundle(&bundle, &opts),
        Err(VerifyError::EarlierCheckpointBadSignature { .. })
    ));

    // A checkpoint for a size the bundle has no proof from.
    let opts = VerifyOptions {
        earlier_checkpoint: Some(d.checkpoint(9, "2025-03-16T00:00:00Z")),
        ..full_opts(&run)
    };
    assert_eq!(
        verify_bundle(&bundle, &opts).unwrap_err(),
        VerifyError::NoConsistencyProof { old_size: 9 }
    );

    // A garbage consistency entry is refused even when nobody asks for it.
    let garbage = edit_json(&bundle, |v| {
        v["consistency"][0]["proof"][0] = json!(Hash::ZERO.to_hex());
    });
    assert_eq!(
        verify_bundle(&garbage, &VerifyOptions::default()).unwrap_err(),
        VerifyError::Inconsistent { old_size: 4 }
    );
}

#[test]
fn personal_data_disclosure() {
    let (run, bundle) = honest();
    let wrong_value = edit_once(&to_text(&bundle), "\"王小明\"", "\"王小红\"");
    assert_eq!(
        verify_bundle(&from_text(&wrong_value), &full_opts(&run)).unwrap_err(),
        VerifyError::CommitmentMismatch {
            index: 0,
            field: "claimant.name".into()
        }
    );

    let bad_salt = edit_json(&bundle, |v| v["personal_data"][0]["salt"] = json!("xyz"));
    assert!(matches!(
        verify_bundle(&bad_salt, &full_opts(&run)),
        Err(VerifyError::BadSalt { index: 0, .. })
    ));

    // A correct opening of a commitment that no event carries.
    let salt = [1u8; 8];
    let stray = PersonalDatum {
        commitment: commit_personal(&salt, "claimant.phone", "13800000000"),
        field: "claimant.phone".into(),
        value: "13800000000".into(),
        salt: hex::encode(salt),
    };
    let mut extra = bundle.clone();
    extra.personal_data.push(stray);
    assert!(matches!(
        verify_bundle(&extra, &full_opts(&run)),
        Err(VerifyError::CommitmentNotFound { index: 1, .. })
    ));

    // Erasure: dropping the disclosure leaves the history fully verifiable.
    let mut erased = bundle;
    erased.personal_data.clear();
    verify_bundle(&erased, &full_opts(&run)).unwrap();
}

#[test]
fn float_in_a_body_is_reported() {
    let (run, bundle) = honest();
    let text = edit_once(
        &to_text(&bundle),
        "\"amount_fen\": 500000",
        "\"amount_fen\": 5000.5",
    );
    let err = verify_bundle(&from_text(&text), &full_opts(&run)).unwrap_err();
    assert!(matches!(err, VerifyError::NonCanonicalBody { seq: 4, .. }));
}
