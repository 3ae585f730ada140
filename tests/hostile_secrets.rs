//! Secrets and capabilities stay put, and digest sessions recover (issue 14): against local
//! servers that redirect elsewhere, rotate nonces, refuse everything and answer from another
//! origin.
#![cfg(all(feature = "atlos", feature = "aleph", feature = "atlas"))]

use casefile::{Error, ErrorKind, HttpErrorKind, PageToken, RetryPolicy, Transport};
use serde_json::{Value, json};
use url::Url;
use wiremock::matchers::{any, method};
use wiremock::{Mock, MockServer, ResponseTemplate};

const KEY: &str = "ak-5ecret-aleph-key";
const TOKEN: &str = "tok-5ecret-archive-token";
const TERMS: &str = "secret-search-terms";

/// A port on 127.0.0.1 where nothing listens.
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
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
    for text in [format!("{request:?}"), next.to_string()] {
        assert!(!text.contains(TERMS) && !text.contains("20"), "{text}");
        assert!(text.contains("/api/2/entities?q=…&offset=…"), "{text}");
    }
    assert!(!next.to_string().contains("s1"));
}

#[cfg(feature = "tracing")]
#[tokio::test]
async fn tracing_records_no_query_value() {
    use std::io::Write;
    use std::sync::{Arc, Mutex};
    use tracing_subscriber::fmt::format::FmtSpan;
    use tracing_subscriber::util::SubscriberInitExt;

    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);
    impl Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

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

    let text = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
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
