//! Document files from either server (issue 20, spec20 §3 and the §16 rows 6–8):
//! `archive().file(&entity, rendition)` takes the link from the entity or from its detail view,
//! follows Aleph's `archive?token=` links and OpenAleph 5.3.1's `archive/resolve` ones, and sends
//! credentials to the configured instance only.
//!
//! Sources: Aleph 4.1.6 `aleph/views/serializers.py:222-246` (links in every serialization);
//! OpenAleph `main` (5.3.1-rc3) `aleph/views/serializers.py:248-262` (detail view only, resolve
//! URLs), `aleph/views/entities_api.py:362` (`detail_view=True` only in `GET /entities/{id}`),
//! `aleph/views/archive_api.py:30-129` (`resolve`).

use casefile::aleph::{Client, Entity, Flavor, IngestMeta, NewCollection, Rendition, Server};
use casefile::{Error, ErrorKind, RetryPolicy, Upload};
use futures::TryStreamExt;
use serde_json::json;
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

use crate::support::aleph::*;
use crate::support::assert_invalid;

/// The bytes of a download.
async fn bytes_of(download: casefile::aleph::Download) -> casefile::Result<Vec<u8>> {
    download
        .send()
        .await?
        .map_ok(|chunk| chunk.to_vec())
        .try_concat()
        .await
}

/// A client of `server` told it is OpenAleph 5.3.1-rc3 (so it never asks `/metadata`).
fn openaleph(server: &MockServer) -> Client {
    Client::builder()
        .base_url(server.uri())
        .api_key(KEY)
        .server(Server::openaleph("5.3.1-rc3"))
        .retry(RetryPolicy::none())
        .build()
        .unwrap()
}

/// A search hit as OpenAleph ≥ 5.2 sends it: a document without file links.
fn hit(id: &str) -> Entity {
    serde_json::from_value(json!({
        "id": id, "schema": "Pages",
        "properties": {"fileName": ["report.docx"]},
        "links": {"self": format!("https://ui.example.org/api/2/entities/{id}")},
    }))
    .unwrap()
}

/// Asserts that a request to a storage host carried nothing of the client's: no credentials,
/// no session header, no `Referer`.
fn assert_bare(req: &Request) {
    for name in ["authorization", "x-aleph-session", "referer", "cookie"] {
        assert_eq!(header(req, name), None, "{name} sent to {}", req.url);
    }
}

#[cfg(feature = "testkit")]
mod sandbox {
    use super::*;
    use casefile::testkit::{Platform, Sandbox};

    async fn start(flavor: Flavor) -> Sandbox {
        Sandbox::builder()
            .entities(&[20])
            .incidents(1)
            .attachments(1)
            .aleph_flavor(flavor)
            .start()
            .await
            .unwrap()
    }

    /// A document found by a search is downloaded by `file` on both flavors: on Aleph from the
    /// hit's own `links.file` (one API request, the token URL), on OpenAleph through the detail
    /// view and `archive/resolve` (two). The sandbox's storage host refuses any request that
    /// carries an `Authorization` header (as S3 does a second auth mechanism), so a download
    /// that succeeds sent none there.
    async fn document_found_by_a_search(flavor: Flavor) {
        let s = start(flavor).await;
        let aleph = s.aleph().unwrap();
        let collection = aleph
            .collections()
            .create(NewCollection::new("Files"))
            .await
            .unwrap()
            .id;
        let contents: &[u8] = b"ledger: 14 payments to Meridian Metals\n";
        aleph
            .collections()
            .ingest(
                &collection,
                Upload::bytes("ledger.txt", contents.to_vec()),
                IngestMeta::with_foreign_id("ledger.txt"),
            )
            .await
            .unwrap();
        let hits: Vec<Entity> = aleph
            .entities()
            .search()
            .schema("Document")
            .collection(&collection)
            .stream()
            .try_collect()
            .await
            .unwrap();
        assert_eq!(hits.len(), 1, "{hits:?}");
        let doc = &hits[0];
        let hit_link = doc.links.get("file").map(|l| l.expose().to_owned());
        match flavor {
            Flavor::OpenAleph => assert_eq!(hit_link, None, "OpenAleph ≥ 5.2 hits carry none"),
            _ => assert!(
                hit_link
                    .as_deref()
                    .is_some_and(|l| l.contains("/api/2/archive?token=")),
                "{hit_link:?}"
            ),
        }

        let before = s.requests(Platform::Aleph);
        let got = bytes_of(aleph.archive().file(doc, Rendition::Original))
            .await
            .unwrap();
        assert_eq!(got, contents);
        let asked = s.requests(Platform::Aleph) - before;
        match flavor {
            Flavor::OpenAleph => assert_eq!(asked, 2, "GET /entities/{{id}}, then resolve"),
            _ => assert_eq!(asked, 1, "the hit's own token link"),
        }

        // The detail view of OpenAleph links to `archive/resolve` on the UI host.
        let detail = aleph
            .entities()
            .get(doc.id.as_deref().unwrap())
            .await
            .unwrap();
        let link = detail.links.get("file").unwrap().expose().to_owned();
        match flavor {
            Flavor::OpenAleph => assert!(
                link.contains("/api/2/archive/resolve?entity=")
                    && link.ends_with("&prop=contentHash"),
                "{link}"
            ),
            _ => assert!(link.contains("/api/2/archive?token="), "{link}"),
        }
        // The link as the caller found it, through `download_link`.
        let again = bytes_of(aleph.archive().download_link(&link))
            .await
            .unwrap();
        assert_eq!(again, contents);

        // A text document has no PDF: a clear refusal naming the entity, not a 404.
        let before = s.requests(Platform::Aleph);
        let err = bytes_of(aleph.archive().file(doc, Rendition::Pdf))
            .await
            .unwrap_err();
        assert_invalid(&err, "rendition");
        assert!(
            err.to_string().contains(doc.id.as_deref().unwrap()),
            "{err}"
        );
        assert_eq!(
            s.requests(Platform::Aleph) - before,
            1,
            "only the detail view"
        );
    }

    #[tokio::test]
    async fn a_document_found_by_a_search_downloads_from_aleph() {
        document_found_by_a_search(Flavor::Aleph).await;
    }

    #[tokio::test]
    async fn a_document_found_by_a_search_downloads_from_openaleph() {
        document_found_by_a_search(Flavor::OpenAleph).await;
    }

    /// The PDF and CSV renditions follow their own hash properties (`pdfHash` of `Pages`,
    /// `csvHash` of `Table`) on both flavors: OpenAleph's resolve reads `prop`.
    async fn renditions(flavor: Flavor) {
        let s = start(flavor).await;
        let aleph = s.aleph().unwrap();
        let collection = aleph
            .collections()
            .create(NewCollection::new("Renditions"))
            .await
            .unwrap()
            .id;
        let mut hashes = Vec::new();
        for (name, body) in [
            ("memo.docx", "the original"),
            ("memo.pdf", "%PDF-1.7 the pdf"),
        ] {
            let id = aleph
                .collections()
                .ingest(
                    &collection,
                    Upload::bytes(name, body.as_bytes().to_vec()),
                    IngestMeta::with_foreign_id(name),
                )
                .await
                .unwrap();
            let doc = aleph.entities().get(&id).await.unwrap();
            hashes.push(doc.first("contentHash").unwrap().to_owned());
        }
        let pages = Entity::new("Pages")
            .add("fileName", "memo.docx")
            .add("contentHash", hashes[0].clone())
            .add("pdfHash", hashes[1].clone());
        aleph.entities().create(&collection, pages).await.unwrap();
        let hits: Vec<Entity> = aleph
            .entities()
            .search()
            .schema("Pages")
            .collection(&collection)
            .stream()
            .try_collect()
            .await
            .unwrap();
        assert_eq!(hits.len(), 1, "{hits:?}");
        let archive = aleph.archive();
        let pdf = bytes_of(archive.file(&hits[0], Rendition::Pdf))
            .await
            .unwrap();
        assert_eq!(pdf, b"%PDF-1.7 the pdf");
        let original = bytes_of(archive.file(&hits[0], Rendition::Original))
            .await
            .unwrap();
        assert_eq!(original, b"the original");
        let err = bytes_of(archive.file(&hits[0], Rendition::Csv))
            .await
            .unwrap_err();
        assert_invalid(&err, "rendition");
    }

    #[tokio::test]
    async fn renditions_follow_their_hash_on_aleph() {
        renditions(Flavor::Aleph).await;
    }

    #[tokio::test]
    async fn renditions_follow_their_hash_on_openaleph() {
        renditions(Flavor::OpenAleph).await;
    }

    /// The sandbox's `archive/resolve` answers as `archive_api.py:89-129` does, in its order of
    /// checks; Aleph 4.1.6 has no such route.
    #[tokio::test]
    async fn the_resolve_route_answers_as_openaleph() {
        let s = start(Flavor::OpenAleph).await;
        let aleph = s.aleph().unwrap();
        let collection = aleph
            .collections()
            .create(NewCollection::new("Resolve"))
            .await
            .unwrap()
            .id;
        let doc = aleph
            .collections()
            .ingest(
                &collection,
                Upload::bytes("a.txt", b"abc".to_vec()),
                IngestMeta::with_foreign_id("a.txt"),
            )
            .await
            .unwrap();
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let url = format!("{}/api/2/archive/resolve", s.aleph_url());
        let auth = format!("ApiKey {}", s.aleph_api_key());
        let ask = |query: Vec<(&'static str, String)>, signed_in: bool| {
            let url = url::Url::parse_with_params(&url, &query).unwrap();
            let mut request = http.get(url);
            if signed_in {
                request = request.header("authorization", &auth);
            }
            async move {
                let response = request.send().await.unwrap();
                let status = response.status().as_u16();
                let location = response
                    .headers()
                    .get("location")
                    .map(|v| v.to_str().unwrap().to_owned());
                (status, location, response.text().await.unwrap())
            }
        };
        let message = |text: &str| -> String {
            serde_json::from_str::<serde_json::Value>(text).unwrap()["message"]
                .as_str()
                .unwrap()
                .to_owned()
        };
        let (status, _, text) = ask(vec![("prop", "contentHash".into())], true).await;
        assert_eq!(
            (status, message(&text).as_str()),
            (400, "Missing `entity` query parameter.")
        );
        let (status, _, text) = ask(
            vec![("entity", doc.clone()), ("prop", "bodyHash".into())],
            true,
        )
        .await;
        assert_eq!(
            (status, message(&text).as_str()),
            (400, "Invalid `prop` query parameter.")
        );
        let (status, _, text) = ask(vec![("entity", "nope".into())], true).await;
        assert_eq!(
            (status, message(&text).as_str()),
            (404, "This path does not exist.")
        );
        // A new collection is secret: an anonymous caller may not read it.
        let (status, _, text) = ask(vec![("entity", doc.clone())], false).await;
        assert_eq!(
            (status, message(&text).as_str()),
            (403, "You are not authorized to do this.")
        );
        let (status, _, text) = ask(
            vec![("entity", doc.clone()), ("prop", "pdfHash".into())],
            true,
        )
        .await;
        assert_eq!(
            (status, text.as_str()),
            (404, ""),
            "no such hash: an empty 404"
        );
        // `prop` defaults to contentHash; the answer points at the storage host.
        let (status, location, _) = ask(vec![("entity", doc.clone())], true).await;
        assert_eq!(status, 302);
        let location = location.unwrap();
        assert!(!location.starts_with(&s.aleph_url()), "{location}");
        let (status, _, text) = ask(
            vec![("entity", doc.clone()), ("redirect", "false".into())],
            true,
        )
        .await;
        assert_eq!(status, 200);
        let answer: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(answer["url"].as_str(), Some(location.as_str()));
        // The storage URL is a capability: it works without credentials, and refuses them.
        let stored = http.get(&location).send().await.unwrap();
        assert_eq!(stored.status().as_u16(), 200);
        assert_eq!(stored.bytes().await.unwrap().as_ref(), b"abc");
        let with_key = http
            .get(&location)
            .header("authorization", &auth)
            .send()
            .await
            .unwrap();
        assert_eq!(with_key.status().as_u16(), 400);

        let aleph_flavor = start(Flavor::Aleph).await;
        let response = http
            .get(format!(
                "{}/api/2/archive/resolve?entity={doc}",
                aleph_flavor.aleph_url()
            ))
            .header(
                "authorization",
                format!("ApiKey {}", aleph_flavor.aleph_api_key()),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.status().as_u16(),
            404,
            "no resolve route on Aleph 4.1.6"
        );
    }
}

/// An OpenAleph search hit has no links: `file` fetches the detail view, asks its
/// `archive/resolve` link of the configured instance (not of the UI host the link names) with
/// the API key and `redirect=false`, and fetches the storage URL it answers bare.
#[tokio::test]
async fn a_hit_without_links_is_resolved_on_the_instance_and_fetched_bare() {
    // `printf '%PDF-1.7' | sha1sum`: the download is checked against the entity's `pdfHash`.
    const PDF_SHA1: &str = "baf6c1a3fb25f0af5aabbc32aa841e27cb025020";
    let api = MockServer::start().await;
    let ui = MockServer::start().await;
    let storage = MockServer::start().await;
    let id = "3a0d91ece2dce88ad3259594c7b642485235a048.a4e3d4e5";
    Mock::given(method("GET"))
        .and(path(format!("/api/2/entities/{id}")))
        .respond_with(ok_json(
            json!({
                "id": id, "schema": "Pages",
                "properties": {"fileName": ["report.docx"], "pdfHash": [PDF_SHA1]},
                "links": {
                    "self": format!("{}/api/2/entities/{id}", ui.uri()),
                    "file": format!("{}/api/2/archive/resolve?entity={id}&prop=contentHash", ui.uri()),
                    "pdf": format!("{}/api/2/archive/resolve?entity={id}&prop=pdfHash", ui.uri()),
                },
            })
            .to_string(),
        ))
        .mount(&api)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/2/archive/resolve"))
        .and(query_param("prop", "pdfHash"))
        .respond_with(ok_json(
            json!({"url": format!("{}/bucket/5b8e?X-Amz-Signature=secret", storage.uri())})
                .to_string(),
        ))
        .mount(&api)
        .await;
    Mock::given(method("GET"))
        .and(path("/bucket/5b8e"))
        .respond_with(ResponseTemplate::new(200).set_body_bytes(b"%PDF-1.7".to_vec()))
        .mount(&storage)
        .await;

    let aleph = openaleph(&api);
    let got = bytes_of(aleph.archive().file(&hit(id), Rendition::Pdf))
        .await
        .unwrap();
    assert_eq!(got, b"%PDF-1.7");

    let at_api = requests(&api).await;
    assert_eq!(at_api.len(), 2, "{at_api:?}");
    assert_request(&at_api[0], "GET", &format!("/api/2/entities/{id}"), &[]);
    assert_request(
        &at_api[1],
        "GET",
        "/api/2/archive/resolve",
        &[("entity", id), ("prop", "pdfHash"), ("redirect", "false")],
    );
    assert!(requests(&ui).await.is_empty(), "the UI host is never asked");
    let at_storage = requests(&storage).await;
    assert_eq!(at_storage.len(), 1);
    assert_eq!(
        query(&at_storage[0]),
        pairs(&[("X-Amz-Signature", "secret")])
    );
    assert_bare(&at_storage[0]);
}

/// A link on a host that is neither the instance nor its UI URL (another instance, a tampered
/// link) is rebased too: that host receives nothing, the configured instance answers — here
/// with an `archive?token=` URL (a storage that cannot sign), itself rebased and fetched with
/// the key from the instance.
#[tokio::test]
async fn a_resolve_link_on_a_foreign_host_is_rebased_onto_the_instance() {
    let api = MockServer::start().await;
    let foreign = MockServer::start().await;
    let id = "doc-1.b2c0";
    Mock::given(method("GET"))
        .and(path("/api/2/archive/resolve"))
        .respond_with(ok_json(
            json!({"url": format!("{}/api/2/archive?token=jwt.of.file", foreign.uri())})
                .to_string(),
        ))
        .mount(&api)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/2/archive"))
        .respond_with(ResponseTemplate::new(200).set_body_bytes(b"original".to_vec()))
        .mount(&api)
        .await;
    let mut entity = hit(id);
    entity.links.insert(
        "file".into(),
        format!(
            "{}/api/2/archive/resolve?entity={id}&prop=contentHash",
            foreign.uri()
        )
        .into(),
    );

    let aleph = openaleph(&api);
    let got = bytes_of(aleph.archive().file(&entity, Rendition::Original))
        .await
        .unwrap();
    assert_eq!(got, b"original");

    assert!(
        requests(&foreign).await.is_empty(),
        "the foreign host got nothing"
    );
    let at_api = requests(&api).await;
    assert_eq!(at_api.len(), 2, "no detail view: the entity had its link");
    assert_request(
        &at_api[0],
        "GET",
        "/api/2/archive/resolve",
        &[
            ("entity", id),
            ("prop", "contentHash"),
            ("redirect", "false"),
        ],
    );
    assert_request(
        &at_api[1],
        "GET",
        "/api/2/archive",
        &[("token", "jwt.of.file")],
    );
}

/// Aleph 4.1's links are bearer token URLs in every serialization: the hit's own link is
/// used, no detail view is fetched, and the redirect to storage loses the credentials.
#[tokio::test]
async fn an_aleph_hit_uses_its_own_token_link() {
    let api = MockServer::start().await;
    let storage = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/2/archive"))
        .respond_with(
            ResponseTemplate::new(302)
                .insert_header("location", format!("{}/bucket/ab12?sig=s", storage.uri())),
        )
        .mount(&api)
        .await;
    Mock::given(method("GET"))
        .and(path("/bucket/ab12"))
        .respond_with(ResponseTemplate::new(200).set_body_bytes(b"csv,bytes".to_vec()))
        .mount(&storage)
        .await;
    let entity: Entity = serde_json::from_value(json!({
        "id": "t1", "schema": "Table",
        "links": {"csv": "https://aleph-ui.example.org/api/2/archive?token=tok.en"},
    }))
    .unwrap();

    let aleph = client(&api);
    let got = bytes_of(aleph.archive().file(&entity, Rendition::Csv))
        .await
        .unwrap();
    assert_eq!(got, b"csv,bytes");
    let at_api = only_request(&api).await;
    assert_request(&at_api, "GET", "/api/2/archive", &[("token", "tok.en")]);
    let at_storage = requests(&storage).await;
    assert_eq!(at_storage.len(), 1);
    assert_eq!(header(&at_storage[0], "authorization"), None);
    assert_eq!(header(&at_storage[0], "referer"), None);
}

/// An anonymous caller's resolve of a document it may not read: the server's 403 and message
/// are the error, and nothing else is fetched.
#[tokio::test]
async fn an_anonymous_resolve_keeps_the_servers_refusal() {
    let api = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/2/archive/resolve"))
        .respond_with(ResponseTemplate::new(403).set_body_raw(
            r#"{"status": "error", "message": "You are not authorized to do this.", "roles": [1]}"#,
            "application/json",
        ))
        .mount(&api)
        .await;
    let anonymous = Client::builder()
        .base_url(api.uri())
        .server(Server::openaleph("5.3.1-rc3"))
        .retry(RetryPolicy::none())
        .build()
        .unwrap();
    let err = bytes_of(anonymous.archive().download_link(&format!(
        "{}/api/2/archive/resolve?entity=secret-doc&prop=contentHash",
        api.uri()
    )))
    .await
    .unwrap_err();
    let refusal = err.api().unwrap();
    // One role (`guest`) in the body: the client's Aleph dialect reads the caller as
    // anonymous (`classify`) and adds why, after the server's own words.
    assert_eq!(
        (refusal.status, refusal.kind),
        (403, ErrorKind::Unauthorized)
    );
    assert!(
        refusal
            .message
            .starts_with("You are not authorized to do this. (the request was anonymous"),
        "{}",
        refusal.message
    );
    let seen = only_request(&api).await;
    assert_eq!(header(&seen, "authorization"), None);
}

/// What the client will not do: follow a second `resolve`, show a resolve answer it cannot
/// read (it holds a signed URL), look up an entity with no id; and an entity whose detail view
/// has no such link is a clear error, as is the server's empty 404 for a missing hash.
#[tokio::test]
async fn refusals_are_clear_and_send_nothing_more() {
    let api = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/2/archive/resolve"))
        .and(query_param("entity", "loop"))
        .respond_with(ok_json(
            json!({"url": "https://other.example.org/api/2/archive/resolve?entity=loop"})
                .to_string(),
        ))
        .mount(&api)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/2/archive/resolve"))
        .and(query_param("entity", "odd"))
        .respond_with(ok_json(
            r#"{"signed": "https://bucket.example.org/x?X-Amz-Signature=topsecret"}"#,
        ))
        .mount(&api)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/2/archive/resolve"))
        .and(query_param("entity", "nohash"))
        .respond_with(ResponseTemplate::new(404))
        .mount(&api)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/2/entities/plain"))
        .respond_with(ok_json(
            json!({"id": "plain", "schema": "Person", "links": {"self": "x"}}).to_string(),
        ))
        .mount(&api)
        .await;
    let aleph = openaleph(&api);
    let link = |entity: &str| format!("{}/api/2/archive/resolve?entity={entity}", api.uri());

    let err = bytes_of(aleph.archive().download_link(&link("loop")))
        .await
        .unwrap_err();
    assert_invalid(&err, "url");
    assert_eq!(requests(&api).await.len(), 1, "one resolve, not two");

    let err = bytes_of(aleph.archive().download_link(&link("odd")))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Decode(_)), "{err:?}");
    assert!(!format!("{err} {err:?}").contains("topsecret"), "{err:?}");

    let err = bytes_of(aleph.archive().download_link(&link("nohash")))
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(404));

    let err = bytes_of(aleph.archive().file(&hit("plain"), Rendition::Original))
        .await
        .unwrap_err();
    assert_invalid(&err, "rendition");
    assert!(err.to_string().contains("`plain`"), "{err}");
    assert_eq!(requests(&api).await.len(), 4);

    let nameless: Entity = serde_json::from_value(json!({"schema": "Document"})).unwrap();
    let err = bytes_of(aleph.archive().file(&nameless, Rendition::Original))
        .await
        .unwrap_err();
    assert_invalid(&err, "entity");
    assert_eq!(requests(&api).await.len(), 4, "refused before sending");
}

/// A file that does not hash to the entity's `contentHash` (SHA-1 in Aleph's archive,
/// servicelayer `archive/util.py` `checksum`) is refused, and `save` keeps nothing: on either
/// server, with the hash from the entity given or from its detail view.
#[tokio::test]
async fn a_file_that_does_not_match_its_content_hash_is_refused_and_not_kept() {
    let api = MockServer::start().await;
    let storage = MockServer::start().await;
    // `printf 'the report\n' | sha1sum`
    let recorded = "31d9d7413d95227306cacaf8f1ae644f2afd35ad";
    let id = "doc-1";
    Mock::given(method("GET"))
        .and(path(format!("/api/2/entities/{id}")))
        .respond_with(ok_json(
            json!({"id": id, "schema": "Pages",
                   "properties": {"fileName": ["report.txt"], "contentHash": [recorded]},
                   "links": {"file": format!("{}/api/2/archive/resolve?entity={id}&prop=contentHash", api.uri())}})
            .to_string(),
        ))
        .mount(&api)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/2/archive/resolve"))
        .respond_with(ok_json(
            json!({"url": format!("{}/bucket/report", storage.uri())}).to_string(),
        ))
        .mount(&api)
        .await;
    // Altered in storage: one byte differs.
    Mock::given(method("GET"))
        .and(path("/bucket/report"))
        .respond_with(ResponseTemplate::new(200).set_body_bytes(b"the rep0rt\n".to_vec()))
        .mount(&storage)
        .await;
    let aleph = openaleph(&api);
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("report.txt");
    let err = aleph
        .archive()
        .file(&hit(id), Rendition::Original)
        .save(&target)
        .await
        .unwrap_err();
    match &err {
        Error::Mismatch { expected, .. } => assert_eq!(expected.hex(), recorded),
        other => panic!("expected a mismatch, got {other:?}"),
    }
    assert!(std::fs::read_dir(dir.path()).unwrap().next().is_none());

    // The right bytes pass.
    storage.reset().await;
    Mock::given(method("GET"))
        .and(path("/bucket/report"))
        .respond_with(ResponseTemplate::new(200).set_body_bytes(b"the report\n".to_vec()))
        .mount(&storage)
        .await;
    let written = aleph
        .archive()
        .file(&hit(id), Rendition::Original)
        .save(&target)
        .await
        .unwrap();
    assert_eq!(written, 11);

    // A hash that is no SHA-1 digest is refused, not a file left unchecked.
    let mut odd = hit(id);
    odd.properties.insert(
        "contentHash".into(),
        vec![casefile::aleph::PropertyValue::Text("5b8e".into())],
    );
    let err = aleph
        .archive()
        .file(&odd, Rendition::Original)
        .send()
        .await
        .unwrap_err();
    crate::support::assert_invalid(&err, "entity");
}
