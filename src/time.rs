//! Timestamps as the servers write them, read as UTC.
//!
//! Atlos and Aleph write naive ISO-8601 timestamps that are UTC (`2024-05-19T23:18:01`,
//! `2026-11-23T04:08:17.238211`); Atlas writes them with a zone (`2026-12-06T01:53:28Z`). All are
//! read into `chrono::DateTime<Utc>` and written back as RFC 3339 with `Z`. Use with
//! `#[serde(with = "crate::time::utc")]` or, for optional fields,
//! `#[serde(default, with = "crate::time::utc_option")]`.

use chrono::{DateTime, NaiveDate, NaiveDateTime, SecondsFormat, Utc};
use serde::{Deserialize, Deserializer, Serializer};

/// Parses a timestamp with or without a zone (naive means UTC); a bare date is midnight UTC.
pub(crate) fn parse(s: &str) -> Option<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    for format in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"] {
        if let Ok(t) = NaiveDateTime::parse_from_str(s, format) {
            return Some(t.and_utc());
        }
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc())
}

fn format(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

/// A required timestamp.
pub(crate) mod utc {
    use super::*;

    pub(crate) fn serialize<S: Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format(t))
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        parse(&s).ok_or_else(|| serde::de::Error::custom(format_args!("invalid timestamp `{s}`")))
    }
}

/// An optional timestamp (missing or `null` is `None`).
pub(crate) mod utc_option {
    use super::*;

    pub(crate) fn serialize<S: Serializer>(
        t: &Option<DateTime<Utc>>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        match t {
            Some(t) => s.serialize_str(&format(t)),
            None => s.serialize_none(),
        }
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<DateTime<Utc>>, D::Error> {
        match Option::<std::borrow::Cow<'de, str>>::deserialize(d)? {
            None => Ok(None),
            Some(s) if s.is_empty() => Ok(None),
            Some(s) => parse(&s)
                .map(Some)
                .ok_or_else(|| serde::de::Error::custom(format_args!("invalid timestamp `{s}`"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn naive_zoned_fractional_and_date_forms() {
        let cases = [
            ("2024-05-19T23:18:01", "2024-05-19T23:18:01Z"),
            ("2026-11-23T04:08:17.238211", "2026-11-23T04:08:17.238211Z"),
            ("2026-12-06T01:53:28Z", "2026-12-06T01:53:28Z"),
            ("2026-12-06T03:53:28+02:00", "2026-12-06T01:53:28Z"),
            ("2024-04-19", "2024-04-19T00:00:00Z"),
        ];
        for (input, expected) in cases {
            assert_eq!(format(&parse(input).unwrap()), expected, "{input}");
        }
        assert!(parse("yesterday").is_none());
    }
}
