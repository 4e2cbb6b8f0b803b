//! Reference data: the jurisdiction tree, handling bodies and the category
//! taxonomy that cases are checked against.

use crate::AppState;
use axum::extract::State;
use axum::Json;
use jiefen_domain::body::Body;
use jiefen_domain::jurisdiction::Jurisdiction;
use jiefen_domain::taxonomy::Category;
use serde::Serialize;
use std::sync::Arc;
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
pub struct JurisdictionList {
    /// Ordered by code.
    pub items: Vec<Jurisdiction>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BodyList {
    /// Ordered by code.
    pub items: Vec<Body>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CategoryList {
    /// Ordered by code; sub-categories name their parent.
    pub items: Vec<Category>,
}

#[utoipa::path(
    get,
    path = "/api/v1/jurisdictions",
    operation_id = "list_jurisdictions",
    tag = "reference",
    responses((status = 200, body = JurisdictionList))
)]
pub async fn jurisdictions(State(app): State<Arc<AppState>>) -> Json<JurisdictionList> {
    let refs = app.ledger.refs();
    Json(JurisdictionList {
        items: refs.tree.nodes().cloned().collect(),
    })
}

#[utoipa::path(
    get,
    path = "/api/v1/bodies",
    operation_id = "list_bodies",
    tag = "reference",
    responses((status = 200, body = BodyList))
)]
pub async fn bodies(State(app): State<Arc<AppState>>) -> Json<BodyList> {
    let refs = app.ledger.refs();
    let mut items: Vec<Body> = refs.bodies.values().cloned().collect();
    items.sort_by(|a, b| a.code.cmp(&b.code));
    Json(BodyList { items })
}

#[utoipa::path(
    get,
    path = "/api/v1/categories",
    operation_id = "list_categories",
    tag = "reference",
    responses((status = 200, body = CategoryList))
)]
pub async fn categories(State(app): State<Arc<AppState>>) -> Json<CategoryList> {
    let refs = app.ledger.refs();
    Json(CategoryList {
        items: refs.taxonomy.categories().cloned().collect(),
    })
}
