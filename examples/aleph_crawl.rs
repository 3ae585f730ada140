//! Ingests a directory tree into the Aleph collection with a given foreign id (created if there
//! is none), resumably: with `--manifest`, a second run uploads only new or changed files, and a
//! run that was interrupted continues where it stopped.
//!
//! ```sh
//! ALEPH_URL=https://aleph.example.org ALEPH_API_KEY=... \
//!     cargo run --example aleph_crawl -- leak_2026 /data/leak --manifest leak.jsonl --language eng
//! ```
//!
//! The exit status is 0 only when every file and folder is in Aleph.

use std::io::Write;
use std::process::ExitCode;

use casefile::aleph::{Client, CrawlEvent, CrawlProgress, NewCollection};
use indicatif::{ProgressBar, ProgressStyle};

const USAGE: &str = "\
usage: aleph_crawl <foreign-id> <dir> [--manifest F] [--concurrency N] [--language L]...
                   [--retries N] [--no-index] [--follow-symlinks] [--include-junk]

Gets the collection with this foreign id, or creates it (labelled with the foreign id), and
uploads the directory into it: one folder per directory, every file into its folder. Progress
goes to stderr; the report (and every failed path with its reason) to stdout.
  --manifest F       record accepted paths in F (JSON lines) and skip what it lists as unchanged
  --concurrency N    uploads in flight at once (default 4)
  --language L       language hint for the documents (ISO 639, repeatable)
  --retries N        times one upload is sent again after a transient failure (default 4)
  --no-index         do not index the documents after processing
  --follow-symlinks  follow symbolic links that stay inside the directory
  --include-junk     also upload .DS_Store, Thumbs.db, ~$ lock files and the like
  --help             this text
Exit status: 0 when the run was complete, 1 when anything failed, 2 for a usage error.
Environment: ALEPH_URL (or ALEPHCLIENT_HOST), ALEPH_API_KEY (or ALEPHCLIENT_API_KEY).";

#[derive(Debug)]
struct Args {
    foreign_id: String,
    dir: String,
    manifest: Option<String>,
    concurrency: usize,
    languages: Vec<String>,
    retries: u32,
    index: bool,
    follow_symlinks: bool,
    include_junk: bool,
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
            eprintln!("aleph_crawl: {problem}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match run(args).await {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("aleph_crawl: {e}");
            ExitCode::FAILURE
        }
    }
}

fn parse(mut args: impl Iterator<Item = String>) -> Result<Option<Args>, String> {
    let mut positional = Vec::new();
    let mut parsed = Args {
        foreign_id: String::new(),
        dir: String::new(),
        manifest: None,
        concurrency: 4,
        languages: Vec::new(),
        retries: 4,
        index: true,
        follow_symlinks: false,
        include_junk: false,
    };
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().ok_or(format!("{name} needs a value"));
        let number = |name: &str, value: String| match value.parse::<usize>() {
            Ok(n) => Ok(n),
            _ => Err(format!("{name} must be a number, not `{value}`")),
        };
        match arg.as_str() {
            "--help" | "-h" => return Ok(None),
            "--manifest" => parsed.manifest = Some(value("--manifest")?),
            "--concurrency" => {
                parsed.concurrency = number("--concurrency", value("--concurrency")?)?;
                if parsed.concurrency == 0 {
                    return Err("--concurrency must be at least 1".into());
                }
            }
            "--retries" => {
                let n = number("--retries", value("--retries")?)?;
                parsed.retries = u32::try_from(n).map_err(|_| "--retries is too large")?;
            }
            "--language" | "-l" => parsed.languages.push(value("--language")?),
            "--no-index" => parsed.index = false,
            "--follow-symlinks" => parsed.follow_symlinks = true,
            "--include-junk" => parsed.include_junk = true,
            other if other.starts_with("--") => return Err(format!("unknown option {other}")),
            _ => positional.push(arg),
        }
    }
    let [foreign_id, dir]: [String; 2] = positional
        .try_into()
        .map_err(|_| "a foreign id and a directory are required".to_owned())?;
    parsed.foreign_id = foreign_id;
    parsed.dir = dir;
    Ok(Some(parsed))
}

async fn run(args: Args) -> Result<bool, Box<dyn std::error::Error>> {
    let client = Client::from_env()?;
    let collection = client
        .collections()
        .get_or_create(NewCollection::new(&args.foreign_id).foreign_id(&args.foreign_id))
        .await?;
    eprintln!("collection {} ({})", collection.id, collection.label);
    if args.manifest.is_none() {
        eprintln!("no --manifest: a second run will upload every file again");
    }
    let bar = bytes_bar();
    let shown = bar.clone();
    let mut crawl = client
        .collections()
        .ingest_dir(&collection.id, &args.dir)
        .concurrency(args.concurrency)
        .languages(args.languages)
        .retry(
            client
                .transport()
                .retry_policy()
                .clone()
                .max_retries(args.retries),
        )
        .follow_symlinks(args.follow_symlinks)
        .skip_junk(!args.include_junk)
        .progress(move |event, progress| show(&shown, event, progress));
    if !args.index {
        crawl = crawl.index(false);
    }
    if let Some(manifest) = &args.manifest {
        crawl = crawl.manifest(manifest);
    }
    let report = crawl.await;
    bar.finish_and_clear();
    let report = report?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "{report}")?;
    for failure in &report.failed {
        writeln!(
            out,
            "FAILED {} ({} attempts): {}",
            failure.path, failure.attempts, failure.reason
        )?;
    }
    for passed in &report.passed_over {
        writeln!(out, "passed over {}: {}", passed.path, passed.reason)?;
    }
    Ok(report.is_complete())
}

/// A bar of the bytes uploaded, with the files done and failed beside it (drawn only when stderr
/// is a terminal).
fn bytes_bar() -> ProgressBar {
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template(
            "{bar:40} {bytes}/{total_bytes} [{elapsed}<{eta}] {bytes_per_sec} {msg}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar
}

/// Moves the bar; retries and failures get a line of their own above it.
fn show(bar: &ProgressBar, event: &CrawlEvent, p: CrawlProgress) {
    match event {
        CrawlEvent::Retrying {
            path,
            attempt,
            wait,
            error,
        } => bar.println(format!(
            "retrying {path} in {wait:.1?} (attempt {attempt} failed: {error})"
        )),
        CrawlEvent::Failed { path, reason } => bar.println(format!("failed {path}: {reason}")),
        _ => {}
    }
    bar.set_length(p.bytes_total);
    bar.set_position(p.bytes_done);
    bar.set_message(format!(
        "{}/{} files, {} failed",
        p.files_done, p.files_total, p.failed
    ));
}
