//! Exports an Atlos project as JSON lines: one object per line on stdout (the typed model
//! serialized back), progress and a summary on stderr.
//!
//! ```sh
//! export ATLOS_URL=https://platform.atlos.org ATLOS_API_TOKEN=...
//! cargo run --example atlos_export -- incidents [--status S]... [--query Q] > incidents.jsonl
//! cargo run --example atlos_export -- source-material > source_material.jsonl
//! cargo run --example atlos_export -- updates [--slug SLUG] > updates.jsonl
//! ```

use std::io::{self, Write};
use std::process::ExitCode;
use std::time::Instant;

use casefile::atlos::Client;
use casefile::{Pages, Result};
use futures::TryStreamExt;
use serde::Serialize;

const HELP: &str = "\
atlos_export: export an Atlos project as JSON lines (one object per line on stdout)

USAGE:
    atlos_export incidents [--status S]... [--query Q]
    atlos_export source-material
    atlos_export updates [--slug SLUG]
    atlos_export --help

OPTIONS:
    --status S    only incidents with this status (repeatable: any of them),
                  e.g. \"To Do\", \"In Progress\", \"Completed\"
    --query Q     full-text search in the incidents
    --slug SLUG   only the updates of this incident (AD12H4 or CIV-AD12H4)

ENVIRONMENT:
    ATLOS_URL        the Atlos instance (default https://platform.atlos.org)
    ATLOS_API_TOKEN  a project API token (required)

Progress and a summary go to stderr.";

/// What to export, read from the command line.
enum Command {
    Incidents {
        statuses: Vec<String>,
        query: Option<String>,
    },
    SourceMaterial,
    Updates {
        slug: Option<String>,
    },
}

fn parse(args: &[String]) -> std::result::Result<Option<Command>, String> {
    if args.is_empty() || args.iter().any(|a| a == "--help" || a == "-h") {
        return Ok(None);
    }
    let mut rest = args[1..].iter();
    let mut options = Vec::new();
    while let Some(flag) = rest.next() {
        let value = rest.next().ok_or_else(|| format!("{flag} needs a value"))?;
        options.push((flag.as_str(), value.clone()));
    }
    let unknown = |flag: &str| Err(format!("unknown option `{flag}` for {}", args[0]));
    match args[0].as_str() {
        "incidents" => {
            let (mut statuses, mut query) = (Vec::new(), None);
            for (flag, value) in options {
                match flag {
                    "--status" => statuses.push(value),
                    "--query" => query = Some(value),
                    other => return unknown(other),
                }
            }
            Ok(Some(Command::Incidents { statuses, query }))
        }
        "source-material" => match options.first() {
            None => Ok(Some(Command::SourceMaterial)),
            Some((flag, _)) => unknown(flag),
        },
        "updates" => {
            let mut slug = None;
            for (flag, value) in options {
                match flag {
                    "--slug" => slug = Some(value),
                    other => return unknown(other),
                }
            }
            Ok(Some(Command::Updates { slug }))
        }
        other => Err(format!("unknown command `{other}`")),
    }
}

/// Writes every item of `pages` as one JSON line; returns how many were written.
async fn export<T: Serialize + Send + 'static>(what: &str, mut pages: Pages<T>) -> Result<u64> {
    let stdout = io::stdout();
    let mut out = io::BufWriter::new(stdout.lock());
    let mut count = 0u64;
    let mut page_number = 0u64;
    while let Some(page) = pages.try_next().await? {
        page_number += 1;
        for item in &page.items {
            let line = serde_json::to_string(item)
                .map_err(|e| casefile::Error::Config(format!("cannot serialize: {e}")))?;
            let written = writeln!(out, "{line}");
            if let Err(e) = written {
                if e.kind() == io::ErrorKind::BrokenPipe {
                    return Ok(count);
                }
                return Err(casefile::Error::Config(format!("cannot write stdout: {e}")));
            }
            count += 1;
        }
        eprintln!("page {page_number}: {count} {what} so far");
    }
    if let Err(e) = out.flush()
        && e.kind() != io::ErrorKind::BrokenPipe
    {
        return Err(casefile::Error::Config(format!("cannot write stdout: {e}")));
    }
    Ok(count)
}

async fn run(command: Command) -> Result<(&'static str, u64)> {
    let atlos = Client::from_env()?;
    Ok(match command {
        Command::Incidents { statuses, query } => {
            let mut list = atlos
                .incidents()
                .list()
                .statuses(statuses.iter().map(String::as_str));
            if let Some(query) = query {
                list = list.query(query);
            }
            ("incidents", export("incidents", list.pages()).await?)
        }
        Command::SourceMaterial => {
            let pages = atlos.source_material().list().pages();
            (
                "pieces of source material",
                export("pieces of source material", pages).await?,
            )
        }
        Command::Updates { slug } => {
            let mut list = atlos.updates().list();
            if let Some(slug) = slug {
                list = list.slug(slug);
            }
            ("updates", export("updates", list.pages()).await?)
        }
    })
}

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let command = match parse(&args) {
        Ok(Some(command)) => command,
        Ok(None) => {
            println!("{HELP}");
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("error: {message}\n\n{HELP}");
            return ExitCode::from(2);
        }
    };
    let started = Instant::now();
    match run(command).await {
        Ok((what, count)) => {
            eprintln!(
                "exported {count} {what} in {:.1} s",
                started.elapsed().as_secs_f64()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
