//! Credentials, and the one place that turns them into an `Authorization` header.

use std::fmt;

use super::digest::DigestAuth;

/// A secret string (token, API key, password). Its `Debug` never shows the value and it has no
/// `Display`, so it cannot end up in a log line or an error by accident.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The secret itself, for the code that has to send it.
    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(\"***\")")
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Secret(value)
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Secret(value.to_owned())
    }
}

/// How a client authenticates.
///
/// ```
/// use casefile::Auth;
///
/// let auth = Auth::digest("analyst", "api-key-123");
/// assert!(!format!("{auth:?}").contains("api-key-123"));
/// ```
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum Auth {
    /// No credentials.
    None,
    /// `Authorization: Bearer <token>` (Atlos, Atlas).
    Bearer(Secret),
    /// `Authorization: ApiKey <key>` (Aleph).
    ApiKey(Secret),
    /// HTTP Digest (RFC 7616) with a username and password (the Atlas REST conventions).
    Digest {
        /// The account name.
        username: String,
        /// The password or API key.
        password: Secret,
    },
}

impl Auth {
    /// Bearer token authentication.
    pub fn bearer(token: impl Into<Secret>) -> Self {
        Auth::Bearer(token.into())
    }

    /// Aleph's `ApiKey` authentication.
    pub fn api_key(key: impl Into<Secret>) -> Self {
        Auth::ApiKey(key.into())
    }

    /// HTTP Digest authentication.
    pub fn digest(username: impl Into<String>, password: impl Into<Secret>) -> Self {
        Auth::Digest {
            username: username.into(),
            password: password.into(),
        }
    }
}

/// The credentials of a live transport: fixed headers, or a digest session that learns its
/// challenge from the server.
pub(crate) enum Credentials {
    None,
    Header(reqwest::header::HeaderValue),
    Digest(DigestAuth),
}

impl Credentials {
    pub(crate) fn new(auth: Auth) -> Result<Self, crate::Error> {
        let header = |scheme: &str, secret: &Secret| {
            let mut value =
                reqwest::header::HeaderValue::from_str(&format!("{scheme} {}", secret.expose()))
                    .map_err(|_| {
                        crate::Error::Config(format!(
                            "the {scheme} credential contains characters a header cannot carry"
                        ))
                    })?;
            value.set_sensitive(true);
            Ok(Credentials::Header(value))
        };
        match auth {
            Auth::None => Ok(Credentials::None),
            Auth::Bearer(token) => header("Bearer", &token),
            Auth::ApiKey(key) => header("ApiKey", &key),
            Auth::Digest { username, password } => {
                Ok(Credentials::Digest(DigestAuth::new(username, password)))
            }
        }
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Credentials::None => f.write_str("None"),
            Credentials::Header(_) => f.write_str("Header(***)"),
            Credentials::Digest(d) => d.fmt(f),
        }
    }
}
