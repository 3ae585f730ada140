//! Getting evidence out (issue 17): a collection of 1,000 small documents in 10 folders fetched as a
//! directory tree from the sandbox, by casefile (`Collections::fetch_dir`, every file checked
//! against its `contentHash`) and by alephclient's `fetchdir`, side by side in one run: wall time
//! and the requests the server received.
//!
//! ```text
//! cargo bench --all-features --bench evidence [-- --documents N]
//! ```
//!
//! alephclient runs from the Python in `CASEFILE_PYTHON`, or `target/pyenv/bin/python` (which
//! `.ci/run` sets up with alephclient 2.7.0); without one the bench says so and prints casefile's
//! row alone.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use casefile::aleph::NewCollection;
use casefile::testkit::{Platform, Sandbox};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let documents = args
        .iter()
        .position(|a| a == "--documents")
        .and_then(|i| args.get(i + 1))
        .and_then(|n| n.parse().ok())
        .unwrap_or(1000usize);
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    if let Err(e) = runtime.block_on(run(documents)) {
        eprintln!("bench failed: {e}");
        std::process::exit(1);
    }
}

/// The Python that has alephclient, if any.
fn python() -> Option<PathBuf> {
    let candidate = std::env::var_os("CASEFILE_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("target/pyenv/bin/python"));
    let alephclient = candidate.with_file_name("alephclient");
    (candidate.exists() && alephclient.exists()).then_some(candidate)
}

/// The files under `dir`, counted (bounded: at most `limit` directories walked).
fn count_files(dir: &Path, limit: usize) -> usize {
    let mut stack = vec![dir.to_owned()];
    let mut files = 0;
    for _ in 0..limit {
        let Some(next) = stack.pop() else { break };
        let Ok(entries) = std::fs::read_dir(&next) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if !path.ends_with(".casefile-fetch.jsonl") {
                files += 1;
            }
        }
    }
    files
}

async fn run(documents: usize) -> Result<(), BoxError> {
    let sandbox = Sandbox::builder()
        .entities(&[1])
        .incidents(1)
        .attachments(1)
        .start()
        .await?;
    let aleph = sandbox.aleph()?;
    let collection = aleph
        .collections()
        .create(NewCollection::new("Bench tree").foreign_id("bench_tree"))
        .await?;
    let source = tempfile::tempdir()?;
    for i in 0..documents {
        let folder = source.path().join(format!("folder-{}", i % 10));
        std::fs::create_dir_all(&folder)?;
        std::fs::write(
            folder.join(format!("doc-{i:05}.txt")),
            format!("document {i}\n"),
        )?;
    }
    eprintln!("ingesting {documents} documents into the sandbox ...");
    let manifest = tempfile::tempdir()?;
    let ingested = aleph
        .collections()
        .ingest_dir(&collection.id, source.path())
        .manifest(manifest.path().join("ingest.jsonl"))
        .concurrency(8)
        .await?;
    if !ingested.is_complete() {
        return Err(format!("the ingest was incomplete: {ingested}").into());
    }

    let target = tempfile::tempdir()?;
    let before = sandbox.requests(Platform::Aleph);
    let started = Instant::now();
    let report = aleph
        .collections()
        .fetch_dir(&collection.id, target.path())
        .concurrency(8)
        .await?;
    let ours = started.elapsed().as_secs_f64();
    let our_requests = sandbox.requests(Platform::Aleph) - before;
    if !report.is_complete() || count_files(target.path(), 100) != documents {
        return Err(format!("casefile's fetch was incomplete: {report}").into());
    }

    println!(
        "\n| fetch a tree of {documents} small documents (10 folders) | wall | requests | files |"
    );
    println!("|---|---|---|---|");
    println!(
        "| casefile fetch_dir (concurrency 8, each file checked against its SHA-1) | {ours:.2} s | {our_requests} | {documents} |"
    );
    let Some(python) = python() else {
        println!(
            "| alephclient fetchdir | not run: no Python with alephclient (set CASEFILE_PYTHON, \
             or run .ci/run once) | | |"
        );
        return Ok(());
    };
    let theirs_dir = tempfile::tempdir()?;
    let before = sandbox.requests(Platform::Aleph);
    let started = Instant::now();
    // alephclient logs a line per file on stderr: kept, and shown only if it fails.
    let output = Command::new(python.with_file_name("alephclient"))
        .args(["--retries", "1", "fetchdir", "-f", "bench_tree", "-p"])
        .arg(theirs_dir.path())
        .env("ALEPHCLIENT_HOST", sandbox.aleph_url())
        .env("ALEPHCLIENT_API_KEY", sandbox.aleph_api_key())
        .output()?;
    let theirs = started.elapsed().as_secs_f64();
    let their_requests = sandbox.requests(Platform::Aleph) - before;
    let their_files = count_files(theirs_dir.path(), 100);
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        return Err(format!("alephclient fetchdir failed ({}): {stderr}", output.status).into());
    }
    println!(
        "| alephclient 2.7 fetchdir (one file at a time, unchecked) | {theirs:.2} s | {their_requests} | {their_files} |"
    );
    println!(
        "\ncasefile: {:.1}× the speed, {:.2}× the requests (the storage host's downloads are not \
         counted: they go to another origin)",
        theirs / ours,
        our_requests as f64 / their_requests.max(1) as f64
    );
    Ok(())
}
