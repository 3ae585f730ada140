//! `casefile-sandbox`: the Atlos, Aleph and Atlas sandbox servers of `casefile::testkit` as one
//! local server for programs in any language, in the way stripe-mock serves Stripe's API.
//!
//! It binds the three APIs on `127.0.0.1` (on free ports, or on the ports given), prints their
//! URLs and credentials — as text with `export` lines, or as one JSON object with `--json` —
//! and serves until interrupted. Exit status: 1 if the servers cannot start (a port is taken),
//! 2 on bad usage.

use std::io::Write;
use std::process::ExitCode;

use casefile::aleph::Flavor;
use casefile::testkit::{Platform, SandboxBuilder};

const USAGE: &str = "\
casefile-sandbox: the Atlos, Aleph and Atlas sandbox APIs as a local server

Usage: casefile-sandbox [OPTIONS]

Options:
  --port BASE          Atlos on BASE, Aleph on BASE+1, Atlas on BASE+2 (default: free ports)
  --atlos-port PORT    Atlos on PORT (overrides --port for Atlos)
  --aleph-port PORT    Aleph on PORT
  --atlas-port PORT    Atlas on PORT
  --seed N             seed of the generated data (default 7; the same seed, the same data)
  --incidents N        Atlos incidents to generate (default 260)
  --entities N,N,..    Aleph entities per collection, one number per collection (default 2400,1200,600)
  --attachments N      Atlas attachments to generate (default 60)
  --aleph-flavor F     which Aleph to answer as: aleph (Aleph 4.1.6, default) or openaleph
                       (OpenAleph 5.3)
  --json               print one JSON object (URLs, credentials, environment) instead of text
  -h, --help           print this help

The servers listen on 127.0.0.1 only and keep their state in memory until stopped (Ctrl-C).

Examples:
  casefile-sandbox
  casefile-sandbox --port 4000 --json
  casefile-sandbox --incidents 30 --entities 50,20 --attachments 10
  casefile-sandbox --aleph-flavor openaleph --json";

/// The parsed command line.
#[derive(Debug, Default)]
struct Options {
    base: Option<u16>,
    ports: [Option<u16>; 3],
    json: bool,
    builder: SandboxBuilder,
}

/// What the command line asks for.
enum Command {
    Help,
    Serve(Box<Options>),
}

fn number<T: std::str::FromStr>(flag: &str, value: Option<String>) -> Result<T, String> {
    let value = value.ok_or_else(|| format!("{flag} needs a value"))?;
    value
        .trim()
        .parse()
        .map_err(|_| format!("{flag}: {value:?} is not a valid number"))
}

fn parse(args: impl IntoIterator<Item = String>) -> Result<Command, String> {
    let mut options = Options::default();
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        // `--flag=value` is accepted as well as `--flag value`.
        let (flag, mut inline) = match arg.split_once('=') {
            Some((flag, value)) if flag.starts_with("--") => {
                (flag.to_owned(), Some(value.to_owned()))
            }
            _ => (arg, None),
        };
        let mut value = || inline.take().or_else(|| args.next());
        match flag.as_str() {
            "-h" | "--help" => return Ok(Command::Help),
            "--json" => options.json = true,
            "--port" => options.base = Some(number(&flag, value())?),
            "--atlos-port" => {
                options.ports[Platform::Atlos as usize] = Some(number(&flag, value())?)
            }
            "--aleph-port" => {
                options.ports[Platform::Aleph as usize] = Some(number(&flag, value())?)
            }
            "--atlas-port" => {
                options.ports[Platform::Atlas as usize] = Some(number(&flag, value())?)
            }
            "--seed" => options.builder = options.builder.seed(number(&flag, value())?),
            "--incidents" => options.builder = options.builder.incidents(number(&flag, value())?),
            "--attachments" => {
                options.builder = options.builder.attachments(number(&flag, value())?)
            }
            "--aleph-flavor" => {
                let flavor = match value().as_deref() {
                    Some("aleph") => Flavor::Aleph,
                    Some("openaleph") => Flavor::OpenAleph,
                    Some(other) => {
                        return Err(format!(
                            "--aleph-flavor: {other:?} is neither `aleph` nor `openaleph`"
                        ));
                    }
                    None => return Err("--aleph-flavor needs a value".into()),
                };
                options.builder = options.builder.aleph_flavor(flavor);
            }
            "--entities" => {
                let list = value().ok_or("--entities needs a value")?;
                let counts = list
                    .split(',')
                    .map(|n| number("--entities", Some(n.to_owned())))
                    .collect::<Result<Vec<usize>, _>>()?;
                options.builder = options.builder.entities(&counts);
            }
            other => return Err(format!("unknown argument {other:?}")),
        }
        if inline.is_some() {
            return Err(format!("{flag} takes no value"));
        }
    }
    Ok(Command::Serve(Box::new(options)))
}

fn main() -> ExitCode {
    let options = match parse(std::env::args().skip(1)) {
        Ok(Command::Help) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Ok(Command::Serve(options)) => options,
        Err(message) => {
            eprintln!("casefile-sandbox: {message}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let json = options.json;
    let mut builder = options.builder;
    for platform in [Platform::Atlos, Platform::Aleph, Platform::Atlas] {
        let index = platform as usize;
        let from_base = match options.base {
            Some(base) => match base.checked_add(index as u16) {
                Some(port) => port,
                None => {
                    eprintln!(
                        "casefile-sandbox: --port {base} leaves no room for three ports\n\n{USAGE}"
                    );
                    return ExitCode::from(2);
                }
            },
            None => 0,
        };
        builder = builder.port(platform, options.ports[index].unwrap_or(from_base));
    }
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("casefile-sandbox: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async move {
        let sandbox = match builder.start().await {
            Ok(sandbox) => sandbox,
            Err(e) => {
                eprintln!("casefile-sandbox: {e}");
                return ExitCode::FAILURE;
            }
        };
        let endpoints = sandbox.endpoints();
        let mut stdout = std::io::stdout().lock();
        let written = if json {
            writeln!(stdout, "{}", endpoints.to_json())
        } else {
            write!(stdout, "{endpoints}")
        };
        if written.and_then(|()| stdout.flush()).is_err() {
            return ExitCode::FAILURE;
        }
        drop(stdout);
        eprintln!("casefile-sandbox: serving until interrupted (Ctrl-C)");
        // The servers run on this runtime; the process ends when it is interrupted.
        std::future::pending::<()>().await;
        drop(sandbox);
        ExitCode::SUCCESS
    })
}
