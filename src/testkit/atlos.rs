//! The Atlos API v2 as the real server answers: Bearer token, every refusal a 401 with
//! `{"error": ...}`, keyset cursors of 100 signed with the token, a bad cursor answered 200 with
//! an error, unknown routes 404 with a non-JSON body.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{FromRequest, Multipart, Request};
use axum::http::{Method, header};
use axum::response::Response;
use chrono::Duration;
use serde_json::{Map, Value, json};

use super::seed::{self, ATLOS_CUSTOM, ATLOS_SENSITIVE, ATLOS_STATUSES, AtlosData};
use super::{
    Faults, Platform, Shared, bearer, credentials, json, lock, query_pairs, raw, segments, sign,
};

const PAGE: usize = 100;

pub(super) fn router(data: AtlosData, faults: Faults) -> Router {
    let state: Shared<AtlosData> = Arc::new(std::sync::Mutex::new(data));
    let app = Router::new().fallback(move |request: Request| handle(state.clone(), request));
    super::faults::wrap(app, faults, Platform::Atlos)
}

fn refuse(message: impl Into<Value>) -> Response {
    json(401, &json!({ "error": message.into() }))
}

fn not_found_page() -> Response {
    raw(
        404,
        "text/html; charset=utf-8",
        "<html><body><h1>Not Found</h1></body></html>",
    )
}

async fn handle(state: Shared<AtlosData>, request: Request) -> Response {
    let Some(path) = segments(request.uri(), "/api/v2/") else {
        return not_found_page();
    };
    if bearer(request.headers()) != Some(credentials::ATLOS_TOKEN) {
        return refuse("invalid token or token not found");
    }
    let method = request.method().clone();
    let mut params = query_params(request.uri());
    let path: Vec<&str> = path.iter().map(String::as_str).collect();
    if method == Method::POST && matches!(path.as_slice(), ["source_material", "upload", _]) {
        return upload(&state, path[2], request).await;
    }
    let is_json = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    let body = axum::body::to_bytes(request.into_body(), 16 << 20)
        .await
        .unwrap_or_default();
    if let Err(response) = merge_body(&mut params, is_json, &body) {
        return response;
    }
    let mut data = lock(&state);
    match (method, path.as_slice()) {
        (Method::GET, ["incidents"]) => list_incidents(&data, &params),
        (Method::POST, ["incidents", "new"]) => create_incident(&mut data, params),
        (Method::GET, ["source_material"]) => {
            let media: Vec<Value> = data
                .incidents
                .iter()
                .rev()
                .flat_map(|i| i["source_material"].as_array().cloned().unwrap_or_default())
                .collect();
            page(media, &params)
        }
        (Method::GET, ["source_material", id]) => match find_media(&mut data, id) {
            Some(media) => json(200, &json!({"success": true, "result": media})),
            None => refuse("source material not found"),
        },
        (Method::POST, ["source_material", "new", slug]) => create_media(&mut data, slug, &params),
        (Method::POST, ["source_material", "metadata", id, namespace]) => {
            let Some(metadata) = params.get("metadata").cloned() else {
                return refuse("metadata not provided");
            };
            match find_media(&mut data, id) {
                Some(media) => {
                    media["metadata"][*namespace] = metadata;
                    let media = media.clone();
                    json(200, &json!({"success": true, "result": media}))
                }
                None => refuse("source material not found"),
            }
        }
        (Method::GET, ["updates"]) => {
            let id = match params.get("slug").and_then(Value::as_str) {
                Some(slug) => match find_incident(&data, slug) {
                    Some(i) => Some(data.incidents[i]["id"].clone()),
                    None => return refuse("incident not found"),
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
            let Some(message) = params
                .get("message")
                .and_then(Value::as_str)
                .filter(|m| !m.is_empty())
            else {
                return refuse("message not provided");
            };
            let Some(i) = find_incident(&data, slug) else {
                return refuse("incident not found");
            };
            let message = message.to_owned();
            record(&mut data, i, "comment", Some(&message), None);
            json(200, &json!({"success": true}))
        }
        (Method::POST, ["update", slug, attribute]) => {
            update_attribute(&mut data, slug, attribute, &params)
        }
        _ => not_found_page(),
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

/// Adds a JSON or form body's fields to the parameters.
fn merge_body(
    params: &mut Map<String, Value>,
    is_json: bool,
    body: &Bytes,
) -> Result<(), Response> {
    if body.is_empty() {
        return Ok(());
    }
    if is_json {
        match serde_json::from_slice::<Value>(body) {
            Ok(Value::Object(fields)) => params.extend(fields),
            _ => return Err(refuse("could not parse the request body")),
        }
    } else {
        for (key, value) in url::form_urlencoded::parse(body) {
            params.insert(
                key.trim_end_matches("[]").to_owned(),
                Value::String(value.into_owned()),
            );
        }
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
    let any_of = |incident: &Value, key: &str, attr: &str| {
        let wanted = params.get(key).map(strings).unwrap_or_default();
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
    let next = (end < items.len()).then(|| {
        let id = items[end - 1]["id"].as_str().unwrap_or_default();
        format!("{id}.{}", sign(&[credentials::ATLOS_TOKEN, id]))
    });
    let results = items.get(start..end).unwrap_or_default();
    json(
        200,
        &json!({"results": results, "next": next, "previous": Value::Null}),
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
        let names: Vec<&str> = unknown.iter().map(|s| s.as_str()).collect();
        return refuse(format!("unknown attributes: [{}]", names.join(", ")));
    }
    let description = params
        .get("description")
        .and_then(Value::as_str)
        .unwrap_or("");
    if description.trim().is_empty() {
        return refuse(json!({"attr_description": "can't be blank"}));
    }
    let sensitive = match params.get("sensitive") {
        Some(Value::Array(items))
            if items
                .iter()
                .all(|v| v.as_str().is_some_and(|s| ATLOS_SENSITIVE.contains(&s))) =>
        {
            items.clone()
        }
        _ => return refuse(json!({"attr_sensitive": "must be an array of strings"})),
    };
    let status = params
        .get("status")
        .and_then(Value::as_str)
        .unwrap_or("To Do");
    if !ATLOS_STATUSES.contains(&status) {
        return refuse(json!({"attr_status": "is invalid"}));
    }
    let geolocation = match params.get("geolocation") {
        None | Some(Value::Null) => Value::Null,
        Some(value) => match parse_point(value) {
            Some(point) => point,
            None => return refuse(json!({"attr_geolocation": "is invalid"})),
        },
    };
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
    data.incidents.push(incident.clone());
    let i = data.incidents.len() - 1;
    record(data, i, "create", None, None);
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

fn create_media(data: &mut AtlosData, slug: &str, params: &Map<String, Value>) -> Response {
    let Some(i) = find_incident(data, slug) else {
        return refuse("incident not found");
    };
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
    media["upload_type"] = json!("direct");
    media["visibility"] = json!("visible");
    // Only the string "true" archives, as on the real server.
    let archive = params.get("archive").and_then(Value::as_str) == Some("true");
    media["status"] = json!(if archive { "pending" } else { "complete" });
    media["source_url"] = params.get("url").cloned().unwrap_or(Value::Null);
    if let Some(list) = data.incidents[i]["source_material"].as_array_mut() {
        list.push(media.clone());
    }
    sync_versions(&mut data.incidents[i]);
    record(data, i, "upload_version", None, None);
    json(200, &json!({"success": true, "result": media}))
}

async fn upload(state: &Shared<AtlosData>, id: &str, request: Request) -> Response {
    let Ok(mut form) = Multipart::from_request(request, &()).await else {
        return refuse("file not provided");
    };
    let (mut file, mut title, mut mime) = (None, None, None);
    while let Ok(Some(field)) = form.next_field().await {
        match field.name() {
            Some("file") => {
                mime = field.content_type().map(str::to_owned);
                file = field.bytes().await.ok();
            }
            Some("title") => title = field.text().await.ok(),
            _ => {}
        }
    }
    let Some(file) = file else {
        return refuse("file not provided");
    };
    let mut data = lock(state);
    let artifact_id = data.rng.uuid();
    let Some(media) = find_media(&mut data, id) else {
        return refuse("source material not found");
    };
    use sha2::Digest;
    let hash: String = sha2::Sha256::digest(&file)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let artifact = json!({
        "id": artifact_id, "file_hash_sha256": hash, "file_size": file.len(),
        "mime_type": mime.unwrap_or_else(|| "application/octet-stream".into()),
        "perceptual_hashes": Value::Null, "title": title, "type": "upload",
        "access_url": format!("https://storage.example.org/atlos/artifacts/{id}/{artifact_id}"),
    });
    if let Some(list) = media["artifacts"].as_array_mut() {
        list.push(artifact);
    }
    let media = media.clone();
    json(200, &json!({"success": true, "result": media}))
}

fn update_attribute(
    data: &mut AtlosData,
    slug: &str,
    attribute: &str,
    params: &Map<String, Value>,
) -> Response {
    let Some(i) = find_incident(data, slug) else {
        return refuse("incident not found");
    };
    let Some(value) = params.get("value").cloned() else {
        return refuse("value not provided");
    };
    let key = if ATLOS_CUSTOM.iter().any(|(id, _)| *id == attribute) {
        attribute.to_owned()
    } else {
        format!("attr_{attribute}")
    };
    let is_list = |v: &Value| v.as_array().is_some_and(|a| a.iter().all(Value::is_string));
    let valid = match key.as_str() {
        "attr_status" => value.as_str().is_some_and(|s| ATLOS_STATUSES.contains(&s)),
        "attr_sensitive" => {
            is_list(&value)
                && strings(&value)
                    .iter()
                    .all(|s| ATLOS_SENSITIVE.contains(&s.as_str()))
        }
        "attr_tags" | "attr_restrictions" => is_list(&value),
        "attr_description" | "attr_more_info" | "attr_date" => value.is_string(),
        k if !k.starts_with("attr_") => value.is_string() || is_list(&value),
        _ => return refuse("attribute not found"),
    };
    if !valid {
        let message = if key == "attr_sensitive" || key == "attr_tags" {
            "must be an array of strings"
        } else {
            "is invalid"
        };
        return refuse(json!({ key.clone(): message }));
    }
    let old = if key.starts_with("attr_") {
        let old = data.incidents[i][&key].clone();
        data.incidents[i][&key] = value.clone();
        old
    } else {
        let attrs = data.incidents[i]["project_attributes"].as_array_mut();
        let slot = attrs.and_then(|a| a.iter_mut().find(|p| p["id"] == attribute));
        match slot {
            Some(slot) => std::mem::replace(&mut slot["value"], value.clone()),
            None => return refuse("attribute not found"),
        }
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
        update["modified_attribute"] = json!(attribute);
        update["old_value"] = old;
        update["new_value"] = new;
    }
    data.updates.push(update);
}
