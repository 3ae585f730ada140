//! Evidence is never silently lost (issue 14): file names that a real multipart parser reads as
//! files, downloads that land where they were told, `.part` files that do not outlive a failed
//! download, and directory ingest that does not block the runtime.
//!
//! The multipart bodies casefile sends are read by two parsers casefile does not share code
//! with: `multer` (axum's) and, when `CASEFILE_PYTHON` names a Python with werkzeug (the parser
//! Aleph runs on; `.ci/run` sets it up), werkzeug's `parse_form_data`.
#![cfg(all(feature = "atlos", feature = "aleph", feature = "atlas"))]

use std::collections::BTreeMap;
use std::process::{Command, Stdio};

use bytes::Bytes;
use casefile::aleph::{Client as Aleph, IngestMeta};
use casefile::{Error, Form, RetryPolicy, Upload};
use serde_json::{Value, json};
use wiremock::matchers::{method, path, path_regex};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

use crate::support::example;

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
            .multipart(Form::new().file(field, Upload::bytes("a.txt", "x")))
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
        .multipart(Form::new().file(
            "file",
            Upload::bytes("a.txt", "x").mime_type("text/plain\r\nX-Evil: 1"),
        ))
        .send_empty()
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidInput { .. }), "{err}");
    assert!(server.received_requests().await.unwrap().is_empty());
}

// ---------------------------------------------------------------------------------------------
// Downloads land where they were told.

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2000))]
    #[test]
    fn a_safe_file_name_is_one_plain_name_inside_its_directory(
        name in proptest::prop_oneof![
            proptest::prelude::any::<String>(),
            "[./\\\\ a-zA-Z:*?\"<>|\\x00-\\x1f\\u{202e}\\u{85}é東]{0,40}",
            "(con|PRN|aux|Nul|com[0-9¹]|LPT[1-9]|\\.\\.|\\.)( |\\.)?(\\.[a-z]{0,4})?",
            "[a-zé東]{150,400}(\\.[a-z]{1,8})?",
        ]
    ) {
        let safe = casefile::safe_file_name(&name);
        proptest::prop_assert!(!safe.is_empty());
        proptest::prop_assert!(safe.len() <= casefile::MAX_FILE_NAME_BYTES, "{} bytes", safe.len());
        proptest::prop_assert!(!safe.contains(['/', '\\', ':', '"', '<', '>', '|', '?', '*']), "{safe:?}");
        proptest::prop_assert!(!safe.chars().any(char::is_control), "{safe:?}");
        proptest::prop_assert!(!safe.starts_with('.'), "{safe:?}");
        proptest::prop_assert!(!safe.ends_with(['.', ' ']), "{safe:?}");
        let stem = safe.split('.').next().unwrap().trim_end().to_ascii_uppercase();
        let reserved = ["CON", "PRN", "AUX", "NUL"].contains(&stem.as_str())
            || (stem.len() == 4 && (stem.starts_with("COM") || stem.starts_with("LPT"))
                && stem.as_bytes()[3].is_ascii_digit());
        proptest::prop_assert!(!reserved, "{safe:?}");
        // Joined to a directory it is exactly one normal component inside it.
        let dir = std::path::Path::new("/srv/evidence");
        let joined = dir.join(&safe);
        proptest::prop_assert_eq!(joined.parent(), Some(dir));
        proptest::prop_assert_eq!(
            joined.strip_prefix(dir).unwrap().components().collect::<Vec<_>>(),
            vec![std::path::Component::Normal(std::ffi::OsStr::new(&safe))]
        );
        // Idempotent, and a name that is already plain is kept.
        proptest::prop_assert_eq!(casefile::safe_file_name(&safe), safe.clone());
    }

    #[test]
    fn a_plain_name_is_kept(name in "[a-zA-Z0-9_][a-zA-Z0-9 _()-]{0,60}[a-zA-Z0-9_)](\\.[a-z0-9]{1,5})?") {
        let upper = name.to_ascii_uppercase();
        let stem = upper.split('.').next().unwrap();
        proptest::prop_assume!(!["CON", "PRN", "AUX", "NUL"].contains(&stem));
        proptest::prop_assume!(!(stem.len() == 4 && (stem.starts_with("COM") || stem.starts_with("LPT"))));
        proptest::prop_assert_eq!(casefile::safe_file_name(&name), name);
    }
}

/// Names a hostile server gives its files.
const HOSTILE_DOWNLOAD_NAMES: &[&str] = &[
    "../../escaped.csv",
    "..",
    ".",
    "/tmp/absolute.csv",
    "sub/dir/nested.csv",
    "..\\..\\windows.csv",
    "C:\\Windows\\system.ini",
    "CON",
    "nul.csv",
    "line\r\nbreak.csv",
    ".bashrc",
    "trailing. . ",
    "",
];

/// The names of what a directory holds, recursively (relative, `/`-separated).
fn tree(dir: &std::path::Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            out.push(
                path.strip_prefix(dir)
                    .unwrap()
                    .to_string_lossy()
                    .replace('\\', "/"),
            );
            if path.is_dir() {
                stack.push(path);
            }
        }
    }
    out.sort();
    out
}

#[tokio::test]
async fn atlas_attachments_saved_under_server_names_stay_in_their_directory() {
    const ID: &str = "e52a9631-e38f-4e77-8c08-38001a80ad36";
    let api = MockServer::start().await;
    let storage = MockServer::start().await;
    let storage_uri = storage.uri();
    Mock::given(method("POST"))
        .and(path(format!("/api/v1/attachments/{ID}/export")))
        .respond_with(move |_: &Request| {
            ResponseTemplate::new(200)
                .set_body_json(json!({"presigned_url": format!("{storage_uri}/blob?sig=1")}))
        })
        .mount(&api)
        .await;
    Mock::given(method("GET"))
        .and(path("/blob"))
        .respond_with(ResponseTemplate::new(200).set_body_raw("a,b\n1,2\n", "text/csv"))
        .mount(&storage)
        .await;
    let atlas = casefile::atlas::Client::builder()
        .base_url(api.uri())
        .token("atlas-token")
        .retry(RetryPolicy::none())
        .build()
        .unwrap();
    // The target is a directory inside another, so that a file written one level up shows.
    let outer = tempfile::tempdir().unwrap();
    let target = outer.path().join("exports");
    std::fs::create_dir(&target).unwrap();
    let mut saved = Vec::new();
    for name in HOSTILE_DOWNLOAD_NAMES {
        let (path, bytes) = atlas
            .attachments()
            .download(ID)
            .save_in(&target, name)
            .await
            .unwrap_or_else(|e| panic!("{name:?}: {e}"));
        assert_eq!(bytes, 8);
        assert_eq!(path.parent(), Some(target.as_path()), "{name:?}");
        assert_eq!(std::fs::read(&path).unwrap(), b"a,b\n1,2\n", "{name:?}");
        saved.push(path.file_name().unwrap().to_string_lossy().into_owned());
    }
    // Nothing outside the target, nothing in a subfolder, no `.part` left; `/tmp/absolute.csv`
    // was not written either.
    let mut expected: Vec<String> = saved.iter().map(|n| format!("exports/{n}")).collect();
    expected.push("exports".into());
    expected.sort();
    expected.dedup();
    assert_eq!(tree(outer.path()), expected);
    assert!(saved.iter().all(|n| !n.ends_with(".part")));
}

#[tokio::test]
async fn an_aleph_archive_file_saved_under_a_server_name_stays_in_its_directory() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/2/archive"))
        .respond_with(ResponseTemplate::new(200).set_body_raw("%PDF-1.7", "application/pdf"))
        .mount(&server)
        .await;
    let outer = tempfile::tempdir().unwrap();
    let target = outer.path().join("evidence");
    std::fs::create_dir(&target).unwrap();
    let (path, bytes) = aleph(&server.uri())
        .archive()
        .download("signed-token")
        .save_in(&target, "../../../home/user/.ssh/authorized_keys")
        .await
        .unwrap();
    assert_eq!(bytes, 8);
    assert_eq!(path, target.join("_._.._.._home_user_.ssh_authorized_keys"));
    assert_eq!(
        tree(outer.path()),
        [
            "evidence",
            "evidence/_._.._.._home_user_.ssh_authorized_keys"
        ]
    );
}

// ---------------------------------------------------------------------------------------------
// `.part` files do not outlive a failed or abandoned download.

/// A server on 127.0.0.1 that answers every request with `head` and `body`, then either closes
/// the connection (`hold: false`) or keeps it open without sending more until the test ends.
async fn raw_server(head: &'static str, body: &'static [u8], hold: bool) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let mut held = Vec::new();
        for _ in 0..8 {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            let mut request = Vec::new();
            let mut buf = [0u8; 4096];
            while !request.windows(4).any(|w| w == b"\r\n\r\n") && request.len() < 65536 {
                match socket.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => request.extend_from_slice(&buf[..n]),
                }
            }
            let _ = socket.write_all(head.as_bytes()).await;
            let _ = socket.write_all(body).await;
            let _ = socket.flush().await;
            if hold {
                held.push(socket);
            }
        }
    });
    format!("http://{addr}")
}

#[tokio::test]
async fn a_download_that_breaks_off_leaves_no_part_file() {
    let uri = raw_server(
        "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\nContent-Type: text/plain\r\n\r\n",
        b"only the first bytes",
        false,
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("report.pdf");
    let err = aleph("http://127.0.0.1:9")
        .archive()
        .download_link(&format!("{uri}/bucket/report.pdf?X-Sig=1"))
        .save(&target)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Http(_) | Error::Io { .. }), "{err}");
    assert_eq!(tree(dir.path()), Vec::<String>::new(), "no file, no .part");
}

#[tokio::test]
async fn a_download_that_is_dropped_half_way_leaves_no_part_file() {
    let uri = raw_server(
        "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\nContent-Type: text/plain\r\n\r\n",
        b"the first bytes, then nothing",
        true,
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("report.pdf");
    let (started, mut arrived) = tokio::sync::mpsc::unbounded_channel();
    let download = aleph("http://127.0.0.1:9")
        .archive()
        .download_link(&format!("{uri}/bucket/report.pdf"))
        .progress(move |p| {
            if p.done > 0 {
                let _ = started.send(());
            }
        })
        .save(target.clone());
    let task = tokio::spawn(download);
    arrived.recv().await.expect("the first bytes arrive");
    // The first chunk is being written: the `.part` file exists now.
    for _ in 0..500 {
        if dir.path().join("report.pdf.part").exists() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert_eq!(tree(dir.path()), ["report.pdf.part"]);
    task.abort();
    assert!(task.await.unwrap_err().is_cancelled());
    // The removal runs on the blocking pool: wait for it, boundedly.
    for _ in 0..500 {
        if tree(dir.path()).is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert_eq!(
        tree(dir.path()),
        Vec::<String>::new(),
        "the .part file was removed"
    );
}

#[cfg(unix)]
#[tokio::test]
async fn a_part_file_planted_as_a_link_is_not_followed() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/2/archive"))
        .respond_with(ResponseTemplate::new(200).set_body_raw("downloaded", "text/plain"))
        .mount(&server)
        .await;
    let outside = tempfile::tempdir().unwrap();
    let victim = outside.path().join("victim.txt");
    std::fs::write(&victim, b"precious").unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(&victim, dir.path().join("file.txt.part")).unwrap();
    let bytes = aleph(&server.uri())
        .archive()
        .download("t")
        .save(dir.path().join("file.txt"))
        .await
        .unwrap();
    assert_eq!(bytes, 10);
    assert_eq!(std::fs::read(&victim).unwrap(), b"precious");
    assert_eq!(
        std::fs::read(dir.path().join("file.txt")).unwrap(),
        b"downloaded"
    );
    assert_eq!(tree(dir.path()), ["file.txt"]);
}

// ---------------------------------------------------------------------------------------------
// Directory ingest: every file recorded as uploaded went out as a file; no blocking file-system
// call on the runtime.

/// The `meta` field of an ingest request and whether a parser saw a file part in it.
fn ingest_parts(parts: &[SeenPart]) -> (Value, Option<SeenPart>) {
    let meta = parts
        .iter()
        .find(|p| p.field == "meta" && p.file_name.is_none())
        .map(|p| serde_json::from_slice(&p.content).unwrap())
        .unwrap_or(Value::Null);
    let file = parts.iter().find(|p| p.file_name.is_some()).cloned();
    (meta, file)
}

#[cfg(unix)]
#[tokio::test]
async fn ingest_dir_records_only_what_a_parser_read_as_a_file() {
    use std::os::unix::ffi::OsStrExt;
    let server = aleph_server().await;
    let root = tempfile::tempdir().unwrap();
    let names: &[&[u8]] = &[
        b"line\nfeed.txt",
        b"carriage\rreturn.txt",
        b"quote\".txt",
        b"semi;colon.txt",
        b"back\\slash.txt",
        b"plain.txt",
        // Two names that differ only in bytes that are not UTF-8: read, both are
        // `twin-\u{FFFD}.txt`, one foreign_id; neither may be recorded as uploaded.
        b"twin-\xff.txt",
        b"twin-\xfe.txt",
    ];
    std::fs::create_dir(root.path().join("sub\r\nfolder")).unwrap();
    for (i, name) in names.iter().enumerate() {
        let name = std::ffi::OsStr::from_bytes(name);
        std::fs::write(root.path().join(name), format!("content {i}")).unwrap();
        std::fs::write(
            root.path().join("sub\r\nfolder").join(name),
            format!("inner {i}"),
        )
        .unwrap();
    }
    let manifest = root.path().join("manifest.jsonl");
    let report = aleph(&server.uri())
        .collections()
        .ingest_dir("4", root.path())
        .manifest(&manifest)
        .concurrency(3)
        .await
        .unwrap();

    // The twins (at the top and in the subfolder) are failures, the rest went up.
    let mut failed: Vec<&str> = report.failed.iter().map(|f| f.path.as_str()).collect();
    failed.sort();
    assert_eq!(
        failed,
        [
            "sub\r\nfolder/twin-\u{FFFD}.txt",
            "sub\r\nfolder/twin-\u{FFFD}.txt",
            "twin-\u{FFFD}.txt",
            "twin-\u{FFFD}.txt",
        ],
        "{report}"
    );
    assert!(
        report.failed.iter().all(|f| f.reason.contains("UTF-8")),
        "{report:?}"
    );
    assert_eq!(report.uploaded, 12, "{report}");
    assert_eq!(report.folders_created, 1, "{report}");
    assert!(!report.is_complete());

    // Every request that uploaded a file carried a part that multer (and werkzeug) read as a
    // file with the file's content; the folder's request carried none.
    let python = python();
    let mut files_sent = BTreeMap::new();
    for req in server.received_requests().await.unwrap() {
        if req.method.as_str() != "POST" {
            continue;
        }
        let (meta, file) = ingest_parts(&multer_parts(&req).await);
        let foreign_id = meta["foreign_id"].as_str().unwrap().to_owned();
        if let Some(python) = &python {
            let (w_meta, w_file) = ingest_parts(&werkzeug_parts(python, &req));
            assert_eq!(w_meta, meta);
            assert_eq!(
                w_file.as_ref().map(|f| &f.content),
                file.as_ref().map(|f| &f.content)
            );
            if let Some(w_file) = &w_file {
                assert_eq!(w_file.file_name.as_deref(), meta["file_name"].as_str());
            }
        }
        match file {
            Some(file) => {
                assert_eq!(file.field, "file");
                files_sent.insert(foreign_id, String::from_utf8(file.content).unwrap());
            }
            None => assert_eq!(foreign_id, "sub\r\nfolder", "only the folder has no file"),
        }
    }
    assert_eq!(files_sent.len(), 12);
    assert_eq!(files_sent["line\nfeed.txt"], "content 0");
    assert_eq!(files_sent["sub\r\nfolder/quote\".txt"], "inner 2");

    // The manifest holds exactly the files that went up as files, and the folder.
    let recorded = casefile::aleph::read_manifest(&manifest).unwrap();
    let mut recorded_files: Vec<String> = recorded
        .entries
        .iter()
        .filter(|e| e.kind == casefile::aleph::EntryKind::File)
        .map(|e| e.path.clone())
        .collect();
    recorded_files.sort();
    assert_eq!(
        recorded_files,
        files_sent.keys().cloned().collect::<Vec<_>>()
    );
}

/// `ingest_dir` with a manifest that is a named pipe, on a single-threaded runtime: a task on
/// that runtime feeds the pipe. Reading the manifest on the runtime's own thread (a blocking
/// call in async code) would keep that task from ever running, and the run would never end.
#[cfg(unix)]
#[test]
fn ingest_dir_reads_its_manifest_off_the_runtime() {
    let (done, finished) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let outcome = runtime.block_on(async {
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            let server = aleph_server().await;
            let root = tempfile::tempdir().unwrap();
            std::fs::write(root.path().join("a.txt"), "evidence").unwrap();
            let place = tempfile::tempdir().unwrap();
            let fifo = place.path().join("manifest.jsonl");
            let c_path = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
            assert_eq!(unsafe { libc::mkfifo(c_path.as_ptr(), 0o600) }, 0);

            // One record of another collection goes in; then what the run records comes out.
            let fifo_in = fifo.clone();
            let feeder = tokio::spawn(async move {
                let mut pipe = tokio::fs::OpenOptions::new()
                    .write(true)
                    .open(&fifo_in)
                    .await
                    .unwrap();
                pipe.write_all(
                    b"{\"path\":\"x\",\"kind\":\"file\",\"collection\":\"99\",\"id\":\"1\"}\n",
                )
                .await
                .unwrap();
            });
            let fifo_out = fifo.clone();
            let collector = tokio::spawn(async move {
                feeder.await.unwrap();
                let mut pipe = tokio::fs::File::open(&fifo_out).await.unwrap();
                let mut out = String::new();
                pipe.read_to_string(&mut out).await.unwrap();
                out
            });
            tokio::task::yield_now().await;
            let report = aleph(&server.uri())
                .collections()
                .ingest_dir("4", root.path())
                .manifest(&fifo)
                .await
                .unwrap();
            (report, collector.await.unwrap())
        });
        let _ = done.send(outcome);
    });
    let (report, recorded) = finished
        .recv_timeout(std::time::Duration::from_secs(120))
        .expect("ingest_dir never finished: it blocked the runtime reading its manifest");
    assert!(report.is_complete(), "{report}");
    assert_eq!(report.uploaded, 1);
    assert!(recorded.contains("\"path\":\"a.txt\""), "{recorded}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn atlas_export_keeps_hostile_attachment_names_in_its_directory() {
    let names = [
        "../../escaped.csv",
        "/tmp/casefile-absolute.csv",
        "sub/dir/nested.csv",
        "CON",
        "..",
        "Report.csv",
        "report.csv",
        "line\r\nbreak.csv",
    ];
    let ids: Vec<String> = (0..names.len())
        .map(|i| format!("00000000-0000-4000-8000-{i:012}"))
        .collect();
    let api = MockServer::start().await;
    let storage = MockServer::start().await;
    let items: Vec<Value> = names
        .iter()
        .zip(&ids)
        .map(|(name, id)| {
            json!({
                "attachment_id": id, "attachment_name": name, "attachment_type": "csv",
                "attachment_created_at": "2026-01-12T16:06:42Z", "is_visible": true
            })
        })
        .collect();
    let count = items.len();
    Mock::given(method("GET"))
        .and(path("/api/v1/attachments"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"items": items, "count": count})),
        )
        .mount(&api)
        .await;
    let storage_uri = storage.uri();
    Mock::given(method("POST"))
        .and(path_regex(r"^/api/v1/attachments/[0-9a-f-]+/export$"))
        .respond_with(move |req: &Request| {
            let id = req.url.path().split('/').nth(4).unwrap().to_owned();
            ResponseTemplate::new(200)
                .set_body_json(json!({"presigned_url": format!("{storage_uri}/blob/{id}")}))
        })
        .mount(&api)
        .await;
    Mock::given(method("GET"))
        .and(path_regex(r"^/blob/"))
        .respond_with(|req: &Request| {
            let id = req.url.path().trim_start_matches("/blob/").to_owned();
            ResponseTemplate::new(200).set_body_raw(id, "text/csv")
        })
        .mount(&storage)
        .await;

    let outer = tempfile::tempdir().unwrap();
    let target = outer.path().join("exports");
    let mut command = Command::new(example("atlas_export"));
    for (var, _) in std::env::vars().filter(|(v, _)| v.starts_with("ATLAS_")) {
        command.env_remove(var);
    }
    command
        .args(["--download", target.to_str().unwrap()])
        .env("ATLAS_URL", api.uri())
        .env("ATLAS_TOKEN", "atlas-token");
    let output = tokio::task::spawn_blocking(move || command.output().unwrap())
        .await
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let manifest = format!("exports/{}", casefile::atlas::MANIFEST_FILE);
    let found: Vec<String> = tree(outer.path())
        .into_iter()
        .filter(|f| *f != manifest)
        .collect();
    // Every attachment has a file of its own directly in the target (the download manifest
    // aside), and nothing is elsewhere.
    assert_eq!(found.len(), names.len() + 1, "{found:?}");
    assert!(
        found
            .iter()
            .all(|f| f == "exports" || f.starts_with("exports/")),
        "{found:?}"
    );
    let mut contents: Vec<String> = found
        .iter()
        .filter(|f| *f != "exports")
        .map(|f| {
            assert!(!f["exports/".len()..].contains('/'), "{f}");
            std::fs::read_to_string(outer.path().join(f)).unwrap()
        })
        .collect();
    contents.sort();
    assert_eq!(contents, ids);
    assert!(!std::path::Path::new("/tmp/casefile-absolute.csv").exists());
    // The same on Windows and macOS: no device name, no two names that differ only in case.
    let saved: Vec<String> = found
        .iter()
        .filter_map(|f| f.strip_prefix("exports/"))
        .map(str::to_lowercase)
        .collect();
    let distinct: std::collections::BTreeSet<&String> = saved.iter().collect();
    assert_eq!(distinct.len(), saved.len(), "{saved:?}");
    assert!(
        saved.iter().all(|n| n.split('.').next() != Some("con")),
        "{saved:?}"
    );
}

#[tokio::test]
async fn an_upload_shorter_than_it_said_is_an_error_not_a_short_file() {
    let server = aleph_server().await;
    let chunks = vec![Ok(Bytes::from_static(b"only ten b"))];
    let upload = Upload::stream("short.bin", 100, futures::stream::iter(chunks));
    let err = aleph(&server.uri())
        .collections()
        .ingest("4", upload, IngestMeta::with_foreign_id("short.bin"))
        .send()
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Http(_) | Error::Io { .. }), "{err}");
    let text = format!("{err} {:?}", std::error::Error::source(&err));
    assert!(text.contains("10 of 100 bytes"), "{text}");
    assert!(
        server.received_requests().await.unwrap().is_empty(),
        "the server never got a whole request"
    );
}
