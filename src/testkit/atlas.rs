//! The Atlas attachments API with the Atlas REST conventions: HTTP Digest (MD5, `qop=auth`) with
//! nonces that expire into `stale=true`, or a Bearer token; `{items, count}` lists that page by
//! `pageNum` / `itemsPerPage` with `links`; the `{error, reason, detail, errorCode, parameters}`
//! error body; `envelope=true` and `pretty=true`; invalid fields refused with 400; and 429 with
//! `Retry-After` past 100 requests a minute per user.

use std::collections::{HashSet, VecDeque};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderMap, Method, header};
use axum::response::Response;
use serde_json::{Value, json};
use tokio::time::Instant;

use super::seed::AtlasData;
use super::{
    Faults, Platform, Shared, bearer, credentials, lock, query_pairs, raw, segments, sign,
};
use crate::transport::digest::{ResponseInputs, parse_challenges, response};

const REALM: &str = "Atlas API";
const OPAQUE: &str = "30edfd7ff25d07565f9574f877bf5c39";

pub(super) struct Settings {
    pub addr: SocketAddr,
    pub nonce_lifetime: Duration,
    pub rate_limit: Option<(u32, Duration)>,
}

struct State {
    data: AtlasData,
    settings: Settings,
    nonce: String,
    nonce_issued: Instant,
    expired: HashSet<String>,
    used: HashSet<String>,
    recent: VecDeque<Instant>,
}

/// The sandbox's hold on the Atlas server's state, for the [`Sandbox`](super::Sandbox) methods
/// that add attachments and alter stored files.
#[derive(Clone)]
pub(super) struct Handle(Shared<State>);

impl std::fmt::Debug for Handle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("atlas::Handle")
    }
}

impl super::Sandbox {
    /// Adds an Atlas attachment named `name` (any string: the sandbox takes hostile names as a
    /// careless or hostile server would send them) whose stored file holds `bytes`, and gives
    /// its id. It is listed after the seeded attachments, created one hour after the last of
    /// them, as a `bin` attachment of the caller.
    pub fn add_atlas_attachment(&self, name: &str, bytes: impl Into<Vec<u8>>) -> String {
        let mut state = lock(&self.atlas.0);
        let id = state.data.rng.uuid();
        let last = state
            .data
            .attachments
            .iter()
            .filter_map(|a| {
                a["attachment_created_at"]
                    .as_str()
                    .and_then(crate::time::parse)
            })
            .max()
            .unwrap_or_else(chrono::Utc::now);
        let created = last + chrono::Duration::hours(1);
        state.data.attachments.push(json!({
            "attachment_id": id, "attachment_name": name, "attachment_type": "bin",
            "attachment_title": null, "attachment_description": null,
            "attachment_citation": null, "attachment_source_session_id": null,
            "attachment_created_by": credentials::ATLAS_USERNAME,
            "attachment_created_at": created.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
            "is_visible": true, "attachment_content": null,
            "s3_url": format!("s3://atlas-bucket/{id}/{name}"),
        }));
        state.data.files.insert(id.clone(), bytes.into());
        id
    }

    /// The bytes the Atlas storage host holds for attachment `id`, as its presigned URL
    /// serves them; `None` for an unknown id.
    pub fn atlas_file(&self, id: &str) -> Option<Vec<u8>> {
        lock(&self.atlas.0).data.files.get(id).cloned()
    }

    /// Tampers with the stored file of Atlas attachment `id`: from now on its presigned URL
    /// serves `bytes` (with their own `Content-Length`), while the attachment's listing and
    /// details stay as they were, as when a storage bucket is altered behind the platform's
    /// back. For testing that a download detects it. Gives `false` for an unknown id.
    pub fn tamper_atlas_file(&self, id: &str, bytes: impl Into<Vec<u8>>) -> bool {
        match lock(&self.atlas.0).data.files.get_mut(id) {
            Some(file) => {
                *file = bytes.into();
                true
            }
            None => false,
        }
    }
}

pub(super) fn router(data: AtlasData, settings: Settings, faults: Faults) -> (Router, Handle) {
    let mut state = State {
        data,
        settings,
        nonce: String::new(),
        nonce_issued: Instant::now(),
        expired: HashSet::new(),
        used: HashSet::new(),
        recent: VecDeque::new(),
    };
    state.rotate_nonce();
    let state: Shared<State> = Arc::new(std::sync::Mutex::new(state));
    let held = Handle(state.clone());
    let app = Router::new().fallback(move |request: Request| handle(state.clone(), request));
    (super::faults::wrap(app, faults, Platform::Atlas), held)
}

/// An answer before envelope and pretty-printing are applied.
struct Answer {
    status: u16,
    body: Value,
    headers: Vec<(header::HeaderName, String)>,
}

fn answer(status: u16, body: Value) -> Answer {
    Answer {
        status,
        body,
        headers: Vec::new(),
    }
}

fn failure(status: u16, code: &str, detail: &str, parameters: &[&str]) -> Answer {
    let reason = axum::http::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("Error");
    answer(
        status,
        json!({"error": status, "reason": reason, "detail": detail, "errorCode": code, "parameters": parameters}),
    )
}

async fn handle(state: Shared<State>, request: Request) -> Response {
    let uri = request.uri().clone();
    let query = query_pairs(&uri);
    if let Some(rest) = uri.path().strip_prefix("/_storage/") {
        // The file name travels as `response-content-disposition`, as in S3's presigned URLs,
        // so no name (`..`, `a/b`, `?`) can change the path.
        let id = rest.split('/').next().unwrap_or(rest);
        let name = query
            .iter()
            .find(|(k, _)| k == "response-content-disposition")
            .map_or_else(|| "file".to_owned(), |(_, v)| v.clone());
        return super::storage(id, request.headers(), &query, || {
            let bytes = lock(&state).data.files.get(id)?.clone();
            Some((name, bytes))
        });
    }
    let envelope = query.iter().any(|(k, v)| k == "envelope" && v == "true");
    let pretty = query.iter().any(|(k, v)| k == "pretty" && v == "true");
    let method = request.method().clone();
    let headers = request.headers().clone();
    let body = axum::body::to_bytes(request.into_body(), 16 << 20)
        .await
        .unwrap_or_default();
    let answer = {
        let mut state = lock(&state);
        match state.authenticate(&method, &uri, &headers) {
            Err(refusal) => refusal,
            Ok(user) => match state.over_rate_limit(&user) {
                Some(wait) => {
                    let mut a = failure(
                        429,
                        "RATE_LIMITED",
                        "You have exceeded the rate limit of 100 requests per minute.",
                        &[],
                    );
                    a.headers
                        .push((header::RETRY_AFTER, wait.as_secs().max(1).to_string()));
                    a
                }
                None => match segments(&uri, "/api/v1/") {
                    Some(path) => {
                        let path: Vec<&str> = path.iter().map(String::as_str).collect();
                        state.route(&method, &path, &query, &body)
                    }
                    None => failure(404, "RESOURCE_NOT_FOUND", "Cannot find resource.", &[]),
                },
            },
        }
    };
    render(answer, envelope, pretty)
}

/// Applies `envelope=true` (errors then travel with status 200) and `pretty=true`. A 401 is never
/// enveloped: its digest challenge is in the status and `WWW-Authenticate`, which a client must
/// see to authenticate at all.
fn render(answer: Answer, envelope: bool, pretty: bool) -> Response {
    let (status, body) = if envelope && answer.status != 401 {
        let body = match answer.body {
            Value::Object(mut list)
                if list.contains_key("items") || list.contains_key("results") =>
            {
                list.insert("status".into(), json!(answer.status));
                Value::Object(list)
            }
            other => json!({"status": answer.status, "content": other}),
        };
        (200, body)
    } else {
        (answer.status, answer.body)
    };
    let text = if pretty {
        serde_json::to_string_pretty(&body).unwrap_or_default()
    } else {
        body.to_string()
    };
    let mut response = raw(status, "application/json", text);
    for (name, value) in answer.headers {
        if let Ok(value) = value.parse() {
            response.headers_mut().append(name, value);
        }
    }
    response
}

impl State {
    fn rotate_nonce(&mut self) {
        if !self.nonce.is_empty() {
            self.expired.insert(std::mem::take(&mut self.nonce));
        }
        // Real nonces are base64 and contain `+`, `/` and `=`.
        self.nonce = format!("{}+/{}==", self.data.rng.hex(12), self.data.rng.hex(10));
        self.nonce_issued = Instant::now();
    }

    fn challenge(&mut self, stale: bool) -> Answer {
        let mut refusal = failure(
            401,
            "NOT_ORG_GROUP_CREATOR",
            "You are not authorized for this resource.",
            &[],
        );
        refusal.headers.push((
            header::WWW_AUTHENTICATE,
            format!(
                r#"Digest realm="{REALM}", domain="", nonce="{}", algorithm=MD5, qop="auth", opaque="{OPAQUE}", stale={stale}"#,
                self.nonce
            ),
        ));
        refusal
    }

    /// The user a request is made by, or the refusal to send.
    fn authenticate(
        &mut self,
        method: &Method,
        uri: &axum::http::Uri,
        headers: &HeaderMap,
    ) -> Result<String, Answer> {
        if self.nonce_issued.elapsed() >= self.settings.nonce_lifetime {
            self.rotate_nonce();
        }
        if bearer(headers) == Some(credentials::ATLAS_TOKEN) {
            return Ok(credentials::ATLAS_USERNAME.to_owned());
        }
        let Some(header) = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
        else {
            return Err(self.challenge(false));
        };
        let Some(digest) = parse_challenges(header)
            .into_iter()
            .find(|c| c.scheme.eq_ignore_ascii_case("digest"))
        else {
            return Err(self.challenge(false));
        };
        let get = |name: &str| digest.param(name).unwrap_or("");
        // The challenge offers MD5 only; a response computed with another algorithm is not an
        // answer to it (RFC 7616 §3.4), however well it is formed.
        if !digest
            .param("algorithm")
            .is_none_or(|a| a.eq_ignore_ascii_case("MD5"))
        {
            return Err(self.challenge(false));
        }
        let nonce = get("nonce");
        if self.expired.contains(nonce) {
            return Err(self.challenge(true));
        }
        let target = uri.path_and_query().map_or(uri.path(), |p| p.as_str());
        let expected = response(&ResponseInputs {
            algorithm: "MD5",
            username: credentials::ATLAS_USERNAME,
            realm: REALM,
            password: credentials::ATLAS_API_KEY,
            method: method.as_str(),
            uri: get("uri"),
            nonce,
            qop_auth: Some((get("nc"), get("cnonce"))),
        });
        // A replay is the same nonce, count and client nonce: two clients sharing the server's
        // current nonce each count from 1 with their own cnonce.
        let fresh = self
            .used
            .insert(format!("{nonce} {} {}", get("nc"), get("cnonce")));
        let valid = nonce == self.nonce
            && get("username") == credentials::ATLAS_USERNAME
            && get("uri") == target
            && get("qop") == "auth"
            && get("opaque") == OPAQUE
            && expected.as_deref() == Some(get("response"))
            && fresh;
        if valid {
            Ok(credentials::ATLAS_USERNAME.to_owned())
        } else {
            Err(self.challenge(false))
        }
    }

    /// `Some(wait)` when `user` is over the server's rate limit.
    fn over_rate_limit(&mut self, _user: &str) -> Option<Duration> {
        let (requests, window) = self.settings.rate_limit?;
        let now = Instant::now();
        while self
            .recent
            .front()
            .is_some_and(|&t| now.duration_since(t) >= window)
        {
            self.recent.pop_front();
        }
        if self.recent.len() < requests as usize {
            self.recent.push_back(now);
            return None;
        }
        self.recent.front().map(|&t| t + window - now)
    }

    fn find(&self, id: &str) -> Option<usize> {
        self.data
            .attachments
            .iter()
            .position(|a| a["attachment_id"] == id)
    }

    fn route(
        &mut self,
        method: &Method,
        path: &[&str],
        query: &[(String, String)],
        body: &[u8],
    ) -> Answer {
        let not_found = |id: &str| {
            failure(
                404,
                "RESOURCE_NOT_FOUND",
                &format!("No attachment with id {id} exists."),
                &[id],
            )
        };
        match (method.clone(), path) {
            (Method::GET, ["attachments"]) => self.list(query),
            (Method::GET, ["attachments", id]) => match self.find(id) {
                Some(i) => answer(200, self.data.attachments[i].clone()),
                None => not_found(id),
            },
            (Method::PATCH, ["attachments", id]) => {
                let Some(i) = self.find(id) else {
                    return not_found(id);
                };
                let fields = match json_object(body) {
                    Ok(fields) => fields,
                    Err(refusal) => return refusal,
                };
                const EDITABLE: [&str; 4] = [
                    "attachment_title",
                    "attachment_description",
                    "attachment_citation",
                    "is_visible",
                ];
                if let Some(bad) = fields.keys().find(|k| !EDITABLE.contains(&k.as_str())) {
                    return failure(
                        400,
                        "INVALID_ATTRIBUTE",
                        &format!("Invalid attribute {bad} specified."),
                        &[bad],
                    );
                }
                for (key, value) in fields {
                    let valid = if key == "is_visible" {
                        value.is_boolean()
                    } else {
                        value.is_string() || value.is_null()
                    };
                    if !valid {
                        return failure(
                            400,
                            "INVALID_ATTRIBUTE",
                            &format!("Invalid value for attribute {key}."),
                            &[&key],
                        );
                    }
                    self.data.attachments[i][&key] = value;
                }
                answer(200, self.data.attachments[i].clone())
            }
            (Method::POST, ["attachments", id, "export"]) => {
                let Some(i) = self.find(id) else {
                    return not_found(id);
                };
                let name = self.data.attachments[i]["attachment_name"]
                    .as_str()
                    .unwrap_or("file")
                    .to_owned();
                let name: String = url::form_urlencoded::byte_serialize(name.as_bytes()).collect();
                let url = format!(
                    "http://localhost:{}/_storage/{id}?response-content-disposition={name}&sig={}",
                    self.settings.addr.port(),
                    sign(&["storage", id])
                );
                answer(200, json!({"presigned_url": url}))
            }
            (Method::GET, ["attachments", id, "annotations"]) => {
                if self.find(id).is_none() {
                    return not_found(id);
                }
                let list: Vec<Value> = self
                    .data
                    .annotations
                    .iter()
                    .filter(|a| a["attachment_id"] == *id)
                    .cloned()
                    .collect();
                answer(200, Value::Array(list))
            }
            (Method::POST, ["annotations"]) => self.create_annotation(body),
            _ => failure(404, "RESOURCE_NOT_FOUND", "Cannot find resource.", &[]),
        }
    }

    fn list(&self, query: &[(String, String)]) -> Answer {
        let param = |name: &str| {
            query
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.as_str())
        };
        for key in query.iter().map(|(k, _)| k.as_str()) {
            const KNOWN: [&str; 8] = [
                "session_id",
                "attachment_type",
                "created_after",
                "created_before",
                "pageNum",
                "itemsPerPage",
                "envelope",
                "pretty",
            ];
            if !KNOWN.contains(&key) {
                return failure(
                    400,
                    "INVALID_QUERY_PARAMETER",
                    &format!("Invalid query parameter {key} specified."),
                    &[key],
                );
            }
        }
        if let Some(session) = param("session_id").filter(|s| !is_uuid(s)) {
            return failure(
                400,
                "INVALID_QUERY_PARAMETER",
                &format!("Invalid value {session} for session_id: not a UUID."),
                &["session_id"],
            );
        }
        let mut bounds = Vec::new();
        for name in ["created_after", "created_before"] {
            match param(name).map(crate::time::parse) {
                Some(None) => {
                    return failure(
                        400,
                        "INVALID_DATE",
                        &format!("Invalid date for {name}."),
                        &[name],
                    );
                }
                Some(Some(t)) => bounds.push((name, t)),
                None => {}
            }
        }
        let items: Vec<Value> = self
            .data
            .attachments
            .iter()
            .filter(|a| param("session_id").is_none_or(|s| a["attachment_source_session_id"] == s))
            .filter(|a| param("attachment_type").is_none_or(|t| a["attachment_type"] == t))
            .filter(|a| {
                let created = a["attachment_created_at"]
                    .as_str()
                    .and_then(crate::time::parse);
                // Both bounds exclusive, as the real server applies them (issue 15; the seed
                // 003 calls them "lower bound" and "upper bound"): an attachment created exactly
                // at a bound is left out.
                bounds.iter().all(|(name, bound)| match (created, *name) {
                    (Some(c), "created_after") => c > *bound,
                    (Some(c), _) => c < *bound,
                    (None, _) => false,
                })
            })
            .map(|a| {
                let mut a = a.clone();
                if let Some(o) = a.as_object_mut() {
                    o.remove("attachment_content");
                    o.remove("s3_url");
                }
                a
            })
            .collect();
        let total = items.len();
        if param("pageNum").is_none() && param("itemsPerPage").is_none() {
            return answer(200, json!({"items": items, "count": total}));
        }
        let number = |name: &str, default: usize| {
            param(name)
                .map(|v| v.parse::<usize>().map_err(|_| name.to_owned()))
                .unwrap_or(Ok(default))
        };
        let (page, size) = match (number("pageNum", 1), number("itemsPerPage", 100)) {
            (Ok(p), Ok(s)) if p >= 1 && (1..=500).contains(&s) => (p, s),
            (Err(name), _) | (_, Err(name)) => {
                return failure(
                    400,
                    "INVALID_QUERY_PARAMETER",
                    &format!("Invalid value for {name}."),
                    &[&name],
                );
            }
            _ => {
                return failure(
                    400,
                    "INVALID_QUERY_PARAMETER",
                    "pageNum must be at least 1 and itemsPerPage between 1 and 500.",
                    &[],
                );
            }
        };
        let start = (page - 1) * size;
        let results: Vec<Value> = items.into_iter().skip(start).take(size).collect();
        let base = format!(
            "http://localhost:{}/api/v1/attachments",
            self.settings.addr.port()
        );
        let link = |rel: &str, page: usize| {
            let mut href = format!("{base}?itemsPerPage={size}&pageNum={page}");
            for key in [
                "session_id",
                "attachment_type",
                "created_after",
                "created_before",
            ] {
                if let Some(v) = param(key) {
                    href.push_str(&format!(
                        "&{key}={}",
                        url::form_urlencoded::byte_serialize(v.as_bytes()).collect::<String>()
                    ));
                }
            }
            json!({"rel": rel, "href": href})
        };
        let mut links = vec![link("self", page)];
        if page > 1 {
            links.push(link("previous", page - 1));
        }
        if start + size < total {
            links.push(link("next", page + 1));
        }
        answer(
            200,
            json!({"items": results, "count": total, "totalCount": total, "links": links}),
        )
    }

    fn create_annotation(&mut self, body: &[u8]) -> Answer {
        let fields = match json_object(body) {
            Ok(fields) => fields,
            Err(refusal) => return refusal,
        };
        for key in fields.keys() {
            if !["attachment_id", "annotation_type", "annotation_content"].contains(&key.as_str()) {
                return failure(
                    400,
                    "INVALID_ATTRIBUTE",
                    &format!("Invalid attribute {key} specified."),
                    &[key],
                );
            }
        }
        let attachment = fields
            .get("attachment_id")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        if self.find(&attachment).is_none() {
            return failure(
                404,
                "RESOURCE_NOT_FOUND",
                &format!("No attachment with id {attachment} exists."),
                &[&attachment],
            );
        }
        let kind = fields
            .get("annotation_type")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let Some(content) = fields
            .get("annotation_content")
            .filter(|c| c.is_object())
            .cloned()
        else {
            return failure(
                400,
                "MISSING_ATTRIBUTE",
                "annotation_content is required.",
                &["annotation_content"],
            );
        };
        match kind.as_str() {
            "bbox" => {
                let number = |v: &Value, k: &str| v.get(k).and_then(Value::as_f64);
                let (Some(w), Some(h)) = (
                    number(&content, "page_width"),
                    number(&content, "page_height"),
                ) else {
                    return failure(
                        400,
                        "INVALID_ATTRIBUTE",
                        "page_width and page_height are required.",
                        &["annotation_content"],
                    );
                };
                let boxes = content["content"].as_array().cloned().unwrap_or_default();
                // Seed 003: every box has `tags` (string or boolean values) and a `label`.
                let labelled = |b: &Value| {
                    b["label"].is_string()
                        && b["tags"]
                            .as_object()
                            .is_some_and(|t| t.values().all(|v| v.is_string() || v.is_boolean()))
                };
                let inside = |b: &Value| match (
                    number(b, "x"),
                    number(b, "y"),
                    number(b, "width"),
                    number(b, "height"),
                ) {
                    (Some(x), Some(y), Some(bw), Some(bh)) => {
                        x >= 0.0 && y >= 0.0 && bw > 0.0 && bh > 0.0 && x + bw <= w && y + bh <= h
                    }
                    _ => false,
                };
                if content["page_number"].as_u64().is_none()
                    || boxes.is_empty()
                    || !boxes.iter().all(|b| inside(b) && labelled(b))
                {
                    return failure(
                        400,
                        "INVALID_ATTRIBUTE",
                        "Invalid bounding box annotation content.",
                        &["annotation_content"],
                    );
                }
            }
            "path" => {}
            _ => {
                return failure(
                    400,
                    "INVALID_ATTRIBUTE",
                    &format!("Invalid annotation type {kind}."),
                    &["annotation_type"],
                );
            }
        }
        let id = self.data.rng.uuid();
        self.data.annotations.push(json!({
            "uuid": id, "annotation_type": kind, "attachment_id": attachment, "annotation_content": content,
        }));
        answer(
            200,
            json!({"attachment_id": attachment, "annotation_id": id, "annotation_content": content, "annotation_type": kind}),
        )
    }
}

/// A UUID in its hyphenated form, as the API documents its ids.
fn is_uuid(s: &str) -> bool {
    s.len() == 36 && uuid::Uuid::try_parse(s).is_ok()
}

/// The JSON object a request sent, or the server's `400` for anything else.
fn json_object(body: &[u8]) -> Result<serde_json::Map<String, Value>, Answer> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(fields)) => Ok(fields),
        _ => Err(failure(
            400,
            "INVALID_JSON",
            "The request body is not a JSON object.",
            &[],
        )),
    }
}
