//! HTTP Digest authentication (RFC 7616) that costs one request per call.
//!
//! Most digest clients answer every request's 401 challenge anew, so each call costs two round
//! trips. This one keeps the last challenge and signs the next requests with it straight away,
//! counting `nc` up; only when the server says the nonce went `stale` does it take the new one
//! and send the request once more.
//!
//! A 401 that is not stale after a signed request means the credentials are wrong, unless it
//! carries a nonce other than the one signed: a server may rotate its nonces without saying
//! `stale` (Spring Security's entry point, behind Atlas, issues a fresh nonce with every
//! challenge), so such a new nonce is answered once per call, and a second refusal ends the
//! call. The session always keeps the server's latest challenge, so a failure never leaves the
//! client signing a dead nonce: the next call can authenticate again. Only challenges from the
//! origin the request was signed for are taken (see `Transport::attempt`).
//!
//! Supported: `MD5`, `SHA-256` and their `-sess` forms; `qop=auth` (or no `qop`, RFC 2069);
//! `opaque` echoed. The parser accepts quoted commas and escapes, unquoted values (`algorithm`,
//! `qop`, nonces with `+ / =`), unknown parameters and several challenges in one header.

use std::fmt;
use std::sync::Mutex;

use md5::Md5;
use sha2::{Digest as _, Sha256};

use super::auth::Secret;

/// One challenge from a `WWW-Authenticate` header: its scheme and parameters in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Challenge {
    pub scheme: String,
    pub params: Vec<(String, String)>,
}

impl Challenge {
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Parses every challenge in one `WWW-Authenticate` header value.
pub(crate) fn parse_challenges(header: &str) -> Vec<Challenge> {
    let mut out: Vec<Challenge> = Vec::new();
    let mut rest = header;
    loop {
        rest = rest.trim_start_matches(|c: char| c == ',' || c.is_whitespace());
        if rest.is_empty() {
            return out;
        }
        let end = rest
            .find(|c: char| c == '=' || c == ',' || c.is_whitespace())
            .unwrap_or(rest.len());
        let token = &rest[..end];
        let after = rest[end..].trim_start();
        // `name=value` is a parameter unless the `=` starts a token68 padding run (`abc==`).
        if let Some(value_part) = after.strip_prefix('=')
            && !value_part.starts_with('=')
            && !token.is_empty()
        {
            let value_part = value_part.trim_start();
            let (value, remaining) = if let Some(quoted) = value_part.strip_prefix('"') {
                read_quoted(quoted)
            } else {
                let end = value_part
                    .find(|c: char| c == ',' || c.is_whitespace())
                    .unwrap_or(value_part.len());
                (value_part[..end].to_owned(), &value_part[end..])
            };
            if let Some(current) = out.last_mut() {
                current.params.push((token.to_ascii_lowercase(), value));
            }
            rest = remaining;
        } else if token.is_empty() {
            // A stray `=`: skip it.
            rest = &rest[1..];
        } else {
            // A token not followed by `=` opens a new challenge; a token68 after it is skipped.
            out.push(Challenge {
                scheme: token.to_owned(),
                params: Vec::new(),
            });
            rest = &rest[end..];
            let trimmed = rest.trim_start();
            if !trimmed.starts_with(',') {
                // Possibly `Scheme token68`: if what follows is not `name=`, skip the token68.
                let next_end = trimmed
                    .find(|c: char| c == ',' || c.is_whitespace())
                    .unwrap_or(trimmed.len());
                let candidate = &trimmed[..next_end];
                let looks_like_param = candidate
                    .find('=')
                    .is_some_and(|i| i > 0 && !candidate[i + 1..].starts_with('='));
                if !candidate.is_empty() && !looks_like_param {
                    rest = &trimmed[next_end..];
                }
            }
        }
    }
}

/// Reads a quoted string whose opening quote was already consumed; returns it unescaped and the
/// text after the closing quote.
fn read_quoted(s: &str) -> (String, &str) {
    let mut value = String::new();
    let mut chars = s.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' => {
                if let Some((_, escaped)) = chars.next() {
                    value.push(escaped);
                }
            }
            '"' => return (value, &s[i + 1..]),
            c => value.push(c),
        }
    }
    (value, "")
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Algorithm {
    Md5,
    Sha256,
}

impl Algorithm {
    fn hash(self, data: &str) -> String {
        match self {
            Algorithm::Md5 => hex(&Md5::digest(data.as_bytes())),
            Algorithm::Sha256 => hex(&Sha256::digest(data.as_bytes())),
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[(b >> 4) as usize] as char);
        s.push(DIGITS[(b & 0xf) as usize] as char);
    }
    s
}

/// A digest challenge casefile can answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DigestChallenge {
    realm: String,
    nonce: String,
    opaque: Option<String>,
    algorithm: Algorithm,
    /// The `algorithm` token as the server wrote it, echoed back.
    algorithm_name: String,
    sess: bool,
    /// Whether the server offered `qop=auth` (otherwise the RFC 2069 form is used).
    qop_auth: bool,
    pub stale: bool,
}

impl DigestChallenge {
    fn from_challenge(c: &Challenge) -> Option<Self> {
        if !c.scheme.eq_ignore_ascii_case("digest") {
            return None;
        }
        let algorithm_name = c.param("algorithm").unwrap_or("MD5").to_owned();
        let (algorithm, sess) = match algorithm_name.to_ascii_uppercase().as_str() {
            "MD5" => (Algorithm::Md5, false),
            "MD5-SESS" => (Algorithm::Md5, true),
            "SHA-256" => (Algorithm::Sha256, false),
            "SHA-256-SESS" => (Algorithm::Sha256, true),
            _ => return None,
        };
        let qop_auth = match c.param("qop") {
            None => false,
            Some(qops) => {
                if !qops
                    .split(',')
                    .any(|q| q.trim().eq_ignore_ascii_case("auth"))
                {
                    return None; // only auth-int offered
                }
                true
            }
        };
        Some(DigestChallenge {
            realm: c.param("realm")?.to_owned(),
            nonce: c.param("nonce")?.to_owned(),
            opaque: c.param("opaque").map(str::to_owned),
            algorithm,
            algorithm_name,
            sess,
            qop_auth,
            stale: c
                .param("stale")
                .is_some_and(|s| s.eq_ignore_ascii_case("true")),
        })
    }

    /// The strongest digest challenge among all `WWW-Authenticate` values.
    pub(crate) fn best<'a>(headers: impl Iterator<Item = &'a str>) -> Option<Self> {
        headers
            .flat_map(parse_challenges)
            .filter_map(|c| Self::from_challenge(&c))
            .max_by_key(|c| c.algorithm == Algorithm::Sha256)
    }
}

/// The inputs of one digest `response` (RFC 7616 section 3.4.1).
pub(crate) struct ResponseInputs<'a> {
    pub algorithm: &'a str,
    pub username: &'a str,
    pub realm: &'a str,
    pub password: &'a str,
    pub method: &'a str,
    pub uri: &'a str,
    pub nonce: &'a str,
    /// `Some((nc, cnonce))` for `qop=auth`, `None` for the RFC 2069 form.
    pub qop_auth: Option<(&'a str, &'a str)>,
}

/// The `response` value, or `None` for an algorithm casefile does not speak. Also used by the
/// sandbox to check what clients send.
pub(crate) fn response(inputs: &ResponseInputs<'_>) -> Option<String> {
    let (algorithm, sess) = match inputs.algorithm.to_ascii_uppercase().as_str() {
        "MD5" => (Algorithm::Md5, false),
        "MD5-SESS" => (Algorithm::Md5, true),
        "SHA-256" => (Algorithm::Sha256, false),
        "SHA-256-SESS" => (Algorithm::Sha256, true),
        _ => return None,
    };
    let h = |s: &str| algorithm.hash(s);
    let mut ha1 = h(&format!(
        "{}:{}:{}",
        inputs.username, inputs.realm, inputs.password
    ));
    let ha2 = h(&format!("{}:{}", inputs.method, inputs.uri));
    Some(match inputs.qop_auth {
        Some((nc, cnonce)) => {
            if sess {
                ha1 = h(&format!("{ha1}:{}:{cnonce}", inputs.nonce));
            }
            h(&format!("{ha1}:{}:{nc}:{cnonce}:auth:{ha2}", inputs.nonce))
        }
        None => h(&format!("{ha1}:{}:{ha2}", inputs.nonce)),
    })
}

/// The complete `Authorization` header for one request.
fn authorization(
    ch: &DigestChallenge,
    username: &str,
    password: &str,
    method: &str,
    uri: &str,
    nc: u32,
    cnonce: &str,
) -> String {
    let nc = format!("{nc:08x}");
    let response = response(&ResponseInputs {
        algorithm: &ch.algorithm_name,
        username,
        realm: &ch.realm,
        password,
        method,
        uri,
        nonce: &ch.nonce,
        qop_auth: ch.qop_auth.then_some((nc.as_str(), cnonce)),
    })
    .unwrap_or_default();
    let quote = |s: &str| s.replace('\\', "\\\\").replace('"', "\\\"");
    let mut header = format!(
        "Digest username=\"{}\", realm=\"{}\", uri=\"{}\", algorithm={}, nonce=\"{}\"",
        quote(username),
        quote(&ch.realm),
        quote(uri),
        ch.algorithm_name,
        quote(&ch.nonce),
    );
    if ch.qop_auth {
        header.push_str(&format!(", nc={nc}, cnonce=\"{cnonce}\", qop=auth"));
    }
    header.push_str(&format!(", response=\"{response}\""));
    if let Some(opaque) = &ch.opaque {
        header.push_str(&format!(", opaque=\"{}\"", quote(opaque)));
    }
    header
}

fn new_cnonce() -> String {
    let mut bytes = [0u8; 16];
    // A failing OS random source leaves zeros; the cnonce still works, it is just predictable.
    let _ = getrandom::fill(&mut bytes);
    hex(&bytes)
}

/// A digest session: the credentials and the challenge learned from the server.
pub(crate) struct DigestAuth {
    username: String,
    password: Secret,
    session: Mutex<Option<(DigestChallenge, u32)>>,
}

impl fmt::Debug for DigestAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DigestAuth")
            .field("username", &self.username)
            .field("password", &self.password)
            .finish_non_exhaustive()
    }
}

/// What to do after a 401 carrying a digest challenge.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum OnChallenge {
    /// The challenge was stored; send the request again.
    Resend,
    /// The credentials were refused; give up.
    Refused,
}

impl DigestAuth {
    pub(crate) fn new(username: String, password: Secret) -> Self {
        DigestAuth {
            username,
            password,
            session: Mutex::new(None),
        }
    }

    /// The header for a request, if a challenge is known; the second value is the nonce used.
    pub(crate) fn header(&self, method: &str, uri: &str) -> Option<(String, String)> {
        let mut session = self.session.lock().unwrap_or_else(|p| p.into_inner());
        let (challenge, nc) = session.as_mut()?;
        *nc = nc.wrapping_add(1);
        let header = authorization(
            challenge,
            &self.username,
            self.password.expose(),
            method,
            uri,
            *nc,
            &new_cnonce(),
        );
        Some((header, challenge.nonce.clone()))
    }

    /// Takes a challenge from a 401 of the origin the request was signed for. `sent_nonce` is
    /// the nonce the refused request was signed with, if it was signed. `rotation_answered` is
    /// the call's own flag: a signed request refused with a new nonce that is not marked stale
    /// (the server rotated its nonces) is answered while it is false, and sets it.
    ///
    /// Whatever the outcome, a challenge with a new nonce replaces the stored one, so that the
    /// next call signs with the server's latest nonce rather than one it has dropped.
    pub(crate) fn on_challenge(
        &self,
        challenge: DigestChallenge,
        sent_nonce: Option<&str>,
        rotation_answered: &mut bool,
    ) -> OnChallenge {
        let mut session = self.session.lock().unwrap_or_else(|p| p.into_inner());
        let current_nonce = session.as_ref().map(|(c, _)| c.nonce.clone());
        let outcome = match sent_nonce {
            // Not signed yet: this is the first challenge of the session.
            None => OnChallenge::Resend,
            // Signed with an old nonce that another request already replaced: try the new one.
            Some(sent) if current_nonce.as_deref() != Some(sent) => OnChallenge::Resend,
            Some(_) if challenge.stale => OnChallenge::Resend,
            Some(sent) if !*rotation_answered && challenge.nonce != sent => {
                *rotation_answered = true;
                OnChallenge::Resend
            }
            Some(_) => OnChallenge::Refused,
        };
        if current_nonce.as_deref() != Some(challenge.nonce.as_str()) {
            *session = Some((challenge, 0));
        }
        outcome
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // RFC 7616 section 3.9.1.
    const RFC_CHALLENGE_MD5: &str = r#"Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm=MD5, nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS""#;
    const RFC_CNONCE: &str = "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ";

    fn response_of(header: &str) -> String {
        let c = &parse_challenges(header)[0];
        c.param("response").unwrap().to_owned()
    }

    /// The `Authorization` of RFC 7616's example request (§3.9.1) for `ch`.
    fn rfc_authorization(ch: &DigestChallenge) -> String {
        authorization(
            ch,
            "Mufasa",
            "Circle of Life",
            "GET",
            "/dir/index.html",
            1,
            RFC_CNONCE,
        )
    }

    #[test]
    fn rfc7616_md5_vector() {
        let ch = DigestChallenge::best([RFC_CHALLENGE_MD5].into_iter()).unwrap();
        let h = rfc_authorization(&ch);
        assert_eq!(response_of(&h), "8ca523f5e9506fed4657c9700eebdbec");
        assert!(
            h.contains("nc=00000001") && h.contains("qop=auth,") && h.contains("algorithm=MD5")
        );
        assert!(h.contains(r#"opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS""#));
    }

    #[test]
    fn rfc7616_sha256_vector_and_preference() {
        let header = format!(
            "{}, {}",
            RFC_CHALLENGE_MD5.replace("algorithm=MD5", "algorithm=SHA-256"),
            RFC_CHALLENGE_MD5
        );
        // SHA-256 is preferred whatever the order.
        let ch = DigestChallenge::best([header.as_str()].into_iter()).unwrap();
        assert_eq!(ch.algorithm, Algorithm::Sha256);
        let h = rfc_authorization(&ch);
        assert_eq!(
            response_of(&h),
            "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"
        );
    }

    #[test]
    fn parser_survives_hostile_headers() {
        let header = r#"Basic realm="a, b", Newauth realm="apps", type=1, title="Login to \"apps\"", Digest realm="x,y", nonce=abc+/de==, qop="auth,auth-int", algorithm=SHA-256-sess, stale=TRUE, unknown="z""#;
        let all = parse_challenges(header);
        assert_eq!(
            all.iter().map(|c| c.scheme.as_str()).collect::<Vec<_>>(),
            ["Basic", "Newauth", "Digest"]
        );
        assert_eq!(all[1].param("title"), Some(r#"Login to "apps""#));
        let ch = DigestChallenge::from_challenge(&all[2]).unwrap();
        assert_eq!(ch.realm, "x,y");
        assert_eq!(ch.nonce, "abc+/de==");
        assert!(ch.sess && ch.stale && ch.qop_auth);
        assert_eq!(ch.algorithm, Algorithm::Sha256);
    }

    #[test]
    fn token68_schemes_and_unsupported_challenges_are_skipped() {
        let all = parse_challenges("Bearer abc==, Digest realm=r, nonce=n");
        assert_eq!(all.len(), 2);
        assert_eq!(all[1].param("nonce"), Some("n"));
        // Only auth-int, or an unknown algorithm: nothing casefile can answer.
        assert!(
            DigestChallenge::best([r#"Digest realm="r", nonce="n", qop="auth-int""#].into_iter())
                .is_none()
        );
        assert!(
            DigestChallenge::best(
                [r#"Digest realm="r", nonce="n", algorithm=SHA-512-256"#].into_iter()
            )
            .is_none()
        );
    }

    #[test]
    fn fixture_challenge_parses() {
        let header = r#"Digest realm="Atlas API", domain="", nonce="5Pst+jYAIMyCgh+7+6/CrxOY3M1G1nj0eg==", algorithm=MD5, qop="auth", opaque="30edfd7ff25d07565f9574f877bf5c39", stale=false"#;
        let ch = DigestChallenge::best([header].into_iter()).unwrap();
        assert_eq!(ch.nonce, "5Pst+jYAIMyCgh+7+6/CrxOY3M1G1nj0eg==");
        assert!(!ch.stale);
    }

    #[test]
    fn session_counts_nc_and_refuses_non_stale_after_signing() {
        let auth = DigestAuth::new("u".into(), Secret::new("p"));
        assert!(auth.header("GET", "/").is_none());
        let ch = DigestChallenge::best([r#"Digest realm="r", nonce="n1", qop=auth"#].into_iter())
            .unwrap();
        assert_eq!(
            auth.on_challenge(ch.clone(), None, &mut false),
            OnChallenge::Resend
        );
        let (h1, nonce) = auth.header("GET", "/").unwrap();
        let (h2, _) = auth.header("GET", "/").unwrap();
        assert!(h1.contains("nc=00000001") && h2.contains("nc=00000002"));
        assert_eq!(
            auth.on_challenge(ch, Some(&nonce), &mut false),
            OnChallenge::Refused
        );
        let stale = DigestChallenge::best(
            [r#"Digest realm="r", nonce="n2", qop=auth, stale=true"#].into_iter(),
        )
        .unwrap();
        assert_eq!(
            auth.on_challenge(stale, Some(&nonce), &mut false),
            OnChallenge::Resend
        );
        assert!(auth.header("GET", "/").unwrap().0.contains("nc=00000001"));
    }

    #[test]
    fn a_rotated_nonce_is_answered_once_and_always_stored() {
        let challenge = |nonce: &str| {
            DigestChallenge::best(
                [format!(r#"Digest realm="r", nonce="{nonce}", qop=auth"#).as_str()].into_iter(),
            )
            .unwrap()
        };
        let auth = DigestAuth::new("u".into(), Secret::new("p"));
        let mut rotated = false;
        auth.on_challenge(challenge("n1"), None, &mut rotated);
        let (_, sent) = auth.header("GET", "/").unwrap();
        // The same nonce, not stale: the credentials are wrong.
        assert_eq!(
            auth.on_challenge(challenge("n1"), Some(&sent), &mut rotated),
            OnChallenge::Refused
        );
        // Not stale, but a new nonce: the server rotated.
        assert_eq!(
            auth.on_challenge(challenge("n2"), Some(&sent), &mut rotated),
            OnChallenge::Resend
        );
        assert!(rotated);
        let (_, sent) = auth.header("GET", "/").unwrap();
        assert_eq!(sent, "n2");
        // The call already answered one rotation: refused, but the new nonce is kept.
        assert_eq!(
            auth.on_challenge(challenge("n3"), Some(&sent), &mut rotated),
            OnChallenge::Refused
        );
        assert_eq!(auth.header("GET", "/").unwrap().1, "n3");
    }
}
