//! The entity graph and matching, roles and groups, notifications, status and metadata, as
//! Aleph 4.1.6 answers them (issue 16, spec §4, §6, §7; `aleph/views/entities_api.py`,
//! `roles_api.py`, `groups_api.py`, `notifications_api.py`, `status_api.py`, `base_api.py`).
//!
//! Left out: `/expand` of an edge entity's own properties returns the entities they name
//! (followthemoney's graph is not traced further); `/tags` counts
//! names and identifiers only; `/similar` and `/match` use a deterministic matcher (same schema
//! family and an equal name or registration number) instead of Elasticsearch and
//! followthemoney's `compare`; `/status` is always empty (the sandbox's work is done at once);
//! the notifications are made from the seed (a `CREATE_COLLECTION` per collection and a
//! `MATCH_ALERT` per alert whose text is in an entity's name), not from later actions.

use axum::http::Method;
use axum::response::Response;
use chrono::{Duration, Utc};
use serde_json::{Map, Value};

use super::{
    FTM_MODEL, State, check_schema, error, forbidden, is_a, json, naive, not_found, ok,
    reference_id, references, validation,
};
use crate::aleph::Flavor;

/// The sandbox user's e-mail and password, and a colleague to find with `_suggest`.
const OWN_EMAIL: &str = "analyst@example.org";
const OWN_PASSWORD: &str = "sandbox-password";
const COLLEAGUE: (&str, &str, &str) = ("6", "Dana Reyes", "dana.reyes@example.org");
/// The groups the sandbox user belongs to (`ROLES` in the parent).
const GROUPS: [(&str, &str); 2] = [("4", "Investigations Desk"), ("5", "Data Team")];
/// `ALEPH_UI_LANGUAGES` (`aleph/settings.py`).
const LOCALES: [&str; 12] = [
    "ru", "es", "de", "bs", "en", "fr", "nl", "pt_BR", "ar", "tr", "uk", "sq",
];

/// What this area keeps: the user's profile and its current API key.
pub(super) struct GraphState {
    /// The key that replaced the sandbox's key, once one was generated.
    pub(super) api_key: Option<String>,
    name: String,
    locale: String,
    is_muted: bool,
    is_tester: bool,
    password: String,
    expires: String,
    generated: u64,
}

impl GraphState {
    pub(super) fn new() -> Self {
        GraphState {
            api_key: None,
            name: "Test Analyst".into(),
            locale: "en".into(),
            is_muted: false,
            is_tester: false,
            password: OWN_PASSWORD.into(),
            expires: naive(Utc::now() + Duration::days(90)),
            generated: 0,
        }
    }
}

/// Whether this module answers `path`.
pub(super) fn owns(path: &[&str]) -> bool {
    matches!(
        path,
        ["entities", _, "expand" | "tags" | "similar"]
            | ["match"]
            | ["roles", ..]
            | ["groups"]
            | ["notifications"]
            | ["status"]
            | ["metadata"]
    )
}

/// A 403 as `handle_authz_error` writes it: `roles` holds the caller's roles, the guest role
/// alone for an anonymous caller (`aleph/views/base_api.py`, `aleph/logic/authz.py`).
fn denied(user: bool) -> Response {
    if !user {
        return forbidden();
    }
    json(
        403,
        &json!({"status": "error", "message": "You are not authorized to do this.", "roles": [1, 2, 3, 4, 5]}),
    )
}

pub(super) fn route(
    state: &mut State,
    method: Method,
    path: &[&str],
    query: &[(String, String)],
    body: Option<Value>,
    user: bool,
) -> Response {
    match (method, path) {
        (Method::GET, ["entities", id, what]) => {
            let Some((collection, entity)) = state.find_entity(id) else {
                return not_found();
            };
            if !user && !state.readable(&collection, false) {
                return denied(user);
            }
            match *what {
                "expand" => expand(state, &entity, query, user),
                "tags" => tags(state, &entity, user),
                _ => {
                    let items = candidates(state, &entity, user, &[])
                        .into_iter()
                        .map(|(score, e)| {
                            json!({"score": score, "judgement": "no_judgement",
                                   "entity": state.entity_view(&e, user), "writeable": user})
                        })
                        .collect();
                    state.listing(&format!("entities/{id}/similar"), items, query, true)
                }
            }
        }
        // `entities_api.py` `match`: `EntityUpdate` (schema required), candidates from the
        // `collection_ids` of the query string; the score is the search engine's.
        (Method::POST, ["match"]) => {
            let Some(Value::Object(fields)) = body else {
                return validation("", "'schema' is a required property");
            };
            if !fields.contains_key("schema") {
                return validation("", "'schema' is a required property");
            }
            if let Err(response) = check_schema(&fields) {
                return response;
            }
            let only: Vec<String> = query
                .iter()
                .filter(|(k, _)| k == "collection_ids")
                .map(|(_, v)| v.clone())
                .collect();
            let entity = Value::Object(fields);
            let items = candidates(state, &entity, user, &only)
                .into_iter()
                .map(|(score, e)| {
                    let mut view = state.entity_view(&e, user);
                    view["score"] = json!(score * 10.0);
                    view
                })
                .collect();
            state.listing("match", items, query, true)
        }
        (method, ["roles", rest @ ..]) => roles(state, method, rest, query, body, user),
        (Method::GET, ["groups"]) => {
            if !user {
                return denied(user);
            }
            let results: Vec<Value> = GROUPS
                .iter()
                .map(|(id, name)| group(state, id, name))
                .collect();
            ok(json!({"total": results.len(), "results": results}))
        }
        (Method::GET, ["notifications"]) => {
            if !user {
                return denied(user);
            }
            notifications(state, query)
        }
        // `status_api.py`: `{"results", "total"}`; nothing in the sandbox is ever still running.
        (Method::GET, ["status"]) => {
            if !user {
                return denied(user);
            }
            ok(json!({"results": [], "total": 0}))
        }
        (Method::GET, ["metadata"]) => metadata(state),
        _ => not_found(),
    }
}

impl State {
    /// An entity as the index holds it, read by followthemoney (`EntityProxy.to_dict`): no
    /// links, no nested collection, references as ids.
    fn raw_entity(&self, entity: &Value) -> Value {
        let mut raw = entity.clone();
        if let Some(object) = raw.as_object_mut() {
            object.remove("caption");
        }
        raw
    }
}

/// followthemoney's model as Aleph serves it (`model.to_dict()`), read once.
fn ftm() -> &'static Value {
    static MODEL: std::sync::OnceLock<Value> = std::sync::OnceLock::new();
    MODEL.get_or_init(|| serde_json::from_str(FTM_MODEL).unwrap_or(Value::Null))
}

/// The model's schemata, as `Schema.to_dict` writes them (own properties, stubs included).
fn model() -> Option<&'static Map<String, Value>> {
    ftm()["schemata"].as_object()
}

/// The reverse name of `schema`'s entity-typed `property`, looked up on the schema and its
/// ancestors.
fn reverse_of(model: &Map<String, Value>, schema: &str, property: &str) -> Option<String> {
    let ancestors = model.get(schema)?["schemata"].as_array()?;
    ancestors.iter().filter_map(Value::as_str).find_map(|s| {
        model.get(s)?["properties"][property]["reverse"]
            .as_str()
            .map(str::to_owned)
    })
}

fn ids(entity: &Value, property: &str) -> Vec<String> {
    match &entity["properties"][property] {
        Value::Array(values) => values.iter().filter_map(reference_id).collect(),
        _ => Vec::new(),
    }
}

/// `entities_api.py` `expand` / `logic/expand.py` `expand_proxies`: per entity-typed property,
/// its count and the entities on the other end (an edge entity brings its far end along);
/// `limit` (default 20, at most 200) per property, `0` for counts only; properties with no
/// entity are left out.
fn expand(state: &State, entity: &Value, query: &[(String, String)], user: bool) -> Response {
    let limit = query
        .iter()
        .find(|(k, _)| k == "limit")
        .and_then(|(_, v)| v.parse::<usize>().ok())
        .unwrap_or(20)
        .min(200);
    let wanted: Vec<&str> = query
        .iter()
        .filter(|(k, _)| k == "filter:property")
        .map(|(_, v)| v.as_str())
        .collect();
    let chosen = |name: &str| wanted.is_empty() || wanted.contains(&name);
    let empty = Map::new();
    let model = model().unwrap_or(&empty);
    let id = entity["id"].as_str().unwrap_or_default();
    let schema = entity["schema"].as_str().unwrap_or_default();
    let mut results: Vec<(String, usize, Vec<Value>)> = Vec::new();
    // Forward: the values of the entity's own entity-typed properties, resolved.
    for name in references(schema).unwrap_or_default() {
        let values = ids(entity, name);
        if values.is_empty() || !chosen(name) {
            continue;
        }
        let found = if limit == 0 {
            Vec::new()
        } else {
            values
                .iter()
                .filter_map(|v| state.find_entity(v))
                .map(|(_, e)| state.raw_entity(&e))
                .collect()
        };
        results.push(((*name).to_owned(), values.len(), found));
    }
    // Reverse (stub) properties: the readable entities that point at this one.
    for (collection, list) in &state.data.entities {
        if !state.readable(collection, user) {
            continue;
        }
        for other in list {
            let kind = other["schema"].as_str().unwrap_or_default();
            for name in references(kind).unwrap_or_default() {
                if !ids(other, name).iter().any(|v| v == id) {
                    continue;
                }
                let Some(reverse) = reverse_of(model, kind, name) else {
                    continue;
                };
                if !chosen(&reverse) {
                    continue;
                }
                let index = match results.iter().position(|(p, ..)| *p == reverse) {
                    Some(index) => index,
                    None => {
                        results.push((reverse.clone(), 0, Vec::new()));
                        results.len() - 1
                    }
                };
                let (_, count, found) = &mut results[index];
                *count += 1;
                if *count > limit {
                    continue;
                }
                found.push(state.raw_entity(other));
                // The far end of an edge (the asset of an ownership).
                let edge = &model.get(kind).map(|s| s["edge"].clone());
                if let Some(edge) = edge.as_ref().filter(|e| e.is_object()) {
                    for end in ["source", "target"] {
                        let property = edge[end].as_str().unwrap_or_default();
                        for far in ids(other, property).iter().filter(|v| *v != id) {
                            if let Some((_, e)) = state.find_entity(far) {
                                let raw = state.raw_entity(&e);
                                if !found.contains(&raw) {
                                    found.push(raw);
                                }
                            }
                        }
                    }
                }
            }
        }
    }
    let total: usize = results.iter().map(|(_, count, _)| count).sum();
    let results: Vec<Value> = results
        .into_iter()
        .filter(|(_, count, _)| *count > 0)
        .map(|(property, count, entities)| json!({"property": property, "count": count, "entities": entities}))
        .collect();
    ok(json!({"status": "ok", "total": total, "results": results}))
}

/// `logic/expand.py` `entity_tags`: for each name and identifier value (specific enough: a
/// name of more than 7 characters, an identifier of more than 4, followthemoney's `dampen`
/// above 0.1), how many other readable things have it; only values shared with another.
fn tags(state: &State, entity: &Value, user: bool) -> Response {
    let mut results: Vec<Value> = Vec::new();
    let kinds = [
        ("name", "names", "name", 8),
        ("registrationNumber", "identifiers", "id", 5),
    ];
    for (property, group, prefix, min) in kinds {
        for value in ids(entity, property) {
            if value.chars().count() < min {
                continue;
            }
            let count = state
                .data
                .entities
                .iter()
                .filter(|(c, _)| state.readable(c, user))
                .flat_map(|(_, list)| list.iter())
                .filter(|e| is_a(e["schema"].as_str().unwrap_or_default(), "Thing"))
                .filter(|e| ids(e, property).contains(&value))
                .count();
            if count > 1 {
                // `NameType.node_id` is `name:<slug>`, `IdentifierType.node_id` `id:<value>`.
                let node = if prefix == "name" {
                    slug(&value)
                } else {
                    value.clone()
                };
                results.push(json!({"id": format!("{prefix}:{node}"), "field": group, "value": value, "count": count - 1}));
            }
        }
    }
    results.sort_by_key(|r| std::cmp::Reverse(r["count"].as_u64().unwrap_or(0)));
    ok(json!({"status": "ok", "total": results.len(), "results": results}))
}

/// normality's `slugify`, near enough: lowercase letters and digits joined by `-` (normality
/// also transliterates to ASCII, which the sandbox does not).
fn slug(text: &str) -> String {
    let lower = text.to_lowercase();
    let words: Vec<&str> = lower
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    words.join("-")
}

/// The readable entities like `entity`, best first: same schema family (neither an interval),
/// not itself, and an equal name or registration number; the score is the share of the
/// entity's compared values the candidate has too.
fn candidates(state: &State, entity: &Value, user: bool, only: &[String]) -> Vec<(f64, Value)> {
    const COMPARED: [&str; 5] = [
        "name",
        "registrationNumber",
        "birthDate",
        "nationality",
        "jurisdiction",
    ];
    let schema = entity["schema"].as_str().unwrap_or_default();
    let own: Vec<(&str, String)> = COMPARED
        .iter()
        .flat_map(|p| {
            ids(entity, p)
                .into_iter()
                .map(move |v| (*p, v.to_lowercase()))
        })
        .collect();
    let mut found: Vec<(f64, Value)> = state
        .data
        .entities
        .iter()
        .filter(|(c, _)| state.readable(c, user) && (only.is_empty() || only.contains(c)))
        .flat_map(|(_, list)| list.iter())
        .filter(|e| e["id"] != entity["id"] || entity["id"].is_null())
        .filter(|e| {
            let kind = e["schema"].as_str().unwrap_or_default();
            !is_a(kind, "Interval") && (is_a(kind, schema) || is_a(schema, kind))
        })
        .filter_map(|e| {
            let shared = own
                .iter()
                .filter(|(p, v)| ids(e, p).iter().any(|x| x.to_lowercase() == *v))
                .collect::<Vec<_>>();
            let required = shared
                .iter()
                .any(|(p, _)| *p == "name" || *p == "registrationNumber");
            required.then(|| (shared.len() as f64 / own.len().max(1) as f64, e.clone()))
        })
        .collect();
    found.sort_by(|a, b| b.0.total_cmp(&a.0));
    found
}

fn own_role(state: &State) -> Value {
    let g = &state.graph;
    let now = naive(Utc::now());
    json!({
        "id": "3", "type": "user", "name": g.name, "label": g.name, "email": OWN_EMAIL,
        "locale": g.locale, "is_admin": false, "is_muted": g.is_muted, "is_tester": g.is_tester,
        "has_password": true, "has_api_key": true, "api_key_expires_at": g.expires,
        "created_at": "2026-01-01T00:00:00", "updated_at": now,
        "links": {"self": format!("{}/api/2/roles/3", state.ui)},
        "writeable": true, "shallow": true,
    })
}

fn group(state: &State, id: &str, name: &str) -> Value {
    json!({"id": id, "type": "group", "name": name, "label": name,
           "links": {"self": format!("{}/api/2/roles/{id}", state.ui)}, "writeable": true, "shallow": true})
}

/// `roles_api.py`: `_suggest` (exact e-mail, 6 characters at least), `GET`/`POST /roles/{id}`
/// and `generate_api_key`.
fn roles(
    state: &mut State,
    method: Method,
    rest: &[&str],
    query: &[(String, String)],
    body: Option<Value>,
    user: bool,
) -> Response {
    let param = |name: &str| {
        query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim().to_owned())
    };
    match (method, rest) {
        (Method::GET, ["_suggest"]) => {
            if !user {
                return denied(user);
            }
            let prefix = param("prefix").unwrap_or_default();
            if prefix.chars().count() < 6 {
                return json(
                    200,
                    &json!({"status": "error", "message": "prefix filter is too short", "results": [], "total": 0}),
                );
            }
            let excluded: Vec<&str> = query
                .iter()
                .filter(|(k, _)| k == "exclude:id")
                .map(|(_, v)| v.as_str())
                .collect();
            let (cid, cname, cemail) = COLLEAGUE;
            let colleague = json!({"id": cid, "type": "user", "name": cname, "label": cname,
                "links": {"self": format!("{}/api/2/roles/{cid}", state.ui)}, "writeable": false, "shallow": true});
            let items: Vec<Value> = [(OWN_EMAIL, own_role(state)), (cemail, colleague)]
                .into_iter()
                .filter(|(email, role)| {
                    email.eq_ignore_ascii_case(&prefix)
                        && !excluded.contains(&role["id"].as_str().unwrap_or_default())
                })
                .map(|(_, role)| role)
                .collect();
            // `QueryParser(request.args, limit=10)`: the page size is 10 whatever is asked.
            let mut query = query.to_vec();
            query.retain(|(k, _)| k != "limit");
            query.push(("limit".into(), "10".into()));
            state.listing("roles/_suggest", items, &query, false)
        }
        (method, [id, action @ ..]) => {
            let known = *id == "3"
                || *id == "1"
                || *id == COLLEAGUE.0
                || GROUPS.iter().any(|(g, _)| g == id);
            if !known {
                return not_found();
            }
            // `authz.can_read_role` / `can_write_role`: the caller's own role and groups
            // (and for reading, the system roles).
            let mine = user && (*id == "3" || GROUPS.iter().any(|(g, _)| g == id));
            match (method, action) {
                (Method::GET, []) => {
                    if !(mine || (user && *id == "1")) {
                        return denied(user);
                    }
                    if *id != "3" {
                        let (_, name) = GROUPS
                            .iter()
                            .find(|(g, _)| g == id)
                            .copied()
                            .unwrap_or(("1", "guest"));
                        return ok(group(state, id, name));
                    }
                    let mut role = own_role(state);
                    role["shallow"] = json!(false);
                    role["counts"] = json!({"alerts": state.data.alerts.len(), "entitysets": {}, "casefiles": 0, "exports": 0});
                    ok(role)
                }
                (Method::POST | Method::PUT, []) => {
                    if !mine {
                        return denied(user);
                    }
                    update_role(state, body)
                }
                (Method::POST, ["generate_api_key"]) => {
                    if !mine {
                        return denied(user);
                    }
                    // `logic/api_keys.py` `generate_user_api_key`: a fresh key, 90 days, the
                    // old one void at once.
                    let g = &mut state.graph;
                    g.generated += 1;
                    let key = super::sign(&["api-key", &g.generated.to_string()]);
                    g.api_key = Some(key.clone());
                    g.expires = naive(Utc::now() + Duration::days(90));
                    let mut role = own_role(state);
                    role["api_key"] = json!(key);
                    ok(role)
                }
                _ => not_found(),
            }
        }
        _ => not_found(),
    }
}

/// `POST /roles/{id}` with `RoleUpdate` (`aleph/validation/schema/role.yml`).
fn update_role(state: &mut State, body: Option<Value>) -> Response {
    let Some(Value::Object(fields)) = body else {
        return error(
            400,
            "The browser (or proxy) sent a request that this server could not understand.",
        );
    };
    if let Some(name) = fields.get("name").and_then(Value::as_str)
        && name.chars().count() < 4
    {
        return validation("name", &format!("'{name}' is too short"));
    }
    if let Some(locale) = fields.get("locale").and_then(Value::as_str)
        && !LOCALES.contains(&locale)
    {
        return validation("locale", &format!("'{locale}' is not a 'locale'"));
    }
    if let Some(password) = fields.get("password").and_then(Value::as_str) {
        if password.chars().count() < 6 {
            return validation("password", &format!("'{password}' is too short"));
        }
        if fields.get("current_password").and_then(Value::as_str)
            != Some(state.graph.password.as_str())
        {
            return error(400, "Incorrect password.");
        }
        state.graph.password = password.to_owned();
    }
    let g = &mut state.graph;
    if let Some(name) = fields.get("name").and_then(Value::as_str) {
        g.name = name.to_owned();
    }
    if let Some(locale) = fields.get("locale").and_then(Value::as_str) {
        g.locale = locale.to_owned();
    }
    if let Some(muted) = fields.get("is_muted").and_then(Value::as_bool) {
        g.is_muted = muted;
    }
    if let Some(tester) = fields.get("is_tester").and_then(Value::as_bool) {
        g.is_tester = tester;
    }
    ok(own_role(state))
}

/// `notifications_api.py`: the seed's events, newest first, `filter:event` applied.
fn notifications(state: &State, query: &[(String, String)]) -> Response {
    let events: Vec<&str> = query
        .iter()
        .filter(|(k, _)| k == "filter:event")
        .map(|(_, v)| v.as_str())
        .collect();
    let actor = json!({"id": "3", "type": "user", "name": state.graph.name, "label": state.graph.name, "writeable": true, "shallow": true});
    let mut items: Vec<(String, Value)> = Vec::new();
    for collection in &state.data.collections {
        let id = collection["id"].as_str().unwrap_or_default();
        let at = collection["created_at"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        items.push((at.clone(), json!({
            "id": format!("n-collection-{id}"), "actor_id": "3", "channels": [format!("Collection:{id}"), "Role:3"],
            "created_at": at,
            "event": {"name": "CREATE_COLLECTION", "title": "New datasets", "template": "{{actor}} created {{collection}}", "params": {"collection": "collection"}},
            "params": {"actor": actor, "collection": state.collection_view(collection)},
            "writeable": false,
        })));
    }
    for alert in &state.data.alerts {
        let text = alert["query"].as_str().unwrap_or_default().to_lowercase();
        let hit = state
            .data
            .entities
            .iter()
            .flat_map(|(_, list)| list.iter())
            .find(|e| {
                e["caption"]
                    .as_str()
                    .is_some_and(|c| c.to_lowercase().contains(&text))
            });
        let Some(entity) = hit else { continue };
        let at = alert["created_at"].as_str().unwrap_or_default().to_owned();
        let mut alert_view = alert.clone();
        alert_view["links"] = json!({"self": format!("{}/api/2/alerts/{}", state.ui, alert["id"].as_str().unwrap_or_default())});
        items.push((at.clone(), json!({
            "id": format!("n-alert-{}", alert["id"].as_str().unwrap_or_default()), "channels": ["Role:3"],
            "created_at": at,
            "event": {"name": "MATCH_ALERT", "title": "Alert notifications", "template": "{{entity}} matches your alert for {{alert}}",
                      "params": {"entity": "entity", "alert": "alert", "role": "role"}},
            "params": {"entity": state.entity_view(entity, true), "alert": alert_view, "role": actor},
            "writeable": false,
        })));
    }
    items.sort_by(|a, b| b.0.cmp(&a.0));
    let items: Vec<Value> = items
        .into_iter()
        .map(|(_, n)| n)
        .filter(|n| {
            events.is_empty() || events.contains(&n["event"]["name"].as_str().unwrap_or_default())
        })
        .collect();
    state.listing("notifications", items, query, true)
}

/// `base_api.py` `metadata`: the same for every caller.
fn metadata(state: &State) -> Response {
    let (version, ftm_version) = match state.flavor {
        Flavor::Aleph => ("4.1.6", "3.5.9"),
        Flavor::OpenAleph => (super::OPENALEPH_VERSION, "4.10.0"),
    };
    let categories: Map<String, Value> = super::CATEGORIES
        .iter()
        .map(|c| ((*c).to_owned(), json!(c[..1].to_uppercase() + &c[1..])))
        .collect();
    let body = json!({
        "status": "ok", "maintenance": false,
        "app": {"title": "Aleph Sandbox", "version": version, "ftm_version": ftm_version, "ui_uri": state.ui,
                "publish": false, "locale": "en", "locales": {"en": "English", "de": "Deutsch"}},
        "categories": categories,
        "frequencies": {"unknown": "not known", "never": "not updated", "daily": "daily"},
        "pages": [],
        "model": ftm(),
        "token": null,
        "auth": {"oauth": false, "require_logged_in": false,
                 "password_login_uri": format!("{}/api/2/sessions/login", state.ui)},
        "feature_flags": {"bookmarks": false},
    });
    json(200, &body)
}
