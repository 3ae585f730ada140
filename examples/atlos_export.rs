//! Exports an Atlos project's incidents, source material or updates as JSON lines or CSV.
//!
//! ```sh
//! export ATLOS_URL=https://platform.atlos.org ATLOS_API_TOKEN=...
//! cargo run --example atlos_export -- incidents --status "To Do" > todo.jsonl
//! cargo run --example atlos_export -- incidents --format csv --output incidents.csv
//! cargo run --example atlos_export -- updates --slug CIV-AD12H4
//! ```
//!
//! A progress bar runs on stderr when it is a terminal; a summary is printed at the end.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use casefile::atlos::Client;
use casefile::{Error, ErrorKind, Pages};
use futures::TryStreamExt;
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;
use serde_json::Value;

const HELP: &str = "\
atlos_export: export an Atlos project as JSON lines or CSV

USAGE:
    atlos_export incidents [--status S]... [--query Q] [OPTIONS]
    atlos_export source-material [OPTIONS]
    atlos_export updates [--slug SLUG] [OPTIONS]

FILTERS:
    --status S       only incidents with this status (repeatable: any of them),
                     e.g. \"To Do\", \"In Progress\", \"Completed\"
    --query Q        full-text search in the incidents
    --slug SLUG      only the updates of this incident (AD12H4 or CIV-AD12H4)

OPTIONS:
    --format F       jsonl (default: one JSON object a line) or csv (one row a record,
                     a column per field; lists joined with \"; \", nested values as JSON)
    --output FILE    write to FILE (through FILE.part, renamed when complete)
                     instead of stdout
    -h, --help       print this help

ENVIRONMENT:
    ATLOS_URL        the Atlos instance (default https://platform.atlos.org)
    ATLOS_API_TOKEN  a project API token (required)

EXIT STATUS:
    0 exported, 1 the export failed (the reason is printed), 2 bad arguments or settings";

#[derive(Debug, Clone, Copy, PartialEq)]
enum Format {
    Jsonl,
    Csv,
}

/// What to export, read from the command line.
#[derive(Debug)]
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

#[derive(Debug)]
struct Args {
    command: Command,
    format: Format,
    output: Option<PathBuf>,
}

/// Reads the arguments; `Ok(None)` asks for the help.
fn parse(args: &[String]) -> Result<Option<Args>, String> {
    if args.is_empty() || args.iter().any(|a| a == "--help" || a == "-h") {
        return Ok(None);
    }
    let mut command = None;
    let (mut statuses, mut query, mut slug) = (Vec::new(), None, None);
    let (mut format, mut output) = (Format::Jsonl, None);
    let mut rest = args.iter();
    while let Some(arg) = rest.next() {
        // `--flag value` or `--flag=value`.
        let (flag, inline) = match arg.split_once('=') {
            Some((flag, value)) if arg.starts_with("--") => (flag, Some(value.to_owned())),
            _ => (arg.as_str(), None),
        };
        if !flag.starts_with('-') {
            if command.is_some() {
                return Err(format!("unexpected argument `{arg}`"));
            }
            command = Some(flag.to_owned());
            continue;
        }
        let value = match inline {
            Some(value) => value,
            None => rest
                .next()
                .cloned()
                .ok_or_else(|| format!("{flag} needs a value"))?,
        };
        match flag {
            "--status" => statuses.push(value),
            "--query" => query = Some(value),
            "--slug" => slug = Some(value),
            "--format" => {
                format = match value.as_str() {
                    "jsonl" | "json" => Format::Jsonl,
                    "csv" => Format::Csv,
                    other => return Err(format!("unknown format `{other}` (jsonl or csv)")),
                }
            }
            "--output" | "-o" => output = Some(PathBuf::from(value)),
            other => return Err(format!("unknown option `{other}`")),
        }
    }
    let command = command.ok_or("say what to export: incidents, source-material or updates")?;
    let misplaced = |flag: &str| Err(format!("{flag} does not apply to {command}"));
    let command = match command.as_str() {
        "incidents" if slug.is_some() => return misplaced("--slug"),
        "incidents" => Command::Incidents { statuses, query },
        _ if !statuses.is_empty() => return misplaced("--status"),
        _ if query.is_some() => return misplaced("--query"),
        "source-material" if slug.is_some() => return misplaced("--slug"),
        "source-material" => Command::SourceMaterial,
        "updates" => Command::Updates { slug },
        other => {
            return Err(format!(
                "unknown command `{other}` (incidents, source-material or updates)"
            ));
        }
    };
    Ok(Some(Args {
        command,
        format,
        output,
    }))
}

/// Where records go: stdout or a `.part` file renamed when the export is complete.
struct Output {
    writer: Box<dyn Write>,
    file: Option<(PathBuf, PathBuf)>,
}

impl Output {
    fn open(path: Option<&PathBuf>) -> casefile::Result<Output> {
        let Some(path) = path else {
            return Ok(Output {
                writer: Box::new(BufWriter::new(io::stdout().lock())),
                file: None,
            });
        };
        let mut partial = path.as_os_str().to_owned();
        partial.push(".part");
        let partial = PathBuf::from(partial);
        let file = File::create(&partial).map_err(|source| Error::Io {
            context: format!("cannot create {}", partial.display()),
            source,
        })?;
        Ok(Output {
            writer: Box::new(BufWriter::new(file)),
            file: Some((partial, path.clone())),
        })
    }

    fn finish(mut self) -> io::Result<()> {
        self.writer.flush()?;
        drop(self.writer);
        if let Some((partial, path)) = self.file {
            std::fs::rename(partial, path)?;
        }
        Ok(())
    }
}

/// Writes records as JSON lines or CSV rows.
struct RecordWriter {
    format: Format,
    columns: Option<Vec<String>>,
}

impl RecordWriter {
    fn write(&mut self, out: &mut dyn Write, record: &impl Serialize) -> io::Result<()> {
        if self.format == Format::Jsonl {
            serde_json::to_writer(&mut *out, record)?;
            return out.write_all(b"\n");
        }
        let Value::Object(fields) = serde_json::to_value(record)? else {
            return Err(io::Error::other("a record is not a JSON object"));
        };
        // The columns are the fields of the first record (every record of a kind has the same).
        if self.columns.is_none() {
            let names: Vec<String> = fields.keys().map(|k| quote(k)).collect();
            writeln!(out, "{}", names.join(","))?;
            self.columns = Some(fields.keys().cloned().collect());
        }
        let row: Vec<String> = self
            .columns
            .iter()
            .flatten()
            .map(|c| csv_cell(fields.get(c).unwrap_or(&Value::Null)))
            .collect();
        writeln!(out, "{}", row.join(","))
    }
}

/// A CSV cell: text as is, lists of plain values joined with `; `, anything nested as JSON.
fn csv_cell(value: &Value) -> String {
    let text = match value {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        Value::Array(items) if items.iter().all(|v| !v.is_array() && !v.is_object()) => items
            .iter()
            .map(|v| match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            })
            .collect::<Vec<_>>()
            .join("; "),
        other => other.to_string(),
    };
    quote(&text)
}

/// RFC 4180 quoting: a cell with a comma, quote or line break is put in quotes.
fn quote(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_owned()
    }
}

/// A bar counting records on stderr (drawn only when stderr is a terminal).
fn records_bar(what: &str) -> ProgressBar {
    let bar = ProgressBar::new_spinner();
    bar.set_style(
        ProgressStyle::with_template("{spinner} {pos} {msg} [{elapsed}] {per_sec}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    bar.set_message(what.to_owned());
    bar
}

/// Writes every item of `pages`; returns how many were written.
async fn export<T: Serialize + Send + 'static>(
    args: &Args,
    what: &str,
    mut pages: Pages<T>,
) -> casefile::Result<u64> {
    let mut out = Output::open(args.output.as_ref())?;
    let mut records = RecordWriter {
        format: args.format,
        columns: None,
    };
    let bar = records_bar(what);
    let mut count = 0u64;
    let write_error = |source| Error::Io {
        context: "cannot write the export".into(),
        source,
    };
    while let Some(page) = pages.try_next().await? {
        if let Some(total) = page.total {
            bar.set_length(total);
        }
        for item in &page.items {
            match records.write(&mut out.writer, item) {
                Ok(()) => count += 1,
                // A closed pipe (`| head`) ends the export quietly.
                Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {
                    bar.finish_and_clear();
                    return Ok(count);
                }
                Err(e) => return Err(write_error(e)),
            }
        }
        bar.set_position(count);
    }
    bar.finish_and_clear();
    match out.finish() {
        Err(e) if e.kind() != io::ErrorKind::BrokenPipe => Err(write_error(e)),
        _ => Ok(count),
    }
}

async fn run(args: &Args) -> casefile::Result<(&'static str, u64)> {
    let atlos = Client::from_env()?;
    Ok(match &args.command {
        Command::Incidents { statuses, query } => {
            let mut list = atlos
                .incidents()
                .list()
                .statuses(statuses.iter().map(String::as_str));
            if let Some(query) = query {
                list = list.query(query);
            }
            ("incidents", export(args, "incidents", list.pages()).await?)
        }
        Command::SourceMaterial => {
            let what = "pieces of source material";
            let pages = atlos.source_material().list().pages();
            (what, export(args, what, pages).await?)
        }
        Command::Updates { slug } => {
            let mut list = atlos.updates().list();
            if let Some(slug) = slug {
                list = list.slug(slug);
            }
            ("updates", export(args, "updates", list.pages()).await?)
        }
    })
}

/// A hint for the errors a user can fix.
fn hint(e: &Error) -> Option<&'static str> {
    match e {
        Error::Config(_) => Some("set ATLOS_API_TOKEN (and ATLOS_URL for your own instance)"),
        _ => match e.api().map(|api| &api.kind) {
            Some(ErrorKind::Unauthorized | ErrorKind::Forbidden) => {
                Some("check ATLOS_API_TOKEN: Atlos refused it, or it lacks access")
            }
            _ => None,
        },
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args = match parse(&args) {
        Ok(Some(args)) => args,
        Ok(None) => {
            println!("{HELP}");
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("atlos_export: {message}\n(see atlos_export --help)");
            return ExitCode::from(2);
        }
    };
    let started = Instant::now();
    match run(&args).await {
        Ok((what, count)) => {
            eprintln!(
                "exported {count} {what} in {:.1} s",
                started.elapsed().as_secs_f64()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("atlos_export: {e}");
            if let Some(hint) = hint(&e) {
                eprintln!("hint: {hint}");
            }
            ExitCode::from(if matches!(e, Error::Config(_)) { 2 } else { 1 })
        }
    }
}
