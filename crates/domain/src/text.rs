//! Bounded, trimmed, non-empty text: what every reason, note and name is.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Trimmed, non-empty text of at most [`Text::MAX_CHARS`] characters.
///
/// Reasons and notes are told to people and kept as evidence, so an empty or
/// whitespace-only reason is refused at the edge rather than stored.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Text(String);

/// The schema says what `parse` accepts, so a client (and schemathesis)
/// knows a blank text is refused: something besides white space, and at
/// most `MAX_CHARS` characters.
#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for Text {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .pattern(Some(r"\S"))
            .max_length(Some(Self::MAX_CHARS))
            .into()
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for Text {}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TextError {
    #[error("must not be empty")]
    Empty,
    #[error("is longer than {max} characters")]
    TooLong { max: usize },
}

impl Text {
    /// Large enough for a full description or an agreement; small enough that
    /// one event cannot exhaust memory.
    pub const MAX_CHARS: usize = 20_000;

    pub fn parse(raw: &str) -> Result<Self, TextError> {
        Self::parse_max(raw, Self::MAX_CHARS)
    }

    pub fn parse_max(raw: &str, max: usize) -> Result<Self, TextError> {
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return Err(TextError::Empty);
        }
        if trimmed.chars().count() > max {
            return Err(TextError::TooLong { max });
        }
        Ok(Self(trimmed.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Text {
    type Error = TextError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<Text> for String {
    fn from(value: Text) -> Self {
        value.0
    }
}

impl fmt::Display for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

/// The 1-based line of a byte offset in `src`: file errors name the line.
pub fn line_at(src: &str, offset: usize) -> usize {
    src[..offset.min(src.len())].matches('\n').count() + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trims_and_refuses_blank() {
        assert_eq!(Text::parse("  退回原因 ").unwrap().as_str(), "退回原因");
        assert_eq!(Text::parse(" \n\t "), Err(TextError::Empty));
        assert_eq!(
            Text::parse_max("一二三", 2),
            Err(TextError::TooLong { max: 2 })
        );
    }

    #[test]
    fn deserialising_validates() {
        assert!(serde_json::from_str::<Text>("\"  \"").is_err());
        assert_eq!(
            serde_json::from_str::<Text>("\" a \"").unwrap().as_str(),
            "a"
        );
    }
}
