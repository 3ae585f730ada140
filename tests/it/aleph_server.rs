//! Issue 20: the client learns whether it talks to Aleph 4.1 or OpenAleph 5 from
//! `GET /api/2/metadata` (once per client, shared by its clones), or is told; what only one of
//! the servers has is refused on the other before anything is sent. Wiremock stands for each
//! server with the metadata each sends: `app.version` from `aleph/__init__.py` (Aleph 4.1.6) and
//! openaleph/openaleph `aleph/__init__.py` (5.3.1-rc3), the OpenAleph-only keys from openaleph
//! `aleph/views/base_api.py` `metadata` (spec20 §6, §15).
#![cfg(feature = "aleph")]

use casefile::aleph::{Client, Feature, Flavor, NewCollection, Server, Version};
use casefile::{Error, RetryPolicy};
use futures::TryStreamExt;
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::aleph::{KEY, ok_json, requests};

/// A `GET /metadata` answer of Aleph 4.1.6.
fn aleph_metadata() -> Value {
    json!({"status": "ok", "maintenance": false,
           "app": {"title": "Aleph", "version": "4.1.6", "ftm_version": "3.5.9"},
           "auth": {"oauth": false, "role_blocked": {"message": "Blocked"}},
           "feature_flags": {"bookmarks": true},
           "model": {"schemata": {}, "types": {}}})
}

/// A `GET /metadata` answer of OpenAleph at `version`.
fn openaleph_metadata(version: Option<&str>) -> Value {
    json!({"status": "ok", "maintenance": false,
           "app": {"title": "OpenAleph", "version": version, "ftm_version": "4.10.0",
                   "entity_banner_rules": null},
           "auth": {"oauth": false},
           "feature_flags": {"bookmarks": true, "timelines": true, "lists": true, "diagrams": true},
           // `FTM_ASSETS_URL` unset, as by default (openaleph `aleph/settings.py`).
           "service_urls": {"ftm_assets": null},
           "services": {"translate": {"source_languages": ["eng"]}},
           "model": {"version": "4.10.0", "schemata": {}, "types": {}}})
}

/// A mock server whose `/metadata` answers `metadata`, and whose every other route answers
/// `202` (so that a request that should not have been sent is seen, not failed).
async fn server_with(metadata: Value) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/2/metadata"))
        .respond_with(ok_json(metadata.to_string()))
        .mount(&server)
        .await;
    Mock::given(wiremock::matchers::any())
        .respond_with(ResponseTemplate::new(202))
        .mount(&server)
        .await;
    server
}

/// A client of `server` that is not told which server it is.
fn untold(server: &MockServer) -> Client {
    Client::builder()
        .base_url(server.uri())
        .api_key(KEY)
        .retry(RetryPolicy::none())
        .build()
        .unwrap()
}

/// The paths the server received, in order.
async fn paths(server: &MockServer) -> Vec<String> {
    requests(server)
        .await
        .iter()
        .map(|r| r.url.path().to_owned())
        .collect()
}

#[tokio::test]
async fn the_version_says_which_server_and_is_asked_once_for_every_clone() {
    for (metadata, flavor, version) in [
        (aleph_metadata(), Flavor::Aleph, Version::new(4, 1, 6)),
        (
            openaleph_metadata(Some("5.3.1-rc3")),
            Flavor::OpenAleph,
            Version::new(5, 3, 1),
        ),
        (
            openaleph_metadata(Some("5.0.0")),
            Flavor::OpenAleph,
            Version::new(5, 0, 0),
        ),
    ] {
        let server = server_with(metadata).await;
        let aleph = untold(&server);
        let found = aleph.server().await.unwrap();
        assert_eq!((found.flavor, found.version), (flavor, Some(version)));
        // A clone, a second call and the model share the one answer.
        assert_eq!(aleph.clone().server().await.unwrap(), found);
        aleph.model().await.unwrap();
        assert_eq!(paths(&server).await, ["/api/2/metadata"]);
    }
}

#[tokio::test]
async fn without_a_version_the_shape_of_the_answer_says_which_server() {
    let server = server_with(openaleph_metadata(None)).await;
    let found = untold(&server).server().await.unwrap();
    assert_eq!((found.flavor, found.version), (Flavor::OpenAleph, None));
    assert_eq!(found.to_string(), "OpenAleph (version not given)");

    let mut aleph = aleph_metadata();
    aleph["app"]["version"] = Value::Null;
    let server = server_with(aleph).await;
    let found = untold(&server).server().await.unwrap();
    assert_eq!(found.flavor, Flavor::Aleph);
}

#[tokio::test]
async fn touch_and_generate_api_key_are_refused_on_openaleph_before_sending() {
    let server = server_with(openaleph_metadata(Some("5.3.0"))).await;
    let aleph = untold(&server);
    let err = aleph.collections().touch(7).await.unwrap_err();
    match &err {
        Error::Unsupported {
            operation, server, ..
        } => {
            assert_eq!((*operation, server.as_str()), ("touch", "OpenAleph 5.3.0"));
        }
        other => panic!("expected Unsupported, got {other:?}"),
    }
    assert!(
        err.to_string()
            .starts_with("`touch` does not exist on OpenAleph 5.3.0"),
        "{err}"
    );
    let err = aleph.roles().generate_api_key(3).await.unwrap_err();
    assert!(
        matches!(
            &err,
            Error::Unsupported {
                operation: "generate_api_key",
                ..
            }
        ),
        "{err:?}"
    );
    // What to do instead: the key is in the caller's own role.
    assert!(err.to_string().contains("GET /roles/{own id}"), "{err}");
    // Only the metadata was asked for, once.
    assert_eq!(paths(&server).await, ["/api/2/metadata"]);
}

#[tokio::test]
async fn on_aleph_the_same_calls_are_sent() {
    let server = server_with(aleph_metadata()).await;
    let aleph = untold(&server);
    aleph.collections().touch(7).await.unwrap();
    assert_eq!(
        paths(&server).await,
        ["/api/2/metadata", "/api/2/collections/7/touch"]
    );
}

#[tokio::test]
async fn a_client_told_the_server_never_asks() {
    let server = server_with(aleph_metadata()).await;
    let aleph = Client::builder()
        .base_url(server.uri())
        .api_key(KEY)
        .server(Server::openaleph("5.3.0"))
        .build()
        .unwrap();
    assert_eq!(aleph.server().await.unwrap(), Server::openaleph("5.3.0"));
    let err = aleph.collections().touch(7).await.unwrap_err();
    assert!(matches!(err, Error::Unsupported { .. }), "{err:?}");
    assert!(requests(&server).await.is_empty());
}

#[tokio::test]
async fn highlight_text_and_length_are_refused_on_openaleph_which_answers_them_with_500() {
    let server = server_with(openaleph_metadata(Some("5.2.1"))).await;
    let aleph = untold(&server);
    for search in [
        aleph
            .entities()
            .search()
            .query("penguin")
            .highlight_text("colony"),
        aleph
            .entities()
            .search()
            .query("penguin")
            .highlight_length(200),
    ] {
        let err = search.stream().try_collect::<Vec<_>>().await.unwrap_err();
        assert!(
            matches!(&err, Error::Unsupported { operation, server, .. }
                if operation.contains("highlight_text") && server == "OpenAleph 5.2.1"),
            "{err:?}"
        );
    }
    let err = aleph
        .entities()
        .search()
        .highlight_text("colony")
        .result_set()
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Unsupported { .. }), "{err:?}");
    assert_eq!(paths(&server).await, ["/api/2/metadata"]);
    // `highlight` and `highlight_count` are fine on both: sent without asking.
    let _ = aleph
        .entities()
        .search()
        .highlight(true)
        .highlight_count(2)
        .result_set()
        .await;
    assert_eq!(paths(&server).await, ["/api/2/metadata", "/api/2/entities"]);
}

#[tokio::test]
async fn a_foreign_id_openaleph_would_refuse_is_refused_first_and_only_there() {
    // OpenAleph >= 5.2 checks it as a dataset name and answers a bare 400 (openaleph
    // `aleph/model/collection.py` `Collection.create`, followthemoney `dataset/util.py`).
    let server = server_with(openaleph_metadata(Some("5.3.0"))).await;
    let err = untold(&server)
        .collections()
        .create(NewCollection::new("Leak 2026").foreign_id("leak-2026"))
        .await
        .unwrap_err();
    crate::support::assert_invalid(&err, "foreign_id");
    assert!(err.to_string().contains("`leak_2026`"), "{err}");
    assert_eq!(paths(&server).await, ["/api/2/metadata"]);

    // A dataset name needs no question at all.
    let server = server_with(openaleph_metadata(Some("5.3.0"))).await;
    let _ = untold(&server)
        .collections()
        .create(NewCollection::new("Leak 2026").foreign_id("leak_2026"))
        .await;
    assert_eq!(paths(&server).await, ["/api/2/collections"]);

    // Aleph takes any text.
    let server = server_with(aleph_metadata()).await;
    let _ = untold(&server)
        .collections()
        .create(NewCollection::new("Leak 2026").foreign_id("leak-2026"))
        .await;
    assert_eq!(
        paths(&server).await,
        ["/api/2/metadata", "/api/2/collections"]
    );
}

#[tokio::test]
async fn a_failed_metadata_fetch_says_why_it_was_asked_and_is_tried_again() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/2/metadata"))
        .respond_with(ResponseTemplate::new(503).set_body_raw(
            r#"{"status":"error","message":"Down for maintenance"}"#,
            "application/json",
        ))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/2/metadata"))
        .respond_with(ok_json(aleph_metadata().to_string()))
        .mount(&server)
        .await;
    let aleph = untold(&server);
    let err = aleph.collections().touch(7).await.unwrap_err();
    let api = err.api().expect("the server's refusal");
    assert_eq!(api.status, 503);
    // The server's message is kept, and the reason for the request added.
    assert!(api.message.contains("Down for maintenance"), "{err}");
    assert!(api.message.contains("GET /metadata"), "{err}");
    // Not kept: the next call asks again, and learns.
    assert_eq!(aleph.server().await.unwrap().flavor, Flavor::Aleph);
}

#[test]
fn features_belong_to_one_server_from_a_release() {
    let aleph = Server::aleph("4.1.6");
    let open_50 = Server::openaleph("5.0.2");
    let open_53 = Server::openaleph("5.3.1-rc3");
    assert!(aleph.supports(Feature::Touch) && !open_53.supports(Feature::Touch));
    assert!(!aleph.supports(Feature::MoreLikeThis) && open_50.supports(Feature::MoreLikeThis));
    // Came in 5.3: the error says so.
    assert!(open_53.supports(Feature::Mentions));
    let err = open_50.require(Feature::Mentions).unwrap_err();
    assert!(
        err.to_string()
            .contains("`mentions` does not exist on OpenAleph 5.0.2: it came in OpenAleph 5.3.0"),
        "{err}"
    );
    let err = aleph.require(Feature::Screening).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("`screening` does not exist on Aleph 4.1.6"),
        "{err}"
    );
}

#[test]
fn versions_read_as_the_servers_write_them() {
    assert_eq!(Version::parse("4.1.6"), Some(Version::new(4, 1, 6)));
    assert_eq!(Version::parse("5.3.1-rc3"), Some(Version::new(5, 3, 1)));
    assert_eq!(Version::parse("v5.2"), Some(Version::new(5, 2, 0)));
    assert_eq!(Version::parse("5"), Some(Version::new(5, 0, 0)));
    assert_eq!(Version::parse("dev"), None);
    assert_eq!(Version::parse(""), None);
}

#[test]
fn dataset_names_follow_followthemoney() {
    // Checked with followthemoney 4.10.0 (normality 3.1.0):
    //   python -c "from followthemoney.dataset.util import dataset_name_check as c; c('leak-2026')"
    use casefile::aleph::is_dataset_name;
    for good in ["leak_2026", "1abc", "a", "abc_def_1"] {
        assert!(is_dataset_name(good), "{good}");
    }
    for bad in [
        "leak-2026",
        "Leak_2026",
        "leak__2026",
        "_leak",
        "leak_",
        "abc.def",
        "ab c",
        "ä",
        "",
    ] {
        assert!(!is_dataset_name(bad), "{bad}");
    }
}

#[tokio::test]
async fn openaleph_extras_are_read_and_the_key_in_a_users_own_role_is_not_kept() {
    // openaleph `aleph/views/serializers.py` `RoleSerializer`: a user's own role carries its
    // plain-text `api_key` and `is_investigator` (5.3); `CollectionSerializer` adds `name`,
    // `taggable`, `external`, `contains_ai`.
    let server = MockServer::start().await;
    let secret = "2f0c1e5d7b9a4c3e8f6a1b2c3d4e5f60";
    Mock::given(method("GET"))
        .and(path("/api/2/roles/3"))
        .respond_with(ok_json(
            json!({"id": "3", "type": "user", "name": "Ana", "writeable": true,
                   "api_key": secret, "is_investigator": false, "is_admin": false})
            .to_string(),
        ))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/2/collections/12"))
        .respond_with(ok_json(
            json!({"id": "12", "foreign_id": "leak_2026", "name": "leak_2026", "label": "Leak",
                   "taggable": true, "external": true, "contains_ai": true,
                   "contains_ai_comment": "Transcripts by Whisper", "writeable": false})
            .to_string(),
        ))
        .mount(&server)
        .await;
    let aleph = crate::support::aleph::client(&server);
    let role = aleph.roles().get(3).await.unwrap();
    assert_eq!(role.is_investigator, Some(false));
    assert!(!format!("{role:?}").contains(secret));
    assert!(!serde_json::to_string(&role).unwrap().contains(secret));
    let collection = aleph.collections().get(12).await.unwrap();
    assert_eq!(collection.name.as_deref(), Some("leak_2026"));
    assert!(collection.taggable && collection.external && collection.contains_ai);
    assert_eq!(
        collection.contains_ai_comment.as_deref(),
        Some("Transcripts by Whisper")
    );
}

#[tokio::test]
async fn a_taggable_collection_is_asked_for_only_where_tagging_exists() {
    for (metadata, sent) in [
        (openaleph_metadata(Some("5.1.0")), true),
        (openaleph_metadata(Some("5.0.2")), false),
        (aleph_metadata(), false),
    ] {
        let server = server_with(metadata).await;
        let result = untold(&server)
            .collections()
            .create(NewCollection::new("Tagged").taggable(true))
            .await;
        let asked = paths(&server).await;
        if sent {
            assert_eq!(asked, ["/api/2/metadata", "/api/2/collections"]);
        } else {
            let err = result.unwrap_err();
            assert!(
                matches!(
                    err,
                    Error::Unsupported {
                        operation: "tags",
                        ..
                    }
                ),
                "{err:?}"
            );
            assert_eq!(asked, ["/api/2/metadata"]);
        }
    }
}
