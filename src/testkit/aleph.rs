//! The Aleph API 2 as a 4.x server answers: `ApiKey` auth where an unknown key silently makes
//! the caller anonymous (any scheme but `Token` carries a key; a `Token` session token does not
//! verify and is a 401), every empty value omitted from the objects (a listing's envelope keeps
//! its null `next`/`previous` and empty `results`), offset pages whose `next` URL is built on
//! another origin (`localhost` instead of `127.0.0.1`) and may lead to an empty page, entity
//! searches refused without a schema, entity references resolved to nested entities, JSON-lines
//! streams for writers only, multipart ingest answering 201, `_bulk` answering 204 and storing
//! each entity under its namespaced id (as `casefile::aleph::namespaced_id` computes it), and
//! archive downloads that redirect to a storage host which refuses requests carrying
//! credentials. Searches follow the schema hierarchy in `filter:schemata`, apply
//! `filter:`/`exclude:`/`empty:properties.*`, and cut the limit at the result window rather than
//! refusing; a method no route takes is Werkzeug's 405 with `Allow`, a JSON body that does not
//! parse Flask's generic 400, and flags are read as banal's `as_bool`.

mod graph;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{FromRequest, Multipart, Request};
use axum::http::{HeaderMap, Method, header};
use axum::response::Response;
use chrono::Utc;
use serde_json::{Map, Value, json};

use super::seed::{AlephData, aleph_role, naive};
use super::{Faults, Platform, Shared, credentials, json, lock, query_pairs, raw, segments, sign};
use crate::namespace::namespaced_id;

/// The fields a streamed entity carries unless `include=` says otherwise
/// (`aleph/index/entities.py` `PROXY_INCLUDES`).
const PROXY_INCLUDES: [&str; 8] = [
    "schema",
    "properties",
    "collection_id",
    "profile_id",
    "role_id",
    "mutable",
    "created_at",
    "updated_at",
];

/// Searches cap `offset + limit` at this.
const WINDOW: usize = 9999;

const CATEGORIES: &[&str] = &[
    "news",
    "leak",
    "land",
    "gazette",
    "court",
    "company",
    "sanctions",
    "procurement",
    "finance",
    "grey",
    "library",
    "license",
    "regulatory",
    "poi",
    "customs",
    "census",
    "transport",
    "casefile",
    "other",
];

/// Every FollowTheMoney schema with its entity-typed properties, inherited ones included
/// (followthemoney 3.5.9, the version Aleph 4.1.6 pins; `followthemoney/schema/*.yaml`).
const SCHEMATA: &[(&str, &[&str])] = &[
    ("Address", &["addressEntity", "proof"]),
    ("Airplane", &["addressEntity", "operator", "owner", "proof"]),
    ("Analyzable", &[]),
    (
        "Article",
        &["addressEntity", "ancestors", "parent", "proof"],
    ),
    ("Assessment", &["addressEntity", "author", "proof"]),
    ("Asset", &["addressEntity", "proof"]),
    ("Associate", &["associate", "person"]),
    ("Audio", &["addressEntity", "ancestors", "parent", "proof"]),
    ("BankAccount", &["addressEntity", "bank", "proof"]),
    ("Call", &["caller", "receiver"]),
    (
        "CallForTenders",
        &[
            "addressEntity",
            "authority",
            "onBehalfOf",
            "proof",
            "tenderers",
        ],
    ),
    ("Company", &["addressEntity", "parent", "proof"]),
    (
        "Contract",
        &["addressEntity", "authority", "project", "proof"],
    ),
    ("ContractAward", &["callForTenders", "contract", "supplier"]),
    ("CourtCase", &["addressEntity", "proof"]),
    ("CourtCaseParty", &["case", "party"]),
    ("CryptoWallet", &["addressEntity", "holder", "proof"]),
    ("Debt", &["creditor", "debtor"]),
    ("Directorship", &["director", "organization"]),
    (
        "Document",
        &["addressEntity", "ancestors", "parent", "proof"],
    ),
    ("Documentation", &["document", "entity"]),
    (
        "EconomicActivity",
        &[
            "bankAccount",
            "bankForeign",
            "bankRub",
            "contract",
            "contractHolder",
            "declarant",
            "receiver",
            "sender",
            "transport",
        ],
    ),
    (
        "Email",
        &[
            "addressEntity",
            "ancestors",
            "emitters",
            "inReplyToEmail",
            "parent",
            "proof",
            "recipients",
        ],
    ),
    ("Employment", &["employee", "employer"]),
    (
        "Event",
        &["addressEntity", "involved", "organizer", "proof"],
    ),
    ("Family", &["person", "relative"]),
    ("Folder", &["addressEntity", "ancestors", "parent", "proof"]),
    (
        "HyperText",
        &["addressEntity", "ancestors", "parent", "proof"],
    ),
    ("Identification", &["holder"]),
    (
        "Image",
        &["addressEntity", "ancestors", "parent", "pictured", "proof"],
    ),
    ("Interest", &[]),
    ("Interval", &[]),
    ("LegalEntity", &["addressEntity", "parent", "proof"]),
    (
        "License",
        &["addressEntity", "authority", "project", "proof"],
    ),
    ("Membership", &["member", "organization"]),
    ("Mention", &["document", "resolved"]),
    (
        "Message",
        &[
            "addressEntity",
            "ancestors",
            "inReplyToMessage",
            "parent",
            "proof",
            "recipientAccount",
            "recipients",
            "sender",
            "senderAccount",
        ],
    ),
    ("Note", &["addressEntity", "entity", "proof"]),
    ("Occupancy", &["holder", "post"]),
    ("Organization", &["addressEntity", "parent", "proof"]),
    ("Ownership", &["asset", "owner"]),
    (
        "Package",
        &["addressEntity", "ancestors", "parent", "proof"],
    ),
    ("Page", &["document"]),
    ("Pages", &["addressEntity", "ancestors", "parent", "proof"]),
    ("Passport", &["holder"]),
    (
        "Payment",
        &[
            "beneficiary",
            "beneficiaryAccount",
            "contract",
            "payer",
            "payerAccount",
            "project",
        ],
    ),
    ("Person", &["addressEntity", "parent", "proof"]),
    (
        "PlainText",
        &["addressEntity", "ancestors", "parent", "proof"],
    ),
    ("Position", &["addressEntity", "organization", "proof"]),
    ("Post", &["holder"]),
    ("Project", &["addressEntity", "proof"]),
    ("ProjectParticipant", &["participant", "project"]),
    ("PublicBody", &["addressEntity", "parent", "proof"]),
    ("RealEstate", &["addressEntity", "parent", "proof"]),
    ("Representation", &["agent", "client"]),
    ("Sanction", &["entity"]),
    ("Security", &["addressEntity", "issuer", "proof"]),
    ("Similar", &["candidate", "match"]),
    ("Succession", &["predecessor", "successor"]),
    ("Table", &["addressEntity", "ancestors", "parent", "proof"]),
    ("TaxRoll", &["taxee"]),
    ("Thing", &["addressEntity", "proof"]),
    (
        "Trip",
        &[
            "addressEntity",
            "endLocation",
            "involved",
            "organizer",
            "proof",
            "startLocation",
            "vehicle",
        ],
    ),
    ("UnknownLink", &["object", "subject"]),
    ("UserAccount", &["addressEntity", "owner", "proof"]),
    ("Value", &[]),
    ("Vehicle", &["addressEntity", "operator", "owner", "proof"]),
    ("Vessel", &["addressEntity", "operator", "owner", "proof"]),
    ("Video", &["addressEntity", "ancestors", "parent", "proof"]),
    (
        "Workbook",
        &["addressEntity", "ancestors", "parent", "proof"],
    ),
];

/// What each schema extends (followthemoney 3.5.9 `followthemoney/schema/*.yaml`, `extends`):
/// `filter:schemata` reads an index per descendant (`aleph/index/indexes.py` `schema_scope`).
const EXTENDS: &[(&str, &[&str])] = &[
    ("Address", &["Thing"]),
    ("Airplane", &["Vehicle"]),
    ("Article", &["Document"]),
    ("Assessment", &["Thing"]),
    ("Asset", &["Thing", "Value"]),
    ("Associate", &["Interval"]),
    ("Audio", &["Document"]),
    ("BankAccount", &["Asset"]),
    ("Call", &["Interval"]),
    ("CallForTenders", &["Thing", "Interval"]),
    ("Company", &["Organization", "Asset"]),
    ("Contract", &["Asset"]),
    ("ContractAward", &["Value", "Interest"]),
    ("CourtCase", &["Thing"]),
    ("CourtCaseParty", &["Interest"]),
    ("CryptoWallet", &["Thing", "Value"]),
    ("Debt", &["Interval", "Value"]),
    ("Directorship", &["Interest"]),
    ("Document", &["Thing", "Analyzable"]),
    ("EconomicActivity", &["Interval"]),
    ("Email", &["Folder", "PlainText", "HyperText"]),
    ("Employment", &["Interest"]),
    ("Event", &["Interval", "Analyzable", "Thing"]),
    ("Family", &["Interval"]),
    ("Folder", &["Document"]),
    ("HyperText", &["Document"]),
    ("Identification", &["Interval"]),
    ("Image", &["Document"]),
    ("Interest", &["Interval"]),
    ("LegalEntity", &["Thing"]),
    ("License", &["Contract"]),
    ("Membership", &["Interest"]),
    ("Message", &["Interval", "Folder", "PlainText", "HyperText"]),
    ("Note", &["Thing", "Analyzable"]),
    ("Occupancy", &["Interval"]),
    ("Organization", &["LegalEntity"]),
    ("Ownership", &["Interest"]),
    ("Package", &["Folder"]),
    ("Pages", &["Document"]),
    ("Passport", &["Identification"]),
    ("Payment", &["Interval", "Value"]),
    ("Person", &["LegalEntity"]),
    ("PlainText", &["Document"]),
    ("Position", &["Thing"]),
    ("Post", &["Interest"]),
    ("Project", &["Interval", "Thing", "Value"]),
    ("ProjectParticipant", &["Interest"]),
    ("PublicBody", &["Organization"]),
    ("RealEstate", &["Asset"]),
    ("Representation", &["Interest"]),
    ("Sanction", &["Interval"]),
    ("Security", &["Asset"]),
    ("Succession", &["Interest"]),
    ("Table", &["Document"]),
    ("TaxRoll", &["Interval"]),
    ("Trip", &["Event"]),
    ("UnknownLink", &["Interest"]),
    ("UserAccount", &["Thing"]),
    ("Vehicle", &["Asset"]),
    ("Vessel", &["Vehicle"]),
    ("Video", &["Document"]),
    ("Workbook", &["Folder"]),
];

/// Whether `schema` is `ancestor` or extends it, directly or not.
fn is_a(schema: &str, ancestor: &str) -> bool {
    // The hierarchy is a DAG of depth < 10; the bound keeps a typo in the table from looping.
    let mut frontier = vec![schema];
    for _ in 0..16 {
        if frontier.contains(&ancestor) {
            return true;
        }
        frontier = frontier
            .iter()
            .flat_map(|s| {
                EXTENDS
                    .iter()
                    .filter(move |(name, _)| name == s)
                    .flat_map(|(_, parents)| parents.iter().copied())
            })
            .collect();
        if frontier.is_empty() {
            return false;
        }
    }
    false
}

/// The entity-typed properties of `schema`, or `None` when there is no such schema.
fn references(schema: &str) -> Option<&'static [&'static str]> {
    SCHEMATA
        .iter()
        .find(|(name, _)| *name == schema)
        .map(|(_, properties)| *properties)
}

/// An entity reference as followthemoney reads one (`get_entity_id`): a string, a number, or an
/// object's `id`.
fn reference_id(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Object(o) => o.get("id").and_then(reference_id),
        _ => None,
    }
}

/// Entity-typed values as ids: what a client read (nested entities) can be written back as.
/// With a namespace, every id is signed as `Namespace.apply` does; unsignable values are dropped.
fn clean_references(fields: &mut Map<String, Value>, namespace: Option<&str>) {
    let schema = fields
        .get("schema")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let Some(names) = references(schema) else {
        return;
    };
    let Some(Value::Object(properties)) = fields.get_mut("properties") else {
        return;
    };
    for name in names {
        if let Some(Value::Array(values)) = properties.get_mut(*name) {
            *values = values
                .iter()
                .filter_map(reference_id)
                .filter_map(|id| match namespace {
                    Some(ns) => namespaced_id(ns, &id),
                    None => Some(id),
                })
                .map(Value::String)
                .collect();
        }
    }
}

struct State {
    data: AlephData,
    /// The public UI origin `next` and `links` URLs are built on.
    ui: String,
    /// Where the archive redirects to.
    storage: String,
    /// (collection id, role id) -> (read, write).
    permissions: Vec<(String, String, bool, bool)>,
    /// (collection id, role id) -> (permission id, created at): a stored permission's row.
    permission_rows: Vec<(String, String, String, String)>,
    mappings: Vec<Value>,
    /// content hash -> (file name, bytes).
    blobs: Vec<(String, String, Vec<u8>)>,
    next_id: u64,
    /// Roles, API keys and the rest of `graph`'s area.
    graph: graph::GraphState,
}

/// The API's router, and the router of the storage host its archive redirects to: another
/// origin (`storage_addr`), as an object store is, so that what a client sends after the
/// redirect is what it would send to real storage.
pub(super) fn router(
    data: AlephData,
    addr: SocketAddr,
    storage_addr: SocketAddr,
    faults: Faults,
) -> (Router, Router) {
    let ui = format!("http://localhost:{}", addr.port());
    let permissions = data
        .collections
        .iter()
        .filter_map(|c| c["id"].as_str())
        .map(|id| (id.to_owned(), "3".to_owned(), true, true))
        .collect();
    let state: Shared<State> = Arc::new(std::sync::Mutex::new(State {
        data,
        storage: format!("http://{storage_addr}"),
        ui,
        permissions,
        permission_rows: Vec::new(),
        mappings: Vec::new(),
        blobs: Vec::new(),
        next_id: 100,
        graph: graph::GraphState::new(),
    }));
    {
        let mut state = lock(&state);
        let seeded: Vec<(String, String)> = state
            .permissions
            .iter()
            .map(|(c, r, ..)| (c.clone(), r.clone()))
            .collect();
        for (collection, role) in seeded {
            state.permission_row(&collection, &role);
        }
    }
    let store = state.clone();
    let storage = Router::new().fallback(move |request: Request| {
        let state = store.clone();
        async move { serve_blob(&state, &request) }
    });
    let app = Router::new().fallback(move |request: Request| handle(state.clone(), request));
    (super::faults::wrap(app, faults, Platform::Aleph), storage)
}

/// `GET /_storage/{hash}?sig=...` on the storage host.
fn serve_blob(state: &Shared<State>, request: &Request) -> Response {
    let uri = request.uri();
    let Some(hash) = uri.path().strip_prefix("/_storage/") else {
        return raw(
            404,
            "application/xml",
            "<Error><Code>NoSuchKey</Code></Error>",
        );
    };
    super::storage(hash, request.headers(), &query_pairs(uri), || {
        let state = lock(state);
        let (_, name, bytes) = state.blobs.iter().find(|(h, ..)| h == hash)?;
        Some((name.clone(), bytes.clone()))
    })
}

fn error(status: u16, message: &str) -> Response {
    json(status, &json!({"status": "error", "message": message}))
}

fn forbidden() -> Response {
    json(
        403,
        &json!({"status": "error", "message": "You are not authorized to do this.", "roles": [1]}),
    )
}

fn not_found() -> Response {
    error(404, "This path does not exist.")
}

fn validation(field: &str, message: &str) -> Response {
    json(
        400,
        &json!({"status": "error", "errors": {field: message}, "message": "Error during data validation"}),
    )
}

fn empty(status: u16) -> Response {
    let mut response = Response::new(Body::empty());
    *response.status_mut() = axum::http::StatusCode::from_u16(status).unwrap_or_default();
    response
}

/// Aleph leaves out every empty value: null, "", [] and {}.
fn prune(value: Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| (k, prune(v)))
                .filter(|(_, v)| !is_empty(v))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(prune).collect()),
        other => other,
    }
}

fn is_empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        _ => false,
    }
}

fn ok(value: Value) -> Response {
    json(200, &prune(value))
}

/// Whether the caller sent the sandbox's API key (otherwise it is anonymous), as
/// `aleph/views/context.py` `get_authz` reads it: the `Authorization` header, then the `api_key`
/// parameter. `Token <jwt>` is a session token, and one that does not verify is a 401 (the
/// sandbox issues none, so none verifies); any other scheme, or none, carries an API key, and a
/// key that matches nobody leaves the caller anonymous.
/// `current` is the key that works: the sandbox's, until `generate_api_key` replaced it.
fn signed_in(
    headers: &HeaderMap,
    query: &[(String, String)],
    current: &str,
) -> Result<bool, Response> {
    let credential = |value: &str| -> Result<bool, Response> {
        let key = match value.split_once(' ') {
            Some(("Token", _)) => {
                return Err(json(
                    401,
                    &json!({"status": "error", "errors": "Access token is invalid."}),
                ));
            }
            Some((_, key)) => key,
            None => value,
        };
        Ok(!key.is_empty() && key == current)
    };
    let header = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty());
    if let Some(value) = header
        && credential(value)?
    {
        return Ok(true);
    }
    match query.iter().find(|(k, _)| k == "api_key") {
        Some((_, value)) if !value.is_empty() => credential(value),
        _ => Ok(false),
    }
}

async fn handle(state: Shared<State>, request: Request) -> Response {
    let uri = request.uri().clone();
    let query = query_pairs(&uri);
    let Some(path) = segments(&uri, "/api/2/") else {
        return not_found();
    };
    let current = lock(&state).graph.api_key.clone();
    let current = current.as_deref().unwrap_or(credentials::ALEPH_API_KEY);
    let user = match signed_in(request.headers(), &query, current) {
        Ok(user) => user,
        Err(response) => return response,
    };
    let path: Vec<&str> = path.iter().map(String::as_str).collect();
    if let Some(allowed) = allowed_methods(&path) {
        let method = request.method().as_str();
        if method == "OPTIONS" {
            return with_allow(empty(200), allowed);
        }
        if !allowed.contains(&method) {
            return with_allow(
                raw(405, "text/html; charset=utf-8", METHOD_NOT_ALLOWED),
                allowed,
            );
        }
    }
    // Flask answers HEAD as GET, without the body (hyper drops it).
    let method = match request.method() {
        &Method::HEAD => Method::GET,
        other => other.clone(),
    };
    if let ["collections", id, "ingest"] = path.as_slice() {
        if !user {
            return forbidden();
        }
        return ingest(&state, id, request).await;
    }
    // Flask's `request.get_json()` reads a body sent as JSON (and `_bulk` reads any body as
    // JSON); one that does not parse is Werkzeug's generic 400, turned into JSON by
    // `aleph/views/base_api.py` `handle_bad_request`, with no `errors`.
    let sent_as_json = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase())
        .is_some_and(|v| v == "application/json" || v.ends_with("+json"));
    let reads_json =
        sent_as_json || matches!(path.as_slice(), ["collections", _, "_bulk" | "bulk"]);
    let bytes = axum::body::to_bytes(request.into_body(), 64 << 20)
        .await
        .unwrap_or_default();
    let writes = !matches!(method, Method::GET | Method::HEAD);
    let body: Option<Value> = match serde_json::from_slice(&bytes) {
        Ok(value) => Some(value),
        Err(_) if writes && reads_json && !bytes.is_empty() => {
            return error(
                400,
                "The browser (or proxy) sent a request that this server could not understand.",
            );
        }
        Err(_) => None,
    };
    // `POST /match` is open to anonymous callers (`require(can_browse_anonymous)`).
    if writes && !user && !matches!(path.first(), Some(&"archive" | &"match")) {
        return forbidden();
    }
    let mut state = lock(&state);
    let param = |name: &str| {
        query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    match (method, path.as_slice()) {
        (Method::GET, ["collections"]) => {
            let q = param("q").map(str::to_lowercase);
            let items: Vec<Value> = state
                .data
                .collections
                .iter()
                .filter(|c| user || c["secret"] != true)
                .filter(|c| {
                    q.as_ref().is_none_or(|q| {
                        c["label"]
                            .as_str()
                            .is_some_and(|l| l.to_lowercase().contains(q))
                    })
                })
                .filter(|c| filters_match(c, &query))
                .map(|c| state.collection_view(c))
                .collect();
            state.listing("collections", items, &query, false)
        }
        (Method::POST | Method::PUT, ["collections"]) => {
            let Some(Value::Object(fields)) = body else {
                return validation("label", "Missing data for required field.");
            };
            if let Err(response) = check_collection(&fields) {
                return response;
            }
            let foreign_id = fields
                .get("foreign_id")
                .and_then(Value::as_str)
                .map(str::to_owned);
            if let Some(fid) = &foreign_id
                && state
                    .data
                    .collections
                    .iter()
                    .any(|c| c["foreign_id"] == fid.as_str())
            {
                return error(400, "A collection with this foreign_id already exists.");
            }
            state.next_id += 1;
            let id = state.next_id.to_string();
            let now = naive(Utc::now());
            let mut collection = json!({
                "id": id, "collection_id": id, "foreign_id": foreign_id.unwrap_or_else(|| sign(&[&id])),
                "category": "other", "frequency": "unknown", "casefile": false, "secret": true, "xref": false,
                "restricted": false, "count": 0, "created_at": now, "updated_at": now, "writeable": true,
                "creator": aleph_role("3", "user", "Test Analyst", "Test Analyst"),
                "team": [aleph_role("3", "user", "Test Analyst", "Test Analyst")],
            });
            merge(&mut collection, &fields, &COLLECTION_FIELDS);
            state.data.collections.push(collection.clone());
            state.data.entities.push((id.clone(), Vec::new()));
            state.permission_row(&id, "3");
            state.permissions.push((id, "3".into(), true, true));
            ok(state.collection_view(&collection))
        }
        (method, ["collections", id, rest @ ..]) => {
            let Some(index) = state.data.collections.iter().position(|c| c["id"] == *id) else {
                return not_found();
            };
            if !user && state.data.collections[index]["secret"] == true {
                return forbidden();
            }
            state.collection_route(index, method, rest, &query, body, user)
        }
        (Method::GET, ["entities"]) => {
            let q = param("q").map(str::to_lowercase);
            let wanted = |key: &str| {
                query
                    .iter()
                    .filter(|(k, _)| k == key)
                    .map(|(_, v)| v.clone())
                    .collect::<Vec<_>>()
            };
            let (schemata, schema, collections) = (
                wanted("filter:schemata"),
                wanted("filter:schema"),
                wanted("filter:collection_id"),
            );
            // `aleph/search/__init__.py` `EntitiesQuery.get_index`: the schema picks the index.
            if schema.is_empty() && schemata.is_empty() {
                return error(400, "No schema is specified for the query.");
            }
            let visible: Vec<String> = state
                .data
                .collections
                .iter()
                .filter(|c| user || c["secret"] != true)
                .filter_map(|c| c["id"].as_str().map(str::to_owned))
                .collect();
            let items: Vec<Value> = state
                .data
                .entities
                .iter()
                .filter(|(cid, _)| {
                    visible.contains(cid) && (collections.is_empty() || collections.contains(cid))
                })
                .flat_map(|(_, entities)| entities.iter())
                // `filter:schema` picks the index of that schema alone; only without it does
                // `filter:schemata` pick the indexes of the schema and all it descends to.
                .filter(|e| {
                    let kind = e["schema"].as_str().unwrap_or_default();
                    if schema.is_empty() {
                        schemata.iter().any(|s| is_a(kind, s))
                    } else {
                        schema.iter().any(|s| kind == s)
                    }
                })
                .filter(|e| property_filters_match(e, &query))
                .filter(|e| {
                    q.as_ref().is_none_or(|q| {
                        e["caption"]
                            .as_str()
                            .is_some_and(|c| c.to_lowercase().contains(q))
                    })
                })
                .map(|e| state.entity_view(e, user))
                .collect();
            state.listing("entities", items, &query, true)
        }
        (Method::POST | Method::PUT, ["entities"]) => {
            let Some(Value::Object(fields)) = body else {
                return validation("schema", "Missing data for required field.");
            };
            let collection = fields.get("collection_id").map(|v| {
                v.as_str()
                    .map(str::to_owned)
                    .unwrap_or_else(|| v.to_string())
            });
            let Some(collection) =
                collection.filter(|c| state.data.entities.iter().any(|(id, _)| id == c))
            else {
                return validation("collection_id", "Missing data for required field.");
            };
            let mut fields = fields;
            fields.remove("id");
            if let Err(response) = check_schema(&fields) {
                return response;
            }
            clean_references(&mut fields, None);
            match state.upsert(&collection, fields) {
                Ok(id) => state.entity_response(&id, user),
                Err(response) => response,
            }
        }
        // `aleph/views/stream_api.py`: the stream of every collection is for admins only, and
        // the sandbox's user is none.
        (Method::GET, ["entities", "_stream"]) => forbidden(),
        (method, ["entities", id]) => {
            let Some((collection, _)) = state.find_entity(id) else {
                return not_found();
            };
            if !user
                && state
                    .data
                    .collections
                    .iter()
                    .any(|c| c["id"] == collection.as_str() && c["secret"] == true)
            {
                return forbidden();
            }
            match method {
                Method::GET => state.entity_response(id, user),
                Method::POST | Method::PUT => {
                    let Some(Value::Object(mut fields)) = body else {
                        return validation("schema", "Missing data for required field.");
                    };
                    fields.insert("id".into(), json!(id));
                    if let Err(response) = check_schema(&fields) {
                        return response;
                    }
                    clean_references(&mut fields, None);
                    match state.upsert(&collection, fields) {
                        Ok(id) => state.entity_response(&id, user),
                        Err(response) => response,
                    }
                }
                Method::DELETE => {
                    if let Some((_, list)) = state
                        .data
                        .entities
                        .iter_mut()
                        .find(|(c, _)| *c == collection)
                    {
                        list.retain(|e| e["id"] != *id);
                    }
                    empty(204)
                }
                _ => not_found(),
            }
        }
        (Method::GET, ["alerts"]) => {
            let alerts: Vec<Value> = state
                .data
                .alerts
                .iter()
                .rev()
                .map(|a| state.alert_view(a))
                .collect();
            if !user {
                return forbidden();
            }
            state.listing("alerts", alerts, &query, false)
        }
        (Method::POST | Method::PUT, ["alerts"]) => {
            let query_text = body
                .as_ref()
                .and_then(|b| b["query"].as_str())
                .unwrap_or("");
            let length = query_text.chars().count();
            if !(3..=100).contains(&length) {
                return validation("query", "Length must be between 3 and 100.");
            }
            state.next_id += 1;
            let now = naive(Utc::now());
            let alert = json!({"id": state.next_id.to_string(), "query": query_text, "created_at": now, "updated_at": now, "writeable": true});
            state.data.alerts.push(alert.clone());
            ok(state.alert_view(&alert))
        }
        (method, ["alerts", id]) => {
            let Some(index) = state.data.alerts.iter().position(|a| a["id"] == *id) else {
                return not_found();
            };
            match method {
                Method::GET => ok(state.alert_view(&state.data.alerts[index])),
                Method::DELETE => {
                    state.data.alerts.remove(index);
                    empty(204)
                }
                _ => not_found(),
            }
        }
        (Method::GET, ["archive"]) => {
            // `aleph/views/archive_api.py`: a missing token fails to decode like a bad one
            // (`archive_token` → `jwt.decode`, `DecodeError` → 401 in `base_api.py`).
            let valid = param("token")
                .and_then(|token| token.split_once('.'))
                .filter(|(hash, signature)| sign(&["archive", hash]) == *signature)
                .map(|(hash, _)| hash.to_owned());
            let Some(hash) = valid.filter(|h| state.blobs.iter().any(|(b, _, _)| b == h)) else {
                return json(
                    401,
                    &json!({"status": "error", "errors": "Access token is invalid."}),
                );
            };
            let location = format!(
                "{}/_storage/{hash}?sig={}",
                state.storage,
                sign(&["storage", &hash])
            );
            let mut response = empty(302);
            if let Ok(value) = location.parse() {
                response.headers_mut().insert(header::LOCATION, value);
            }
            response
        }
        (method, path) if graph::owns(path) => {
            graph::route(&mut state, method, path, &query, body, user)
        }
        _ => not_found(),
    }
}

/// Werkzeug's page for a 405 (Aleph registers no handler for it).
const METHOD_NOT_ALLOWED: &str = "<!doctype html>\n<html lang=en>\n<title>405 Method Not Allowed</title>\n<h1>Method Not Allowed</h1>\n<p>The method is not allowed for the requested URL.</p>\n";

/// The methods Flask routes for a path (`@blueprint.route` in `aleph/views/*_api.py`, with the
/// HEAD and OPTIONS Flask adds), or `None` for a path the sandbox leaves to its handlers.
fn allowed_methods(path: &[&str]) -> Option<&'static [&'static str]> {
    const READ: &[&str] = &["GET", "HEAD", "OPTIONS"];
    const READ_CREATE: &[&str] = &["GET", "HEAD", "OPTIONS", "POST", "PUT"];
    const ALL: &[&str] = &["DELETE", "GET", "HEAD", "OPTIONS", "POST", "PUT"];
    const CHANGE: &[&str] = &["OPTIONS", "POST", "PUT"];
    let methods = match path {
        ["collections"] | ["entities"] | ["alerts"] => READ_CREATE,
        ["collections", _] | ["entities", _] => ALL,
        ["alerts", _] => &["DELETE", "GET", "HEAD", "OPTIONS"],
        ["archive"] => READ,
        ["collections", _, "reingest" | "reindex" | "touch"] => CHANGE,
        ["collections", _, "_bulk" | "bulk"] => &["OPTIONS", "POST"],
        ["collections", _, "status"] => &["DELETE", "GET", "HEAD", "OPTIONS"],
        ["collections", _, "_stream"] => READ,
        ["collections", _, "permissions" | "mappings"] => READ_CREATE,
        _ => return None,
    };
    Some(methods)
}

fn with_allow(mut response: Response, allowed: &[&str]) -> Response {
    if let Ok(value) = allowed.join(", ").parse() {
        response.headers_mut().insert(header::ALLOW, value);
    }
    response
}

/// banal's `as_bool`, as Aleph reads a flag (banal 1.0.6, `banal/bools.py`).
fn as_bool(value: &str) -> bool {
    const TRUEISH: [&str; 7] = ["1", "yes", "y", "t", "true", "on", "enabled"];
    TRUEISH.contains(&value.trim().to_lowercase().as_str())
}

const COLLECTION_FIELDS: [&str; 13] = [
    "label",
    "summary",
    "category",
    "frequency",
    "countries",
    "languages",
    "publisher",
    "publisher_url",
    "info_url",
    "data_url",
    "casefile",
    "restricted",
    "xref",
];

fn merge(target: &mut Value, fields: &Map<String, Value>, allowed: &[&str]) {
    for (key, value) in fields {
        if allowed.contains(&key.as_str()) {
            target[key] = value.clone();
        }
    }
}

fn check_collection(fields: &Map<String, Value>) -> Result<(), Response> {
    let label = fields.get("label").and_then(Value::as_str).unwrap_or("");
    let length = label.chars().count();
    if length < 2 {
        return Err(validation("label", &format!("'{label}' is too short")));
    }
    if length > 500 {
        return Err(validation("label", "Longer than maximum length 500."));
    }
    if let Some(category) = fields.get("category").and_then(Value::as_str)
        && !CATEGORIES.contains(&category)
    {
        return Err(validation(
            "category",
            &format!("'{category}' is not a valid category"),
        ));
    }
    Ok(())
}

/// An entity's `schema` is a FollowTheMoney schema (`aleph/validation/formats.py`
/// `check_schema`, reported by jsonschema as `'<value>' is not a 'schema'`).
fn check_schema(fields: &Map<String, Value>) -> Result<(), Response> {
    match fields.get("schema").and_then(Value::as_str) {
        None | Some("") => Err(validation("schema", "Missing data for required field.")),
        Some(schema) if references(schema).is_none() => Err(validation(
            "schema",
            &format!("'{schema}' is not a 'schema'"),
        )),
        Some(_) => Ok(()),
    }
}

/// `filter:<field>=<value>` on a collection's top-level fields.
fn filters_match(collection: &Value, query: &[(String, String)]) -> bool {
    query
        .iter()
        .filter_map(|(k, v)| Some((k.strip_prefix("filter:")?, v)))
        .all(|(field, value)| match &collection[field] {
            Value::Array(items) => items.iter().any(|i| i.as_str() == Some(value)),
            Value::String(s) => s == value,
            Value::Bool(b) => b.to_string() == *value,
            Value::Null => false,
            other => serde_json::from_str::<Value>(value).is_ok_and(|v| v == *other),
        })
}

/// `filter:properties.<name>` (any of the values, as an exact term), `exclude:properties.<name>`
/// (none of them) and `empty:properties.<name>` (no value at all), as
/// `aleph/search/query.py` `get_filters_list` / `get_negative_filters` build them for
/// Elasticsearch.
fn property_filters_match(entity: &Value, query: &[(String, String)]) -> bool {
    let values = |name: &str| -> Vec<String> {
        match &entity["properties"][name] {
            Value::Array(items) => items.iter().filter_map(reference_id).collect(),
            _ => Vec::new(),
        }
    };
    let mut wanted: Vec<(&str, Vec<&str>)> = Vec::new();
    for (key, value) in query {
        if let Some(name) = key.strip_prefix("filter:properties.") {
            match wanted.iter_mut().find(|(n, _)| *n == name) {
                Some((_, list)) => list.push(value),
                None => wanted.push((name, vec![value])),
            }
        } else if let Some(name) = key.strip_prefix("exclude:properties.") {
            if values(name).iter().any(|v| v == value) {
                return false;
            }
        } else if let Some(name) = key.strip_prefix("empty:properties.")
            && !values(name).is_empty()
        {
            return false;
        }
    }
    wanted
        .iter()
        .all(|(name, list)| values(name).iter().any(|v| list.contains(&v.as_str())))
}

impl State {
    fn collection_view(&self, collection: &Value) -> Value {
        let id = collection["id"].as_str().unwrap_or_default();
        let mut view = collection.clone();
        view["count"] = json!(self.entities_of(id).map_or(0, Vec::len));
        view["links"] = json!({
            "self": format!("{}/api/2/collections/{id}", self.ui),
            "ui": format!("{}/datasets/{id}", self.ui),
        });
        view["shallow"] = json!(true);
        view
    }

    /// A collection as `GET /collections/{id}` shows it: with its statistics, counts and
    /// processing status (`aleph/logic/collections.py` `get_deep_collection`; the statistics per
    /// facet as `aleph/index/collections.py` `update_collection_stats` stores them, of which the
    /// sandbox computes the schema facet).
    fn deep_collection_view(&self, index: usize) -> Value {
        let collection = &self.data.collections[index];
        let id = collection["id"].as_str().unwrap_or_default();
        let mut schemata: Map<String, Value> = Map::new();
        for entity in self.entities_of(id).into_iter().flatten() {
            let schema = entity["schema"].as_str().unwrap_or_default().to_owned();
            let count = schemata.get(&schema).and_then(Value::as_u64).unwrap_or(0);
            schemata.insert(schema, json!(count + 1));
        }
        let mappings = self
            .mappings
            .iter()
            .filter(|m| m["collection_id"] == id)
            .count();
        let mut view = self.collection_view(collection);
        view["statistics"] = json!({"schema": {"total": schemata.len(), "values": schemata}});
        view["counts"] = json!({"mappings": mappings, "entitysets": {}});
        view["status"] = json!({"finished": 0, "running": 0, "pending": 0});
        view["shallow"] = json!(false);
        view
    }

    fn entities_of(&self, collection: &str) -> Option<&Vec<Value>> {
        self.data
            .entities
            .iter()
            .find(|(c, _)| c == collection)
            .map(|(_, e)| e)
    }

    fn find_entity(&self, id: &str) -> Option<(String, Value)> {
        self.data.entities.iter().find_map(|(c, list)| {
            list.iter()
                .find(|e| e["id"] == id)
                .map(|e| (c.clone(), e.clone()))
        })
    }

    /// An entity as `EntitySerializer` writes it: the entity-typed properties resolved to the
    /// entities they point at, each marked `shallow` and itself not resolved further
    /// (`aleph/views/serializers.py`); a reference the caller cannot read, or to nothing, stays
    /// an id.
    fn entity_view(&self, entity: &Value, user: bool) -> Value {
        let mut view = self.shallow_view(entity);
        let schema = entity["schema"].as_str().unwrap_or_default();
        let Some(properties) = view["properties"].as_object_mut() else {
            return view;
        };
        for name in references(schema).unwrap_or_default() {
            let Some(Value::Array(values)) = properties.get_mut(*name) else {
                continue;
            };
            for value in values.iter_mut() {
                let target = value.as_str().and_then(|id| self.find_entity(id));
                let Some((collection, target)) = target else {
                    continue;
                };
                let readable = user
                    || self
                        .data
                        .collections
                        .iter()
                        .any(|c| c["id"] == collection.as_str() && c["secret"] != true);
                if readable {
                    let mut nested = self.shallow_view(&target);
                    nested["shallow"] = json!(true);
                    *value = nested;
                }
            }
        }
        view
    }

    /// An entity with its collection and links, its properties as stored.
    fn shallow_view(&self, entity: &Value) -> Value {
        let id = entity["id"].as_str().unwrap_or_default();
        let mut view = entity.clone();
        if let Some(object) = view.as_object_mut() {
            object.remove("collection_id");
            // Kept for `q`, but not sent: the index is read with `_source` cut to
            // `PROXY_INCLUDES` (`aleph/index/entities.py` `ENTITY_SOURCE`), which holds no
            // caption, and `EntitySerializer` adds none.
            object.remove("caption");
        }
        let collection = entity["collection_id"].as_str().unwrap_or_default();
        if let Some(c) = self.data.collections.iter().find(|c| c["id"] == collection) {
            view["collection"] = self.collection_view(c);
        }
        // `aleph/views/serializers.py` `EntitySerializer._serialize`.
        view["links"] = json!({
            "self": format!("{}/api/2/entities/{id}", self.ui),
            "expand": format!("{}/api/2/entities/{id}/expand", self.ui),
            "tags": format!("{}/api/2/entities/{id}/tags", self.ui),
            "ui": format!("{}/entities/{id}", self.ui),
        });
        if let Some(hash) = entity["properties"]["contentHash"][0].as_str() {
            view["links"]["file"] = json!(format!(
                "{}/api/2/archive?token={hash}.{}",
                self.ui,
                sign(&["archive", hash])
            ));
        }
        view["writeable"] = json!(true);
        view
    }

    fn entity_response(&self, id: &str, user: bool) -> Response {
        match self.find_entity(id) {
            Some((_, entity)) => ok(self.entity_view(&entity, user)),
            None => not_found(),
        }
    }

    fn alert_view(&self, alert: &Value) -> Value {
        let mut view = alert.clone();
        view["links"] = json!({"self": format!("{}/api/2/alerts/{}", self.ui, alert["id"].as_str().unwrap_or_default())});
        view
    }

    /// Creates or replaces an entity; returns its id.
    fn upsert(&mut self, collection: &str, fields: Map<String, Value>) -> Result<String, Response> {
        let Some(schema) = fields
            .get("schema")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
        else {
            return Err(validation("schema", "Missing data for required field."));
        };
        let id = match fields.get("id").and_then(Value::as_str) {
            Some(id) if !id.is_empty() => id.to_owned(),
            _ => {
                self.next_id += 1;
                format!(
                    "{}.{}",
                    sign(&[collection, &self.next_id.to_string()]),
                    sign(&["entity", &self.next_id.to_string()])
                )
            }
        };
        let properties = fields
            .get("properties")
            .cloned()
            .unwrap_or_else(|| json!({}));
        let caption = properties["name"][0].clone();
        let now = naive(Utc::now());
        let list = match self.data.entities.iter_mut().find(|(c, _)| c == collection) {
            Some((_, list)) => list,
            None => return Err(not_found()),
        };
        let created = list
            .iter()
            .position(|e| e["id"] == id.as_str())
            .map(|i| list.remove(i)["created_at"].clone())
            .unwrap_or_else(|| json!(now));
        list.push(json!({
            "id": id, "schema": schema, "caption": caption, "properties": properties,
            "collection_id": collection, "created_at": created, "updated_at": now,
        }));
        Ok(id)
    }

    /// An offset page in Aleph's shape, with `next` built on the UI origin.
    fn listing(
        &self,
        path: &str,
        items: Vec<Value>,
        query: &[(String, String)],
        search: bool,
    ) -> Response {
        let number = |name: &str, default: usize| {
            query
                .iter()
                .find(|(k, _)| k == name)
                .and_then(|(_, v)| v.parse::<usize>().ok())
                .unwrap_or(default)
        };
        // `aleph/search/parser.py`: the limit is capped at `MAX_PAGE`; a search also caps the
        // offset and cuts the limit so that `offset + limit` stays inside the window, but the
        // envelope and the links keep the limit asked for (`next_limit`).
        let asked = number("limit", 20).min(WINDOW);
        let mut offset = number("offset", 0);
        let mut limit = asked;
        if search {
            offset = offset.min(WINDOW);
            limit = limit.min(WINDOW - offset);
        }
        let (total, total_type) = if search && items.len() > 10_000 {
            (10_000, "gte")
        } else {
            (items.len(), "eq")
        };
        let results: Vec<Value> = items
            .iter()
            .skip(offset)
            .take(limit)
            .map(|v| prune(v.clone()))
            .collect();
        let others: Vec<(String, String)> = query
            .iter()
            .filter(|(k, _)| k != "offset" && k != "limit" && k != "api_key")
            .cloned()
            .collect();
        let link = |offset: usize| {
            let mut url = format!("{}/api/2/{path}?offset={offset}&limit={asked}", self.ui);
            for (k, v) in &others {
                url.push('&');
                url.extend(url::form_urlencoded::byte_serialize(k.as_bytes()));
                url.push('=');
                url.extend(url::form_urlencoded::byte_serialize(v.as_bytes()));
            }
            url
        };
        // At the edge of the window the cut limit is 0 and `next` points at the same page
        // again (`aleph/search/result.py` `next_url`): a client must stop there by itself.
        let next = ((asked > 0 || search) && offset + limit <= total).then(|| link(offset + limit));
        let previous = offset.checked_sub(asked).map(link);
        let pages = if asked == 0 { 1 } else { total.div_ceil(asked) };
        // The envelope keeps its empty values (`aleph/search/result.py` `QueryResult.to_dict`):
        // `"next": null`, `"previous": null`, `"results": []`; only the items are pruned.
        json(
            200,
            &json!({
                "status": "ok", "results": results, "total": total, "total_type": total_type,
                "page": offset.checked_div(limit).unwrap_or(0) + 1, "pages": pages, "limit": asked, "offset": offset,
                "next": next, "previous": previous,
            }),
        )
    }

    fn collection_route(
        &mut self,
        index: usize,
        method: Method,
        rest: &[&str],
        query: &[(String, String)],
        body: Option<Value>,
        user: bool,
    ) -> Response {
        let id = self.data.collections[index]["id"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        match (method, rest) {
            (Method::GET, []) => ok(self.deep_collection_view(index)),
            (Method::POST | Method::PUT, []) => {
                let Some(Value::Object(fields)) = body else {
                    return validation("label", "Missing data for required field.");
                };
                if let Err(response) = check_collection(&fields) {
                    return response;
                }
                let collection = &mut self.data.collections[index];
                merge(collection, &fields, &COLLECTION_FIELDS);
                collection["updated_at"] = json!(naive(Utc::now()));
                let collection = collection.clone();
                ok(self.collection_view(&collection))
            }
            (Method::DELETE, []) => {
                // `aleph/views/util.py` `get_flag`: banal's `as_bool` of the first value.
                let keep_metadata = query
                    .iter()
                    .find(|(k, _)| k == "keep_metadata")
                    .is_some_and(|(_, v)| as_bool(v));
                if let Some((_, list)) = self.data.entities.iter_mut().find(|(c, _)| *c == id) {
                    list.clear();
                }
                if !keep_metadata {
                    self.data.collections.remove(index);
                }
                empty(204)
            }
            (Method::POST | Method::PUT, ["reingest" | "reindex" | "touch"]) => empty(202),
            (Method::GET, ["status"]) => ok(json!({"finished": 0, "running": 0, "pending": 0})),
            (Method::DELETE, ["status"]) => empty(204),
            (Method::POST, ["_bulk" | "bulk"]) => {
                let entities = match body {
                    Some(Value::Array(items)) => items,
                    Some(item @ Value::Object(_)) => vec![item],
                    _ => return error(400, "Invalid JSON body."),
                };
                // `aleph/logic/processing.py` `bulk_write`: each entity is signed with the
                // collection's namespace (`collection.ns.apply`, keyed with its foreign id),
                // its references too; one that cannot be signed has no id and stops the load.
                let namespace = self.data.collections[index]["foreign_id"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned();
                for entity in entities {
                    let Value::Object(mut fields) = entity else {
                        return error(400, "Each entity must be an object.");
                    };
                    let schema = fields.get("schema").and_then(Value::as_str);
                    if schema.and_then(references).is_none() {
                        return json(
                            400,
                            &json!({"status": "error", "message": "No schema for entity.", "errors": null}),
                        );
                    }
                    let signed = fields
                        .get("id")
                        .and_then(reference_id)
                        .and_then(|plain| namespaced_id(&namespace, &plain));
                    let Some(signed) = signed else {
                        let mut errors = fields.clone();
                        errors.insert("id".into(), Value::Null);
                        errors.entry("properties").or_insert_with(|| json!({}));
                        return json(
                            400,
                            &json!({"status": "error", "message": "No ID for entity", "errors": errors}),
                        );
                    };
                    fields.insert("id".into(), Value::String(signed));
                    clean_references(&mut fields, Some(&namespace));
                    if let Err(response) = self.upsert(&id, fields) {
                        return response;
                    }
                }
                empty(204)
            }
            // `aleph/views/stream_api.py`: write access to the collection, lines are the
            // indexed documents (`aleph/index/entities.py` `format_proxy`: an integer
            // `collection_id`) cut to `include=` or `PROXY_INCLUDES`, plus the id.
            (Method::GET, ["_stream"]) => {
                if !user || !self.can_write(&id) {
                    return forbidden();
                }
                let wanted = |key: &str| -> Vec<&str> {
                    query
                        .iter()
                        .filter(|(k, _)| k == key)
                        .map(|(_, v)| v.as_str())
                        .collect()
                };
                let schemata = wanted("schema");
                let mut includes = wanted("include");
                if includes.is_empty() {
                    includes = PROXY_INCLUDES.to_vec();
                }
                let lines: String = self
                    .entities_of(&id)
                    .into_iter()
                    .flatten()
                    .filter(|e| schemata.is_empty() || schemata.iter().any(|s| e["schema"] == *s))
                    .map(|e| {
                        let mut line = Map::new();
                        line.insert("id".into(), e["id"].clone());
                        for field in &includes {
                            let value = match *field {
                                "collection_id" => json!(id.parse::<u64>().ok()),
                                "mutable" => json!(false),
                                other => e.get(other).cloned().unwrap_or(Value::Null),
                            };
                            if !value.is_null() {
                                line.insert((*field).to_owned(), value);
                            }
                        }
                        format!("{}\n", Value::Object(line))
                    })
                    .collect();
                raw(200, "application/json+stream", lines)
            }
            (Method::GET, ["permissions"]) => self.permissions_view(&id),
            (Method::POST | Method::PUT, ["permissions"]) => {
                let Some(Value::Array(items)) = body else {
                    return error(400, "Expected a list of permissions.");
                };
                for item in items {
                    let role = item
                        .get("role_id")
                        .or_else(|| item.get("role").and_then(|r| r.get("id")));
                    let Some(role) = role.map(|r| {
                        r.as_str()
                            .map(str::to_owned)
                            .unwrap_or_else(|| r.to_string())
                    }) else {
                        continue;
                    };
                    if !ROLES.iter().any(|(r, ..)| *r == role) {
                        continue; // invalid items are silently dropped
                    }
                    let write = item["write"].as_bool().unwrap_or(false) && role != "1";
                    let read = item["read"].as_bool().unwrap_or(false) || write;
                    self.permissions
                        .retain(|(c, r, ..)| !(*c == id && *r == role));
                    self.permission_row(&id, &role);
                    self.permissions.push((id.clone(), role, read, write));
                }
                self.permissions_view(&id)
            }
            (Method::GET, ["mappings"]) => {
                let mappings: Vec<Value> = self
                    .mappings
                    .iter()
                    .filter(|m| m["collection_id"] == id.as_str())
                    .cloned()
                    .collect();
                self.listing(
                    &format!("collections/{id}/mappings"),
                    mappings,
                    query,
                    false,
                )
            }
            (Method::POST | Method::PUT, ["mappings"]) => {
                let Some(body) = body else {
                    return error(400, "Invalid mapping.");
                };
                let table = body["table_id"].as_str().unwrap_or_default().to_owned();
                if !self
                    .entities_of(&id)
                    .is_some_and(|l| l.iter().any(|e| e["id"] == table.as_str()))
                {
                    return error(400, "The table does not belong to this collection.");
                }
                self.next_id += 1;
                let now = naive(Utc::now());
                let mapping = json!({
                    "id": self.next_id.to_string(), "collection_id": id, "table_id": table,
                    "query": body.get("mapping_query").cloned().unwrap_or_else(|| json!({})),
                    "entityset_id": body["entityset_id"], "role_id": "3",
                    "created_at": now, "updated_at": now, "links": {},
                });
                self.mappings.push(mapping.clone());
                ok(mapping)
            }
            (method, ["mappings", mid, action @ ..]) => {
                let Some(m) = self
                    .mappings
                    .iter()
                    .position(|m| m["id"] == *mid && m["collection_id"] == id.as_str())
                else {
                    return not_found();
                };
                match (method, action) {
                    (Method::GET, []) => ok(self.mappings[m].clone()),
                    (Method::POST | Method::PUT, []) => {
                        if let Some(query) = body.as_ref().and_then(|b| b.get("mapping_query")) {
                            self.mappings[m]["query"] = query.clone();
                        }
                        if let Some(table) = body.as_ref().and_then(|b| b.get("table_id")) {
                            self.mappings[m]["table_id"] = table.clone();
                        }
                        self.mappings[m]["updated_at"] = json!(naive(Utc::now()));
                        ok(self.mappings[m].clone())
                    }
                    (Method::DELETE, []) => {
                        self.mappings.remove(m);
                        empty(204)
                    }
                    (Method::POST | Method::PUT, ["trigger"]) => {
                        self.mappings[m]["last_run_status"] = json!("successful");
                        let mapping = prune(self.mappings[m].clone());
                        json(202, &mapping)
                    }
                    (Method::POST | Method::PUT, ["flush"]) => empty(202),
                    _ => not_found(),
                }
            }
            _ => not_found(),
        }
    }

    /// Whether the sandbox's user may write to the collection.
    fn can_write(&self, collection: &str) -> bool {
        self.permissions
            .iter()
            .any(|(c, r, _, write)| c == collection && r == "3" && *write)
    }

    /// The row of a stored permission, made on its first grant (`aleph/model/permission.py`
    /// `Permission.grant`, which later grants update in place).
    fn permission_row(&mut self, collection: &str, role: &str) {
        if self
            .permission_rows
            .iter()
            .any(|(c, r, ..)| c == collection && r == role)
        {
            return;
        }
        self.next_id += 1;
        let row = (
            collection.to_owned(),
            role.to_owned(),
            self.next_id.to_string(),
            naive(Utc::now()),
        );
        self.permission_rows.push(row);
    }

    /// Stored permissions as `Permission.to_dict` writes them (with their `id` and dates), and
    /// a bare `read`/`write` for the roles holding none (`aleph/views/permissions_api.py`
    /// `index`, `PermissionSerializer`).
    fn permissions_view(&self, collection: &str) -> Response {
        let results: Vec<Value> = ROLES
            .iter()
            .map(|(role, kind, name)| {
                let granted = self.permissions.iter().find(|(c, r, ..)| c == collection && r == role);
                let (read, write) = granted.map_or((false, false), |(_, _, r, w)| (*r, *w));
                let mut permission = json!({"read": read, "write": write, "writeable": true, "role": aleph_role(role, kind, name, name)});
                let row = self.permission_rows.iter().find(|(c, r, ..)| c == collection && r == role);
                if let (Some((_, _, id, created)), Some(_)) = (row, granted) {
                    permission["id"] = json!(id);
                    permission["created_at"] = json!(created);
                    permission["updated_at"] = json!(created);
                }
                permission
            })
            .collect();
        ok(json!({"total": results.len(), "results": results}))
    }
}

/// The roles a collection can be shared with: (id, type, name).
const ROLES: [(&str, &str, &str); 4] = [
    ("3", "user", "Test Analyst"),
    ("4", "group", "Investigations Desk"),
    ("5", "group", "Data Team"),
    ("1", "system", "guest"),
];

async fn ingest(state: &Shared<State>, collection: &str, request: Request) -> Response {
    let (mut meta, mut file) = (None, None);
    let urlencoded = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    // A folder may come as a plain form (alephclient sends it so; Flask reads both kinds).
    let form = match urlencoded {
        true => {
            let body = axum::body::to_bytes(request.into_body(), 1 << 20)
                .await
                .unwrap_or_default();
            meta = url::form_urlencoded::parse(&body)
                .find(|(k, _)| k == "meta")
                .map(|(_, v)| v.into_owned());
            None
        }
        false => match Multipart::from_request(request, &()).await {
            Ok(form) => Some(form),
            Err(_) => return error(400, "Expected a multipart form."),
        },
    };
    if let Some(mut form) = form {
        while let Ok(Some(field)) = form.next_field().await {
            match field.name() {
                Some("meta") => meta = field.text().await.ok(),
                Some(_) => {
                    let name = field.file_name().unwrap_or("upload").to_owned();
                    match field.bytes().await {
                        Ok(bytes) => file = Some((name, bytes)),
                        Err(_) => return error(400, "The upload was interrupted."),
                    }
                }
                None => {}
            }
        }
    }
    let meta: Map<String, Value> = match serde_json::from_str(meta.as_deref().unwrap_or("{}")) {
        Ok(Value::Object(meta)) => meta,
        _ => return error(400, "The metadata is not valid JSON."),
    };
    let foreign_id = meta
        .get("foreign_id")
        .and_then(Value::as_str)
        .map(str::to_owned);
    if file.is_none() && foreign_id.is_none() {
        return error(400, "Directories need to have a foreign_id");
    }
    let mut state = lock(state);
    if state.entities_of(collection).is_none() {
        return not_found();
    }
    if let Some(parent) = meta.get("parent_id").and_then(Value::as_str)
        && state
            .find_entity(parent)
            .is_none_or(|(c, _)| c != collection)
    {
        return error(400, "Cannot load parent document");
    }
    let key = foreign_id.clone().unwrap_or_else(|| {
        state.next_id += 1;
        format!("upload-{}", state.next_id)
    });
    // The same foreign_id in the same collection is the same document.
    let id = format!(
        "{}.{}",
        sign(&["doc", collection, &key]),
        sign(&["doc-signature", collection, &key])
    );
    let mut properties = json!({});
    let string = |k: &str| meta.get(k).and_then(Value::as_str).map(str::to_owned);
    let file_name = string("file_name").or_else(|| file.as_ref().map(|(n, _)| n.clone()));
    if let Some(file_name) = file_name {
        properties["fileName"] = json!([file_name]);
    }
    if let Some(title) = string("title") {
        properties["title"] = json!([title]);
    }
    if let Some(parent) = string("parent_id") {
        properties["parent"] = json!([parent]);
    }
    if let Some(languages) = meta.get("languages") {
        properties["language"] = languages.clone();
    }
    let schema = if let Some((name, bytes)) = file {
        use sha2::Digest;
        let hash: String = sha2::Sha256::digest(&bytes)
            .iter()
            .take(20)
            .map(|b| format!("{b:02x}"))
            .collect();
        properties["contentHash"] = json!([hash]);
        properties["fileSize"] = json!([bytes.len().to_string()]);
        state.blobs.retain(|(h, ..)| *h != hash);
        state.blobs.push((hash, name, bytes.to_vec()));
        "Document"
    } else {
        "Folder"
    };
    let mut fields = Map::new();
    fields.insert("id".into(), json!(id));
    fields.insert("schema".into(), json!(schema));
    fields.insert("properties".into(), properties);
    if let Err(response) = state.upsert(collection, fields) {
        return response;
    }
    json(201, &json!({"status": "ok", "id": id}))
}
