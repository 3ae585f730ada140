//! The task examples run as a user runs them: built binaries, configured through the environment,
//! against the sandbox servers running in this test process.
#![cfg(all(
    feature = "testkit",
    feature = "atlos",
    feature = "aleph",
    feature = "atlas"
))]

use std::collections::BTreeMap;
use std::io::Write;
use std::process::Output;

use casefile::testkit::{Platform, Sandbox};
use futures::TryStreamExt;
use serde_json::Value;

use crate::support::example_command as command;

const EXAMPLES: [&str; 5] = [
    "atlos_export",
    "atlas_export",
    "aleph_load",
    "aleph_stream",
    "aleph_crawl",
];

/// The settings of a platform's sandbox server, as a user would export them.
fn sandbox_env(sandbox: &Sandbox, name: &str) -> Vec<(&'static str, String)> {
    match name {
        n if n.starts_with("atlos_") => vec![
            ("ATLOS_URL", sandbox.atlos_url()),
            ("ATLOS_API_TOKEN", sandbox.atlos_token().into()),
        ],
        n if n.starts_with("atlas_") => vec![
            ("ATLAS_URL", sandbox.atlas_url()),
            ("ATLAS_USERNAME", sandbox.atlas_digest().0.into()),
            ("ATLAS_API_KEY", sandbox.atlas_digest().1.into()),
        ],
        _ => vec![
            ("ALEPH_URL", sandbox.aleph_url()),
            ("ALEPH_API_KEY", sandbox.aleph_api_key().into()),
        ],
    }
}

/// Runs an example against the sandbox (off the runtime's threads, so the servers keep
/// answering) and checks that it succeeded.
pub(crate) async fn run(sandbox: &Sandbox, name: &str, args: &[&str]) -> Output {
    let mut command = command(name);
    command.args(args).envs(sandbox_env(sandbox, name));
    let output = tokio::task::spawn_blocking(move || command.output().unwrap())
        .await
        .unwrap();
    assert!(
        output.status.success(),
        "{name} {args:?} failed: {}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn every_example_explains_itself_and_refuses_bad_arguments() {
    for name in EXAMPLES {
        let help = command(name).arg("--help").output().unwrap();
        assert!(help.status.success(), "{name} --help");
        let text = String::from_utf8(help.stdout).unwrap();
        assert!(text.contains(name), "{name}: {text}");
        assert!(
            text.to_lowercase().contains("exit status"),
            "{name}: {text}"
        );

        let bad = command(name).arg("--nonsense").output().unwrap();
        assert_eq!(bad.status.code(), Some(2), "{name} --nonsense");
        let said = stderr(&bad);
        assert!(said.contains("--nonsense"), "{name}: {said}");
        assert!(bad.stdout.is_empty(), "{name} wrote to stdout");
    }
    let bad = command("atlos_export")
        .args(["incidents", "--format", "xml"])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
    assert!(stderr(&bad).contains("unknown format `xml`"));
    let bad = command("atlos_export")
        .args(["updates", "--status", "To Do"])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
    assert!(stderr(&bad).contains("--status does not apply to updates"));
    // Missing credentials: a clear message, a hint and exit status 2, nothing sent.
    let unset = command("atlos_export").arg("incidents").output().unwrap();
    assert_eq!(unset.status.code(), Some(2));
    assert!(stderr(&unset).contains("ATLOS_API_TOKEN is not set"));
    assert!(stderr(&unset).contains("hint:"));
}

/// A minimal RFC 4180 reader: records of cells, quotes and line breaks inside quotes honoured.
fn read_csv(text: &str) -> Vec<Vec<String>> {
    let (mut records, mut record, mut cell) = (Vec::new(), Vec::new(), String::new());
    let mut chars = text.chars().peekable();
    let mut quoted = false;
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                cell.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => cell.push(c),
            (false, '"') => quoted = true,
            (false, ',') => record.push(std::mem::take(&mut cell)),
            (false, '\n') => {
                record.push(std::mem::take(&mut cell));
                records.push(std::mem::take(&mut record));
            }
            (false, c) => cell.push(c),
        }
    }
    assert!(
        !quoted && cell.is_empty() && record.is_empty(),
        "ragged end"
    );
    records
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn atlos_export_writes_json_lines_and_csv_from_the_sandbox() {
    let sandbox = Sandbox::builder().incidents(75).start().await.unwrap();
    let listed: Vec<casefile::atlos::Incident> = sandbox
        .atlos()
        .unwrap()
        .incidents()
        .list()
        .stream()
        .try_collect()
        .await
        .unwrap();
    let n = listed.len();
    assert!(n > 50);
    let jsonl = run(&sandbox, "atlos_export", &["incidents"]).await;
    let stdout = String::from_utf8(jsonl.stdout.clone()).unwrap();
    let incidents: Vec<casefile::atlos::Incident> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(incidents, listed);
    let said = stderr(&jsonl);
    assert!(said.contains(&format!("exported {n} incidents")), "{said}");

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("incidents.csv");
    let csv = run(
        &sandbox,
        "atlos_export",
        &[
            "incidents",
            "--format=csv",
            "--output",
            file.to_str().unwrap(),
        ],
    )
    .await;
    assert!(csv.stdout.is_empty(), "the CSV went to the file");
    assert!(!dir.path().join("incidents.csv.part").exists());
    let records = read_csv(&std::fs::read_to_string(&file).unwrap());
    assert_eq!(records.len(), 1 + n, "a header and a row per incident");
    let header = &records[0];
    let column = |name: &str| header.iter().position(|h| h == name).unwrap();
    let (slug, tags, status) = (column("slug"), column("attr_tags"), column("attr_status"));
    for (row, incident) in records[1..].iter().zip(&incidents) {
        assert_eq!(row.len(), header.len());
        assert_eq!(row[slug], incident.slug);
        assert_eq!(row[tags], incident.tags.join("; "));
        let expected = incident.status.as_ref().map(|s| s.to_string());
        assert_eq!(row[status], expected.unwrap_or_default());
    }

    let updates = run(&sandbox, "atlos_export", &["updates", "--format", "csv"]).await;
    let records = read_csv(&String::from_utf8(updates.stdout).unwrap());
    assert!(records.len() > 1);
    assert!(records.iter().all(|r| r.len() == records[0].len()));
}

/// The files of a directory and their contents, the download manifest left out.
fn files(dir: &std::path::Path) -> BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.file_name() != casefile::atlas::MANIFEST_FILE)
        .map(|e| {
            let name = e.file_name().into_string().unwrap();
            (name, std::fs::read(e.path()).unwrap())
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn atlas_export_resumes_an_interrupted_download() {
    let sandbox = Sandbox::builder().attachments(12).start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().to_str().unwrap();

    let before = sandbox.requests(Platform::Atlas);
    let first = run(&sandbox, "atlas_export", &["--download", target]).await;
    let first_requests = sandbox.requests(Platform::Atlas) - before;
    assert_eq!(
        String::from_utf8(first.stdout.clone())
            .unwrap()
            .lines()
            .count(),
        12
    );
    assert!(
        stderr(&first).contains("12 attachments: 12 downloaded"),
        "{}",
        stderr(&first)
    );
    let complete = files(dir.path());
    assert_eq!(complete.len(), 12);

    // An interrupted run: three files missing, one of them left half-written as `.part`.
    let names: Vec<&String> = complete.keys().collect();
    for name in &names[..3] {
        std::fs::remove_file(dir.path().join(name)).unwrap();
    }
    let mut partial = std::fs::File::create(dir.path().join(format!("{}.part", names[0]))).unwrap();
    partial.write_all(b"half of it").unwrap();
    drop(partial);

    let before = sandbox.requests(Platform::Atlas);
    let second = run(&sandbox, "atlas_export", &["--download", target]).await;
    let second_requests = sandbox.requests(Platform::Atlas) - before;
    assert!(
        stderr(&second).contains("12 attachments: 3 downloaded"),
        "{}",
        stderr(&second)
    );
    assert!(stderr(&second).contains("9 already complete"));
    assert_eq!(
        files(dir.path()),
        complete,
        "the same files, no `.part` left"
    );
    // The nine complete files cost neither an export nor a download.
    assert_eq!(first_requests - second_requests, 9 * 2);

    // --overwrite fetches everything again, checked against the digests of the first run.
    let third = run(
        &sandbox,
        "atlas_export",
        &["--download", target, "--overwrite"],
    )
    .await;
    assert!(
        stderr(&third).contains("12 downloaded"),
        "{}",
        stderr(&third)
    );
    assert_eq!(files(dir.path()), complete);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aleph_load_then_aleph_stream_through_the_sandbox() {
    let sandbox = Sandbox::builder().entities(&[10]).start().await.unwrap();
    let mut file = tempfile::NamedTempFile::new().unwrap();
    for i in 0..2500 {
        writeln!(
            file,
            r#"{{"id":"p-{i}","schema":"Person","properties":{{"name":["Person {i}"]}}}}"#
        )
        .unwrap();
    }
    file.flush().unwrap();
    let path = file.path().to_str().unwrap();
    let load = run(
        &sandbox,
        "aleph_load",
        &["examples-test", path, "--chunk-size", "1000"],
    )
    .await;
    let said = stderr(&load);
    assert!(
        said.contains("2500 entities written in 3 requests"),
        "{said}"
    );
    let id = said
        .split_whitespace()
        .skip_while(|w| *w != "collection")
        .nth(1)
        .unwrap()
        .to_owned();

    // Loading again finds the collection by its foreign id instead of creating another.
    let again = run(&sandbox, "aleph_load", &["examples-test", path]).await;
    assert!(stderr(&again).contains(&format!("collection {id} ")));

    let stream = run(&sandbox, "aleph_stream", &[&id, "--schema", "Person"]).await;
    let lines: Vec<Value> = String::from_utf8(stream.stdout.clone())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2500);
    assert!(lines.iter().all(|e| e["schema"] == "Person"));
    assert!(stderr(&stream).contains("2500 entities"));
}
