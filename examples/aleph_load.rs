//! Loads a JSON-lines file of FollowTheMoney entities into the Aleph collection with a given
//! foreign id, creating the collection if there is none.
//!
//! ```sh
//! ALEPH_URL=https://aleph.example.org ALEPH_API_KEY=... \
//!     cargo run --example aleph_load -- leak_2026 entities.jsonl --chunk-size 1000 --concurrency 4
//! ```
//!
//! A progress bar of the entities written runs on stderr when it is a terminal.

use std::process::ExitCode;

use casefile::aleph::{Client, Entity, NewCollection};
use futures::Stream;
use indicatif::{ProgressBar, ProgressStyle};
use tokio::io::AsyncBufReadExt;

const USAGE: &str = "\
usage: aleph_load <foreign-id> <entities.jsonl> [--chunk-size N] [--concurrency N]

Gets the collection with this foreign id, or creates it (labelled with the foreign id), and
writes every entity of the file (one JSON object a line) into it. Prints the collection id and
the counts on stderr.
  --chunk-size N    entities per request (default 1000)
  --concurrency N   requests in flight at once (default 4)
  --help            this text
Environment: ALEPH_URL (or ALEPHCLIENT_HOST), ALEPH_API_KEY (or ALEPHCLIENT_API_KEY).
Exit status: 0 loaded, 1 the load failed (what was not written is printed), 2 bad arguments.";

struct Args {
    foreign_id: String,
    file: String,
    chunk_size: usize,
    concurrency: usize,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = match parse(std::env::args().skip(1)) {
        Ok(Some(args)) => args,
        Ok(None) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(problem) => {
            eprintln!("aleph_load: {problem}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match run(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("aleph_load: {e}");
            match e.downcast_ref::<casefile::Error>() {
                Some(casefile::Error::Config(_)) => ExitCode::from(2),
                _ => ExitCode::FAILURE,
            }
        }
    }
}

fn parse(mut args: impl Iterator<Item = String>) -> Result<Option<Args>, String> {
    let mut positional = Vec::new();
    let (mut chunk_size, mut concurrency) = (1000, 4);
    while let Some(arg) = args.next() {
        let mut number = |name: &str| -> Result<usize, String> {
            let value = args.next().ok_or(format!("{name} needs a value"))?;
            match value.parse::<usize>() {
                Ok(n) if n > 0 => Ok(n),
                _ => Err(format!("{name} must be a positive number, not `{value}`")),
            }
        };
        match arg.as_str() {
            "--help" | "-h" => return Ok(None),
            "--chunk-size" => chunk_size = number("--chunk-size")?,
            "--concurrency" => concurrency = number("--concurrency")?,
            other if other.starts_with("--") => return Err(format!("unknown option {other}")),
            _ => positional.push(arg),
        }
    }
    let [foreign_id, file]: [String; 2] = positional
        .try_into()
        .map_err(|_| "a foreign id and a file are required".to_owned())?;
    Ok(Some(Args {
        foreign_id,
        file,
        chunk_size,
        concurrency,
    }))
}

async fn run(args: Args) -> Result<(), Box<dyn std::error::Error>> {
    let client = Client::from_env()?;
    let collection = client
        .collections()
        .get_or_create(NewCollection::new(&args.foreign_id).foreign_id(&args.foreign_id))
        .await?;
    eprintln!("collection {} ({})", collection.id, collection.label);
    let file = tokio::fs::File::open(&args.file)
        .await
        .map_err(|e| format!("cannot open {}: {e}", args.file))?;
    let bar = entities_bar(&args.file).await;
    let progress = bar.clone();
    let report = client
        .collections()
        .bulk_stream(&collection.id, read_entities(file, args.file.clone()))
        .chunk_size(args.chunk_size)
        .concurrency(args.concurrency)
        .progress(move |p| progress.set_position(p.done))
        .await;
    bar.finish_and_clear();
    let report = report?;
    eprintln!(
        "collection {}: {} entities written in {} requests ({} retried)",
        collection.id, report.entities, report.chunks, report.retries
    );
    Ok(())
}

/// A bar of the entities written, its length the file's non-blank lines (drawn only when
/// stderr is a terminal).
async fn entities_bar(file: &str) -> ProgressBar {
    let lines = tokio::fs::read(file)
        .await
        .map(|bytes| {
            bytes
                .split(|b| *b == b'\n')
                .filter(|l| l.iter().any(|b| !b.is_ascii_whitespace()))
                .count()
        })
        .unwrap_or(0);
    let bar = ProgressBar::new(lines as u64);
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} entities [{elapsed}<{eta}] {per_sec}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar
}

/// The entities of a JSON-lines file, read as they are needed.
fn read_entities(
    file: tokio::fs::File,
    name: String,
) -> impl Stream<Item = casefile::Result<Entity>> + Send + 'static {
    let lines = tokio::io::BufReader::with_capacity(256 * 1024, file).lines();
    futures::stream::unfold((lines, 0u64), move |(mut lines, mut number)| {
        let name = name.clone();
        async move {
            loop {
                number += 1;
                let line = match lines.next_line().await {
                    Ok(Some(line)) => line,
                    Ok(None) => return None,
                    Err(e) => {
                        let error = casefile::Error::Io {
                            context: format!("cannot read {name}"),
                            source: e,
                        };
                        return Some((Err(error), (lines, number)));
                    }
                };
                if line.trim().is_empty() {
                    continue;
                }
                let entity =
                    serde_json::from_str::<Entity>(&line).map_err(|e| casefile::Error::Io {
                        context: format!("{name} line {number}"),
                        source: std::io::Error::new(std::io::ErrorKind::InvalidData, e),
                    });
                return Some((entity, (lines, number)));
            }
        }
    })
}
