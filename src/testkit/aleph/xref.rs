//! Cross-referencing, exports and profiles as Aleph 4.1.6 answers them (alephdata/aleph
//! `aleph/views/xref_api.py`, `exports_api.py`, `profiles_api.py`, `aleph/logic/xref.py`,
//! `aleph/logic/profiles.py`).
//!
//! The matcher is the sandbox's own, simple and deterministic: an entity of a matchable schema
//! (a legal entity or a vehicle) is a candidate for another when their schemata are compatible
//! (one is the other or descends from it, as followthemoney's `common_schema` requires) and they
//! share a name once lower-cased, stripped of punctuation and with its words sorted. The score
//! is 0.9 for the same schema and 0.8 for a compatible one, and 0.5 when both carry a
//! `birthDate` and none is shared; like Aleph it keeps at most 50 candidates per entity. A run
//! is done by the time its `202` is sent. No xref model is configured, so `doubt` is absent and
//! `method` is `ftm-3.5.9`.
//!
//! Where the sandbox differs: a match whose entity was deleted is left out of `total` too (Aleph
//! counts it and drops it from the page); listings have no `facets` or `query_text`; an
//! anonymous `xref.xlsx` on a public collection is a 403 (Aleph makes an export nobody can
//! list); an export is complete at once, and its file is tab-separated text with the Excel
//! export's columns rather than a workbook.

use std::cmp::Ordering;
use std::collections::{HashMap, HashSet};

use axum::http::Method;
use axum::response::Response;
use chrono::{Duration, Utc};
use serde_json::Value;

use super::{
    Ftm, METHOD_NOT_ALLOWED, State, WINDOW, empty, forbidden, json, naive, not_found, ok, prune,
    raw, reference_id, sign, validation, with_allow,
};

/// Matches scoring at most this are hidden unless sorted by doubt or random
/// (`aleph/logic/xref.py` `SCORE_CUTOFF`).
const SCORE_CUTOFF: f64 = 0.5;

/// Candidates kept per entity (`aleph/logic/xref.py` `_query_item`: `"size": 50`).
const CANDIDATES: usize = 50;

/// `ALEPH_MAX_EXPAND_ENTITIES` (`aleph/settings.py`).
const MAX_EXPAND: usize = 200;

const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

const JUDGEMENTS: [&str; 4] = ["positive", "negative", "unsure", "no_judgement"];

/// The state of cross-referencing: the xref index, the profiles and the exports.
#[derive(Default)]
pub(super) struct XrefState {
    matches: Vec<Match>,
    profiles: Vec<ProfileSet>,
    exports: Vec<Value>,
    /// Search exports being made, with the listings of `GET /exports` left before each is done.
    making: Vec<(String, u32)>,
    next: u64,
}

/// A document of the xref index (`aleph/index/xref.py` `_index_form`).
struct Match {
    id: String,
    score: f64,
    random: u64,
    entity_id: String,
    schema: String,
    collection_id: String,
    match_id: String,
    match_collection_id: String,
    countries: Vec<String>,
    /// The `text` field: both entities' names.
    text: Vec<String>,
    created_at: String,
}

/// An entity set of type `profile` (`aleph/model/entityset.py`).
struct ProfileSet {
    id: String,
    collection_id: String,
    created_at: String,
    updated_at: String,
    items: Vec<Item>,
}

/// An entity set item: an entity and its judgement.
struct Item {
    entity_id: String,
    judgement: String,
}

/// Whether this module answers `path`.
pub(super) fn owns(path: &[&str]) -> bool {
    matches!(
        path,
        ["collections", _, "xref" | "xref.xlsx"]
            | ["exports"]
            | ["profiles", ..]
            | ["search", "export"]
    )
}

/// Answers a request for one of the paths [`owns`] names.
pub(super) fn route(
    state: &mut State,
    method: Method,
    path: &[&str],
    query: &[(String, String)],
    body: Option<Value>,
    user: bool,
) -> Response {
    let allowed: &[&str] = match path {
        ["collections", _, "xref"] => &["GET", "HEAD", "OPTIONS", "POST"],
        ["collections", _, "xref.xlsx"] | ["profiles", "_pairwise"] | ["search", "export"] => {
            &["OPTIONS", "POST"]
        }
        _ => &["GET", "HEAD", "OPTIONS"],
    };
    if !allowed.contains(&method.as_str()) {
        return with_allow(
            raw(405, "text/html; charset=utf-8", METHOD_NOT_ALLOWED),
            allowed,
        );
    }
    match path {
        ["collections", id, action] => {
            // `<int:collection_id>`: anything else is not a route.
            if id.parse::<u64>().is_err() {
                return not_found();
            }
            let Some(collection) = state.data.collections.iter().find(|c| c["id"] == *id) else {
                return not_found();
            };
            if !user && collection["secret"] == true {
                return forbidden();
            }
            let label = collection["label"].as_str().unwrap_or_default().to_owned();
            match (method, *action) {
                (Method::POST, "xref") => {
                    // `get_db_collection(collection_id, WRITE)`.
                    if !user || !state.can_write(id) {
                        return forbidden();
                    }
                    run(state, id);
                    json(202, &json!({"status": "accepted"}))
                }
                (Method::POST, _) => export(state, id, &label),
                _ => matches(state, id, query, user),
            }
        }
        ["search", "export"] => {
            // `require(request.authz.session_write)`.
            if !user {
                return forbidden();
            }
            export_search(state, query)
        }
        ["exports"] => {
            // `require(request.authz.logged_in)`.
            if !user {
                return forbidden();
            }
            advance_exports(state);
            let now = naive(Utc::now());
            let items: Vec<Value> = state
                .xref
                .exports
                .iter()
                .rev()
                .filter(|e| e["expires_at"].as_str().is_some_and(|t| t > now.as_str()))
                .cloned()
                .collect();
            state.listing("exports", items, query, false)
        }
        ["profiles", "_pairwise"] => pairwise(state, body, user),
        ["profiles", id, rest @ ..] => {
            let Some(index) = state.xref.profiles.iter().position(|p| p.id == *id) else {
                return not_found();
            };
            let collection = state.xref.profiles[index].collection_id.clone();
            if !readable(state, &collection, user) {
                return forbidden();
            }
            match rest {
                [] => ok(profile_view(state, index, user)),
                ["tags"] => tags(state, index, user),
                ["similar"] => similar(state, index, query, user),
                ["expand"] => expand(state, index, query, user),
                _ => not_found(),
            }
        }
        _ => not_found(),
    }
}

fn readable(state: &State, collection: &str, user: bool) -> bool {
    user || state
        .data
        .collections
        .iter()
        .any(|c| c["id"] == collection && c["secret"] != true)
}

fn matchable(model: &Ftm, schema: &str) -> bool {
    model.is_a(schema, "LegalEntity") || model.is_a(schema, "Vehicle")
}

/// followthemoney's `common_schema` exists: one schema is the other or descends from it.
fn compatible(model: &Ftm, a: &str, b: &str) -> bool {
    model.is_a(a, b) || model.is_a(b, a)
}

/// A name as the matcher compares it.
fn normalise(name: &str) -> String {
    let lower = name.to_lowercase();
    let mut words: Vec<&str> = lower
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    words.sort_unstable();
    words.join(" ")
}

fn values(entity: &Value, property: &str) -> Vec<String> {
    match &entity["properties"][property] {
        Value::Array(items) => items.iter().filter_map(reference_id).collect(),
        _ => Vec::new(),
    }
}

fn score(entity: &Value, candidate: &Value) -> f64 {
    let same = entity["schema"] == candidate["schema"];
    let (left, right) = (values(entity, "birthDate"), values(candidate, "birthDate"));
    if !left.is_empty() && !right.is_empty() && !left.iter().any(|d| right.contains(d)) {
        return SCORE_CUTOFF;
    }
    if same { 0.9 } else { 0.8 }
}

/// Cross-references a collection: deletes its earlier matches (`aleph/index/xref.py`
/// `delete_xref`, both sides) and matches each of its entities against every entity
/// (`aleph/logic/xref.py` `xref_collection`).
fn run(state: &mut State, collection: &str) {
    state
        .xref
        .matches
        .retain(|m| m.collection_id != collection && m.match_collection_id != collection);
    let mut by_name: HashMap<String, Vec<(&str, &Value)>> = HashMap::new();
    for (cid, list) in &state.data.entities {
        for entity in list {
            if matchable(state.ftm(), entity["schema"].as_str().unwrap_or_default()) {
                for name in values(entity, "name") {
                    by_name
                        .entry(normalise(&name))
                        .or_default()
                        .push((cid.as_str(), entity));
                }
            }
        }
    }
    let now = naive(Utc::now());
    let mut found = Vec::new();
    for entity in state.entities_of(collection).into_iter().flatten() {
        let schema = entity["schema"].as_str().unwrap_or_default();
        if !matchable(state.ftm(), schema) {
            continue;
        }
        let mut candidates: Vec<(f64, &str, &Value)> = Vec::new();
        for name in values(entity, "name") {
            for (cid, candidate) in by_name.get(&normalise(&name)).into_iter().flatten() {
                let other = candidate["schema"].as_str().unwrap_or_default();
                if candidate["id"] == entity["id"]
                    || !compatible(state.ftm(), schema, other)
                    || candidates
                        .iter()
                        .any(|(_, _, c)| c["id"] == candidate["id"])
                {
                    continue;
                }
                candidates.push((score(entity, candidate), cid, candidate));
            }
        }
        candidates.sort_by(|a, b| {
            b.0.partial_cmp(&a.0)
                .unwrap_or(Ordering::Equal)
                .then_with(|| a.2["id"].as_str().cmp(&b.2["id"].as_str()))
        });
        for (score, cid, candidate) in candidates.into_iter().take(CANDIDATES) {
            let entity_id = entity["id"].as_str().unwrap_or_default().to_owned();
            let match_id = candidate["id"].as_str().unwrap_or_default().to_owned();
            // `hash_data((entity_id, collection_id, match_id))`.
            let id = sign(&["xref", &entity_id, collection, &match_id]);
            let random = u64::from_str_radix(&id[..8], 16).unwrap_or(1) % (1 << 31) + 1;
            let mut countries = Vec::new();
            let mut text = Vec::new();
            for side in [entity, candidate] {
                for property in ["nationality", "jurisdiction", "country"] {
                    countries.extend(values(side, property));
                }
                text.extend(values(side, "name"));
            }
            found.push(Match {
                id,
                score,
                random,
                entity_id,
                schema: candidate["schema"].as_str().unwrap_or_default().to_owned(),
                collection_id: collection.to_owned(),
                match_id,
                match_collection_id: (*cid).to_owned(),
                countries,
                text,
                created_at: now.clone(),
            });
        }
    }
    state.xref.matches.extend(found);
}

impl Match {
    fn number(&self, field: &str) -> Option<f64> {
        match field {
            "score" => Some(self.score),
            "random" => Some(self.random as f64),
            _ => None,
        }
    }

    fn texts(&self, field: &str) -> Vec<String> {
        let one = |s: &str| vec![s.to_owned()];
        match field {
            "id" | "_id" => one(&self.id),
            "entity_id" => one(&self.entity_id),
            "match_id" => one(&self.match_id),
            "collection_id" => one(&self.collection_id),
            "match_collection_id" => one(&self.match_collection_id),
            "schema" => one(&self.schema),
            "method" => one("ftm-3.5.9"),
            "countries" => self.countries.clone(),
            "created_at" => one(&self.created_at),
            "score" | "random" => self
                .number(field)
                .map(|n| n.to_string())
                .into_iter()
                .collect(),
            _ => Vec::new(),
        }
    }
}

/// Whether a match passes `filter:`, `exclude:` and `empty:` (`aleph/search/query.py`): terms
/// OR within a field and AND across fields, ranges `filter:gt|gte|lt|lte:<field>` on their
/// first value.
fn passes(m: &Match, query: &[(String, String)]) -> bool {
    let mut terms: Vec<(&str, Vec<&str>)> = Vec::new();
    // Only the first value of each range is used (`aleph/search/query.py` `get_ranges`).
    let mut ranges: Vec<(&str, &str, &str)> = Vec::new();
    for (key, value) in query {
        if let Some(field) = key.strip_prefix("filter:") {
            if let Some((op @ ("gt" | "gte" | "lt" | "lte"), field)) = field.split_once(':') {
                if !ranges.iter().any(|(o, f, _)| *o == op && *f == field) {
                    ranges.push((op, field, value));
                }
                continue;
            }
            match terms.iter_mut().find(|(f, _)| *f == field) {
                Some((_, list)) => list.push(value),
                None => terms.push((field, vec![value])),
            }
        } else if let Some(field) = key.strip_prefix("exclude:") {
            if m.texts(field).iter().any(|v| v == value) {
                return false;
            }
        } else if let Some(field) = key.strip_prefix("empty:")
            && !m.texts(field).is_empty()
        {
            return false;
        }
    }
    let in_range = |(op, field, value): &(&str, &str, &str)| {
        let (Ok(bound), Some(have)) = (value.parse::<f64>(), m.number(field)) else {
            return false;
        };
        match *op {
            "gt" => have > bound,
            "gte" => have >= bound,
            "lt" => have < bound,
            _ => have <= bound,
        }
    };
    ranges.iter().all(in_range)
        && terms
            .iter()
            .all(|(field, list)| m.texts(field).iter().any(|v| list.contains(&v.as_str())))
}

/// The sorts the parser keeps (`aleph/search/parser.py`: split on the last `:`, a direction
/// other than asc/desc drops the sort).
fn sorts(query: &[(String, String)]) -> Vec<(String, bool)> {
    query
        .iter()
        .filter(|(k, _)| k == "sort")
        .filter_map(|(_, v)| match v.rsplit_once(':') {
            Some((field, "asc")) => Some((field.to_owned(), false)),
            Some((field, "desc")) => Some((field.to_owned(), true)),
            Some(_) => None,
            None => Some((v.clone(), false)),
        })
        .collect()
}

/// `GET /collections/{id}/xref` (`aleph/views/xref_api.py` `index`, `XrefQuery`).
fn matches(state: &State, collection: &str, query: &[(String, String)], user: bool) -> Response {
    let sorts = sorts(query);
    let all_scores = sorts.iter().any(|(f, _)| f == "random" || f == "doubt");
    let q = query
        .iter()
        .find(|(k, _)| k == "q")
        .map(|(_, v)| v.to_lowercase());
    let mut found: Vec<&Match> = state
        .xref
        .matches
        .iter()
        .filter(|m| m.collection_id == collection)
        // Authz on the candidate's collection (`AUTHZ_FIELD = "match_collection_id"`).
        .filter(|m| readable(state, &m.match_collection_id, user))
        .filter(|m| all_scores || m.score > SCORE_CUTOFF)
        .filter(|m| {
            q.as_ref()
                .is_none_or(|q| m.text.iter().any(|t| t.to_lowercase().contains(q)))
        })
        .filter(|m| passes(m, query))
        .collect();
    if sorts.is_empty() {
        // `SORT_DEFAULT = [{"score": "desc"}]`.
        found.sort_by(|a, b| b.score.partial_cmp(&a.score).unwrap_or(Ordering::Equal));
    } else {
        // `Query.get_sort`: `["_score", s1, s2]` reversed, so the last sort decides first;
        // `score` names the search's `_score` (`SORT_FIELDS`), the same for every match of a
        // filtered search; a missing value sorts last.
        found.sort_by(|a, b| {
            for (field, descending) in sorts.iter().rev() {
                let (x, y) = match field.as_str() {
                    "score" | "_score" => continue,
                    "doubt" => (None, None),
                    other => (a.number(other), b.number(other)),
                };
                let order = match (x, y) {
                    (Some(x), Some(y)) => {
                        let o = x.partial_cmp(&y).unwrap_or(Ordering::Equal);
                        if *descending { o.reverse() } else { o }
                    }
                    (Some(_), None) => Ordering::Less,
                    (None, Some(_)) => Ordering::Greater,
                    (None, None) => Ordering::Equal,
                };
                if order != Ordering::Equal {
                    return order;
                }
            }
            Ordering::Equal
        });
    }
    let judgements = |m: &Match| judgement_of(state, collection, &m.entity_id, &m.match_id);
    let writeable = user && state.can_write(collection);
    // `XrefSerializer`: the entity and the candidate resolved; a pair that does not resolve is
    // dropped; `match_collection_id` popped; `collection_id` an integer. Only the page's
    // matches are resolved: those outside it stand as placeholders `listing` skips.
    let existing: HashSet<&str> = state
        .data
        .entities
        .iter()
        .flat_map(|(_, list)| list.iter().filter_map(|e| e["id"].as_str()))
        .collect();
    found.retain(|m| {
        existing.contains(m.entity_id.as_str()) && existing.contains(m.match_id.as_str())
    });
    let number = |name: &str, default: usize| super::number_param(query, name, default);
    let offset = number("offset", 0).min(WINDOW);
    let end = offset + number("limit", 20).min(WINDOW - offset);
    let items: Vec<Value> = found
        .into_iter()
        .enumerate()
        .map(|(n, m)| {
            if !(offset..end).contains(&n) {
                return Value::Null;
            }
            let view = |id: &str| {
                state
                    .find_entity(id)
                    .map(|(_, e)| state.entity_view(&e, user))
            };
            json!({
                "id": m.id, "score": m.score, "method": "ftm-3.5.9", "random": m.random,
                "schema": m.schema, "collection_id": m.collection_id.parse::<u64>().ok(),
                "created_at": m.created_at, "judgement": judgements(m),
                "entity": view(&m.entity_id), "match": view(&m.match_id),
                "writeable": writeable,
            })
        })
        .collect();
    state.search_listing(
        &format!("collections/{collection}/xref"),
        items,
        query,
        true,
    )
}

/// `Judgement.__add__` (`aleph/model/entityset.py`).
fn add(a: &str, b: &str) -> &'static str {
    if a == b {
        return JUDGEMENTS
            .iter()
            .find(|j| **j == a)
            .copied()
            .unwrap_or("unsure");
    }
    if a == "negative" || b == "negative" {
        "negative"
    } else {
        "unsure"
    }
}

/// The judgement of a pair in a collection's profiles (`aleph/logic/profiles.py`
/// `pairwise_judgements`): both in one profile, one of them positive.
fn judgement_of(state: &State, collection: &str, left: &str, right: &str) -> &'static str {
    for profile in state
        .xref
        .profiles
        .iter()
        .filter(|p| p.collection_id == collection)
    {
        let find = |id: &str| profile.items.iter().find(|i| i.entity_id == id);
        if let (Some(l), Some(r)) = (find(left), find(right))
            && (l.judgement == "positive" || r.judgement == "positive")
        {
            return add(&l.judgement, &r.judgement);
        }
    }
    "no_judgement"
}

/// `POST /collections/{id}/xref.xlsx`: an export, made at once here (`aleph/views/xref_api.py`
/// `export`, `aleph/model/export.py`, `aleph/logic/xref.py` `export_matches`: every match, no
/// cutoff, no window).
fn export(state: &mut State, collection: &str, label: &str) -> Response {
    let mut rows = String::from(
        "Score\tDoubt\tEntity Name\tEntity Date\tEntity Countries\tCandidate Collection\tCandidate Name\tCandidate Date\tCandidate Countries\tEntity Link\tCandidate Link\n",
    );
    for m in state
        .xref
        .matches
        .iter()
        .filter(|m| m.collection_id == collection)
    {
        let name = |id: &str| {
            state
                .find_entity(id)
                .map(|(_, e)| values(&e, "name").join("; "))
                .unwrap_or_default()
        };
        rows.push_str(&format!(
            "{}\t\t{}\t\t\t{}\t{}\t\t\t{}/entities/{}\t{}/entities/{}\n",
            m.score,
            name(&m.entity_id),
            m.match_collection_id,
            name(&m.match_id),
            state.ui,
            m.entity_id,
            state.ui,
            m.match_id
        ));
    }
    state.xref.next += 1;
    let id = state.xref.next.to_string();
    let label = format!("{label} - Crossreference results");
    let file_name = format!("{label}.xlsx");
    let bytes = rows.into_bytes();
    let hash = super::sha1_hex(&bytes);
    let now = Utc::now();
    let export = json!({
        "id": id, "label": label, "operation": "exportxref", "creator_id": "3",
        "collection_id": collection.parse::<u64>().ok(), "status": "successful",
        "content_hash": hash, "file_size": bytes.len(), "file_name": file_name,
        "mime_type": XLSX, "deleted": false, "meta": {}, "writeable": false,
        "expires_at": naive(now + Duration::days(30)),
        "created_at": naive(now), "updated_at": naive(now),
        "links": {"download": format!(
            "{}/api/2/archive?token={hash}.{}", state.ui, sign(&["archive", &hash])
        )},
    });
    state.blobs.push((hash, file_name, bytes));
    state.xref.exports.push(export);
    empty(202)
}

/// `POST /search/export` (`aleph/views/entities_api.py` `export`): an export of the search's
/// results, made in the background (`aleph/logic/export.py` `export_entities`). Here it is
/// `pending` in the first listing of `GET /exports` after it was asked for and done in the next;
/// its file is a tab-separated list of the entities (id, schema, name) rather than the zip of an
/// Excel sheet and the documents' files.
fn export_search(state: &mut State, query: &[(String, String)]) -> Response {
    let mut rows = String::from("id\tschema\tname\n");
    for (_, entity) in state.search_matches(query, true) {
        rows.push_str(&format!(
            "{}\t{}\t{}\n",
            entity["id"].as_str().unwrap_or_default(),
            entity["schema"].as_str().unwrap_or_default(),
            values(entity, "name").join("; ")
        ));
    }
    let text = query
        .iter()
        .find(|(k, _)| k == "q")
        .map_or("*".to_owned(), |(_, v)| v.clone());
    state.xref.next += 1;
    let id = state.xref.next.to_string();
    let bytes = rows.into_bytes();
    let hash = super::sha1_hex(&bytes);
    let label = format!("Search: {text}");
    let now = Utc::now();
    let export = json!({
        "id": id, "label": label, "operation": "exportsearch", "creator_id": "3",
        "status": "pending", "content_hash": hash, "file_size": bytes.len(),
        "file_name": "export.zip", "mime_type": "application/zip", "deleted": false,
        "meta": {}, "writeable": false, "expires_at": naive(now + Duration::days(30)),
        "created_at": naive(now), "updated_at": naive(now),
    });
    state.blobs.push((hash, "export.zip".into(), bytes));
    state.xref.exports.push(export);
    state.xref.making.push((id, 1));
    empty(202)
}

/// Moves the search exports being made on by one listing of `GET /exports`: one whose time
/// has come is done, with its download link (`aleph/logic/export.py` `complete_export`).
fn advance_exports(state: &mut State) {
    let ui = state.ui.clone();
    let making = std::mem::take(&mut state.xref.making);
    for (id, left) in making {
        if left > 0 {
            state.xref.making.push((id, left - 1));
            continue;
        }
        if let Some(export) = state
            .xref
            .exports
            .iter_mut()
            .find(|e| e["id"] == id.as_str())
        {
            let hash = export["content_hash"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            export["status"] = json!("successful");
            export["links"] = json!({"download": format!(
                "{ui}/api/2/archive?token={hash}.{}", sign(&["archive", &hash])
            )});
        }
    }
}

/// `POST /profiles/_pairwise` (`aleph/views/profiles_api.py` `pairwise`, schema `Pairwise` in
/// `aleph/validation/schema/profile.yml`, `aleph/logic/profiles.py` `decide_pairwise`).
fn pairwise(state: &mut State, body: Option<Value>, user: bool) -> Response {
    let body = body.unwrap_or(Value::Null);
    for field in ["entity_id", "match_id", "judgement"] {
        if !body[field].is_string() {
            return validation("", &format!("'{field}' is a required property"));
        }
    }
    let text = |field: &str| body[field].as_str().unwrap_or_default().to_owned();
    let (entity_id, match_id, judgement) = (text("entity_id"), text("match_id"), text("judgement"));
    if !JUDGEMENTS.contains(&judgement.as_str()) {
        return validation(
            "judgement",
            &format!(
                "'{judgement}' is not one of ['positive', 'negative', 'unsure', 'no_judgement']"
            ),
        );
    }
    let Some((collection, entity)) = state.find_entity(&entity_id) else {
        return not_found();
    };
    if !user || !state.can_write(&collection) {
        return forbidden();
    }
    let Some((match_collection, candidate)) = state.find_entity(&match_id) else {
        return not_found();
    };
    if !readable(state, &match_collection, user) {
        return forbidden();
    }
    let (left, right) = (
        entity["schema"].as_str().unwrap_or_default(),
        candidate["schema"].as_str().unwrap_or_default(),
    );
    if !compatible(state.ftm(), left, right) {
        // `followthemoney.exc.InvalidData` (`aleph/views/base_api.py`).
        return json(
            400,
            &json!({"status": "error", "message": format!("No common schema: {left} and {right}"), "errors": null}),
        );
    }
    let now = naive(Utc::now());
    let existing = state.xref.profiles.iter().position(|p| {
        p.collection_id == collection
            && p.items
                .iter()
                .any(|i| i.entity_id == entity_id && i.judgement == "positive")
    });
    let index = match existing {
        Some(index) => index,
        None => {
            state.xref.next += 1;
            let id = sign(&["profile", &state.xref.next.to_string()]);
            state.xref.profiles.push(ProfileSet {
                id,
                collection_id: collection,
                created_at: now.clone(),
                updated_at: now.clone(),
                items: vec![Item {
                    entity_id,
                    judgement: "positive".into(),
                }],
            });
            state.xref.profiles.len() - 1
        }
    };
    let profile = &mut state.xref.profiles[index];
    profile.items.retain(|i| i.entity_id != match_id);
    profile.updated_at = now;
    // `EntitySetItem.save`: `no_judgement` deletes the item and returns none.
    let profile_id = if judgement == "no_judgement" {
        Value::Null
    } else {
        profile.items.push(Item {
            entity_id: match_id,
            judgement,
        });
        json!(profile.id)
    };
    json(200, &json!({"status": "ok", "profile_id": profile_id}))
}

/// The positive items' entities (`get_profile`: only they are resolved).
fn proxies(state: &State, index: usize, user: bool) -> Vec<Value> {
    state.xref.profiles[index]
        .items
        .iter()
        .filter(|i| i.judgement == "positive")
        .filter_map(|i| state.find_entity(&i.entity_id))
        .filter(|(c, _)| readable(state, c, user))
        .map(|(_, e)| e)
        .collect()
}

/// The merged entity (`get_profile`: the first proxy, the others merged into it, named with
/// the profile's id).
fn merged(state: &State, index: usize, user: bool) -> Value {
    let proxies = proxies(state, index, user);
    let mut schema = "LegalEntity".to_owned();
    let mut properties = serde_json::Map::new();
    for (n, proxy) in proxies.iter().enumerate() {
        let own = proxy["schema"].as_str().unwrap_or_default();
        if n == 0 || state.ftm().is_a(own, &schema) {
            own.clone_into(&mut schema);
        }
        for (name, list) in proxy["properties"].as_object().into_iter().flatten() {
            let target = properties.entry(name.clone()).or_insert_with(|| json!([]));
            for value in list.as_array().into_iter().flatten() {
                if let Some(values) = target.as_array_mut()
                    && !values.contains(value)
                {
                    values.push(value.clone());
                }
            }
        }
    }
    let ids: Vec<&Value> = proxies.iter().map(|p| &p["id"]).collect();
    json!({
        "id": state.xref.profiles[index].id, "schema": schema,
        "properties": properties, "entities": ids,
    })
}

/// `GET /profiles/{id}` (`ProfileSerializer`).
fn profile_view(state: &State, index: usize, user: bool) -> Value {
    let profile = &state.xref.profiles[index];
    let merged = merged(state, index, user);
    let collection = state
        .data
        .collections
        .iter()
        .find(|c| c["id"] == profile.collection_id.as_str())
        .map(|c| state.collection_view(c));
    json!({
        "id": profile.id, "type": "profile", "label": merged["properties"]["name"][0],
        "role_id": "3", "layout": {}, "created_at": profile.created_at,
        "updated_at": profile.updated_at, "collection": collection,
        "writeable": user && state.can_write(&profile.collection_id), "shallow": false,
        "entities": merged["entities"], "merged": merged,
    })
}

/// `GET /profiles/{id}/tags` (`aleph/logic/expand.py` `entity_tags`, the sandbox counting
/// names): the other readable entities sharing a name, when there are any.
fn tags(state: &State, index: usize, user: bool) -> Response {
    let merged = merged(state, index, user);
    let mut results: Vec<Value> = Vec::new();
    for name in values(&merged, "name") {
        let key = normalise(&name);
        let hits = state
            .data
            .entities
            .iter()
            .filter(|(c, _)| readable(state, c, user))
            .flat_map(|(_, list)| list.iter())
            .filter(|e| values(e, "name").iter().any(|n| normalise(n) == key))
            .count();
        if hits > 1 {
            results.push(json!({"id": format!("name:{name}"), "field": "names", "value": name, "count": hits - 1}));
        }
    }
    results.sort_by(|a, b| b["count"].as_u64().cmp(&a["count"].as_u64()));
    json(
        200,
        &json!({"status": "ok", "total": results.len(), "results": results}),
    )
}

/// `GET /profiles/{id}/similar` (`MatchQuery` over the merged entity, the items left out;
/// `SimilarSerializer` with `judgement: no_judgement`).
fn similar(state: &State, index: usize, query: &[(String, String)], user: bool) -> Response {
    let profile = &state.xref.profiles[index];
    let merged = merged(state, index, user);
    let schema = merged["schema"].as_str().unwrap_or_default();
    let names: Vec<String> = values(&merged, "name")
        .iter()
        .map(|n| normalise(n))
        .collect();
    let writeable = user && state.can_write(&profile.collection_id);
    let items: Vec<Value> = state
        .data
        .entities
        .iter()
        .filter(|(c, _)| readable(state, c, user))
        .flat_map(|(_, list)| list.iter())
        .filter(|e| {
            !profile
                .items
                .iter()
                .any(|i| e["id"] == i.entity_id.as_str())
        })
        .filter(|e| {
            compatible(
                state.ftm(),
                schema,
                e["schema"].as_str().unwrap_or_default(),
            )
        })
        .filter(|e| {
            values(e, "name")
                .iter()
                .any(|n| names.contains(&normalise(n)))
        })
        .map(|e| {
            json!({"score": score(&merged, e), "judgement": "no_judgement",
                   "entity": state.entity_view(e, user), "writeable": writeable})
        })
        .collect();
    state.search_listing(
        &format!("profiles/{}/similar", profile.id),
        items,
        query,
        true,
    )
}

/// An entity as the index stores it, the way `expand` returns it (a followthemoney proxy with
/// its index context, not the serializer's shape).
fn raw_proxy(entity: &Value) -> Value {
    let mut proxy = json!({
        "id": entity["id"], "schema": entity["schema"], "properties": entity["properties"],
        "collection_id": entity["collection_id"].as_str().and_then(|c| c.parse::<u64>().ok()),
        "created_at": entity["created_at"], "updated_at": entity["updated_at"],
    });
    if let Some(map) = proxy.as_object_mut() {
        map.retain(|_, v| !v.is_null());
    }
    proxy
}

/// `GET /profiles/{id}/expand` (`aleph/logic/expand.py` `expand_proxies` over the profile's
/// entities): per entity-typed property, the entities it points at, and per link from another
/// entity (named as followthemoney's reverse properties are, `ownershipOwner`), those
/// entities; `limit` (default 20, at most 200) per property, 0 counting only; `filter:property`
/// picks properties.
fn expand(state: &State, index: usize, query: &[(String, String)], user: bool) -> Response {
    let limit = query
        .iter()
        .find(|(k, _)| k == "limit")
        .and_then(|(_, v)| v.parse::<usize>().ok())
        .unwrap_or(20)
        .min(MAX_EXPAND);
    let wanted: Vec<&str> = query
        .iter()
        .filter(|(k, _)| k == "filter:property")
        .map(|(_, v)| v.as_str())
        .collect();
    let mut found: Vec<(String, Vec<Value>)> = Vec::new();
    let mut add = |property: String, entity: &Value| {
        if !wanted.is_empty() && !wanted.contains(&property.as_str()) {
            return;
        }
        match found.iter_mut().find(|(p, _)| *p == property) {
            Some((_, list)) if !list.iter().any(|e| e["id"] == entity["id"]) => {
                list.push(entity.clone());
            }
            Some(_) => {}
            None => found.push((property, vec![entity.clone()])),
        }
    };
    for proxy in proxies(state, index, user) {
        let schema = proxy["schema"].as_str().unwrap_or_default();
        for property in state.ftm().references(schema).unwrap_or_default() {
            for id in values(&proxy, property) {
                if let Some((_, target)) = state.find_entity(&id) {
                    add((*property).to_owned(), &target);
                }
            }
        }
        for (cid, list) in &state.data.entities {
            if !readable(state, cid, user) {
                continue;
            }
            for other in list {
                let kind = other["schema"].as_str().unwrap_or_default();
                for property in state.ftm().references(kind).unwrap_or_default() {
                    if values(other, property)
                        .iter()
                        .any(|v| proxy["id"] == v.as_str())
                    {
                        let mut chars = kind.chars();
                        let reverse = chars.next().map_or_else(String::new, |first| {
                            let mut p = property.chars();
                            let head = p.next().map(|c| c.to_uppercase().to_string());
                            format!(
                                "{}{}{}{}",
                                first.to_lowercase(),
                                chars.as_str(),
                                head.unwrap_or_default(),
                                p.as_str()
                            )
                        });
                        add(reverse, other);
                    }
                }
            }
        }
    }
    let total: usize = found.iter().map(|(_, l)| l.len()).sum();
    let results: Vec<Value> = found
        .into_iter()
        .map(|(property, list)| {
            let entities: Vec<Value> = list.iter().take(limit).map(raw_proxy).collect();
            prune(json!({"property": property, "count": list.len(), "entities": entities}))
        })
        .collect();
    json(
        200,
        &json!({"status": "ok", "total": total, "results": results}),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_compare_without_case_punctuation_or_word_order() {
        assert_eq!(normalise("Petrov, Maria"), normalise("maria PETROV"));
        assert_ne!(normalise("Maria Petrov"), normalise("Maria Petrova"));
    }

    #[test]
    fn judgements_add_as_aleph_adds_them() {
        assert_eq!(add("positive", "positive"), "positive");
        assert_eq!(add("positive", "negative"), "negative");
        assert_eq!(add("positive", "unsure"), "unsure");
    }
}
