//! A digest-protected test server, shared by the transport and Atlas tests.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use md5::{Digest, Md5};
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

/// The body of the real server's digest challenge (fixture `atlas/digest_challenge.json`).
fn challenge_body() -> String {
    std::fs::read_to_string(format!(
        "{}/tests/fixtures/atlas/digest_challenge.json",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

/// A digest gate in front of any handler: MD5, `qop=auth`, nonces that can be rotated (the old
/// one then answers `stale=true`), replayed `nc` refused, every request counted.
pub struct DigestGate {
    nonce: Mutex<String>,
    expired: Mutex<HashSet<String>>,
    seen_nc: Mutex<HashSet<(String, String)>>,
    pub requests: AtomicUsize,
    pub stale_answers: AtomicUsize,
    pub authorized: AtomicUsize,
    /// The password, to assert it never travels.
    pub leaked: AtomicUsize,
    /// While set, every request is refused with a fresh nonce that is not marked stale, as
    /// Spring Security's digest entry point does for bad credentials.
    pub refuse_all: AtomicBool,
    issued: AtomicUsize,
}

impl DigestGate {
    pub const USER: &'static str = "analyst";
    pub const KEY: &'static str = "9f8e7d6c-api-key";
    const REALM: &'static str = "Atlas API";

    pub fn new() -> Arc<Self> {
        Arc::new(DigestGate {
            // The fixture's nonce (digest_challenge in INDEX.json): `+ / =` included.
            nonce: Mutex::new("5Pst+jYAIMyCgh+7+6/CrxOY3M1G1nj0eg==".into()),
            expired: Mutex::new(HashSet::new()),
            seen_nc: Mutex::new(HashSet::new()),
            requests: AtomicUsize::new(0),
            stale_answers: AtomicUsize::new(0),
            authorized: AtomicUsize::new(0),
            leaked: AtomicUsize::new(0),
            refuse_all: AtomicBool::new(false),
            issued: AtomicUsize::new(0),
        })
    }

    /// A new nonce, the old one forgotten rather than expired: a request signed with it is
    /// refused without `stale=true`.
    pub fn rotate_silently(&self, new: &str) {
        *self.nonce.lock().unwrap() = new.to_owned();
    }

    pub fn rotate(&self, new: &str) {
        let mut nonce = self.nonce.lock().unwrap();
        self.expired.lock().unwrap().insert(nonce.clone());
        *nonce = new.to_owned();
    }

    pub fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }

    pub fn challenge(&self, stale: bool) -> ResponseTemplate {
        if stale {
            self.stale_answers.fetch_add(1, Ordering::SeqCst);
        }
        let nonce = self.nonce.lock().unwrap().clone();
        ResponseTemplate::new(401).set_body_raw(challenge_body(), "application/json").insert_header(
            "WWW-Authenticate",
            format!(
                r#"Digest realm="{}", domain="", nonce="{nonce}", algorithm=MD5, qop="auth", opaque="30edfd7ff25d07565f9574f877bf5c39", stale={stale}"#,
                Self::REALM
            ),
        )
    }

    /// `None` when the request is authorized, else the 401 to send.
    pub fn check(&self, req: &Request) -> Option<ResponseTemplate> {
        self.requests.fetch_add(1, Ordering::SeqCst);
        if req.headers.values().any(|v| {
            v.as_bytes()
                .windows(Self::KEY.len())
                .any(|w| w == Self::KEY.as_bytes())
        }) {
            self.leaked.fetch_add(1, Ordering::SeqCst);
        }
        if self.refuse_all.load(Ordering::SeqCst) {
            let n = self.issued.fetch_add(1, Ordering::SeqCst);
            self.rotate_silently(&format!("refusal-{n}"));
            return Some(self.challenge(false));
        }
        let Some(header) = req
            .headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
        else {
            return Some(self.challenge(false));
        };
        let params = parse_params(header.strip_prefix("Digest ").unwrap_or(""));
        let get = |k: &str| {
            params
                .iter()
                .find(|(n, _)| n == k)
                .map(|(_, v)| v.clone())
                .unwrap_or_default()
        };
        let nonce = get("nonce");
        if self.expired.lock().unwrap().contains(&nonce) {
            return Some(self.challenge(true));
        }
        if nonce != *self.nonce.lock().unwrap() {
            return Some(self.challenge(false));
        }
        let h = |s: String| format!("{:x}", Md5::digest(s.as_bytes()));
        let mut target = req.url.path().to_owned();
        if let Some(q) = req.url.query() {
            target = format!("{target}?{q}");
        }
        let ha1 = h(format!("{}:{}:{}", get("username"), Self::REALM, Self::KEY));
        let ha2 = h(format!("{}:{}", req.method, target));
        let expected = h(format!(
            "{ha1}:{nonce}:{}:{}:auth:{ha2}",
            get("nc"),
            get("cnonce")
        ));
        let fresh_nc = self
            .seen_nc
            .lock()
            .unwrap()
            .insert((nonce.clone(), get("nc")));
        let valid = get("uri") == target
            && get("response") == expected
            && get("username") == Self::USER
            && get("opaque") == "30edfd7ff25d07565f9574f877bf5c39"
            && fresh_nc;
        if !valid {
            return Some(self.challenge(false));
        }
        self.authorized.fetch_add(1, Ordering::SeqCst);
        None
    }
}

/// Enough of a parser for the test server: `k=v` or `k="v"` pairs separated by `, `.
fn parse_params(s: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = s.trim();
    while let Some(eq) = rest.find('=') {
        let key = rest[..eq].trim().trim_start_matches(',').trim().to_owned();
        let after = &rest[eq + 1..];
        let (value, next) = if let Some(q) = after.strip_prefix('"') {
            let end = q.find('"').unwrap();
            (q[..end].to_owned(), &q[end + 1..])
        } else {
            let end = after.find(',').unwrap_or(after.len());
            (after[..end].to_owned(), &after[end..])
        };
        out.push((key, value));
        rest = next;
    }
    out
}

/// A digest-protected server answering every request with `handler` once authorized.
pub async fn digest_server(
    handler: impl Fn(&Request, &DigestGate) -> ResponseTemplate + Send + Sync + 'static,
) -> (MockServer, Arc<DigestGate>) {
    let server = MockServer::start().await;
    let gate = DigestGate::new();
    let g = gate.clone();
    Mock::given(any())
        .respond_with(move |req: &Request| match g.check(req) {
            Some(challenge) => challenge,
            None => handler(req, &g),
        })
        .mount(&server)
        .await;
    (server, gate)
}
