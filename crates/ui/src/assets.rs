//! The stylesheet and the script, compiled in, served under a name that
//! holds a digest of their content so a browser may keep them for a year
//! and still never runs an old script against a new page.

use axum::extract::Path;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use std::hash::{Hash, Hasher};
use std::sync::OnceLock;

const FILES: &[(&str, &str, &str)] = &[
    (
        "app.css",
        "text/css; charset=utf-8",
        include_str!("../assets/app.css"),
    ),
    (
        "app.js",
        "text/javascript; charset=utf-8",
        include_str!("../assets/app.js"),
    ),
];

/// A short digest of the content (not for security: for cache busting).
fn tag(content: &str) -> String {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    content.hash(&mut h);
    format!("{:012x}", h.finish() & 0xffff_ffff_ffff)
}

fn tagged() -> &'static Vec<(String, &'static str, &'static str)> {
    static TAGGED: OnceLock<Vec<(String, &'static str, &'static str)>> = OnceLock::new();
    TAGGED.get_or_init(|| {
        FILES
            .iter()
            .map(|(name, mime, body)| {
                let (stem, ext) = name.rsplit_once('.').expect("asset names have extensions");
                (format!("{stem}.{}.{ext}", tag(body)), *mime, *body)
            })
            .collect()
    })
}

/// The URL of an asset by its plain name.
pub fn url(name: &str) -> String {
    let (stem, ext) = name.rsplit_once('.').unwrap_or((name, ""));
    let prefix = format!("{stem}.");
    tagged()
        .iter()
        .find(|(n, _, _)| n.starts_with(&prefix) && n.ends_with(&format!(".{ext}")))
        .map(|(n, _, _)| format!("/assets/{n}"))
        .unwrap_or_else(|| format!("/assets/{name}"))
}

pub async fn serve(Path(file): Path<String>) -> Response {
    match tagged().iter().find(|(n, _, _)| *n == file) {
        Some((_, mime, body)) => {
            let mut res = (StatusCode::OK, *body).into_response();
            let h = res.headers_mut();
            h.insert(header::CONTENT_TYPE, HeaderValue::from_static(mime));
            h.insert(
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=31536000, immutable"),
            );
            res
        }
        None => (StatusCode::NOT_FOUND, "no such asset").into_response(),
    }
}
