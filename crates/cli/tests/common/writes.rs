//! The write load the crash and fault tests share: registrations,
//! acceptances and notes, each with an idempotency key, and what the test
//! knows of the store because of them, checked against the store itself.

use super::try_request;
use jiefen_domain::case::CaseId;
use jiefen_store::{Ledger, Store};
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};

pub const VILLAGE: &str = "341721100201";

/// A small, seedable generator: the test must be replayable from its seed.
#[derive(Clone)]
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    /// A word search finds as one token, and no other case contains.
    pub fn marker(&mut self) -> String {
        (0..10)
            .map(|_| char::from(b'a' + self.below(26) as u8))
            .collect()
    }
}

#[derive(Debug, Clone)]
pub enum Kind {
    Create { marker: String },
    Accept { case: CaseId },
    Note { case: CaseId, marker: String },
}

/// One write and everything needed to send it again.
#[derive(Debug, Clone)]
pub struct Op {
    pub key: String,
    pub path: String,
    pub body: String,
    pub kind: Kind,
}

/// What the test knows of the store: each write's key with its answer, or
/// the writes whose answer never came.
#[derive(Default)]
pub struct Ledgerbook {
    /// Acknowledged registrations: marker → case.
    pub created: BTreeMap<String, CaseId>,
    /// Cases registered and not yet accepted, and those accepted.
    pub registered: Vec<CaseId>,
    pub accepted: Vec<CaseId>,
    /// The registration acknowledged last.
    pub newest: Option<(String, CaseId)>,
    /// Acknowledged notes per case (their markers).
    pub notes: HashMap<CaseId, Vec<String>>,
    /// Sent, and no answer came before the kill. (A case to accept leaves
    /// `registered` when its request is made, so no two requests accept
    /// one case.)
    pub pending: Vec<Op>,
    pub sent: usize,
    pub next_key: u64,
    pub rng: Option<Rng>,
}

impl Ledgerbook {
    pub fn next_op(&mut self) -> Op {
        let mut rng = self.rng.take().expect("one op at a time");
        self.next_key += 1;
        let key = format!("load-{:016x}-{}", rng.next(), self.next_key);
        let choice = rng.below(100);
        let op = if choice < 20 && !self.registered.is_empty() {
            let case = self
                .registered
                .swap_remove(rng.below(self.registered.len() as u64) as usize);
            Op {
                key,
                path: format!("/api/v1/cases/{case}/actions"),
                body: json!({"action": {"type": "accept"}}).to_string(),
                kind: Kind::Accept { case },
            }
        } else if choice < 55 && !self.created.is_empty() {
            let ids: Vec<CaseId> = self.created.values().copied().collect();
            let case = ids[rng.below(ids.len() as u64) as usize];
            let marker = rng.marker();
            Op {
                key,
                path: format!("/api/v1/cases/{case}/actions"),
                body: json!({"action": {"type": "note", "text": format!("回访记录 {marker}")}})
                    .to_string(),
                kind: Kind::Note { case, marker },
            }
        } else {
            let marker = rng.marker();
            Op {
                key,
                path: "/api/v1/cases".into(),
                body: json!({"case": {
                    "kind": "request",
                    "channel": "phone",
                    "category": "property_mgmt.parking",
                    "title": format!("小区停车难 {marker}"),
                    "description": format!("希望增设停车位，编号 {marker}。"),
                    "jurisdiction": VILLAGE,
                }})
                .to_string(),
                kind: Kind::Create { marker },
            }
        };
        self.rng = Some(rng);
        op
    }

    /// Records an answer; panics on one that is not a success.
    pub fn answered(&mut self, op: Op, status: u16, body: &Value) {
        assert!(
            matches!(status, 200 | 201),
            "{} {}: {status} {body}",
            op.path,
            op.body
        );
        match op.kind {
            Kind::Create { marker } => {
                let id = CaseId::parse(body["case_id"].as_str().expect("a case id")).unwrap();
                self.newest = Some((marker.clone(), id));
                if let Some(before) = self.created.insert(marker, id) {
                    // A retried registration answers with the first case.
                    assert_eq!(before, id, "a retry registered a second case");
                } else {
                    self.registered.push(id);
                }
            }
            Kind::Accept { case } => self.accepted.push(case),
            Kind::Note { case, marker } => self.notes.entry(case).or_default().push(marker),
        }
    }

    pub fn pending_creates(&self) -> usize {
        self.pending
            .iter()
            .filter(|o| matches!(o.kind, Kind::Create { .. }))
            .count()
    }
}

pub fn send(addr: &str, token: &str, op: &Op) -> Option<(u16, Value)> {
    let headers = format!(
        "Authorization: Bearer {token}\r\nContent-Type: application/json\r\nIdempotency-Key: {}\r\n",
        op.key
    );
    try_request(addr, "POST", &op.path, &headers, &op.body).map(|(_, r)| r)
}

/// What must hold of the store after anything happened to the server: every
/// history's chain and projection equal a replay of its events, one log
/// leaf per event, tallies equal a count, every acknowledged write there
/// exactly once and every unanswered one at most once. `when` says which
/// check failed (a round, a restart).
pub async fn check_ledger(
    store: &dyn Store,
    ledger: &Ledger,
    book: &Ledgerbook,
    when: &str,
    base_cases: u64,
) {
    let report = ledger.rebuild(false).await.unwrap();
    assert!(
        report.mismatched.is_empty()
            && report.broken_chains.is_empty()
            && report.missing_notices.is_empty()
            && !report.tallies_mismatched,
        "{when}: {report:?}"
    );
    assert_eq!(
        store.log_size().await.unwrap(),
        report.events,
        "{when}: one log leaf per event"
    );
    // Acknowledged registrations are all there; of those not answered,
    // each is there at most once.
    let cases = store.count_cases().await.unwrap();
    let acked = book.created.len() as u64 + base_cases;
    assert!(
        cases >= acked && cases <= acked + book.pending_creates() as u64,
        "{when}: {cases} cases, {acked} acknowledged, {} unanswered",
        book.pending_creates()
    );
    for id in book.created.values() {
        assert!(
            store.projection(*id).await.unwrap().is_some(),
            "{when}: acknowledged case {id} lost"
        );
    }
    for id in &book.accepted {
        let row = store.projection(*id).await.unwrap().unwrap();
        assert_ne!(row.state, "registered", "{when}: acceptance of {id} lost");
    }
    // Every acknowledged note once, an unanswered one at most once.
    for (id, markers) in &book.notes {
        let events = store.events(*id).await.unwrap();
        for m in markers {
            let n = events
                .iter()
                .filter(|e| e.body.contains(m.as_str()))
                .count();
            assert_eq!(n, 1, "{when}: note {m} of {id} is there {n} times");
        }
    }
    for op in &book.pending {
        if let Kind::Note { case, marker } = &op.kind {
            let events = store.events(*case).await.unwrap();
            let n = events
                .iter()
                .filter(|e| e.body.contains(marker.as_str()))
                .count();
            assert!(n <= 1, "{when}: unanswered note {marker} there {n} times");
        }
    }
}
