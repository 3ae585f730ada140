//! URLs that are capabilities: whoever holds one can fetch what it points to.

use std::fmt;

use serde::{Deserialize, Serialize};
use url::Url;

use crate::error::{Error, Result, redact_url_text};

/// A signed or presigned URL a server handed out (an Atlas export's `presigned_url`, an Atlos
/// artifact's `access_url`, the `links` of Aleph objects, whose `file`, `pdf` and `csv` carry an
/// archive token): a capability, so it is kept out of every `Debug` and `Display` output, which show only scheme, host, port, path and the query's parameter names.
/// [`expose`](Self::expose) gives the URL itself, for the one place that fetches it.
///
/// ```
/// let url: casefile::SignedUrl =
///     serde_json::from_str(r#""https://s.example.org/f.pdf?X-Amz-Signature=abc""#).unwrap();
/// assert_eq!(format!("{url:?}"), "SignedUrl(https://s.example.org/f.pdf?X-Amz-Signature=…)");
/// assert!(url.expose().ends_with("=abc"));
/// ```
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SignedUrl(String);

impl SignedUrl {
    /// The URL as the server sent it, signature included. Hand it only to what fetches it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The URL parsed; an error that does not repeat the URL's query if it does not parse.
    pub fn url(&self) -> Result<Url> {
        Url::parse(&self.0)
            .map_err(|e| Error::invalid("url", format!("`{self}` is not a URL: {e}")))
    }
}

impl From<String> for SignedUrl {
    fn from(url: String) -> Self {
        SignedUrl(url)
    }
}

impl fmt::Debug for SignedUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SignedUrl({self})")
    }
}

impl fmt::Display for SignedUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&redact_url_text(&self.0))
    }
}
