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

/// An asset: its plain name, the name it is served under, its type and
/// content.
struct Asset {
    name: &'static str,
    served_as: String,
    mime: &'static str,
    body: &'static str,
}

fn tagged() -> &'static [Asset] {
    static TAGGED: OnceLock<Vec<Asset>> = OnceLock::new();
    TAGGED.get_or_init(|| {
        FILES
            .iter()
            .map(|&(name, mime, body)| {
                let (stem, ext) = name.rsplit_once('.').expect("asset names have extensions");
                Asset {
                    name,
                    served_as: format!("{stem}.{}.{ext}", tag(body)),
                    mime,
                    body,
                }
            })
            .collect()
    })
}

/// The URL of an asset by its plain name.
pub fn url(name: &str) -> String {
    let served_as = tagged()
        .iter()
        .find(|a| a.name == name)
        .map_or(name, |a| a.served_as.as_str());
    format!("/assets/{served_as}")
}

pub async fn serve(Path(file): Path<String>) -> Response {
    match tagged().iter().find(|a| a.served_as == file) {
        Some(a) => {
            let mut res = (StatusCode::OK, a.body).into_response();
            let h = res.headers_mut();
            h.insert(header::CONTENT_TYPE, HeaderValue::from_static(a.mime));
            h.insert(
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=31536000, immutable"),
            );
            res
        }
        None => (StatusCode::NOT_FOUND, "no such asset").into_response(),
    }
}
