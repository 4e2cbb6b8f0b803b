//! Time as the domain sees it: UTC instants with millisecond precision.

use serde::{Deserialize, Serialize};
use std::fmt;
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime, UtcOffset};

/// A UTC instant truncated to milliseconds.
///
/// Truncation happens on construction so that the RFC 3339 text an event is
/// hashed with is the same whichever database stored it (PostgreSQL keeps
/// microseconds, SQLite keeps text) and however often it is re-serialised.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(value_type = String, format = DateTime))]
pub struct Timestamp(OffsetDateTime);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not an RFC 3339 timestamp (e.g. 2026-03-02T08:00:00Z)")]
pub struct TimestampError;

impl Timestamp {
    pub fn from_offset(dt: OffsetDateTime) -> Self {
        let utc = dt.to_offset(UtcOffset::UTC);
        let millis = utc.millisecond();
        Self(
            utc.replace_nanosecond(u32::from(millis) * 1_000_000)
                .expect("milliseconds are a valid nanosecond value"),
        )
    }

    pub fn from_unix_millis(ms: i64) -> Self {
        Self::from_offset(
            OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
                .unwrap_or(OffsetDateTime::UNIX_EPOCH),
        )
    }

    pub fn parse(raw: &str) -> Result<Self, TimestampError> {
        OffsetDateTime::parse(raw, &Rfc3339)
            .map(Self::from_offset)
            .map_err(|_| TimestampError)
    }

    pub fn unix_millis(&self) -> i64 {
        (self.0.unix_timestamp_nanos() / 1_000_000) as i64
    }

    pub fn as_offset(&self) -> OffsetDateTime {
        self.0
    }

    pub fn plus(&self, d: Duration) -> Self {
        Self::from_offset(self.0.saturating_add(d))
    }

    pub fn minus(&self, other: &Timestamp) -> Duration {
        self.0 - other.0
    }

    pub fn to_rfc3339(&self) -> String {
        self.0
            .format(&Rfc3339)
            .expect("a UTC timestamp within year 0..9999 always formats")
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_rfc3339())
    }
}

impl fmt::Debug for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Timestamp({self})")
    }
}

impl Serialize for Timestamp {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_rfc3339())
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        Timestamp::parse(&raw).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncates_to_millis_and_normalises_to_utc() {
        let t = Timestamp::parse("2026-03-02T16:00:00.123456+08:00").unwrap();
        assert_eq!(t.to_rfc3339(), "2026-03-02T08:00:00.123Z");
        let again = Timestamp::parse(&t.to_rfc3339()).unwrap();
        assert_eq!(t, again);
        assert_eq!(Timestamp::from_unix_millis(t.unix_millis()), t);
    }

    #[test]
    fn refuses_non_rfc3339() {
        assert!(Timestamp::parse("2026-03-02").is_err());
    }
}
