//! In-process sandbox servers of the Atlos, Aleph and Atlas APIs, for trying casefile and for
//! testing your own integration offline (feature `testkit`).
//!
//! [`Sandbox::start`] binds three HTTP servers on `127.0.0.1` that behave like the real servers
//! as far as a client can tell: the same routes, auth checks, page sizes and cursors, error shapes
//! and status codes, omitted empty values, absolute `next` URLs on another origin, JSON-lines
//! streams, multipart ingest and upload, digest challenges with expiring nonces, and 429 past a
//! rate limit. State lives in memory, so a write shows up in the next read. Data is generated from
//! a fixed seed, so every run sees the same incidents, entities and attachments.
//!
//! [`Faults`] injects trouble on demand — latency, error statuses, 429s, bodies cut mid-way — so a
//! test can check that a job survives it.
//!
//! For programs in other languages, the `casefile-sandbox` binary (built with this feature:
//! `cargo install casefile --features testkit`) serves the three APIs until interrupted and prints
//! their URLs and credentials, as text with `export` lines or as JSON with `--json`
//! ([`Sandbox::endpoints`]). CI runs alephclient's CLI and auto-archiver's Atlos calls against it.
//!
//! # What it emulates, and what it does not
//!
//! | | Emulated | Not emulated |
//! |---|---|---|
//! | All three | routes, auth schemes and refusals, status codes, error bodies, pagination and cursors, omitted empty values, request counting, injected [`Faults`] | TLS; persistence (state lives in memory until the sandbox is dropped or the process ends); users other than the fixed [`credentials`]; hosting on anything but `127.0.0.1` |
//! | Atlos | incidents (list, filters, create), source material (list, get, create, metadata, upload with artifacts named by their SHA-256, alterable with [`Sandbox::tamper_atlos_artifact`]), updates, comments, attribute changes | archiving a source URL (no media is fetched), media processing, perceptual hashes, notifications, roles and project membership |
//! | Aleph | collections, entities (read, write, `_bulk` with namespaced ids, `_stream`), ingest with the folder tree, archive downloads through a signing storage host, permissions, mappings, alerts, search (`GET`/`POST /search`, filters, `exclude:`, `empty:`, ranges, `prefix`, facets with sizes, totals and date intervals), cross-referencing (a name matcher of its own), xref exports, profiles and pairwise judgements, entity sets and their items, expand / tags / similar / match, roles, groups, API keys, notifications, processing status (an upload, re-ingest or re-index keeps a collection busy for a few status reads), `/metadata` with followthemoney 3.5.9's model; as [`Flavor::OpenAleph`](crate::aleph::Flavor), OpenAleph 5.3.1-rc3's answers where they differ (followthemoney 4.10.0's model, highlights per field, Procrastinate's status, no `touch` / `generate_api_key`, `/api/2/healthz`, dataset-name foreign ids, the API key in the own role, the extra search keys, things searched without a schema, sharing without an e-mail check, file links only in the detail view as `archive/resolve`, and OpenAleph's own routes: more like this, nearby, mentions, percolate, thread, screening, tags); search exports made in the background; documents named by their SHA-1, alterable with [`Sandbox::tamper_aleph_file`] | Elasticsearch: `q` is a case-insensitive substring match, so no query syntax (hence no OpenAleph 500 for a bad query) or scoring, and highlights mark that substring in the name or title; text extraction, OCR and the processing of ingested files (a file becomes its entity at once, the queued work only shows in the status); followthemoney's comparison and xref models (matches, similar entities and `/match` are scored by name); a search export's file is a tab-separated list, not the zip of a sheet and the documents; `touch` is accepted and does nothing |
//! | Atlas | attachments and annotations (list, get, patch, export; [`Sandbox::add_atlas_attachment`], [`Sandbox::tamper_atlas_file`]), digest and bearer auth with expiring nonces, the server's own rate limit, `envelope=`/`pretty=` | everything outside the attachments API; a server's behaviour beyond the published docs and the recorded answers (there is no public Atlas source to read) |
//!
//! ```
//! use casefile::testkit::{Platform, Sandbox};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> casefile::Result<()> {
//! let sandbox = Sandbox::builder().incidents(30).start().await?;
//! println!("Atlos at {} with token {}", sandbox.atlos_url(), sandbox.atlos_token());
//! # #[cfg(feature = "atlos")]
//! # {
//! let atlos = sandbox.atlos()?;
//! sandbox.faults().fail_next(2, 503); // both answered 503, both retried
//! let page = atlos.incidents().list().first_page().await?;
//! assert!(!page.items.is_empty());
//! assert_eq!(sandbox.requests(Platform::Atlos), 3);
//! # }
//! # Ok(()) }
//! ```

// Route handlers return a ready `Response` as their error, so an early refusal is one `?`.
#![allow(clippy::result_large_err)]

mod aleph;
mod atlas;
mod atlos;
mod faults;
mod seed;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use serde_json::Value;
use tokio::task::JoinHandle;

pub use faults::Faults;

use crate::error::{Error, Result};

/// The three platforms of the sandbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Platform {
    /// The Atlos API v2.
    Atlos,
    /// The Aleph API 2.
    Aleph,
    /// The Atlas attachments API with the Atlas REST conventions.
    Atlas,
}

/// How much data the sandbox is seeded with, and how its servers are tuned.
#[derive(Debug, Clone)]
pub struct SandboxBuilder {
    seed: u64,
    incidents: usize,
    entities: Vec<usize>,
    attachments: usize,
    nonce_lifetime: Duration,
    atlas_rate_limit: Option<(u32, Duration)>,
    ports: [u16; 3],
    aleph_flavor: crate::aleph::Flavor,
}

impl Default for SandboxBuilder {
    fn default() -> Self {
        SandboxBuilder {
            seed: 7,
            incidents: 260,
            entities: vec![2400, 1200, 600],
            attachments: 60,
            nonce_lifetime: Duration::from_secs(300),
            atlas_rate_limit: Some((100, Duration::from_secs(60))),
            ports: [0; 3],
            aleph_flavor: crate::aleph::Flavor::Aleph,
        }
    }
}

impl SandboxBuilder {
    /// The seed of the generated data (default 7): the same seed gives the same data.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// How many Atlos incidents (default 260), each with source material and updates.
    pub fn incidents(mut self, n: usize) -> Self {
        self.incidents = n;
        self
    }

    /// How many entities each Aleph collection holds (default 2400, 1200 and 600: three
    /// collections). The first collection is secret, the others public.
    pub fn entities(mut self, per_collection: &[usize]) -> Self {
        self.entities = per_collection.to_vec();
        self
    }

    /// How many Atlas attachments (default 60), each with a few annotations.
    pub fn attachments(mut self, n: usize) -> Self {
        self.attachments = n;
        self
    }

    /// How long an Atlas digest nonce stays valid before the server answers `stale=true`
    /// (default 5 minutes).
    pub fn nonce_lifetime(mut self, lifetime: Duration) -> Self {
        self.nonce_lifetime = lifetime;
        self
    }

    /// The Atlas server's own rate limit per user (default 100 a minute, as the real one);
    /// `None` turns it off.
    pub fn atlas_rate_limit(mut self, limit: Option<(u32, Duration)>) -> Self {
        self.atlas_rate_limit = limit;
        self
    }

    /// The port a platform's server listens on, on `127.0.0.1` (default 0: any free port).
    /// A fixed port lets programs in other languages find the sandbox at a known URL; starting
    /// fails if the port is taken.
    pub fn port(mut self, platform: Platform, port: u16) -> Self {
        self.ports[platform as usize] = port;
        self
    }

    /// Which Aleph the Aleph server is (default [`Flavor::Aleph`](crate::aleph::Flavor), as
    /// Aleph 4.1.6 answers): [`Flavor::OpenAleph`](crate::aleph::Flavor) answers as OpenAleph
    /// 5.3 does where the two differ (see the README's "Supported servers").
    pub fn aleph_flavor(mut self, flavor: crate::aleph::Flavor) -> Self {
        self.aleph_flavor = flavor;
        self
    }

    /// Starts the three servers.
    pub async fn start(self) -> Result<Sandbox> {
        let faults = Faults::default();
        let (atlos_listener, atlos_addr) = bind(self.ports[Platform::Atlos as usize]).await?;
        let (aleph_listener, aleph_addr) = bind(self.ports[Platform::Aleph as usize]).await?;
        let (atlas_listener, atlas_addr) = bind(self.ports[Platform::Atlas as usize]).await?;
        // Aleph's archive storage, on another origin: always a free port.
        let (storage_listener, storage_addr) = bind(0).await?;
        let (atlos, atlos_control) =
            atlos::router(seed::atlos(self.seed, self.incidents), faults.clone());
        let (aleph, aleph_storage, aleph_control) = aleph::router(
            seed::aleph(self.seed, &self.entities),
            self.aleph_flavor,
            aleph_addr,
            storage_addr,
            faults.clone(),
        );
        let (atlas, atlas_handle) = atlas::router(
            seed::atlas(self.seed, self.attachments),
            atlas::Settings {
                addr: atlas_addr,
                nonce_lifetime: self.nonce_lifetime,
                rate_limit: self.atlas_rate_limit,
            },
            faults.clone(),
        );
        Ok(Sandbox {
            servers: vec![
                Server::spawn(atlos_listener, atlos_addr, atlos),
                Server::spawn(aleph_listener, aleph_addr, aleph),
                Server::spawn(atlas_listener, atlas_addr, atlas),
                // Not a platform: the object store Aleph's archive redirects to.
                Server::spawn(storage_listener, storage_addr, aleph_storage),
            ],
            faults,
            atlos: atlos_control,
            aleph: aleph_control,
            atlas: atlas_handle,
        })
    }
}

/// Credentials the sandbox accepts.
pub mod credentials {
    /// The Atlos API token (44 characters of URL-safe base64, like real ones).
    pub const ATLOS_TOKEN: &str = "c2FuZGJveC10b2tlbi1mb3ItY2FzZWZpbGUtdGVzdHM=";
    /// The Aleph API key.
    pub const ALEPH_API_KEY: &str = "5a4d8c1e0b7f4e2a9c3d6b8e1f0a2c4d";
    /// The Atlas user for digest authentication.
    pub const ATLAS_USERNAME: &str = "analyst@arena.example";
    /// The Atlas API key (the digest password).
    pub const ATLAS_API_KEY: &str = "atlas-sandbox-api-key-0f9e8d";
    /// The Atlas bearer token.
    pub const ATLAS_TOKEN: &str = "atlas-sandbox-bearer-7c6b5a";
}

/// Running sandbox servers. Dropping it stops them.
#[derive(Debug)]
pub struct Sandbox {
    servers: Vec<Server>,
    faults: Faults,
    /// The Atlos server's state, for the method that alters stored files.
    atlos: atlos::Control,
    /// The Aleph server's state, for the method that alters stored files.
    aleph: aleph::Control,
    /// The Atlas server's state, for the methods that add attachments and alter stored files.
    atlas: atlas::Handle,
}

impl Sandbox {
    /// Starts the sandbox with the default seed data.
    pub async fn start() -> Result<Sandbox> {
        SandboxBuilder::default().start().await
    }

    /// A builder to choose the seed data and server settings.
    pub fn builder() -> SandboxBuilder {
        SandboxBuilder::default()
    }

    fn server(&self, platform: Platform) -> &Server {
        // `servers` always holds the three platforms in order (then Aleph's storage host).
        &self.servers[platform as usize]
    }

    /// The root URL of a platform's server (the API is under its usual prefix).
    pub fn url(&self, platform: Platform) -> String {
        format!("http://{}", self.server(platform).addr)
    }

    /// The Atlos instance root, e.g. `http://127.0.0.1:41234`.
    pub fn atlos_url(&self) -> String {
        self.url(Platform::Atlos)
    }

    /// The Atlos API token.
    pub fn atlos_token(&self) -> &'static str {
        credentials::ATLOS_TOKEN
    }

    /// The Aleph instance root.
    pub fn aleph_url(&self) -> String {
        self.url(Platform::Aleph)
    }

    /// The Aleph API key.
    pub fn aleph_api_key(&self) -> &'static str {
        credentials::ALEPH_API_KEY
    }

    /// The Atlas instance root.
    pub fn atlas_url(&self) -> String {
        self.url(Platform::Atlas)
    }

    /// The Atlas digest username and API key.
    pub fn atlas_digest(&self) -> (&'static str, &'static str) {
        (credentials::ATLAS_USERNAME, credentials::ATLAS_API_KEY)
    }

    /// The Atlas bearer token.
    pub fn atlas_token(&self) -> &'static str {
        credentials::ATLAS_TOKEN
    }

    /// An Atlos client for the sandbox.
    #[cfg(feature = "atlos")]
    pub fn atlos(&self) -> Result<crate::atlos::Client> {
        crate::atlos::Client::builder()
            .base_url(self.atlos_url())
            .token(self.atlos_token())
            .build()
    }

    /// An Aleph client for the sandbox, signed in with its API key.
    #[cfg(feature = "aleph")]
    pub fn aleph(&self) -> Result<crate::aleph::Client> {
        crate::aleph::Client::builder()
            .base_url(self.aleph_url())
            .api_key(self.aleph_api_key())
            .build()
    }

    /// An Atlas client for the sandbox, signed in with HTTP Digest.
    #[cfg(feature = "atlas")]
    pub fn atlas(&self) -> Result<crate::atlas::Client> {
        let (user, key) = self.atlas_digest();
        crate::atlas::Client::builder()
            .base_url(self.atlas_url())
            .digest(user, key)
            .build()
    }

    /// The faults injected into all three servers.
    pub fn faults(&self) -> &Faults {
        &self.faults
    }

    /// Alters the stored file of the Atlos artifact `artifact_id` in place, as corruption or
    /// tampering in object storage would: one byte changes, while its length and the
    /// `file_hash_sha256` the API announces stay as they were, so only a download that checks
    /// the hash notices. Returns `false` when the sandbox stores no file of that id (the ids
    /// are the `id` of each entry of a source material's `artifacts`).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> casefile::Result<()> {
    /// let sandbox = casefile::testkit::Sandbox::builder().incidents(5).start().await?;
    /// assert!(!sandbox.tamper_atlos_artifact("00000000-0000-0000-0000-000000000000"));
    /// # Ok(()) }
    /// ```
    pub fn tamper_atlos_artifact(&self, artifact_id: &str) -> bool {
        self.atlos.tamper(artifact_id)
    }

    /// Alters the stored file of an Aleph document in place, as corruption or tampering in the
    /// archive would: one byte changes, while the document's `contentHash` (the file's SHA-1,
    /// which names it) and length stay as they were, so only a download that checks the hash
    /// notices. Returns `false` when the sandbox stores no such file, or it is empty.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> casefile::Result<()> {
    /// let sandbox = casefile::testkit::Sandbox::builder().entities(&[3]).start().await?;
    /// assert!(!sandbox.tamper_aleph_file("31d9d7413d95227306cacaf8f1ae644f2afd35ad"));
    /// # Ok(()) }
    /// ```
    pub fn tamper_aleph_file(&self, content_hash: &str) -> bool {
        self.aleph.tamper(content_hash)
    }

    /// How many requests a platform's server has received so far (including refused ones).
    pub fn requests(&self, platform: Platform) -> u64 {
        self.faults.requests(platform)
    }

    /// Where the three servers are and the credentials they accept, for handing to another
    /// program: as JSON ([`Endpoints::to_json`]) or as `export` lines of the environment
    /// variables casefile's `from_env` constructors and alephclient read ([`Endpoints::env`]).
    pub fn endpoints(&self) -> Endpoints {
        let (atlas_username, atlas_api_key) = self.atlas_digest();
        Endpoints {
            atlos_url: self.atlos_url(),
            atlos_token: self.atlos_token(),
            aleph_url: self.aleph_url(),
            aleph_api_key: self.aleph_api_key(),
            atlas_url: self.atlas_url(),
            atlas_username,
            atlas_api_key,
            atlas_token: self.atlas_token(),
        }
    }
}

/// The URLs of a running [`Sandbox`] and the credentials it accepts (all of them the fixed,
/// public sandbox values of [`credentials`], so none is a secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoints {
    /// The Atlos instance root.
    pub atlos_url: String,
    /// The Atlos API token.
    pub atlos_token: &'static str,
    /// The Aleph instance root.
    pub aleph_url: String,
    /// The Aleph API key.
    pub aleph_api_key: &'static str,
    /// The Atlas instance root.
    pub atlas_url: String,
    /// The Atlas digest username.
    pub atlas_username: &'static str,
    /// The Atlas API key (the digest password).
    pub atlas_api_key: &'static str,
    /// The Atlas bearer token (an alternative to digest authentication).
    pub atlas_token: &'static str,
}

impl Endpoints {
    /// The environment variables that point casefile's `from_env` constructors (and
    /// alephclient, through `ALEPHCLIENT_HOST` and `ALEPHCLIENT_API_KEY`, and openaleph-client,
    /// through `OPENALEPH_HOST` and `OPENALEPH_API_KEY`) at the sandbox, in a fixed order. Atlas is given digest credentials, as [`Sandbox::atlas`] uses; set
    /// `ATLAS_TOKEN` instead of the two to use the bearer token.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("ATLOS_URL", self.atlos_url.clone()),
            ("ATLOS_API_TOKEN", self.atlos_token.to_owned()),
            ("ALEPH_URL", self.aleph_url.clone()),
            ("ALEPH_API_KEY", self.aleph_api_key.to_owned()),
            ("ALEPHCLIENT_HOST", self.aleph_url.clone()),
            ("ALEPHCLIENT_API_KEY", self.aleph_api_key.to_owned()),
            ("OPENALEPH_HOST", self.aleph_url.clone()),
            ("OPENALEPH_API_KEY", self.aleph_api_key.to_owned()),
            ("ATLAS_URL", self.atlas_url.clone()),
            ("ATLAS_USERNAME", self.atlas_username.to_owned()),
            ("ATLAS_API_KEY", self.atlas_api_key.to_owned()),
        ]
    }

    /// One JSON object: `{"atlos": {"url", "token"}, "aleph": {"url", "api_key"}, "atlas":
    /// {"url", "username", "api_key", "token"}, "env": {NAME: value, ...}}`.
    pub fn to_json(&self) -> Value {
        let env: serde_json::Map<String, Value> = self
            .env()
            .into_iter()
            .map(|(name, value)| (name.to_owned(), Value::String(value)))
            .collect();
        serde_json::json!({
            "atlos": {"url": self.atlos_url, "token": self.atlos_token},
            "aleph": {"url": self.aleph_url, "api_key": self.aleph_api_key},
            "atlas": {
                "url": self.atlas_url,
                "username": self.atlas_username,
                "api_key": self.atlas_api_key,
                "token": self.atlas_token,
            },
            "env": env,
        })
    }
}

/// Human-readable: one block per platform, then the `export` lines of [`Endpoints::env`] (the
/// values single-quoted, so the lines can be pasted into a POSIX shell).
impl std::fmt::Display for Endpoints {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "Atlos  {}", self.atlos_url)?;
        writeln!(f, "       token     {}", self.atlos_token)?;
        writeln!(f, "Aleph  {}", self.aleph_url)?;
        writeln!(f, "       api key   {}", self.aleph_api_key)?;
        writeln!(f, "Atlas  {}", self.atlas_url)?;
        writeln!(
            f,
            "       digest    {} / {}",
            self.atlas_username, self.atlas_api_key
        )?;
        writeln!(f, "       token     {}", self.atlas_token)?;
        writeln!(f)?;
        for (name, value) in self.env() {
            writeln!(f, "export {name}='{value}'")?;
        }
        Ok(())
    }
}

#[derive(Debug)]
struct Server {
    addr: SocketAddr,
    task: JoinHandle<()>,
}

impl Server {
    fn spawn(listener: tokio::net::TcpListener, addr: SocketAddr, router: Router) -> Server {
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        Server { addr, task }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn bind(port: u16) -> Result<(tokio::net::TcpListener, SocketAddr)> {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .map_err(|e| {
            Error::io(
                format!("cannot bind a sandbox server on 127.0.0.1:{port}"),
                e,
            )
        })?;
    let addr = listener
        .local_addr()
        .map_err(|e| Error::io("cannot read the sandbox server's address", e))?;
    Ok((listener, addr))
}

/// A JSON response.
fn json(status: u16, body: &Value) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = Response::new(Body::from(body.to_string()));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/json"),
    );
    response
}

/// A response with a body of the given content type.
fn raw(status: u16, content_type: &'static str, body: impl Into<Body>) -> Response {
    let mut response = Response::new(body.into());
    *response.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static(content_type),
    );
    response
}

/// The query string as ordered pairs.
fn query_pairs(uri: &axum::http::Uri) -> Vec<(String, String)> {
    url::form_urlencoded::parse(uri.query().unwrap_or("").as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// The path after `prefix`, split into percent-decoded segments; `None` if the path is not under
/// `prefix`.
fn segments(uri: &axum::http::Uri, prefix: &str) -> Option<Vec<String>> {
    let rest = uri.path().strip_prefix(prefix)?;
    Some(
        rest.split('/')
            .filter(|s| !s.is_empty())
            .map(|s| {
                percent_encoding::percent_decode_str(s)
                    .decode_utf8_lossy()
                    .into_owned()
            })
            .collect(),
    )
}

/// The storage host behind archive redirects and presigned URLs: serves `blob` (file name and
/// bytes) to a URL signed for `key`, and like a real object store refuses a request that carries
/// credentials it did not issue.
fn storage(
    key: &str,
    headers: &HeaderMap,
    query: &[(String, String)],
    blob: impl FnOnce() -> Option<(String, Vec<u8>)>,
) -> Response {
    if headers.contains_key(header::AUTHORIZATION) {
        return raw(
            400,
            "application/xml",
            "<Error><Code>InvalidArgument</Code><Message>Only one auth mechanism allowed</Message></Error>",
        );
    }
    let signature = query
        .iter()
        .find(|(k, _)| k == "sig")
        .map(|(_, v)| v.as_str());
    if signature != Some(sign(&["storage", key]).as_str()) {
        return raw(
            403,
            "application/xml",
            "<Error><Code>AccessDenied</Code></Error>",
        );
    }
    match blob() {
        Some((name, bytes)) => {
            let mut response = raw(200, "application/octet-stream", bytes);
            if let Ok(value) = format!("attachment; filename=\"{name}\"").parse() {
                response
                    .headers_mut()
                    .insert(header::CONTENT_DISPOSITION, value);
            }
            response
        }
        None => raw(
            404,
            "application/xml",
            "<Error><Code>NoSuchKey</Code></Error>",
        ),
    }
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
}

/// A short deterministic signature, for cursors, ingest ids and presigned URLs.
fn sign(parts: &[&str]) -> String {
    use sha2::Digest;
    let mut hasher = sha2::Sha256::new();
    for part in parts {
        hasher.update(part.as_bytes());
        hasher.update([0]);
    }
    hasher.finalize()[..16]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The state of one platform's server, behind a lock that is never held across an await.
type Shared<S> = Arc<std::sync::Mutex<S>>;

fn lock<S>(state: &Shared<S>) -> std::sync::MutexGuard<'_, S> {
    state.lock().unwrap_or_else(|p| p.into_inner())
}
