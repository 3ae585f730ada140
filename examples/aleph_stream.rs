//! Writes every entity of an Aleph collection to stdout, one JSON object a line.
//!
//! ```sh
//! ALEPH_URL=https://aleph.example.org ALEPH_API_KEY=... \
//!     cargo run --example aleph_stream -- <collection-id> [--schema Person]
//! ```
//!
//! A counter of the entities written runs on stderr when it is a terminal.

use std::io::Write;
use std::process::ExitCode;

use casefile::aleph::Client;
use futures::StreamExt;
use indicatif::{ProgressBar, ProgressStyle};

const USAGE: &str = "\
usage: aleph_stream <collection-id> [--schema SCHEMA]...

Writes every entity of the collection to stdout, one JSON object a line.
  --schema SCHEMA   only entities of this schema (repeatable), e.g. Person
  --help            this text
Environment: ALEPH_URL (or ALEPHCLIENT_HOST), ALEPH_API_KEY (or ALEPHCLIENT_API_KEY).
Exit status: 0 done, 1 the stream failed (the reason is printed), 2 bad arguments.";

#[tokio::main]
async fn main() -> ExitCode {
    let mut collection = None;
    let mut schemata = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--help" | "-h" => {
                println!("{USAGE}");
                return ExitCode::SUCCESS;
            }
            "--schema" => match args.next() {
                Some(schema) => schemata.push(schema),
                None => return usage("--schema needs a value"),
            },
            other if other.starts_with("--") => return usage(&format!("unknown option {other}")),
            other if collection.is_none() => collection = Some(other.to_owned()),
            other => return usage(&format!("unexpected argument {other}")),
        }
    }
    let Some(collection) = collection else {
        return usage("a collection id is required");
    };
    match run(&collection, schemata).await {
        Ok(count) => {
            eprintln!("{count} entities");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("aleph_stream: {e}");
            match e.downcast_ref::<casefile::Error>() {
                Some(casefile::Error::Config(_)) => ExitCode::from(2),
                _ => ExitCode::FAILURE,
            }
        }
    }
}

async fn run(collection: &str, schemata: Vec<String>) -> Result<u64, Box<dyn std::error::Error>> {
    let client = Client::from_env()?;
    let mut request = client.collections().stream_entities(collection);
    for schema in schemata {
        request = request.schema(schema);
    }
    let mut entities = request.stream();
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::with_capacity(64 * 1024, stdout.lock());
    let bar = ProgressBar::new_spinner();
    bar.set_style(
        ProgressStyle::with_template("{spinner} {pos} entities [{elapsed}] {per_sec}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    let mut count = 0u64;
    while let Some(entity) = entities.next().await {
        serde_json::to_writer(&mut out, &entity?)?;
        out.write_all(b"\n")?;
        count += 1;
        if count.is_multiple_of(1000) {
            bar.set_position(count);
        }
    }
    bar.finish_and_clear();
    out.flush()?;
    Ok(count)
}

fn usage(problem: &str) -> ExitCode {
    eprintln!("aleph_stream: {problem}\n\n{USAGE}");
    ExitCode::from(2)
}
