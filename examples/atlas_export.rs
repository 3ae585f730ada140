//! Lists Atlas attachments, one per line, and optionally downloads each file; a download that
//! was interrupted is resumed by running the same command again.
//!
//! ```sh
//! ATLAS_URL=https://atlas.example.org ATLAS_USERNAME=analyst ATLAS_API_KEY=… \
//!     cargo run --example atlas_export -- --type csv --download exports/
//! ```
//!
//! Each line is `id<TAB>type<TAB>created_at<TAB>name<TAB>title`. With `--download DIR` every
//! file is exported (a presigned URL) and saved into DIR under its own name, made safe by
//! `casefile::safe_file_name` (a name from the server never leads outside DIR). A file is written
//! to `NAME.part`, flushed to disk and renamed to `NAME` only once all its bytes (the
//! `Content-Length` the storage host announced) arrived, so a file under its final name is
//! complete: a second run skips it without asking Atlas for it again, and fetches only what is
//! missing. Resuming works file by file: a download that fails removes its `.part` file, and one
//! left by a killed run is discarded and fetched again from the start.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use casefile::atlas::{Attachment, Client};
use casefile::{Error, ErrorKind};
use futures::TryStreamExt;
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};

const HELP: &str = "\
atlas_export: list Atlas attachments, one per line, and optionally download them

USAGE:
    atlas_export [--type T] [--session ID] [--download DIR [--overwrite]]

OPTIONS:
    --type T          only attachments of file type T (pdf, csv, bin, png, ...)
    --session ID      only attachments of session ID
    --download DIR    save each attachment's file into DIR; files already complete there
                      (from an earlier, perhaps interrupted, run) are skipped
    --overwrite       download every file again, even when it is already complete
    -h, --help        print this help

ENVIRONMENT:
    ATLAS_URL                          the instance root, e.g. https://atlas.example.org
    ATLAS_TOKEN                        a Bearer token, or
    ATLAS_USERNAME + ATLAS_API_KEY     HTTP Digest credentials

OUTPUT:
    id<TAB>type<TAB>created_at<TAB>name<TAB>title, one line per attachment, on stdout;
    progress bars (on a terminal) and a summary on stderr

EXIT STATUS:
    0 done, 1 a request or a download failed (the reason is printed; run again to resume),
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

/// A file name that stays inside the download directory (see `casefile::safe_file_name`: the
/// server's name may hold `../`, an absolute path, `CON` or line breaks), the same on every run.
/// Names are compared without regard to case, so two attachments never share one file on a
/// case-insensitive file system; the second of a name gets its id in front.
fn file_name(attachment: &Attachment, used: &mut HashSet<String>) -> String {
    let id = attachment
        .attachment_id
        .map(|id| id.to_string())
        .unwrap_or_else(|| "attachment".into());
    let mut name = casefile::safe_file_name(&attachment.attachment_name);
    if !used.insert(name.to_lowercase()) {
        name = casefile::safe_file_name(&format!("{id}-{}", attachment.attachment_name));
        used.insert(name.to_lowercase());
    }
    name
}

/// What a run did.
#[derive(Debug, Default)]
struct Summary {
    listed: u64,
    downloaded: u64,
    bytes: u64,
    complete: u64,
}

/// The two bars on stderr: attachments done, and the bytes of the current file.
struct Bars {
    multi: MultiProgress,
    files: ProgressBar,
    bytes: Option<ProgressBar>,
}

impl Bars {
    fn new(downloading: bool) -> Bars {
        let multi = MultiProgress::new();
        let style = |template: &str| {
            ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_bar())
        };
        let files = multi.add(ProgressBar::new_spinner());
        files.set_style(style("{spinner} {pos}/{len} attachments [{elapsed}] {msg}"));
        files.enable_steady_tick(Duration::from_millis(200));
        let bytes = downloading.then(|| {
            let bar = multi.add(ProgressBar::new(0));
            bar.set_style(style(
                "  {bar:30} {bytes}/{total_bytes} {bytes_per_sec} {wide_msg}",
            ));
            bar
        });
        Bars {
            multi,
            files,
            bytes,
        }
    }

    /// Prints a line on stderr without tearing the bars.
    fn say(&self, line: &str) {
        self.multi.suspend(|| eprintln!("{line}"));
    }

    fn finish(&self) {
        self.files.finish_and_clear();
        if let Some(bytes) = &self.bytes {
            bytes.finish_and_clear();
        }
    }
}

async fn run(args: Args) -> casefile::Result<Summary> {
    let atlas = Client::from_env()?;
    let mut list = atlas.attachments().list();
    if let Some(t) = &args.attachment_type {
        list = list.attachment_type(t.as_str());
    }
    if let Some(session) = &args.session {
        list = list.session_id(session);
    }
    if let Some(dir) = &args.download {
        tokio::fs::create_dir_all(dir)
            .await
            .map_err(|source| Error::Io {
                context: format!("cannot create {}", dir.display()),
                source,
            })?;
    }
    let bars = Bars::new(args.download.is_some());
    let result = export(&atlas, list.pages(), &args, &bars).await;
    bars.finish();
    result
}

async fn export(
    atlas: &Client,
    mut pages: casefile::Pages<Attachment>,
    args: &Args,
    bars: &Bars,
) -> casefile::Result<Summary> {
    let mut summary = Summary::default();
    let mut used = HashSet::new();
    while let Some(page) = pages.try_next().await? {
        if let Some(total) = page.total {
            bars.files.set_length(total);
        }
        for a in page.items {
            summary.listed += 1;
            let id = a.attachment_id.map(|id| id.to_string()).unwrap_or_default();
            println!(
                "{id}\t{}\t{}\t{}\t{}",
                a.attachment_type,
                a.attachment_created_at.to_rfc3339(),
                a.attachment_name,
                a.attachment_title.as_deref().unwrap_or("")
            );
            if let Some(dir) = &args.download {
                download(
                    atlas,
                    &a,
                    &id,
                    dir,
                    &mut used,
                    args.overwrite,
                    bars,
                    &mut summary,
                )
                .await?;
            }
            bars.files.inc(1);
        }
    }
    Ok(summary)
}

#[allow(clippy::too_many_arguments)]
async fn download(
    atlas: &Client,
    attachment: &Attachment,
    id: &str,
    dir: &Path,
    used: &mut HashSet<String>,
    overwrite: bool,
    bars: &Bars,
    summary: &mut Summary,
) -> casefile::Result<()> {
    let name = file_name(attachment, used);
    if id.is_empty() {
        bars.say(&format!(
            "skipping {}: it has no id to export",
            attachment.attachment_name
        ));
        return Ok(());
    }
    let path = dir.join(&name);
    // Only a complete download is ever renamed to its final name.
    if !overwrite && tokio::fs::metadata(&path).await.is_ok_and(|m| m.is_file()) {
        summary.complete += 1;
        return Ok(());
    }
    let bar = bars.bytes.clone().unwrap_or_else(ProgressBar::hidden);
    bar.reset();
    bar.set_message(name.clone());
    let progress = bar.clone();
    let bytes = atlas
        .attachments()
        .download(id)
        .progress(move |p| {
            if let Some(total) = p.total {
                progress.set_length(total);
            }
            progress.set_position(p.done);
        })
        .save(&path)
        .await?;
    summary.downloaded += 1;
    summary.bytes += bytes;
    bars.say(&format!("saved {} ({bytes} bytes)", path.display()));
    Ok(())
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
    let downloading = args.download.is_some();
    match run(args).await {
        Ok(summary) => {
            if downloading {
                eprintln!(
                    "{} attachments: {} downloaded ({} bytes), {} already complete",
                    summary.listed, summary.downloaded, summary.bytes, summary.complete
                );
            } else {
                eprintln!("{} attachments", summary.listed);
            }
            ExitCode::SUCCESS
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
