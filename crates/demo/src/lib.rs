//! Demo data: the demo city and a few thousand cases in every state and age,
//! generated in code from Chinese templates, loaded through the ledger like
//! any other writes (so every demo case has a real, verifiable history).
//!
//! Generation is deterministic for a seed. The loader drives a
//! [`ManualClock`] day by day through the last six months, so cases are of
//! every age and deadlines fall on track, due soon and overdue.

pub mod city;
pub mod templates;

use jiefen_domain::body::Body;
use jiefen_domain::case::{Agreement, CaseId, Channel, Outcome, RiskLevel, Satisfaction};
use jiefen_domain::jurisdiction::JurisdictionCode;
use jiefen_domain::lifecycle::{Actor, Command, NewCase};
use jiefen_domain::party::{gb11643_check, IdNumber, NewParty, PartyKind, PartyRole, PhoneNumber};
use jiefen_domain::policy::Complexity;
use jiefen_domain::taxonomy::CategoryCode;
use jiefen_domain::{Text, Timestamp};
use jiefen_store::{Clock, Ledger, LedgerError, ManualClock};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use std::collections::BTreeMap;
use std::sync::Arc;
use templates::{Template, AGREEMENTS, GIVEN, MEDIATORS, SURNAMES, TEMPLATES};
use time::Duration;

/// How far back the demo history reaches unless asked otherwise.
pub const DAYS_OF_HISTORY: i64 = 180;

/// What to generate: how many cases, over how many days before today, and
/// the seed that makes it repeatable.
#[derive(Debug, Clone, Copy)]
pub struct Volume {
    pub cases: usize,
    pub days: i64,
    pub seed: u64,
}

/// One step in a demo case's life.
#[derive(Debug, Clone)]
pub enum Step {
    Do(Command),
    /// Merge into the case generated at this index (always an earlier one).
    MergeInto(usize),
}

/// A demo case: what is registered on `day`, then steps on later days.
#[derive(Debug, Clone)]
pub struct Script {
    pub day: i64,
    pub new: NewCase,
    pub steps: Vec<(i64, Step)>,
}

fn text(s: impl AsRef<str>) -> Text {
    Text::parse(s.as_ref()).expect("demo text is not blank")
}

fn person(rng: &mut StdRng) -> String {
    format!(
        "{}{}",
        SURNAMES.choose(rng).expect("non-empty"),
        GIVEN.choose(rng).expect("non-empty")
    )
}

/// A syntactically valid ID number with a correct GB 11643 check character.
pub fn id_number(rng: &mut StdRng, region: &str) -> IdNumber {
    let year = rng.gen_range(1940..2004);
    let month = rng.gen_range(1..=12);
    let day = rng.gen_range(1..=28);
    let serial = rng.gen_range(0..1000);
    let body = format!("{region}{year:04}{month:02}{day:02}{serial:03}");
    let check = gb11643_check(&body).expect("17 digits");
    IdNumber::parse(&format!("{body}{check}")).expect("generated ID numbers are valid")
}

fn phone(rng: &mut StdRng) -> PhoneNumber {
    let prefix = ["138", "139", "150", "151", "177", "186", "189", "135"]
        .choose(rng)
        .expect("non-empty");
    PhoneNumber::parse(&format!("{prefix}{:08}", rng.gen_range(0..100_000_000u32)))
        .expect("generated phones are valid")
}

fn fill(s: &str, village: &str, a: &str, r: &str, m: u32, n: u32) -> String {
    s.replace("{v}", village)
        .replace("{a}", a)
        .replace("{r}", r)
        .replace("{m}", &m.to_string())
        .replace("{n}", &n.to_string())
}

/// Where the demo case ends up. Weights give every screen plenty to show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fate {
    Registered,
    Accepted,
    Declined,
    Assigned,
    InProgress,
    Paused,
    Concluded,
    FollowedUp,
    Archived,
    Merged,
    Referred,
    Reviewed,
}

const FATES: &[(Fate, u32)] = &[
    (Fate::Registered, 5),
    (Fate::Accepted, 4),
    (Fate::Declined, 3),
    (Fate::Assigned, 6),
    (Fate::InProgress, 22),
    (Fate::Paused, 4),
    (Fate::Concluded, 9),
    (Fate::FollowedUp, 10),
    (Fate::Archived, 28),
    (Fate::Merged, 3),
    (Fate::Referred, 3),
    (Fate::Reviewed, 3),
];

/// The sum of [`FATES`]' weights.
const FATES_WEIGHT: u32 = {
    let mut sum = 0;
    let mut i = 0;
    while i < FATES.len() {
        sum += FATES[i].1;
        i += 1;
    }
    sum
};

/// How many days back a merge may reach for the case it joins: repeats
/// come close together, and a bounded reach keeps a load's memory bounded.
const MERGE_REACH_DAYS: i64 = 2;

/// Generates the volume's case scripts day by day, oldest day first, so a
/// history of any size is made without holding all of it. Deterministic for
/// the volume's seed.
pub struct Generator {
    rng: StdRng,
    volume: Volume,
    names: BTreeMap<String, String>,
    parents: BTreeMap<String, String>,
    villages: Vec<String>,
    bodies: Vec<Body>,
    /// Index the next case gets.
    next: usize,
    /// Cases registered within [`MERGE_REACH_DAYS`], oldest first.
    recent: std::collections::VecDeque<(usize, i64)>,
}

impl Generator {
    pub fn new(volume: Volume) -> Self {
        let (nodes, bodies) = city::city();
        let names = nodes
            .iter()
            .map(|n| (n.code.to_string(), n.name.clone()))
            .collect();
        let parents = nodes
            .iter()
            .filter_map(|n| {
                n.parent
                    .as_ref()
                    .map(|p| (n.code.to_string(), p.to_string()))
            })
            .collect();
        Self {
            rng: StdRng::seed_from_u64(volume.seed),
            volume,
            names,
            parents,
            villages: city::villages(),
            bodies,
            next: 0,
            recent: std::collections::VecDeque::new(),
        }
    }

    /// The days of the history relative to today, oldest first.
    pub fn days(&self) -> std::ops::RangeInclusive<i64> {
        -(self.volume.days.max(1) - 1)..=0
    }

    /// The cases registered on `day`, each with its index; call it for each
    /// of [`Generator::days`] in order. The volume is spread evenly.
    pub fn day(&mut self, day: i64) -> Vec<(usize, Script)> {
        let days = self.volume.days.max(1) as u128;
        let k = (day + self.volume.days.max(1) - 1) as u128;
        let total = self.volume.cases as u128;
        let count = (total * (k + 1) / days - total * k / days) as usize;
        while self
            .recent
            .front()
            .is_some_and(|(_, d)| *d < day - MERGE_REACH_DAYS)
        {
            self.recent.pop_front();
        }
        (0..count)
            .map(|_| {
                let i = self.next;
                self.next += 1;
                let script = self.script(day);
                self.recent.push_back((i, day));
                (i, script)
            })
            .collect()
    }

    fn script(&mut self, day: i64) -> Script {
        let rng = &mut self.rng;
        let tpl: &Template = TEMPLATES.choose(rng).expect("non-empty");
        let village = self.villages.choose(rng).expect("non-empty").clone();
        // Hazards are found in a grid; the rest are brought to the village.
        let location = if tpl.kind == jiefen_domain::CaseKind::Hazard {
            format!("{village}-G0{}", rng.gen_range(1..=3))
        } else {
            village.clone()
        };
        let a = person(rng);
        let r = tpl
            .organisation
            .map(str::to_owned)
            .unwrap_or_else(|| person(rng));
        let m = rng.gen_range(3..300) * 100;
        let n = tpl.people.max(rng.gen_range(1..=tpl.people.max(1) + 3));
        let vname = self.names.get(&village).cloned().unwrap_or_default();
        let mut parties = Vec::new();
        if tpl.kind != jiefen_domain::CaseKind::Hazard {
            parties.push(NewParty {
                role: PartyRole::Applicant,
                kind: PartyKind::Person,
                name: text(&a),
                id_number: rng.gen_bool(0.8).then(|| id_number(rng, &village[..6])),
                phone: Some(phone(rng)),
                address: rng
                    .gen_bool(0.5)
                    .then(|| text(format!("{vname}{}号", rng.gen_range(1..120)))),
            });
            if tpl.kind == jiefen_domain::CaseKind::Dispute || tpl.organisation.is_some() {
                parties.push(NewParty {
                    role: PartyRole::Respondent,
                    kind: if tpl.organisation.is_some() {
                        PartyKind::Organisation
                    } else {
                        PartyKind::Person
                    },
                    name: text(&r),
                    id_number: None,
                    phone: rng.gen_bool(0.6).then(|| phone(rng)),
                    address: None,
                });
            }
        }
        let channel = match tpl.kind {
            jiefen_domain::CaseKind::Hazard => Channel::GridReport,
            jiefen_domain::CaseKind::Request => *[Channel::Phone, Channel::Web, Channel::Phone]
                .choose(rng)
                .expect("non-empty"),
            _ => *[
                Channel::WalkIn,
                Channel::WalkIn,
                Channel::Phone,
                Channel::Letter,
                Channel::Web,
                Channel::GridReport,
                Channel::Sweep,
            ]
            .choose(rng)
            .expect("non-empty"),
        };
        // The rules compute the risk; now and then the clerk judges it
        // higher, which the case keeps as an override beside the reasons.
        let risk = rng.gen_bool(0.05).then_some(RiskLevel::Yellow);
        let new = NewCase {
            kind: tpl.kind,
            channel,
            category: CategoryCode::parse(tpl.category).expect("templates use valid categories"),
            title: text(fill(tpl.title, &vname, &a, &r, m, n)),
            description: text(fill(tpl.description, &vname, &a, &r, m, n)),
            jurisdiction: JurisdictionCode::parse(&location).expect("demo codes are valid"),
            address: None,
            coordinates: None,
            people_involved: n,
            parties,
            risk,
            suggestions: None,
        };
        let mut roll = rng.gen_range(0..FATES_WEIGHT);
        let mut fate = Fate::Registered;
        for (f, w) in FATES {
            if roll < *w {
                fate = *f;
                break;
            }
            roll -= w;
        }
        let merge_into = if fate == Fate::Merged && !self.recent.is_empty() {
            let (j, _) = self.recent[rng.gen_range(0..self.recent.len())];
            Some(j)
        } else {
            None
        };
        if fate == Fate::Merged && merge_into.is_none() {
            fate = Fate::Accepted;
        }
        let body = pick_body(&self.bodies, &self.parents, &village, tpl.category, rng);
        let steps = life(fate, day, rng, &body, m, merge_into);
        Script { day, new, steps }
    }
}

/// The whole volume's scripts in index order (for tests and small volumes).
pub fn scripts(volume: Volume) -> Vec<Script> {
    let mut generator = Generator::new(volume);
    generator
        .days()
        .flat_map(|day| generator.day(day))
        .map(|(_, s)| s)
        .collect()
}

/// A body that takes the category, nearest the village first.
fn pick_body(
    bodies: &[Body],
    parents: &BTreeMap<String, String>,
    village: &str,
    category: &str,
    rng: &mut StdRng,
) -> String {
    let cat = CategoryCode::parse(category).expect("valid");
    let mut level = Some(village.to_owned());
    while let Some(code) = level {
        let here: Vec<&Body> = bodies
            .iter()
            .filter(|b| b.jurisdiction.as_str() == code && b.takes(&cat))
            .collect();
        if let Some(b) = here.choose(rng) {
            return b.code.to_string();
        }
        level = parents.get(&code).cloned();
    }
    "C-CENTRE".to_owned()
}

fn life(
    fate: Fate,
    day: i64,
    rng: &mut StdRng,
    body: &str,
    m: u32,
    merge_into: Option<usize>,
) -> Vec<(i64, Step)> {
    use Command as C;
    let mut steps = Vec::new();
    let mut d = day;
    let mut next = |rng: &mut StdRng, max: i64| {
        d = (d + rng.gen_range(0..=max)).min(0);
        d
    };
    let age = -day;
    let mut push = |at: i64, c: Command| steps.push((at, Step::Do(c)));
    if fate == Fate::Registered {
        return steps;
    }
    if let (Fate::Merged, Some(into)) = (fate, merge_into) {
        let at = next(rng, 1);
        steps.push((at, Step::MergeInto(into)));
        return steps;
    }
    if fate == Fate::Declined {
        push(
            next(rng, 2),
            C::Decline {
                reason: text("经核实，该事项已进入诉讼程序，依法不予受理，已告知当事人。"),
            },
        );
        if age > 20 {
            push(next(rng, 5), C::Archive { note: None });
        }
        return steps;
    }
    if fate == Fate::Referred {
        push(
            next(rng, 1),
            C::Refer {
                agency: text("县人民法院"),
                reason: text("当事人已向法院起诉，移交法院处理。"),
            },
        );
        return steps;
    }
    push(next(rng, 2), C::Accept { note: None });
    if fate == Fate::Accepted {
        return steps;
    }
    // Half the deadlines come from the policy (explained), half are set by
    // hand to 7 or 15 days: older open cases become overdue.
    let assign_day = next(rng, 2);
    let allowed = *[0i64, 0, 7, 15].choose(rng).expect("non-empty");
    steps.push((
        assign_day,
        Step::Do(C::Assign {
            body: jiefen_domain::body::BodyCode::parse(body).expect("valid"),
            // Placeholder: the loader makes it relative to the day.
            due_at: (allowed > 0).then(|| Timestamp::from_unix_millis(allowed)),
            complexity: Some(
                *[
                    Complexity::Simple,
                    Complexity::Ordinary,
                    Complexity::Complex,
                ]
                .choose(rng)
                .expect("non-empty"),
            ),
            reason: None,
        }),
    ));
    if rng.gen_bool(0.1) {
        steps.push((
            assign_day,
            Step::Do(C::Supervise {
                listed: rng.gen_bool(0.3),
                note: text("请加快办理，按期反馈。"),
            }),
        ));
    }
    if fate == Fate::Assigned {
        return steps;
    }
    let mut push = |at: i64, c: Command| steps.push((at, Step::Do(c)));
    let sign = next(rng, 1);
    push(sign, C::SignFor {});
    if rng.gen_bool(0.5) {
        push(
            next(rng, 3),
            C::Note {
                text: text("已电话联系双方当事人，约定调解时间。"),
            },
        );
    }
    let session = next(rng, 5);
    push(
        session,
        C::MediationSession {
            held_at: Timestamp::from_unix_millis(0),
            mediators: vec![text(MEDIATORS.choose(rng).expect("non-empty"))],
            place: Some(text("村（社区）调解室")),
            summary: text("组织双方面对面调解，释法说理，双方分歧有所缩小。"),
        },
    );
    if rng.gen_bool(0.15) {
        push(
            next(rng, 2),
            C::RequestExtension {
                days: 15,
                reason: text("需等待伤情鉴定结果，申请延期。"),
            },
        );
        push(next(rng, 2), C::ApproveExtension { note: None });
    }
    if fate == Fate::InProgress {
        if rng.gen_bool(0.1) {
            push(
                next(rng, 2),
                C::AssignLeader {
                    leader: text("李副县长"),
                    note: Some(text("重大疑难纠纷，领导包案。")),
                },
            );
        }
        return steps;
    }
    let pause = next(rng, 3);
    push(
        pause,
        C::Pause {
            reason: text("等待司法鉴定结果。"),
        },
    );
    if fate == Fate::Paused {
        return steps;
    }
    push(next(rng, 6), C::Resume { note: None });
    let mediated = rng.gen_bool(0.7);
    let conclude = next(rng, 6);
    push(
        conclude,
        if mediated {
            C::Conclude {
                outcome: Outcome::Mediated,
                summary: text("经多次调解，双方自愿达成调解协议。"),
                agreement: Some(Agreement {
                    text: text(
                        AGREEMENTS
                            .choose(rng)
                            .expect("non-empty")
                            .replace("{m}", &m.to_string()),
                    ),
                    judicial_confirmation: rng.gen_bool(0.3),
                }),
            }
        } else {
            C::Conclude {
                outcome: *[
                    Outcome::FailedReferred,
                    Outcome::Answered,
                    Outcome::NotSupported,
                ]
                .choose(rng)
                .expect("non-empty"),
                summary: text("经调解未能达成一致，已告知当事人通过诉讼或仲裁途径解决。"),
                agreement: None,
            }
        },
    );
    if fate == Fate::Concluded {
        return steps;
    }
    let satisfaction = if fate == Fate::Reviewed {
        Satisfaction::Dissatisfied
    } else {
        *[
            Satisfaction::Satisfied,
            Satisfaction::Satisfied,
            Satisfaction::BasicallySatisfied,
            Satisfaction::Dissatisfied,
        ]
        .choose(rng)
        .expect("non-empty")
    };
    push(
        next(rng, 4),
        C::FollowUp {
            satisfaction,
            note: Some(text("电话回访当事人。")),
        },
    );
    if fate == Fate::Reviewed {
        push(
            next(rng, 5),
            C::RequestReview {
                reason: text("当事人对处理结果不满意，申请复查。"),
            },
        );
        return steps;
    }
    if fate == Fate::Archived {
        push(next(rng, 5), C::Archive { note: None });
    }
    steps
}

#[derive(Debug, Default, Clone)]
pub struct Loaded {
    pub cases: usize,
    pub actions: usize,
    pub refused: usize,
    /// What the deadline engine recorded when it was run up to `today`
    /// after the load.
    pub engine: jiefen_store::writer::TickReport,
}

/// Days a case stays in memory after its last scripted step: long enough
/// that a case a later one may merge into (see [`MERGE_REACH_DAYS`]) is
/// still there when the merge comes.
const GRACE_DAYS: i64 = MERGE_REACH_DAYS;

/// A case the load is still working on.
struct Live {
    id: CaseId,
    handler: Actor,
    /// The last day a step of its own, or a merge into it, is scripted.
    until: i64,
}

/// Imports the demo city and writes the volume's cases day by day through
/// a bulk load of the ledger opened by `open` (which decides the store, key
/// and taxonomy): judged like live writes, so every case has a real,
/// verifiable history. Each day is written while the next is judged.
pub async fn load<F, Fut>(volume: Volume, today: Timestamp, open: F) -> Result<Loaded, LedgerError>
where
    F: FnOnce(Arc<dyn Clock>) -> Fut,
    Fut: std::future::Future<Output = Result<Ledger, jiefen_store::StoreError>>,
{
    let clock = Arc::new(ManualClock::new(today));
    let ledger = open(clock.clone()).await?;
    let (nodes, bodies) = city::city();
    ledger
        .import_reference(nodes, bodies)
        .await
        .map_err(|e| LedgerError::Store(jiefen_store::StoreError::Corrupt(e.to_string())))?;
    let mut bulk = ledger.bulk().await?;
    let mut generator = Generator::new(volume);
    let clerk = Actor::parse("demo-clerk").expect("valid");
    let mediator = Actor::parse("demo-mediator").expect("valid");
    let grid_worker = Actor::parse(city::DEMO_GRID_WORKER).expect("valid");
    let committee_mediator = Actor::parse(city::DEMO_MEDIATOR).expect("valid");
    let mut live: std::collections::HashMap<usize, Live> = std::collections::HashMap::new();
    let mut pending: BTreeMap<i64, Vec<(usize, Step)>> = BTreeMap::new();
    let mut retire: BTreeMap<i64, Vec<usize>> = BTreeMap::new();
    let mut writing: Option<tokio::task::JoinHandle<Result<(), LedgerError>>> = None;
    let mut loaded = Loaded::default();
    let count = |result: Result<jiefen_store::writer::WriteOutcome, LedgerError>,
                 loaded: &mut Loaded|
     -> Result<Option<CaseId>, LedgerError> {
        match result {
            Ok(o) => Ok(Some(o.case_id)),
            Err(LedgerError::Transition(_)) | Err(LedgerError::NotFound(_)) => {
                loaded.refused += 1;
                Ok(None)
            }
            Err(e) => Err(e),
        }
    };
    for day in generator.days() {
        // Business hours in China: 09:30 local is 01:30 UTC.
        let at = today
            .plus(Duration::days(day))
            .plus(Duration::minutes(rng_minutes(day)))
            .min(today);
        clock.set(at);
        let started = std::time::Instant::now();
        bulk.begin_day(at).await?;
        for (i, script) in generator.day(day) {
            // The town's mediation committee's cases are handled by its
            // demo account, so its queue has cases it signed for.
            let handler = if script.steps.iter().any(|(_, s)| {
                matches!(s, Step::Do(Command::Assign { body, .. }) if body.as_str() == city::DEMO_MEDIATION)
            }) {
                committee_mediator.clone()
            } else {
                mediator.clone()
            };
            let mut until = day;
            for (d, step) in script.steps {
                until = until.max(d);
                if let Step::MergeInto(j) = step {
                    if let Some(into) = live.get_mut(&j) {
                        into.until = into.until.max(d);
                    }
                }
                pending.entry(d).or_default().push((i, step));
            }
            // Reports from grid.yaodu's grid are the demo grid worker's own,
            // so the grid page has something to show.
            let registrar = if script.new.channel == Channel::GridReport
                && script.new.jurisdiction.as_str() == city::DEMO_GRID
            {
                &grid_worker
            } else {
                &clerk
            };
            if let Some(id) = count(bulk.create(&script.new, registrar), &mut loaded)? {
                loaded.cases += 1;
                retire.entry(until + GRACE_DAYS).or_default().push(i);
                live.insert(i, Live { id, handler, until });
            }
        }
        for (i, step) in pending.remove(&day).unwrap_or_default() {
            let Some(case) = live.get(&i) else { continue };
            let command = match step {
                Step::MergeInto(j) => match live.get(&j) {
                    Some(into) => Command::Merge {
                        into: into.id,
                        reason: text("同一事项重复反映，合并办理。"),
                    },
                    None => {
                        loaded.refused += 1;
                        continue;
                    }
                },
                Step::Do(Command::Assign {
                    body,
                    due_at,
                    complexity,
                    reason,
                }) => Command::Assign {
                    body,
                    due_at: due_at.map(|d| at.plus(Duration::days(d.unix_millis()))),
                    complexity,
                    reason,
                },
                Step::Do(Command::MediationSession {
                    mediators,
                    place,
                    summary,
                    ..
                }) => Command::MediationSession {
                    held_at: at,
                    mediators,
                    place,
                    summary,
                },
                Step::Do(c) => c,
            };
            let actor = if matches!(
                command,
                Command::Accept { .. } | Command::Decline { .. } | Command::Assign { .. }
            ) {
                &clerk
            } else {
                &case.handler
            };
            if count(bulk.act(case.id, &command, actor), &mut loaded)?.is_some() {
                loaded.actions += 1;
            }
        }
        let mut done = Vec::new();
        while let Some(entry) = retire.first_entry() {
            if *entry.key() > day {
                break;
            }
            for i in entry.remove() {
                let Some(case) = live.get(&i) else { continue };
                if case.until + GRACE_DAYS <= day {
                    done.push(live.remove(&i).expect("present").id);
                } else {
                    retire.entry(case.until + GRACE_DAYS).or_default().push(i);
                }
            }
        }
        let write = bulk.end_day(done);
        let judged = started.elapsed();
        if let Some(previous) = writing.take() {
            previous.await.expect("bulk write task panicked")?;
        }
        // Whole microseconds: see the writer's batch log for why.
        tracing::debug!(
            day,
            events = write.events(),
            held = bulk.held(),
            judge_us = judged.as_micros() as u64,
            wait_us = (started.elapsed() - judged).as_micros() as u64,
            "bulk day judged"
        );
        writing = Some(tokio::spawn(write.write()));
    }
    if let Some(previous) = writing.take() {
        previous.await.expect("bulk write task panicked")?;
    }
    // The deadlines the history passed are recorded up to today as the load
    // finishes, so the search index is built once from the cases as they
    // stand.
    clock.set(today);
    loaded.engine = bulk.finish(&ledger).await?;
    ledger.store().refresh_statistics().await?;
    tracing::info!(
        cases = loaded.cases,
        actions = loaded.actions,
        signal_changes = loaded.engine.signal_changes,
        escalations = loaded.engine.escalations,
        "demo data loaded"
    );
    Ok(loaded)
}

/// A fixed spread of times within the working day, varied by day.
fn rng_minutes(day: i64) -> i64 {
    90 + (day.rem_euclid(7) * 41) % 420
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generation_is_deterministic_and_varied() {
        let volume = Volume {
            cases: 300,
            days: DAYS_OF_HISTORY,
            seed: 1,
        };
        let a = scripts(volume);
        let b = scripts(volume);
        assert_eq!(a.len(), 300);
        assert_eq!(
            a.iter()
                .map(|s| s.new.title.to_string())
                .collect::<Vec<_>>(),
            b.iter()
                .map(|s| s.new.title.to_string())
                .collect::<Vec<_>>()
        );
        let merges = a
            .iter()
            .filter(|s| {
                s.steps
                    .iter()
                    .any(|(_, st)| matches!(st, Step::MergeInto(_)))
            })
            .count();
        assert!(merges > 0);
        let kinds: std::collections::BTreeSet<_> = a.iter().map(|s| s.new.kind).collect();
        assert_eq!(kinds.len(), 4, "every case kind appears");
    }

    #[test]
    fn city_is_a_valid_tree_and_every_template_category_has_a_body() {
        let (nodes, bodies) = city::city();
        let tree = jiefen_domain::jurisdiction::JurisdictionTree::build([], nodes).unwrap();
        let taxonomy = jiefen_domain::taxonomy::Taxonomy::default_taxonomy();
        for b in &bodies {
            assert!(tree.get(&b.jurisdiction).is_some(), "{}", b.code);
            for c in &b.categories {
                assert!(taxonomy.get(c).is_some(), "{c}");
            }
        }
        for t in TEMPLATES {
            let c = CategoryCode::parse(t.category).unwrap();
            assert!(
                taxonomy.allows(&c, t.kind),
                "{} for {:?}",
                t.category,
                t.kind
            );
            assert!(bodies.iter().any(|b| b.takes(&c)), "{}", t.category);
        }
    }
}
