//! Which Aleph the client talks to: Aleph 4.1 (alephdata/aleph, open source until 4.1.6) or
//! OpenAleph 5 (openaleph/openaleph, the fork of Aleph 3.17 maintained by the Data and Research
//! Center). Both keep the same API under `/api/2`, but each has routes the other lacks and a few
//! answers of a different shape; see the README's "Supported servers".
//!
//! The client learns the server from `GET /metadata` (`app.version`, and the shape of the answer
//! where the version says nothing), once, the first time an operation that differs needs to know,
//! and keeps it with the FollowTheMoney model of the same answer. A builder told the server
//! ([`ClientBuilder::server`](crate::ClientBuilder::server)) never asks.

use std::fmt;
use std::sync::Arc;

use futures::FutureExt;

use super::{Metadata, Model};
use crate::error::{Error, Result};
use crate::transport::{Gate, Transport};

/// The two servers casefile's Aleph client speaks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Flavor {
    /// Aleph (alephdata/aleph) 4.x, the last open-source line (4.1.6, 2025-08-07); older
    /// versions are read as it.
    Aleph,
    /// OpenAleph (openaleph/openaleph) 5.x.
    OpenAleph,
}

impl fmt::Display for Flavor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Flavor::Aleph => "Aleph",
            Flavor::OpenAleph => "OpenAleph",
        })
    }
}

/// A server's release, `major.minor.patch` (a pre-release such as `5.3.1-rc3` counts as its
/// release).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Version {
    /// The major release (4 for Aleph 4.1.6, 5 for OpenAleph).
    pub major: u32,
    /// The minor release.
    pub minor: u32,
    /// The patch release.
    pub patch: u32,
}

impl Version {
    /// `major.minor.patch`.
    pub const fn new(major: u32, minor: u32, patch: u32) -> Self {
        Version {
            major,
            minor,
            patch,
        }
    }

    /// Reads the leading `MAJOR[.MINOR[.PATCH]]` of a version string (`4.1.6`, `5.3.1-rc3`,
    /// `v5.2`); `None` when it does not start with a number.
    pub fn parse(text: &str) -> Option<Version> {
        let text = text.trim().trim_start_matches(['v', 'V']);
        let mut numbers = text.split('.').map(|part| {
            let digits: String = part.chars().take_while(char::is_ascii_digit).collect();
            digits.parse::<u32>().ok()
        });
        let major = numbers.next()??;
        let minor = numbers.next().flatten().unwrap_or(0);
        let patch = numbers.next().flatten().unwrap_or(0);
        Some(Version::new(major, minor, patch))
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)
    }
}

/// The server a client talks to: which one, and which release when it said.
///
/// ```
/// use casefile::aleph::{Feature, Server};
///
/// let server = Server::openaleph("5.3.0");
/// assert_eq!(server.to_string(), "OpenAleph 5.3.0");
/// assert!(!server.supports(Feature::Touch));
/// assert!(server.supports(Feature::Mentions));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Server {
    /// Aleph or OpenAleph.
    pub flavor: Flavor,
    /// The release, when the server's version string could be read.
    pub version: Option<Version>,
}

impl Server {
    /// Aleph at `version` (`"4.1.6"`).
    pub fn aleph(version: &str) -> Server {
        Server {
            flavor: Flavor::Aleph,
            version: Version::parse(version),
        }
    }

    /// OpenAleph at `version` (`"5.3.0"`).
    pub fn openaleph(version: &str) -> Server {
        Server {
            flavor: Flavor::OpenAleph,
            version: Version::parse(version),
        }
    }

    /// The server a `GET /metadata` answer describes.
    ///
    /// `app.version` decides: 5 and later is OpenAleph (it numbered its first release 5.0.0),
    /// earlier is Aleph. Without a readable version the answer's shape does: only OpenAleph
    /// sends `feature_flags.timelines`/`lists`/`diagrams`, `services` and `service_urls`
    /// (openaleph `aleph/views/base_api.py` `metadata`), and only FollowTheMoney 4, which only
    /// OpenAleph runs, puts a `version` in the model.
    pub fn from_metadata(metadata: &Metadata) -> Server {
        let version = metadata.app.version.as_deref().and_then(Version::parse);
        let flavor = match version {
            Some(v) if v.major >= 5 => Flavor::OpenAleph,
            Some(_) => Flavor::Aleph,
            None if metadata.looks_like_openaleph() => Flavor::OpenAleph,
            None => Flavor::Aleph,
        };
        Server { flavor, version }
    }

    /// Whether the server has `feature` (by its flavor and release; a release it did not say is
    /// taken to have every feature of its flavor).
    pub fn supports(&self, feature: Feature) -> bool {
        let (flavor, since) = feature.home();
        self.flavor == flavor && self.version.is_none_or(|v| v >= since)
    }

    /// `Ok` when the server has `feature`, else the [`Error::Unsupported`] that names it and the
    /// server.
    pub fn require(&self, feature: Feature) -> Result<()> {
        if self.supports(feature) {
            return Ok(());
        }
        let (flavor, since) = feature.home();
        let instead = match (feature, flavor == self.flavor) {
            (_, true) => format!("it came in {flavor} {since}"),
            (Feature::GenerateApiKey, false) => "OpenAleph API keys do not expire; a user reads \
                 theirs as `api_key` in `GET /roles/{own id}`"
                .into(),
            (Feature::Touch, false) => "OpenAleph updates a collection's date when it \
                 writes to it"
                .into(),
            (Feature::CustomHighlight, false) => "OpenAleph answers 500 to `highlight_text` \
                 and `highlight_length` (openaleph-search `parse/parser.py`); use `highlight` and \
                 `highlight_count`"
                .into(),
            _ => format!("it exists on {flavor} {since} and later"),
        };
        Err(Error::Unsupported {
            operation: feature.operation(),
            server: self.to_string(),
            instead,
        })
    }
}

impl fmt::Display for Server {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.version {
            Some(version) => write!(f, "{} {version}", self.flavor),
            None => write!(f, "{} (version not given)", self.flavor),
        }
    }
}

/// What only one of the two servers has, from which release. casefile checks the ones an
/// operation needs before sending it (see [`Server::require`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Feature {
    /// `POST /collections/{id}/touch` (Aleph; removed in OpenAleph 5.0).
    Touch,
    /// `POST /roles/{id}/generate_api_key` (Aleph; OpenAleph keys never expire).
    GenerateApiKey,
    /// `highlight_text` and `highlight_length` in a search (Aleph; OpenAleph answers 500).
    CustomHighlight,
    /// `GET /entities/{id}/more_like_this` (OpenAleph 5.0).
    MoreLikeThis,
    /// `GET /entities/{id}/nearby` (OpenAleph 5.0).
    Nearby,
    /// `/tags`: users' tags on entities of a taggable collection (OpenAleph 5.1).
    Tagging,
    /// `GET /entities/{id}/mentions` (OpenAleph 5.3).
    Mentions,
    /// `GET /entities/{id}/percolate` (OpenAleph 5.3).
    Percolate,
    /// `GET /entities/{id}/thread` (OpenAleph 5.3).
    Thread,
    /// `GET /screening` (OpenAleph 5.3).
    Screening,
}

impl Feature {
    /// The server that has the feature, and the release it came in.
    fn home(self) -> (Flavor, Version) {
        use Feature::*;
        match self {
            Touch | GenerateApiKey | CustomHighlight => (Flavor::Aleph, Version::new(0, 0, 0)),
            MoreLikeThis | Nearby => (Flavor::OpenAleph, Version::new(5, 0, 0)),
            Tagging => (Flavor::OpenAleph, Version::new(5, 1, 0)),
            Mentions | Percolate | Thread | Screening => (Flavor::OpenAleph, Version::new(5, 3, 0)),
        }
    }

    /// The operation's name in an error.
    fn operation(self) -> &'static str {
        use Feature::*;
        match self {
            Touch => "touch",
            GenerateApiKey => "generate_api_key",
            CustomHighlight => "highlight_text/highlight_length",
            MoreLikeThis => "more_like_this",
            Nearby => "nearby",
            Tagging => "tags",
            Mentions => "mentions",
            Percolate => "percolate",
            Thread => "thread",
            Screening => "screening",
        }
    }
}

/// What a client knows of its server: what `GET /metadata` said (fetched the first time it is
/// needed, then shared by every clone of the client), or the server the builder was told.
#[derive(Clone)]
pub(crate) struct Known {
    transport: Transport,
    fetched: Arc<tokio::sync::OnceCell<Fetched>>,
    told: Option<Server>,
}

/// What the client keeps of the metadata: the server it describes and its model.
struct Fetched {
    server: Server,
    model: Arc<Model>,
}

impl fmt::Debug for Known {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The model is large; say only whether it is there.
        let fetched = self.fetched.get().map(|f| &f.server);
        f.debug_struct("Known")
            .field("told", &self.told)
            .field("fetched", &fetched)
            .finish()
    }
}

impl Known {
    pub(crate) fn new(transport: Transport, told: Option<Server>) -> Self {
        Known {
            transport,
            fetched: Arc::default(),
            told,
        }
    }

    /// What the metadata said, fetched the first time (concurrent callers wait for the one
    /// request; a failed fetch is not kept, the next call tries again).
    async fn fetched(&self) -> Result<&Fetched> {
        self.fetched
            .get_or_try_init(|| async {
                let metadata: Metadata = self.transport.get(&["metadata"]).send().await?;
                Ok(Fetched {
                    server: Server::from_metadata(&metadata),
                    model: Arc::new(metadata.model),
                })
            })
            .await
    }

    /// The server's FollowTheMoney model.
    pub(crate) async fn model(&self) -> Result<Arc<Model>> {
        Ok(self.fetched().await?.model.clone())
    }

    /// The server: as told, or as the metadata describes it.
    pub(crate) async fn server(&self) -> Result<Server> {
        if let Some(server) = &self.told {
            return Ok(server.clone());
        }
        match self.fetched().await {
            Ok(fetched) => Ok(fetched.server.clone()),
            Err(error) => Err(learning(error)),
        }
    }

    /// A check, run before a request is sent, that the server has `feature`.
    pub(crate) fn gate(&self, feature: Feature) -> Gate {
        self.check(move |server| server.require(feature))
    }

    /// A check of the server, run before a request is sent (an argument one of the servers
    /// refuses, say).
    pub(crate) fn check(
        &self,
        check: impl Fn(&Server) -> Result<()> + Send + Sync + 'static,
    ) -> Gate {
        let known = self.clone();
        let check = Arc::new(check);
        Arc::new(move || {
            let (known, check) = (known.clone(), check.clone());
            async move { check(&known.server().await?) }.boxed()
        })
    }
}

/// The error of a failed `GET /metadata`, saying why it was sent.
fn learning(error: Error) -> Error {
    match error {
        Error::Api(mut api) => {
            api.message = format!(
                "{} (while learning which server this is from GET /metadata; a client can be \
                 told with `ClientBuilder::server`)",
                api.message
            );
            Error::Api(api)
        }
        other => other,
    }
}
