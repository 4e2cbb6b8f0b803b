//! Notices 通知: what the engine and colleagues' actions put in the
//! inboxes that are the user's own work (their own, their body's, their
//! centre's), one inbox at a time, unread first, each marked read through
//! the API. The work queue marks its rows that have unread notices.

use crate::chrome::Chrome;
use crate::{render, PageError};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use jiefen_domain::case::CaseId;
use jiefen_domain::inbox::Recipient;
use jiefen_store::{InboxItem, InboxQuery, UnreadCounts};
use jiefen_web::auth::Principal;
use jiefen_web::extract::QueryParams;
use jiefen_web::{ApiError, AppState};
use std::collections::BTreeMap;
use std::sync::Arc;

const PAGE: u32 = 30;

/// How many notices are unread, as shown: "999+" once a count stopped at
/// its limit (see [`UnreadCounts`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Unread {
    pub n: u64,
    pub more: bool,
}

impl Unread {
    pub fn any(&self) -> bool {
        self.n > 0
    }

    fn add(&mut self, counted: &UnreadCounts) {
        self.n += counted.total();
        self.more |= counted.more();
    }
}

impl From<&UnreadCounts> for Unread {
    fn from(counted: &UnreadCounts) -> Self {
        let mut unread = Self::default();
        unread.add(counted);
        unread
    }
}

impl std::fmt::Display for Unread {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}{}", self.n, if self.more { "+" } else { "" })
    }
}

pub struct Tab {
    pub href: String,
    pub label: String,
    pub unread: Unread,
    pub current: bool,
}

pub struct Item {
    pub id: i64,
    pub case_id: String,
    pub kind: String,
    pub kind_code: &'static str,
    pub text: String,
    pub at: String,
    pub unread: bool,
    pub urgent: bool,
}

#[derive(askama::Template)]
#[template(path = "inbox.html")]
pub struct InboxPage {
    pub c: Chrome,
    pub tabs: Vec<Tab>,
    /// The inbox shown, as the API names it.
    pub recipient: String,
    pub unread: Unread,
    /// Read notices are listed too.
    pub all: bool,
    pub items: Vec<Item>,
    /// The same inbox with read notices shown or hidden.
    pub toggle: String,
    pub next: Option<String>,
}

/// An inbox's name on the page.
fn label(app: &AppState, c: &Chrome, recipient: &Recipient) -> String {
    let refs = app.ledger.refs();
    match recipient {
        Recipient::Staff(_) => c.t.get("inbox.mine").to_owned(),
        Recipient::Body(b) => {
            let name = refs
                .bodies
                .get(b)
                .map_or_else(|| b.to_string(), |b| b.name.clone());
            c.t.fmt("inbox.body", [("name", name.as_str())].as_slice())
        }
        Recipient::Centre(code) => {
            let name = crate::queue::place_name(&refs, code);
            c.t.fmt("inbox.centre", [("name", name.as_str())].as_slice())
        }
    }
}

fn href(recipient: &str, all: bool, before: Option<i64>) -> String {
    let mut h = format!("/inbox?inbox={}", crate::url_encode(recipient));
    if all {
        h.push_str("&all=1");
    }
    if let Some(b) = before {
        h.push_str(&format!("&before={b}"));
    }
    h
}

pub async fn page(
    State(app): State<Arc<AppState>>,
    c: Chrome,
    principal: Principal,
    q: Result<QueryParams, ApiError>,
) -> Result<Response, PageError> {
    let (c, q) = crate::page_params(c, q, &["inbox", "all", "before"])?;
    let own = principal.staff.own_inboxes();
    let parsed = (|| {
        let chosen = q.parse_with("inbox", "one of your own inboxes", |s| {
            Recipient::parse(s).filter(|r| own.contains(r))
        })?;
        let all = q
            .parse_with("all", "1 or 0", |s| match s {
                "1" => Some(true),
                "0" => Some(false),
                _ => None,
            })?
            .unwrap_or(false);
        let before = q.parse_with("before", "the position of a previous page", |s| {
            s.parse::<i64>().ok().filter(|n| *n > 0)
        })?;
        Ok::<_, ApiError>((chosen, all, before))
    })();
    let (chosen, all, before) = match parsed {
        Ok(p) => p,
        Err(e) => return Err(PageError::new(c, e)),
    };
    let mut tabs = Vec::new();
    let mut counts = Vec::new();
    for r in &own {
        let unread = match app.ledger.store().inbox_unread(r).await {
            Ok(counted) => Unread::from(&counted),
            Err(e) => return Err(PageError::new(c, e.into())),
        };
        counts.push(unread);
    }
    // Without a choice, the first inbox with something unread.
    let shown = chosen
        .or_else(|| {
            own.iter()
                .zip(&counts)
                .find(|(_, n)| n.any())
                .map(|(r, _)| r.clone())
        })
        .or_else(|| own.first().cloned());
    for (r, unread) in own.iter().zip(&counts) {
        tabs.push(Tab {
            href: href(&r.to_string(), all, None),
            label: label(&app, &c, r),
            unread: *unread,
            current: Some(r) == shown.as_ref(),
        });
    }
    let Some(recipient) = shown else {
        return Err(PageError::new(
            c,
            ApiError::new(StatusCode::FORBIDDEN, "forbidden", "no inbox is yours"),
        ));
    };
    // The tabs have counted every inbox already: only the page is read.
    let found = app
        .ledger
        .store()
        .inbox(&InboxQuery {
            recipient: recipient.clone(),
            unread_only: !all,
            kind: None,
            before,
            cases: Vec::new(),
            limit: PAGE,
        })
        .await;
    let found = match found {
        Ok(f) => f,
        Err(e) => return Err(PageError::new(c, e.into())),
    };
    let unread = own
        .iter()
        .zip(&counts)
        .find(|(r, _)| **r == recipient)
        .map_or(Unread::default(), |(_, n)| *n);
    let name = recipient.to_string();
    let next = (found.len() == PAGE as usize)
        .then(|| found.iter().map(|i| i.id).min())
        .flatten()
        .map(|b| href(&name, all, Some(b)));
    let items = found.iter().map(|i| item(&c, i)).collect();
    Ok(render(
        StatusCode::OK,
        &InboxPage {
            toggle: href(&name, !all, None),
            unread,
            recipient: name,
            all,
            tabs,
            items,
            next,
            c,
        },
    ))
}

fn item(c: &Chrome, i: &InboxItem) -> Item {
    Item {
        id: i.id,
        case_id: i.case_id.to_string(),
        kind: c.t.of("notice", i.kind.as_str()),
        kind_code: i.kind.as_str(),
        text: i.text.clone(),
        at: crate::case::local_time(i.at),
        unread: i.read_at.is_none(),
        urgent: i.urgent,
    }
}

/// The unread notices about these cases in the user's own inboxes, by
/// case, and how many are unread in those inboxes altogether.
pub async fn unread_for(
    app: &AppState,
    principal: &Principal,
    cases: &[CaseId],
) -> Result<
    (
        BTreeMap<CaseId, Vec<jiefen_domain::inbox::NoticeKind>>,
        Unread,
    ),
    ApiError,
> {
    let mut by_case: BTreeMap<CaseId, Vec<_>> = BTreeMap::new();
    let mut total = Unread::default();
    let store = app.ledger.store();
    for recipient in principal.staff.own_inboxes() {
        total.add(&store.inbox_unread(&recipient).await?);
        if cases.is_empty() {
            continue;
        }
        let items = store
            .inbox(&InboxQuery {
                recipient,
                unread_only: true,
                kind: None,
                before: None,
                cases: cases.to_vec(),
                // Every notice of a page's cases: a case gathers a few.
                limit: 200,
            })
            .await?;
        for i in items {
            let kinds = by_case.entry(i.case_id).or_default();
            if !kinds.contains(&i.kind) {
                kinds.push(i.kind);
            }
        }
    }
    Ok((by_case, total))
}
