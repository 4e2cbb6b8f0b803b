//! The pure domain of Jiefen: what a case is, who handles it, and every move it
//! can make from registration to archive.
//!
//! # Layout
//!
//! - [`text`], [`clock`]: the small value types everything else is built from
//!   (non-empty bounded text, millisecond UTC timestamps).
//! - [`jurisdiction`]: the tree city → county → town → village → grid.
//! - [`body`]: handling bodies and the categories they take.
//! - [`taxonomy`]: the two-level category taxonomy (disputes and requests).
//! - [`party`]: applicants and respondents, with ID-number and phone parsing,
//!   and the split between public facts and personal data.
//! - [`case`]: the case as the projection sees it, with its [`case::Stage`].
//! - [`lifecycle`]: commands, events, `decide` and `apply` — the state machine.
//! - [`calendar`], [`policy`], [`deadlines`]: the working-day calendar, the
//!   rules as data, and statutory deadlines with their explanations.
//! - [`risk`], [`routing`], [`repeats`]: red/yellow/blue risk, where a case
//!   should go, and earlier cases from the same person or place.
//! - [`escalation`]: what the deadline engine does to one case at one
//!   instant; [`inbox`]: who hears about each event.
//!
//! # Invariants
//!
//! - No I/O, no clocks, no randomness: callers pass in `now`, salts, receipt
//!   codes. That is what makes replay deterministic and the property tests
//!   meaningful.
//! - Every state change is an [`lifecycle::Event`]; the case is only ever the
//!   fold of its events ([`lifecycle::replay`]).
//! - Illegal transitions are [`lifecycle::TransitionError`]s, never panics.
//! - Events never hold personal data; they hold salted commitments to it
//!   ([`party::PersonalField`]), so erasing personal data never changes a hash.
#![forbid(unsafe_code)]

#[macro_use]
mod macros;

pub mod access;
pub mod audit;
pub mod body;
pub mod calendar;
pub mod case;
pub mod clock;
pub mod deadlines;
pub mod escalation;
pub mod inbox;
pub mod jurisdiction;
pub mod lifecycle;
pub mod party;
pub mod policy;
pub mod repeats;
pub mod risk;
pub mod routing;
pub mod taxonomy;
pub mod text;

pub use case::{Case, CaseId, CaseKind, CaseState, Channel, RiskLevel, Stage};
pub use clock::Timestamp;
pub use lifecycle::{Action, Command, Event, EventKind, TransitionError};
pub use text::Text;
