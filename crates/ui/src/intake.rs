//! The intake desk 登记: one form for every channel. As the clerk types,
//! the script asks `/api/v1/intake/preview` for the likeliest categories,
//! likely repeats with their reasons, and what registering would record
//! (risk with reasons, the proposed body and level, the acceptance
//! deadline); submitting posts to `/api/v1/cases` and opens the receipt.

use crate::chrome::Chrome;
use crate::render;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use jiefen_domain::case::{CaseKind, Channel};
use jiefen_domain::jurisdiction::{Jurisdiction, JurisdictionCode, JurisdictionTree, Level};
use jiefen_domain::taxonomy::Taxonomy;
use jiefen_web::auth::Principal;
use jiefen_web::AppState;
use std::sync::Arc;

pub struct Choice {
    pub code: String,
    pub label: String,
}

pub struct CategoryGroup {
    pub label: String,
    /// (code, name, the kinds it applies to, space-separated).
    pub items: Vec<(String, String, String)>,
}

#[derive(askama::Template)]
#[template(path = "intake.html")]
pub struct Intake {
    pub c: Chrome,
    pub kinds: Vec<Choice>,
    pub channels: Vec<Choice>,
    pub categories: Vec<CategoryGroup>,
    pub places: Vec<Choice>,
}

pub async fn page(State(app): State<Arc<AppState>>, c: Chrome, principal: Principal) -> Response {
    let refs = app.ledger.refs();
    let t = c.t;
    let kinds = CaseKind::ALL
        .iter()
        .map(|k| Choice {
            code: k.as_str().into(),
            label: t.of("kind", k.as_str()),
        })
        .collect();
    let channels = Channel::ALL
        .iter()
        .filter(|ch| !matches!(ch, Channel::Api))
        .map(|ch| Choice {
            code: ch.as_str().into(),
            label: t.of("channel", ch.as_str()),
        })
        .collect();
    // Where the clerk may register: their subtree, town level and below
    // (a case happens somewhere; a county is rarely the place).
    let home = principal.staff.post.jurisdiction();
    let tree = &refs.tree;
    let places = places(tree, Some(home), |n| {
        principal.staff.may_register_at(&n.code, tree)
            && (n.level >= Level::Town || n.code == *home)
    });
    let categories = category_groups(&refs.taxonomy);
    render(
        StatusCode::OK,
        &Intake {
            c,
            kinds,
            channels,
            categories,
            places,
        },
    )
}

/// The categories under their first-level headings, for a select.
pub fn category_groups(taxonomy: &Taxonomy) -> Vec<CategoryGroup> {
    taxonomy
        .categories()
        .filter(|c| c.parent.is_none())
        .map(|top| CategoryGroup {
            label: top.name.clone(),
            items: taxonomy
                .categories()
                .filter(|c| c.parent.as_ref() == Some(&top.code))
                .map(|c| {
                    let kinds: Vec<&str> = c.kinds.iter().map(|k| k.as_str()).collect();
                    (c.code.to_string(), c.name.clone(), kinds.join(" "))
                })
                .collect(),
        })
        .collect()
}

/// The places `keep` admits, in tree order, each named by its ancestry
/// from `home` down (`东至县 › 尧渡镇 › 城东村`), or from the top.
pub fn places(
    tree: &JurisdictionTree,
    home: Option<&JurisdictionCode>,
    keep: impl Fn(&Jurisdiction) -> bool,
) -> Vec<Choice> {
    let mut places: Vec<(String, Choice)> = tree
        .nodes()
        .filter(|n| keep(n))
        .map(|n| {
            let names: Vec<&str> = tree
                .ancestry(&n.code)
                .into_iter()
                .rev()
                .filter(|a| home.is_none_or(|h| tree.within(&a.code, h)))
                .map(|a| a.name.as_str())
                .collect();
            (
                tree.path(&n.code),
                Choice {
                    code: n.code.to_string(),
                    label: names.join(" › "),
                },
            )
        })
        .collect();
    places.sort_by(|a, b| a.0.cmp(&b.0));
    places.into_iter().map(|(_, c)| c).collect()
}
