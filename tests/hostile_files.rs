//! Evidence is never silently lost (issue 14): file names that a real multipart parser reads as
//! files, downloads that land where they were told, `.part` files that do not outlive a failed
//! download, and directory ingest that does not block the runtime.
//!
//! The multipart bodies casefile sends are read by two parsers casefile does not share code
//! with: `multer` (axum's) and, when `CASEFILE_PYTHON` names a Python with werkzeug (the parser
//! Aleph runs on; `.ci/run` sets it up), werkzeug's `parse_form_data`.
#![cfg(all(feature = "atlos", feature = "aleph", feature = "atlas"))]

use std::process::{Command, Stdio};

use bytes::Bytes;
use casefile::aleph::{Client as Aleph, IngestMeta};
use casefile::{Error, RetryPolicy, Upload};
use serde_json::{Value, json};
use wiremock::matchers::{method, path, path_regex};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const KEY: &str = "aleph-key-5e3c";

fn aleph(uri: &str) -> Aleph {
    Aleph::builder()
        .base_url(uri)
        .api_key(KEY)
        .retry(RetryPolicy::none())
        .build()
        .unwrap()
}

/// An Aleph that accepts every ingest as Aleph does (`201 {"status":"ok","id":…}`, see
/// `aleph/views/ingest_api.py`), and answers a collection.
async fn aleph_server() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path_regex(r"^/api/2/collections/[0-9]+/ingest$"))
        .respond_with(|req: &Request| {
            let n = req.body.len();
            ResponseTemplate::new(201)
                .set_body_json(json!({"status": "ok", "id": format!("{n}.sig")}))
        })
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/2/collections/4"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"id": "4", "label": "Leak", "collection_id": "4"})),
        )
        .mount(&server)
        .await;
    server
}

/// One part as a parser saw it.
#[derive(Debug, Clone, PartialEq)]
struct SeenPart {
    field: String,
    /// `Some` when the parser read the part as a file.
    file_name: Option<String>,
    content: Vec<u8>,
}

fn content_type(req: &Request) -> String {
    req.headers
        .get("content-type")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned()
}

/// The parts of a request's multipart body, as `multer` reads them.
async fn multer_parts(req: &Request) -> Vec<SeenPart> {
    let boundary = multer::parse_boundary(content_type(req)).unwrap();
    let body = Bytes::from(req.body.clone());
    let stream = futures::stream::once(async move { Ok::<_, std::convert::Infallible>(body) });
    let mut form = multer::Multipart::new(stream, boundary);
    let mut parts = Vec::new();
    for _ in 0..16 {
        let Some(field) = form.next_field().await.unwrap() else {
            return parts;
        };
        let field_name = field.name().unwrap_or_default().to_owned();
        let file_name = field.file_name().map(str::to_owned);
        let content = field.bytes().await.unwrap().to_vec();
        parts.push(SeenPart {
            field: field_name,
            file_name,
            content,
        });
    }
    panic!("more than 16 parts");
}

/// werkzeug's reading of a multipart body (the parser behind Aleph's `request.files`).
const WERKZEUG: &str = r#"
import io, json, sys
from werkzeug.formparser import parse_form_data
body = sys.stdin.buffer.read()
environ = {"REQUEST_METHOD": "POST", "CONTENT_TYPE": sys.argv[1],
           "CONTENT_LENGTH": str(len(body)), "wsgi.input": io.BytesIO(body)}
_, form, files = parse_form_data(environ)
parts = [{"field": k, "file_name": None, "content": v.encode().hex()} for k, v in form.items(multi=True)]
parts += [{"field": k, "file_name": f.filename, "content": f.read().hex()} for k, f in files.items(multi=True)]
print(json.dumps(parts))
"#;

/// The Python interpreter with werkzeug, from `CASEFILE_PYTHON`; `None` (and a note on stderr)
/// where it is not set up, so that `cargo test` passes on a fresh machine; `.ci/run` sets it.
fn python() -> Option<String> {
    match std::env::var("CASEFILE_PYTHON") {
        Ok(python) if !python.is_empty() => Some(python),
        _ => {
            eprintln!(
                "werkzeug check skipped: CASEFILE_PYTHON is not set (.ci/run sets it up: \
                 python3 -m venv target/pyenv && target/pyenv/bin/pip install werkzeug==3.1.9, \
                 then CASEFILE_PYTHON=target/pyenv/bin/python)"
            );
            None
        }
    }
}

/// The parts of a request's multipart body, as werkzeug reads them.
fn werkzeug_parts(python: &str, req: &Request) -> Vec<SeenPart> {
    let mut child = Command::new(python)
        .arg("-c")
        .arg(WERKZEUG)
        .arg(content_type(req))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("CASEFILE_PYTHON={python} does not run: {e}"));
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(&req.body).unwrap();
    }
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "werkzeug failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let parts: Vec<Value> = serde_json::from_slice(&output.stdout).unwrap();
    parts
        .into_iter()
        .map(|p| SeenPart {
            field: p["field"].as_str().unwrap().to_owned(),
            file_name: p["file_name"].as_str().map(str::to_owned),
            content: hex(p["content"].as_str().unwrap()),
        })
        .collect()
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// What a parser that reads only `filename="…"` must see: the name with every control
/// character, `"` and `\` made `_` (an empty name is sent as `upload`).
fn plain_fallback(name: &str) -> String {
    if name.is_empty() {
        return "upload".into();
    }
    name.chars()
        .map(|c| {
            if c.is_control() || c == '"' || c == '\\' {
                '_'
            } else {
                c
            }
        })
        .collect()
}

fn hostile_names() -> Vec<String> {
    let mut names: Vec<String> = [
        "plain.pdf",
        "carriage\rreturn.txt",
        "line\nfeed.txt",
        "header\r\nContent-Type: text/html\r\n\r\ninjected",
        "quote\"d.pdf",
        "semi;colon=1.txt",
        "back\\slash.txt",
        "nul\0byte.bin",
        "tab\tand\x7fdel\u{85}nel.txt",
        "per%22cent%0A.txt",
        "Protokoll München ¶ 東京.pdf",
        "",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    // 1,000 bytes, partly multi-byte, with a line break in the middle.
    let long = format!("{}\r\n{}.pdf", "ä".repeat(249), "x".repeat(496));
    assert_eq!(long.len(), 1000);
    names.push(long);
    names
}

/// Checks that `parts` hold the `meta` field and exactly one file part with `content`, under
/// `file_name`.
fn assert_one_file(parser: &str, parts: &[SeenPart], file_name: &str, content: &[u8], meta: &str) {
    let files: Vec<&SeenPart> = parts.iter().filter(|p| p.file_name.is_some()).collect();
    assert_eq!(
        files.len(),
        1,
        "{parser} saw no single file part: {parts:?}"
    );
    assert_eq!(files[0].field, "file", "{parser}");
    assert_eq!(
        files[0].file_name.as_deref(),
        Some(file_name),
        "{parser}: file name"
    );
    assert_eq!(files[0].content, content, "{parser}: content");
    let metas: Vec<&SeenPart> = parts.iter().filter(|p| p.field == "meta").collect();
    assert_eq!(metas.len(), 1, "{parser}: {parts:?}");
    assert_eq!(metas[0].file_name, None, "{parser}: meta is a plain field");
    assert_eq!(String::from_utf8_lossy(&metas[0].content), meta, "{parser}");
}

#[tokio::test]
async fn hostile_file_names_reach_multer_and_werkzeug_as_files() {
    let server = aleph_server().await;
    let client = aleph(&server.uri());
    let names = hostile_names();
    for (i, name) in names.iter().enumerate() {
        let content = format!("evidence #{i}\r\n--not-a-boundary\r\n").into_bytes();
        let meta = IngestMeta {
            file_name: Some(name.clone()),
            foreign_id: Some(format!("doc-{i}")),
            ..IngestMeta::default()
        };
        client
            .collections()
            .ingest(
                "4",
                Upload::bytes(name.clone(), content.clone()),
                meta.clone(),
            )
            .send()
            .await
            .unwrap_or_else(|e| panic!("{name:?}: {e}"));
    }
    let requests = server.received_requests().await.unwrap();
    assert_eq!(requests.len(), names.len());
    let python = python();
    for (i, (name, req)) in names.iter().zip(&requests).enumerate() {
        let content = format!("evidence #{i}\r\n--not-a-boundary\r\n").into_bytes();
        let meta = serde_json::to_string(&IngestMeta {
            file_name: Some(name.clone()),
            foreign_id: Some(format!("doc-{i}")),
            ..IngestMeta::default()
        })
        .unwrap();
        let length: usize = req.headers["content-length"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(length, req.body.len(), "{name:?}: Content-Length");
        let by_multer = multer_parts(req).await;
        assert_one_file("multer", &by_multer, &plain_fallback(name), &content, &meta);
        if let Some(python) = &python {
            let by_werkzeug = werkzeug_parts(python, req);
            // werkzeug prefers `filename*`: it gets the exact name back.
            let exact = if name.is_empty() { "upload" } else { name };
            assert_one_file("werkzeug", &by_werkzeug, exact, &content, &meta);
        }
    }
}

#[cfg(unix)]
#[tokio::test]
async fn a_path_that_is_not_utf8_is_uploaded_as_a_file_to_atlos() {
    use std::os::unix::ffi::OsStrExt;
    let server = MockServer::start().await;
    let body = std::fs::read_to_string(format!(
        "{}/tests/fixtures/atlos/set_metadata.json",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(body, "application/json"))
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir
        .path()
        .join(std::ffi::OsStr::from_bytes(b"clip-\xff\xfe-\r\n.mp4"));
    std::fs::write(&file, b"frames").unwrap();
    let atlos = casefile::atlos::Client::builder()
        .base_url(server.uri())
        .token("atlos-token")
        .retry(RetryPolicy::none())
        .build()
        .unwrap();
    atlos
        .source_material()
        .upload("9a5e5b1e-3f0f-4a1b-9d1c-5f1d2a3b4c5d", Upload::path(&file))
        .title("clip")
        .await
        .unwrap();
    let requests = server.received_requests().await.unwrap();
    assert_eq!(requests.len(), 1);
    let readable = "clip-\u{FFFD}\u{FFFD}-\r\n.mp4";
    let by_multer = multer_parts(&requests[0]).await;
    let expected = vec![
        SeenPart {
            field: "title".into(),
            file_name: None,
            content: b"clip".to_vec(),
        },
        SeenPart {
            field: "file".into(),
            file_name: Some("clip-\u{FFFD}\u{FFFD}-__.mp4".into()),
            content: b"frames".to_vec(),
        },
    ];
    assert_eq!(by_multer, expected);
    if let Some(python) = python() {
        let by_werkzeug = werkzeug_parts(&python, &requests[0]);
        let files: Vec<_> = by_werkzeug
            .iter()
            .filter(|p| p.file_name.is_some())
            .collect();
        assert_eq!(files.len(), 1, "{by_werkzeug:?}");
        assert_eq!(files[0].file_name.as_deref(), Some(readable));
        assert_eq!(files[0].content, b"frames");
    }
}

#[tokio::test]
async fn a_form_field_name_that_needs_escaping_is_refused_before_sending() {
    let server = MockServer::start().await;
    let transport = casefile::Transport::builder(server.uri())
        .retry(RetryPolicy::none())
        .build()
        .unwrap();
    for field in ["fi\"le", "fi\r\nle", ""] {
        let err = transport
            .post(&["upload"])
            .multipart(Vec::new(), field, Some(Upload::bytes("a.txt", "x")))
            .send_empty()
            .await
            .unwrap_err();
        assert!(
            matches!(err, Error::InvalidInput { .. }),
            "{field:?}: {err}"
        );
    }
    let err = transport
        .post(&["upload"])
        .multipart(
            Vec::new(),
            "file",
            Some(Upload::bytes("a.txt", "x").mime_type("text/plain\r\nX-Evil: 1")),
        )
        .send_empty()
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidInput { .. }), "{err}");
    assert!(server.received_requests().await.unwrap().is_empty());
}
