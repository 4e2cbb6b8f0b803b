//! The citizens' portal: submit a matter, follow it with the receipt code
//! and the last four digits of the phone given, rate the answer, ask for a
//! review. No account: the receipt code is the secret (10 characters of a
//! 31-letter alphabet), the phone digits a second factor.
//!
//! Guessing is slowed and answers give nothing away: a wrong code and a
//! wrong phone get the same 404; failures are counted per client address
//! ([`LOOKUP_FAILURES_PER_ADDRESS`]) and per receipt code
//! ([`LOOKUP_FAILURES_PER_CODE`]) within [`LOOKUP_WINDOW`], after which 429
//! answers until the window has passed; every failure is in the security
//! log (the address, never the code or digits tried). A citizen sees the
//! state, deadline and answer of their case, never staff notes, staff names
//! or any party's data.

use crate::error::{ApiError, ErrorBody};
use crate::extract::{decode, read_body};
use crate::{auth::client_address, AppState};
use axum::extract::{FromRequest, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use jiefen_domain::audit::{AuditAction, AuditEntry};
use jiefen_domain::case::{
    Case, CaseKind, CaseState, Channel, Outcome, ReviewStage, Satisfaction, Stage,
};
use jiefen_domain::jurisdiction::JurisdictionCode;
use jiefen_domain::lifecycle::{Actor, Command, NewCase};
use jiefen_domain::party::{
    IdNumber, NewParty, PartyKind, PartyRole, PersonalFieldKind, PhoneNumber,
};
use jiefen_domain::taxonomy::CategoryCode;
use jiefen_domain::{Text, Timestamp};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use subtle::ConstantTimeEq;
use time::Duration;
use utoipa::ToSchema;

/// Largest body a public request may send: a title and a long description
/// in Chinese fit; a flood does not.
pub const PUBLIC_JSON_LIMIT: usize = 16 * 1024;
pub const MAX_TITLE_CHARS: usize = 100;
pub const MAX_DESCRIPTION_CHARS: usize = 4000;
/// New matters per client address per [`SUBMISSION_WINDOW`].
pub const SUBMISSIONS_PER_ADDRESS: usize = 5;
pub const SUBMISSION_WINDOW: Duration = Duration::hours(1);
pub const LOOKUP_FAILURES_PER_ADDRESS: usize = 10;
pub const LOOKUP_FAILURES_PER_CODE: usize = 5;
pub const LOOKUP_WINDOW: Duration = Duration::minutes(15);

/// The actor recorded on what citizens do through the portal.
const CITIZEN: &str = "citizen";

/// A public JSON body: small, and refused in the one shape.
pub struct PublicJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for PublicJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, _: &S) -> Result<Self, ApiError> {
        let is_json =
            crate::extract::media_type(req.headers()).is_some_and(|m| m == "application/json");
        if !is_json {
            return Err(ApiError::unsupported_media_type(
                "the request body must be JSON with Content-Type: application/json",
            ));
        }
        let bytes = read_body(req, PUBLIC_JSON_LIMIT).await?;
        decode(&bytes).map(PublicJson)
    }
}

/// A matter brought through the portal. The person who brings it is its
/// applicant; the phone is how they follow it.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Submission {
    /// Left out, the first kind the category is for (a neighbour's noise
    /// is a dispute, a parking problem a request): people should not need
    /// to know the difference.
    #[serde(default)]
    pub kind: Option<CaseKind>,
    #[schema(value_type = String, example = "property_mgmt.parking")]
    pub category: CategoryCode,
    #[schema(example = "小区停车位被占用")]
    pub title: Text,
    pub description: Text,
    /// Where it happens: a jurisdiction code from `/api/v1/jurisdictions`.
    #[schema(value_type = String, example = "341721100201")]
    pub jurisdiction: JurisdictionCode,
    #[serde(default)]
    pub address: Option<Text>,
    #[schema(example = "张三")]
    pub name: Text,
    /// A mainland mobile number; its last four digits unlock following the
    /// matter.
    #[schema(value_type = String, example = "13812345678")]
    pub phone: PhoneNumber,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub id_number: Option<IdNumber>,
}

impl std::fmt::Debug for Submission {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Submission")
            .field("kind", &self.kind)
            .field("category", &self.category)
            .finish_non_exhaustive()
    }
}

/// The receipt to keep: the number to quote, the code to follow it by.
#[derive(Debug, Serialize, ToSchema)]
pub struct Receipt {
    pub number: String,
    /// With the last four digits of the phone given, opens the matter's
    /// page. Keep it: it is shown only now.
    pub receipt_code: String,
    pub view: CitizenView,
}

#[utoipa::path(
    post,
    path = "/api/v1/public/cases",
    operation_id = "submit_case",
    tag = "portal",
    request_body = Submission,
    responses(
        (status = 201, description = "Registered; the receipt is shown once", body = Receipt),
        (status = 413, description = "`payload_too_large` (over 16 KiB)", body = ErrorBody),
        (status = 422, description = "`invalid_request` (with `field`), `unknown_jurisdiction`, `unknown_category`", body = ErrorBody),
        (status = 429, description = "`too_many_attempts`: 5 submissions per address per hour", body = ErrorBody),
    )
)]
pub async fn submit(State(app): State<Arc<AppState>>, req: Request) -> Result<Response, ApiError> {
    let address = client_address(req.extensions());
    let key = format!("submit:{}", address.as_deref().unwrap_or("unknown"));
    let now = app.ledger.clock().now();
    if let Some(wait) = app.submissions.blocked(&key, SUBMISSIONS_PER_ADDRESS, now) {
        return Ok(ApiError::too_many_attempts(
            wait,
            "too many submissions from this address; try again later",
        ));
    }
    let PublicJson(s) = PublicJson::<Submission>::from_request(req, &()).await?;
    let long = |field: &str, max: usize| {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_request",
            format!("{field} has at most {max} characters"),
        )
        .with_field(field)
    };
    if s.title.as_str().chars().count() > MAX_TITLE_CHARS {
        return Err(long("title", MAX_TITLE_CHARS));
    }
    if s.description.as_str().chars().count() > MAX_DESCRIPTION_CHARS {
        return Err(long("description", MAX_DESCRIPTION_CHARS));
    }
    let kind = s.kind.unwrap_or_else(|| {
        app.ledger
            .refs()
            .taxonomy
            .get(&s.category)
            .and_then(|c| c.kinds.first().copied())
            .unwrap_or(CaseKind::Request)
    });
    let new = NewCase {
        kind,
        channel: Channel::Web,
        category: s.category,
        title: s.title,
        description: s.description,
        jurisdiction: s.jurisdiction,
        address: s.address.clone(),
        coordinates: None,
        people_involved: 1,
        parties: vec![NewParty {
            role: PartyRole::Applicant,
            kind: PartyKind::Person,
            name: s.name,
            id_number: s.id_number,
            phone: Some(s.phone),
            address: s.address,
        }],
        risk: None,
        suggestions: None,
    };
    app.submissions.record(&key, now);
    let outcome = app
        .ledger
        .create(new, citizen(), None)
        .await
        .map_err(|e| ApiError::from_write(e, None))?;
    let case = app
        .ledger
        .get(outcome.case_id)
        .await?
        .ok_or_else(|| ApiError::no_case(outcome.case_id))?;
    let receipt = Receipt {
        number: case.number.clone(),
        receipt_code: case.receipt_code.clone(),
        view: CitizenView::new(&app, &case),
    };
    Ok((StatusCode::CREATED, Json(receipt)).into_response())
}

fn citizen() -> Actor {
    Actor::parse(CITIZEN).expect("a valid actor")
}

/// How a citizen names their matter.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Track {
    #[schema(example = "K7M2QX9PAB")]
    pub receipt_code: String,
    /// The last four digits of the phone given when the matter was brought.
    #[schema(example = "5678")]
    pub phone_last4: String,
}

impl std::fmt::Debug for Track {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Track(..)")
    }
}

/// What a citizen sees of their matter.
#[derive(Debug, Serialize, ToSchema)]
pub struct CitizenView {
    pub number: String,
    pub kind: CaseKind,
    #[schema(example = "求助")]
    pub kind_label: &'static str,
    pub category_label: String,
    pub title: String,
    pub registered_at: Timestamp,
    pub state: CaseState,
    #[schema(example = "办理中")]
    pub state_label: &'static str,
    /// The running deadline (the decision on acceptance, then handling),
    /// with how it was reckoned.
    pub deadline: Option<CitizenDeadline>,
    /// Who is handling it.
    pub handled_by: Option<String>,
    /// Why it was not accepted, when it was not.
    pub declined_reason: Option<String>,
    pub answer: Option<Answer>,
    pub satisfaction: Option<Satisfaction>,
    pub review: Option<ReviewStage>,
    /// Whether `rate` would be accepted now.
    pub may_rate: bool,
    /// Whether `review` may be asked now (the time limit is checked when
    /// asked).
    pub may_ask_review: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CitizenDeadline {
    pub due_at: Timestamp,
    /// Null for a deadline staff set by hand.
    #[schema(example = "自2026-03-02登记起15日，至2026-03-17届满")]
    pub explanation: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Answer {
    pub outcome: Outcome,
    pub outcome_label: &'static str,
    pub summary: String,
    /// The terms agreed, for a mediated agreement.
    pub agreement: Option<String>,
    pub concluded_at: Timestamp,
}

impl CitizenView {
    pub fn new(app: &AppState, case: &Case) -> Self {
        let refs = app.ledger.refs();
        let state = case.state();
        let deadline = match &case.stage {
            Stage::Registered {
                acceptance: Some(a),
            } => Some(CitizenDeadline {
                due_at: a.due_at,
                explanation: Some(a.deadline.text_zh()),
            }),
            stage => stage.assignment().map(|a| CitizenDeadline {
                due_at: a.due_at,
                explanation: a.deadline.as_ref().map(|d| d.text_zh()),
            }),
        };
        let declined_reason = match &case.stage {
            Stage::Declined { reason } => Some(reason.as_str().to_owned()),
            _ => None,
        };
        let answer = case.conclusion.as_ref().map(|c| Answer {
            outcome: c.outcome,
            outcome_label: c.outcome.zh(),
            summary: c.summary.as_str().to_owned(),
            agreement: c.agreement.as_ref().map(|a| a.text.as_str().to_owned()),
            concluded_at: c.concluded_at,
        });
        Self {
            number: case.number.clone(),
            kind: case.kind,
            kind_label: case.kind.zh(),
            category_label: refs
                .taxonomy
                .get(&case.category)
                .map(|c| c.name.clone())
                .unwrap_or_else(|| case.category.to_string()),
            title: case.title.as_str().to_owned(),
            registered_at: case.registered_at,
            state,
            state_label: state.zh(),
            deadline,
            handled_by: case
                .handled_by
                .as_ref()
                .and_then(|b| refs.bodies.get(b))
                .map(|b| b.name.clone()),
            declined_reason,
            answer,
            satisfaction: case.follow_up.as_ref().map(|f| f.satisfaction),
            review: case.review,
            may_rate: state == CaseState::Concluded,
            may_ask_review: matches!(state, CaseState::Concluded | CaseState::FollowedUp)
                && case.review != Some(ReviewStage::ReReview),
        }
    }
}

/// The case a receipt code and phone digits open, or the one refusal for
/// every way they can be wrong (counted against the address and the code).
pub async fn open(
    app: &AppState,
    address: Option<String>,
    track: &Track,
) -> Result<Case, Response> {
    let now = app.ledger.clock().now();
    let code = track.receipt_code.trim().to_ascii_uppercase();
    let by_address = format!("track:{}", address.as_deref().unwrap_or("unknown"));
    let by_code = format!("code:{code}");
    let t = &app.lookups;
    let blocked = t
        .blocked(&by_address, LOOKUP_FAILURES_PER_ADDRESS, now)
        .max(t.blocked(&by_code, LOOKUP_FAILURES_PER_CODE, now));
    if let Some(wait) = blocked {
        return Err(ApiError::too_many_attempts(
            wait,
            "too many failed attempts; try again later",
        ));
    }
    let plausible = code.len() == 10
        && code.bytes().all(|b| b.is_ascii_alphanumeric())
        && track.phone_last4.len() == 4
        && track.phone_last4.bytes().all(|b| b.is_ascii_digit());
    let found = if plausible {
        matching(app, &code, &track.phone_last4)
            .await
            .map_err(IntoResponse::into_response)?
    } else {
        None
    };
    match found {
        Some(case) => Ok(case),
        None => {
            t.record(&by_address, now);
            t.record(&by_code, now);
            app.record(
                AuditEntry::new(now, "anonymous", AuditAction::CitizenLookupFailed)
                    .address(address),
            )
            .await;
            Err(
                ApiError::not_found("no matter matches this receipt code and phone number")
                    .into_response(),
            )
        }
    }
}

async fn matching(app: &AppState, code: &str, last4: &str) -> Result<Option<Case>, ApiError> {
    let Some(case) = app.ledger.case_by_receipt(code).await? else {
        return Ok(None);
    };
    let values = app.ledger.personal_values(case.id).await?;
    let applicants_phones = case
        .parties
        .iter()
        .filter(|p| p.role == PartyRole::Applicant)
        .flat_map(|p| &p.personal)
        .filter(|f| f.field == PersonalFieldKind::Phone)
        .filter_map(|f| values.iter().find(|v| v.commitment == f.commitment));
    let mut matched = false;
    for v in applicants_phones {
        let tail = v.value.as_bytes().get(v.value.len().saturating_sub(4)..);
        matched |= tail.is_some_and(|t| bool::from(t.ct_eq(last4.as_bytes())));
    }
    Ok(matched.then_some(case))
}

#[utoipa::path(
    post,
    path = "/api/v1/public/track",
    operation_id = "track_case",
    tag = "portal",
    request_body = Track,
    responses(
        (status = 200, body = CitizenView),
        (status = 404, description = "`not_found`: the same answer for a wrong code and a wrong phone", body = ErrorBody),
        (status = 429, description = "`too_many_attempts`: 10 failures per address, or 5 per receipt code, in 15 minutes", body = ErrorBody),
    )
)]
pub async fn track(State(app): State<Arc<AppState>>, req: Request) -> Response {
    let address = client_address(req.extensions());
    let track = match PublicJson::<Track>::from_request(req, &()).await {
        Ok(PublicJson(t)) => t,
        Err(e) => return e.into_response(),
    };
    match open(&app, address, &track).await {
        Ok(case) => Json(CitizenView::new(&app, &case)).into_response(),
        Err(refused) => refused,
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Rating {
    pub receipt_code: String,
    pub phone_last4: String,
    pub satisfaction: Satisfaction,
    #[serde(default)]
    pub comment: Option<Text>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReviewAsk {
    pub receipt_code: String,
    pub phone_last4: String,
    /// Why the answer is not accepted.
    pub reason: Text,
}

/// Opens the matter and gives it the citizen's command.
async fn citizen_acts<T: DeserializeOwned>(
    app: &AppState,
    req: Request,
    command: impl FnOnce(T) -> (Track, Command),
) -> Response {
    let address = client_address(req.extensions());
    let (track, command) = match PublicJson::<T>::from_request(req, &()).await {
        Ok(PublicJson(body)) => command(body),
        Err(e) => return e.into_response(),
    };
    let case = match open(app, address, &track).await {
        Ok(c) => c,
        Err(refused) => return refused,
    };
    let written = app.ledger.act(case.id, command, citizen(), None).await;
    if let Err(e) = written {
        return ApiError::from_write(e, None).into_response();
    }
    match app.ledger.get(case.id).await {
        Ok(Some(case)) => Json(CitizenView::new(app, &case)).into_response(),
        Ok(None) => ApiError::no_case(case.id).into_response(),
        Err(e) => ApiError::from(e).into_response(),
    }
}

#[utoipa::path(
    post,
    path = "/api/v1/public/track/rate",
    operation_id = "rate_case",
    tag = "portal",
    request_body = Rating,
    responses(
        (status = 200, description = "Recorded as the matter's follow-up", body = CitizenView),
        (status = 404, description = "`not_found`", body = ErrorBody),
        (status = 409, description = "`illegal_transition`: not concluded, or already rated", body = ErrorBody),
        (status = 429, description = "`too_many_attempts`", body = ErrorBody),
    )
)]
pub async fn rate(State(app): State<Arc<AppState>>, req: Request) -> Response {
    citizen_acts(&app, req, |r: Rating| {
        let track = Track {
            receipt_code: r.receipt_code,
            phone_last4: r.phone_last4,
        };
        let command = Command::FollowUp {
            satisfaction: r.satisfaction,
            note: r.comment,
        };
        (track, command)
    })
    .await
}

#[utoipa::path(
    post,
    path = "/api/v1/public/track/review",
    operation_id = "ask_review",
    tag = "portal",
    request_body = ReviewAsk,
    responses(
        (status = 200, description = "The review is asked for; the level above takes it", body = CitizenView),
        (status = 404, description = "`not_found`", body = ErrorBody),
        (status = 409, description = "`illegal_transition`: not answered yet", body = ErrorBody),
        (status = 422, description = "`invalid`: past the time limit, or a re-review already", body = ErrorBody),
        (status = 429, description = "`too_many_attempts`", body = ErrorBody),
    )
)]
pub async fn ask_review(State(app): State<Arc<AppState>>, req: Request) -> Response {
    citizen_acts(&app, req, |r: ReviewAsk| {
        let track = Track {
            receipt_code: r.receipt_code,
            phone_last4: r.phone_last4,
        };
        (track, Command::RequestReview { reason: r.reason })
    })
    .await
}
