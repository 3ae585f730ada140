//! Secrets and capabilities stay put, and digest sessions recover (issue 14): against local
//! servers that redirect elsewhere, rotate nonces, refuse everything and answer from another
//! origin.
#![cfg(all(feature = "atlos", feature = "aleph", feature = "atlas"))]

use std::sync::atomic::Ordering;

use casefile::{Auth, Error, ErrorKind, HttpErrorKind, PageToken, RetryPolicy, Transport};
use serde_json::{Value, json};
use url::Url;
use wiremock::matchers::{any, method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

use crate::support::digest::{DigestGate, digest_server};

const KEY: &str = "ak-5ecret-aleph-key";
const TOKEN: &str = "tok-5ecret-archive-token";
const TERMS: &str = "secret-search-terms";

/// A server that records every request and answers 200.
async fn recorder() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(200).set_body_raw("evidence", "text/plain"))
        .mount(&server)
        .await;
    server
}

/// A port on 127.0.0.1 where nothing listens.
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

fn header_text(req: &Request) -> String {
    req.headers
        .iter()
        .map(|(k, v)| format!("{k}: {}\n", String::from_utf8_lossy(v.as_bytes())))
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Referer and credentials at a redirect target

#[tokio::test]
async fn a_redirect_target_gets_no_referer_and_no_credentials() {
    let target = recorder().await;
    let origin = MockServer::start().await;
    Mock::given(path("/api/2/archive"))
        .respond_with(
            ResponseTemplate::new(302)
                .insert_header("Location", format!("{}/blobs/evidence.bin", target.uri())),
        )
        .mount(&origin)
        .await;
    let api = Transport::builder(format!("{}/api/2/", origin.uri()))
        .auth(Auth::api_key(KEY))
        .retry(RetryPolicy::none())
        .build()
        .unwrap();
    let body = api
        .get(&["archive"])
        .query(&[("token", TOKEN), ("q", TERMS)])
        .send_bytes()
        .await
        .unwrap();
    assert_eq!(&body[..], b"evidence");

    // The origin got the credentials; the target (another port: another origin) got nothing.
    let at_origin = origin.received_requests().await.unwrap();
    assert!(header_text(&at_origin[0]).contains(KEY));
    let at_target = target.received_requests().await.unwrap();
    assert_eq!(at_target.len(), 1);
    let seen = header_text(&at_target[0]);
    assert!(at_target[0].headers.get("referer").is_none(), "{seen}");
    assert!(
        at_target[0].headers.get("authorization").is_none(),
        "{seen}"
    );
    for secret in [KEY, TOKEN, TERMS] {
        assert!(
            !seen.contains(secret),
            "{secret} reached the target: {seen}"
        );
    }
}

#[tokio::test]
async fn userinfo_credentials_do_not_follow_a_redirect_to_another_origin() {
    let target = recorder().await;
    let origin = MockServer::start().await;
    Mock::given(any())
        .respond_with(
            ResponseTemplate::new(307).insert_header("Location", format!("{}/x", target.uri())),
        )
        .mount(&origin)
        .await;
    let base = origin.uri().replace("http://", "http://user:pw-5ecret@");
    let api = Transport::builder(base)
        .retry(RetryPolicy::none())
        .build()
        .unwrap();
    api.get(&["search"])
        .query_param("q", TERMS)
        .send_bytes()
        .await
        .unwrap();
    let at_origin = origin.received_requests().await.unwrap();
    assert!(at_origin[0].headers.get("authorization").is_some());
    let at_target = target.received_requests().await.unwrap();
    let seen = header_text(&at_target[0]);
    assert!(
        at_target[0].headers.get("authorization").is_none(),
        "{seen}"
    );
    assert!(at_target[0].headers.get("referer").is_none(), "{seen}");
    assert!(!seen.contains(TERMS), "{seen}");
}

// ---------------------------------------------------------------------------------------------
// Redaction by rule

#[tokio::test]
async fn debug_of_clients_built_with_userinfo_shows_no_password() {
    let server = MockServer::start().await;
    let base = server.uri().replace("http://", "http://user:pw-5ecret@");
    let atlos = casefile::atlos::Client::builder()
        .base_url(&base)
        .token(TOKEN)
        .build()
        .unwrap();
    let aleph = casefile::aleph::Client::builder()
        .base_url(&base)
        .api_key(KEY)
        .build()
        .unwrap();
    let atlas = casefile::atlas::Client::builder()
        .base_url(&base)
        .digest("analyst", KEY);
    let atlas_builder = format!("{atlas:?}");
    let atlas = atlas.build().unwrap();
    let transport_builder = Transport::builder(format!("{base}/api/?q={TERMS}"));
    let shown = [
        format!("{atlos:?}"),
        format!("{aleph:?}"),
        format!("{atlas:?}"),
        atlas_builder,
        format!("{transport_builder:?}"),
        format!("{:?}", transport_builder.build().unwrap()),
    ];
    let port = server.address().port().to_string();
    for text in shown {
        for secret in ["pw-5ecret", "user:", "@", KEY, TOKEN, TERMS] {
            assert!(!text.contains(secret), "{secret} in {text}");
        }
        // Still useful: the host and port are there.
        assert!(text.contains(&format!("127.0.0.1:{port}")), "{text}");
    }
}

#[test]
fn configuration_errors_show_no_password() {
    for base in [
        "http://user:pw-5ecret@h.example.org/", // plain http to a remote host
        "http://user:pw-5ecret@h.example.org:99999/", // does not parse
        "ftp://user:pw-5ecret@h.example.org/?token=tok-5ecret", // not http(s)
    ] {
        let err = Transport::builder(base).build().unwrap_err();
        assert!(matches!(err, Error::Config(_)), "{err:?}");
        for text in [err.to_string(), format!("{err:?}")] {
            assert!(
                !text.contains("pw-5ecret") && !text.contains("tok-5ecret"),
                "{text}"
            );
            assert!(text.contains("h.example.org"), "{text}");
        }
    }
}

#[tokio::test]
async fn an_api_error_shows_query_names_not_values() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(404).set_body_json(json!({"status": "error", "message": "no"})),
        )
        .mount(&server)
        .await;
    let base = server.uri().replace("http://", "http://user:pw-5ecret@");
    let api = Transport::builder(base)
        .retry(RetryPolicy::none())
        .build()
        .unwrap();
    let err = api
        .get(&["entities"])
        .query(&[("q", "secret terms"), ("api_key", "k-5ecret")])
        .send::<Value>()
        .await
        .unwrap_err();
    let api_error = err.api().unwrap();
    assert_eq!(api_error.kind, ErrorKind::NotFound);
    for text in [err.to_string(), format!("{err:?}"), api_error.url.clone()] {
        for secret in ["secret", "terms", "k-5ecret", "pw-5ecret"] {
            assert!(!text.contains(secret), "{secret} in {text}");
        }
        assert!(text.contains("/entities?q=…&api_key=…"), "{text}");
    }
}

#[tokio::test]
async fn http_and_decode_errors_show_query_names_not_values() {
    // No answer at all.
    let port = closed_port();
    let api = Transport::builder(format!("http://user:pw-5ecret@127.0.0.1:{port}/"))
        .retry(RetryPolicy::none())
        .build()
        .unwrap();
    let err = api
        .get(&["search"])
        .query_param("q", TERMS)
        .send::<Value>()
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Http(h) if h.kind == HttpErrorKind::Connect),
        "{err:?}"
    );
    // An answer that does not decode.
    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"results": "nope"})))
        .mount(&server)
        .await;
    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Listing {
        results: Vec<Value>,
    }
    let decode = Transport::builder(server.uri())
        .build()
        .unwrap()
        .get(&["search"])
        .query_param("q", TERMS)
        .send::<Listing>()
        .await
        .unwrap_err();
    assert!(
        matches!(&decode, Error::Decode(d) if d.path == "results"),
        "{decode:?}"
    );
    for err in [err, decode] {
        for text in [err.to_string(), format!("{err:?}")] {
            assert!(
                !text.contains(TERMS) && !text.contains("pw-5ecret"),
                "{text}"
            );
            assert!(text.contains("/search?q=…"), "{text}");
        }
    }
}

#[test]
fn request_builders_and_page_tokens_show_query_names_not_values() {
    let api = Transport::builder("https://aleph.example.org/api/2/")
        .build()
        .unwrap();
    let request = api
        .get(&["entities"])
        .query_param("q", TERMS)
        .query_param("offset", "20");
    let next = PageToken::NextUrl(
        Url::parse(&format!(
            "https://aleph.example.org/api/2/entities?q={TERMS}&offset=20&X-Sig=s1"
        ))
        .unwrap(),
    );
    for text in [
        format!("{request:?}"),
        next.to_string(),
        format!("{next:?}"),
    ] {
        assert!(!text.contains(TERMS) && !text.contains("20"), "{text}");
        assert!(text.contains("/api/2/entities?q=…&offset=…"), "{text}");
    }
    assert!(!next.to_string().contains("s1"));
}

#[cfg(feature = "tracing")]
#[tokio::test]
async fn tracing_records_no_query_value() {
    use crate::tracing::Captured;
    use tracing_subscriber::fmt::format::FmtSpan;
    use tracing_subscriber::util::SubscriberInitExt;

    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(
            ResponseTemplate::new(503).set_body_json(json!({"status": "error", "message": "busy"})),
        )
        .mount(&server)
        .await;
    let captured = Captured::default();
    let writer = captured.clone();
    let guard = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_span_events(FmtSpan::FULL)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish()
        .set_default();
    let base = server.uri().replace("http://", "http://user:pw-5ecret@");
    let api = Transport::builder(base)
        .retry(
            RetryPolicy::default()
                .max_retries(1)
                .base_delay(std::time::Duration::from_millis(1))
                .max_delay(std::time::Duration::from_millis(2)),
        )
        .build()
        .unwrap();
    let err = api
        .get(&["entities"])
        .query(&[("q", TERMS), ("token", TOKEN)])
        .send::<Value>()
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(503));
    // A presigned download on another host, failing too.
    let storage = format!("http://127.0.0.1:{}/b/f.pdf?X-Sig={TOKEN}", closed_port());
    api.get_external(Url::parse(&storage).unwrap())
        .send_bytes()
        .await
        .unwrap_err();
    drop(guard);

    let text = captured.text();
    // The capture did record the failures, with the error text.
    assert!(
        text.contains("request failed") && text.contains("retrying"),
        "{text}"
    );
    assert!(text.contains("q=…"), "{text}");
    for secret in [TERMS, TOKEN, "pw-5ecret"] {
        assert!(!text.contains(secret), "{secret} in {text}");
    }
}

// ---------------------------------------------------------------------------------------------
// Plain-http capabilities

#[tokio::test]
async fn a_plain_http_presigned_url_to_a_remote_host_is_refused_before_sending() {
    let api = Transport::builder("https://atlas.example.org/api/v1/")
        .build()
        .unwrap();
    let err = api
        .get_external(Url::parse("http://storage.example.org/b/f.pdf?X-Sig=s1").unwrap())
        .send_bytes()
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::InvalidInput { argument: "url", reason } if reason.contains("http://")),
        "{err:?}"
    );
    assert!(!err.to_string().contains("s1"));

    // Through the platforms: an Atlas export and an Aleph `links.file` handing out http://.
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"presigned_url": "http://storage.example.org/atlas/t.csv?sig=s1"}),
        ))
        .mount(&server)
        .await;
    let atlas = casefile::atlas::Client::builder()
        .base_url(server.uri())
        .token(TOKEN)
        .build()
        .unwrap();
    let err = atlas
        .attachments()
        .download("e52a9631-e38f-4e77-8c08-38001a80ad36")
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidInput { .. }), "{err:?}");
    let aleph = casefile::aleph::Client::builder()
        .base_url(server.uri())
        .api_key(KEY)
        .build()
        .unwrap();
    let err = aleph
        .archive()
        .download_link("http://storage.example.org/f.pdf?sig=s1")
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidInput { .. }), "{err:?}");

    // Loopback plain http is still fine (a local storage server in development).
    let storage = recorder().await;
    let body = api
        .get_external(Url::parse(&format!("{}/f.pdf?X-Sig=s1", storage.uri())).unwrap())
        .send_bytes()
        .await
        .unwrap();
    assert_eq!(&body[..], b"evidence");
}

// ---------------------------------------------------------------------------------------------
// Digest that recovers

fn digest_client(server: &MockServer) -> Transport {
    Transport::builder(format!("{}/api/v1/", server.uri()))
        .auth(Auth::digest(DigestGate::USER, DigestGate::KEY))
        .retry(RetryPolicy::none())
        .build()
        .unwrap()
}

async fn ok_server() -> (MockServer, std::sync::Arc<DigestGate>) {
    digest_server(|_, _| ResponseTemplate::new(200).set_body_json(json!({"ok": true}))).await
}

#[tokio::test]
async fn a_nonce_rotated_without_stale_is_answered_once() {
    let (server, gate) = ok_server().await;
    let api = digest_client(&server);
    let _: Value = api.get(&["a"]).send().await.unwrap();
    assert_eq!(gate.requests(), 2, "the challenge and the signed request");

    // The server forgets the nonce: the old one is refused without `stale=true`.
    gate.rotate_silently("rotated-1/+A==");
    let v: Value = api.get(&["a"]).send().await.unwrap();
    assert_eq!(v["ok"], true);
    assert_eq!(
        gate.requests(),
        4,
        "the refused old nonce, then the new one"
    );
    let _: Value = api.get(&["a"]).send().await.unwrap();
    assert_eq!(gate.requests(), 5, "the new nonce is kept");
    assert_eq!(gate.stale_answers.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn a_server_that_always_refuses_is_an_error_and_then_never_a_stuck_client() {
    let (server, gate) = ok_server().await;
    let api = digest_client(&server);
    let _: Value = api.get(&["a"]).send().await.unwrap();
    assert_eq!(gate.requests(), 2);

    // Every request refused, with a fresh nonce each time: one rotation answered, then the error.
    gate.refuse_all.store(true, Ordering::SeqCst);
    let err = api.get(&["a"]).send::<Value>().await.unwrap_err();
    assert_eq!(
        err.api().map(|a| a.kind),
        Some(ErrorKind::Unauthorized),
        "{err:?}"
    );
    assert_eq!(
        gate.requests(),
        4,
        "the signed request and one answer to the new nonce"
    );
    // From a fresh client: the challenge, the signed request, one answer to the new nonce.
    let fresh = digest_client(&server);
    fresh.get(&["a"]).send::<Value>().await.unwrap_err();
    assert_eq!(gate.requests(), 7);

    // Server fixed, with yet another nonce: both clients authenticate again.
    gate.refuse_all.store(false, Ordering::SeqCst);
    for (i, client) in [&api, &fresh].into_iter().enumerate() {
        gate.rotate_silently(&format!("fixed-{i}"));
        let v: Value = client.get(&["a"]).send().await.unwrap();
        assert_eq!(v["ok"], true);
    }
    assert_eq!(gate.authorized.load(Ordering::SeqCst), 3);
    assert_eq!(gate.leaked.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn a_challenge_from_a_redirect_target_does_not_replace_the_session() {
    // Another origin (another port on 127.0.0.1) that answers with its own digest challenge,
    // marked stale so that a client taking it would sign its next requests with it.
    let elsewhere = MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(401).insert_header(
            "WWW-Authenticate",
            r#"Digest realm="elsewhere", nonce="foreign-nonce", qop="auth", algorithm=MD5, stale=true"#,
        ))
        .mount(&elsewhere)
        .await;
    let target = format!("{}/collect", elsewhere.uri());
    let (server, gate) = digest_server(move |req: &Request, _: &DigestGate| {
        if req.url.path().ends_with("/moved") {
            ResponseTemplate::new(302).insert_header("Location", target.as_str())
        } else {
            ResponseTemplate::new(200).set_body_json(json!({"ok": true}))
        }
    })
    .await;
    let api = digest_client(&server);
    let _: Value = api.get(&["a"]).send().await.unwrap();
    assert_eq!(gate.requests(), 2);

    let err = api.get(&["moved"]).send::<Value>().await.unwrap_err();
    assert_eq!(err.status(), Some(401), "{err:?}");
    let at_elsewhere = elsewhere.received_requests().await.unwrap();
    assert_eq!(
        at_elsewhere.len(),
        1,
        "the foreign challenge is not answered"
    );
    let seen = header_text(&at_elsewhere[0]);
    assert!(
        at_elsewhere[0].headers.get("authorization").is_none(),
        "{seen}"
    );
    assert!(
        !seen.contains(DigestGate::USER) && !seen.contains(DigestGate::KEY),
        "{seen}"
    );

    // The session still signs with the configured origin's nonce: one request per call.
    let before = gate.requests();
    let _: Value = api.get(&["a"]).send().await.unwrap();
    assert_eq!(gate.requests(), before + 1);
}

// ---------------------------------------------------------------------------------------------
// A refused argument does not echo a capability

#[tokio::test]
async fn a_refused_archive_url_does_not_echo_its_query_values() {
    let server = recorder().await;
    let atlos = casefile::atlos::Client::builder()
        .base_url(server.uri())
        .token("tok")
        .retry(RetryPolicy::none())
        .build()
        .unwrap();
    let err = atlos
        .incidents()
        .create(
            "Shelling near a school",
            [casefile::atlos::Sensitivity::NotSensitive],
        )
        .url(format!("ftp://files/{TOKEN}?sig={TOKEN}"))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::InvalidInput {
                argument: "url",
                ..
            }
        ),
        "{err:?}"
    );
    let shown = format!("{err} {err:?}");
    assert!(shown.contains("sig="), "the query name stays: {shown}");
    assert!(!shown.contains(&format!("sig={TOKEN}")), "{shown}");
    assert!(server.received_requests().await.unwrap().is_empty());
}

// ---------------------------------------------------------------------------------------------
// Signed URLs in models are capabilities

#[tokio::test]
async fn signed_urls_stay_out_of_debug_and_errors() {
    let server = MockServer::start().await;
    // A URL that does not parse (a space in the host) and carries a signature.
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(
                json!({"presigned_url": format!("https://bad host/f.csv?sig={TOKEN}")}),
            ),
        )
        .mount(&server)
        .await;
    let atlas = crate::support::atlas::client(&server);
    let id = "e52a9631-e38f-4e77-8c08-38001a80ad36";
    let export = atlas.attachments().export(id).await.unwrap();
    let shown = format!("{export:?}");
    // It does not even parse, so its whole query is elided.
    assert!(
        shown.contains("f.csv?…") && !shown.contains(TOKEN),
        "{shown}"
    );
    assert_eq!(
        export
            .presigned_url
            .as_ref()
            .map(|u| u.expose().ends_with(TOKEN)),
        Some(true)
    );
    let err = atlas.attachments().download(id).await.unwrap_err();
    let shown = format!("{err} {err:?}");
    assert!(
        matches!(&err, Error::Decode(d) if d.path == "presigned_url"),
        "{shown}"
    );
    assert!(!shown.contains(TOKEN), "{shown}");

    // An Atlos artifact's access_url, decoded from a real-shaped answer.
    let artifact: casefile::atlos::Artifact = serde_json::from_value(json!({
        "id": "2e0c3d1c-6a4f-4b8e-9a51-6f0b1f3c2d11",
        "access_url": format!("https://storage.example.org/a.mp4?X-Amz-Signature={TOKEN}")
    }))
    .unwrap();
    let shown = format!("{artifact:?}");
    assert!(!shown.contains(TOKEN), "{shown}");
    assert!(shown.contains("X-Amz-Signature=…"), "{shown}");
}

#[test]
fn aleph_archive_links_stay_out_of_debug() {
    let entity: casefile::aleph::Entity = serde_json::from_value(json!({
        "id": "doc-1",
        "schema": "Document",
        "properties": {"fileName": ["memo.txt"]},
        "links": {"file": format!("https://aleph.example.org/api/2/archive?claim=x&token={TOKEN}")}
    }))
    .unwrap();
    let shown = format!("{entity:?}");
    assert!(!shown.contains(TOKEN), "{shown}");
    assert!(shown.contains("/api/2/archive?claim=…&token=…"), "{shown}");
    assert!(entity.links["file"].expose().ends_with(TOKEN));
}
