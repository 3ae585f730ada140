//! Checking entities against the server's FollowTheMoney model before they are loaded:
//! [`validate`], [`Model::check`], and the client's cached model ([`Client::model`](super::Client::model)).
//!
//! Aleph's `_bulk` refuses a whole request for only two faults (an unknown schema, a missing or
//! malformed id: `aleph/logic/processing.py` `bulk_write`, followthemoney `proxy.py`) and
//! silently drops the rest: unknown property names are skipped, values that do not clean are not
//! added, reverse (stub) properties are ignored (followthemoney 3.5.9 `EntityProxy.__init__` and
//! `add(..., quiet=True)`). A load that "succeeds" can thus lose data without a word; these
//! checks find such entities before anything is sent.

use std::fmt;

use super::entities::{Entity, PropertyValue};
use super::metadata::{Model, SchemaProperty};
use crate::namespace::is_entity_id;

/// What is wrong with one entity, from [`Model::check`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Problem {
    /// The entity has no `id` (Aleph refuses the whole `_bulk` request: "No ID for entity").
    MissingId,
    /// The id is not a FollowTheMoney entity id (`^[0-9a-zA-Z]([0-9a-zA-Z.-]*[0-9a-zA-Z])?$`,
    /// followthemoney `types/entity.py`); Aleph's namespace signing turns it into no id, and the
    /// whole request is refused.
    BadId {
        /// The id as given.
        id: String,
    },
    /// The entity has no `schema`.
    MissingSchema,
    /// The schema is not in the model (Aleph refuses the whole request: "No schema for entity").
    UnknownSchema {
        /// The schema as given.
        schema: String,
    },
    /// The schema is abstract (`Thing`, `Interval`, ...): no entity can have it, and Aleph
    /// indexes none (`aleph/index/indexes.py` `schema_scope`).
    AbstractSchema {
        /// The schema.
        schema: String,
    },
    /// The schema (with the schemata it extends) has no such property; Aleph drops it silently.
    UnknownProperty {
        /// The property name as given.
        property: String,
    },
    /// The property is the reverse side of a reference (`stub`), computed by the server and
    /// not writable; Aleph drops it silently.
    StubProperty {
        /// The property name.
        property: String,
    },
    /// A value does not fit the property's type; Aleph drops it silently.
    BadValue {
        /// The property name.
        property: String,
        /// The value as given (for a nested entity, its id or `(entity without id)`), cut to
        /// 80 characters.
        value: String,
        /// What the type expects.
        expected: &'static str,
    },
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::MissingId => f.write_str("no id"),
            Problem::BadId { id } => write!(
                f,
                "id {id:?} is not an entity id (letters, digits, '.', '-'; \
                 starting and ending with a letter or digit)"
            ),
            Problem::MissingSchema => f.write_str("no schema"),
            Problem::UnknownSchema { schema } => write!(f, "unknown schema {schema:?}"),
            Problem::AbstractSchema { schema } => write!(f, "schema {schema:?} is abstract"),
            Problem::UnknownProperty { property } => write!(f, "unknown property {property:?}"),
            Problem::StubProperty { property } => write!(
                f,
                "property {property:?} is the reverse of a reference and cannot be written"
            ),
            Problem::BadValue {
                property,
                value,
                expected,
            } => write!(f, "{property}: {value:?} is not {expected}"),
        }
    }
}

/// An entity that does not fit the model: where it is in the input, its id, and what is
/// wrong with it. From [`validate`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Invalid {
    /// Its position in the input, counting from 0.
    pub index: u64,
    /// Its id, if it has one.
    pub id: Option<String>,
    /// Everything wrong with it (at least one).
    pub problems: Vec<Problem>,
}

impl Invalid {
    pub(crate) fn new(index: u64, id: Option<String>, problems: Vec<Problem>) -> Self {
        Invalid {
            index,
            id: id.filter(|id| !id.is_empty()),
            problems,
        }
    }
}

impl fmt::Display for Invalid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "entity at index {} ({}): ",
            self.index,
            self.id.as_deref().unwrap_or("no id")
        )?;
        for (i, problem) in self.problems.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{problem}")?;
        }
        Ok(())
    }
}

impl From<Invalid> for crate::error::Rejected {
    fn from(invalid: Invalid) -> Self {
        let reason = invalid
            .problems
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("; ");
        crate::error::Rejected::new(invalid.index, invalid.id, reason)
    }
}

/// Checks every entity against `model` (from [`Client::model`](super::Client::model)) and
/// returns those that do not fit, in input order, each with its index and every problem
/// ([`Model::check`]); an empty list means all fit. Nothing is sent.
///
/// ```no_run
/// # async fn run(aleph: casefile::aleph::Client, entities: Vec<casefile::aleph::Entity>) -> casefile::Result<()> {
/// let model = aleph.model().await?;
/// for bad in casefile::aleph::validate(&model, &entities) {
///     eprintln!("{bad}");
/// }
/// # Ok(()) }
/// ```
pub fn validate<'a>(model: &Model, entities: impl IntoIterator<Item = &'a Entity>) -> Vec<Invalid> {
    entities
        .into_iter()
        .zip(0u64..)
        .filter_map(|(entity, index)| model.invalid(index, entity))
        .collect()
}

impl Model {
    /// Everything wrong with `entity` under this model, empty when it fits:
    ///
    /// - no id, or an id that is not a FollowTheMoney entity id;
    /// - no schema, an unknown schema, or an abstract one;
    /// - a property that neither the schema nor any schema it extends has, or a reverse
    ///   (`stub`) property;
    /// - a value its type refuses, where the type makes that decidable, as followthemoney
    ///   3.5.9's `PropertyType.validate` does: an `entity` value must be an entity id (or a
    ///   nested entity with one); a `date` must be `YYYY`, `YYYY-MM`, `YYYY-MM-DD`,
    ///   `YYYY-MM-DDTHH`, `YYYY-MM-DDTHH:MM` or `YYYY-MM-DDTHH:MM:SS` (optionally with
    ///   fractions of a second and `Z` or an offset), a real calendar date with a year from 1000
    ///   to 2999 (`types/date.py`, prefixdate).
    ///
    /// Values of the other types are not refused: the server keeps them, or cleans them into
    /// what it stores (a country name becomes its code, `countrynames.to_code` in
    /// `types/country.py`; a number property keeps any text, `types/number.py`), and refusing
    /// them would refuse loads Aleph accepts. Nor are the schema's `required` properties checked
    /// (Aleph's `_bulk` does not check them either). The date check is stricter than the server's prefix parser, which keeps
    /// `2021` of `2021 or 2022` and drops the rest without a word.
    pub fn check(&self, entity: &Entity) -> Vec<Problem> {
        let mut problems = Vec::new();
        match entity.id.as_deref() {
            None | Some("") => problems.push(Problem::MissingId),
            Some(id) if !is_entity_id(id) => problems.push(Problem::BadId { id: id.to_owned() }),
            Some(_) => {}
        }
        let schema_name = entity.schema.as_str();
        if schema_name.trim().is_empty() {
            problems.push(Problem::MissingSchema);
            return problems;
        }
        let Some(schema) = self.schemata.get(schema_name) else {
            problems.push(Problem::UnknownSchema {
                schema: schema_name.to_owned(),
            });
            return problems;
        };
        if schema.is_abstract {
            problems.push(Problem::AbstractSchema {
                schema: schema_name.to_owned(),
            });
        }
        for (name, values) in &entity.properties {
            let Some(property) = self.property(schema_name, name) else {
                problems.push(Problem::UnknownProperty {
                    property: name.clone(),
                });
                continue;
            };
            if property.stub {
                if !values.is_empty() {
                    problems.push(Problem::StubProperty {
                        property: name.clone(),
                    });
                }
                continue;
            }
            for value in values {
                if let Some(expected) = self.refused(property, value) {
                    problems.push(Problem::BadValue {
                        property: name.clone(),
                        value: shown(value),
                        expected,
                    });
                }
            }
        }
        problems
    }

    /// The [`Invalid`] record of `entity` at `index`, or `None` when it fits.
    pub(crate) fn invalid(&self, index: u64, entity: &Entity) -> Option<Invalid> {
        let problems = self.check(entity);
        (!problems.is_empty()).then(|| Invalid::new(index, entity.id.clone(), problems))
    }

    /// The property `name` of `schema` or of a schema it extends, without building the merged
    /// map of [`Model::properties`] (this runs once per property of every entity of a load).
    fn property(&self, schema: &str, name: &str) -> Option<&SchemaProperty> {
        let own = self.schemata.get(schema)?;
        own.properties.get(name).or_else(|| {
            own.schemata
                .iter()
                .filter_map(|ancestor| self.schemata.get(ancestor))
                .find_map(|ancestor| ancestor.properties.get(name))
        })
    }

    /// What `value` should have been, if `property`'s type refuses it.
    fn refused(&self, property: &SchemaProperty, value: &PropertyValue) -> Option<&'static str> {
        let type_name = property.type_name.as_str();
        let text = match value {
            PropertyValue::Entity(entity) => {
                if type_name == "entity" && entity.id.as_deref().is_some_and(is_entity_id) {
                    return None;
                }
                return Some(if type_name == "entity" {
                    "a nested entity with an entity id"
                } else {
                    "a text value (a nested entity was given)"
                });
            }
            PropertyValue::Text(text) => text.as_str(),
        };
        match type_name {
            "entity" => (!is_entity_id(text)).then_some("an entity id"),
            "date" => (!is_ftm_date(text))
                .then_some("a date (YYYY, YYYY-MM, YYYY-MM-DD or YYYY-MM-DDTHH:MM[:SS])"),
            _ => None,
        }
    }
}

/// A value for a message: its text (or a nested entity's id), cut to 80 characters.
fn shown(value: &PropertyValue) -> String {
    let text = match value {
        PropertyValue::Text(text) => text.as_str(),
        PropertyValue::Entity(entity) => entity.id.as_deref().unwrap_or("(entity without id)"),
    };
    let mut cut: String = text.chars().take(80).collect();
    if cut.len() < text.len() {
        cut.push('…');
    }
    cut
}

/// A FollowTheMoney date: `YYYY[-MM[-DD[THH[:MM[:SS[.fff]]]]]]`, a time optionally ending in
/// `Z` or `±HH[:]MM`; the parts must form a real date and time, the year 1000 to 2999
/// (prefixdate's year pattern `[12]\d{3}`).
fn is_ftm_date(text: &str) -> bool {
    let mut rest = text.as_bytes();
    let mut number = |digits: usize, min: u32, max: u32| -> Option<u32> {
        let part = rest.get(..digits)?;
        if !part.iter().all(u8::is_ascii_digit) {
            return None;
        }
        rest = &rest[digits..];
        let value = part.iter().fold(0u32, |n, d| n * 10 + u32::from(d - b'0'));
        (min..=max).contains(&value).then_some(value)
    };
    let Some(year) = number(4, 1000, 2999) else {
        return false;
    };
    let parse = || -> Option<()> {
        // Each part is optional, but only after the one before it.
        let next = |sep: u8, min: u32, max: u32, rest: &mut &[u8]| -> Option<Option<u32>> {
            match rest.first() {
                None => Some(None),
                Some(b) if *b == sep => {
                    let part = rest.get(1..3)?;
                    if !part.iter().all(u8::is_ascii_digit) {
                        return None;
                    }
                    let value = u32::from(part[0] - b'0') * 10 + u32::from(part[1] - b'0');
                    *rest = &rest[3..];
                    (min..=max).contains(&value).then_some(Some(value))
                }
                Some(_) => None,
            }
        };
        let mut rest_now = rest;
        let Some(month) = next(b'-', 1, 12, &mut rest_now)? else {
            return Some(());
        };
        let Some(day) = next(b'-', 1, 31, &mut rest_now)? else {
            return Some(());
        };
        if day > days_in_month(year, month) {
            return None;
        }
        if next(b'T', 0, 23, &mut rest_now)?.is_none() {
            return Some(());
        }
        // Fractions of a second only after the seconds.
        if next(b':', 0, 59, &mut rest_now)?.is_some()
            && next(b':', 0, 59, &mut rest_now)?.is_some()
            && let Some((b'.', tail)) = rest_now.split_first()
        {
            let digits = tail.iter().take_while(|b| b.is_ascii_digit()).count();
            if digits == 0 {
                return None;
            }
            rest_now = &tail[digits..];
        }
        match rest_now {
            [] | [b'Z'] => Some(()),
            [b'+' | b'-', h1, h2, tail @ ..] => {
                let hours_ok = h1.is_ascii_digit() && h2.is_ascii_digit();
                let tail = tail.strip_prefix(b":").unwrap_or(tail);
                let minutes_ok =
                    matches!(tail, [m1, m2] if m1.is_ascii_digit() && m2.is_ascii_digit());
                (hours_ok && minutes_ok).then_some(())
            }
            _ => None,
        }
    };
    parse().is_some()
}

/// Days in `month` of `year` (Gregorian).
fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        2 if (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400) => {
            29
        }
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_follow_followthemoney() {
        for good in [
            "2021",
            "2021-02",
            "2021-02-16",
            "2021-02-16T21",
            "2021-02-16T21:48",
            "2021-02-16T21:48:52",
            "2021-02-16T21:48:52.1234Z",
            "2021-02-16T21:48:52+01:00",
            "2020-02-29",
            "1000",
        ] {
            assert!(is_ftm_date(good), "{good}");
        }
        for bad in [
            "",
            "not a date",
            "21",
            "0999",
            "3000",
            "2021-13",
            "2021-2",
            "2021-02-30",
            "2019-02-29",
            "2021-02-16T24",
            "2021-02-16T21:60",
            "2021-02-16 21:48",
            "2021 or 2022",
            "2021-02-16T21:48:52.",
            "2021-02-16T21:48:52+1",
            "2021Z",
        ] {
            assert!(!is_ftm_date(bad), "{bad}");
        }
    }

    #[test]
    fn ids_follow_followthemoney() {
        for good in ["a", "p1", "abc.def-1", "0"] {
            assert!(is_entity_id(good), "{good}");
        }
        for bad in ["", "-a", "a.", "a b", "a_b", "é"] {
            assert!(!is_entity_id(bad), "{bad}");
        }
    }
}
