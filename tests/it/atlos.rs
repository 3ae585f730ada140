//! The Atlos client against local servers shaped like the real one: exactly what each operation
//! sends, how the real answers decode, every error shape, and the checks made before sending.
#![cfg(feature = "atlos")]

use std::collections::HashSet;

use casefile::atlos::{
    ArtifactType, AttributeValue, Client, IncidentSort, IncidentStatus, Restriction, Sensitivity,
    SourceMaterialStatus, UpdateType, UploadType, Visibility,
};
use casefile::{Error, ErrorKind, PageToken, Upload};
use chrono::{NaiveDate, TimeZone, Utc};
use futures::{StreamExt, TryStreamExt};
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

use crate::support::atlos::{TOKEN, client, fixture, fixture_json};
use crate::support::{assert_invalid, example, multipart_parts, pairs, query, requests};

const SM_ID: &str = "944117fa-46a9-4cc5-9151-c5d4034c72c1";

fn json_response(status: u16, body: impl Into<String>) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_raw(body.into(), "application/json; charset=utf-8")
}

/// Answers every request with `response`.
async fn serve(response: ResponseTemplate) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(wiremock::matchers::any())
        .respond_with(response)
        .mount(&server)
        .await;
    server
}

/// The one request the server received, with the headers every Atlos call carries checked.
async fn only_request(server: &MockServer) -> Request {
    let mut all = requests(server).await;
    assert_eq!(all.len(), 1, "expected exactly one request");
    let request = all.remove(0);
    let auth: Vec<_> = request.headers.get_all("authorization").iter().collect();
    assert_eq!(auth.len(), 1, "exactly one Authorization header");
    assert_eq!(auth[0].to_str().unwrap(), format!("Bearer {TOKEN}"));
    let agent = request.headers.get("user-agent").unwrap().to_str().unwrap();
    assert!(agent.starts_with("casefile/"), "{agent}");
    request
}

fn header(request: &Request, name: &str) -> String {
    request
        .headers
        .get(name)
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default()
}

fn json_body(request: &Request) -> Value {
    assert_eq!(header(request, "content-type"), "application/json");
    serde_json::from_slice(&request.body).unwrap()
}

fn api_error(result: Result<impl std::fmt::Debug, Error>) -> casefile::ApiError {
    match result {
        Err(Error::Api(api)) => *api,
        other => panic!("expected an API error, got {other:?}"),
    }
}

// ---------------------------------------------------------------------------------------------
// Generated listings: real shapes, many items, fields missing, fields unknown.
// ---------------------------------------------------------------------------------------------

/// The slug of generated item `i`: six characters of [0-9A-Z].
fn slug_of(i: usize) -> String {
    const DIGITS: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
    let mut n = i;
    let mut out = vec![b'0'; 6];
    for slot in out.iter_mut().rev() {
        *slot = DIGITS[n % 36];
        n /= 36;
    }
    String::from_utf8(out).unwrap()
}

fn id_of(i: usize) -> String {
    format!("00000000-0000-4000-8000-{i:012}")
}

/// Item `i` of a listing made from the fixture `templates`: a fresh id, every optional field
/// missing in one item of seven, set to `null` in another, and unknown fields everywhere.
fn generated(templates: &[Value], i: usize, required: &[&str]) -> Value {
    let mut item = templates[i % templates.len()].clone();
    let object = item.as_object_mut().unwrap();
    object.insert("id".into(), json!(id_of(i)));
    if object.contains_key("slug") {
        object.insert("slug".into(), json!(slug_of(i)));
    }
    object.insert(
        "field_added_in_a_later_release".into(),
        json!({"nested": [1, 2, {"x": null}]}),
    );
    if let Some(Value::Object(project)) = object.get_mut("project") {
        project.insert("owner_only_setting".into(), json!(true));
    }
    match i % 7 {
        3 => object.retain(|k, _| required.contains(&k.as_str())),
        5 => {
            for (k, v) in object.iter_mut() {
                if !required.contains(&k.as_str()) {
                    *v = Value::Null;
                }
            }
        }
        _ => {}
    }
    item
}

const INCIDENT_REQUIRED: &[&str] = &["id", "slug", "inserted_at", "updated_at"];

fn incident_templates() -> Vec<Value> {
    let mut templates = Vec::new();
    for name in [
        "incidents_page1.json",
        "incidents_page2.json",
        "incidents_filtered.json",
    ] {
        let page = fixture_json(name);
        templates.extend(page["results"].as_array().unwrap().iter().cloned());
    }
    templates
}

/// A server whose `incidents` listing has `total` generated incidents, 100 a page, behind
/// cursors `c1`, `c2`, ... (each page's `previous` is set too, and must be ignored).
async fn incident_server(total: usize) -> MockServer {
    let templates = incident_templates();
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v2/incidents"))
        .respond_with(move |request: &Request| {
            let cursor = request
                .url
                .query_pairs()
                .find(|(k, _)| k == "cursor")
                .map(|(_, v)| v.into_owned());
            let page: usize = match cursor.as_deref() {
                None => 0,
                Some(c) => match c.strip_prefix('c').and_then(|n| n.parse().ok()) {
                    Some(n) => n,
                    None => {
                        return json_response(200, fixture("error_bad_cursor_is_200.json"));
                    }
                },
            };
            let start = page * 100;
            let end = (start + 100).min(total);
            let results: Vec<Value> = (start..end)
                .map(|i| generated(&templates, i, INCIDENT_REQUIRED))
                .collect();
            let next = (end < total).then(|| format!("c{}", page + 1));
            let previous = (page > 0).then(|| format!("p{page}"));
            json_response(
                200,
                json!({"results": results, "next": next, "previous": previous}).to_string(),
            )
        })
        .mount(&server)
        .await;
    server
}

// ---------------------------------------------------------------------------------------------
// Client configuration
// ---------------------------------------------------------------------------------------------

#[test]
fn the_builder_defaults_to_the_public_instance_and_needs_a_token() {
    let atlos = Client::builder().token(TOKEN).build().unwrap();
    assert_eq!(
        atlos.transport().api_base().as_str(),
        "https://platform.atlos.org/api/v2/"
    );
    assert!(
        !format!("{atlos:?}").contains(TOKEN),
        "the token leaked into Debug"
    );

    let self_hosted = Client::builder()
        .base_url("https://atlos.example.org/")
        .token(TOKEN)
        .build()
        .unwrap();
    assert_eq!(
        self_hosted.transport().api_base().as_str(),
        "https://atlos.example.org/api/v2/"
    );
    assert!(matches!(Client::builder().build(), Err(Error::Config(_))));
}

/// The only test that touches the process environment.
#[test]
fn from_env_reads_the_url_and_the_token() {
    // SAFETY: no other test in this binary reads or writes the environment.
    unsafe {
        std::env::set_var("ATLOS_URL", "https://atlos.example.org");
        std::env::set_var("ATLOS_API_TOKEN", TOKEN);
    }
    let atlos = Client::from_env().unwrap();
    assert_eq!(
        atlos.transport().api_base().as_str(),
        "https://atlos.example.org/api/v2/"
    );
    assert!(!format!("{atlos:?}").contains(TOKEN));

    unsafe { std::env::remove_var("ATLOS_URL") };
    let atlos = Client::from_env().unwrap();
    assert_eq!(
        atlos.transport().api_base().as_str(),
        "https://platform.atlos.org/api/v2/"
    );

    unsafe { std::env::remove_var("ATLOS_API_TOKEN") };
    let err = Client::from_env().unwrap_err();
    assert!(
        matches!(&err, Error::Config(m) if m.contains("ATLOS_API_TOKEN")),
        "{err}"
    );
}

// ---------------------------------------------------------------------------------------------
// Incidents
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn list_incidents_sends_every_filter_in_the_form_the_server_reads() {
    let server = serve(json_response(200, fixture("incidents_filtered.json"))).await;
    let day = |d| NaiveDate::from_ymd_opt(2024, 1, d).unwrap();
    let page = client(&server)
        .incidents()
        .list()
        .query("airstrike school")
        .status(IncidentStatus::Completed)
        .status("Help Needed")
        .tag("Airstrike")
        .tags(["[Unset]"])
        .sensitivity(Sensitivity::GraphicViolence)
        .sensitivity_unset()
        .date_min(day(1))
        .date_max(day(31))
        .near(29.5, 45.25)
        .radius_km(25)
        .no_source_material(true)
        .subscribed_by("AD3DC050-C0D1-443B-893D-4C2D34DD65BD")
        .assigned_to(uuid::Uuid::parse_str("834c3903-16e8-49ce-88af-f46fde824025").unwrap())
        .edited_by("834c3903-16e8-49ce-88af-f46fde824025")
        .deleted(false)
        .sort(IncidentSort::DateDesc)
        .first_page()
        .await
        .unwrap();

    let request = only_request(&server).await;
    assert_eq!(request.method.as_str(), "GET");
    assert_eq!(request.url.path(), "/api/v2/incidents");
    assert_eq!(
        query(&request),
        pairs(&[
            ("query", "airstrike school"),
            ("attr_status[]", "Completed"),
            ("attr_status[]", "Help Needed"),
            ("attr_tags[]", "Airstrike"),
            ("attr_tags[]", "[Unset]"),
            ("attr_sensitive[]", "Graphic Violence"),
            ("attr_sensitive[]", "[Unset]"),
            ("attr_date_min", "2024-01-01"),
            ("attr_date_max", "2024-01-31"),
            ("attr_geolocation", "29.5,45.25"),
            ("attr_geolocation_radius", "25"),
            ("no_media_versions", "true"),
            ("only_subscribed_id", "ad3dc050-c0d1-443b-893d-4c2d34dd65bd"),
            ("only_assigned_id", "834c3903-16e8-49ce-88af-f46fde824025"),
            (
                "has_been_edited_by_id",
                "834c3903-16e8-49ce-88af-f46fde824025"
            ),
            ("deleted", "false"),
            ("sort", "date_desc"),
        ])
    );
    assert_eq!(header(&request, "accept"), "application/json");

    assert_eq!(page.items.len(), 2);
    assert_eq!(page.next, None);
    let first = &page.items[0];
    assert_eq!(first.slug, "VMSBQM");
    assert_eq!(first.status, Some(IncidentStatus::Completed));
    assert_eq!(first.sensitive, vec![Sensitivity::GraphicViolence]);
    let location = first.location.unwrap();
    assert_eq!(
        (location.latitude, location.longitude),
        (29.577596, 45.487865)
    );
    assert_eq!(first.location_precision.as_deref(), Some("Exact"));
    assert_eq!(
        first.date,
        Some(NaiveDate::from_ymd_opt(2024, 1, 31).unwrap())
    );
}

#[tokio::test]
async fn a_listing_without_filters_sends_no_query() {
    let server = serve(json_response(200, fixture("incidents_filtered.json"))).await;
    client(&server)
        .incidents()
        .list()
        .first_page()
        .await
        .unwrap();
    let request = only_request(&server).await;
    assert_eq!(request.url.query(), None);
}

#[tokio::test]
async fn incident_fixtures_decode_into_the_models() {
    let server = MockServer::start().await;
    Mock::given(path("/api/v2/incidents"))
        .respond_with(json_response(200, fixture("incidents_page1.json")))
        .mount(&server)
        .await;
    let page = client(&server)
        .incidents()
        .list()
        .first_page()
        .await
        .unwrap();
    assert_eq!(page.items.len(), 5);
    assert!(matches!(&page.next, Some(PageToken::Cursor(c)) if c.starts_with("eyJ0Ijox")));

    let incident = &page.items[0];
    assert_eq!(
        incident.id.to_string(),
        "e3c46992-8cb0-46d6-b856-74c95f4431d2"
    );
    assert_eq!(incident.slug, "5HH224");
    assert_eq!(
        incident.description,
        "Fire drone warehouse station checkpoint village building near Gaza"
    );
    assert_eq!(incident.status, Some(IncidentStatus::ReadyForReview));
    assert_eq!(incident.sensitive, vec![Sensitivity::DeceptiveOrMisleading]);
    assert_eq!(
        incident.more_info.as_deref(),
        Some("Source: TikTok channel, city.")
    );
    assert_eq!(incident.location, None);
    assert!(!incident.deleted);
    assert_eq!(
        incident.inserted_at,
        Utc.with_ymd_and_hms(2024, 4, 28, 6, 51, 21).unwrap()
    );
    let project = incident.project.as_ref().unwrap();
    assert_eq!(
        (project.name.as_str(), project.code.as_deref()),
        ("Civilian Harm Monitor", Some("CIV"))
    );
    assert_eq!(project.attributes.len(), 6);
    assert_eq!(
        project.attributes[0].kind,
        Some(casefile::atlos::AttributeType::MultiSelect)
    );
    assert_eq!(incident.source_material.len(), 2);
    assert_eq!(
        incident.source_material[0].visibility,
        Some(Visibility::Removed)
    );
    assert_eq!(incident.project_attributes.len(), 5);
    assert_eq!(incident.custom_attribute("Priority"), Some(&json!("Low")));
    assert_eq!(
        incident.custom_attribute("96b68d1c-8587-4e6c-b6d3-a7f28fbb62b9"),
        Some(&json!(["Military Activity"]))
    );
    assert_eq!(incident.custom_attribute("Reported Near"), None);

    let located = &page.items[1];
    let location = located.location.unwrap();
    assert_eq!(
        (location.latitude, location.longitude),
        (29.969972, -1.900854)
    );
}

#[tokio::test]
async fn incidents_stream_follows_cursors_over_pages_of_100_in_server_order() {
    let server = incident_server(250).await;
    let incidents: Vec<_> = client(&server)
        .incidents()
        .list()
        .stream()
        .try_collect()
        .await
        .unwrap();

    assert_eq!(incidents.len(), 250);
    for (i, incident) in incidents.iter().enumerate() {
        assert_eq!(incident.id.to_string(), id_of(i));
        assert_eq!(incident.slug, slug_of(i));
    }
    let seen: HashSet<_> = incidents.iter().map(|i| i.id).collect();
    assert_eq!(seen.len(), 250);

    // Item 3 had every optional field removed, item 5 had them all null.
    for bare in [&incidents[3], &incidents[5]] {
        assert_eq!(bare.description, "");
        assert_eq!(bare.status, None);
        assert!(bare.tags.is_empty() && bare.sensitive.is_empty() && bare.restrictions.is_empty());
        assert_eq!(
            (bare.more_info.as_ref(), bare.date, bare.location),
            (None, None, None)
        );
        assert_eq!(bare.project, None);
        assert!(bare.source_material.is_empty() && bare.project_attributes.is_empty());
        assert!(!bare.deleted);
    }

    let cursors: Vec<Option<String>> = requests(&server)
        .await
        .iter()
        .map(|r| {
            r.url
                .query_pairs()
                .find(|(k, _)| k == "cursor")
                .map(|(_, v)| v.into_owned())
        })
        .collect();
    assert_eq!(cursors, vec![None, Some("c1".into()), Some("c2".into())]);
}

#[tokio::test]
async fn filters_are_sent_with_every_page_and_the_cursor_comes_last() {
    let server = incident_server(150).await;
    let n = client(&server)
        .incidents()
        .list()
        .status(IncidentStatus::ToDo)
        .stream()
        .count()
        .await;
    assert_eq!(n, 150);
    let all = requests(&server).await;
    assert_eq!(query(&all[0]), pairs(&[("attr_status[]", "To Do")]));
    assert_eq!(
        query(&all[1]),
        pairs(&[("attr_status[]", "To Do"), ("cursor", "c1")])
    );
}

#[tokio::test]
async fn a_bad_cursor_answered_with_200_is_an_error_not_an_empty_page() {
    let server = MockServer::start().await;
    Mock::given(path("/api/v2/incidents"))
        .and(wiremock::matchers::query_param("cursor", "garbage"))
        .respond_with(json_response(200, fixture("error_bad_cursor_is_200.json")))
        .mount(&server)
        .await;
    Mock::given(path("/api/v2/incidents"))
        .respond_with(json_response(
            200,
            json!({
                "results": fixture_json("incidents_page1.json")["results"],
                "next": "garbage",
                "previous": null
            })
            .to_string(),
        ))
        .mount(&server)
        .await;

    let results: Vec<_> = client(&server).incidents().list().stream().collect().await;
    assert_eq!(results.len(), 6, "five incidents, then the error");
    assert!(results[..5].iter().all(Result::is_ok));
    let api = api_error(results.into_iter().nth(5).unwrap());
    assert_eq!(api.status, 200);
    assert_eq!(api.kind, ErrorKind::Validation);
    assert_eq!(
        api.message,
        "unable to verify or parse pagination information"
    );
    assert_eq!(api.method, "GET");
    assert!(
        api.url.ends_with("/api/v2/incidents?cursor=…"),
        "{}",
        api.url
    );
}

#[tokio::test]
async fn create_incident_sends_attribute_names_as_keys() {
    let server = serve(json_response(200, fixture("create_incident.json"))).await;
    let incident = client(&server)
        .incidents()
        .create(
            "Shelling near a school",
            [Sensitivity::GraphicViolence, "Deleted by Source".into()],
        )
        .status(IncidentStatus::ToDo)
        .tags(["Airstrike", "Follow-up"])
        .more_info("Two videos from the same roof.")
        .date(NaiveDate::from_ymd_opt(2024, 5, 19).unwrap())
        .restrictions([Restriction::Frozen])
        .location(50.4501, -30.5234)
        .attribute("74D49BA8-6BC8-4305-AFB8-E15A0FDB28FD", "High")
        .attribute(
            uuid::Uuid::parse_str("96b68d1c-8587-4e6c-b6d3-a7f28fbb62b9").unwrap(),
            ["Civilian Harm", "Weapon"],
        )
        .url("https://example.org/a")
        .urls(["https://video.example.org/v/2"])
        .await
        .unwrap();

    let request = only_request(&server).await;
    assert_eq!(request.method.as_str(), "POST");
    assert_eq!(request.url.path(), "/api/v2/incidents/new");
    assert_eq!(request.url.query(), None);
    assert_eq!(
        json_body(&request),
        json!({
            "description": "Shelling near a school",
            "sensitive": ["Graphic Violence", "Deleted by Source"],
            "status": "To Do",
            "tags": ["Airstrike", "Follow-up"],
            "more_info": "Two videos from the same roof.",
            "date": "2024-05-19",
            "restrictions": ["Frozen"],
            "geolocation": "50.4501,-30.5234",
            "urls": ["https://example.org/a", "https://video.example.org/v/2"],
            "74d49ba8-6bc8-4305-afb8-e15a0fdb28fd": "High",
            "96b68d1c-8587-4e6c-b6d3-a7f28fbb62b9": ["Civilian Harm", "Weapon"]
        })
    );
    assert_eq!(incident.slug, "5KMHAN");
    assert_eq!(incident.sensitive, vec![Sensitivity::NotSensitive]);
    assert_eq!(
        incident.source_material[0].upload_type,
        Some(UploadType::Direct)
    );
}

#[tokio::test]
async fn create_incident_with_only_the_required_fields() {
    let server = serve(json_response(200, fixture("create_incident.json"))).await;
    client(&server)
        .incidents()
        .create("Shelling near a school", [Sensitivity::NotSensitive])
        .await
        .unwrap();
    let request = only_request(&server).await;
    assert_eq!(
        json_body(&request),
        json!({"description": "Shelling near a school", "sensitive": ["Not Sensitive"]})
    );
}

#[tokio::test]
async fn comment_posts_the_message_to_the_slug_as_given() {
    for slug in ["5HH224", "CIV-5HH224", "civ-5hh224"] {
        let server = serve(json_response(200, fixture("add_comment.json"))).await;
        client(&server)
            .incidents()
            .comment(slug, "Geolocated, see thread.")
            .await
            .unwrap();
        let request = only_request(&server).await;
        assert_eq!(request.method.as_str(), "POST");
        assert_eq!(request.url.path(), format!("/api/v2/add_comment/{slug}"));
        assert_eq!(
            json_body(&request),
            json!({"message": "Geolocated, see thread."})
        );
    }
}

#[tokio::test]
async fn update_attribute_posts_the_value_and_the_message() {
    let server = serve(json_response(200, fixture("update_attribute.json"))).await;
    let incidents = client(&server).incidents();
    incidents
        .update_attribute("5HH224", "status", IncidentStatus::Completed)
        .message("Verified by two sources")
        .await
        .unwrap();
    incidents
        .update_attribute("5HH224", "tags", vec!["Airstrike", "Follow-up"])
        .await
        .unwrap();
    incidents
        .update_attribute(
            "CIV-5HH224",
            "0FC6FC99-77C8-42E3-B083-3438020EB9E2",
            AttributeValue::List(vec![]),
        )
        .await
        .unwrap();
    incidents
        .update_attribute(
            "5HH224",
            "date",
            NaiveDate::from_ymd_opt(2024, 4, 19).unwrap(),
        )
        .await
        .unwrap();

    let all = requests(&server).await;
    let sent: Vec<(String, Value)> = all
        .iter()
        .map(|r| {
            assert_eq!(r.method.as_str(), "POST");
            (r.url.path().to_owned(), json_body(r))
        })
        .collect();
    assert_eq!(
        sent,
        vec![
            (
                "/api/v2/update/5HH224/status".into(),
                json!({"value": "Completed", "message": "Verified by two sources"})
            ),
            (
                "/api/v2/update/5HH224/tags".into(),
                json!({"value": ["Airstrike", "Follow-up"]})
            ),
            (
                "/api/v2/update/CIV-5HH224/0fc6fc99-77c8-42e3-b083-3438020eb9e2".into(),
                json!({"value": []})
            ),
            (
                "/api/v2/update/5HH224/date".into(),
                json!({"value": "2024-04-19"})
            ),
        ]
    );
}

// ---------------------------------------------------------------------------------------------
// Source material
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn source_material_list_streams_and_decodes() {
    let server = MockServer::start().await;
    let first = fixture_json("source_material_page1.json");
    let next = first["next"].as_str().unwrap().to_owned();
    Mock::given(path("/api/v2/source_material"))
        .and(wiremock::matchers::query_param("cursor", next.as_str()))
        .respond_with(json_response(
            200,
            json!({"results": [], "next": null, "previous": next}).to_string(),
        ))
        .mount(&server)
        .await;
    Mock::given(path("/api/v2/source_material"))
        .respond_with(json_response(200, fixture("source_material_page1.json")))
        .mount(&server)
        .await;

    let all: Vec<_> = client(&server)
        .source_material()
        .list()
        .stream()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(all.len(), 5);
    assert_eq!(requests(&server).await.len(), 2);

    let first = &all[0];
    assert_eq!(first.id.to_string(), SM_ID);
    assert_eq!(first.scoped_id, Some(2));
    assert_eq!(first.status, Some(SourceMaterialStatus::Complete));
    assert_eq!(first.upload_type, Some(UploadType::UserProvided));
    assert_eq!(first.artifacts[0].kind, Some(ArtifactType::Misc));
    assert_eq!(first.artifacts[0].file_size, Some(4281));
    assert_eq!(all[2].artifacts[1].kind, Some(ArtifactType::Media));
    assert_eq!(
        all[2].artifacts[1].perceptual_hashes.as_ref().unwrap()["computed"][0]["type"],
        "blockhash"
    );
}

#[tokio::test]
async fn source_material_pages_of_100_with_missing_and_unknown_fields() {
    let templates: Vec<Value> = fixture_json("source_material_page1.json")["results"]
        .as_array()
        .unwrap()
        .clone();
    let server = MockServer::start().await;
    Mock::given(path("/api/v2/source_material"))
        .respond_with(move |request: &Request| {
            let page = match request.url.query_pairs().find(|(k, _)| k == "cursor") {
                None => 0,
                Some((_, c)) => c.parse::<usize>().unwrap(),
            };
            let results: Vec<Value> = (page * 100..(page + 1) * 100)
                .map(|i| generated(&templates, i, &["id", "inserted_at", "updated_at"]))
                .collect();
            let next = (page < 2).then(|| (page + 1).to_string());
            json_response(200, json!({"results": results, "next": next}).to_string())
        })
        .mount(&server)
        .await;
    let pages: Vec<_> = client(&server)
        .source_material()
        .list()
        .pages()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(
        pages.iter().map(|p| p.items.len()).collect::<Vec<_>>(),
        [100, 100, 100]
    );
    let bare = &pages[0].items[3];
    assert_eq!(bare.id.to_string(), id_of(3));
    assert!(bare.metadata.is_empty() && bare.artifacts.is_empty());
    assert_eq!(
        (bare.status.as_ref(), bare.source_url.as_ref()),
        (None, None)
    );
}

#[tokio::test]
async fn get_source_material() {
    let server = serve(json_response(200, fixture("source_material_get.json"))).await;
    let material = client(&server)
        .source_material()
        .get(SM_ID.to_uppercase())
        .await
        .unwrap();
    let request = only_request(&server).await;
    assert_eq!(request.method.as_str(), "GET");
    assert_eq!(
        request.url.path(),
        format!("/api/v2/source_material/{SM_ID}")
    );
    assert_eq!(request.url.query(), None);
    assert_eq!(material.id.to_string(), SM_ID);
    assert_eq!(
        material.artifacts[0]
            .access_url
            .as_ref()
            .map(|u| u.expose().starts_with("https://storage.example.org/")),
        Some(true)
    );
}

#[tokio::test]
async fn create_source_material_sends_archive_as_the_string_true() {
    let server = serve(json_response(200, fixture("create_source_material.json"))).await;
    let api = client(&server).source_material();
    let material = api
        .create("5HH224")
        .url("https://example.org/video")
        .archive(true)
        .await
        .unwrap();
    api.create("CIV-5HH224")
        .url("user note: from a private chat")
        .archive(false)
        .await
        .unwrap();
    api.create("5hh224").await.unwrap();

    let all = requests(&server).await;
    let sent: Vec<(String, Value)> = all
        .iter()
        .map(|r| {
            assert_eq!(r.method.as_str(), "POST");
            assert_eq!(r.url.query(), None);
            (r.url.path().to_owned(), json_body(r))
        })
        .collect();
    assert_eq!(
        sent,
        vec![
            (
                "/api/v2/source_material/new/5HH224".into(),
                json!({"url": "https://example.org/video", "archive": "true"})
            ),
            (
                "/api/v2/source_material/new/CIV-5HH224".into(),
                json!({"url": "user note: from a private chat"})
            ),
            ("/api/v2/source_material/new/5hh224".into(), json!({})),
        ]
    );
    assert_eq!(material.status, Some(SourceMaterialStatus::Pending));
    assert_eq!(
        material.source_url.as_deref(),
        Some("https://example.org/video")
    );
}

#[tokio::test]
async fn set_metadata_sends_the_value_under_metadata() {
    let server = serve(json_response(200, fixture("set_metadata.json"))).await;
    #[derive(serde::Serialize)]
    struct Check {
        checked: bool,
        score: f64,
    }
    let material = client(&server)
        .source_material()
        .set_metadata(
            uuid::Uuid::parse_str(SM_ID).unwrap(),
            "my-tool",
            Check {
                checked: true,
                score: 0.9,
            },
        )
        .await
        .unwrap();
    let request = only_request(&server).await;
    assert_eq!(request.method.as_str(), "POST");
    assert_eq!(
        request.url.path(),
        format!("/api/v2/source_material/metadata/{SM_ID}/my-tool")
    );
    assert_eq!(
        json_body(&request),
        json!({"metadata": {"checked": true, "score": 0.9}})
    );
    assert_eq!(
        material.metadata_in("my-tool"),
        Some(&json!({"checked": true, "score": 0.9}))
    );
}

#[tokio::test]
async fn a_namespace_is_one_path_segment() {
    let server = serve(json_response(200, fixture("set_metadata.json"))).await;
    client(&server)
        .source_material()
        .set_metadata(SM_ID, "team/tool v2", json!([1, 2]))
        .await
        .unwrap();
    let request = only_request(&server).await;
    assert_eq!(
        request.url.path(),
        format!("/api/v2/source_material/metadata/{SM_ID}/team%2Ftool%20v2")
    );
    assert_eq!(json_body(&request), json!({"metadata": [1, 2]}));
}

#[tokio::test]
async fn upload_streams_a_multipart_file_with_a_title() {
    let server = serve(json_response(200, fixture("set_metadata.json"))).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("clip.mp4");
    let content: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    std::fs::write(&file, &content).unwrap();

    client(&server)
        .source_material()
        .upload(SM_ID, Upload::path(&file).mime_type("video/mp4"))
        .title("Original clip")
        .await
        .unwrap();

    let request = only_request(&server).await;
    assert_eq!(request.method.as_str(), "POST");
    assert_eq!(
        request.url.path(),
        format!("/api/v2/source_material/upload/{SM_ID}")
    );
    assert_eq!(request.url.query(), None);
    let parts = multipart_parts(&request);
    assert_eq!(parts.len(), 2);
    assert!(parts[0].0.contains("name=\"title\""), "{}", parts[0].0);
    assert_eq!(parts[0].1, b"Original clip");
    assert!(
        parts[1].0.contains("name=\"file\"; filename=\"clip.mp4\""),
        "{}",
        parts[1].0
    );
    assert!(
        parts[1]
            .0
            .to_ascii_lowercase()
            .contains("content-type: video/mp4")
    );
    assert_eq!(parts[1].1, content);
}

#[tokio::test]
async fn upload_without_a_title_sends_only_the_file() {
    let server = serve(json_response(200, fixture("set_metadata.json"))).await;
    client(&server)
        .source_material()
        .upload(SM_ID, Upload::bytes("notes.txt", "seen at 10:42"))
        .await
        .unwrap();
    let request = only_request(&server).await;
    let parts = multipart_parts(&request);
    assert_eq!(parts.len(), 1);
    assert!(parts[0].0.contains("name=\"file\"; filename=\"notes.txt\""));
    assert_eq!(parts[0].1, b"seen at 10:42");
}

/// The (headers, content) of each part of a multipart body.
// ---------------------------------------------------------------------------------------------
// Updates
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn updates_of_one_incident() {
    let server = serve(json_response(200, fixture("updates_for_slug.json"))).await;
    let updates: Vec<_> = client(&server)
        .updates()
        .list()
        .slug("5HH224")
        .stream()
        .try_collect()
        .await
        .unwrap();
    let request = only_request(&server).await;
    assert_eq!(request.method.as_str(), "GET");
    assert_eq!(request.url.path(), "/api/v2/updates");
    assert_eq!(query(&request), pairs(&[("slug", "5HH224")]));

    assert_eq!(updates.len(), 4);
    let change = &updates[0];
    assert_eq!(change.kind, UpdateType::UpdateAttribute);
    assert_eq!(change.user, None);
    assert_eq!(
        change.api_token_id.map(|id| id.to_string()).as_deref(),
        Some("3c9edf8d-ae7e-4ad3-a8f5-1a8cdc147260")
    );
    assert_eq!(
        change.modified_attribute.as_deref(),
        Some("0fc6fc99-77c8-42e3-b083-3438020eb9e2")
    );
    // `{"_combined": true, <id>: null}`: the marker is read, the attribute's key kept.
    assert_eq!(
        change
            .value
            .as_ref()
            .unwrap()
            .get("0fc6fc99-77c8-42e3-b083-3438020eb9e2"),
        Some(&serde_json::Value::Null)
    );
    let comment = &updates[1];
    assert_eq!(comment.kind, UpdateType::Comment);
    assert_eq!(
        comment.explanation.as_deref(),
        Some("Source deleted the post.")
    );
    assert_eq!(comment.user.as_ref().unwrap().username, "osint_lee");
    assert_eq!(
        comment.incident_id.map(|id| id.to_string()).as_deref(),
        Some("e3c46992-8cb0-46d6-b856-74c95f4431d2")
    );
    assert_eq!(updates[3].kind, UpdateType::Create);
}

#[tokio::test]
async fn all_updates_follow_the_cursor() {
    let server = MockServer::start().await;
    let first = fixture_json("updates_page1.json");
    let next = first["next"].as_str().unwrap().to_owned();
    let mut templates = first["results"].as_array().unwrap().clone();
    templates[0]["type"] = json!("merge_incidents");
    Mock::given(path("/api/v2/updates"))
        .and(wiremock::matchers::query_param("cursor", next.as_str()))
        .respond_with(json_response(
            200,
            json!({"results": [generated(&templates, 7, &["id", "type", "inserted_at"])], "next": null})
                .to_string(),
        ))
        .mount(&server)
        .await;
    Mock::given(path("/api/v2/updates"))
        .respond_with(json_response(
            200,
            json!({"results": templates, "next": next}).to_string(),
        ))
        .mount(&server)
        .await;
    let updates: Vec<_> = client(&server)
        .updates()
        .list()
        .stream()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(updates.len(), 6);
    assert_eq!(updates[0].kind, UpdateType::Other("merge_incidents".into()));
    assert_eq!(requests(&server).await[0].url.query(), None);
}

// ---------------------------------------------------------------------------------------------
// Models
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn unknown_enum_values_are_kept_and_models_round_trip() {
    let mut page = fixture_json("incidents_page2.json");
    page["results"][0]["attr_status"] = json!("Escalated");
    page["results"][0]["attr_sensitive"] = json!(["Not Sensitive", "Satellite Only"]);
    page["results"][0]["source_material"][0]["visibility"] = json!("quarantined");
    let server = serve(json_response(200, page.to_string())).await;
    let incidents = client(&server)
        .incidents()
        .list()
        .first_page()
        .await
        .unwrap()
        .items;
    let first = &incidents[0];
    assert_eq!(
        first.status,
        Some(IncidentStatus::Other("Escalated".into()))
    );
    assert_eq!(
        first.sensitive,
        vec![
            Sensitivity::NotSensitive,
            Sensitivity::Other("Satellite Only".into())
        ]
    );
    assert_eq!(
        first.source_material[0].visibility,
        Some(Visibility::Other("quarantined".into()))
    );

    for incident in &incidents {
        let text = serde_json::to_string(incident).unwrap();
        let back: casefile::atlos::Incident = serde_json::from_str(&text).unwrap();
        assert_eq!(&back, incident);
    }
    let serialized = serde_json::to_value(first).unwrap();
    assert_eq!(serialized["attr_status"], "Escalated");
    assert_eq!(serialized["attr_geolocation"]["type"], "Point");
    assert_eq!(serialized["inserted_at"], "2024-03-15T10:05:22Z");
}

#[tokio::test]
async fn a_field_of_the_wrong_type_names_its_path() {
    let mut page = fixture_json("incidents_page1.json");
    page["results"][2]["attr_geolocation"] = json!({"type": "Point", "coordinates": "nowhere"});
    let server = serve(json_response(200, page.to_string())).await;
    let err = client(&server)
        .incidents()
        .list()
        .first_page()
        .await
        .unwrap_err();
    match err {
        Error::Decode(d) => assert!(
            d.path.starts_with("results[2].attr_geolocation"),
            "{}",
            d.path
        ),
        other => panic!("{other:?}"),
    }
}

// ---------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn every_refusal_is_a_401_whose_message_gives_the_kind() {
    let cases = [
        (
            "error_bad_token.json",
            ErrorKind::Unauthorized,
            "invalid token or token not found",
        ),
        (
            "error_incident_not_found.json",
            ErrorKind::NotFound,
            "incident not found",
        ),
        (
            "error_value_not_provided.json",
            ErrorKind::Validation,
            "value not provided",
        ),
    ];
    for (name, kind, message) in cases {
        let server = serve(json_response(401, fixture(name))).await;
        let api = api_error(client(&server).incidents().comment("ZZZZZZ", "hello").await);
        assert_eq!(
            (api.status, api.kind, api.message.as_str()),
            (401, kind, message),
            "{name}"
        );
        assert_eq!(api.method, "POST");
        assert!(api.url.ends_with("/api/v2/add_comment/ZZZZZZ"));
        assert!(!api.to_string().contains(TOKEN));
        assert_eq!(requests(&server).await.len(), 1, "a 401 is not retried");
    }

    let forbidden = json!({"error": "api token not authorized to edit"}).to_string();
    let server = serve(json_response(401, forbidden)).await;
    let api = api_error(
        client(&server)
            .incidents()
            .update_attribute("5HH224", "status", "To Do")
            .await,
    );
    assert_eq!(api.kind, ErrorKind::Forbidden);
    assert_eq!(api.message, "api token not authorized to edit");

    let missing = json!({"error": "media version not found or unauthorized"}).to_string();
    let server = serve(json_response(401, missing)).await;
    let api = api_error(client(&server).source_material().get(SM_ID).await);
    assert_eq!(api.kind, ErrorKind::NotFound);
}

#[tokio::test]
async fn a_validation_map_keeps_every_field_message() {
    let server = serve(json_response(401, fixture("error_validation.json"))).await;
    let api = api_error(
        client(&server)
            .incidents()
            .update_attribute("5HH224", "0fc6fc99-77c8-42e3-b083-3438020eb9e2", "x")
            .await,
    );
    assert_eq!(api.status, 401);
    assert_eq!(api.kind, ErrorKind::Validation);
    assert_eq!(
        api.fields.get("attr_sensitive").map(String::as_str),
        Some("must be an array of strings")
    );
    assert!(
        api.to_string()
            .contains("attr_sensitive: must be an array of strings")
    );
}

#[tokio::test]
async fn unknown_attributes_on_create_are_a_validation_error() {
    let body = json!({"error": "unknown attributes: [\"colour\"]"}).to_string();
    let server = serve(json_response(401, body)).await;
    let api = api_error(
        client(&server)
            .incidents()
            .create("Shelling near a school", [Sensitivity::NotSensitive])
            .await,
    );
    assert_eq!(api.kind, ErrorKind::Validation);
    assert_eq!(api.message, "unknown attributes: [\"colour\"]");
}

#[tokio::test]
async fn non_json_bodies_keep_their_status_and_the_start_of_the_body() {
    let html = fixture("error_500_html.html");
    let server =
        serve(ResponseTemplate::new(500).set_body_raw(html.clone(), "text/html; charset=utf-8"))
            .await;
    let api = api_error(
        client(&server)
            .incidents()
            .list()
            .sort(IncidentSort::DateAsc)
            .first_page()
            .await,
    );
    assert_eq!((api.status, api.kind), (500, ErrorKind::Server));
    assert!(
        api.body.starts_with("<html><body><h1>500</h1>"),
        "{}",
        api.body
    );

    let server = serve(ResponseTemplate::new(404).set_body_raw("Not Found", "text/plain")).await;
    let api = api_error(client(&server).updates().list().first_page().await);
    assert_eq!((api.status, api.kind), (404, ErrorKind::NotFound));
    assert_eq!(api.body, "Not Found");
}

// ---------------------------------------------------------------------------------------------
// Input checks: refused before anything is sent
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn invalid_arguments_are_refused_before_any_request() {
    let server = serve(json_response(200, json!({"success": true}).to_string())).await;
    let atlos = client(&server);
    let incidents = atlos.incidents();
    let material = atlos.source_material();
    let dir = tempfile::tempdir().unwrap();

    let cases: Vec<(&str, Result<(), Error>)> = vec![
        ("slug too short", incidents.comment("AD12H", "hi").await),
        ("slug with a slash", incidents.comment("AD/2H4", "hi").await),
        (
            "slug with a long prefix",
            incidents.comment("PROJECT-AD12H4", "hi").await,
        ),
        (
            "path traversal as slug",
            incidents.comment("..", "hi").await,
        ),
        ("empty message", incidents.comment("AD12H4", "  ").await),
        (
            "blank update message",
            incidents
                .update_attribute("AD12H4", "status", "To Do")
                .message("")
                .await,
        ),
        (
            "unknown attribute",
            incidents.update_attribute("AD12H4", "colour", "red").await,
        ),
        (
            "attr_ prefix",
            incidents
                .update_attribute("AD12H4", "attr_status", "To Do")
                .await,
        ),
        (
            "label instead of name",
            incidents
                .update_attribute("AD12H4", "Status", "To Do")
                .await,
        ),
        (
            "retired attribute",
            incidents
                .update_attribute("AD12H4", "impact", vec!["Injury"])
                .await,
        ),
        (
            "list for status",
            incidents
                .update_attribute("AD12H4", "status", vec!["To Do"])
                .await,
        ),
        (
            "text for tags",
            incidents
                .update_attribute("AD12H4", "tags", "Airstrike")
                .await,
        ),
        (
            "bad date",
            incidents
                .update_attribute("AD12H4", "date", "19/04/2024")
                .await,
        ),
        (
            "not sensitive with a flag",
            incidents
                .update_attribute("AD12H4", "sensitive", ["Not Sensitive", "Graphic Violence"])
                .await,
        ),
        (
            "bad slug on update",
            incidents
                .update_attribute("AD12H4X", "status", "To Do")
                .await,
        ),
        (
            "blank description",
            incidents
                .create(" ", [Sensitivity::NotSensitive])
                .await
                .map(drop),
        ),
        (
            "no sensitivity",
            incidents
                .create("Shelling near a school", Vec::<Sensitivity>::new())
                .await
                .map(drop),
        ),
        (
            "latitude out of range",
            incidents
                .create("Shelling near a school", [Sensitivity::NotSensitive])
                .location(91.0, 0.0)
                .await
                .map(drop),
        ),
        (
            "longitude not a number",
            incidents
                .create("Shelling near a school", [Sensitivity::NotSensitive])
                .location(0.0, f64::NAN)
                .await
                .map(drop),
        ),
        (
            "url without a host",
            incidents
                .create("Shelling near a school", [Sensitivity::NotSensitive])
                .url("example")
                .await
                .map(drop),
        ),
        (
            "custom attribute not a uuid",
            incidents
                .create("Shelling near a school", [Sensitivity::NotSensitive])
                .attribute("Priority", "Low")
                .await
                .map(drop),
        ),
        (
            "archive without url",
            material.create("AD12H4").archive(true).await.map(drop),
        ),
        (
            "archive of a non-URL",
            material
                .create("AD12H4")
                .url("note")
                .archive(true)
                .await
                .map(drop),
        ),
        (
            "bad slug on create",
            material.create("AD12H4!").await.map(drop),
        ),
        (
            "source material id not a uuid",
            material.get("2").await.map(drop),
        ),
        (
            "metadata id not a uuid",
            material.set_metadata("x", "ns", json!({})).await.map(drop),
        ),
        (
            "empty namespace",
            material.set_metadata(SM_ID, "", json!({})).await.map(drop),
        ),
        (
            "dot namespace",
            material
                .set_metadata(SM_ID, "..", json!({}))
                .await
                .map(drop),
        ),
        (
            "metadata that is not JSON",
            material
                .set_metadata(SM_ID, "ns", std::collections::HashMap::from([((1, 2), 3)]))
                .await
                .map(drop),
        ),
        (
            "upload id not a uuid",
            material
                .upload("x", Upload::bytes("a", "b"))
                .await
                .map(drop),
        ),
        (
            "upload of a missing file",
            material
                .upload(SM_ID, Upload::path(dir.path().join("absent.mp4")))
                .await
                .map(drop),
        ),
        (
            "upload of a directory",
            material
                .upload(SM_ID, Upload::path(dir.path()))
                .await
                .map(drop),
        ),
        (
            "list with a bad user id",
            incidents
                .list()
                .assigned_to("me")
                .first_page()
                .await
                .map(drop),
        ),
        (
            "radius without a point",
            incidents.list().radius_km(5).first_page().await.map(drop),
        ),
        (
            "reversed date range",
            incidents
                .list()
                .date_min(NaiveDate::from_ymd_opt(2024, 2, 1).unwrap())
                .date_max(NaiveDate::from_ymd_opt(2024, 1, 1).unwrap())
                .first_page()
                .await
                .map(drop),
        ),
        (
            "near the impossible",
            incidents
                .list()
                .near(0.0, 200.0)
                .first_page()
                .await
                .map(drop),
        ),
        (
            "updates of a bad slug",
            atlos
                .updates()
                .list()
                .slug("nope")
                .first_page()
                .await
                .map(drop),
        ),
    ];
    for (name, result) in cases {
        match result {
            Err(Error::InvalidInput { .. }) | Err(Error::Io { .. }) => {}
            other => panic!("{name}: expected a refusal, got {other:?}"),
        }
    }
    assert!(
        requests(&server).await.is_empty(),
        "the server received a request"
    );

    // A refused listing stays refused however often it is asked, and its stream says so too.
    let list = incidents.list().subscribed_by("nobody");
    let mut stream = list.clone().stream();
    assert_invalid(&stream.next().await.unwrap().unwrap_err(), "user id");
    assert!(stream.next().await.is_none());
    let paginator = list.stream();
    assert!(paginator.first_page().await.is_err());
    assert!(paginator.first_page().await.is_err());
    assert!(requests(&server).await.is_empty());
}

#[tokio::test]
async fn accepted_slug_and_attribute_forms_are_sent() {
    let server = serve(json_response(200, json!({"success": true}).to_string())).await;
    let incidents = client(&server).incidents();
    for slug in ["AD12H4", "ad12h4", "CIV-AD12H4", "civ-ad12h4", "ATL-AD12H4"] {
        incidents.comment(slug, "ok").await.unwrap();
    }
    for (attribute, value) in [
        ("description", AttributeValue::from("A longer description")),
        ("more_info", "".into()),
        ("restrictions", vec!["Hidden"].into()),
        ("sensitive", vec![Sensitivity::NotSensitive].into()),
        ("geolocation_resolution", "Exact".into()),
    ] {
        incidents
            .update_attribute("AD12H4", attribute, value)
            .await
            .unwrap();
    }
    assert_eq!(requests(&server).await.len(), 10);
}

// ---------------------------------------------------------------------------------------------
// The export example
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn atlos_export_prints_250_incidents_in_server_order() {
    let server = incident_server(250).await;
    let binary = example("atlos_export");
    let uri = server.uri();
    let output = tokio::task::spawn_blocking(move || {
        std::process::Command::new(binary)
            .args([
                "incidents",
                "--status",
                "To Do",
                "--status",
                "Help Needed",
                "--query",
                "school",
            ])
            .env("ATLOS_URL", uri)
            .env("ATLOS_API_TOKEN", TOKEN)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "the export failed: {stderr}");

    let stdout = String::from_utf8(output.stdout).unwrap();
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 250, "{stderr}");
    let mut seen = HashSet::new();
    for (i, line) in lines.iter().enumerate() {
        let incident: casefile::atlos::Incident = serde_json::from_str(line).unwrap();
        assert_eq!(incident.id.to_string(), id_of(i), "line {i} out of order");
        assert!(seen.insert(incident.id), "line {i} is a duplicate");
    }
    assert!(stderr.contains("exported 250 incidents"), "{stderr}");

    let all = requests(&server).await;
    assert_eq!(all.len(), 3);
    assert_eq!(
        query(&all[2]),
        pairs(&[
            ("query", "school"),
            ("attr_status[]", "To Do"),
            ("attr_status[]", "Help Needed"),
            ("cursor", "c2"),
        ])
    );
    for request in &all {
        assert_eq!(header(request, "authorization"), format!("Bearer {TOKEN}"));
    }
}

/// Atlos's dialect is applied to every answer, whatever the operation: an `{"error"}` or
/// `"success": false` with HTTP 200 is a refusal, `{"success": true}` without the `result` a
/// write should carry is a decode error, never an empty value (atlosdotorg/atlos
/// `platform/lib/platform_web/controllers/api/api_v2_controller.ex`).
#[tokio::test]
async fn refusals_and_missing_results_in_200_answers_are_errors_for_every_operation() {
    let refusal = serve(json_response(200, r#"{"error": "something new"}"#)).await;
    let atlos = client(&refusal);
    let errors = [
        atlos.incidents().comment("AD12H4", "seen").await,
        atlos
            .incidents()
            .update_attribute("AD12H4", "status", IncidentStatus::Completed)
            .await,
        atlos.source_material().get(SM_ID).await.map(drop),
    ];
    for err in errors {
        let api = api_error(err);
        assert_eq!((api.status, api.kind), (200, ErrorKind::Validation));
        assert_eq!(api.message, "something new");
    }

    let unsure = serve(json_response(200, r#"{"success": false}"#)).await;
    let api = api_error(client(&unsure).incidents().comment("AD12H4", "seen").await);
    assert_eq!(api.message, "the server did not report success");

    let no_result = serve(json_response(200, r#"{"success": true}"#)).await;
    let err = client(&no_result)
        .source_material()
        .get(SM_ID)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Decode(_)), "{err:?}");
    // An acknowledgement needs no result.
    client(&no_result)
        .incidents()
        .comment("AD12H4", "seen")
        .await
        .unwrap();
}
