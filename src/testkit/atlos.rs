//! The Atlos API v2 as the real server answers: Bearer token, every refusal a 401 with
//! `{"error": ...}` in the controller's words, keyset cursors of 100 signed with the token, a bad
//! cursor answered 200 with an error; unknown routes 404, unparseable JSON bodies and non-UUID ids
//! 400, as HTML pages; artifacts downloadable from signed URLs on a storage origin.
//!
//! Read from atlosdotorg/atlos: `platform/lib/platform_web/router.ex`,
//! `platform/lib/platform_web/endpoint.ex` (`Plug.Parsers`),
//! `platform/lib/platform_web/controllers/api/api_v2_controller.ex`,
//! `platform/lib/platform/updates/update.ex` and `platform/lib/platform/updates.ex`.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{FromRequest, Multipart, Request};
use axum::http::{HeaderMap, Method, header};
use axum::response::Response;
use chrono::Duration;
use serde_json::{Map, Value, json};

use super::seed::{self, ATLOS_CUSTOM, ATLOS_STATUSES, AtlosData};
use super::{
    Faults, Platform, Shared, bearer, credentials, json, lock, query_pairs, raw, segments, sign,
};

const PAGE: usize = 100;

/// The server's state: the data, and the artifact files its storage host serves.
struct State {
    data: AtlosData,
    /// Artifact bytes by artifact id: (stored file name, bytes).
    files: HashMap<String, (String, Vec<u8>)>,
    /// The storage host, `http://localhost:<port>`: another origin than the API's
    /// `127.0.0.1`, as real artifacts live in object storage. Learnt from the first request.
    storage: Option<String>,
}

pub(super) fn router(mut data: AtlosData, faults: Faults) -> (Router, Control) {
    let files = seed_files(&mut data);
    let state: Shared<State> = Arc::new(std::sync::Mutex::new(State {
        data,
        files,
        storage: None,
    }));
    let control = Control {
        state: state.clone(),
    };
    let app = Router::new().fallback(move |request: Request| handle(state.clone(), request));
    (super::faults::wrap(app, faults, Platform::Atlos), control)
}

/// A test's hold on the Atlos server's storage, behind
/// [`Sandbox::tamper_atlos_artifact`](super::Sandbox::tamper_atlos_artifact).
#[derive(Clone)]
pub(super) struct Control {
    state: Shared<State>,
}

impl std::fmt::Debug for Control {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Control")
    }
}

impl Control {
    /// Alters one byte of the stored file of `artifact_id` (its length, and the
    /// `file_hash_sha256` the API announces, unchanged). `false` if there is no such file.
    pub(super) fn tamper(&self, artifact_id: &str) -> bool {
        let mut st = lock(&self.state);
        match st.files.get_mut(artifact_id) {
            Some((_, bytes)) if !bytes.is_empty() => {
                let middle = bytes.len() / 2;
                bytes[middle] ^= 0x01;
                true
            }
            _ => false,
        }
    }
}

/// Brings the seed data to what the real server stores: updates carry no `old_value` (see
/// [`record`]), some source material has `metadata: null` (legacy rows; the controller guards
/// with `media_version.metadata || %{}`), and every artifact has a file behind it, whose size
/// and hash the artifact announces.
fn seed_files(data: &mut AtlosData) -> HashMap<String, (String, Vec<u8>)> {
    use sha2::Digest;
    let mut files = HashMap::new();
    for update in &mut data.updates {
        if let Some(u) = update.as_object_mut() {
            u.remove("old_value");
        }
    }
    let mut n = 0usize;
    for incident in &mut data.incidents {
        for media in incident["source_material"]
            .as_array_mut()
            .into_iter()
            .flatten()
        {
            n += 1;
            if n.is_multiple_of(5) {
                media["metadata"] = Value::Null;
            }
            for artifact in media["artifacts"].as_array_mut().into_iter().flatten() {
                let id = artifact["id"].as_str().unwrap_or_default().to_owned();
                let size = 200 + artifact["file_size"].as_u64().unwrap_or(0) as usize % 3800;
                let line = format!("<p>casefile sandbox artifact {id}</p>\n");
                let bytes: Vec<u8> = line.bytes().cycle().take(size).collect();
                let hash: String = sha2::Sha256::digest(&bytes)
                    .iter()
                    .map(|b| format!("{b:02x}"))
                    .collect();
                artifact["file_size"] = json!(size);
                artifact["file_hash_sha256"] = json!(hash);
                files.insert(id.clone(), (format!("{id}.html"), bytes));
            }
        }
        sync_versions(incident);
        sync_deprecated(incident);
    }
    settle_clock(data);
    files
}

/// Moves the server's clock past every seeded timestamp: on a real server nothing was written
/// later than now, so a write (which stamps `updated_at` / `inserted_at` with the clock) lists
/// as the newest, as incremental readers rely on.
fn settle_clock(data: &mut AtlosData) {
    let stamps = data
        .incidents
        .iter()
        .flat_map(|i| {
            let media = i["source_material"].as_array().cloned().unwrap_or_default();
            let own = [i["inserted_at"].clone(), i["updated_at"].clone()];
            own.into_iter().chain(
                media
                    .into_iter()
                    .flat_map(|m| [m["inserted_at"].clone(), m["updated_at"].clone()]),
            )
        })
        .chain(data.updates.iter().map(|u| u["inserted_at"].clone()))
        .filter_map(|t| {
            chrono::NaiveDateTime::parse_from_str(t.as_str()?, "%Y-%m-%dT%H:%M:%S").ok()
        })
        .max();
    if let Some(latest) = stamps.map(|t| t.and_utc())
        && latest >= data.clock
    {
        data.clock = latest + Duration::minutes(1);
    }
}

/// The deprecated core keys the encoder adds (`material/media.ex`,
/// `insert_deprecated_attributes`; pairs from `Platform.Utils.migrated_attributes`): a deprecated
/// attribute is sent under its old `attr_*` key only when the project has a custom attribute of
/// the same label and type, with that attribute's value. The sandbox project has two such:
/// "Incident Type" (`attr_type`, multi-select) and "Reported Near" (`attr_general_location`,
/// text); "Priority" has no deprecated twin.
fn sync_deprecated(incident: &mut Value) {
    let value = |id: &str| {
        incident["project_attributes"]
            .as_array()
            .and_then(|a| a.iter().find(|p| p["id"] == id))
            .map(|p| p["value"].clone())
            .unwrap_or(Value::Null)
    };
    let (kind, near) = (value(ATLOS_CUSTOM[0].0), value(ATLOS_CUSTOM[1].0));
    incident["attr_type"] = kind;
    incident["attr_general_location"] = near;
}

impl State {
    /// Learns the storage origin from the first request's `Host` and points every artifact's
    /// `access_url` at it.
    fn learn_storage(&mut self, headers: &HeaderMap) {
        if self.storage.is_some() {
            return;
        }
        let port = headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .and_then(|h| h.rsplit_once(':'))
            .and_then(|(_, port)| port.parse::<u16>().ok());
        let Some(port) = port else {
            return;
        };
        let origin = format!("http://localhost:{port}");
        for incident in &mut self.data.incidents {
            for media in incident["source_material"]
                .as_array_mut()
                .into_iter()
                .flatten()
            {
                for artifact in media["artifacts"].as_array_mut().into_iter().flatten() {
                    let id = artifact["id"].as_str().unwrap_or_default();
                    if let Some((name, _)) = self.files.get(id) {
                        artifact["access_url"] = json!(access_url(&origin, id, name));
                    }
                }
            }
            sync_versions(incident);
        }
        self.storage = Some(origin);
    }
}

/// A signed download URL for an artifact, as `Material.media_version_artifact_location` gives.
fn access_url(origin: &str, id: &str, name: &str) -> String {
    format!(
        "{origin}/_storage/atlos/{id}/{name}?sig={}",
        sign(&["storage", id])
    )
}

fn refuse(message: impl Into<Value>) -> Response {
    json(401, &json!({ "error": message.into() }))
}

/// The page Phoenix's error view renders for an exception with this status
/// (`platform/lib/platform_web/views/error_view.ex`: always `error.html`).
fn error_page(status: u16) -> Response {
    let title = axum::http::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("Error");
    let description = if status >= 500 {
        "Atlos experienced an error processing your request. This error has been reported to our team. Please contact us if the issue continues."
    } else {
        "Please contact us if you believed you are receiving this message in error."
    };
    raw(
        status,
        "text/html; charset=utf-8",
        format!(
            "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\" /><title>{title} | Atlos</title></head>\
             <body><h1>{title}</h1><p>{description}</p></body></html>"
        ),
    )
}

/// Whether the router has this route (`platform/lib/platform_web/router.ex`, scope `/api/v2`).
fn is_route(method: &Method, path: &[&str]) -> bool {
    match *method {
        Method::GET => matches!(
            path,
            ["incidents"] | ["source_material"] | ["source_material", _] | ["updates"]
        ),
        Method::POST => matches!(
            path,
            ["incidents", "new"]
                | ["source_material", "new", _]
                | ["source_material", "metadata", _, _]
                | ["source_material", "upload", _]
                | ["add_comment", _]
                | ["update", _, _]
        ),
        _ => false,
    }
}

/// Whether Ecto can cast `id` to a UUID: the 36-character text form, or 16 raw bytes.
fn castable_uuid(id: &str) -> bool {
    id.len() == 16 || (id.len() == 36 && uuid::Uuid::try_parse(id).is_ok())
}

async fn handle(state: Shared<State>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let query = query_pairs(&parts.uri);
    if let Some(rest) = parts.uri.path().strip_prefix("/_storage/atlos/") {
        let (id, _) = rest.split_once('/').unwrap_or((rest, ""));
        return super::storage(id, &parts.headers, &query, || {
            lock(&state).files.get(id).cloned()
        });
    }
    let content_type = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    let multipart = content_type.starts_with("multipart/form-data");
    let mut params = query_params(&parts.uri);
    // `Plug.Parsers` runs in the endpoint, before the router and the token check.
    let (body, request) = if multipart {
        (Bytes::new(), Some(Request::from_parts(parts.clone(), body)))
    } else {
        let bytes = axum::body::to_bytes(body, 16 << 20)
            .await
            .unwrap_or_default();
        (bytes, None)
    };
    if let Err(response) = merge_body(&mut params, &content_type, &body) {
        return response;
    }
    let path: Vec<String> = match segments(&parts.uri, "/api/") {
        Some(path) => path,
        None => return error_page(404),
    };
    let path: Vec<&str> = path.iter().map(String::as_str).collect();
    let method = parts.method.clone();
    let (version, path) = match path.split_first() {
        Some((version, rest)) => (*version, rest),
        None => return error_page(404),
    };
    let legacy = method == Method::GET && matches!(path, ["media_versions"] | ["media"]);
    match version {
        "v1" if legacy => {}
        "v2" if is_route(&method, path) => {}
        _ => return error_page(404),
    }
    if bearer(&parts.headers) != Some(credentials::ATLOS_TOKEN) || version == "v1" {
        // The sandbox's token is project-scoped, which `require_legacy_token` refuses.
        return refuse("invalid token or token not found");
    }
    // Ids of source material are cast by Ecto before anything is looked up.
    if let ["source_material", id]
    | ["source_material", "metadata", id, _]
    | ["source_material", "upload", id] = path
        && !castable_uuid(id)
    {
        return error_page(400);
    }
    let upload_to = {
        let mut st = lock(&state);
        st.learn_storage(&parts.headers);
        match (&method, path) {
            (&Method::POST, ["source_material", "upload", id]) => {
                if find_media(&mut st.data, id).is_none() {
                    return refuse("media version not found or unauthorized");
                }
                Some((*id).to_owned())
            }
            _ => None,
        }
    };
    if let Some(id) = upload_to {
        return upload(&state, &id, params, request).await;
    }
    let mut st = lock(&state);
    let data = &mut st.data;
    match (method, path) {
        (Method::GET, ["incidents"]) => list_incidents(data, &params),
        (Method::POST, ["incidents", "new"]) => create_incident(data, params),
        (Method::GET, ["source_material"]) => {
            let media: Vec<Value> = data
                .incidents
                .iter()
                .rev()
                .flat_map(|i| i["source_material"].as_array().cloned().unwrap_or_default())
                .collect();
            page(media, &params)
        }
        (Method::GET, ["source_material", id]) => match find_media(data, id) {
            Some(media) => json(200, &json!({"success": true, "result": media})),
            None => refuse("media version not found or unauthorized"),
        },
        (Method::POST, ["source_material", "new", slug]) => create_media(data, slug, &params),
        (Method::POST, ["source_material", "metadata", id, namespace]) => {
            // Stored as sent, `null` when absent: `Map.put(metadata || %{}, namespace, metadata)`.
            let metadata = params.get("metadata").cloned().unwrap_or(Value::Null);
            let Some(media) = find_media(data, id) else {
                return refuse("media version not found or unauthorized");
            };
            if !media["metadata"].is_object() {
                media["metadata"] = json!({});
            }
            media["metadata"][*namespace] = metadata;
            let media = media.clone();
            sync_all_versions(data);
            json(200, &json!({"success": true, "result": media}))
        }
        (Method::GET, ["updates"]) => {
            let id = match params.get("slug").and_then(Value::as_str) {
                Some(slug) => match find_incident(data, slug) {
                    Some(i) => Some(data.incidents[i]["id"].clone()),
                    None => return refuse("media not found"),
                },
                None => None,
            };
            let updates: Vec<Value> = data
                .updates
                .iter()
                .rev()
                .filter(|u| id.as_ref().is_none_or(|id| &u["media_id"] == id))
                .cloned()
                .collect();
            page(updates, &params)
        }
        (Method::POST, ["add_comment", slug]) => {
            let Some(i) = find_incident(data, slug) else {
                return refuse("incident not found");
            };
            let Some(message) = params.get("message").filter(|m| !m.is_null()) else {
                return refuse("message not provided");
            };
            // `change_from_comment`: Ecto casts "" to nil, then the changeset's checks.
            let message = match message {
                Value::String(m) if m.is_empty() => {
                    return refuse(json!({"explanation": "A comment is required to post"}));
                }
                Value::String(m) if m.chars().count() > 10_000 => {
                    return refuse(json!({"explanation": "should be at most 10000 character(s)"}));
                }
                Value::String(m) => m.clone(),
                _ => return refuse(json!({"explanation": "is invalid"})),
            };
            record(data, i, "comment", Some(&message), None);
            json(200, &json!({"success": true}))
        }
        (Method::POST, ["update", slug, attribute]) => {
            update_attribute(data, slug, attribute, &params)
        }
        _ => error_page(404),
    }
}

/// Query parameters as JSON: `k[]=a&k[]=b` becomes `k: ["a", "b"]`.
fn query_params(uri: &axum::http::Uri) -> Map<String, Value> {
    let mut params = Map::new();
    for (key, value) in query_pairs(uri) {
        match key.strip_suffix("[]") {
            Some(key) => {
                let entry = params.entry(key.to_owned()).or_insert_with(|| json!([]));
                if let Some(list) = entry.as_array_mut() {
                    list.push(Value::String(value));
                }
            }
            None => {
                params.insert(key, Value::String(value));
            }
        }
    }
    params
}

/// Adds the body's fields to the parameters as `Plug.Parsers` does: JSON (`application/json`,
/// `application/*+json`) and URL-encoded forms are parsed, anything else is left unread. An
/// unparseable JSON body is a 400 page; a JSON body that is not an object lands under `_json`.
fn merge_body(
    params: &mut Map<String, Value>,
    content_type: &str,
    body: &Bytes,
) -> Result<(), Response> {
    let essence = content_type.split(';').next().unwrap_or("").trim();
    let is_json = essence == "application/json"
        || essence
            .strip_prefix("application/")
            .is_some_and(|sub| sub.ends_with("+json"));
    if is_json {
        if body.iter().all(u8::is_ascii_whitespace) {
            return Ok(());
        }
        match serde_json::from_slice::<Value>(body) {
            Ok(Value::Object(fields)) => params.extend(fields),
            Ok(other) => {
                params.insert("_json".into(), other);
            }
            Err(_) => return Err(error_page(400)),
        }
    } else if essence == "application/x-www-form-urlencoded" {
        let mut form = Map::new();
        for (key, value) in url::form_urlencoded::parse(body) {
            let value = Value::String(value.into_owned());
            match key.strip_suffix("[]") {
                Some(key) => {
                    let entry = form.entry(key.to_owned()).or_insert_with(|| json!([]));
                    if let Some(list) = entry.as_array_mut() {
                        list.push(value);
                    }
                }
                None => {
                    form.insert(key.into_owned(), value);
                }
            }
        }
        params.extend(form);
    }
    Ok(())
}

/// The canonical slug: upper-cased, a project-code prefix (`CIV-`) removed.
fn canonical(slug: &str) -> String {
    let slug = slug.rsplit('-').next().unwrap_or(slug);
    slug.to_ascii_uppercase()
}

fn find_incident(data: &AtlosData, slug: &str) -> Option<usize> {
    let slug = canonical(slug);
    data.incidents
        .iter()
        .position(|i| i["slug"] == slug.as_str())
}

fn find_media<'a>(data: &'a mut AtlosData, id: &str) -> Option<&'a mut Value> {
    data.incidents
        .iter_mut()
        .flat_map(|i| i["source_material"].as_array_mut().into_iter().flatten())
        .find(|m| m["id"] == id)
}

/// Keeps `versions` equal to `source_material`, as the server does.
fn sync_versions(incident: &mut Value) {
    incident["versions"] = incident["source_material"].clone();
}

/// [`sync_versions`] for every incident, after a piece of source material changed.
fn sync_all_versions(data: &mut AtlosData) {
    data.incidents.iter_mut().for_each(sync_versions);
}

fn strings(value: &Value) -> Vec<String> {
    match value {
        Value::Array(items) => items
            .iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect(),
        Value::String(s) => vec![s.clone()],
        _ => vec![],
    }
}

fn list_incidents(data: &AtlosData, params: &Map<String, Value>) -> Response {
    let text = |k: &str| params.get(k).and_then(Value::as_str);
    let query = text("query").map(str::to_lowercase);
    // Cast as `{:array, :string}` (`material/media_search.ex`): a bare string fails the cast
    // and the filter is dropped; only the `key[]=` form (or a JSON list) filters.
    let any_of = |incident: &Value, key: &str, attr: &str| {
        let wanted = match params.get(key) {
            Some(list @ Value::Array(_)) => strings(list),
            _ => vec![],
        };
        wanted.is_empty() || strings(&incident[attr]).iter().any(|v| wanted.contains(v))
    };
    let deleted = text("deleted") == Some("true");
    let near = text("attr_geolocation").and_then(|g| {
        let (lat, lon) = g.split_once(',')?;
        let radius: f64 = text("attr_geolocation_radius")
            .and_then(|r| r.parse().ok())
            .unwrap_or(10.0);
        Some((
            lat.trim().parse::<f64>().ok()?,
            lon.trim().parse::<f64>().ok()?,
            radius,
        ))
    });
    let mut incidents: Vec<Value> = data
        .incidents
        .iter()
        .rev()
        .filter(|i| i["deleted"].as_bool() == Some(deleted))
        .filter(|i| {
            query.as_ref().is_none_or(|q| {
                ["attr_description", "attr_more_info", "slug"]
                    .iter()
                    .any(|k| i[*k].as_str().is_some_and(|v| v.to_lowercase().contains(q)))
            })
        })
        .filter(|i| any_of(i, "attr_status", "attr_status"))
        .filter(|i| any_of(i, "attr_tags", "attr_tags"))
        .filter(|i| any_of(i, "attr_sensitive", "attr_sensitive"))
        .filter(|i| {
            text("attr_date_min")
                .is_none_or(|min| i["attr_date"].as_str().is_some_and(|d| d >= min))
        })
        .filter(|i| {
            text("attr_date_max")
                .is_none_or(|max| i["attr_date"].as_str().is_some_and(|d| d <= max))
        })
        .filter(|i| {
            text("no_media_versions") != Some("true")
                || i["source_material"].as_array().is_none_or(Vec::is_empty)
        })
        .filter(|i| {
            near.is_none_or(|(lat, lon, radius)| {
                let c = &i["attr_geolocation"]["coordinates"];
                match (c[1].as_f64(), c[0].as_f64()) {
                    (Some(ilat), Some(ilon)) => km_between(lat, lon, ilat, ilon) <= radius,
                    _ => false,
                }
            })
        })
        .filter(|_| text("only_subscribed_id").is_none() && text("only_assigned_id").is_none())
        .filter(|i| {
            text("has_been_edited_by_id").is_none_or(|user| {
                data.updates
                    .iter()
                    .any(|u| u["media_id"] == i["id"] && u["user_id"] == user)
            })
        })
        .cloned()
        .collect();
    if let Some(sort) = text("sort") {
        let (key, descending) = match sort.rsplit_once('_') {
            Some((key, "desc")) => (key, true),
            Some((key, "asc")) => (key, false),
            _ => ("", true),
        };
        let field = match key {
            "uploaded" => "inserted_at",
            "modified" => "updated_at",
            "description" => "attr_description",
            "date" => "attr_date",
            _ => {
                // The real server crashes on an unknown sort.
                return raw(
                    500,
                    "text/html; charset=utf-8",
                    "<html><body><h1>500</h1><p>Internal Server Error: CaseClauseError</p></body></html>",
                );
            }
        };
        incidents.sort_by(|a, b| {
            let (a, b) = (
                a[field].as_str().unwrap_or(""),
                b[field].as_str().unwrap_or(""),
            );
            if descending { b.cmp(a) } else { a.cmp(b) }
        });
    }
    page(incidents, params)
}

fn km_between(lat1: f64, lon1: f64, lat2: f64, lon2: f64) -> f64 {
    let (p1, p2) = (lat1.to_radians(), lat2.to_radians());
    let dp = (lat2 - lat1).to_radians();
    let dl = (lon2 - lon1).to_radians();
    let a = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
    6371.0 * 2.0 * a.sqrt().atan2((1.0 - a).sqrt())
}

/// One page of 100 after the cursor, with a keyset cursor to the next page (signed with the token).
fn page(items: Vec<Value>, params: &Map<String, Value>) -> Response {
    let start = match params.get("cursor").and_then(Value::as_str) {
        None => 0,
        Some(cursor) => {
            let position = cursor.split_once('.').and_then(|(id, signature)| {
                (sign(&[credentials::ATLOS_TOKEN, id]) == signature)
                    .then(|| items.iter().position(|i| i["id"] == id))
                    .flatten()
            });
            match position {
                Some(p) => p + 1,
                None => {
                    return json(
                        200,
                        &json!({"error": "unable to verify or parse pagination information"}),
                    );
                }
            }
        }
    };
    let end = (start + PAGE).min(items.len());
    let cursor_at = |i: usize| {
        let id = items[i]["id"].as_str().unwrap_or_default();
        format!("{id}.{}", sign(&[credentials::ATLOS_TOKEN, id]))
    };
    let next = (end < items.len()).then(|| cursor_at(end - 1));
    // `pagination_api` signs the keyset's `before` (the page's first entry) as `previous`, but
    // every cursor is applied as `after:`: the previous cursor does not lead back, it restarts
    // one entry into the current page.
    let previous = (start > 0 && start < end).then(|| cursor_at(start));
    let results = items.get(start..end).unwrap_or_default();
    json(
        200,
        &json!({"results": results, "next": next, "previous": previous}),
    )
}

fn create_incident(data: &mut AtlosData, params: Map<String, Value>) -> Response {
    const KNOWN: &[&str] = &[
        "description",
        "sensitive",
        "status",
        "tags",
        "more_info",
        "date",
        "restrictions",
        "geolocation",
        "urls",
    ];
    let unknown: Vec<&String> = params
        .keys()
        .filter(|k| !KNOWN.contains(&k.as_str()) && !ATLOS_CUSTOM.iter().any(|(id, _)| id == k))
        .collect();
    if !unknown.is_empty() {
        // Elixir's `inspect` of a list of strings: `["a", "b"]`.
        let names: Vec<String> = unknown
            .iter()
            .map(|s| Value::from(s.as_str()).to_string())
            .collect();
        return refuse(format!("unknown attributes: [{}]", names.join(", ")));
    }
    // Every failing field at once, as `render_changeset_errors` does.
    let mut errors = Map::new();
    let description = params.get("description").cloned().unwrap_or(Value::Null);
    let sensitive = params.get("sensitive").cloned().unwrap_or(Value::Null);
    let status = params.get("status").cloned().unwrap_or(json!("To Do"));
    for (key, value) in [
        ("attr_description", &description),
        ("attr_sensitive", &sensitive),
        ("attr_status", &status),
    ] {
        if let Some(message) = invalid(key, value) {
            errors.insert(key.into(), json!(message));
        }
    }
    let geolocation = match params.get("geolocation") {
        None | Some(Value::Null) => Value::Null,
        Some(value) => parse_point(value).unwrap_or_else(|| {
            errors.insert("attr_geolocation".into(), json!("is invalid"));
            Value::Null
        }),
    };
    if !errors.is_empty() {
        return refuse(Value::Object(errors));
    }
    let description = description.as_str().unwrap_or_default();
    let status = status.as_str().unwrap_or("To Do");
    let at = data.clock;
    data.clock += Duration::seconds(1);
    let id = data.rng.uuid();
    let mut slug = seed::slug(&mut data.rng);
    while data.incidents.iter().any(|i| i["slug"] == slug.as_str()) {
        slug = seed::slug(&mut data.rng);
    }
    let urls = params.get("urls").map(strings).unwrap_or_default();
    let media: Vec<Value> = urls
        .iter()
        .enumerate()
        .map(|(n, url)| {
            let mut m = seed::source_material(&mut data.rng, &id, n as u64 + 1, at);
            m["source_url"] = json!(url);
            m["artifacts"] = json!([]);
            m["status"] = json!("pending");
            m["upload_type"] = json!("direct");
            m
        })
        .collect();
    let custom: Vec<Value> = ATLOS_CUSTOM
        .iter()
        .map(|(cid, name)| json!({"id": cid, "name": name, "value": params.get(*cid).cloned().unwrap_or(Value::Null)}))
        .collect();
    let incident = json!({
        "id": id, "slug": slug,
        "attr_description": description,
        "attr_status": status,
        "attr_tags": params.get("tags").map(strings),
        "attr_sensitive": sensitive,
        "attr_restrictions": params.get("restrictions").map(strings),
        "attr_more_info": params.get("more_info"),
        "attr_date": params.get("date"),
        "attr_geolocation": geolocation,
        "attr_geolocation_resolution": Value::Null,
        "attr_general_location": Value::Null,
        "deleted": false,
        "inserted_at": seed::naive(at), "updated_at": seed::naive(at),
        "project": seed::atlos_project(),
        "source_material": media, "versions": media,
        "project_attributes": custom,
    });
    let mut incident = incident;
    sync_deprecated(&mut incident);
    data.incidents.push(incident.clone());
    let i = data.incidents.len() - 1;
    record(data, i, "create", None, None);
    // The database fills `attr_status` with its column default ("To Do",
    // `priv/repo/migrations/20231027152750_change_status_default.exs`), but the answer is the
    // inserted Ecto struct, whose schema (`material/media.ex`) has no default: `null` there.
    if !params.contains_key("status") {
        incident["attr_status"] = Value::Null;
    }
    json(200, &json!({"success": true, "result": incident}))
}

/// A GeoJSON point from `"lat,lon"`, `[lon, lat]`, `{"lat", "lon"}` or a GeoJSON point.
fn parse_point(value: &Value) -> Option<Value> {
    let (lat, lon) = match value {
        Value::String(s) => {
            let (lat, lon) = s.split_once(',')?;
            (lat.trim().parse().ok()?, lon.trim().parse().ok()?)
        }
        Value::Array(c) => (c.get(1)?.as_f64()?, c.first()?.as_f64()?),
        Value::Object(o) if o.contains_key("coordinates") => (
            o["coordinates"].get(1)?.as_f64()?,
            o["coordinates"].get(0)?.as_f64()?,
        ),
        Value::Object(o) => (
            o.get("lat").or(o.get("latitude"))?.as_f64()?,
            o.get("lon").or(o.get("longitude"))?.as_f64()?,
        ),
        _ => return None,
    };
    ((-90.0..=90.0).contains(&lat) && (-180.0..=180.0).contains(&lon)).then(|| {
        json!({"type": "Point", "coordinates": [lon, lat], "crs": {"type": "name", "properties": {"name": "EPSG:4326"}}})
    })
}

/// `create_media_version`: always `pending`; `direct` only for the string `"true"`.
fn create_media(data: &mut AtlosData, slug: &str, params: &Map<String, Value>) -> Response {
    let Some(i) = find_incident(data, slug) else {
        return refuse("incident not found or unauthorized");
    };
    let archive = params.get("archive").and_then(Value::as_str) == Some("true");
    let url = params.get("url").cloned().unwrap_or(Value::Null);
    if archive && url.is_null() {
        // "You must provide a URL to archive." fails the changeset, and the controller's
        // `{:ok, version} = ...` match crashes.
        return error_page(500);
    }
    let at = data.clock;
    data.clock += Duration::seconds(1);
    let incident_id = data.incidents[i]["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let scoped = data.incidents[i]["source_material"]
        .as_array()
        .map_or(0, Vec::len) as u64
        + 1;
    let mut media = seed::source_material(&mut data.rng, &incident_id, scoped, at);
    media["artifacts"] = json!([]);
    media["upload_type"] = json!(if archive { "direct" } else { "user_provided" });
    media["visibility"] = json!("visible");
    media["status"] = json!("pending");
    media["metadata"] = json!({});
    media["source_url"] = url;
    if let Some(list) = data.incidents[i]["source_material"].as_array_mut() {
        list.push(media.clone());
    }
    sync_versions(&mut data.incidents[i]);
    record(data, i, "upload_version", None, None);
    json(200, &json!({"success": true, "result": media}))
}

/// The mime type `MIME.from_path` gives for a file name (by its extension, case-insensitively).
fn mime_from_name(name: &str) -> &'static str {
    let ext = name
        .rsplit_once('.')
        .map(|(_, ext)| ext.to_ascii_lowercase())
        .unwrap_or_default();
    match ext.as_str() {
        "mp4" | "m4v" => "video/mp4",
        "webm" => "video/webm",
        "mov" => "video/quicktime",
        "mkv" => "video/x-matroska",
        "avi" => "video/x-msvideo",
        "mp3" => "audio/mpeg",
        "wav" => "audio/wav",
        "ogg" => "audio/ogg",
        "m4a" => "audio/mp4",
        "jpg" | "jpeg" => "image/jpeg",
        "png" => "image/png",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "svg" => "image/svg+xml",
        "pdf" => "application/pdf",
        "txt" => "text/plain",
        "html" | "htm" => "text/html",
        "csv" => "text/csv",
        "json" => "application/json",
        "zip" => "application/zip",
        _ => "application/octet-stream",
    }
}

/// `upload_media_version_file`: the file part (one with a file name), `title` from the merged
/// parameters (a multipart field overrides the query string), mime type from the extension.
async fn upload(
    state: &Shared<State>,
    id: &str,
    mut params: Map<String, Value>,
    request: Option<Request>,
) -> Response {
    let mut file = None;
    if let Some(request) = request
        && let Ok(mut form) = Multipart::from_request(request, &()).await
    {
        while let Ok(Some(field)) = form.next_field().await {
            let name = field.name().map(str::to_owned);
            match (name.as_deref(), field.file_name().map(str::to_owned)) {
                (Some(key), Some(file_name)) => {
                    let Ok(bytes) = field.bytes().await else {
                        return error_page(400);
                    };
                    if key == "file" {
                        file = Some((file_name, bytes));
                    }
                }
                (Some(key), None) => {
                    if let Ok(text) = field.text().await {
                        params.insert(key.to_owned(), Value::String(text));
                    }
                }
                _ => {}
            }
        }
    }
    let Some((file_name, file)) = file else {
        return refuse("valid file not provided");
    };
    let mut st = lock(state);
    let artifact_id = st.data.rng.uuid();
    // Stored under the artifact id and the upload's extension, never the client's name.
    let ext: String = file_name
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .filter(|e| e.len() <= 8 && e.bytes().all(|b| b.is_ascii_alphanumeric()))
        .map(|e| format!(".{e}"))
        .unwrap_or_default();
    let stored = format!("{artifact_id}{ext}");
    let origin = st.storage.clone().unwrap_or_default();
    use sha2::Digest;
    let hash: String = sha2::Sha256::digest(&file)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let artifact = json!({
        "id": artifact_id, "file_hash_sha256": hash, "file_size": file.len(),
        "mime_type": mime_from_name(&file_name),
        "perceptual_hashes": Value::Null, "title": params.get("title").cloned().unwrap_or(Value::Null),
        "type": "upload",
        "access_url": access_url(&origin, &artifact_id, &stored),
    });
    st.files
        .insert(artifact_id.clone(), (stored, file.to_vec()));
    let Some(media) = find_media(&mut st.data, id) else {
        return refuse("media version not found or unauthorized");
    };
    if let Some(list) = media["artifacts"].as_array_mut() {
        list.push(artifact);
    }
    let media = media.clone();
    sync_all_versions(&mut st.data);
    json(200, &json!({"success": true, "result": media}))
}

fn update_attribute(
    data: &mut AtlosData,
    slug: &str,
    attribute: &str,
    params: &Map<String, Value>,
) -> Response {
    // The controller's order: value, incident, attribute.
    let Some(value) = params.get("value").filter(|v| !v.is_null()).cloned() else {
        return refuse("value not provided");
    };
    let Some(i) = find_incident(data, slug) else {
        return refuse("incident not found");
    };
    let key = if ATLOS_CUSTOM.iter().any(|(id, _)| *id == attribute) {
        attribute.to_owned()
    } else {
        format!("attr_{attribute}")
    };
    let is_list = |v: &Value| v.as_array().is_some_and(|a| a.iter().all(Value::is_string));
    let message = match key.as_str() {
        "attr_status" | "attr_sensitive" | "attr_description" => invalid(&key, &value),
        "attr_tags" | "attr_restrictions" => {
            (!is_list(&value)).then(|| "must be an array of strings".to_owned())
        }
        "attr_more_info" | "attr_date" => (!value.is_string()).then(|| "is invalid".to_owned()),
        k if !k.starts_with("attr_") => {
            (!(value.is_string() || is_list(&value))).then(|| "is invalid".to_owned())
        }
        _ => return refuse("attribute not found"),
    };
    if let Some(message) = message {
        return refuse(json!({ key.clone(): message }));
    }
    let old = if key.starts_with("attr_") {
        let old = data.incidents[i][&key].clone();
        data.incidents[i][&key] = value.clone();
        old
    } else {
        let attrs = data.incidents[i]["project_attributes"].as_array_mut();
        let slot = attrs.and_then(|a| a.iter_mut().find(|p| p["id"] == attribute));
        let old = match slot {
            Some(slot) => std::mem::replace(&mut slot["value"], value.clone()),
            None => return refuse("attribute not found"),
        };
        sync_deprecated(&mut data.incidents[i]);
        old
    };
    let at = data.clock;
    data.incidents[i]["updated_at"] = json!(seed::naive(at));
    let message = params
        .get("message")
        .and_then(Value::as_str)
        .map(str::to_owned);
    record(
        data,
        i,
        "update_attribute",
        message.as_deref(),
        Some((attribute, old, value)),
    );
    json(200, &json!({"success": true}))
}

/// Appends an update made by the API token.
fn record(
    data: &mut AtlosData,
    i: usize,
    kind: &str,
    explanation: Option<&str>,
    change: Option<(&str, Value, Value)>,
) {
    let at = data.clock;
    data.clock += Duration::seconds(1);
    let incident = data.incidents[i].clone();
    let mut update = seed::update(&mut data.rng, &incident, kind, explanation, at);
    update["user"] = Value::Null;
    update["user_id"] = Value::Null;
    update["api_token_id"] = json!("3c9edf8d-ae7e-4ad3-a8f5-1a8cdc147260");
    if let Some((attribute, old, new)) = change {
        // Stored as `{"_combined": true, <key>: value}` (`updates.ex`), the key being the schema
        // field (`attr_status`) or a custom attribute's id. The encoder (`update.ex`) then writes
        // the decoded `old_value` and `new_value` both to the key `new_value`: which survives
        // follows map iteration order, undefined since OTP 26. The sandbox draws it.
        let key = if attribute.starts_with("attr_") || is_custom(attribute) {
            attribute.to_owned()
        } else {
            format!("attr_{attribute}")
        };
        let survivor = if data.rng.chance(50) { new } else { old };
        update["modified_attribute"] = json!(attribute);
        update["new_value"] = json!({"_combined": true, key: survivor});
    }
    if let Some(u) = update.as_object_mut() {
        u.remove("old_value");
    }
    data.updates.push(update);
}

fn is_custom(attribute: &str) -> bool {
    ATLOS_CUSTOM.iter().any(|(id, _)| *id == attribute)
}

/// The sensitivity options, "Not Sensitive" (`add_none`) first (`material/attribute.ex`).
const SENSITIVE_OPTIONS: [&str; 5] = [
    "Not Sensitive",
    "Personal Information Visible",
    "Graphic Violence",
    "Deleted by Source",
    "Deceptive or Misleading",
];

/// The changeset error for a core attribute's value, in `Attribute.validate_attribute`'s words
/// (`platform/lib/platform/material/attribute.ex`); `None` when it is valid.
fn invalid(key: &str, value: &Value) -> Option<String> {
    match key {
        "attr_description" => {
            let length = match value {
                Value::Null => return Some("can't be blank".into()),
                Value::String(s) if s.trim().is_empty() => return Some("can't be blank".into()),
                Value::String(s) => s.chars().count(),
                _ => return Some("is invalid".into()),
            };
            if length < 8 {
                Some("should be at least 8 character(s)".into())
            } else if length > 2000 {
                Some("should be at most 2000 character(s)".into())
            } else {
                None
            }
        }
        "attr_sensitive" => {
            let Some(items) = value.as_array().filter(|a| a.iter().all(Value::is_string)) else {
                return Some(if value.is_null() {
                    "can't be blank".into()
                } else {
                    "must be an array of strings".into()
                });
            };
            let values = strings(value);
            let unknown: Vec<&str> = values
                .iter()
                .map(String::as_str)
                .filter(|v| !SENSITIVE_OPTIONS.contains(v))
                .collect();
            if !unknown.is_empty() {
                Some(format!(
                    "Includes invalid value(s): {}. Valid values are: {}",
                    unknown.join(", "),
                    SENSITIVE_OPTIONS.join(", ")
                ))
            } else if items.is_empty() {
                Some("should have at least 1 item(s)".into())
            } else if values.len() > 1 && values.iter().any(|v| v == "Not Sensitive") {
                Some("If 'Not Sensitive' is selected, no other options are allowed.".into())
            } else {
                None
            }
        }
        "attr_status" => {
            (!value.as_str().is_some_and(|s| ATLOS_STATUSES.contains(&s))).then(|| {
                format!(
                    "Includes an invalid value. Valid values are: {}",
                    ATLOS_STATUSES.join(", ")
                )
            })
        }
        _ => None,
    }
}
