//! Attachments: files stored by content hash beside the database and
//! recorded in the case's history.

use crate::cases::written;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{media_type, read_body, ApiPath, IdempotencyKey, QueryParams};
use crate::scope::CaseInScope;
use crate::AppState;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use jiefen_domain::case::AttachmentRef;
use jiefen_domain::lifecycle::Command;
use jiefen_ledger::hash::Hash;
use jiefen_store::blobs::{ALLOWED, MAX_ATTACHMENT_BYTES};
use jiefen_store::writer::WriteOutcome;
use serde::Serialize;
use std::fmt::Write as _;
use std::sync::Arc;
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
pub struct Uploaded {
    pub sha256: Hash,
    pub outcome: WriteOutcome,
}

/// File names are shown to people and sent back in `Content-Disposition`;
/// separators and control characters have no business in them.
fn filename(q: &QueryParams) -> Result<String, ApiError> {
    let raw = q
        .get("filename")
        .ok_or_else(|| ApiError::invalid_query("filename", "filename is required"))?;
    let name = raw.trim();
    let ok = !name.is_empty()
        && name.chars().count() <= 255
        && !name
            .chars()
            .any(|c| c.is_control() || c == '/' || c == '\\');
    if !ok {
        return Err(ApiError::invalid_query(
            "filename",
            "filename must be 1–255 characters without '/', '\\' or control characters",
        ));
    }
    Ok(name.to_owned())
}

#[utoipa::path(
    post,
    path = "/api/v1/cases/{id}/attachments",
    operation_id = "upload_attachment",
    tag = "attachments",
    request_body(
        description = "The file, at most 20 MiB; its first bytes must match its type",
        content(
            (Vec<u8> = "image/jpeg"), (Vec<u8> = "image/png"),
            (Vec<u8> = "image/webp"), (Vec<u8> = "application/pdf"),
        ),
    ),
    params(
        ("id" = String, Path, description = "Case id (UUID)"),
        ("filename" = String, Query, description = "The file's name as the person gave it"),
        ("Idempotency-Key" = Option<String>, Header, pattern = "^[!-~]{1,200}$", description = "1–200 visible ASCII characters"),
    ),
    responses(
        (status = 201, description = "Stored and recorded", body = Uploaded),
        (status = 200, description = "Replay (`Idempotent-Replayed: true`)", body = Uploaded),
        (status = 400, description = "`invalid_idempotency_key`", body = ErrorBody),
        (status = 403, description = "`forbidden`: the role may not attach files", body = ErrorBody),
        (status = 404, description = "`not_found`", body = ErrorBody),
        (status = 409, description = "`illegal_transition` (archived case)", body = ErrorBody),
        (status = 413, description = "`payload_too_large` (over 20 MiB)", body = ErrorBody),
        (status = 415, description = "`unsupported_media_type`", body = ErrorBody),
        (status = 422, description = "`content_mismatch`, `empty_attachment`, `invalid_query`, `idempotency_key_reused`", body = ErrorBody),
    )
)]
pub async fn upload(
    State(app): State<Arc<AppState>>,
    found: CaseInScope,
    IdempotencyKey(key): IdempotencyKey,
    q: QueryParams,
    req: Request,
) -> Result<Response, ApiError> {
    let (id, principal) = (found.id, found.principal);
    // Checked before the body is read and stored, so a refusal costs
    // neither 20 MiB of transfer nor an orphan file.
    if !principal.staff.role().may_attach() {
        let what = format!("attach a file to case {id}");
        return Err(principal.deny(&app, what, Some(id)).await);
    }
    q.only(&["filename"])?;
    let filename = filename(&q)?;
    let media_type = media_type(req.headers())
        .filter(|m| ALLOWED.iter().any(|(t, _)| t == m))
        .ok_or_else(|| {
            let allowed: Vec<&str> = ALLOWED.iter().map(|(t, _)| *t).collect();
            ApiError::unsupported_media_type(format!(
                "Content-Type must be one of {}",
                allowed.join(", ")
            ))
        })?;
    let bytes = read_body(req, MAX_ATTACHMENT_BYTES).await?;
    let size = bytes.len() as u64;
    let blobs = app.blobs.clone();
    let mt = media_type.clone();
    let sha256 = tokio::task::spawn_blocking(move || blobs.put(&mt, &bytes)).await??;
    // If the ledger now refuses (an archived case), the stored file stays
    // unreferenced; it is content-addressed, so that wastes space, never
    // integrity, and a later upload of the same file reuses it.
    let command = Command::AddAttachment(AttachmentRef {
        sha256,
        size,
        media_type,
        filename,
    });
    let outcome = app
        .ledger
        .act(id, command, principal.actor(), key)
        .await
        .map_err(|e| ApiError::from_write(e, None))?;
    let location = format!("/api/v1/cases/{id}/attachments/{sha256}");
    Ok(written(
        outcome.replayed,
        StatusCode::CREATED,
        Some(location),
        &Uploaded { sha256, outcome },
    ))
}

#[utoipa::path(
    get,
    path = "/api/v1/cases/{id}/attachments/{sha256}",
    operation_id = "download_attachment",
    tag = "attachments",
    params(
        ("id" = String, Path, description = "Case id (UUID)"),
        ("sha256" = String, Path, description = "The attachment's hash, 64 lowercase hex characters"),
    ),
    responses(
        (status = 200, description = "The file, with its media type",
            content(
                (Vec<u8> = "image/jpeg"), (Vec<u8> = "image/png"),
                (Vec<u8> = "image/webp"), (Vec<u8> = "application/pdf"),
            )),
        (status = 404, description = "`not_found`: no such case, or the case has no such attachment", body = ErrorBody),
    )
)]
pub async fn download(
    State(app): State<Arc<AppState>>,
    found: CaseInScope,
    ApiPath((_, sha)): ApiPath<(String, String)>,
) -> Result<Response, ApiError> {
    let id = found.id;
    let missing = || ApiError::not_found(format!("case {id} has no attachment {sha}"));
    let hash: Hash = sha.parse().map_err(|_| missing())?;
    let case = found.case()?;
    // Only files the case lists: knowing a hash must not open another
    // case's attachment.
    let Some(att) = case.attachments.iter().find(|a| a.sha256 == hash) else {
        return Err(missing());
    };
    let blobs = app.blobs.clone();
    let bytes = tokio::task::spawn_blocking(move || blobs.get(&hash))
        .await?
        .map_err(ApiError::from)?
        .ok_or_else(|| {
            ApiError::internal(&std::io::Error::new(
                std::io::ErrorKind::NotFound,
                format!("attachment {hash} of case {id} is recorded but its file is missing"),
            ))
        })?;
    let content_type = HeaderValue::try_from(att.media_type.as_str())
        .unwrap_or(HeaderValue::from_static("application/octet-stream"));
    let disposition = HeaderValue::try_from(content_disposition(&att.filename))
        .unwrap_or(HeaderValue::from_static("attachment"));
    Ok((
        [
            (header::CONTENT_TYPE, content_type),
            (header::CONTENT_DISPOSITION, disposition),
            (
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            ),
        ],
        bytes,
    )
        .into_response())
}

/// `attachment; filename*=UTF-8''…` (RFC 6266 / RFC 8187), so Chinese file
/// names survive and nothing in the name can break out of the header.
fn content_disposition(name: &str) -> String {
    let mut out = String::from("attachment; filename*=UTF-8''");
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&b) {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_disposition_encodes_everything_unsafe() {
        assert_eq!(
            content_disposition("调解 协议.pdf"),
            "attachment; filename*=UTF-8''%E8%B0%83%E8%A7%A3%20%E5%8D%8F%E8%AE%AE.pdf"
        );
        assert_eq!(
            content_disposition("a\";b.png"),
            "attachment; filename*=UTF-8''a%22%3Bb.png"
        );
    }
}
