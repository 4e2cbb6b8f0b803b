//! Extractors that refuse bad input in the API's one error shape, naming
//! the field at fault, instead of axum's plain-text rejections.

use crate::error::ApiError;
use axum::body::{Body, Bytes};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, StatusCode};
use http_body_util::BodyExt;
use jiefen_domain::case::CaseId;
use serde::de::DeserializeOwned;
use std::time::Duration;

/// Largest JSON body accepted: a case with 200 parties and a long
/// description fits many times over.
pub const JSON_LIMIT: usize = 1024 * 1024;

/// A JSON body: `Content-Type: application/json`, at most [`JSON_LIMIT`]
/// bytes, deserialised with the path of the first bad field recorded.
#[derive(Debug)]
pub struct ApiJson<T>(pub T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, _: &S) -> Result<Self, ApiError> {
        if !is_json(req.headers()) {
            return Err(ApiError::unsupported_media_type(
                "the request body must be JSON with Content-Type: application/json",
            ));
        }
        let bytes = read_body(req, JSON_LIMIT).await?;
        decode(&bytes).map(ApiJson)
    }
}

/// Bodies over their limit are still read and thrown away up to this
/// size: refusing without reading makes many clients fail on the write
/// (connection reset) before they see the 413. Beyond it the connection is
/// simply closed, which is all an abusive upload deserves.
const DRAIN_MAX: u64 = 64 * 1024 * 1024;
const DRAIN_TIME: Duration = Duration::from_secs(10);

/// Reads a whole body of at most `limit` bytes.
pub async fn read_body(req: Request, limit: usize) -> Result<Bytes, ApiError> {
    let declared = content_length(req.headers());
    let mut body = req.into_body();
    if declared.is_some_and(|n| n > limit as u64) {
        if declared.is_some_and(|n| n <= DRAIN_MAX) {
            drain(body).await;
        }
        return Err(ApiError::payload_too_large(limit));
    }
    let mut buf = Vec::with_capacity(declared.map_or(0, |n| n as usize));
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|_| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "unreadable_body",
                "the request body could not be read",
            )
        })?;
        if let Ok(data) = frame.into_data() {
            if buf.len() + data.len() > limit {
                drain(body).await;
                return Err(ApiError::payload_too_large(limit));
            }
            buf.extend_from_slice(&data);
        }
    }
    Ok(Bytes::from(buf))
}

async fn drain(mut body: Body) {
    let mut left = DRAIN_MAX;
    let discard = async {
        while let Some(Ok(frame)) = body.frame().await {
            let n = frame.data_ref().map_or(0, |d| d.len() as u64);
            match left.checked_sub(n) {
                Some(l) => left = l,
                None => break,
            }
        }
    };
    let _ = tokio::time::timeout(DRAIN_TIME, discard).await;
}

fn content_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .parse()
        .ok()
}

/// The media type without parameters, lower-cased (`image/png`).
pub fn media_type(headers: &HeaderMap) -> Option<String> {
    let raw = headers.get(header::CONTENT_TYPE)?.to_str().ok()?;
    let essence = raw.split(';').next()?.trim().to_ascii_lowercase();
    (!essence.is_empty()).then_some(essence)
}

fn is_json(headers: &HeaderMap) -> bool {
    media_type(headers).is_some_and(|m| m == "application/json" || m.ends_with("+json"))
}

/// Deserialises JSON; syntax errors are 400 `malformed_json`, everything
/// the types refuse is 422 `invalid_request` with the path of the field.
pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    // Every body the API takes is an object; serde would also read a
    // struct from an array (`[]` as a request with every field left out),
    // which schemathesis found.
    let first = bytes.iter().find(|b| !b.is_ascii_whitespace());
    if matches!(
        first,
        Some(b'[' | b'"' | b'-' | b'0'..=b'9' | b't' | b'f' | b'n')
    ) {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_request",
            "the body must be a JSON object",
        ));
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value: T = match serde_path_to_error::deserialize(&mut de) {
        Ok(v) => v,
        Err(e) => {
            let path = e.path().to_string();
            return Err(json_error(e.into_inner(), &path));
        }
    };
    de.end().map_err(|e| json_error(e, "."))?;
    Ok(value)
}

fn json_error(e: serde_json::Error, path: &str) -> ApiError {
    let message = without_position(&e);
    match e.classify() {
        serde_json::error::Category::Syntax
        | serde_json::error::Category::Eof
        | serde_json::error::Category::Io => ApiError::new(
            StatusCode::BAD_REQUEST,
            "malformed_json",
            format!("the request body is not valid JSON: {message}"),
        ),
        serde_json::error::Category::Data => {
            let field = field_path(path, &message);
            let err = ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_request", message);
            match field {
                Some(f) => err.with_field(f),
                None => err,
            }
        }
    }
}

/// serde_json appends " at line L column C", which means nothing to a
/// person filling in a form.
fn without_position(e: &serde_json::Error) -> String {
    let text = e.to_string();
    let suffix = format!(" at line {} column {}", e.line(), e.column());
    text.strip_suffix(&suffix).unwrap_or(&text).to_owned()
}

/// The path serde_path_to_error reports stops at the object that lacks a
/// field; the missing field itself is only named in the message.
fn field_path(path: &str, message: &str) -> Option<String> {
    let base = if path == "." { "" } else { path };
    let named = message
        .strip_prefix("missing field `")
        .and_then(|rest| rest.split('`').next());
    let full = match named {
        Some(name) if base.is_empty() => name.to_owned(),
        Some(name) => format!("{base}.{name}"),
        None => base.to_owned(),
    };
    (!full.is_empty()).then_some(full)
}

/// A path parameter that is not what the route expects names no resource.
#[derive(Debug)]
pub struct ApiPath<T>(pub T);

impl<S, T> FromRequestParts<S> for ApiPath<T>
where
    S: Send + Sync,
    T: DeserializeOwned + Send,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|p| ApiPath(p.0))
            .map_err(|_| ApiError::not_found("no such resource"))
    }
}

pub fn case_id(raw: &str) -> Result<CaseId, ApiError> {
    CaseId::parse(raw).ok_or_else(|| ApiError::no_case(raw))
}

pub const IDEMPOTENCY_KEY: &str = "idempotency-key";
pub const IDEMPOTENT_REPLAYED: &str = "idempotent-replayed";

/// The optional `Idempotency-Key` header: 1–200 visible ASCII characters.
#[derive(Debug, Clone, Default)]
pub struct IdempotencyKey(pub Option<String>);

impl<S: Send + Sync> FromRequestParts<S> for IdempotencyKey {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        let mut values = parts.headers.get_all(IDEMPOTENCY_KEY).iter();
        let Some(value) = values.next() else {
            return Ok(Self(None));
        };
        let bad = || {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_idempotency_key",
                "Idempotency-Key must be given once, as 1–200 visible ASCII characters",
            )
            .with_field("Idempotency-Key")
        };
        if values.next().is_some() {
            return Err(bad());
        }
        let bytes = value.as_bytes();
        if bytes.is_empty() || bytes.len() > 200 || !bytes.iter().all(|b| b.is_ascii_graphic()) {
            return Err(bad());
        }
        let key = std::str::from_utf8(bytes).map_err(|_| bad())?;
        Ok(Self(Some(key.to_owned())))
    }
}

/// Query parameters as name/value pairs, so each can be validated by name
/// and a refusal can say which one was wrong.
#[derive(Debug, Clone, Default)]
pub struct QueryParams(Vec<(String, String)>);

impl QueryParams {
    pub fn parse(raw: Option<&str>) -> Result<Self, ApiError> {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(raw.unwrap_or(""))
            .map_err(|_| ApiError::invalid_query("query", "the query string is malformed"))?;
        Ok(Self(pairs))
    }

    /// Refuses parameters not in `allowed` and parameters given twice: a
    /// misspelt filter silently ignored would return the wrong cases.
    pub fn only(&self, allowed: &[&str]) -> Result<(), ApiError> {
        for (i, (name, _)) in self.0.iter().enumerate() {
            if !allowed.contains(&name.as_str()) {
                return Err(ApiError::invalid_query(
                    name,
                    format!(
                        "unknown query parameter {name:?}; expected one of {}",
                        allowed.join(", ")
                    ),
                ));
            }
            if self.0[..i].iter().any(|(n, _)| n == name) {
                return Err(ApiError::invalid_query(
                    name,
                    format!("query parameter {name:?} is given more than once"),
                ));
            }
        }
        Ok(())
    }

    /// The value of `name`; an empty value counts as absent, as HTML forms
    /// send empty fields.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, v)| n == name && !v.is_empty())
            .map(|(_, v)| v.as_str())
    }

    /// Parses `name` with `parse`, or says what was expected.
    pub fn parse_with<T>(
        &self,
        name: &str,
        expected: &str,
        parse: impl FnOnce(&str) -> Option<T>,
    ) -> Result<Option<T>, ApiError> {
        match self.get(name) {
            None => Ok(None),
            Some(raw) => parse(raw).map(Some).ok_or_else(|| {
                ApiError::invalid_query(name, format!("{name} must be {expected}, not {raw:?}"))
            }),
        }
    }
}

/// Parameters a page has already picked out of its own query.
impl From<Vec<(String, String)>> for QueryParams {
    fn from(pairs: Vec<(String, String)>) -> Self {
        Self(pairs)
    }
}

impl<S: Send + Sync> FromRequestParts<S> for QueryParams {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        Self::parse(parts.uri.query())
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn a_body_that_is_not_an_object_is_refused() {
        #[derive(Debug, serde::Deserialize)]
        struct Optional {
            #[allow(dead_code)]
            a: Option<String>,
        }
        for body in ["[]", " [\"x\"]", "1", "\"s\"", "null", "true"] {
            let e = decode::<Optional>(body.as_bytes()).unwrap_err();
            assert_eq!(e.code, "invalid_request", "{body}");
        }
        assert!(decode::<Optional>(b"{}").is_ok());
        assert_eq!(
            decode::<Optional>(b"{x").unwrap_err().code,
            "malformed_json"
        );
    }

    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Outer {
        name: String,
        inner: Vec<Inner>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Inner {
        n: u32,
    }

    fn err(json: &str) -> ApiError {
        decode::<Outer>(json.as_bytes()).unwrap_err()
    }

    #[test]
    fn syntax_errors_are_malformed_json() {
        for bad in [
            "{",
            "{\"name\": }",
            "",
            r#"{"name":"a","inner":[]} x"#,
            r#"{"name":"a",}"#,
        ] {
            let e = err(bad);
            assert_eq!(e.status, StatusCode::BAD_REQUEST, "{bad}");
            assert_eq!(e.code, "malformed_json", "{bad}");
        }
    }

    #[test]
    fn data_errors_name_the_field() {
        let e = err(r#"{"name":"a","inner":[{"n":"x"}]}"#);
        assert_eq!(
            (e.status, e.code, e.field.as_deref()),
            (
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_request",
                Some("inner[0].n")
            )
        );
        assert!(!e.message.contains("line"), "{}", e.message);
        let e = err(r#"{"name":"a","inner":[{"n":1,"extra":2}]}"#);
        assert_eq!(e.field.as_deref(), Some("inner[0].extra"));
        let e = err(r#"{"name":"a","inner":[{}]}"#);
        assert_eq!(e.field.as_deref(), Some("inner[0].n"));
        let e = err(r#"{"inner":[]}"#);
        assert_eq!(e.field.as_deref(), Some("name"));
        let e = err(r#"[]"#);
        assert_eq!(e.code, "invalid_request");
        assert_eq!(e.field, None);
    }

    #[test]
    fn query_params_refuse_unknown_and_repeated_names() {
        let q = QueryParams::parse(Some("kind=dispute&limit=")).unwrap();
        assert!(q.only(&["kind", "limit"]).is_ok());
        assert_eq!(q.get("kind"), Some("dispute"));
        assert_eq!(q.get("limit"), None);
        let e = q.only(&["kind"]).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("limit"));
        let q = QueryParams::parse(Some("kind=a&kind=b")).unwrap();
        assert_eq!(
            q.only(&["kind"]).unwrap_err().field.as_deref(),
            Some("kind")
        );
    }
}
