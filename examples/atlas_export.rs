//! Lists Atlas attachments, one per line, and optionally downloads each file.
//!
//! ```sh
//! ATLAS_URL=https://atlas.example.org ATLAS_USERNAME=analyst ATLAS_API_KEY=… \
//!     cargo run --example atlas_export -- --type csv --download exports/
//! ```
//!
//! Each line is `id<TAB>type<TAB>created_at<TAB>name<TAB>title`. With `--download DIR` every
//! file is exported (a presigned URL) and saved into DIR under its own name.

use std::collections::HashSet;
use std::path::PathBuf;
use std::process::ExitCode;

use casefile::atlas::{Attachment, Client};
use futures::TryStreamExt;

const HELP: &str = "\
atlas_export: list Atlas attachments, one per line, and optionally download them

USAGE:
    atlas_export [--type T] [--session ID] [--download DIR]

OPTIONS:
    --type T          only attachments of file type T (pdf, csv, bin, png, ...)
    --session ID      only attachments of session ID
    --download DIR    save each attachment's file into DIR
    -h, --help        print this help

ENVIRONMENT:
    ATLAS_URL                          the instance root, e.g. https://atlas.example.org
    ATLAS_TOKEN                        a Bearer token, or
    ATLAS_USERNAME + ATLAS_API_KEY     HTTP Digest credentials

OUTPUT:
    id<TAB>type<TAB>created_at<TAB>name<TAB>title, one line per attachment";

#[derive(Debug, Default)]
struct Args {
    attachment_type: Option<String>,
    session: Option<String>,
    download: Option<PathBuf>,
}

fn parse_args() -> Result<Option<Args>, String> {
    let mut args = Args::default();
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = |name: &str| it.next().ok_or_else(|| format!("{name} needs a value"));
        match arg.as_str() {
            "-h" | "--help" => return Ok(None),
            "--type" => args.attachment_type = Some(value("--type")?),
            "--session" => args.session = Some(value("--session")?),
            "--download" => args.download = Some(PathBuf::from(value("--download")?)),
            other => return Err(format!("unknown argument `{other}` (see --help)")),
        }
    }
    Ok(Some(args))
}

/// A file name that stays inside the download directory.
fn file_name(attachment: &Attachment, used: &mut HashSet<String>) -> String {
    let id = attachment
        .attachment_id
        .map(|id| id.to_string())
        .unwrap_or_else(|| "attachment".into());
    let clean: String = attachment
        .attachment_name
        .chars()
        .map(|c| match c {
            'a'..='z' | 'A'..='Z' | '0'..='9' | '.' | '-' | '_' => c,
            _ => '_',
        })
        .collect();
    let clean = clean.trim_start_matches('.').to_owned();
    let mut name = if clean.is_empty() { id.clone() } else { clean };
    if !used.insert(name.clone()) {
        name = format!("{id}-{name}");
        used.insert(name.clone());
    }
    name
}

async fn run(args: Args) -> casefile::Result<()> {
    let atlas = Client::from_env()?;
    let mut list = atlas.attachments().list();
    if let Some(t) = &args.attachment_type {
        list = list.attachment_type(t.as_str());
    }
    if let Some(session) = &args.session {
        list = list.session_id(session);
    }
    if let Some(dir) = &args.download {
        std::fs::create_dir_all(dir).map_err(|e| {
            casefile::Error::Config(format!("cannot create {}: {e}", dir.display()))
        })?;
    }
    let mut used = HashSet::new();
    let mut attachments = list.stream();
    while let Some(a) = attachments.try_next().await? {
        let id = a.attachment_id.map(|id| id.to_string()).unwrap_or_default();
        println!(
            "{id}\t{}\t{}\t{}\t{}",
            a.attachment_type,
            a.attachment_created_at.to_rfc3339(),
            a.attachment_name,
            a.attachment_title.as_deref().unwrap_or("")
        );
        if let Some(dir) = &args.download {
            if id.is_empty() {
                eprintln!("skipping {}: it has no id to export", a.attachment_name);
                continue;
            }
            let path = dir.join(file_name(&a, &mut used));
            let bytes = atlas.attachments().download(&id).save(&path).await?;
            eprintln!("saved {} ({bytes} bytes)", path.display());
        }
    }
    Ok(())
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(Some(args)) => args,
        Ok(None) => {
            println!("{HELP}");
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("atlas_export: {message}");
            return ExitCode::from(2);
        }
    };
    match run(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("atlas_export: {e}");
            ExitCode::FAILURE
        }
    }
}
