//! The client against real-server behaviour (issue 15, "The client, against real-server
//! behaviour"): what casefile returns or sends where the real servers answer differently from what
//! a user would expect. Each test cites the real server's source (atlosdotorg/atlos) or the Atlas
//! seed documents and /work/shared/API-NOTES.md.
#![cfg(all(feature = "atlos", feature = "atlas", feature = "testkit"))]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use casefile::RateLimit;
use casefile::atlos::{IncidentStatus, RecordedValue, Sensitivity, UpdateType};
use casefile::testkit::{Platform, Sandbox};
use futures::TryStreamExt;
use serde_json::{Value, json};
use tokio::time::Instant;

use crate::support::local::{Answer, LocalServer};
use crate::support::{assert_invalid, fixture_text};

const ATLAS_TOKEN: &str = "atlas-test-token";
const ATLAS_ID: &str = "e52a9631-e38f-4e77-8c08-38001a80ad36";

/// A server that allows `limit` requests in any `window`, counted from when each request
/// *arrived* (the requests it refused do not count), and answers 429 past that. A request reaches
/// it `latency` after the client let it go, its answer reaches the client `latency` later; the
/// first `cold` requests are slower (`cold_latency`: new connections, TLS handshakes). Returns the
/// server and the number of 429s it sent.
async fn counting_server(
    limit: usize,
    window: Duration,
    cold: usize,
    cold_latency: Duration,
    latency: Duration,
) -> (LocalServer, Arc<Mutex<usize>>) {
    let counted: Arc<Mutex<Vec<Instant>>> = Arc::default();
    let refused: Arc<Mutex<usize>> = Arc::default();
    let refusals = refused.clone();
    let server = LocalServer::start(move |n| {
        let latency = if n < cold { cold_latency } else { latency };
        // The local server reads the request at once: its arrival at a distant server is
        // `latency` later (every request of one kind has the same latency, so arrivals stay in
        // order and the window can be counted now).
        let arrival = Instant::now() + latency;
        let mut counted = counted.lock().unwrap();
        counted.retain(|&t| arrival.duration_since(t) < window);
        if counted.len() < limit {
            counted.push(arrival);
            Answer::json(200, fixture_text("atlas/attachment_get.json")).delay(latency * 2)
        } else {
            *refusals.lock().unwrap() += 1;
            Answer::json(
                429,
                r#"{"error":{"code":"RATE_LIMITED","message":"slow down"}}"#,
            )
            .delay(latency * 2)
        }
    })
    .await;
    (server, refused)
}

/// A client limited to the server's own rate (30 per 2 s), sending 90 requests at once, draws no
/// 429: the first 30 reach the server late (cold connections), and a limiter that freed their
/// slots one window after letting them go would send the next 30 while the server still counts
/// the first (the server counts the requests as they arrive: Atlas seed 001, "Rate Limiting"). The limiter
/// frees a slot one window after the answer arrived instead.
#[tokio::test(start_paused = true)]
async fn a_client_limited_to_the_servers_rate_draws_no_429_in_a_steady_burst() {
    let window = Duration::from_secs(2);
    let (server, refused) = counting_server(
        30,
        window,
        30,
        Duration::from_millis(400),
        Duration::from_millis(10),
    )
    .await;
    let atlas = casefile::atlas::Client::builder()
        .base_url(server.uri())
        .token(ATLAS_TOKEN)
        .retry(casefile::RetryPolicy::none())
        .rate_limit(RateLimit::new(30, window))
        .build()
        .unwrap();
    let calls: Vec<_> = (0..90)
        .map(|_| {
            let atlas = atlas.clone();
            tokio::spawn(async move { atlas.attachments().get(ATLAS_ID).await })
        })
        .collect();
    let mut failed = 0;
    for call in calls {
        if call.await.unwrap().is_err() {
            failed += 1;
        }
    }
    assert_eq!(server.arrivals().len(), 90);
    assert_eq!(*refused.lock().unwrap(), 0, "429s from the server");
    assert_eq!(failed, 0);
}

// ---------------------------------------------------------------------------------------------
// Atlos: the create answer's status
// ---------------------------------------------------------------------------------------------

/// `POST incidents/new` without a status: the real server answers `attr_status: null` (the
/// inserted Ecto struct; `platform/lib/platform/material/media.ex` declares no default) while
/// the database stores its column default "To Do"
/// (`platform/priv/repo/migrations/20231027152750_change_status_default.exs`). The sandbox
/// answers the same way, and the client returns the status the server holds.
#[tokio::test]
async fn a_created_incident_without_a_status_has_the_status_the_server_stores() {
    let s = Sandbox::start().await.unwrap();
    let http = reqwest::Client::new();
    let raw: Value = http
        .post(format!("{}/api/v2/incidents/new", s.atlos_url()))
        .bearer_auth(s.atlos_token())
        .json(&json!({"description": "Raw incident, no status", "sensitive": ["Not Sensitive"]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(raw["result"]["attr_status"], Value::Null, "{raw}");

    let atlos = s.atlos().unwrap();
    let created = atlos
        .incidents()
        .create("Client incident, no status", [Sensitivity::NotSensitive])
        .await
        .unwrap();
    assert_eq!(created.status, Some(IncidentStatus::ToDo));
    // Read back: both incidents hold "To Do" on the server.
    let newest = atlos.incidents().list().first_page().await.unwrap();
    assert_eq!(newest.items[0].slug, created.slug);
    assert_eq!(newest.items[0].status, Some(IncidentStatus::ToDo));
    let raw_slug = raw["result"]["slug"].as_str().unwrap();
    let raw_stored = newest.items.iter().find(|i| i.slug == raw_slug).unwrap();
    assert_eq!(raw_stored.status, Some(IncidentStatus::ToDo));

    // A status that was sent is answered, and kept.
    let in_progress = atlos
        .incidents()
        .create("Client incident, in progress", [Sensitivity::NotSensitive])
        .status(IncidentStatus::InProgress)
        .await
        .unwrap();
    assert_eq!(in_progress.status, Some(IncidentStatus::InProgress));
}

// ---------------------------------------------------------------------------------------------
// Atlos: the history's recorded value
// ---------------------------------------------------------------------------------------------

/// The real server writes an update's old and new value to the one key `new_value`
/// (`platform/lib/platform/updates/update.ex`, `Jason.Encoder`), as
/// `{"_combined": true, <key>: value}` (`platform/lib/platform/updates.ex`): the value is the
/// attribute's before or after the change, and the client says so. The sandbox draws which
/// survives; across a few changes both must be accepted, and the marker is not an attribute.
#[tokio::test]
async fn an_attribute_change_carries_a_recorded_value_old_or_new_keyed_by_attribute() {
    let s = Sandbox::start().await.unwrap();
    let atlos = s.atlos().unwrap();
    let created = atlos
        .incidents()
        .create("History of statuses", [Sensitivity::NotSensitive])
        .await
        .unwrap();
    let steps = [
        "In Progress",
        "Help Needed",
        "Ready for Review",
        "Completed",
    ];
    for status in steps {
        atlos
            .incidents()
            .update_attribute(&created.slug, "status", status)
            .await
            .unwrap();
    }
    let updates: Vec<_> = atlos
        .updates()
        .list()
        .slug(&created.slug)
        .stream()
        .try_collect()
        .await
        .unwrap();
    let changes: Vec<_> = updates
        .iter()
        .filter(|u| u.kind == UpdateType::UpdateAttribute)
        .collect();
    assert_eq!(changes.len(), steps.len());
    // Newest first: change n went from `before[n]` to `steps[n]`.
    let before = ["To Do", "In Progress", "Help Needed", "Ready for Review"];
    for (n, change) in changes.iter().rev().enumerate() {
        assert_eq!(change.modified_attribute.as_deref(), Some("status"));
        let Some(RecordedValue::Attributes(values)) = &change.value else {
            panic!("not a combined value: {:?}", change.value);
        };
        assert!(!values.contains_key("_combined"), "{values:?}");
        let recorded = change.value.as_ref().unwrap().get("attr_status").unwrap();
        assert!(
            recorded == &json!(steps[n]) || recorded == &json!(before[n]),
            "change {n}: {recorded}"
        );
    }
    let created_update = updates
        .iter()
        .find(|u| u.kind == UpdateType::Create)
        .unwrap();
    assert_eq!(created_update.value, None);
}

// ---------------------------------------------------------------------------------------------
// Atlos: geolocation through `update`
// ---------------------------------------------------------------------------------------------

/// `update/:slug/geolocation` answers success on the real server but keeps the stored point:
/// `generate_attribute_change_params` (`platform/lib/platform/material.ex`) puts the value under
/// `attr_geolocation`, and the changeset rebuilds that field from the virtual `location`, filled
/// from the stored point (`platform/lib/platform/material/attribute.ex`
/// `update_from_virtual_data`). The client refuses it before sending anything.
#[tokio::test]
async fn setting_geolocation_through_update_is_refused_before_sending() {
    let s = Sandbox::start().await.unwrap();
    let atlos = s.atlos().unwrap();
    let created = atlos
        .incidents()
        .create("Located incident", [Sensitivity::NotSensitive])
        .location(50.45, 30.52)
        .await
        .unwrap();
    let sent = s.requests(Platform::Atlos);
    let err = atlos
        .incidents()
        .update_attribute(&created.slug, "geolocation", "48.85,2.35")
        .await
        .unwrap_err();
    assert_invalid(&err, "attribute");
    assert!(err.to_string().contains("location"), "{err}");
    assert_eq!(s.requests(Platform::Atlos), sent, "a request was sent");
    // The resolution is a plain field the server does set: still sent.
    atlos
        .incidents()
        .update_attribute(&created.slug, "geolocation_resolution", "Exact")
        .await
        .ok();
    assert_eq!(s.requests(Platform::Atlos), sent + 1);
}

// ---------------------------------------------------------------------------------------------
// Atlas: the created_after / created_before bounds
// ---------------------------------------------------------------------------------------------

/// Both bounds are exclusive on the server (issue 15; the Atlas seed 003 names them "lower
/// bound" and "upper bound" of `GET /attachments`), and casefile documents and sends them so: an
/// attachment created exactly at `t` is in neither `created_after(t)` nor `created_before(t)`,
/// and in the window one second either side.
#[tokio::test]
async fn an_attachment_created_exactly_at_a_bound_is_outside_it_on_both_sides() {
    let s = Sandbox::start().await.unwrap();
    let atlas = s.atlas().unwrap();
    let all: Vec<_> = atlas
        .attachments()
        .list()
        .stream()
        .try_collect()
        .await
        .unwrap();
    let target = all.first().unwrap();
    let t = target.attachment_created_at;
    let id = target.attachment_id;
    let ids = |list: Vec<casefile::atlas::Attachment>| -> Vec<_> {
        list.into_iter().map(|a| a.attachment_id).collect()
    };
    let after: Vec<_> = atlas
        .attachments()
        .list()
        .created_after(t)
        .stream()
        .try_collect()
        .await
        .unwrap();
    assert!(after.iter().all(|a| a.attachment_created_at > t));
    assert!(!ids(after).contains(&id));
    let before: Vec<_> = atlas
        .attachments()
        .list()
        .created_before(t)
        .stream()
        .try_collect()
        .await
        .unwrap();
    assert!(before.iter().all(|a| a.attachment_created_at < t));
    assert!(!ids(before).contains(&id));
    let around: Vec<_> = atlas
        .attachments()
        .list()
        .created_after(t - chrono::Duration::seconds(1))
        .created_before(t + chrono::Duration::seconds(1))
        .stream()
        .try_collect()
        .await
        .unwrap();
    assert!(ids(around).contains(&id));
}
