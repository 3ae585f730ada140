//! Cross-referencing, exports and profiles (issue 16): the exact requests and the decoding of
//! answers shaped as Aleph 4.1.6 writes them (alephdata/aleph `aleph/views/xref_api.py`,
//! `exports_api.py`, `profiles_api.py`, `aleph/views/serializers.py`), and round trips on the
//! sandbox.
#![cfg(feature = "aleph")]

use crate::support::aleph::*;
use crate::support::assert_invalid;
use casefile::aleph::{ExportStatus, Judgement, XrefSort};
use futures::TryStreamExt;
use serde_json::{Value, json};
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// An entity as `EntitySerializer` writes it in a list.
fn entity(id: &str, name: &str, collection: &str) -> Value {
    json!({
        "id": id, "schema": "Person", "properties": {"name": [name]},
        "collection": {"id": collection, "collection_id": collection, "label": "Leak", "writeable": true, "shallow": true},
        "links": {"self": format!("http://ui.example/api/2/entities/{id}")},
        "writeable": true, "shallow": true,
    })
}

/// One match as `XrefSerializer` writes it: no `match_collection_id`, `collection_id` an
/// integer, `doubt` absent (no xref model), empty `links` removed.
fn xref_match(n: u64) -> Value {
    json!({
        "id": format!("x{n}"), "score": 0.91, "method": "ftm-3.5.9", "random": 1_234_567,
        "schema": "Person", "collection_id": 7, "created_at": "2026-05-01T10:11:12.123456",
        "judgement": "positive", "writeable": true,
        "entity": entity(&format!("e{n}"), "Maria Petrov", "7"),
        "match": entity(&format!("m{n}"), "Petrov, Maria", "3"),
    })
}

/// A page of the match listing (`aleph/search/result.py` `QueryResult.to_dict`).
fn page(offset: u64, limit: u64, total: u64) -> Value {
    let results: Vec<Value> = (offset..(offset + limit).min(total))
        .map(xref_match)
        .collect();
    let next = (offset + limit <= total).then(|| {
        format!(
            "http://ui.example/api/2/collections/7/xref?offset={}&limit={limit}",
            offset + limit
        )
    });
    json!({
        "status": "ok", "results": results, "total": total, "total_type": "eq",
        "page": offset / limit + 1, "pages": total.div_ceil(limit), "limit": limit,
        "offset": offset, "next": next, "previous": null, "facets": {}, "query_text": "*",
    })
}

#[tokio::test]
async fn run_posts_to_the_collections_xref_and_reads_the_202() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/2/collections/7/xref"))
        .respond_with(
            ResponseTemplate::new(202)
                .set_body_raw(r#"{"status": "accepted"}"#, "application/json"),
        )
        .mount(&server)
        .await;
    let accepted = client(&server).xref().run(7).await.unwrap();
    assert_eq!(accepted.status.as_deref(), Some("accepted"));
    let req = only_request(&server).await;
    assert_request(&req, "POST", "/api/2/collections/7/xref", &[]);
    assert!(req.body.is_empty(), "the server reads no body");
}

#[tokio::test]
async fn matches_send_sort_filters_and_page_size_and_decode_the_match() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/2/collections/7/xref"))
        .respond_with(ok_json(page(0, 2, 1).to_string()))
        .mount(&server)
        .await;
    let set = client(&server)
        .xref()
        .matches("7")
        .sort_by(XrefSort::Doubt, true)
        .min_score(0.7)
        .match_collection(3)
        .schema("Person")
        .exclude("match_collection_id", "9")
        .query("maria")
        .page_size(2)
        .result_set()
        .await
        .unwrap();
    assert_request(
        &only_request(&server).await,
        "GET",
        "/api/2/collections/7/xref",
        &[
            ("sort", "doubt:desc"),
            ("filter:gte:score", "0.7"),
            ("filter:match_collection_id", "3"),
            ("filter:schema", "Person"),
            ("exclude:match_collection_id", "9"),
            ("q", "maria"),
            ("limit", "2"),
        ],
    );
    assert_eq!(set.total, Some(1));
    let m = &set.results[0];
    assert_eq!(m.id, "x0");
    assert_eq!(m.score, Some(0.91));
    assert_eq!(m.doubt, None);
    assert_eq!(m.method.as_deref(), Some("ftm-3.5.9"));
    assert_eq!(m.collection_id.as_deref(), Some("7"));
    assert_eq!(m.judgement, Some(Judgement::Positive));
    assert_eq!(m.entity.as_ref().unwrap().id.as_deref(), Some("e0"));
    let candidate = m.candidate.as_ref().unwrap();
    assert_eq!(candidate.first("name"), Some("Petrov, Maria"));
    assert_eq!(candidate.collection.as_ref().unwrap().id, "3");
    assert!(m.created_at.is_some());
}

#[tokio::test]
async fn matches_stream_several_pages_at_once_in_order() {
    let server = MockServer::start().await;
    for offset in [0u64, 2, 4] {
        let mut mock = Mock::given(method("GET")).and(path("/api/2/collections/7/xref"));
        if offset > 0 {
            mock = mock.and(query_param("offset", offset.to_string()));
        }
        mock.respond_with(ok_json(page(offset, 2, 5).to_string()))
            .up_to_n_times(1)
            .mount(&server)
            .await;
    }
    let ids: Vec<String> = client(&server)
        .xref()
        .matches(7)
        .page_size(2)
        .stream()
        .concurrency(3)
        .map_ok(|m| m.id)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(ids, ["x0", "x1", "x2", "x3", "x4"]);
    assert_eq!(requests(&server).await.len(), 3);
}

#[tokio::test]
async fn matches_refuse_a_page_size_past_the_window_before_sending() {
    let server = MockServer::start().await;
    let err = client(&server)
        .xref()
        .matches(7)
        .page_size(10_000)
        .first_page()
        .await
        .unwrap_err();
    assert_invalid(&err, "page_size");
    assert!(requests(&server).await.is_empty());
}

#[tokio::test]
async fn matches_stop_at_the_end_of_the_search_window() {
    // Past 9,999 Aleph clamps the offset and answers with limit 0 (`SearchQueryParser`); the
    // listing must end there, not ask again.
    let server = MockServer::start().await;
    let mut last = page(9998, 1, 20_000);
    last["total"] = json!(10_000);
    last["total_type"] = json!("gte");
    last["next"] = json!("http://ui.example/api/2/collections/7/xref?offset=9999&limit=1");
    Mock::given(method("GET"))
        .respond_with(ok_json(last.to_string()))
        .mount(&server)
        .await;
    let all: Vec<_> = client(&server)
        .xref()
        .matches(7)
        .offset(9998)
        .page_size(1)
        .stream()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(all.len(), 1);
    assert_eq!(requests(&server).await.len(), 1);
}

#[tokio::test]
async fn export_posts_xref_xlsx_and_exports_decode() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/2/collections/7/xref.xlsx"))
        .respond_with(ResponseTemplate::new(202))
        .mount(&server)
        .await;
    // `Export.to_dict` through `ExportSerializer`: `collection_id` an integer, `status` the
    // label, `meta: {}` removed, `links.download` only once there is a file.
    let exports = json!({
        "status": "ok", "total": 1, "total_type": "eq", "page": 1, "pages": 1, "limit": 20,
        "offset": 0, "next": null, "previous": null,
        "results": [{
            "id": "12", "label": "Leak - Crossreference results", "operation": "exportxref",
            "creator_id": "3", "collection_id": 7, "expires_at": "2026-06-01T00:00:00",
            "deleted": false, "status": "successful", "content_hash": "abc", "file_size": 4096,
            "file_name": "Leak - Crossreference results.xlsx",
            "mime_type": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            "created_at": "2026-05-02T00:00:00", "updated_at": "2026-05-02T00:01:00",
            "writeable": false,
            "links": {"download": "http://ui.example/api/2/archive?token=secret-jwt"},
        }],
    });
    Mock::given(method("GET"))
        .and(path("/api/2/exports"))
        .respond_with(ok_json(exports.to_string()))
        .mount(&server)
        .await;
    let aleph = client(&server);
    aleph.xref().export(7).await.unwrap();
    let listed = aleph.xref().exports().first_page().await.unwrap();
    let seen = requests(&server).await;
    assert_request(&seen[0], "POST", "/api/2/collections/7/xref.xlsx", &[]);
    assert_request(&seen[1], "GET", "/api/2/exports", &[]);
    let export = &listed.items[0];
    assert_eq!(export.collection_id.as_deref(), Some("7"));
    assert_eq!(export.status, Some(ExportStatus::Successful));
    assert_eq!(export.operation.as_deref(), Some("exportxref"));
    assert_eq!(export.file_size, Some(4096));
    assert!(export.links["download"].expose().contains("token="));
    assert!(!format!("{export:?}").contains("secret-jwt"));
}

#[tokio::test]
async fn pairwise_sends_the_three_fields_and_reads_the_profile_id() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/2/profiles/_pairwise"))
        .respond_with(ok_json(r#"{"status": "ok", "profile_id": "p1"}"#))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/2/profiles/_pairwise"))
        .respond_with(ok_json(r#"{"status": "ok", "profile_id": null}"#))
        .mount(&server)
        .await;
    let aleph = client(&server);
    let judged = aleph
        .profiles()
        .pairwise("e1", "m1", Judgement::Positive)
        .await
        .unwrap();
    let removed = aleph
        .profiles()
        .pairwise("e1", "m1", Judgement::NoJudgement)
        .await
        .unwrap();
    assert_eq!(judged.profile_id.as_deref(), Some("p1"));
    assert_eq!(removed.profile_id, None);
    let seen = requests(&server).await;
    assert_request(&seen[0], "POST", "/api/2/profiles/_pairwise", &[]);
    assert_eq!(
        body(&seen[0]),
        json!({"entity_id": "e1", "match_id": "m1", "judgement": "positive"})
    );
    assert_eq!(body(&seen[1])["judgement"], "no_judgement");
}

#[tokio::test]
async fn pairwise_and_expand_refuse_bad_arguments_before_sending() {
    let server = MockServer::start().await;
    let aleph = client(&server);
    let err = aleph
        .profiles()
        .pairwise("e1", "m1", Judgement::from("maybe"))
        .await
        .unwrap_err();
    assert_invalid(&err, "judgement");
    let err = aleph
        .profiles()
        .pairwise("", "m1", Judgement::Positive)
        .await
        .unwrap_err();
    assert_invalid(&err, "entity_id");
    let err = aleph.profiles().expand("p1").limit(201).await.unwrap_err();
    assert_invalid(&err, "limit");
    assert!(requests(&server).await.is_empty());
}

#[tokio::test]
async fn profile_tags_similar_and_expand_decode_their_envelopes() {
    let server = MockServer::start().await;
    let profile = json!({
        "id": "p1", "type": "profile", "label": "Maria Petrov", "role_id": "3",
        "created_at": "2026-05-01T00:00:00", "updated_at": "2026-05-01T00:00:00",
        "collection": {"id": "7", "label": "Leak", "writeable": true},
        "writeable": true, "shallow": false, "entities": ["e1", "m1"],
        "merged": {"id": "p1", "schema": "Person", "properties": {"name": ["Maria Petrov"]},
                   "entities": ["e1", "m1"], "latinized": {}},
    });
    let tags = json!({"status": "ok", "total": 1, "results": [
        {"id": "name:Maria Petrov", "field": "names", "value": "Maria Petrov", "count": 2}]});
    let similar = json!({"status": "ok", "total": 1, "total_type": "eq", "limit": 20, "offset": 0,
        "page": 1, "pages": 1, "next": null, "previous": null, "results": [
        {"score": 0.7, "judgement": "no_judgement", "entity": entity("s1", "Maria Petrova", "3"), "writeable": true}]});
    let expand = json!({"status": "ok", "total": 3, "results": [
        {"property": "ownershipOwner", "count": 3, "entities": [
            {"id": "o1", "schema": "Ownership", "properties": {"owner": ["e1"]}, "collection_id": 7}]}]});
    for (route, answer) in [
        ("/api/2/profiles/p1", profile),
        ("/api/2/profiles/p1/tags", tags),
        ("/api/2/profiles/p1/similar", similar),
        ("/api/2/profiles/p1/expand", expand),
    ] {
        Mock::given(method("GET"))
            .and(path(route))
            .respond_with(ok_json(answer.to_string()))
            .mount(&server)
            .await;
    }
    let aleph = client(&server);
    let profile = aleph.profiles().get("p1").await.unwrap();
    let tags = aleph.profiles().tags("p1").await.unwrap();
    let similar = aleph.profiles().similar("p1").first_page().await.unwrap();
    let expanded = aleph
        .profiles()
        .expand("p1")
        .property("ownershipOwner")
        .limit(5)
        .await
        .unwrap();
    let seen = requests(&server).await;
    assert_request(
        &seen[3],
        "GET",
        "/api/2/profiles/p1/expand",
        &[("filter:property", "ownershipOwner"), ("limit", "5")],
    );
    assert_eq!(profile.entities, ["e1", "m1"]);
    assert_eq!(profile.merged.unwrap().schema, "Person");
    assert_eq!(profile.collection.unwrap().id, "7");
    assert_eq!(tags.results[0].field, "names");
    assert_eq!(tags.results[0].count, 2);
    assert_eq!(similar.items[0].judgement, Some(Judgement::NoJudgement));
    assert_eq!(expanded.total, 3);
    assert_eq!(expanded.results[0].count, 3);
    assert_eq!(expanded.results[0].entities[0].schema, "Ownership");
}

#[cfg(feature = "testkit")]
mod sandbox {
    use super::*;
    use casefile::ErrorKind;
    use casefile::aleph::{Client, Entity, NewCollection, XrefMatch};
    use casefile::testkit::Sandbox;

    async fn small() -> Sandbox {
        Sandbox::builder()
            .entities(&[4, 4])
            .incidents(1)
            .attachments(1)
            .start()
            .await
            .unwrap()
    }

    async fn collection(
        aleph: &Client,
        label: &str,
        entities: Vec<Entity>,
    ) -> (String, Vec<String>) {
        let id = aleph
            .collections()
            .create(NewCollection::new(label))
            .await
            .unwrap()
            .id;
        let mut ids = Vec::new();
        for entity in entities {
            let made = aleph.entities().create(&id, entity).await.unwrap();
            ids.push(made.id.unwrap());
        }
        (id, ids)
    }

    fn pair(m: &XrefMatch) -> (String, String) {
        (
            m.entity.as_ref().unwrap().id.clone().unwrap(),
            m.candidate.as_ref().unwrap().id.clone().unwrap(),
        )
    }

    async fn all(aleph: &Client, collection: &str) -> Vec<XrefMatch> {
        aleph
            .xref()
            .matches(collection)
            .stream()
            .try_collect()
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn run_then_judge_a_match_and_the_next_listing_shows_the_judgement() {
        let s = small().await;
        let aleph = s.aleph().unwrap();
        let (leak, leaked) = collection(
            &aleph,
            "Xref leak",
            vec![
                Entity::new("Person").add("name", "Zora Quillfeather"),
                Entity::new("Person")
                    .add("name", "Ivo Brandtmeier")
                    .add("birthDate", "1970-01-01"),
                Entity::new("Document").add("title", "Zora Quillfeather"),
            ],
        )
        .await;
        let (registry, listed) = collection(
            &aleph,
            "Xref registry",
            vec![
                Entity::new("Person").add("name", "Quillfeather, Zora"),
                Entity::new("Person")
                    .add("name", "Ivo Brandtmeier")
                    .add("birthDate", "1980-05-05"),
            ],
        )
        .await;

        assert_eq!(
            aleph.xref().run(&leak).await.unwrap().status.as_deref(),
            Some("accepted")
        );
        let status = aleph.collections().status(&leak).await.unwrap();
        assert!(!status.tasks.is_active(), "the sandbox runs xref at once");

        // Only the match above 0.5 is listed by default: the Ivo pair (different birth dates)
        // scores 0.5 and shows only when sorting by random (`XrefQuery.get_filters`).
        let shown = all(&aleph, &leak).await;
        assert_eq!(shown.len(), 1, "{shown:?}");
        assert_eq!(pair(&shown[0]), (leaked[0].clone(), listed[0].clone()));
        assert_eq!(shown[0].score, Some(0.9));
        assert_eq!(shown[0].judgement, Some(Judgement::NoJudgement));
        assert_eq!(shown[0].collection_id.as_deref(), Some(leak.as_str()));
        assert_eq!(
            shown[0]
                .candidate
                .as_ref()
                .unwrap()
                .collection
                .as_ref()
                .unwrap()
                .id,
            registry
        );
        let everything: Vec<XrefMatch> = aleph
            .xref()
            .matches(&leak)
            .sort_by(XrefSort::Random, false)
            .stream()
            .try_collect()
            .await
            .unwrap();
        assert_eq!(everything.len(), 2);
        assert!(
            everything
                .iter()
                .any(|m| pair(m) == (leaked[1].clone(), listed[1].clone()) && m.score == Some(0.5))
        );

        let judged = aleph
            .profiles()
            .pairwise(&leaked[0], &listed[0], Judgement::Positive)
            .await
            .unwrap();
        let profile_id = judged.profile_id.unwrap();
        let after = all(&aleph, &leak).await;
        assert_eq!(after[0].judgement, Some(Judgement::Positive));

        let profile = aleph.profiles().get(&profile_id).await.unwrap();
        assert_eq!(profile.entities, [leaked[0].clone(), listed[0].clone()]);
        assert_eq!(profile.collection.unwrap().id, leak);
        let merged = profile.merged.unwrap();
        assert_eq!(merged.schema, "Person");
        assert_eq!(merged.id.as_deref(), Some(profile_id.as_str()));

        let negative = aleph
            .profiles()
            .pairwise(&leaked[0], &listed[0], Judgement::Negative)
            .await
            .unwrap();
        assert_eq!(negative.profile_id.as_deref(), Some(profile_id.as_str()));
        assert_eq!(
            all(&aleph, &leak).await[0].judgement,
            Some(Judgement::Negative)
        );
        let removed = aleph
            .profiles()
            .pairwise(&leaked[0], &listed[0], Judgement::NoJudgement)
            .await
            .unwrap();
        assert_eq!(removed.profile_id, None);
        assert_eq!(
            all(&aleph, &leak).await[0].judgement,
            Some(Judgement::NoJudgement)
        );

        // A Person and a Document have no common schema: followthemoney's `InvalidData`, a 400.
        let err = aleph
            .profiles()
            .pairwise(&leaked[0], &leaked[2], Judgement::Positive)
            .await
            .unwrap_err();
        assert_eq!(err.status(), Some(400), "{err}");
        assert!(err.to_string().contains("No common schema"), "{err}");
    }

    #[tokio::test]
    async fn a_second_run_replaces_the_matches_and_anonymous_callers_cannot_run() {
        let s = small().await;
        let aleph = s.aleph().unwrap();
        let (leak, leaked) = collection(
            &aleph,
            "Xref rerun",
            vec![Entity::new("Company").add("name", "Quellspring Holdings")],
        )
        .await;
        let (other, _) = collection(
            &aleph,
            "Xref rerun 2",
            vec![Entity::new("Company").add("name", "Quellspring Holdings")],
        )
        .await;
        aleph.xref().run(&leak).await.unwrap();
        assert_eq!(all(&aleph, &leak).await.len(), 1);
        aleph.entities().delete(&leaked[0]).await.unwrap();
        aleph.xref().run(&leak).await.unwrap();
        assert!(all(&aleph, &leak).await.is_empty());
        // Running the other side deleted nothing of it; it finds nothing now either.
        aleph.xref().run(&other).await.unwrap();
        assert!(all(&aleph, &other).await.is_empty());

        let anonymous = Client::builder().base_url(s.aleph_url()).build().unwrap();
        let err = anonymous.xref().run(&leak).await.unwrap_err();
        assert_eq!(err.status(), Some(403));
        assert!(
            matches!(err, casefile::Error::Api(ref api) if api.kind == ErrorKind::Unauthorized)
        );
        let err = anonymous.xref().exports().first_page().await.unwrap_err();
        assert_eq!(err.status(), Some(403));
        let err = aleph.xref().matches(999).first_page().await.unwrap_err();
        assert_eq!(err.status(), Some(404));
    }

    #[tokio::test]
    async fn an_export_appears_in_the_exports_and_downloads() {
        let s = small().await;
        let aleph = s.aleph().unwrap();
        let (leak, _) = collection(
            &aleph,
            "Xref export",
            vec![Entity::new("Person").add("name", "Wenzel Orrinbrook")],
        )
        .await;
        collection(
            &aleph,
            "Xref export 2",
            vec![Entity::new("Person").add("name", "Wenzel Orrinbrook")],
        )
        .await;
        aleph.xref().run(&leak).await.unwrap();
        aleph.xref().export(&leak).await.unwrap();
        let exports: Vec<_> = aleph.xref().exports().stream().try_collect().await.unwrap();
        let export = exports
            .iter()
            .find(|e| e.collection_id.as_deref() == Some(leak.as_str()))
            .expect("the export is listed");
        assert_eq!(export.operation.as_deref(), Some("exportxref"));
        assert_eq!(export.status, Some(ExportStatus::Successful));
        assert_eq!(
            export.label.as_deref(),
            Some("Xref export - Crossreference results")
        );
        let link = export.links["download"].expose().to_owned();
        let file = std::env::temp_dir().join(format!("casefile-xref-{}.tsv", std::process::id()));
        let size = aleph
            .archive()
            .download_link(&link)
            .save(&file)
            .await
            .unwrap();
        let bytes = std::fs::read(&file).unwrap();
        let _ = std::fs::remove_file(&file);
        assert_eq!(size, bytes.len() as u64);
        let text = String::from_utf8_lossy(&bytes);
        assert!(text.starts_with("Score\tDoubt\tEntity Name"), "{text}");
        assert!(text.contains("Wenzel Orrinbrook"), "{text}");
        assert_eq!(export.file_size, Some(bytes.len() as u64));
    }

    #[tokio::test]
    async fn matches_stream_with_concurrency_in_score_order() {
        let s = small().await;
        let aleph = s.aleph().unwrap();
        let (leak, _) = collection(
            &aleph,
            "Xref many",
            vec![Entity::new("Person").add("name", "Ottoline Marchbanks")],
        )
        .await;
        // 23 namesakes: 11 of the same schema (0.9), 12 of a broader one (0.8).
        let namesakes = (0..23)
            .map(|n| {
                Entity::new(if n % 2 == 0 { "LegalEntity" } else { "Person" })
                    .add("name", "Marchbanks Ottoline")
            })
            .collect();
        collection(&aleph, "Xref namesakes", namesakes).await;
        aleph.xref().run(&leak).await.unwrap();
        let one_by_one = all(&aleph, &leak).await;
        let at_once: Vec<XrefMatch> = aleph
            .xref()
            .matches(&leak)
            .page_size(4)
            .stream()
            .concurrency(3)
            .try_collect()
            .await
            .unwrap();
        assert_eq!(at_once.len(), 23);
        assert_eq!(at_once, one_by_one);
        let scores: Vec<f64> = at_once.iter().map(|m| m.score.unwrap()).collect();
        assert!(scores[..11].iter().all(|s| *s == 0.9), "{scores:?}");
        assert!(scores[11..].iter().all(|s| *s == 0.8), "{scores:?}");
        let strong = aleph
            .xref()
            .matches(&leak)
            .min_score(0.85)
            .first_page()
            .await
            .unwrap();
        assert_eq!(strong.total, Some(11));
    }

    #[tokio::test]
    async fn a_profile_reads_back_with_tags_similar_entities_and_expansion() {
        let s = small().await;
        let aleph = s.aleph().unwrap();
        let (leak, leaked) = collection(
            &aleph,
            "Profile leak",
            vec![Entity::new("Person").add("name", "Zora Quillfeather")],
        )
        .await;
        let (_, listed) = collection(
            &aleph,
            "Profile registry",
            vec![
                Entity::new("Person").add("name", "Zora Quillfeather"),
                Entity::new("Person").add("name", "Quillfeather Zora"),
                Entity::new("Company").add("name", "Quill Holdings"),
            ],
        )
        .await;
        let registry = aleph
            .entities()
            .get(&listed[2])
            .await
            .unwrap()
            .collection
            .unwrap()
            .id;
        let ownership = aleph
            .entities()
            .create(
                &registry,
                Entity::new("Ownership")
                    .add("owner", listed[0].as_str())
                    .add("asset", listed[2].as_str()),
            )
            .await
            .unwrap()
            .id
            .unwrap();
        let profile_id = aleph
            .profiles()
            .pairwise(&leaked[0], &listed[0], Judgement::Positive)
            .await
            .unwrap()
            .profile_id
            .unwrap();

        let profile = aleph.profiles().get(&profile_id).await.unwrap();
        assert_eq!(profile.set_type.as_deref(), Some("profile"));
        assert_eq!(profile.label.as_deref(), Some("Zora Quillfeather"));
        assert_eq!(profile.collection.as_ref().unwrap().id, leak);

        let tags = aleph.profiles().tags(&profile_id).await.unwrap();
        assert_eq!(tags.total, 1);
        assert_eq!(tags.results[0].field, "names");
        assert_eq!(tags.results[0].count, 2, "two others share the name");

        let similar: Vec<_> = aleph
            .profiles()
            .similar(&profile_id)
            .stream()
            .try_collect()
            .await
            .unwrap();
        let ids: Vec<_> = similar
            .iter()
            .map(|s| s.entity.as_ref().unwrap().id.clone().unwrap())
            .collect();
        assert_eq!(
            ids,
            [listed[1].clone()],
            "the profile's own entities are left out"
        );
        assert_eq!(similar[0].judgement, Some(Judgement::NoJudgement));

        let expanded = aleph.profiles().expand(&profile_id).await.unwrap();
        let owned = expanded
            .results
            .iter()
            .find(|e| e.property == "ownershipOwner")
            .expect("the ownership of the registry's person");
        assert_eq!(owned.count, 1);
        assert_eq!(owned.entities[0].id.as_deref(), Some(ownership.as_str()));
        let counted = aleph
            .profiles()
            .expand(&profile_id)
            .property("ownershipOwner")
            .limit(0)
            .await
            .unwrap();
        assert_eq!(counted.total, 1);
        assert!(counted.results[0].entities.is_empty());

        let err = aleph
            .profiles()
            .pairwise("no-such-entity", &listed[0], Judgement::Positive)
            .await
            .unwrap_err();
        assert_eq!(err.status(), Some(404));
        let anonymous = Client::builder().base_url(s.aleph_url()).build().unwrap();
        let err = anonymous
            .profiles()
            .pairwise(&leaked[0], &listed[0], Judgement::Positive)
            .await
            .unwrap_err();
        assert_eq!(err.status(), Some(403));
        let err = aleph.profiles().get("no-such-profile").await.unwrap_err();
        assert_eq!(err.status(), Some(404));
    }

    /// The wire shapes, read with plain HTTP: what the typed client hides.
    #[tokio::test]
    async fn the_routes_answer_with_aleph_statuses_and_bodies() {
        let s = small().await;
        let http = reqwest::Client::new();
        let api = |path: &str| format!("{}/api/2/{path}", s.aleph_url());
        let key = format!("ApiKey {}", s.aleph_api_key());
        let send = |request: reqwest::RequestBuilder| async move {
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            let allow = response
                .headers()
                .get("allow")
                .map(|v| v.to_str().unwrap().to_owned());
            (status, allow, response.text().await.unwrap())
        };
        let (status, _, body) = send(
            http.post(api("collections/1/xref"))
                .header("authorization", &key),
        )
        .await;
        assert_eq!((status, body.as_str()), (202, r#"{"status":"accepted"}"#));
        let (status, _, body) = send(
            http.post(api("collections/1/xref.xlsx"))
                .header("authorization", &key),
        )
        .await;
        assert_eq!((status, body.as_str()), (202, ""));
        // `<int:collection_id>`: no route for another id; a method the route lacks is a 405.
        let (status, ..) = send(
            http.get(api("collections/abc/xref"))
                .header("authorization", &key),
        )
        .await;
        assert_eq!(status, 404);
        let (status, allow, _) = send(
            http.delete(api("collections/1/xref"))
                .header("authorization", &key),
        )
        .await;
        assert_eq!(status, 405);
        assert_eq!(allow.as_deref(), Some("GET, HEAD, OPTIONS, POST"));
        // Schema `Pairwise`: a missing field is a jsonschema error at the top level.
        let (status, _, body) = send(
            http.post(api("profiles/_pairwise"))
                .header("authorization", &key)
                .json(&json!({"entity_id": "a", "judgement": "positive"})),
        )
        .await;
        assert_eq!(status, 400);
        let body: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(body["errors"][""], "'match_id' is a required property");
        let (status, _, body) = send(
            http.post(api("profiles/_pairwise"))
                .header("authorization", &key)
                .json(&json!({"entity_id": "a", "match_id": "b", "judgement": "maybe"})),
        )
        .await;
        assert_eq!(status, 400);
        assert!(body.contains("'maybe' is not one of"), "{body}");
    }
}
