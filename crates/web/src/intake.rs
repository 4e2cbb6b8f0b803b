//! What the intake desk sees while a clerk types: the likely categories
//! (top 3 with confidences) and the likely earlier cases — by identity
//! (same person, same respondent and place) and by similar text, with the
//! shared phrases to highlight. And the classifier behind the suggestions,
//! swapped without a restart when a new model is trained.

use crate::auth::Principal;
use crate::error::{ApiError, ErrorBody};
use crate::extract::ApiJson;
use crate::scope::scope_of;
use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use jiefen_domain::case::{CaseId, CaseKind, CaseState};
use jiefen_domain::lifecycle::NewCase;
use jiefen_domain::repeats::RepeatReason;
use jiefen_domain::taxonomy::{CategoryCode, CategorySuggestions, SuggestedCategory, Taxonomy};
use jiefen_domain::Timestamp;
use jiefen_search::Filters;
use jiefen_text::classify::{Document, ModelFile};
use jiefen_text::repeats::{self, judge, shared_phrases, TextPrint};
use jiefen_text::{Lexicon, Segmenter, Suggester};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::SystemTime;
use utoipa::ToSchema;

/// How many categories the intake shows.
pub const SUGGESTIONS: usize = 3;
/// Candidates the text check judges at most, from the full-text index.
pub const TEXT_CANDIDATES: usize = 20;
/// The words of a draft the index chooses the ones it searches by from
/// (`CaseIndex::more_like` asks for the rarest dozen among its cases).
pub const TELLING_WORDS: usize = 40;
/// Likely repeats shown at most; the shared phrases are found for these
/// only (on two long letters that is the dearest step).
pub const SHOWN_REPEATS: usize = 5;

/// The classifier in use and where it came from.
pub struct Classifier {
    pub suggester: Suggester,
    /// `lexicon`, or `model:` and the first hex digits of the file's SHA-256.
    pub source: String,
    modified: Option<SystemTime>,
}

#[derive(Debug, thiserror::Error)]
pub enum ModelLoadError {
    #[error("{path}: {message}")]
    File { path: String, message: String },
}

/// The segmenter and the current classifier, shared by every request.
pub struct Reading {
    pub seg: Arc<Segmenter>,
    current: RwLock<Arc<Classifier>>,
    /// The model file a deployment trains into; absent, the lexicon serves.
    model_path: Option<PathBuf>,
}

impl Reading {
    /// Day one: the curated lexicon, no model file.
    pub fn lexicon(seg: Arc<Segmenter>) -> Self {
        Self {
            seg,
            current: RwLock::new(Arc::new(lexicon_classifier())),
            model_path: None,
        }
    }

    /// The model in `path` if there is one (checked against the taxonomy),
    /// else the lexicon; [`Reading::reload`] looks at the file again.
    pub fn with_model_file(
        seg: Arc<Segmenter>,
        path: PathBuf,
        taxonomy: &Taxonomy,
    ) -> Result<Self, ModelLoadError> {
        let reading = Self {
            seg,
            current: RwLock::new(Arc::new(lexicon_classifier())),
            model_path: Some(path),
        };
        reading.reload(taxonomy, true)?;
        Ok(reading)
    }

    pub fn classifier(&self) -> Arc<Classifier> {
        self.current
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Loads the model file if it changed since it was loaded (or always,
    /// with `force`). A file that cannot be used leaves the classifier in
    /// service as it was. Returns the source now in use.
    pub fn reload(&self, taxonomy: &Taxonomy, force: bool) -> Result<String, ModelLoadError> {
        let Some(path) = &self.model_path else {
            return Ok(self.classifier().source.clone());
        };
        let err = |message: String| ModelLoadError::File {
            path: path.display().to_string(),
            message,
        };
        let modified = match std::fs::metadata(path) {
            Ok(m) => m.modified().ok(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                // No model (or it was removed): back to the lexicon.
                if self.classifier().source != "lexicon" {
                    *self.current.write().unwrap_or_else(|e| e.into_inner()) =
                        Arc::new(lexicon_classifier());
                }
                return Ok("lexicon".into());
            }
            Err(e) => return Err(err(e.to_string())),
        };
        let current = self.classifier();
        if !force && current.modified.is_some() && current.modified == modified {
            return Ok(current.source.clone());
        }
        let text = std::fs::read_to_string(path).map_err(|e| err(e.to_string()))?;
        let file = ModelFile::parse(&text).map_err(|e| err(e.to_string()))?;
        for label in &file.model.labels {
            let known = CategoryCode::parse(label)
                .ok()
                .is_some_and(|c| taxonomy.get(&c).is_some());
            if !known {
                return Err(err(format!(
                    "label {label:?} is not a category of the taxonomy; train the model again"
                )));
            }
        }
        let digest = jiefen_ledger::hash::sha256(&[text.as_bytes()]).to_string();
        let source = format!("model:{}", &digest[..12.min(digest.len())]);
        tracing::info!(%source, examples = file.examples, trained_at = %file.trained_at, "category model loaded");
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(Classifier {
            suggester: Suggester::Trained(file.model),
            source: source.clone(),
            modified,
        });
        Ok(source)
    }

    /// The likeliest categories a case of `kind` may have. A model that
    /// knows none for this kind (one trained on requests, asked about a
    /// dispute) gives way to the lexicon.
    pub fn suggest(
        &self,
        taxonomy: &Taxonomy,
        kind: CaseKind,
        doc: &Document,
    ) -> CategorySuggestions {
        let classifier = self.classifier();
        let allowed = |code: &str| {
            CategoryCode::parse(code)
                .ok()
                .filter(|c| taxonomy.allows(c, kind))
        };
        // Every label is asked for: the kind may rule out the best ones.
        let pick = |all: Vec<jiefen_text::Suggestion>| -> Vec<SuggestedCategory> {
            all.into_iter()
                .filter_map(|s| {
                    allowed(&s.category).map(|category| SuggestedCategory {
                        category,
                        permille: (s.confidence.clamp(0.0, 1.0) * 1000.0).round() as u16,
                    })
                })
                .take(SUGGESTIONS)
                .collect()
        };
        let suggested = pick(classifier.suggester.suggest(&self.seg, doc, usize::MAX));
        if suggested.is_empty() && classifier.source != "lexicon" {
            return CategorySuggestions {
                source: "lexicon".into(),
                suggested: pick(Lexicon::builtin().suggest(doc, usize::MAX)),
            };
        }
        CategorySuggestions {
            source: classifier.source.clone(),
            suggested,
        }
    }
}

fn lexicon_classifier() -> Classifier {
    Classifier {
        suggester: Suggester::Lexicon(Lexicon::builtin().clone()),
        source: "lexicon".into(),
        modified: None,
    }
}

/// A case as far as the clerk has typed it.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Draft {
    pub kind: CaseKind,
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub description: String,
    /// With parties and a jurisdiction, earlier cases of the same person or
    /// the same respondent and place are found too.
    #[serde(default)]
    pub case: Option<NewCase>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CategoryView {
    pub category: CategoryCode,
    pub name: String,
    /// Confidence in thousandths.
    pub permille: u16,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LikelyRepeat {
    pub case_id: CaseId,
    pub number: String,
    pub title: String,
    pub state: CaseState,
    pub registered_at: Timestamp,
    /// same_id_number, same_phone, same_respondent_and_place, similar_text.
    pub reasons: Vec<String>,
    /// Why, in Chinese, for the screen.
    pub reasons_zh: Vec<String>,
    /// near_exact or rephrased, when the text is similar.
    pub text_match: Option<&'static str>,
    /// 0–1, when the text is similar.
    pub similarity: Option<f64>,
    /// Passages of the draft found in the earlier case, longest first.
    pub shared_phrases: Vec<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Preview {
    /// Send back as `case.suggestions` when registering, so the choice is
    /// recorded against them.
    #[schema(value_type = Object)]
    pub suggestions: CategorySuggestions,
    pub categories: Vec<CategoryView>,
    /// Earlier cases in the caller's scope this may repeat, strongest first.
    pub repeats: Vec<LikelyRepeat>,
    /// With a whole draft `case`: what registering it would record now.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub registration: Option<WouldRegister>,
}

/// What registering the draft would record, by the registration's own
/// rules (`lifecycle::dry_register`), or why it would be refused.
#[derive(Debug, Serialize, ToSchema)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum WouldRegister {
    Registered {
        risk: jiefen_domain::case::RiskLevel,
        /// Why, each in words a clerk can check.
        risk_reasons: Vec<String>,
        /// The body and level the routing table proposes, with reasons;
        /// absent when no body in or above the place takes the category.
        #[schema(value_type = Option<Object>)]
        routing: Option<jiefen_domain::routing::Proposal>,
        /// The decision on acceptance it waits for, when its kind has one.
        acceptance_due_at: Option<jiefen_domain::Timestamp>,
        /// How that deadline was counted (working days, holidays).
        acceptance_deadline: Option<String>,
    },
    Refused {
        field: Option<String>,
        message: String,
    },
}

impl WouldRegister {
    fn of(app: &AppState, principal: &Principal, new: &NewCase) -> Self {
        use jiefen_domain::lifecycle::Reference;
        let refs = app.ledger.refs();
        let now = app.ledger.clock().now();
        match jiefen_domain::lifecycle::dry_register(new, principal.actor(), now, &*refs) {
            Ok(case) => {
                let acceptance = match &case.stage {
                    jiefen_domain::case::Stage::Registered {
                        acceptance: Some(a),
                    } => Some(a),
                    _ => None,
                };
                WouldRegister::Registered {
                    risk: case.risk,
                    risk_reasons: case.risk_reasons.iter().map(|r| r.detail.clone()).collect(),
                    routing: refs.propose_route(&case),
                    acceptance_due_at: acceptance.map(|a| a.due_at),
                    acceptance_deadline: acceptance.map(|a| a.deadline.text_zh()),
                }
            }
            Err(e) => {
                let api =
                    ApiError::from_write(jiefen_store::writer::WriteError::from(e), Some("case"));
                WouldRegister::Refused {
                    field: api.field,
                    message: api.message,
                }
            }
        }
    }
}

#[utoipa::path(
    post,
    path = "/api/v1/intake/preview",
    operation_id = "intake_preview",
    description = "While a case is being typed: the likeliest categories for its kind (top 3, confidences in thousandths) \
                   and earlier cases in the caller's scope it may repeat, with why and the shared phrases. Nothing is written.",
    tag = "cases",
    request_body = Draft,
    responses(
        (status = 200, body = Preview),
        (status = 400, description = "`malformed_json`", body = ErrorBody),
        (status = 422, description = "`invalid_request`", body = ErrorBody),
    )
)]
pub async fn preview(
    State(app): State<Arc<AppState>>,
    principal: Principal,
    ApiJson(draft): ApiJson<Draft>,
) -> Result<Json<Preview>, ApiError> {
    let (title, description) = match &draft.case {
        Some(c) => (
            c.title.as_str().to_owned(),
            c.description.as_str().to_owned(),
        ),
        None => (
            draft.title.trim().to_owned(),
            draft.description.trim().to_owned(),
        ),
    };
    let limit = jiefen_domain::text::Text::MAX_CHARS;
    if title.chars().count() + description.chars().count() > limit {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_request",
            format!("title and description are longer than {limit} characters"),
        )
        .with_field("description"));
    }
    let refs = app.ledger.refs();
    let reading = app.reading.clone();
    let doc = Document::new(title.clone(), description.clone());
    let kind = draft.kind;
    let taxonomy = refs.taxonomy.clone();
    let (suggestions, words, print) = tokio::task::spawn_blocking(move || {
        let suggestions = reading.suggest(&taxonomy, kind, &doc);
        let words = repeats::telling_words(&reading.seg, &doc.title, &doc.detail, TELLING_WORDS);
        let print = TextPrint::of(&reading.seg, &doc.title, &doc.detail);
        (suggestions, words, print)
    })
    .await?;
    let categories = suggestions
        .suggested
        .iter()
        .map(|s| CategoryView {
            name: refs
                .taxonomy
                .get(&s.category)
                .map(|c| c.name.clone())
                .unwrap_or_default(),
            category: s.category.clone(),
            permille: s.permille,
        })
        .collect();

    // Identity: what registering would record.
    let mut found: Vec<(CaseId, Vec<RepeatReason>)> = match &draft.case {
        Some(new) => app
            .ledger
            .identity_repeats(new)
            .await?
            .into_iter()
            .map(|r| (r.case_id, r.reasons))
            .collect(),
        None => Vec::new(),
    };

    // Text: candidates from the index within the repeat window, judged.
    let scope = scope_of(&app, &principal);
    let since = refs
        .rules
        .policy
        .repeats
        .since_ms(app.ledger.clock().now().unix_millis());
    let mut filters = Filters::scoped(crate::search::index_scope(&scope));
    filters.registered_from_ms = Some(since);
    // The earlier cases the text matches, as read for judging.
    let mut texts: Vec<(jiefen_domain::case::Case, jiefen_text::repeats::TextMatch)> = Vec::new();
    if !words.is_empty() {
        crate::search::catch_up_for_read(&app).await?;
        let index = app.search.index().clone();
        let hits =
            tokio::task::spawn_blocking(move || index.more_like(&words, &filters, TEXT_CANDIDATES))
                .await?
                .map_err(|e| ApiError::internal(&e))?;
        let mut candidates = Vec::new();
        for hit in hits {
            if let Some(case) = CaseId::parse(&hit.id) {
                if let Some(c) = app.ledger.get(case).await? {
                    candidates.push(c);
                }
            }
        }
        let reading = app.reading.clone();
        // Best-ranked first, until as many repeats as are shown: reading a
        // candidate's text is the dearest step, and the index ranks a
        // near-copy first.
        texts = tokio::task::spawn_blocking(move || {
            candidates
                .into_iter()
                .filter_map(|c| {
                    let old = TextPrint::of(&reading.seg, c.title.as_str(), c.description.as_str());
                    judge(&print, &old).map(|m| (c, m))
                })
                .take(SHOWN_REPEATS)
                .collect()
        })
        .await?;
    }

    // One entry per earlier case, every reason found; identity before text,
    // then the most similar.
    for (case, _) in &texts {
        if !found.iter().any(|(f, _)| *f == case.id) {
            found.push((case.id, Vec::new()));
        }
    }
    let mut listed: Vec<(LikelyRepeat, Option<String>)> = Vec::new();
    for (id, reasons) in found {
        let text = texts.iter().find(|(c, _)| c.id == id);
        let read;
        let case = match text {
            Some((c, _)) => c,
            None => match app.ledger.get(id).await? {
                Some(c) => {
                    read = c;
                    &read
                }
                None => continue,
            },
        };
        let jpath = refs.path(&case.location.jurisdiction);
        if !scope.admits(
            &jpath,
            case.handled_by.as_ref().map(|b| b.to_string()).as_deref(),
        ) {
            continue;
        }
        let mut codes: Vec<String> = reasons.iter().map(|r| r.as_str().to_owned()).collect();
        let mut zh: Vec<String> = reasons.iter().map(|r| r.zh().to_owned()).collect();
        if let Some((_, m)) = text {
            codes.push("similar_text".into());
            zh.push(m.kind.zh().to_owned());
        }
        let repeat = LikelyRepeat {
            case_id: case.id,
            number: case.number.clone(),
            title: case.title.as_str().to_owned(),
            state: case.state(),
            registered_at: case.registered_at,
            reasons: codes,
            reasons_zh: zh,
            text_match: text.map(|(_, m)| m.kind.as_str()),
            similarity: text.map(|(_, m)| (m.similarity * 1000.0).round() / 1000.0),
            shared_phrases: Vec::new(),
        };
        let old_text = text.map(|(c, _)| format!("{}\n{}", c.title, c.description));
        listed.push((repeat, old_text));
    }
    listed.sort_by(|(a, _), (b, _)| {
        let identity = |r: &LikelyRepeat| r.reasons.iter().filter(|c| *c != "similar_text").count();
        identity(b).cmp(&identity(a)).then(
            b.similarity
                .unwrap_or(0.0)
                .total_cmp(&a.similarity.unwrap_or(0.0)),
        )
    });
    listed.truncate(SHOWN_REPEATS);
    let draft_text = format!("{title}\n{description}");
    let repeats = tokio::task::spawn_blocking(move || {
        listed
            .into_iter()
            .map(|(mut repeat, old_text)| {
                if let Some(old) = old_text {
                    repeat.shared_phrases = shared_phrases(&draft_text, &old, 4, 5);
                }
                repeat
            })
            .collect()
    })
    .await?;
    let registration = draft
        .case
        .as_ref()
        .map(|new| WouldRegister::of(&app, &principal, new));
    Ok(Json(Preview {
        suggestions,
        categories,
        repeats,
        registration,
    }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ModelStatus {
    /// `lexicon`, or `model:` and the model file's digest.
    pub source: String,
    /// How many categories it can suggest.
    pub categories: usize,
}

#[utoipa::path(
    post,
    path = "/api/v1/model/reload",
    operation_id = "reload_model",
    description = "Load the category model file again (the server also notices a new file by itself within a tick). \
                   A file that cannot be used leaves the classifier in service unchanged.",
    tag = "cases",
    responses(
        (status = 200, body = ModelStatus),
        (status = 422, description = "`unusable_model`: the file's problem", body = ErrorBody),
    )
)]
pub async fn reload(State(app): State<Arc<AppState>>) -> Result<Json<ModelStatus>, ApiError> {
    let taxonomy = app.ledger.refs().taxonomy.clone();
    let reading = app.reading.clone();
    tokio::task::spawn_blocking(move || reading.reload(&taxonomy, true))
        .await?
        .map_err(|e| {
            ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "unusable_model",
                e.to_string(),
            )
        })?;
    let c = app.reading.classifier();
    Ok(Json(ModelStatus {
        source: c.source.clone(),
        categories: c.suggester.categories(),
    }))
}
