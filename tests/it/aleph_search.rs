//! Every search parameter of Aleph's `SearchQueryParser` (alephdata/aleph
//! `aleph/search/parser.py`), typed facets, and long searches sent as a form to `POST /search`.
#![cfg(feature = "aleph")]

use casefile::aleph::{FacetSpec, Interval};
use futures::TryStreamExt;
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer};

use crate::support::aleph::*;
use crate::support::assert_invalid;

/// An empty page of a search, with the facets Aleph sends back (`aleph/search/facet.py`).
fn page_with_facets() -> serde_json::Value {
    json!({
        "status": "ok", "results": [], "total": 0, "total_type": "eq", "limit": 20, "offset": 0,
        "next": null, "previous": null,
        "facets": {
            "collection_id": {
                "filters": ["7"],
                "total": 2,
                "values": [
                    {"id": "7", "label": "Leak", "count": 0, "active": true, "category": "leak"},
                    {"id": 3, "label": "Registry", "count": 12, "active": false, "category": "company"}
                ]
            },
            "properties.date": {
                "filters": [],
                "values": [],
                "intervals": [
                    {"id": "2019-01-01T00:00:00", "label": "2019-01-01T00:00:00", "count": 4, "active": false},
                    {"id": "2020-01-01T00:00:00", "label": "2020-01-01T00:00:00", "count": 0, "active": false}
                ]
            }
        }
    })
}

#[tokio::test]
async fn every_search_parameter_is_sent_as_the_parser_reads_it() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/2/entities"))
        .respond_with(ok_json(page_with_facets().to_string()))
        .mount(&server)
        .await;
    let page = client(&server)
        .entities()
        .search()
        .prefix("mer")
        .schemata("LegalEntity")
        .exclude("countries", "ru")
        .empty("properties.dissolutionDate")
        .gte("properties.incorporationDate", "2015")
        .lt("properties.incorporationDate", "2020-06")
        .gt("properties.amount", "100")
        .lte("properties.amount", "5000")
        .facet_with(
            "collection_id",
            FacetSpec::new()
                .size(50)
                .total(true)
                .label_type("collection_id"),
        )
        .facet_with(
            "properties.date",
            FacetSpec::new().interval(Interval::Year).values(false),
        )
        .highlight(true)
        .highlight_count(2)
        .highlight_length(80)
        .highlight_text("meridian")
        .param("facet_significant", "names")
        .result_set()
        .await
        .unwrap();
    let req = only_request(&server).await;
    assert_request(
        &req,
        "GET",
        "/api/2/entities",
        &[
            ("prefix", "mer"),
            ("filter:schemata", "LegalEntity"),
            ("exclude:countries", "ru"),
            ("empty:properties.dissolutionDate", "true"),
            ("filter:gte:properties.incorporationDate", "2015"),
            ("filter:lt:properties.incorporationDate", "2020-06"),
            ("filter:gt:properties.amount", "100"),
            ("filter:lte:properties.amount", "5000"),
            ("facet", "collection_id"),
            ("facet", "properties.date"),
            ("facet_size:collection_id", "50"),
            ("facet_total:collection_id", "true"),
            ("facet_type:collection_id", "collection_id"),
            ("facet_values:properties.date", "false"),
            ("facet_interval:properties.date", "year"),
            ("highlight", "true"),
            ("highlight_count", "2"),
            ("highlight_length", "80"),
            ("highlight_text", "meridian"),
            ("facet_significant", "names"),
        ],
    );
    // The facets read back typed: values (ids written as numbers too), totals, categories and
    // date intervals.
    let collections = &page.facets["collection_id"];
    assert_eq!(collections.total, Some(2));
    assert_eq!(collections.filters, ["7"]);
    let ids: Vec<&str> = collections.values.iter().map(|v| v.id.as_str()).collect();
    assert_eq!(ids, ["7", "3"]);
    assert!(collections.values[0].active);
    assert_eq!(collections.values[1].count, 12);
    assert_eq!(collections.values[1].category.as_deref(), Some("company"));
    let years = &page.facets["properties.date"];
    assert!(years.values.is_empty());
    assert_eq!(years.intervals.len(), 2);
    assert_eq!(years.intervals[0].count, 4);
}

/// A facet that asks for nothing would make Aleph 4.1.6 leave the facets after it empty
/// (`aleph/search/query.py` `get_aggregations`); it is refused before anything is sent.
#[tokio::test]
async fn a_facet_that_asks_for_nothing_is_refused_before_sending() {
    let server = MockServer::start().await;
    let aleph = client(&server);
    for spec in [FacetSpec::new().size(0), FacetSpec::new().values(false)] {
        let err = aleph
            .entities()
            .search()
            .facet_with("names", spec.clone())
            .result_set()
            .await
            .unwrap_err();
        assert_invalid(&err, "facet");
        let err = aleph
            .collections()
            .list()
            .facet_with("countries", spec)
            .stream()
            .try_collect::<Vec<_>>()
            .await
            .unwrap_err();
        assert_invalid(&err, "facet");
    }
    assert!(requests(&server).await.is_empty());
    // With a total or an interval it asks for something.
    Mock::given(method("GET"))
        .respond_with(ok_json(page_with_facets().to_string()))
        .mount(&server)
        .await;
    aleph
        .entities()
        .search()
        .facet_with("names", FacetSpec::new().values(false).total(true))
        .result_set()
        .await
        .unwrap();
}

/// A search too long for a URL goes to `POST /search` as a form, which Aleph reads like the
/// query string (`request.values` in `aleph/views/entities_api.py`); every page of it does.
#[tokio::test]
async fn a_search_too_long_for_a_url_is_sent_as_a_form_to_post_search() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/2/search"))
        .respond_with(|req: &wiremock::Request| {
            let entity =
                |i: u64| json!({"id": format!("e{i}"), "schema": "Person", "properties": {}});
            let offset: u64 = url::form_urlencoded::parse(&req.body)
                .find(|(k, _)| k == "offset")
                .and_then(|(_, v)| v.parse().ok())
                .unwrap_or(0);
            let next = (offset == 0).then_some("http://ui.invalid/api/2/search?offset=2&limit=2");
            ok_json(
                json!({
                    "results": [entity(offset), entity(offset + 1)],
                    "total": 4, "total_type": "eq", "limit": 2, "offset": offset,
                    "next": next, "previous": null
                })
                .to_string(),
            )
        })
        .mount(&server)
        .await;
    let names: Vec<String> = (0..300).map(|i| format!("name number {i}")).collect();
    let mut search = client(&server).entities().search().page_size(2);
    for name in &names {
        search = search.filter("names", name.as_str());
    }
    let found: Vec<_> = search.stream().try_collect().await.unwrap();
    assert_eq!(found.len(), 4);
    let seen = requests(&server).await;
    assert_eq!(seen.len(), 2);
    for (req, offset) in seen.iter().zip(["0", "2"]) {
        assert_eq!(req.method.as_str(), "POST");
        assert_eq!(req.url.query(), None, "nothing in the URL");
        assert_eq!(
            header(req, "content-type"),
            Some("application/x-www-form-urlencoded")
        );
        let form: Vec<(String, String)> = url::form_urlencoded::parse(&req.body)
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        let sent: Vec<&str> = form
            .iter()
            .filter(|(k, _)| k == "filter:names")
            .map(|(_, v)| v.as_str())
            .collect();
        assert_eq!(sent, names.iter().map(String::as_str).collect::<Vec<_>>());
        assert!(form.contains(&("filter:schemata".into(), "Thing".into())));
        if offset != "0" {
            assert!(form.contains(&("offset".into(), offset.into())), "{form:?}");
        }
    }
}

async fn sandbox() -> casefile::testkit::Sandbox {
    casefile::testkit::Sandbox::builder()
        .seed(7)
        .start()
        .await
        .unwrap()
}

/// On the sandbox: a facet counts under every filter but its own (drill-down), a date range
/// narrows the people, a yearly histogram adds up to the people, and a search too long for a
/// URL, sent as a form, finds what the same search finds as a query string.
#[tokio::test]
async fn facets_ranges_and_long_searches_round_trip_on_the_sandbox() {
    let s = sandbox().await;
    let aleph = s.aleph().unwrap();
    let everything = aleph
        .entities()
        .search()
        .page_size(1)
        .facet_with("schema", FacetSpec::new().total(true))
        .result_set()
        .await
        .unwrap();
    let schemata = &everything.facets["schema"];
    let counted: u64 = schemata.values.iter().map(|v| v.count).sum();
    assert_eq!(Some(counted), everything.total, "each thing has one schema");
    assert_eq!(schemata.total, Some(schemata.values.len() as u64));
    let people = schemata
        .values
        .iter()
        .find(|v| v.id == "Person")
        .expect("the seed has people")
        .count;

    // `filter:schema` picks the index (`EntitiesQuery.SKIP_FILTERS`), so the schema facet
    // counts only people, active.
    let only_people = aleph
        .entities()
        .search()
        .filter("schema", "Person")
        .page_size(1)
        .facet("schema")
        .facet_with(
            "properties.birthDate",
            FacetSpec::new().interval(Interval::Year).values(false),
        )
        .result_set()
        .await
        .unwrap();
    assert_eq!(only_people.total, Some(people));
    let drilled = &only_people.facets["schema"];
    assert_eq!(drilled.values.len(), 1);
    assert_eq!(
        (
            drilled.values[0].id.as_str(),
            drilled.values[0].count,
            drilled.values[0].active
        ),
        ("Person", people, true)
    );
    // Any other facet drills down: filtered on one birth year, the year facet still counts
    // every year, that one active.
    let first = aleph
        .entities()
        .search()
        .schema("Person")
        .page_size(1)
        .stream()
        .try_next()
        .await
        .unwrap()
        .unwrap();
    let born = first.first("birthDate").unwrap().to_owned();
    let one_day = aleph
        .entities()
        .search()
        .schema("Person")
        .filter("properties.birthDate", born.as_str())
        .facet("properties.birthDate")
        .page_size(1)
        .result_set()
        .await
        .unwrap();
    let days = &one_day.facets["properties.birthDate"];
    assert!(days.values.iter().any(|v| v.id == born && v.active));
    assert!(days.values.len() > 1, "the other days are still counted");
    assert!(one_day.total < Some(people));
    let years = &only_people.facets["properties.birthDate"];
    assert!(years.values.is_empty());
    let in_years: u64 = years.intervals.iter().map(|i| i.count).sum();
    assert_eq!(in_years, people, "one birth date each");

    // A range keeps the people born in the 1970s, and no one else.
    let seventies: Vec<_> = aleph
        .entities()
        .search()
        .schema("Person")
        .gte("properties.birthDate", "1970")
        .lt("properties.birthDate", "1980")
        .stream()
        .try_collect()
        .await
        .unwrap();
    assert!(!seventies.is_empty() && (seventies.len() as u64) < people);
    for person in &seventies {
        let born = person.first("birthDate").unwrap();
        assert!(("1970".."1980").contains(&born), "{born}");
    }

    // The same search with 300 exclusions that exclude nothing goes as a form, and finds the same.
    let short: Vec<_> = aleph
        .entities()
        .search()
        .schema("Person")
        .stream()
        .try_collect()
        .await
        .unwrap();
    let mut long = aleph.entities().search().schema("Person");
    for i in 0..300 {
        long = long.exclude("names", format!("nobody number {i}"));
    }
    let long: Vec<_> = long.stream().try_collect().await.unwrap();
    assert_eq!(long.len() as u64, people);
    assert_eq!(
        long.iter().map(|e| &e.id).collect::<Vec<_>>(),
        short.iter().map(|e| &e.id).collect::<Vec<_>>()
    );
}

/// Highlights decode in either server's shape: a list on Aleph 4.1, fragments per field on
/// OpenAleph 5 (openaleph-search `query/highlight.py`), where the list type used to fail the
/// whole page.
#[tokio::test]
async fn highlights_decode_in_the_shape_of_either_server() {
    let server = MockServer::start().await;
    let page = json!({
        "results": [
            {"id": "a", "schema": "Pages", "highlight": ["the <em>penguin</em> colony"]},
            {"id": "b", "schema": "Pages", "highlight": {
                "content": ["a <em>penguin</em> walks"], "names": ["Penguin Ltd"]
            }},
            {"id": "c", "schema": "Pages"}
        ],
        "total": 3, "total_type": "eq", "limit": 20, "offset": 0, "next": null
    });
    Mock::given(method("GET"))
        .and(path("/api/2/entities"))
        .respond_with(ok_json(page.to_string()))
        .mount(&server)
        .await;
    let found: Vec<_> = client(&server)
        .entities()
        .search()
        .query("penguin")
        .highlight(true)
        .stream()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(
        found[0].highlight.fragments(),
        ["the <em>penguin</em> colony"]
    );
    assert!(found[0].highlight.field("content").is_empty());
    assert_eq!(
        found[1].highlight.fragments(),
        ["a <em>penguin</em> walks", "Penguin Ltd"]
    );
    assert_eq!(found[1].highlight.field("names"), ["Penguin Ltd"]);
    assert!(found[2].highlight.is_empty());
}
