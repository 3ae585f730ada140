//! Checking entities against the server's FollowTheMoney model before they are loaded:
//! [`validate`], [`Model::check`], and the client's cached model ([`Client::model`](super::Client::model)).
//!
//! Aleph's `_bulk` refuses a whole request for only two faults (an unknown schema, a missing or
//! malformed id: `aleph/logic/processing.py` `bulk_write`, followthemoney `proxy.py`) and
//! silently drops the rest: unknown property names are skipped, values that do not clean are not
//! added, reverse (stub) properties are ignored (followthemoney 3.5.9 `EntityProxy.__init__` and
//! `add(..., quiet=True)`). A load that "succeeds" can thus lose data without a word; these
//! checks find such entities before anything is sent.
//!
//! The checks follow the model they are given, so the same entity can fit Aleph 4.1's
//! followthemoney 3.5.9 and not OpenAleph's 4.x, or the other way round: a schema or a
//! property one model has and the other lacks (`Risk`, `Company.ibcRuc`), a type whose values
//! the model limits in length (`maxLength`, followthemoney 4 only), the `required` properties
//! of each schema. Nothing here names a type or a schema of one followthemoney release; what
//! differs comes from the model the server sent.

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
    /// A value longer than its type's `maxLength` (followthemoney 4 models only: `string` 1024
    /// characters, `identifier` 64, `name` 384, ...). followthemoney 4 refuses it
    /// (`types/common.py` `PropertyType.validate`), so OpenAleph answers 400 to it on
    /// `POST /entities?validate=true`; a `_bulk` load stores it whole, longer than what the
    /// stores downstream are sized for.
    TooLong {
        /// The property name.
        property: String,
        /// The value, cut to 80 characters.
        value: String,
        /// Its length in characters (after squeezing runs of white space, as the server's
        /// cleaning of names and addresses does).
        length: u64,
        /// The most the type allows.
        max: u64,
    },
    /// A property the schema requires has no value. [`Model::check`] flags a required
    /// property given with an empty list (`"number": []`), which followthemoney 3.5.9 and 4
    /// both refuse (`schema.py` `Schema.validate`); [`Model::check_strict`] also flags one
    /// that is absent.
    Required {
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
            Problem::TooLong {
                property,
                value,
                length,
                max,
            } => write!(
                f,
                "{property}: {value:?} has {length} characters, more than the {max} its type allows"
            ),
            Problem::Required { property } => {
                write!(f, "required property {property:?} has no value")
            }
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
    /// - a required property (the schema's `required`) given with no value (`"number": []`):
    ///   both followthemoney 3.5.9 and 4 refuse it (`schema.py` `Schema.validate`);
    /// - a value its type refuses, where the type makes that decidable, as followthemoney's
    ///   `PropertyType.validate` does: an `entity` value must be an entity id (or a
    ///   nested entity with one); a `date` must be `YYYY`, `YYYY-MM`, `YYYY-MM-DD`,
    ///   `YYYY-MM-DDTHH`, `YYYY-MM-DDTHH:MM` or `YYYY-MM-DDTHH:MM:SS` (optionally with
    ///   fractions of a second and `Z` or an offset), a real calendar date with a year from 1000
    ///   to 2999 (`types/date.py`, prefixdate);
    /// - in a model whose types have a `maxLength` (followthemoney 4, OpenAleph), a value
    ///   longer than its type's (`types/common.py` `PropertyType.validate`, 4.10), counted in
    ///   characters after squeezing runs of white space. followthemoney 4.10 measures against
    ///   the type's length, not the property's [`max_length`](SchemaProperty::max_length):
    ///   an `Address.postalCode` (16) of 20 characters passes its validation, a `string` of
    ///   1,025 does not. Types whose own `validate` ignores the length (enumerations such as
    ///   `country`, and `date`, `email`, `entity`, `ip`, `phone`: `types/*.py`) are not
    ///   measured; a type the model does not list (a future followthemoney's) is measured as a
    ///   `string`.
    ///
    /// Values of the other types are not refused: the server keeps them, or cleans them into
    /// what it stores (a country name becomes its code, `countrynames.to_code` in
    /// `types/country.py`; a number property keeps any text, `types/number.py`), and refusing
    /// them would refuse loads Aleph accepts. Nor is a required property that is absent
    /// flagged: Aleph's and OpenAleph's `_bulk` store such entities, and followthemoney 4's
    /// `Schema.validate` looks only at the properties given; [`check_strict`](Self::check_strict)
    /// flags it. The date check is stricter than the server's prefix parser, which keeps
    /// `2021` of `2021 or 2022` and drops the rest without a word.
    pub fn check(&self, entity: &Entity) -> Vec<Problem> {
        self.problems(entity, false)
    }

    /// [`check`](Self::check), and also every required property of the schema that the
    /// entity does not have at all. The servers' own validation of one entity refuses such an
    /// entity (`POST /entities?validate=true`, `PUT /entities/{id}?validate=true`): Aleph
    /// 4.1.6 through followthemoney 3.5.9, whose `Schema.validate` goes through every
    /// property of the schema (`aleph/logic/entities.py` `validate_entity`), and OpenAleph
    /// 5.2 and later, which checks `schema.required` itself because followthemoney 4 no longer
    /// does (`aleph/logic/entities.py` `validate_entity`, OpenAleph commit f8ac5d28), so this
    /// is the check to run before writing entities one by one with `validate(true)`.
    /// A `_bulk` load (and OpenAleph 5.0 and 5.1) stores such entities, so bulk loads use
    /// [`check`](Self::check).
    ///
    /// Which properties are required comes from the model: a `Passport` needs
    /// `passportNumber` under followthemoney 3.5.9, `holder` and `number` under 4.
    pub fn check_strict(&self, entity: &Entity) -> Vec<Problem> {
        self.problems(entity, true)
    }

    /// Everything wrong with `entity`; `absent_required` flags required properties it lacks.
    fn problems(&self, entity: &Entity, absent_required: bool) -> Vec<Problem> {
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
            if values.is_empty() && schema.required.iter().any(|r| r == name) {
                problems.push(Problem::Required {
                    property: name.clone(),
                });
            }
            for value in values {
                if let Some(problem) = self.refused(name, property, value) {
                    problems.push(problem);
                }
            }
        }
        if absent_required {
            // The dump's `required` already holds the inherited ones (`Schema.to_dict`).
            for name in &schema.required {
                if !entity.properties.contains_key(name) {
                    problems.push(Problem::Required {
                        property: name.clone(),
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

    /// What is wrong with `value` of the property `name`, if its type refuses it.
    fn refused(
        &self,
        name: &str,
        property: &SchemaProperty,
        value: &PropertyValue,
    ) -> Option<Problem> {
        let bad = |expected| {
            Some(Problem::BadValue {
                property: name.to_owned(),
                value: shown(value),
                expected,
            })
        };
        let type_name = property.type_name.as_str();
        let text = match value {
            PropertyValue::Entity(entity) => {
                if type_name == "entity" && entity.id.as_deref().is_some_and(is_entity_id) {
                    return None;
                }
                return bad(if type_name == "entity" {
                    "a nested entity with an entity id"
                } else {
                    "a text value (a nested entity was given)"
                });
            }
            PropertyValue::Text(text) => text.as_str(),
        };
        match type_name {
            "entity" if !is_entity_id(text) => return bad("an entity id"),
            "date" if !is_ftm_date(text) => {
                return bad("a date (YYYY, YYYY-MM, YYYY-MM-DD or YYYY-MM-DDTHH:MM[:SS])");
            }
            _ => {}
        }
        let max = self.max_length(type_name)?;
        let length = squeezed_length(text);
        (length > max).then(|| Problem::TooLong {
            property: name.to_owned(),
            value: shown(value),
            length,
            max,
        })
    }

    /// The longest value followthemoney 4's validation lets a type have, if it measures that
    /// type at all: the type's `maxLength` (a type the model does not list counts as a
    /// `string`); none for the types whose own `validate` ignores it — enumerations (those
    /// with `values`: `types/common.py` `EnumType.validate`) and `date`, `email`, `entity`,
    /// `ip`, `phone` (`types/date.py`, `email.py`, `entity.py`, `ip.py`, `phone.py`, 4.10) —
    /// and none in a followthemoney 3 model, which has no lengths.
    fn max_length(&self, type_name: &str) -> Option<u64> {
        const OWN_VALIDATE: [&str; 5] = ["date", "email", "entity", "ip", "phone"];
        if OWN_VALIDATE.contains(&type_name) {
            return None;
        }
        let kind = self
            .types
            .get(type_name)
            .or_else(|| self.types.get("string"))?;
        if !kind.values.is_empty() {
            return None;
        }
        kind.max_length
    }
}

/// The length of `text` in characters once runs of white space are one space and the ends
/// trimmed (never more than followthemoney counts after cleaning: names and addresses are
/// squeezed so, strings are not, so an overlong string of mostly spaces may pass unseen).
fn squeezed_length(text: &str) -> u64 {
    text.split_whitespace()
        .map(|word| word.chars().count() as u64 + 1)
        .sum::<u64>()
        .saturating_sub(1)
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
    fn lengths_count_characters_with_white_space_squeezed() {
        assert_eq!(squeezed_length(""), 0);
        assert_eq!(squeezed_length("   "), 0);
        assert_eq!(squeezed_length("abc"), 3);
        assert_eq!(squeezed_length("  a \t\n b  "), 3);
        assert_eq!(squeezed_length("ééé"), 3, "characters, not bytes");
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
