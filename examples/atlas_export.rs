//! Lists Atlas attachments, one per line, and optionally downloads each file; a download that
//! was interrupted is resumed by running the same command again.
//!
//! ```sh
//! ATLAS_URL=https://atlas.example.org ATLAS_USERNAME=analyst ATLAS_API_KEY=… \
//!     cargo run --example atlas_export -- --type csv --download exports/
//! ```
//!
//! Each line is `id<TAB>type<TAB>created_at<TAB>name<TAB>title`. With `--download DIR` the
//! listing's files are saved into DIR by `ListAttachments::download_all`: under names made safe
//! by `casefile::safe_file_name` (renamed, and recorded, where two would clash), through `.part`
//! files, checked against the storage host's length, and recorded with their SHA-256 in the
//! manifest `DIR/.casefile-atlas.jsonl`. A second run fetches only what is missing or altered
//! locally, and checks each file it fetches again against the digest recorded the first time.
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use casefile::atlas::{Client, DownloadReport, ListAttachments};
use casefile::{Error, ErrorKind};
use futures::TryStreamExt;
use indicatif::{ProgressBar, ProgressStyle};

const HELP: &str = "\
atlas_export: list Atlas attachments, one per line, and optionally download them

USAGE:
    atlas_export [--type T] [--session ID] [--download DIR [--overwrite]]

OPTIONS:
    --type T          only attachments of file type T (pdf, csv, bin, png, ...)
    --session ID      only attachments of session ID
    --download DIR    save each attachment's file into DIR; files already complete there
                      (from an earlier, perhaps interrupted, run) are skipped
    --overwrite       download every file again, checking each against the SHA-256
                      recorded when it was first saved
    -h, --help        print this help

ENVIRONMENT:
    ATLAS_URL                          the instance root, e.g. https://atlas.example.org
    ATLAS_TOKEN                        a Bearer token, or
    ATLAS_USERNAME + ATLAS_API_KEY     HTTP Digest credentials

OUTPUT:
    id<TAB>type<TAB>created_at<TAB>name<TAB>title, one line per attachment, on stdout;
    progress bars (on a terminal) and a summary on stderr

EXIT STATUS:
    0 done, 1 a request or a download failed (the reasons are printed; run again to resume),
    2 bad arguments or settings";

#[derive(Debug, Default)]
struct Args {
    attachment_type: Option<String>,
    session: Option<String>,
    download: Option<PathBuf>,
    overwrite: bool,
}

fn parse_args(mut it: impl Iterator<Item = String>) -> Result<Option<Args>, String> {
    let mut args = Args::default();
    while let Some(arg) = it.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((flag, value)) if arg.starts_with("--") => (flag.to_owned(), Some(value.into())),
            _ => (arg.clone(), None),
        };
        let mut value = |name: &str| {
            inline
                .clone()
                .or_else(|| it.next())
                .ok_or_else(|| format!("{name} needs a value"))
        };
        match flag.as_str() {
            "-h" | "--help" => return Ok(None),
            "--type" => args.attachment_type = Some(value("--type")?),
            "--session" => args.session = Some(value("--session")?),
            "--download" => args.download = Some(PathBuf::from(value("--download")?)),
            "--overwrite" => args.overwrite = true,
            other => return Err(format!("unknown argument `{other}`")),
        }
    }
    if args.overwrite && args.download.is_none() {
        return Err("--overwrite needs --download DIR".into());
    }
    Ok(Some(args))
}

/// The listing with the filters of `args`.
fn listing(atlas: &Client, args: &Args) -> ListAttachments {
    let mut list = atlas.attachments().list();
    if let Some(t) = &args.attachment_type {
        list = list.attachment_type(t.as_str());
    }
    if let Some(session) = &args.session {
        list = list.session_id(session);
    }
    list
}

/// Prints the listing, one line per attachment, and gives how many there were.
async fn print(list: ListAttachments) -> casefile::Result<u64> {
    let mut listed = 0;
    let mut stream = list.stream();
    while let Some(a) = stream.try_next().await? {
        listed += 1;
        let id = a.attachment_id.map(|id| id.to_string()).unwrap_or_default();
        println!(
            "{id}\t{}\t{}\t{}\t{}",
            a.attachment_type,
            a.attachment_created_at.to_rfc3339(),
            a.attachment_name,
            a.attachment_title.as_deref().unwrap_or("")
        );
    }
    Ok(listed)
}

/// Downloads the listing into `dir`, with a bar of the attachments done on stderr.
async fn download(
    list: ListAttachments,
    dir: PathBuf,
    overwrite: bool,
) -> casefile::Result<DownloadReport> {
    let bar = ProgressBar::new_spinner();
    bar.set_style(
        ProgressStyle::with_template("{spinner} {pos}/{len} attachments [{elapsed}]")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.enable_steady_tick(Duration::from_millis(200));
    let progress = bar.clone();
    let report = list
        .download_all(dir)
        .recheck(overwrite)
        .progress(move |p| {
            if let Some(total) = p.total {
                progress.set_length(total);
            }
            progress.set_position(p.done);
        })
        .await;
    bar.finish_and_clear();
    report
}

/// A hint for the errors a user can fix.
fn hint(e: &Error) -> Option<&'static str> {
    match e {
        Error::Config(_) => {
            Some("set ATLAS_URL, and ATLAS_TOKEN or ATLAS_USERNAME + ATLAS_API_KEY")
        }
        _ => match e.api().map(|api| &api.kind) {
            Some(ErrorKind::Unauthorized | ErrorKind::Forbidden) => {
                Some("Atlas refused the credentials, or they lack access to these attachments")
            }
            _ => None,
        },
    }
}

async fn run(args: Args) -> casefile::Result<Option<DownloadReport>> {
    let atlas = Client::from_env()?;
    let listed = print(listing(&atlas, &args)).await?;
    match args.download.clone() {
        Some(dir) => Ok(Some(
            download(listing(&atlas, &args), dir, args.overwrite).await?,
        )),
        None => {
            eprintln!("{listed} attachments");
            Ok(None)
        }
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = match parse_args(std::env::args().skip(1)) {
        Ok(Some(args)) => args,
        Ok(None) => {
            println!("{HELP}");
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("atlas_export: {message}\n(see atlas_export --help)");
            return ExitCode::from(2);
        }
    };
    match run(args).await {
        Ok(None) => ExitCode::SUCCESS,
        Ok(Some(report)) => {
            for renamed in &report.renamed {
                eprintln!("saved {:?} as {}", renamed.name, renamed.file);
            }
            for failure in &report.failed {
                eprintln!("failed {:?}: {}", failure.name, failure.reason);
            }
            eprintln!(
                "{} attachments: {} downloaded ({} bytes), {} already complete, {} failed",
                report.listed,
                report.fetched,
                report.bytes,
                report.unchanged,
                report.failed.len()
            );
            if report.is_complete() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        }
        Err(e) => {
            eprintln!("atlas_export: {e}");
            if let Some(hint) = hint(&e) {
                eprintln!("hint: {hint}");
            }
            ExitCode::from(if matches!(e, Error::Config(_)) { 2 } else { 1 })
        }
    }
}
