//! The reference data decisions are checked against, held in memory.

use crate::rows::ScopeFilter;
use jiefen_domain::access::CaseScope;
use jiefen_domain::body::{Body, BodyCode};
use jiefen_domain::jurisdiction::{Jurisdiction, JurisdictionCode, JurisdictionTree};
use jiefen_domain::lifecycle::Reference;
use jiefen_domain::policy::Rules;
use jiefen_domain::taxonomy::Taxonomy;
use std::collections::HashMap;

/// A consistent snapshot: replaced whole on import, never edited in place,
/// so a decision never sees half an import.
#[derive(Debug, Clone)]
pub struct RefData {
    pub tree: JurisdictionTree,
    pub bodies: HashMap<BodyCode, Body>,
    pub taxonomy: Taxonomy,
    pub rules: std::sync::Arc<Rules>,
}

impl RefData {
    pub fn new(
        tree: JurisdictionTree,
        bodies: Vec<Body>,
        taxonomy: Taxonomy,
        rules: std::sync::Arc<Rules>,
    ) -> Self {
        Self {
            tree,
            bodies: bodies.into_iter().map(|b| (b.code.clone(), b)).collect(),
            taxonomy,
            rules,
        }
    }

    pub fn path(&self, code: &JurisdictionCode) -> String {
        self.tree.path(code)
    }

    /// A staff member's case scope in the projection's terms.
    pub fn scope_filter(&self, scope: &CaseScope) -> ScopeFilter {
        match scope {
            CaseScope::Subtree(node) => ScopeFilter::Subtree(self.path(node)),
            CaseScope::Body(body) => ScopeFilter::Body(body.to_string()),
            CaseScope::Nothing => ScopeFilter::Nothing,
        }
    }

    /// The rules for a case in `jurisdiction` (the nearest override).
    pub fn rules_at(&self, jurisdiction: &JurisdictionCode) -> &Rules {
        self.rules.at(self
            .tree
            .ancestry(jurisdiction)
            .into_iter()
            .map(|n| &n.code))
    }
}

impl Reference for RefData {
    fn jurisdiction(&self, code: &JurisdictionCode) -> Option<&Jurisdiction> {
        self.tree.get(code)
    }
    fn body(&self, code: &BodyCode) -> Option<&Body> {
        self.bodies.get(code)
    }
    fn taxonomy(&self) -> &Taxonomy {
        &self.taxonomy
    }
    fn rules_at(&self, jurisdiction: &JurisdictionCode) -> &Rules {
        RefData::rules_at(self, jurisdiction)
    }
    fn propose_route(
        &self,
        case: &jiefen_domain::case::Case,
    ) -> Option<jiefen_domain::routing::Proposal> {
        let routing = &self.rules_at(&case.location.jurisdiction).policy.routing;
        jiefen_domain::routing::propose(case, routing, &self.tree, self.bodies.values())
    }
}
