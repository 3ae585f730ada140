//! The routes only OpenAleph 5.3 has, as openaleph/openaleph `main` (5.3.1-rc3) answers them
//! with openaleph-search 5.3.1 (spec20 §4 "On OpenAleph only"): `more_like_this`, `nearby`,
//! `mentions`, `percolate` and `thread` of an entity (`aleph/views/entities_api.py`),
//! `GET /screening` (same file), and users' tags (`aleph/views/tags_api.py`). On the Aleph
//! flavor each path is Aleph 4.1.6's 404 `This path does not exist.`
//!
//! Elasticsearch is not emulated, only what a client can see of it: `more_like_this` finds the
//! documents sharing words (of at least `mlt_min_word_length` letters, 5 by default) with the
//! entity's names and text, and reads `mlt_minimum_should_match` but none of the other `mlt_*`
//! frequencies; `mentions` and `screening` find the documents whose text holds a name as a
//! phrase (case-insensitive, no slop, no synonyms); `nearby` sorts by an equirectangular
//! distance; `thread` walks the whole tree in one pass (no depth limit of 25). The sandbox runs
//! without `OPENALEPH_SEARCH_PERCOLATION` (its default), so `percolate` of a document with text
//! is an empty page, as on a default OpenAleph. Facets on these routes are answered empty.
//!
//! A collection can be tagged when its JSON holds `"taggable": true` (OpenAleph's collection
//! field, `aleph/model/collection.py`).

use std::collections::BTreeSet;

use axum::http::Method;
use axum::response::Response;
use chrono::Utc;
use serde_json::{Map, Value};

use super::{
    METHOD_NOT_ALLOWED, State, aleph_role, as_bool, empty, error, facet_values, forbidden, json,
    naive, not_found, number_param, property_filters_match, ranges_match, raw, validation,
    with_allow,
};
use crate::aleph::Flavor;

/// `MAX_SOURCE_NAMES` (openaleph-search `query/mentions.py`).
const MAX_SOURCE_NAMES: usize = 10_000;
/// `MessageThreadQuery.MAX_RESULTS` (openaleph/openaleph `aleph/search/query.py`).
const MAX_THREAD: usize = 200;
/// `settings.matching_single_token_min_length` and `matching_multi_token_min_length`
/// (openaleph-search `settings.py`, defaults).
const SINGLE_TOKEN_MIN: usize = 10;
const MULTI_TOKEN_MIN: usize = 3;
/// The window of a search (`MAX_PAGE`).
const WINDOW: usize = 9999;
/// The message of every refusal of `require_entity_taggable` (`aleph/views/tags_api.py`).
const NOT_TAGGABLE: &str = "Could not tag the given entity as the entity does not exist or you \
     do not have access or tagging is disabled.";

/// The users' tags (`aleph/model/tag.py`): the sandbox's state for this area.
#[derive(Default)]
pub(super) struct OpenAlephState {
    tags: Vec<TagRow>,
}

struct TagRow {
    id: u64,
    tag: String,
    entity_id: String,
    collection_id: String,
    created_at: String,
}

/// Whether this module answers `path`.
pub(super) fn owns(path: &[&str]) -> bool {
    allowed(path).is_some()
}

/// The methods Flask routes for each path (with the HEAD and OPTIONS it adds).
fn allowed(path: &[&str]) -> Option<&'static [&'static str]> {
    Some(match path {
        [
            "entities",
            _,
            "more_like_this" | "nearby" | "mentions" | "percolate" | "thread",
        ]
        | ["screening"] => &["GET", "HEAD", "OPTIONS"],
        ["tags"] => &["GET", "HEAD", "OPTIONS", "POST"],
        ["tags", _] => &["DELETE", "GET", "HEAD", "OPTIONS"],
        ["tags", _, _] => &["DELETE", "OPTIONS"],
        _ => return None,
    })
}

/// A 403 to a signed-in caller (`handle_authz_error` lists the caller's roles).
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
    // Aleph 4.1.6 has none of these routes: its JSON 404 (`base_api.py` `handle_not_found`).
    if state.flavor == Flavor::Aleph {
        return not_found();
    }
    let Some(methods) = allowed(path) else {
        return not_found();
    };
    if method == Method::OPTIONS {
        return with_allow(empty(200), methods);
    }
    if !methods.contains(&method.as_str()) {
        return with_allow(
            raw(405, "text/html; charset=utf-8", METHOD_NOT_ALLOWED),
            methods,
        );
    }
    match path {
        ["screening"] => screening(state, query, user),
        ["entities", id, what] => {
            // `get_index_entity(entity_id, READ)`: 404, then 403.
            let Some((collection, entity)) = state.find_entity(id) else {
                return not_found();
            };
            if !state.readable(&collection, user) {
                return denied(user);
            }
            let path = format!("entities/{id}/{what}");
            match *what {
                "more_like_this" => more_like_this(state, &path, &entity, query, user),
                "nearby" => nearby(state, &path, &entity, query, user),
                "mentions" => mentions(state, &path, &entity, query, user),
                "percolate" => percolate(state, &path, &entity, query),
                _ => thread(state, &path, &collection, &entity, query, user),
            }
        }
        _ => tags(state, method, path, query, body, user),
    }
}

// --- searching -----------------------------------------------------------------------------

/// Every text of an entity (its caption and the values of its properties), lower-cased, with
/// blanks made single spaces: what Elasticsearch's `content`, `text` and `names` fields hold.
fn text_of(entity: &Value) -> String {
    let mut parts: Vec<&str> = Vec::new();
    if let Some(caption) = entity["caption"].as_str() {
        parts.push(caption);
    }
    if let Some(properties) = entity["properties"].as_object() {
        for values in properties.values() {
            parts.extend(
                values
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str),
            );
        }
    }
    normalise(&parts.join(" "))
}

fn normalise(text: &str) -> String {
    text.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

/// The words of a text, as an analyzer splits them.
fn words(text: &str) -> BTreeSet<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

/// The first value of a parameter.
fn param<'q>(query: &'q [(String, String)], name: &str) -> Option<&'q str> {
    query
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// The readable entities in a search's scope: its schemata (`filter:schema`, else
/// `filter:schemata`, else `default`: `EntitiesQuery.schemata`), its filters and exclusions,
/// and its text (`q`, every word of it in the entity's text).
fn in_scope<'s>(
    state: &'s State,
    query: &[(String, String)],
    user: bool,
    default: &str,
) -> Vec<(&'s str, &'s Value)> {
    let values = |key: &str| -> Vec<&str> {
        query
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .collect()
    };
    let schema = values("filter:schema");
    let mut schemata = values("filter:schemata");
    if schemata.is_empty() {
        schemata.push(default);
    }
    let q = param(query, "q").map(words).unwrap_or_default();
    // The other filters and exclusions on a top-level field or type group.
    let mut fields: Vec<(&str, bool, Vec<&str>)> = Vec::new();
    for (key, value) in query {
        let (field, keep) = match (key.strip_prefix("filter:"), key.strip_prefix("exclude:")) {
            (Some(field), _) => (field, true),
            (_, Some(field)) => (field, false),
            _ => continue,
        };
        if matches!(field, "schema" | "schemata")
            || field.starts_with("properties.")
            || field.contains(':')
        {
            continue;
        }
        match fields
            .iter_mut()
            .find(|(f, k, _)| *f == field && *k == keep)
        {
            Some((.., list)) => list.push(value),
            None => fields.push((field, keep, vec![value])),
        }
    }
    state
        .data
        .entities
        .iter()
        .filter(|(cid, _)| state.readable(cid, user))
        .flat_map(|(cid, list)| list.iter().map(move |e| (cid.as_str(), e)))
        .filter(|(_, e)| {
            let kind = e["schema"].as_str().unwrap_or_default();
            if schema.is_empty() {
                schemata.iter().any(|s| state.ftm().is_a(kind, s))
            } else {
                schema.contains(&kind)
            }
        })
        .filter(|(cid, e)| {
            fields.iter().all(|(field, keep, wanted)| {
                let have = match *field {
                    "collection_id" => vec![(*cid).to_owned()],
                    // `dataset` is `collection_<id>` (openaleph-search `index/entities.py`).
                    "dataset" => vec![format!("collection_{cid}")],
                    field => facet_values(state.ftm(), cid, e, field),
                };
                have.iter().any(|v| wanted.contains(&v.as_str())) == *keep
            })
        })
        .filter(|(_, e)| property_filters_match(e, query) && ranges_match(e, query))
        .filter(|(_, e)| q.is_empty() || q.is_subset(&words(&text_of(e))))
        .collect()
}

/// A hit as `EntitySerializer` writes a search result: the entity, its score, and, when asked,
/// without its properties (`dehydrate`, but the `include_fields` property paths).
fn hit(state: &State, entity: &Value, score: f64, query: &[(String, String)], user: bool) -> Value {
    let mut view = state.entity_view(entity, user);
    view["score"] = json!(score);
    if param(query, "dehydrate").is_some_and(as_bool) {
        dehydrate(&mut view, query, &[]);
    }
    view
}

/// Drops the properties but `keep` and the `include_fields` property paths.
fn dehydrate(view: &mut Value, query: &[(String, String)], keep: &[&str]) {
    let included: Vec<&str> = query
        .iter()
        .filter(|(k, _)| k == "include_fields")
        .filter_map(|(_, v)| v.strip_prefix("properties."))
        .chain(keep.iter().copied())
        .collect();
    if let Some(properties) = view.get_mut("properties").and_then(Value::as_object_mut) {
        properties.retain(|name, _| included.contains(&name.as_str()));
    }
}

/// A highlight fragment: the text around the first of `phrases` found in `text`, the phrase in
/// `<em>`; without a phrase (or none found) the start of the text, unmarked (the
/// `no_match_size` preview of `get_highlighter` with `match_all`).
fn fragment(text: &str, phrases: &[String]) -> Option<String> {
    let lower = text.to_lowercase();
    let found = phrases
        .iter()
        .filter(|p| !p.is_empty())
        .find_map(|p| lower.find(p.as_str()).map(|at| (at, p.len())));
    let chars = |s: &str, n: usize| s.chars().take(n).collect::<String>();
    match found {
        // Lower-casing may move byte offsets; fall back to the preview when it did.
        Some((at, len)) if lower.len() == text.len() && text.is_char_boundary(at + len) => {
            let before: String = text[..at]
                .chars()
                .rev()
                .take(80)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect();
            Some(format!(
                "{before}<em>{}</em>{}",
                &text[at..at + len],
                chars(&text[at + len..], 80)
            ))
        }
        _ if text.is_empty() => None,
        _ => Some(chars(text, 200)),
    }
}

/// The body text of a document (`properties.bodyText`, what `get_entity_content` reads).
fn body_text(entity: &Value) -> String {
    entity["properties"]["bodyText"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect::<Vec<_>>()
        .join("\n")
}

/// A search's page in OpenAleph's envelope (`aleph/search/result.py` `SearchQueryResult`):
/// the offset page with `facets`, `metrics`, `query_q` and `filters`.
fn search_page(
    state: &State,
    path: &str,
    items: Vec<Value>,
    query: &[(String, String)],
) -> Response {
    let mut page = state.listing_value(path, items, query, true);
    let mut filters = Map::new();
    for (key, value) in query {
        if let Some(field) = key.strip_prefix("filter:") {
            let list = filters.entry(field.to_owned()).or_insert_with(|| json!([]));
            if let Some(list) = list.as_array_mut()
                && !list.iter().any(|v| v == value)
            {
                list.push(json!(value));
            }
        }
    }
    page["facets"] = json!({});
    page["metrics"] = json!({});
    page["query_q"] = json!(param(query, "q"));
    page["filters"] = Value::Object(filters);
    json(200, &page)
}

/// `get_query_result(MoreLikeThisQuery, ...)` (openaleph-search `query/more_like_this.py`):
/// documents (not `Page`s, not the entity) sharing enough of the entity's words, most first.
fn more_like_this(
    state: &State,
    path: &str,
    entity: &Value,
    query: &[(String, String)],
    user: bool,
) -> Response {
    let min_length = number_param(query, "mlt_min_word_length", 5).max(1);
    let max_terms = number_param(query, "mlt_max_query_terms", 200).max(1);
    let terms: BTreeSet<String> = words(&text_of(entity))
        .into_iter()
        .filter(|w| w.chars().count() >= min_length)
        .take(max_terms)
        .collect();
    // `minimum_should_match`: a count, or a percentage of the terms rounded down; at least 1.
    let should = param(query, "mlt_minimum_should_match").unwrap_or("10%");
    let needed = match should.strip_suffix('%') {
        Some(percent) => terms.len() * percent.trim().parse::<usize>().unwrap_or(10) / 100,
        None => should.trim().parse::<usize>().unwrap_or(1),
    }
    .max(1);
    let own = entity["id"].as_str().unwrap_or_default();
    let mut scored: Vec<(usize, &Value)> = in_scope(state, query, user, "Document")
        .into_iter()
        .filter(|(_, e)| e["id"] != own && e["schema"] != "Page")
        .map(|(_, e)| (terms.intersection(&words(&text_of(e))).count(), e))
        .filter(|(shared, _)| *shared >= needed && *shared > 0)
        .collect();
    scored.sort_by_key(|b| std::cmp::Reverse(b.0));
    let highlight = param(query, "highlight").is_some_and(as_bool);
    let items = scored
        .into_iter()
        .map(|(shared, e)| {
            let mut view = hit(state, e, shared as f64, query, user);
            // A `match_all` highlight: a preview of the text.
            if highlight && let Some(text) = fragment(&body_text(e), &[]) {
                view["highlight"] = json!({"content": [text]});
            }
            view
        })
        .collect();
    search_page(state, path, items, query)
}

/// `GeoDistanceQuery` (openaleph-search `query/queries.py`): the entities with a position,
/// nearest first, each with its distance in `_sort`; an entity without `latitude` and
/// `longitude` matches nothing.
fn nearby(
    state: &State,
    path: &str,
    entity: &Value,
    query: &[(String, String)],
    user: bool,
) -> Response {
    let position = |e: &Value| -> Option<(f64, f64)> {
        let first = |name: &str| {
            e["properties"][name][0]
                .as_str()?
                .trim()
                .parse::<f64>()
                .ok()
        };
        Some((first("latitude")?, first("longitude")?))
    };
    let Some((lat, lon)) = position(entity) else {
        return search_page(state, path, Vec::new(), query);
    };
    let own = entity["id"].as_str().unwrap_or_default();
    let mut found: Vec<(f64, &Value)> = in_scope(state, query, user, "Thing")
        .into_iter()
        .filter(|(_, e)| e["id"] != own)
        .filter_map(|(_, e)| {
            let (lat2, lon2) = position(e)?;
            // `distance_type: plane`: an equirectangular distance on the mean radius.
            let mean = ((lat + lat2) / 2.0).to_radians();
            let dx = (lon2 - lon).to_radians() * mean.cos();
            let dy = (lat2 - lat).to_radians();
            Some((6_371.008_8 * (dx * dx + dy * dy).sqrt(), e))
        })
        .collect();
    found.sort_by(|a, b| a.0.total_cmp(&b.0));
    let items = found
        .into_iter()
        .map(|(km, e)| {
            let mut view = hit(state, e, 0.0, query, user);
            if let Some(view) = view.as_object_mut() {
                view.remove("score");
            }
            view["_sort"] = json!([km]);
            view
        })
        .collect();
    search_page(state, path, items, query)
}

/// The matchable names of an entity: its `name`, `alias` and `previousName` (the matchable
/// `name`-typed properties of followthemoney's `Thing`; `weakAlias` is not matchable).
fn matchable_names(entity: &Value) -> Vec<String> {
    ["name", "alias", "previousName"]
        .iter()
        .flat_map(|p| entity["properties"][p].as_array().into_iter().flatten())
        .filter_map(Value::as_str)
        .map(normalise)
        .filter(|n| !n.is_empty())
        .collect()
}

/// `clean_matching_names` (openaleph-search `transform/util.py`): a name of several words is
/// kept when one of them has at least 3 letters; a one-word name only when it has at least 10
/// and no name of several words is there.
fn clean_names(names: &[String]) -> Vec<String> {
    let multi = names.iter().any(|n| n.split(' ').count() > 1);
    let mut kept: BTreeSet<String> = BTreeSet::new();
    for name in names {
        let tokens: Vec<&str> = name.split(' ').collect();
        let keep = if tokens.len() > 1 {
            tokens
                .iter()
                .any(|t| t.chars().filter(|c| c.is_alphanumeric()).count() >= MULTI_TOKEN_MIN)
        } else {
            !multi && name.chars().count() >= SINGLE_TOKEN_MIN
        };
        if keep {
            kept.insert(name.clone());
        }
    }
    kept.into_iter().collect()
}

/// The documents in scope that mention any of `sources` (entity id, names): phrase matches in
/// their text, or a name of theirs equal to one (`_Mentions.get_inner_query`), most names
/// first, each with the ids of the sources that fired (`mention_sources`).
fn mentioning(
    state: &State,
    sources: &[(String, Vec<String>)],
    query: &[(String, String)],
    user: bool,
) -> Vec<Value> {
    let highlight = param(query, "highlight").is_some_and(as_bool);
    let mut found: Vec<(usize, Vec<String>, Vec<String>, &Value)> = Vec::new();
    for (_, document) in in_scope(state, query, user, "Document") {
        let text = text_of(document);
        let own = matchable_names(document);
        let mut ids = Vec::new();
        let mut names = Vec::new();
        for (id, list) in sources {
            let fired: Vec<&String> = list
                .iter()
                .filter(|n| text.contains(n.as_str()) || own.contains(n))
                .collect();
            if !fired.is_empty() && document["id"] != id.as_str() {
                ids.push(id.clone());
                names.extend(fired.into_iter().cloned());
            }
        }
        if !ids.is_empty() {
            ids.sort();
            found.push((names.len(), ids, names, document));
        }
    }
    found.sort_by_key(|b| std::cmp::Reverse(b.0));
    found
        .into_iter()
        .map(|(score, ids, names, document)| {
            let mut view = hit(state, document, score as f64, query, user);
            view["mention_sources"] = json!(ids);
            if highlight && let Some(text) = fragment(&body_text(document), &names) {
                view["highlight"] = json!({"content": [text]});
            }
            view
        })
        .collect()
}

/// `MentionsQuery` (openaleph-search `query/mentions.py`): its `ValueError`s are the view's
/// 400s.
fn mentions(
    state: &State,
    path: &str,
    entity: &Value,
    query: &[(String, String)],
    user: bool,
) -> Response {
    let id = entity["id"].as_str().unwrap_or_default();
    let names = matchable_names(entity);
    if names.is_empty() {
        return error(
            400,
            &format!(
                "Entity '{id}' has no matchable names — MentionsQuery requires a named entity \
                 (Person, Company, ...)."
            ),
        );
    }
    let cleaned = clean_names(&names);
    if cleaned.is_empty() {
        return error(
            400,
            &format!(
                "Entity '{id}' has no matchable names after `clean_matching_names` (only short \
                 single tokens, single tokens shadowed by multi-token variants, or multi-token \
                 strings made up of initials only such as 'A. A.'). Adjust \
                 `OPENALEPH_SEARCH_MATCHING_SINGLE_TOKEN_MIN_LENGTH` or enrich the entity with \
                 longer / multi-token names."
            ),
        );
    }
    let items = mentioning(state, &[(id.to_owned(), cleaned)], query, user);
    search_page(state, path, items, query)
}

/// `PercolatorQuery` (openaleph-search `query/queries.py`): a document without body text is a
/// 400; with percolation off (the default, `OPENALEPH_SEARCH_PERCOLATION`) the answer is an
/// empty page.
fn percolate(state: &State, path: &str, entity: &Value, query: &[(String, String)]) -> Response {
    let id = entity["id"].as_str().unwrap_or_default();
    let schema = entity["schema"].as_str().unwrap_or_default();
    if !state.ftm().is_a(schema, "Document") || body_text(entity).trim().is_empty() {
        return error(
            400,
            &format!(
                "No percolatable fulltext for entity '{id}'. Only Document descendants (incl. \
                 Pages) carry indexable text; Page entities and non-document entities are \
                 excluded."
            ),
        );
    }
    search_page(state, path, Vec::new(), query)
}

/// `GET /screening` (`aleph/views/entities_api.py` `screening`): signed-in callers only; the
/// `source:` parameters pick the named entities (facets, highlights and sorts of the source are
/// dropped), the others search the documents that mention them.
fn screening(state: &State, query: &[(String, String)], user: bool) -> Response {
    if !user {
        return forbidden();
    }
    let mut target = Vec::new();
    let mut source = Vec::new();
    for (key, value) in query {
        match key.strip_prefix("source:") {
            Some(stripped) => {
                let head = stripped.split(':').next().unwrap_or_default();
                if !["facet", "highlight", "sort"].contains(&head) {
                    source.push((stripped.to_owned(), value.clone()));
                }
            }
            None => target.push((key.clone(), value.clone())),
        }
    }
    let entities = in_scope(state, &source, user, "Thing");
    // `collect_source_entities`: the count first, then the names.
    if entities.len() > MAX_SOURCE_NAMES {
        return error(
            400,
            &format!(
                "Source filter matched {} entities (> {MAX_SOURCE_NAMES} names budget). Narrow \
                 the source filter.",
                entities.len()
            ),
        );
    }
    let mut sources: Vec<(String, Vec<String>)> = Vec::new();
    let mut total = 0;
    for (_, entity) in entities {
        let names = clean_names(&matchable_names(entity));
        if names.is_empty() {
            continue;
        }
        total += names.len();
        if total > MAX_SOURCE_NAMES {
            return error(
                400,
                &format!(
                    "Source filter yielded > {MAX_SOURCE_NAMES} names. Narrow the source filter."
                ),
            );
        }
        sources.push((entity["id"].as_str().unwrap_or_default().to_owned(), names));
    }
    sources.sort();
    let items = mentioning(state, &sources, &target, user);
    search_page(state, "screening", items, &target)
}

/// `MessageThreadQuery` (openaleph/openaleph `aleph/search/query.py`): the thread tree of an
/// Email or Message in its collection, linked by `inReplyTo<Schema>` (ids) and `inReplyTo` /
/// `messageId`, oldest first, the entity included, at most `limit` (and 200) entities,
/// dehydrated unless `dehydrate` is given; `total_type: "gte"` when cut. The envelope is a
/// plain `QueryResult`: the whole thread whatever the offset.
fn thread(
    state: &State,
    path: &str,
    collection: &str,
    entity: &Value,
    query: &[(String, String)],
    user: bool,
) -> Response {
    let schema = entity["schema"].as_str().unwrap_or_default();
    if !matches!(schema, "Email" | "Message") {
        return error(
            400,
            "Threading is only supported for Email and Message entities",
        );
    }
    let reply = format!("inReplyTo{schema}");
    let values = |e: &Value, name: &str| -> Vec<String> {
        e["properties"][name]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(super::reference_id)
            .collect()
    };
    let same: Vec<&Value> = state
        .entities_of(collection)
        .into_iter()
        .flatten()
        .filter(|e| e["schema"] == schema)
        .collect();
    let id_of = |e: &Value| e["id"].as_str().unwrap_or_default().to_owned();
    let source = id_of(entity);
    let mut seen: BTreeSet<String> = BTreeSet::from([source.clone()]);
    let mut found: Vec<&Value> = Vec::new();
    // Up: the parents, by id or by message id, to the root.
    let mut ids: BTreeSet<String> = values(entity, &reply).into_iter().collect();
    let mut mids: BTreeSet<String> = values(entity, "inReplyTo").into_iter().collect();
    while !ids.is_empty() || !mids.is_empty() {
        let level: Vec<&Value> = same
            .iter()
            .filter(|e| !seen.contains(&id_of(e)))
            .filter(|e| {
                ids.contains(&id_of(e)) || values(e, "messageId").iter().any(|m| mids.contains(m))
            })
            .copied()
            .collect();
        ids.clear();
        mids.clear();
        for e in level {
            seen.insert(id_of(e));
            ids.extend(values(e, &reply));
            mids.extend(values(e, "inReplyTo"));
            found.push(e);
        }
    }
    // Down: every reply to the source and its ancestors, and to those replies.
    let mut ids: BTreeSet<String> = seen.clone();
    let mut mids: BTreeSet<String> = std::iter::once(entity)
        .chain(found.iter().copied())
        .flat_map(|e| values(e, "messageId"))
        .collect();
    while !ids.is_empty() || !mids.is_empty() {
        let level: Vec<&Value> = same
            .iter()
            .filter(|e| !seen.contains(&id_of(e)))
            .filter(|e| {
                values(e, &reply).iter().any(|i| ids.contains(i))
                    || values(e, "inReplyTo").iter().any(|m| mids.contains(m))
            })
            .copied()
            .collect();
        ids.clear();
        mids.clear();
        for e in level {
            seen.insert(id_of(e));
            ids.insert(id_of(e));
            mids.extend(values(e, "messageId"));
            found.push(e);
        }
    }
    // `SearchQueryParser` clamps the limit to the window; the walk keeps one place for the
    // source.
    let offset = number_param(query, "offset", 0).min(WINDOW);
    let limit = number_param(query, "limit", 20).min(WINDOW - offset);
    let others = limit.min(MAX_THREAD).saturating_sub(1);
    let truncated = found.len() > others;
    found.truncate(others);
    found.push(entity);
    let date = |e: &Value| -> String {
        ["date", "createdAt", "authoredAt"]
            .iter()
            .find_map(|p| e["properties"][p][0].as_str())
            .or_else(|| e["updated_at"].as_str())
            .or_else(|| e["created_at"].as_str())
            .unwrap_or_default()
            .to_owned()
    };
    found.sort_by_key(|e| date(e));
    let dehydrated = param(query, "dehydrate").is_none_or(as_bool);
    let highlight = param(query, "highlight").is_some_and(as_bool);
    // The thread's own fields, featured and caption properties (`_source_spec`).
    let keep: Vec<&str> = [
        "messageId",
        "inReplyTo",
        reply.as_str(),
        "subject",
        "title",
        "name",
        "date",
        "from",
        "to",
        "sender",
        "recipients",
        "emitters",
        "authoredAt",
        "createdAt",
    ]
    .to_vec();
    let results: Vec<Value> = found
        .iter()
        .map(|e| {
            let mut view = state.entity_view(e, user);
            if dehydrated {
                dehydrate(&mut view, query, &keep);
            }
            if highlight && let Some(text) = fragment(&body_text(e), &[]) {
                view["highlight"] = json!({"content": [text]});
            }
            super::prune(view)
        })
        .collect();
    let total = results.len();
    let next_limit = number_param(query, "next_limit", limit);
    let link = |offset: usize| {
        format!(
            "{}/api/2/{path}?offset={offset}&limit={next_limit}",
            state.ui
        )
    };
    json(
        200,
        &json!({
            "status": "ok", "results": results, "total": total,
            "total_type": if truncated { "gte" } else { "eq" },
            "page": offset.checked_div(limit).unwrap_or(0) + 1, "limit": next_limit, "offset": offset,
            "pages": if next_limit == 0 { 1 } else { total.div_ceil(next_limit) },
            "next": (offset + limit <= total).then(|| link(offset + limit)),
            "previous": offset.checked_sub(next_limit).map(link),
        }),
    )
}

// --- tags ----------------------------------------------------------------------------------

/// `require_entity_taggable`: the entity exists, the caller reads it, its collection is
/// taggable; else the one 400.
fn taggable_entity(state: &State, id: &str, user: bool) -> Result<(String, Value), Response> {
    match state.find_entity(id) {
        Some((collection, entity))
            if state.readable(&collection, user) && is_taggable(state, &collection) =>
        {
            Ok((collection, entity))
        }
        _ => Err(error(400, NOT_TAGGABLE)),
    }
}

fn is_taggable(state: &State, collection: &str) -> bool {
    state
        .data
        .collections
        .iter()
        .any(|c| c["id"] == collection && c["taggable"] == true)
}

/// A tag as `TagSerializer` writes it: `Tag.to_dict` with the entity and role resolved,
/// `writeable: false`, empty values dropped.
fn tag_view(state: &State, row: &TagRow, user: bool) -> Value {
    let entity = state
        .find_entity(&row.entity_id)
        .map(|(_, e)| state.entity_view(&e, user));
    json!({
        "id": row.id.to_string(), "tag": row.tag, "role_id": "3", "created_at": row.created_at,
        "entity_id": row.entity_id, "collection_id": row.collection_id.parse::<u64>().ok(),
        "entity": entity, "role": aleph_role("3", "user", "Test Analyst", "Test Analyst"),
        "writeable": false,
    })
}

/// Re-indexes an entity after a tag changed: its JSON carries its tags (`tags` in
/// openaleph-search's `PROXY_INCLUDES`).
fn reindex(state: &mut State, entity_id: &str) {
    let tags: BTreeSet<String> = state
        .openaleph
        .tags
        .iter()
        .filter(|t| t.entity_id == entity_id)
        .map(|t| t.tag.clone())
        .collect();
    for (_, list) in &mut state.data.entities {
        for entity in list.iter_mut().filter(|e| e["id"] == entity_id) {
            entity["tags"] = json!(tags);
        }
    }
}

fn tags(
    state: &mut State,
    method: Method,
    path: &[&str],
    query: &[(String, String)],
    body: Option<Value>,
    user: bool,
) -> Response {
    match (method, path) {
        // `index`: signed in, `collection_id` required, READ on it, taggable.
        (Method::GET, ["tags"]) => {
            if !user {
                return forbidden();
            }
            let Some(collection) = param(query, "collection_id").filter(|c| !c.is_empty()) else {
                return error(400, "collection_id parameter is required");
            };
            // `int(collection_id)` raises outside a view's handlers: a 500.
            let Ok(number) = collection.trim().parse::<u64>() else {
                return error(500, "Internal server error.");
            };
            let collection = number.to_string();
            if !state.readable(&collection, user) {
                return denied(user);
            }
            if !is_taggable(state, &collection) {
                return error(400, "Tagging is disabled");
            }
            let rows = state
                .openaleph
                .tags
                .iter()
                .filter(|t| t.collection_id == collection);
            let items: Vec<Value> = match param(query, "entity_id").filter(|e| !e.is_empty()) {
                Some(entity_id) => {
                    if let Err(response) = taggable_entity(state, entity_id, user) {
                        return response;
                    }
                    let mut rows: Vec<&TagRow> =
                        rows.filter(|t| t.entity_id == entity_id).collect();
                    rows.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(b.id.cmp(&a.id)));
                    rows.into_iter().map(|t| tag_view(state, t, user)).collect()
                }
                None => {
                    let mut counts: Vec<(String, usize)> = Vec::new();
                    for row in rows {
                        match counts.iter_mut().find(|(t, _)| *t == row.tag) {
                            Some((_, n)) => *n += 1,
                            None => counts.push((row.tag.clone(), 1)),
                        }
                    }
                    counts.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
                    counts
                        .into_iter()
                        .map(|(tag, count)| json!({"tag": tag, "count": count, "writeable": false}))
                        .collect()
                }
            };
            state.listing("tags", items, query, false)
        }
        // `create`: `TagCreate` (entity_id, tag of 1 to 128 characters), then the entity.
        (Method::POST, ["tags"]) => {
            let fields = match body {
                Some(Value::Object(fields)) => fields,
                _ => return validation("", "None is not of type 'object'"),
            };
            let entity_id = match fields.get("entity_id") {
                Some(Value::String(id)) => id.clone(),
                Some(_) => return validation("entity_id", "is not of type 'string'"),
                None => return validation("", "'entity_id' is a required property"),
            };
            let tag = match fields.get("tag") {
                Some(Value::String(tag)) => tag.clone(),
                Some(_) => return validation("tag", "is not of type 'string'"),
                None => return validation("", "'tag' is a required property"),
            };
            match tag.chars().count() {
                0 => return validation("tag", "'' is too short"),
                n if n > 128 => return validation("tag", &format!("'{tag}' is too long")),
                _ => {}
            }
            if entity_id.is_empty() {
                return error(400, "Entity ID is required");
            }
            let collection = match taggable_entity(state, &entity_id, user) {
                Ok((collection, _)) => collection,
                Err(response) => return response,
            };
            let same = |t: &&TagRow| t.entity_id == entity_id && t.tag == tag;
            if let Some(row) = state.openaleph.tags.iter().find(same) {
                return json(200, &super::prune(tag_view(state, row, user)));
            }
            state.next_id += 1;
            let row = TagRow {
                id: state.next_id,
                tag,
                entity_id: entity_id.clone(),
                collection_id: collection,
                created_at: naive(Utc::now()),
            };
            let view = super::prune(tag_view(state, &row, user));
            state.openaleph.tags.push(row);
            reindex(state, &entity_id);
            json(201, &view)
        }
        // `get_by_entity`: READ on a taggable entity (no sign-in needed).
        (Method::GET, ["tags", entity_id]) => {
            if let Err(response) = taggable_entity(state, entity_id, user) {
                return response;
            }
            let mut rows: Vec<&TagRow> = state
                .openaleph
                .tags
                .iter()
                .filter(|t| t.entity_id == *entity_id)
                .collect();
            rows.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(b.id.cmp(&a.id)));
            let items = rows.into_iter().map(|t| tag_view(state, t, user)).collect();
            state.listing(&format!("tags/{entity_id}"), items, query, false)
        }
        // `delete` (every user's tag of that text) and `delete_by_entity`.
        (Method::DELETE, ["tags", entity_id, rest @ ..]) => {
            if let Err(response) = taggable_entity(state, entity_id, user) {
                return response;
            }
            state.openaleph.tags.retain(|t| {
                !(t.entity_id == *entity_id && rest.first().is_none_or(|r| t.tag == *r))
            });
            reindex(state, entity_id);
            empty(204)
        }
        _ => not_found(),
    }
}

/// The tags of a taggable collection, over HTTP against the OpenAleph flavor: no public route
/// makes a collection taggable yet (the collection fields are another area's), so the test
/// seeds one.
#[cfg(all(test, feature = "aleph"))]
mod tests {
    use futures::TryStreamExt;
    use serde_json::json;

    use crate::aleph::{Client, Flavor};
    use crate::testkit::{Faults, Server, bind, credentials, seed};

    async fn taggable_sandbox() -> (Server, Server, Client, String) {
        let mut data = seed::aleph(7, &[4, 6]);
        data.collections[1]["taggable"] = json!(true);
        let (listener, addr) = bind(0).await.unwrap();
        let (storage_listener, storage_addr) = bind(0).await.unwrap();
        let (app, storage, _) = super::super::router(
            data,
            Flavor::OpenAleph,
            addr,
            storage_addr,
            Faults::default(),
        );
        let servers = (
            Server::spawn(listener, addr, app),
            Server::spawn(storage_listener, storage_addr, storage),
        );
        let aleph = Client::builder()
            .base_url(format!("http://{addr}"))
            .api_key(credentials::ALEPH_API_KEY)
            .build()
            .unwrap();
        (servers.0, servers.1, aleph, format!("http://{addr}"))
    }

    #[tokio::test]
    async fn tags_are_added_counted_listed_and_removed() {
        let (_api, _storage, aleph, url) = taggable_sandbox().await;
        let people: Vec<String> = aleph
            .entities()
            .search()
            .schema("Person")
            .collection(2)
            .first_page()
            .await
            .unwrap()
            .items
            .into_iter()
            .filter_map(|e| e.id)
            .collect();
        let (first, second) = (&people[0], &people[1]);
        let tags = aleph.tags();

        let added = tags.add(first, "follow up").await.unwrap();
        assert_eq!(added.tag, "follow up");
        assert_eq!(added.entity_id.as_deref(), Some(first.as_str()));
        assert_eq!(added.collection_id.as_deref(), Some("2"));
        assert_eq!(added.role_id.as_deref(), Some("3"));
        assert_eq!(
            added.entity.as_ref().and_then(|e| e.id.as_deref()),
            Some(first.as_str())
        );
        // The same tag again is the one already there (`200`).
        let again = tags.add(first, "follow up").await.unwrap();
        assert_eq!(again.id, added.id);
        tags.add(first, "checked").await.unwrap();
        tags.add(second, "follow up").await.unwrap();

        let counts: Vec<(String, u64)> = tags
            .counts(2)
            .stream()
            .map_ok(|c| (c.tag, c.count))
            .try_collect()
            .await
            .unwrap();
        assert_eq!(counts, [("follow up".into(), 2), ("checked".into(), 1)]);
        let on_first = |tags: Vec<crate::aleph::UserTag>| -> Vec<String> {
            tags.into_iter().map(|t| t.tag).collect()
        };
        let listed = tags.of_entity(first).stream().try_collect().await.unwrap();
        assert_eq!(on_first(listed), ["checked", "follow up"]);
        // Re-indexed: the entity carries its tags.
        let entity = aleph.entities().get(first).await.unwrap();
        assert_eq!(entity.tags, ["checked", "follow up"]);

        tags.remove(first, "follow up").await.unwrap();
        let listed = tags.of_entity(first).stream().try_collect().await.unwrap();
        assert_eq!(on_first(listed), ["checked"]);
        let counts: Vec<(String, u64)> = tags
            .counts(2)
            .stream()
            .map_ok(|c| (c.tag, c.count))
            .try_collect()
            .await
            .unwrap();
        assert_eq!(counts, [("checked".into(), 1), ("follow up".into(), 1)]);

        tags.clear(first).await.unwrap();
        let listed = tags.of_entity(first).stream().try_collect().await.unwrap();
        assert!(on_first(listed).is_empty());
        let entity = aleph.entities().get(first).await.unwrap();
        assert!(entity.tags.is_empty(), "{:?}", entity.tags);
        // A public collection's tags can be read without signing in.
        let anonymous = Client::builder().base_url(url).build().unwrap();
        let listed = anonymous
            .tags()
            .of_entity(second)
            .stream()
            .try_collect()
            .await
            .unwrap();
        assert_eq!(on_first(listed), ["follow up"]);
    }
}
