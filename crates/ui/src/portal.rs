//! The citizens' portal 群众端, made for a phone: bring a matter, follow it
//! by its receipt code and the last four digits of the phone given, rate
//! the answer, ask for a review. No account, no session.
//!
//! Following a matter is a POST (`/portal/track`), so neither the code nor
//! the digits ever sit in a URL, a history or a log; it goes through the
//! API's own lookup ([`jiefen_web::portal::open`]), with its counting of
//! failures and the one answer for every way the two can be wrong. Bringing
//! a matter, rating and asking for review are the API's public endpoints,
//! called by the script, which then opens the matter again to show it.

use crate::chrome::Chrome;
use crate::intake::{category_groups, places, CategoryGroup, Choice};
use crate::render;
use axum::extract::State;
use axum::http::{Extensions, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use jiefen_domain::case::{CaseState, ReviewStage, Satisfaction};
use jiefen_domain::jurisdiction::Level;
use jiefen_web::portal::{CitizenView, Track};
use jiefen_web::AppState;
use serde::Deserialize;
use std::sync::Arc;

#[derive(askama::Template)]
#[template(path = "portal.html")]
pub struct Landing {
    pub c: Chrome,
    /// Why the last attempt to open a matter failed, as a message key.
    pub problem: Option<&'static str>,
    pub code: String,
}

pub async fn landing(c: Chrome) -> Response {
    render(
        StatusCode::OK,
        &Landing {
            c,
            problem: None,
            code: String::new(),
        },
    )
}

#[derive(askama::Template)]
#[template(path = "portal_submit.html")]
pub struct Submit {
    pub c: Chrome,
    pub categories: Vec<CategoryGroup>,
    pub places: Vec<Choice>,
    pub title_max: usize,
    pub description_max: usize,
}

pub async fn submit(State(app): State<Arc<AppState>>, c: Chrome) -> Response {
    let refs = app.ledger.refs();
    // A person knows their town or village, not the county's offices.
    let places = places(&refs.tree, None, |n| {
        matches!(n.level, Level::Town | Level::Village)
    });
    render(
        StatusCode::OK,
        &Submit {
            c,
            categories: category_groups(&refs.taxonomy),
            places,
            title_max: jiefen_web::portal::MAX_TITLE_CHARS,
            description_max: jiefen_web::portal::MAX_DESCRIPTION_CHARS,
        },
    )
}

#[derive(Deserialize)]
pub struct TrackForm {
    receipt_code: String,
    phone_last4: String,
    /// Set when the matter was brought a moment ago: the page then says to
    /// keep the code.
    #[serde(default)]
    fresh: Option<String>,
}

#[derive(askama::Template)]
#[template(path = "portal_matter.html")]
pub struct Matter {
    pub c: Chrome,
    pub v: CitizenView,
    pub fresh: bool,
    /// What opened it, carried by the rate and review forms and the refresh.
    pub code: String,
    pub last4: String,
    pub kind: String,
    pub state: String,
    pub registered: String,
    pub due: Option<String>,
    pub outcome: Option<String>,
    pub concluded: Option<String>,
    pub rated: Option<String>,
    pub review: Option<String>,
    pub ratings: Vec<(&'static str, String)>,
    /// The steps of a matter's life, each marked done, current or ahead.
    pub steps: Vec<(String, &'static str)>,
}

/// A GET of the follow URL (a bookmark, a language switch) starts again.
pub async fn track_again() -> Redirect {
    Redirect::to("/portal")
}

pub async fn track(
    State(app): State<Arc<AppState>>,
    c: Chrome,
    extensions: Extensions,
    Form(form): Form<TrackForm>,
) -> Response {
    let address = jiefen_web::auth::client_address(&extensions);
    let asked = Track {
        receipt_code: form.receipt_code.trim().to_ascii_uppercase(),
        phone_last4: form.phone_last4.trim().to_owned(),
    };
    let case = match jiefen_web::portal::open(&app, address, &asked).await {
        Ok(case) => case,
        Err(refused) => {
            let (status, problem) = match refused.status() {
                StatusCode::TOO_MANY_REQUESTS => (StatusCode::TOO_MANY_REQUESTS, "portal.too_many"),
                StatusCode::NOT_FOUND => (StatusCode::NOT_FOUND, "portal.no_match"),
                _ => return refused.into_response(),
            };
            return render(
                status,
                &Landing {
                    c,
                    problem: Some(problem),
                    code: asked.receipt_code,
                },
            );
        }
    };
    let v = CitizenView::new(&app, &case);
    let t = c.t;
    let time = crate::case::local_time;
    let page = Matter {
        fresh: form.fresh.is_some(),
        code: asked.receipt_code,
        last4: asked.phone_last4,
        kind: t.of("kind", v.kind.as_str()),
        state: t.of("state", v.state.as_str()),
        registered: time(v.registered_at),
        due: v.deadline.as_ref().map(|d| time(d.due_at)),
        outcome: v
            .answer
            .as_ref()
            .map(|a| t.of("outcome", a.outcome.as_str())),
        concluded: v.answer.as_ref().map(|a| time(a.concluded_at)),
        rated: v.satisfaction.map(|s| t.of("satisfaction", s.as_str())),
        review: v.review.map(|r| t.of("review", r.as_str())),
        ratings: Satisfaction::ALL
            .iter()
            .map(|s| (s.as_str(), t.of("satisfaction", s.as_str())))
            .collect(),
        steps: steps(&t, v.state, v.review),
        v,
        c,
    };
    render(StatusCode::OK, &page)
}

/// Where the matter is on the way a person expects it to go: registered,
/// accepted, being handled, answered, rated. A matter that left that way
/// (declined, merged, referred) ends at the step it left from.
fn steps(
    t: &crate::i18n::Tr,
    state: CaseState,
    review: Option<ReviewStage>,
) -> Vec<(String, &'static str)> {
    use CaseState as S;
    let reached = match state {
        S::Registered => 0,
        S::Accepted if review.is_some() => 2,
        S::Accepted | S::Declined | S::Merged | S::Referred => 1,
        S::Assigned | S::InProgress | S::Paused => 2,
        S::Concluded => 3,
        S::FollowedUp | S::Archived => 4,
    };
    ["registered", "accepted", "handling", "answered", "rated"]
        .iter()
        .enumerate()
        .map(|(i, step)| {
            let mark = match i.cmp(&reached) {
                std::cmp::Ordering::Less => "done",
                std::cmp::Ordering::Equal => "current",
                std::cmp::Ordering::Greater => "ahead",
            };
            (t.get(&format!("portal.step.{step}")).to_owned(), mark)
        })
        .collect()
}
