//! How a search counts a field: [`FacetSpec`] and its date [`Interval`]s
//! (alephdata/aleph `aleph/search/parser.py` `SearchQueryParser`, `aleph/search/facet.py`).

use crate::paginate::Refusal;

string_enum! {
    /// The width of a date facet's buckets (`facet_interval:<field>`, an Elasticsearch calendar
    /// interval).
    pub enum Interval {
        /// One bucket a year.
        Year = "year",
        /// One bucket a quarter.
        Quarter = "quarter",
        /// One bucket a month.
        Month = "month",
        /// One bucket a week.
        Week = "week",
        /// One bucket a day.
        Day = "day",
        /// One bucket an hour.
        Hour = "hour",
        /// One bucket a minute.
        Minute = "minute",
    }
}

/// How a search counts the values of one field, for
/// [`facet_with`](crate::aleph::SearchEntities::facet_with): the counts come back in
/// [`ResultSet::facets`](crate::aleph::ResultSet::facets).
///
/// ```
/// use casefile::aleph::{FacetSpec, Interval};
///
/// // The 50 most frequent countries and how many distinct ones there are.
/// let countries = FacetSpec::new().size(50).total(true);
/// // Items per year of their dates, and no value list.
/// let years = FacetSpec::new().interval(Interval::Year).values(false);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[must_use]
pub struct FacetSpec {
    size: Option<u32>,
    total: bool,
    values: Option<bool>,
    label_type: Option<String>,
    interval: Option<Interval>,
}

impl FacetSpec {
    /// The server's defaults: the 20 most frequent values, no total.
    pub fn new() -> Self {
        FacetSpec::default()
    }

    /// How many of the most frequent values (`facet_size:<field>`, default 20; an anonymous
    /// caller gets at most 50 of a facet other than `schema`, `schemata`, `collection_id`,
    /// `countries`, `languages`).
    pub fn size(mut self, n: u32) -> Self {
        self.size = Some(n);
        self
    }

    /// Also count the distinct values (`facet_total:<field>`; for an anonymous caller only on
    /// the small facets named in [`size`](Self::size)).
    pub fn total(mut self, total: bool) -> Self {
        self.total = total;
        self
    }

    /// Whether to list the values at all (`facet_values:<field>`, default true).
    pub fn values(mut self, values: bool) -> Self {
        self.values = Some(values);
        self
    }

    /// How the values are labelled when the field's name does not say (`facet_type:<field>`):
    /// `collection_id`, `country`, `language`, `category`, `schema`, `event` or `entity`.
    pub fn label_type(mut self, label_type: impl Into<String>) -> Self {
        self.label_type = Some(label_type.into());
        self
    }

    /// Count per date bucket (`facet_interval:<field>`); the buckets are in
    /// [`Facet::intervals`](crate::aleph::Facet::intervals).
    pub fn interval(mut self, interval: Interval) -> Self {
        self.interval = Some(interval);
        self
    }

    /// The query parameters of this facet on `field`.
    pub(crate) fn params(&self, field: &str) -> Vec<(String, String)> {
        let mut params = vec![("facet".to_owned(), field.to_owned())];
        let mut add = |name: &str, value: String| params.push((format!("{name}:{field}"), value));
        if let Some(size) = self.size {
            add("facet_size", size.to_string());
        }
        if self.total {
            add("facet_total", "true".into());
        }
        if let Some(values) = self.values {
            add("facet_values", values.to_string());
        }
        if let Some(label_type) = &self.label_type {
            add("facet_type", label_type.clone());
        }
        if let Some(interval) = &self.interval {
            add("facet_interval", interval.to_string());
        }
        params
    }

    /// Refuses a facet that asks for nothing: no values (size 0 or `values(false)`), no total
    /// and no interval. Aleph 4.1.6 does not just skip it: it stops building the facets there,
    /// so the facets after it come back empty (`aleph/search/query.py` `get_aggregations`,
    /// `break` where `continue` was meant).
    pub(crate) fn check(&self, field: &str) -> Option<Refusal> {
        let no_values = self.size == Some(0) || self.values == Some(false);
        (no_values && !self.total && self.interval.is_none()).then(|| {
            Refusal(
                "facet",
                format!(
                    "the facet `{field}` asks for nothing (no values, no total, no interval); \
                     Aleph would then leave the facets after it empty"
                ),
            )
        })
    }
}
