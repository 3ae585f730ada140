//! End to end: casefile against local servers on 127.0.0.1, next to a baseline measured in the
//! same run, for every target of the performance issue. Prints one table.
//!
//! ```text
//! cargo bench --all-features --bench e2e            # the issue's sizes (about a minute or two)
//! cargo bench --all-features --bench e2e -- --quick # smaller sizes, for a quick look
//! ```
//!
//! The servers run in this process; every measured client runs in a child process (this binary
//! again, with `--case ...`), so its CPU time and peak memory are its own and read from the
//! operating system (`getrusage` and `VmHWM` in `/proc/self/status`).

use std::collections::HashMap;
use std::convert::Infallible;
use std::hint::black_box;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use bytes::Bytes;
use futures::{StreamExt, TryStreamExt};
use serde::Deserialize;
use serde_json::{Value, json};

#[path = "support/mod.rs"]
mod support;

use casefile::Upload;
use casefile::aleph::{Entity, IngestMeta, ResultSet};
use casefile::atlos::Incident;
use casefile::testkit::{Platform, Sandbox};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

const ATLOS_TOKEN: &str = "bench-token";
const ALEPH_KEY: &str = "bench-key";
/// Entities a page of the Aleph search (latency cases).
const SEARCH_PAGE: u64 = 50;
/// Lines in one chunk of the `_stream` answer.
const STREAM_CHUNK: u64 = 1000;
const LATENCY: Duration = Duration::from_millis(20);
const CALLER_WORK: Duration = Duration::from_millis(20);
const MIB: f64 = 1024.0 * 1024.0;

/// The sizes of a run.
#[derive(Debug, Clone, Copy)]
struct Sizes {
    /// Atlos pages of 100 incidents (overhead).
    incident_pages: u64,
    /// Rounds of the overhead case (the median is taken).
    rounds: usize,
    /// Aleph search pages of 50 (latency hiding).
    latency_pages: u64,
    /// Entities streamed from `_stream` (memory); the small case is a quarter.
    stream_entities: u64,
    /// Bytes uploaded and downloaded (memory); the small case is a quarter.
    file_bytes: u64,
    /// Entities loaded with `_bulk`.
    bulk_entities: u64,
    /// Calls of the digest case.
    digest_calls: u64,
}

impl Sizes {
    fn full() -> Sizes {
        Sizes {
            incident_pages: 1000,
            rounds: 5,
            latency_pages: 100,
            stream_entities: 1_000_000,
            file_bytes: 1 << 30,
            bulk_entities: 100_000,
            digest_calls: 50,
        }
    }

    fn quick() -> Sizes {
        Sizes {
            incident_pages: 100,
            rounds: 3,
            latency_pages: 40,
            stream_entities: 100_000,
            file_bytes: 64 << 20,
            bulk_entities: 20_000,
            digest_calls: 20,
        }
    }
}

fn main() {
    // `cargo bench` passes `--bench`; it means nothing here.
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    if args.first().map(String::as_str) == Some("--case") {
        if let Err(e) = child::run(&args[1..]) {
            eprintln!("case {args:?} failed: {e}");
            std::process::exit(1);
        }
        return;
    }
    if args.iter().any(|a| a == "--help" || a == "-h") {
        println!(
            "casefile end-to-end bench: prints one table of every performance target.\n\n\
             usage: cargo bench --all-features --bench e2e [-- --quick]\n\n  \
             --quick   smaller sizes (also CASEFILE_BENCH_QUICK=1)\n  \
             --serve   only start the servers and print their URL, to profile one case by hand:\n            \
             e2e --case overhead-casefile url=URL [runtime=current-thread]"
        );
        return;
    }
    if args.iter().any(|a| a == "--serve") {
        let runtime = tokio::runtime::Runtime::new().expect("a runtime");
        runtime.block_on(async {
            let lean = server::start(Sizes::full()).await.expect("servers");
            println!("{}", lean.base);
            std::future::pending::<()>().await;
        });
        return;
    }
    let quick = args.iter().any(|a| a == "--quick")
        || std::env::var("CASEFILE_BENCH_QUICK").is_ok_and(|v| !v.is_empty() && v != "0");
    let sizes = if quick { Sizes::quick() } else { Sizes::full() };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    if let Err(e) = runtime.block_on(parent::run(sizes, quick)) {
        eprintln!("bench failed: {e}");
        std::process::exit(1);
    }
}

/// CPU time (user + system) of this process so far, in seconds.
fn cpu_seconds() -> f64 {
    // SAFETY: getrusage only writes into the struct it is given.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut usage);
        usage
    };
    let seconds = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    seconds(usage.ru_utime) + seconds(usage.ru_stime)
}

/// The peak resident set of this process so far, in bytes (`VmHWM`).
fn peak_rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kib| kib * 1024)
}

/// The lean servers: pre-serialized bytes, streamed bodies, uploads counted and discarded.
mod server {
    use super::*;

    pub struct Lean {
        pub base: String,
        /// The JSON array of 100 incidents every Atlos page carries.
        incidents: Bytes,
        incident_pages: u64,
        /// The JSON array of 50 entities every search page carries.
        search_items: Bytes,
        search_total: u64,
        /// 1000 `_stream` lines.
        stream_chunk: Bytes,
        /// Latency of a search page and of a `_bulk` request, in microseconds.
        pub latency_micros: AtomicU64,
        /// Bytes of request bodies received (uploads, ingests, bulk writes).
        pub received: AtomicU64,
    }

    impl Lean {
        fn latency(&self) -> Duration {
            Duration::from_micros(self.latency_micros.load(Ordering::Relaxed))
        }

        pub fn set_latency(&self, latency: Duration) {
            self.latency_micros
                .store(latency.as_micros() as u64, Ordering::Relaxed);
        }
    }

    pub async fn start(sizes: Sizes) -> Result<Arc<Lean>, BoxError> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let base = format!("http://{}", listener.local_addr()?);
        let lean = Arc::new(Lean {
            base,
            incidents: support::atlos_items_json(100).into(),
            incident_pages: sizes.incident_pages,
            search_items: serde_json::to_vec(&support::aleph_search_entities(
                SEARCH_PAGE as usize,
            ))?
            .into(),
            search_total: sizes.latency_pages * SEARCH_PAGE,
            stream_chunk: support::aleph_stream_lines(STREAM_CHUNK as usize).into(),
            latency_micros: AtomicU64::new(0),
            received: AtomicU64::new(0),
        });
        let router = Router::new()
            .route("/api/v2/incidents", get(incidents))
            .route("/api/v2/source_material/upload/{id}", post(atlos_upload))
            .route("/api/2/entities", get(search))
            .route("/api/2/collections/{id}/_stream", get(stream))
            .route("/api/2/collections/{id}/_bulk", post(bulk))
            .route("/api/2/metadata", get(metadata))
            .route("/api/2/collections/{id}/ingest", post(ingest))
            .route("/api/2/archive", get(archive))
            .with_state(lean.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        Ok(lean)
    }

    fn json_bytes(status: StatusCode, body: impl Into<Body>) -> Response {
        (
            status,
            [(header::CONTENT_TYPE, "application/json")],
            body.into(),
        )
            .into_response()
    }

    type Params = Query<HashMap<String, String>>;

    async fn incidents(State(lean): State<Arc<Lean>>, Query(q): Params) -> Response {
        let page: u64 = q
            .get("cursor")
            .and_then(|c| c.strip_prefix('p'))
            .and_then(|n| n.parse().ok())
            .unwrap_or(0);
        let next = (page + 1 < lean.incident_pages).then(|| format!("p{}", page + 1));
        json_bytes(
            StatusCode::OK,
            support::atlos_page(&lean.incidents, next.as_deref()),
        )
    }

    async fn search(State(lean): State<Arc<Lean>>, Query(q): Params) -> Response {
        tokio::time::sleep(lean.latency()).await;
        let offset: u64 = q.get("offset").and_then(|v| v.parse().ok()).unwrap_or(0);
        let body = support::aleph_search_page(
            &lean.base,
            &lean.search_items,
            offset,
            SEARCH_PAGE,
            lean.search_total,
        );
        json_bytes(StatusCode::OK, body)
    }

    async fn stream(Path(id): Path<String>, State(lean): State<Arc<Lean>>) -> Response {
        // The collection id is the number of entities to stream.
        let n: u64 = id.parse().unwrap_or(0);
        let chunk = lean.stream_chunk.clone();
        let chunks = futures::stream::iter(0..n / STREAM_CHUNK)
            .map(move |_| Ok::<_, Infallible>(chunk.clone()));
        (
            [(header::CONTENT_TYPE, "application/json+stream")],
            Body::from_stream(chunks),
        )
            .into_response()
    }

    /// Reads a request body to its end, counting it.
    async fn drain(lean: &Lean, body: Body) -> Result<u64, StatusCode> {
        let mut stream = body.into_data_stream();
        let mut n = 0u64;
        while let Some(chunk) = stream.next().await {
            n += chunk.map_err(|_| StatusCode::BAD_REQUEST)?.len() as u64;
        }
        lean.received.fetch_add(n, Ordering::Relaxed);
        Ok(n)
    }

    /// `GET /metadata` with followthemoney's model, which a bulk load fetches once to check
    /// its entities before the first chunk (the sandbox's copy of the model Aleph serves).
    async fn metadata() -> Response {
        const MODEL: &str = include_str!("../src/testkit/ftm-3.5.9.json");
        let body = format!(r#"{{"app": {{"version": "4.1.6"}}, "model": {MODEL}}}"#);
        ([(header::CONTENT_TYPE, "application/json")], body).into_response()
    }

    async fn bulk(State(lean): State<Arc<Lean>>, body: Body) -> Response {
        tokio::time::sleep(lean.latency()).await;
        match drain(&lean, body).await {
            Ok(_) => StatusCode::NO_CONTENT.into_response(),
            Err(status) => status.into_response(),
        }
    }

    async fn ingest(State(lean): State<Arc<Lean>>, body: Body) -> Response {
        match drain(&lean, body).await {
            Ok(_) => json_bytes(StatusCode::CREATED, r#"{"status":"ok","id":"5f1e.0a3c"}"#),
            Err(status) => status.into_response(),
        }
    }

    async fn atlos_upload(State(lean): State<Arc<Lean>>, body: Body) -> Response {
        match drain(&lean, body).await {
            Ok(_) => json_bytes(StatusCode::OK, support::ATLOS_UPLOAD_ANSWER),
            Err(status) => status.into_response(),
        }
    }

    async fn archive(Query(q): Params) -> Response {
        // The token is the size of the blob.
        let size: u64 = q.get("token").and_then(|v| v.parse().ok()).unwrap_or(0);
        let block = Bytes::from(vec![0x5a; 64 * 1024]);
        let blocks = size.div_ceil(block.len() as u64);
        let chunks = futures::stream::iter(0..blocks).map(move |i| {
            let start = i * block.len() as u64;
            let len = (size - start).min(block.len() as u64) as usize;
            Ok::<_, Infallible>(block.slice(..len))
        });
        (
            [
                (header::CONTENT_TYPE, "application/octet-stream".to_owned()),
                (header::CONTENT_LENGTH, size.to_string()),
            ],
            Body::from_stream(chunks),
        )
            .into_response()
    }
}

/// The measured clients, each run in a child process.
mod child {
    use super::*;

    /// `RESULT {json}` on stdout: what the parent reads.
    fn report(value: Value) {
        println!("RESULT {value}");
    }

    pub fn run(args: &[String]) -> Result<(), BoxError> {
        let name = args.first().ok_or("no case named")?.clone();
        let params: HashMap<&str, &str> =
            args[1..].iter().filter_map(|a| a.split_once('=')).collect();
        let param = |k: &str| -> Result<String, BoxError> {
            Ok(params
                .get(k)
                .ok_or_else(|| format!("missing {k}="))?
                .to_string())
        };
        let number = |k: &str| -> Result<u64, BoxError> { Ok(param(k)?.parse()?) };
        let url = param("url")?;
        let runtime = if params.get("runtime") == Some(&"current-thread") {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?
        } else {
            tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()?
        };
        let result = runtime.block_on(async {
            match name.as_str() {
                "overhead-casefile" => overhead_casefile(&url).await,
                "overhead-raw" => overhead_raw(&url).await,
                "latency-sequential" => latency_sequential(&url, true).await,
                "latency-default" => latency_default(&url).await,
                "fetch-sequential" => latency_sequential(&url, false).await,
                "fetch-concurrency8" => fetch_concurrently(&url).await,
                "bulk" => bulk(&url, number("n")?, number("concurrency")? as usize).await,
                "stream" => stream(&url, number("n")?).await,
                "upload-atlos" => upload_atlos(&url, &param("file")?).await,
                "ingest-aleph" => ingest_aleph(&url, &param("file")?).await,
                "download" => download(&url, number("n")?, &param("file")?).await,
                other => Err(format!("no case {other}").into()),
            }
        })?;
        let mut result = result;
        result["peak_rss"] = json!(peak_rss());
        report(result);
        Ok(())
    }

    fn atlos(url: &str) -> Result<casefile::atlos::Client, BoxError> {
        Ok(casefile::atlos::Client::builder()
            .base_url(url)
            .token(ATLOS_TOKEN)
            .build()?)
    }

    fn aleph(url: &str) -> Result<casefile::aleph::Client, BoxError> {
        Ok(casefile::aleph::Client::builder()
            .base_url(url)
            .api_key(ALEPH_KEY)
            .build()?)
    }

    /// Times `work`, in wall seconds and CPU seconds of this process.
    async fn measure<F, T>(work: F) -> Result<(T, f64, f64), BoxError>
    where
        F: std::future::Future<Output = Result<T, BoxError>>,
    {
        let (cpu, wall) = (cpu_seconds(), Instant::now());
        let out = work.await?;
        Ok((out, wall.elapsed().as_secs_f64(), cpu_seconds() - cpu))
    }

    async fn overhead_casefile(url: &str) -> Result<Value, BoxError> {
        let atlos = atlos(url)?;
        let (items, wall, cpu) = measure(async {
            let mut incidents = atlos.incidents().list().stream();
            let mut n = 0u64;
            while let Some(incident) = incidents.try_next().await? {
                black_box(&incident);
                n += 1;
            }
            Ok(n)
        })
        .await?;
        Ok(json!({"items": items, "wall": wall, "cpu": cpu}))
    }

    /// The baseline: raw reqwest and serde, one page after the other, into the same structs.
    async fn overhead_raw(url: &str) -> Result<Value, BoxError> {
        #[derive(Deserialize)]
        struct Listing {
            results: Vec<Incident>,
            next: Option<String>,
        }
        let http = reqwest::Client::new();
        let (items, wall, cpu) = measure(async {
            let mut n = 0u64;
            let mut cursor: Option<String> = None;
            loop {
                let mut page_url = format!("{url}/api/v2/incidents");
                if let Some(cursor) = &cursor {
                    page_url = format!("{page_url}?cursor={cursor}");
                }
                let body = http
                    .get(&page_url)
                    .bearer_auth(ATLOS_TOKEN)
                    .send()
                    .await?
                    .error_for_status()?
                    .bytes()
                    .await?;
                let page: Listing = serde_json::from_slice(&body)?;
                for incident in page.results {
                    black_box(&incident);
                    n += 1;
                }
                match page.next {
                    Some(next) => cursor = Some(next),
                    None => break,
                }
            }
            Ok(n)
        })
        .await?;
        Ok(json!({"items": items, "wall": wall, "cpu": cpu}))
    }

    /// A strictly sequential loop: fetch a page, then work on it, then fetch the next.
    async fn latency_sequential(url: &str, work: bool) -> Result<Value, BoxError> {
        let http = reqwest::Client::new();
        let (items, wall, _) = measure(async {
            let mut n = 0u64;
            let mut offset = 0u64;
            loop {
                let page_url = format!(
                    "{url}/api/2/entities?filter%3Aschemata=Thing&limit={SEARCH_PAGE}&offset={offset}"
                );
                let body = http
                    .get(&page_url)
                    .header("Authorization", format!("ApiKey {ALEPH_KEY}"))
                    .send()
                    .await?
                    .error_for_status()?
                    .bytes()
                    .await?;
                let page: ResultSet<Entity> = serde_json::from_slice(&body)?;
                if work {
                    tokio::time::sleep(CALLER_WORK).await;
                }
                n += page.results.len() as u64;
                black_box(page.results);
                offset += SEARCH_PAGE;
                if page.next.is_none() || offset >= page.total.unwrap_or(0) {
                    break;
                }
            }
            Ok(n)
        })
        .await?;
        Ok(json!({"items": items, "wall": wall}))
    }

    /// The default stream (one page fetched ahead), with the same work a page.
    async fn latency_default(url: &str) -> Result<Value, BoxError> {
        let aleph = aleph(url)?;
        let (items, wall, _) = measure(async {
            let mut entities = aleph.entities().search().page_size(SEARCH_PAGE).stream();
            let mut n = 0u64;
            while let Some(entity) = entities.try_next().await? {
                if n.is_multiple_of(SEARCH_PAGE) {
                    tokio::time::sleep(CALLER_WORK).await;
                }
                black_box(entity);
                n += 1;
            }
            Ok(n)
        })
        .await?;
        Ok(json!({"items": items, "wall": wall}))
    }

    /// `.concurrency(8)` on the offset pages, no work.
    async fn fetch_concurrently(url: &str) -> Result<Value, BoxError> {
        let aleph = aleph(url)?;
        let (items, wall, _) = measure(async {
            let mut entities = aleph
                .entities()
                .search()
                .page_size(SEARCH_PAGE)
                .stream()
                .concurrency(8);
            let mut n = 0u64;
            while let Some(entity) = entities.try_next().await? {
                black_box(entity);
                n += 1;
            }
            Ok(n)
        })
        .await?;
        Ok(json!({"items": items, "wall": wall}))
    }

    async fn bulk(url: &str, n: u64, concurrency: usize) -> Result<Value, BoxError> {
        let aleph = aleph(url)?;
        let entities = (0..n).map(|i| {
            Entity::new("Person")
                .with_id(format!("person-{i}"))
                .add("name", format!("Person number {i}"))
                .add("nationality", "nl")
                .add("birthDate", "1980-05-17")
        });
        let (report, wall, _) = measure(async {
            Ok(aleph
                .collections()
                .bulk("7", entities)
                .concurrency(concurrency)
                .await?)
        })
        .await?;
        Ok(json!({"items": report.entities, "requests": report.chunks, "wall": wall}))
    }

    async fn stream(url: &str, n: u64) -> Result<Value, BoxError> {
        let aleph = aleph(url)?;
        let (items, wall, _) = measure(async {
            let mut entities = aleph.collections().stream_entities(n).stream();
            let mut count = 0u64;
            while let Some(entity) = entities.try_next().await? {
                black_box(entity);
                count += 1;
            }
            Ok(count)
        })
        .await?;
        Ok(json!({"items": items, "wall": wall}))
    }

    async fn upload_atlos(url: &str, file: &str) -> Result<Value, BoxError> {
        let atlos = atlos(url)?;
        let (material, wall, _) = measure(async {
            Ok(atlos
                .source_material()
                .upload(
                    "944117fa-46a9-4cc5-9151-c5d4034c72c1",
                    Upload::path(file).mime_type("video/mp4"),
                )
                .title("bench upload")
                .await?)
        })
        .await?;
        Ok(json!({"id": material.id.to_string(), "wall": wall}))
    }

    async fn ingest_aleph(url: &str, file: &str) -> Result<Value, BoxError> {
        let aleph = aleph(url)?;
        let (id, wall, _) = measure(async {
            Ok(aleph
                .collections()
                .ingest(
                    "7",
                    Upload::path(file),
                    IngestMeta::default().title("bench"),
                )
                .await?)
        })
        .await?;
        Ok(json!({"id": id, "wall": wall}))
    }

    async fn download(url: &str, n: u64, file: &str) -> Result<Value, BoxError> {
        let aleph = aleph(url)?;
        // The blob is `n` bytes of 0x5a (see `server::archive`): its SHA-1, hashed in pieces,
        // as Aleph records a document's `contentHash`.
        let expected = {
            use sha1::Digest;
            let block = [0x5au8; 64 * 1024];
            let mut hasher = sha1::Sha1::new();
            let mut left = n;
            while left > 0 {
                let len = left.min(block.len() as u64) as usize;
                hasher.update(&block[..len]);
                left -= len as u64;
            }
            let hex: String = hasher
                .finalize()
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            casefile::Checksum::sha1(&hex)?
        };
        let (written, wall, _) = measure(async {
            let download = aleph.archive().download(&n.to_string()).verify(expected);
            Ok(download.save(file).await?)
        })
        .await?;
        let _ = std::fs::remove_file(file);
        Ok(json!({"bytes": written, "wall": wall}))
    }
}

/// Runs the cases and prints the table.
mod parent {
    use super::*;

    /// Runs one case in a child process and returns its result.
    fn case(name: &str, params: &[(&str, String)]) -> Result<Value, BoxError> {
        let exe = std::env::current_exe()?;
        let mut command = Command::new(exe);
        command.arg("--case").arg(name);
        for (k, v) in params {
            command.arg(format!("{k}={v}"));
        }
        let output = command.stderr(Stdio::inherit()).output()?;
        if !output.status.success() {
            return Err(format!("case {name} failed ({})", output.status).into());
        }
        let stdout = String::from_utf8_lossy(&output.stdout);
        let line = stdout
            .lines()
            .find_map(|l| l.strip_prefix("RESULT "))
            .ok_or_else(|| format!("case {name} printed no result"))?;
        Ok(serde_json::from_str(line)?)
    }

    fn f(v: &Value, key: &str) -> f64 {
        v[key].as_f64().unwrap_or(f64::NAN)
    }

    fn least(xs: &[f64]) -> f64 {
        xs.iter().copied().fold(f64::INFINITY, f64::min)
    }

    fn median(mut xs: Vec<f64>) -> f64 {
        xs.sort_by(|a, b| a.total_cmp(b));
        xs[xs.len() / 2]
    }

    /// One row of the table.
    struct Row {
        target: String,
        casefile: String,
        baseline: String,
        ratio: String,
        goal: String,
        met: bool,
    }

    fn progress(what: &str) {
        eprintln!("e2e: {what}");
    }

    pub async fn run(sizes: Sizes, quick: bool) -> Result<(), BoxError> {
        let started = Instant::now();
        let lean = server::start(sizes).await?;
        let url = lean.base.clone();
        let mut rows = Vec::new();
        // Each case is a blocking child process; keep the servers' runtime free while it runs.
        macro_rules! case {
            ($name:expr, $params:expr) => {{
                let params: Vec<(&'static str, String)> = $params;
                tokio::task::spawn_blocking(move || case($name, &params).map_err(|e| e.to_string()))
                    .await?
                    .map_err(BoxError::from)?
            }};
        }
        let with_url = |extra: Vec<(&'static str, String)>| {
            let mut params = vec![("url", url.clone())];
            params.extend(extra);
            params
        };

        // 1. Overhead: CPU time, rounds alternating, medians compared.
        let expected = sizes.incident_pages * 100;
        let (mut ours, mut raw) = (Vec::new(), Vec::new());
        let (mut ours_ct, mut raw_ct) = (Vec::new(), Vec::new());
        for round in 0..sizes.rounds {
            progress(&format!(
                "overhead, round {} of {}",
                round + 1,
                sizes.rounds
            ));
            for (side, runtime, into) in [
                ("overhead-raw", "multi-thread", &mut raw),
                ("overhead-casefile", "multi-thread", &mut ours),
                ("overhead-raw", "current-thread", &mut raw_ct),
                ("overhead-casefile", "current-thread", &mut ours_ct),
            ] {
                let result = case!(side, with_url(vec![("runtime", runtime.to_owned())]));
                check_items(&result, expected, side)?;
                into.push(f(&result, "cpu"));
            }
        }
        // The best of the rounds: other load on the machine only ever adds CPU time. The medians
        // are shown next to it.
        let (ours_ct, raw_ct) = (least(&ours_ct), least(&raw_ct));
        let (ours_median, raw_median) = (median(ours.clone()), median(raw.clone()));
        let (ours, raw) = (least(&ours), least(&raw));
        let ratio = ours / raw;
        rows.push(Row {
            target: format!(
                "1 overhead: CPU time streaming {} Atlos incidents ({} pages of 100), best of {}",
                thousands(expected),
                thousands(sizes.incident_pages),
                sizes.rounds
            ),
            casefile: format!("{ours:.2} s (median {ours_median:.2})"),
            baseline: format!("{raw:.2} s (median {raw_median:.2}; raw reqwest + serde loop)"),
            ratio: format!("{ratio:.2}×"),
            goal: "≤ 1.10×".into(),
            met: ratio <= 1.10,
        });
        rows.push(Row {
            target:
                "1 (diagnostic) the same on a current-thread runtime: no hand-over between threads"
                    .into(),
            casefile: format!("{ours_ct:.2} s"),
            baseline: format!("{raw_ct:.2} s"),
            ratio: format!("{:.2}×", ours_ct / raw_ct),
            goal: "(information)".into(),
            met: ours_ct / raw_ct <= 1.10,
        });

        // 2. Latency hiding.
        lean.set_latency(LATENCY);
        let pages = sizes.latency_pages;
        let items = pages * SEARCH_PAGE;
        progress("latency hiding");
        let sequential = case!("latency-sequential", with_url(vec![]));
        let default = case!("latency-default", with_url(vec![]));
        let fetch_sequential = case!("fetch-sequential", with_url(vec![]));
        let concurrent = case!("fetch-concurrency8", with_url(vec![]));
        for (r, name) in [
            (&sequential, "sequential"),
            (&default, "default stream"),
            (&fetch_sequential, "sequential fetch"),
            (&concurrent, "concurrency(8)"),
        ] {
            check_items(r, items, name)?;
        }
        let speedup = f(&sequential, "wall") / f(&default, "wall");
        rows.push(Row {
            target: format!(
                "2a latency: {pages} Aleph pages of {SEARCH_PAGE}, 20 ms server latency + 20 ms caller work a page"
            ),
            casefile: format!("{:.2} s (default stream)", f(&default, "wall")),
            baseline: format!(
                "{:.2} s (sequential fetch-then-work loop)",
                f(&sequential, "wall")
            ),
            ratio: format!("{speedup:.2}× faster"),
            goal: "≥ 1.8×".into(),
            met: speedup >= 1.8,
        });
        let speedup = f(&fetch_sequential, "wall") / f(&concurrent, "wall");
        rows.push(Row {
            target: format!("2b latency: the same {pages} offset pages, 20 ms latency, fetch only"),
            casefile: format!("{:.2} s (.concurrency(8))", f(&concurrent, "wall")),
            baseline: format!("{:.2} s (sequential loop)", f(&fetch_sequential, "wall")),
            ratio: format!("{speedup:.2}× faster"),
            goal: "≥ 6×".into(),
            met: speedup >= 6.0,
        });

        // 4. Bulk (before the memory cases, still with the latency on).
        progress("bulk");
        let n = sizes.bulk_entities;
        let four = case!(
            "bulk",
            with_url(vec![("n", n.to_string()), ("concurrency", "4".into())])
        );
        let one = case!(
            "bulk",
            with_url(vec![("n", n.to_string()), ("concurrency", "1".into())])
        );
        check_items(&four, n, "bulk")?;
        check_items(&one, n, "bulk")?;
        let speedup = f(&one, "wall") / f(&four, "wall");
        let bulk_row = Row {
            target: format!(
                "4 bulk: {} entities into Aleph, chunks of 1,000, 20 ms latency a request",
                thousands(n)
            ),
            casefile: format!("{:.2} s (.concurrency(4))", f(&four, "wall")),
            baseline: format!("{:.2} s (.concurrency(1))", f(&one, "wall")),
            ratio: format!("{speedup:.2}× faster"),
            goal: "≥ 3×".into(),
            met: speedup >= 3.0,
        };
        lean.set_latency(Duration::ZERO);

        // 3. Memory: each case at full size and at a quarter.
        let dir = tempfile::tempdir()?;
        let file_for = |size: u64| -> Result<String, BoxError> {
            let path = dir.path().join(format!("upload-{size}.bin"));
            // Sparse: the size without the disk writes.
            std::fs::File::create(&path)?.set_len(size)?;
            Ok(path.to_string_lossy().into_owned())
        };
        let mut memory = Vec::new();
        let (big_n, small_n) = (sizes.stream_entities, sizes.stream_entities / 4);
        progress("memory: _stream");
        let big = case!("stream", with_url(vec![("n", big_n.to_string())]));
        let small = case!("stream", with_url(vec![("n", small_n.to_string())]));
        check_items(&big, big_n, "stream")?;
        check_items(&small, small_n, "stream")?;
        memory.push((
            format!("streaming {} Aleph entities from _stream", thousands(big_n)),
            thousands(small_n),
            big,
            small,
        ));
        let (big_b, small_b) = (sizes.file_bytes, sizes.file_bytes / 4);
        for (name, what) in [
            ("upload-atlos", "uploading a {} file to Atlos"),
            ("ingest-aleph", "ingesting a {} file into Aleph"),
        ] {
            progress(&format!("memory: {name}"));
            let mut results = Vec::new();
            for size in [big_b, small_b] {
                let file = file_for(size)?;
                let before = lean.received.load(Ordering::Relaxed);
                let result = case!(name, with_url(vec![("file", file.clone())]));
                let received = lean.received.load(Ordering::Relaxed) - before;
                if received < size {
                    return Err(
                        format!("{name}: the server received {received} of {size} bytes").into(),
                    );
                }
                std::fs::remove_file(&file)?;
                results.push(result);
            }
            let small = results.pop().unwrap_or_default();
            let big = results.pop().unwrap_or_default();
            memory.push((
                what.replace("{}", &bytes(big_b)),
                bytes(small_b),
                big,
                small,
            ));
        }
        progress("memory: download");
        let mut results = Vec::new();
        for size in [big_b, small_b] {
            let file = dir
                .path()
                .join("download.bin")
                .to_string_lossy()
                .into_owned();
            let result = case!(
                "download",
                with_url(vec![("n", size.to_string()), ("file", file)])
            );
            if result["bytes"].as_u64() != Some(size) {
                return Err(format!("download: {result} is not {size} bytes").into());
            }
            results.push(result);
        }
        let small = results.pop().unwrap_or_default();
        let big = results.pop().unwrap_or_default();
        memory.push((
            format!(
                "downloading a {} archive blob, checked against its SHA-1",
                bytes(big_b)
            ),
            bytes(small_b),
            big,
            small,
        ));
        for (what, small_what, big, small) in memory {
            let (big, small) = (f(&big, "peak_rss") / MIB, f(&small, "peak_rss") / MIB);
            rows.push(Row {
                target: format!("3 memory: peak RSS {what}"),
                casefile: format!("{big:.1} MiB"),
                baseline: format!("{small:.1} MiB (at {small_what})"),
                ratio: format!("{:.2}×", big / small),
                goal: "< 64 MiB both, flat".into(),
                met: big < 64.0 && small < 64.0 && big / small < 1.25,
            });
        }
        rows.push(bulk_row);

        // 5. Digest: requests per call on the server's count.
        progress("digest");
        let calls = sizes.digest_calls;
        let sandbox = Sandbox::builder()
            .incidents(1)
            .entities(&[1])
            .attachments(3)
            .atlas_rate_limit(None)
            .start()
            .await?;
        let atlas = || {
            let (user, key) = sandbox.atlas_digest();
            casefile::atlas::Client::builder()
                .base_url(sandbox.atlas_url())
                .digest(user, key)
                .no_rate_limit()
                .build()
        };
        let client = atlas()?;
        client.attachments().list().first_page().await?;
        let before = sandbox.requests(Platform::Atlas);
        for _ in 0..calls {
            client.attachments().list().first_page().await?;
        }
        let ours = (sandbox.requests(Platform::Atlas) - before) as f64 / calls as f64;
        let before = sandbox.requests(Platform::Atlas);
        let http = reqwest::Client::new();
        for call in 0..calls {
            naive_digest_get(&http, &sandbox, 10_000 + call).await?;
        }
        let naive = (sandbox.requests(Platform::Atlas) - before) as f64 / calls as f64;
        rows.push(Row {
            target: format!("5 digest: HTTP requests per call after the first, {calls} calls"),
            casefile: format!("{ours:.2}"),
            baseline: format!("{naive:.2} (re-challenged every call)"),
            ratio: format!("{:.2}×", ours / naive),
            goal: "1.00 per call".into(),
            met: ours == 1.0,
        });

        print_table(&rows, sizes, quick, started.elapsed());
        Ok(())
    }

    /// A transport that does not keep the challenge: every call asks without credentials, reads
    /// the challenge, and sends again signed (with a fresh `nc`, so the server accepts it).
    async fn naive_digest_get(
        http: &reqwest::Client,
        sandbox: &Sandbox,
        nc: u64,
    ) -> Result<(), BoxError> {
        use md5::{Digest, Md5};
        let hex = |text: String| -> String {
            Md5::digest(text.as_bytes())
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect()
        };
        let uri = "/api/v1/attachments?pageNum=1&itemsPerPage=100";
        let url = format!("{}{uri}", sandbox.atlas_url());
        let challenge = http.get(&url).send().await?;
        let header = challenge
            .headers()
            .get(header::WWW_AUTHENTICATE)
            .and_then(|v| v.to_str().ok())
            .ok_or("no digest challenge")?
            .to_owned();
        let param = |name: &str| -> String {
            let key = format!("{name}=\"");
            header
                .split_once(&key)
                .and_then(|(_, rest)| rest.split_once('"'))
                .map(|(value, _)| value.to_owned())
                .unwrap_or_default()
        };
        let (realm, nonce, opaque) = (param("realm"), param("nonce"), param("opaque"));
        let (user, key) = sandbox.atlas_digest();
        let nc = format!("{nc:08x}");
        let cnonce = "0a4f113b";
        let ha1 = hex(format!("{user}:{realm}:{key}"));
        let ha2 = hex(format!("GET:{uri}"));
        let response = hex(format!("{ha1}:{nonce}:{nc}:{cnonce}:auth:{ha2}"));
        let authorization = format!(
            r#"Digest username="{user}", realm="{realm}", nonce="{nonce}", uri="{uri}", algorithm=MD5, qop=auth, nc={nc}, cnonce="{cnonce}", response="{response}", opaque="{opaque}""#
        );
        http.get(&url)
            .header(header::AUTHORIZATION, authorization)
            .send()
            .await?
            .error_for_status()?;
        Ok(())
    }

    fn check_items(result: &Value, expected: u64, case: &str) -> Result<(), BoxError> {
        match result["items"].as_u64() {
            Some(n) if n == expected => Ok(()),
            other => Err(format!("{case}: {other:?} items, expected {expected}").into()),
        }
    }

    fn thousands(n: u64) -> String {
        let digits = n.to_string();
        let mut out = String::new();
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i).is_multiple_of(3) {
                out.push(',');
            }
            out.push(c);
        }
        out
    }

    fn bytes(n: u64) -> String {
        if n >= 1 << 30 && n.is_multiple_of(1 << 30) {
            format!("{} GiB", n >> 30)
        } else {
            format!("{} MiB", n >> 20)
        }
    }

    fn print_table(rows: &[Row], sizes: Sizes, quick: bool, took: Duration) {
        let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
        println!();
        println!(
            "casefile e2e bench{} — {cores} cores, servers on 127.0.0.1 in the parent process, \
             each client in its own child process; took {:.0} s",
            if quick { " (--quick sizes)" } else { "" },
            took.as_secs_f64()
        );
        println!();
        println!("| target | casefile | baseline | ratio | goal | |");
        println!("|---|---|---|---|---|---|");
        for row in rows {
            println!(
                "| {} | {} | {} | {} | {} | {} |",
                row.target,
                row.casefile,
                row.baseline,
                row.ratio,
                row.goal,
                if row.met { "met" } else { "NOT MET" }
            );
        }
        let met = rows.iter().filter(|r| r.met).count();
        println!();
        println!("{met} of {} targets met.", rows.len());
        let _ = sizes;
    }
}
