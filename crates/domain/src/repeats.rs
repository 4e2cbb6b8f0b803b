//! Repeats by identity 重复信访: a new case from the same person (same ID
//! number or phone), or about the same respondent in the same place, within
//! the policy's window.
//!
//! Identities are compared by keyed hash (HMAC-SHA-256 under a deployment
//! secret), never in clear: the index of who came when holds no personal
//! data, and without the key its entries cannot be confirmed by guessing
//! phone numbers. Text similarity joins in a later issue.

use crate::case::CaseId;
use crate::jurisdiction::JurisdictionCode;
use crate::lifecycle::NewCase;
use crate::party::{NewParty, PartyKind, PartyRole};
use hmac::{Hmac, Mac};
use jiefen_ledger::hash::Hash;
use serde::{Deserialize, Serialize};
use sha2::Sha256;

/// Why an earlier case may be the same matter.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RepeatReason {
    /// An applicant with the same 居民身份证号.
    SameIdNumber,
    /// An applicant with the same phone number.
    SamePhone,
    /// The same respondent, in the same village or community.
    SameRespondentAndPlace,
}

impl RepeatReason {
    pub fn as_str(self) -> &'static str {
        match self {
            RepeatReason::SameIdNumber => "same_id_number",
            RepeatReason::SamePhone => "same_phone",
            RepeatReason::SameRespondentAndPlace => "same_respondent_and_place",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        [
            RepeatReason::SameIdNumber,
            RepeatReason::SamePhone,
            RepeatReason::SameRespondentAndPlace,
        ]
        .into_iter()
        .find(|r| r.as_str() == raw)
    }

    pub fn zh(self) -> &'static str {
        match self {
            RepeatReason::SameIdNumber => "同一申请人（身份证号相同）",
            RepeatReason::SamePhone => "同一申请人（电话相同）",
            RepeatReason::SameRespondentAndPlace => "同一被申请人、同一地点",
        }
    }
}

/// An earlier case a new one may repeat, with every reason found.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PossibleRepeat {
    pub case_id: CaseId,
    pub reasons: Vec<RepeatReason>,
}

/// The deployment's secret for identity hashes. Kept outside the database.
#[derive(Clone)]
pub struct IdentityKey([u8; 32]);

impl IdentityKey {
    pub fn new(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    fn hash(&self, reason: RepeatReason, value: &str) -> Hash {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC takes any key length");
        mac.update(reason.as_str().as_bytes());
        mac.update(&[0]);
        mac.update(value.as_bytes());
        Hash(mac.finalize().into_bytes().into())
    }
}

impl std::fmt::Debug for IdentityKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("IdentityKey(..)")
    }
}

/// One keyed identity of a new case, as the index stores it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentityHash {
    pub reason: RepeatReason,
    pub hash: Hash,
}

/// The keyed identities of a new case: each applicant's ID number and
/// phone, and each respondent (ID number, phone, or an organisation's or
/// person's name) together with the place.
pub fn identities(new: &NewCase, key: &IdentityKey) -> Vec<IdentityHash> {
    let mut out: Vec<IdentityHash> = new
        .parties
        .iter()
        .flat_map(|p| party_identities(p, &new.jurisdiction, key))
        .collect();
    out.sort_by_key(|a| (a.reason, a.hash));
    out.dedup();
    out
}

/// The keyed identities one party gives a case at `place` (also what an
/// erasure removes from the index).
pub fn party_identities(
    p: &NewParty,
    place: &JurisdictionCode,
    key: &IdentityKey,
) -> Vec<IdentityHash> {
    let mut out = Vec::new();
    match p.role {
        PartyRole::Applicant => {
            if let Some(id) = &p.id_number {
                out.push(IdentityHash {
                    reason: RepeatReason::SameIdNumber,
                    hash: key.hash(RepeatReason::SameIdNumber, id.as_str()),
                });
            }
            if let Some(phone) = &p.phone {
                out.push(IdentityHash {
                    reason: RepeatReason::SamePhone,
                    hash: key.hash(RepeatReason::SamePhone, phone.as_str()),
                });
            }
        }
        PartyRole::Respondent => {
            // The strongest identifier given names the respondent; a bare
            // personal name is weak, but with the place it is what a clerk
            // would also go by.
            let who = match (&p.id_number, &p.phone, p.kind) {
                (Some(id), _, _) => format!("id:{}", id.as_str()),
                (None, Some(phone), _) => format!("phone:{}", phone.as_str()),
                (None, None, PartyKind::Organisation) => {
                    format!("org:{}", normalise_name(p.name.as_str()))
                }
                (None, None, _) => format!("name:{}", normalise_name(p.name.as_str())),
            };
            let value = format!("{who}@{place}");
            out.push(IdentityHash {
                reason: RepeatReason::SameRespondentAndPlace,
                hash: key.hash(RepeatReason::SameRespondentAndPlace, &value),
            });
        }
    }
    out
}

/// Names compare without spaces and full-width/half-width differences in
/// brackets, which clerks type either way (某某（集团）公司).
fn normalise_name(name: &str) -> String {
    name.chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| match c {
            '（' => '(',
            '）' => ')',
            other => other,
        })
        .collect()
}

/// How many earlier cases a registration lists as possible repeats: the
/// most recent ones. A person who has brought dozens of matters in the
/// window is flagged by the first few already, and an unbounded list would
/// let one prolific identity make every new registration heavier.
pub const LISTED_REPEATS: usize = 20;

/// The earlier cases a new case's identities match, given the cases the
/// index knows for each hash: what registration records and what an intake
/// preview shows.
pub fn matches(
    identities: &[IdentityHash],
    known: &std::collections::HashMap<Hash, Vec<CaseId>>,
) -> Vec<PossibleRepeat> {
    group(identities.iter().flat_map(|i| {
        known
            .get(&i.hash)
            .into_iter()
            .flatten()
            .map(move |c| (*c, i.reason))
    }))
}

/// Groups index hits (earlier case, reason) into one entry per case and
/// keeps the [`LISTED_REPEATS`] most recent, oldest first (ids are UUIDv7,
/// so id order is registration order).
pub fn group(hits: impl IntoIterator<Item = (CaseId, RepeatReason)>) -> Vec<PossibleRepeat> {
    let mut by_case: std::collections::BTreeMap<CaseId, Vec<RepeatReason>> = Default::default();
    for (case_id, reason) in hits {
        let reasons = by_case.entry(case_id).or_default();
        if !reasons.contains(&reason) {
            reasons.push(reason);
            reasons.sort();
        }
    }
    let skip = by_case.len().saturating_sub(LISTED_REPEATS);
    by_case
        .into_iter()
        .skip(skip)
        .map(|(case_id, reasons)| PossibleRepeat { case_id, reasons })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new_case(parties: serde_json::Value, jurisdiction: &str) -> NewCase {
        serde_json::from_value(serde_json::json!({
            "kind": "dispute", "channel": "walk_in", "category": "neighbourhood.boundary",
            "title": "围墙", "description": "邻居砌墙", "jurisdiction": jurisdiction,
            "parties": parties,
        }))
        .unwrap()
    }

    #[test]
    fn the_same_person_is_found_by_id_or_phone_under_the_key_only() {
        let key = IdentityKey::new([7; 32]);
        let a = new_case(
            serde_json::json!([{"role": "applicant", "kind": "person", "name": "张三",
                "id_number": "11010519491231002X", "phone": "13812345678"}]),
            "341721100201",
        );
        let b = new_case(
            serde_json::json!([{"role": "applicant", "kind": "person", "name": "张三丰",
                "phone": "13812345678"}]),
            "341721100202",
        );
        let (ia, ib) = (identities(&a, &key), identities(&b, &key));
        assert_eq!(ia.len(), 2);
        let shared: Vec<_> = ia.iter().filter(|x| ib.contains(x)).collect();
        assert_eq!(shared.len(), 1);
        assert_eq!(shared[0].reason, RepeatReason::SamePhone);
        // No hash contains the value in clear, and another key gives others.
        let other = identities(&a, &IdentityKey::new([8; 32]));
        assert!(ia.iter().all(|x| !other.contains(x)));
        assert!(ia.iter().all(|x| !x.hash.to_hex().contains("13812345678")));
    }

    #[test]
    fn the_same_respondent_counts_only_in_the_same_place() {
        let key = IdentityKey::new([1; 32]);
        let resp = serde_json::json!([
            {"role": "applicant", "kind": "person", "name": "李四"},
            {"role": "respondent", "kind": "organisation", "name": "某某（集团）混凝土公司"}
        ]);
        let resp2 = serde_json::json!([
            {"role": "applicant", "kind": "person", "name": "王五"},
            {"role": "respondent", "kind": "organisation", "name": "某某(集团)混凝土公司 "}
        ]);
        let here = identities(&new_case(resp.clone(), "341721100201"), &key);
        let same_place = identities(&new_case(resp2, "341721100201"), &key);
        let elsewhere = identities(&new_case(resp, "341721100202"), &key);
        assert_eq!(here, same_place, "brackets and spaces do not matter");
        assert_ne!(here, elsewhere);
    }

    #[test]
    fn hits_group_by_case_with_every_reason() {
        let a = CaseId(uuid::Uuid::from_u128(1));
        let b = CaseId(uuid::Uuid::from_u128(2));
        let g = group([
            (b, RepeatReason::SamePhone),
            (a, RepeatReason::SameRespondentAndPlace),
            (b, RepeatReason::SameIdNumber),
            (b, RepeatReason::SamePhone),
        ]);
        assert_eq!(
            g,
            vec![
                PossibleRepeat {
                    case_id: a,
                    reasons: vec![RepeatReason::SameRespondentAndPlace]
                },
                PossibleRepeat {
                    case_id: b,
                    reasons: vec![RepeatReason::SameIdNumber, RepeatReason::SamePhone]
                },
            ]
        );
    }

    #[test]
    fn only_the_most_recent_repeats_are_listed() {
        let ids: Vec<CaseId> = (0..LISTED_REPEATS as u128 + 5)
            .map(|i| CaseId(uuid::Uuid::from_u128(i + 1)))
            .collect();
        // Each case found twice (by phone and by ID number), newest first.
        let hits = ids.iter().rev().flat_map(|id| {
            [
                (*id, RepeatReason::SamePhone),
                (*id, RepeatReason::SameIdNumber),
            ]
        });
        let listed = group(hits);
        assert_eq!(listed.len(), LISTED_REPEATS);
        assert_eq!(listed[0].case_id, ids[5], "the oldest five are left out");
        assert_eq!(listed.last().unwrap().case_id, *ids.last().unwrap());
        assert!(listed
            .iter()
            .all(|p| p.reasons == [RepeatReason::SameIdNumber, RepeatReason::SamePhone]));
    }
}
