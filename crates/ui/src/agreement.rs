//! The mediation agreement 人民调解协议书, generated from the case: the
//! parties, the dispute, the terms the parties agreed, the mediators and the
//! mediating body, and the hash of the case's history at the time, so that
//! a paper copy can be checked against the record. As a printable page and
//! as a PDF with a Chinese font embedded (subset to the characters used).
//!
//! The parties' names are personal data: they are printed in full only for
//! roles that may see full personal data, through the API's audited
//! disclosure (the reason recorded is the agreement's own); others get the
//! masked names.

use crate::case::loaded;
use crate::chrome::Chrome;
use crate::i18n::Tr;
use crate::queue::local_date;
use crate::{error_page, render, PageError};
use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use jiefen_domain::access::Function;
use jiefen_domain::case::Case;
use jiefen_domain::lifecycle::{Event, EventKind};
use jiefen_domain::party::PersonalFieldKind;
use jiefen_web::extract::QueryParams;
use jiefen_web::scope::CaseInScope;
use jiefen_web::{ApiError, AppState};
use krilla::geom::Point;
use krilla::page::PageSettings;
use krilla::text::{Font, TextDirection};
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

/// What the agreement says, gathered from the case and its history.
pub struct Agreement {
    pub number: String,
    pub title: String,
    pub category: String,
    pub place: String,
    pub body: String,
    /// (role, name) of each party.
    pub parties: Vec<(String, String)>,
    pub facts: String,
    pub terms: String,
    pub judicial_confirmation: bool,
    pub mediators: Vec<String>,
    pub concluded: String,
    /// The history's last hash and its sequence number when generated.
    pub head: String,
    pub seq: u64,
    pub names_masked: bool,
}

#[derive(askama::Template)]
#[template(path = "agreement.html")]
struct AgreementPage {
    c: Chrome,
    a: Agreement,
    id: String,
}

async fn gather(
    app: &AppState,
    found: &CaseInScope,
    case: &Case,
    t: &Tr,
) -> Result<Agreement, ApiError> {
    let (Some(conclusion), Some(agreement)) = (
        case.conclusion.as_ref(),
        case.conclusion.as_ref().and_then(|c| c.agreement.as_ref()),
    ) else {
        return Err(ApiError::not_found("this case has no mediation agreement"));
    };
    let full = found.principal.staff.may(Function::ViewPersonalData);
    let q = if full {
        QueryParams::from(vec![
            ("full".to_owned(), "true".to_owned()),
            (
                "reason".to_owned(),
                t.get("agreement.audit_reason").to_owned(),
            ),
        ])
    } else {
        QueryParams::default()
    };
    let parties = jiefen_web::cases::parties_of(app, found, &q)
        .await?
        .parties
        .into_iter()
        .map(|p| {
            let name = p
                .personal
                .iter()
                .find(|f| f.field == PersonalFieldKind::Name)
                .and_then(|f| f.value.clone().or_else(|| f.masked.clone()));
            let role = t.of("party_role", &crate::case::code(p.role));
            (role, p.organisation.or(name).unwrap_or_default())
        })
        .collect();
    let rows = app.ledger.history(found.id).await?;
    let mut mediators: Vec<String> = Vec::new();
    for row in &rows {
        if row.kind != "mediation_session_held" {
            continue;
        }
        if let Ok(Event {
            kind: EventKind::MediationSessionHeld { mediators: m, .. },
            ..
        }) = serde_json::from_str::<Event>(&row.body)
        {
            for name in m {
                if !mediators.iter().any(|x| x == name.as_str()) {
                    mediators.push(name.as_str().to_owned());
                }
            }
        }
    }
    let refs = app.ledger.refs();
    let last = rows.last();
    Ok(Agreement {
        number: case.number.clone(),
        title: case.title.as_str().to_owned(),
        category: refs
            .taxonomy
            .get(&case.category)
            .map(|c| c.name.clone())
            .unwrap_or_else(|| case.category.to_string()),
        place: refs.tree.full_name(&case.location.jurisdiction),
        body: crate::queue::body_name(&refs, case).unwrap_or_default(),
        parties,
        facts: case.description.as_str().to_owned(),
        terms: agreement.text.as_str().to_owned(),
        judicial_confirmation: agreement.judicial_confirmation,
        mediators,
        concluded: local_date(conclusion.concluded_at),
        head: last.map(|r| r.hash.to_hex()).unwrap_or_default(),
        seq: last.map(|r| r.seq).unwrap_or_default(),
        names_masked: !full,
    })
}

pub async fn page(
    State(app): State<Arc<AppState>>,
    c: Chrome,
    found: Result<CaseInScope, ApiError>,
) -> Result<Response, PageError> {
    let (c, found, case) = loaded(c, found)?;
    let a = match gather(&app, &found, &case, &c.t).await {
        Ok(a) => a,
        Err(e) => return Err(PageError::new(c, e)),
    };
    let id = found.id.to_string();
    Ok(render(StatusCode::OK, &AgreementPage { c, a, id }))
}

pub async fn pdf(
    State(app): State<Arc<AppState>>,
    c: Chrome,
    found: Result<CaseInScope, ApiError>,
) -> Result<Response, PageError> {
    let (c, found, case) = loaded(c, found)?;
    let Some(font) = pdf_font() else {
        return Ok(error_page(
            &c,
            StatusCode::SERVICE_UNAVAILABLE,
            "agreement.no_font",
        ));
    };
    let a = match gather(&app, &found, &case, &c.t).await {
        Ok(a) => a,
        Err(e) => return Err(PageError::new(c, e)),
    };
    let t = c.t;
    let lines = document_lines(&a, &t);
    let font = font.clone();
    let bytes = match tokio::task::spawn_blocking(move || typeset(&lines, font)).await {
        Ok(Ok(b)) => b,
        Ok(Err(e)) => {
            tracing::error!(error = %e, "the agreement PDF failed");
            return Ok(error_page(
                &c,
                StatusCode::INTERNAL_SERVER_ERROR,
                "error.unavailable",
            ));
        }
        Err(e) => {
            tracing::error!(error = %e, "the agreement PDF task failed");
            return Ok(error_page(
                &c,
                StatusCode::INTERNAL_SERVER_ERROR,
                "error.unavailable",
            ));
        }
    };
    let mut res = bytes.into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/pdf"),
    );
    if let Ok(v) = HeaderValue::try_from(format!(
        "attachment; filename=\"agreement-{}.pdf\"",
        a.number
    )) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(res)
}

/// Where a Chinese font is looked for: `JIEFEN_PDF_FONT` (a TrueType or
/// OpenType file or collection), then Debian's packages, the first of them
/// `fonts-wqy-microhei`, which `.ci/run` installs. (Droid Sans Fallback
/// comes second: text extracted from PDFs made with it lost every digit 2
/// under pdftotext, which would garble the printed hash for a reader.)
pub const FONT_ENV: &str = "JIEFEN_PDF_FONT";
const FONT_CANDIDATES: &[&str] = &[
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/arphic/uming.ttc",
];

/// The font PDFs embed, read once; None when no font with Chinese glyphs is
/// installed.
pub fn pdf_font() -> Option<&'static Font> {
    static FONT: OnceLock<Option<Font>> = OnceLock::new();
    FONT.get_or_init(|| {
        let from_env = std::env::var_os(FONT_ENV).map(PathBuf::from);
        from_env
            .into_iter()
            .chain(FONT_CANDIDATES.iter().map(PathBuf::from))
            .find_map(|path| {
                let data = std::fs::read(&path).ok()?;
                let font = Font::new(data.into(), 0)?;
                tracing::info!(font = %path.display(), "PDF font");
                Some(font)
            })
    })
    .as_ref()
}

/// One line of the document, before it is cut to the page's width.
pub struct Line {
    pub size: f32,
    pub text: String,
    pub centred: bool,
    /// Space before it, in points.
    pub gap: f32,
}

fn document_lines(a: &Agreement, t: &Tr) -> Vec<Line> {
    let l = |size: f32, text: String, gap: f32| Line {
        size,
        text,
        centred: false,
        gap,
    };
    let mut out = vec![
        Line {
            size: 22.0,
            text: t.get("agreement.title").to_owned(),
            centred: true,
            gap: 0.0,
        },
        Line {
            size: 10.5,
            text: format!("{}{}", t.get("agreement.number"), a.number),
            centred: true,
            gap: 6.0,
        },
        l(14.0, t.get("agreement.parties").to_owned(), 18.0),
    ];
    for (role, name) in &a.parties {
        out.push(l(12.0, format!("{role}：{name}"), 4.0));
    }
    out.push(l(14.0, t.get("agreement.facts").to_owned(), 14.0));
    out.push(l(
        12.0,
        format!("{}（{}，{}）", a.title, a.category, a.place),
        4.0,
    ));
    out.push(l(12.0, a.facts.clone(), 4.0));
    out.push(l(14.0, t.get("agreement.terms").to_owned(), 14.0));
    out.push(l(12.0, a.terms.clone(), 4.0));
    out.push(l(12.0, t.get("agreement.copies").to_owned(), 10.0));
    if a.judicial_confirmation {
        out.push(l(12.0, t.get("agreement.judicial").to_owned(), 4.0));
    }
    out.push(l(12.0, t.get("agreement.sign_parties").to_owned(), 28.0));
    out.push(l(
        12.0,
        format!("{}{}", t.get("agreement.mediators"), a.mediators.join("、")),
        22.0,
    ));
    out.push(l(
        12.0,
        format!("{}{}", t.get("agreement.body"), a.body),
        10.0,
    ));
    out.push(l(12.0, a.concluded.clone(), 10.0));
    out.push(l(
        8.0,
        t.fmt("agreement.verify", &[("seq", &a.seq.to_string())]),
        36.0,
    ));
    out.push(l(8.0, a.head.clone(), 2.0));
    out
}

const PAGE_W: f32 = 595.0;
const PAGE_H: f32 = 842.0;
const MARGIN: f32 = 64.0;

/// The width of `text` at `size`: full-width characters take an em, the
/// rest a little over half, as in the CJK fonts used.
fn width(text: &str, size: f32) -> f32 {
    use unicode_width::UnicodeWidthChar;
    text.chars()
        .map(|c| match c.width() {
            Some(2) => size,
            Some(0) | None => 0.0,
            _ => size * 0.56,
        })
        .sum()
}

/// Cuts a paragraph into lines no wider than `max`, keeping Latin words
/// whole where they fit.
pub fn wrap(text: &str, size: f32, max: f32) -> Vec<String> {
    let mut out = Vec::new();
    for para in text.lines() {
        let mut line = String::new();
        for c in para.chars() {
            line.push(c);
            if width(&line, size) > max {
                line.pop();
                // Break a Latin word at its start, unless it fills the line.
                let cut = line
                    .rfind(|ch: char| !ch.is_ascii_alphanumeric())
                    .filter(|_| c.is_ascii_alphanumeric())
                    .map(|i| i + line[i..].chars().next().map_or(1, char::len_utf8))
                    .filter(|i| *i > 0 && *i < line.len());
                let rest = match cut {
                    Some(i) => line.split_off(i),
                    None => String::new(),
                };
                out.push(std::mem::replace(&mut line, rest));
                line.push(c);
            }
        }
        out.push(line);
    }
    out
}

/// Lays the lines out on A4 pages and writes the PDF, the font subset to
/// the glyphs used.
pub fn typeset(lines: &[Line], font: Font) -> Result<Vec<u8>, String> {
    let text_w = PAGE_W - 2.0 * MARGIN;
    // (page, y of the baseline, x, size, text)
    let mut placed: Vec<(usize, f32, f32, f32, String)> = Vec::new();
    let (mut page, mut y) = (0usize, MARGIN);
    for line in lines {
        y += line.gap;
        for piece in wrap(&line.text, line.size, text_w) {
            let lead = line.size * 1.55;
            if y + lead > PAGE_H - MARGIN {
                page += 1;
                y = MARGIN;
            }
            y += lead;
            let x = if line.centred {
                MARGIN + (text_w - width(&piece, line.size)).max(0.0) / 2.0
            } else {
                MARGIN
            };
            placed.push((page, y, x, line.size, piece));
        }
    }
    let mut document = krilla::Document::new();
    document.set_metadata(
        krilla::metadata::Metadata::new()
            .title(lines.first().map(|l| l.text.clone()).unwrap_or_default())
            .creator("Jiefen".to_owned()),
    );
    for p in 0..=page {
        let settings = PageSettings::from_wh(PAGE_W, PAGE_H).ok_or("page size")?;
        let mut pdf_page = document.start_page_with(settings);
        let mut surface = pdf_page.surface();
        for (_, y, x, size, text) in placed.iter().filter(|l| l.0 == p) {
            surface.draw_text(
                Point::from_xy(*x, *y),
                font.clone(),
                *size,
                text,
                false,
                TextDirection::Auto,
            );
        }
        surface.finish();
        pdf_page.finish();
    }
    document.finish().map_err(|e| format!("{e:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrapping_keeps_every_character_and_each_line_fits() {
        let text = "双方同意：张三于2026年12月1日前拆除越界搭建的围墙，abcdefghij klmnop 李四承担一半费用。\n第二段";
        for max in [60.0, 120.0, 300.0] {
            let lines = wrap(text, 12.0, max);
            assert_eq!(lines.concat(), text.replace('\n', ""));
            for l in &lines {
                assert!(width(l, 12.0) <= max, "{l} is wider than {max}");
            }
        }
        assert_eq!(
            wrap("第一段\n第二段", 12.0, 300.0),
            vec!["第一段", "第二段"]
        );
    }
}
