//! The entity graph and matching, roles and groups, notifications, status and metadata, as
//! Aleph 4.1.6 answers them (issue 16, spec §4, §6, §7; `aleph/views/entities_api.py`,
//! `roles_api.py`, `groups_api.py`, `notifications_api.py`, `status_api.py`, `base_api.py`),
//! and as OpenAleph 5.3.1-rc3 does where it differs (issue 20: metadata, the own role, the
//! processing status).
//!
//! Left out: `/expand` of an edge entity's own properties returns the entities they name
//! (followthemoney's graph is not traced further); `/tags` counts
//! names and identifiers only; `/similar` and `/match` use a deterministic matcher (same schema
//! family and an equal name or registration number) instead of Elasticsearch and
//! followthemoney's `compare`; the status shows queued uploads, re-ingests and re-indexes for a few
//! reads, though the sandbox did their work at once;
//! the notifications are made from the seed (a `CREATE_COLLECTION` per collection and a
//! `MATCH_ALERT` per alert whose text is in an entity's name), not from later actions.

use axum::http::Method;
use axum::response::Response;
use chrono::{Duration, Utc};
use serde_json::{Map, Value};

use super::{
    State, check_schema, error, forbidden, json, naive, not_found, ok, reference_id, validation,
};
use crate::aleph::Flavor;

/// The sandbox user's e-mail and password, and a colleague to find with `_suggest`.
const OWN_EMAIL: &str = "analyst@example.org";
const OWN_PASSWORD: &str = "sandbox-password";
pub(super) const COLLEAGUE: (&str, &str, &str) = ("6", "Dana Reyes", "dana.reyes@example.org");
/// The groups the sandbox user belongs to (`ROLES` in the parent).
const GROUPS: [(&str, &str); 2] = [("4", "Investigations Desk"), ("5", "Data Team")];
/// `ALEPH_UI_LANGUAGES` (`aleph/settings.py`).
const LOCALES: [&str; 12] = [
    "ru", "es", "de", "bs", "en", "fr", "nl", "pt_BR", "ar", "tr", "uk", "sq",
];

/// Work queued for a collection: tasks of one stage (Aleph) or one queue and task (OpenAleph).
pub(super) struct Work {
    collection: String,
    stage: Stage,
    todo: u64,
    doing: u64,
    succeeded: u64,
    queued_at: chrono::DateTime<Utc>,
    updated_at: chrono::DateTime<Utc>,
}

/// What queued the work.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Stage {
    /// An upload (`POST /collections/{id}/ingest`), or a document re-ingested.
    Ingest,
    /// `POST /collections/{id}/reingest`.
    Reingest,
    /// `POST /collections/{id}/reindex`.
    Reindex,
}

impl Stage {
    /// The stage as Aleph 4.1.6 names it (`aleph/settings.py` `STAGE_*`).
    fn aleph(self) -> &'static str {
        match self {
            Stage::Ingest => "ingest",
            Stage::Reingest => "reingest",
            Stage::Reindex => "reindex",
        }
    }

    /// The Procrastinate queue and task OpenAleph defers it to (openaleph-procrastinate 5.3.1
    /// `settings.py` `DeferSettings`: ingest-file's `ingest` queue, OpenAleph's own
    /// `openaleph` queue; a reingest defers every document to ingest again,
    /// openaleph `aleph/logic/collections.py` `reingest_collection`).
    fn openaleph(self) -> (&'static str, &'static str) {
        match self {
            Stage::Ingest | Stage::Reingest => ("ingest", "ingestors.tasks.ingest"),
            Stage::Reindex => ("openaleph", "aleph.procrastinate.tasks.reindex_collection"),
        }
    }
}

/// Queues `tasks` tasks of `stage` for `collection`. The sandbox's workers take them up as the
/// status is read: each read of a collection's status (`GET /collections/{id}/status`, or the
/// collection in `GET /status`) reports it, then finishes the running tasks and starts half of
/// the waiting ones (at least one), so a collection stays busy for a few reads and then is
/// idle.
pub(super) fn queue_work(state: &mut State, collection: &str, stage: Stage, tasks: u64) {
    let now = Utc::now();
    let work = &mut state.graph.work;
    match work
        .iter_mut()
        .find(|w| w.collection == collection && w.stage == stage)
    {
        Some(w) => {
            w.todo += tasks;
            w.updated_at = now;
        }
        None => work.push(Work {
            collection: collection.to_owned(),
            stage,
            todo: tasks,
            doing: 0,
            succeeded: 0,
            queued_at: now,
            updated_at: now,
        }),
    }
}

/// Forgets a collection's work: `DELETE /collections/{id}/status` cancels it (Aleph: the
/// dataset's queue is emptied, `aleph/queues.py` `cancel_queue`; OpenAleph: the jobs are
/// cancelled, `aleph/procrastinate/queues.py`, and a dataset with no job to do or doing is
/// not reported).
pub(super) fn cancel_work(state: &mut State, collection: &str) {
    state.graph.work.retain(|w| w.collection != collection);
}

/// Whether `collection` has tasks to do or doing.
fn active(state: &State, collection: &str) -> bool {
    state
        .graph
        .work
        .iter()
        .any(|w| w.collection == collection && w.todo + w.doing > 0)
}

/// One step of the workers on `collection`'s tasks; work all done is forgotten (Aleph cleans
/// a finished dataset's counters up, servicelayer `Dataset.cleanup_dataset_status`; OpenAleph
/// reports only datasets with a job to do or doing, openaleph-procrastinate
/// `manage/sql.py` `STATUS_SUMMARY_ACTIVE`).
fn tick(state: &mut State, collection: &str) {
    let now = Utc::now();
    for w in state
        .graph
        .work
        .iter_mut()
        .filter(|w| w.collection == collection)
    {
        w.succeeded += w.doing;
        let started = w.todo.div_ceil(2);
        w.doing = started;
        w.todo -= started;
        w.updated_at = now;
    }
    if !active(state, collection) {
        cancel_work(state, collection);
    }
}

/// A collection's processing status as the flavor reports it (spec20 §2), then one step of
/// work. Aleph 4.1.6 sends servicelayer's counters (`Dataset.get_status`, servicelayer 1.25.0
/// `taskqueue.py`): `finished`, `running`, `pending`, a `stages` list and the raw Redis times;
/// OpenAleph sends openaleph-procrastinate's `DatasetStatus` (`model.py`): the job counters,
/// their sums `total`, `active` and `finished`, the times, the dataset `name` and the
/// `batches` → `queues` → `tasks` tree, plus the `collection` (openaleph
/// `aleph/procrastinate/status.py` `CollectionStatus`). Both are sent by `jsonify`, so their
/// nulls and empty lists stay.
pub(super) fn collection_status(state: &mut State, collection: &str) -> Value {
    let status = status_view(state, collection);
    tick(state, collection);
    status
}

/// The status without a step of work (the one `GET /collections/{id}` embeds).
pub(super) fn status_view(state: &State, collection: &str) -> Value {
    let work: Vec<&Work> = state
        .graph
        .work
        .iter()
        .filter(|w| w.collection == collection)
        .collect();
    let first = work.iter().map(|w| w.queued_at).min();
    let last = work.iter().map(|w| w.updated_at).max();
    match state.flavor {
        Flavor::Aleph => {
            let stages: Vec<Value> = work
                .iter()
                .map(|w| {
                    json!({"job_id": "", "stage": w.stage.aleph(), "pending": w.todo,
                           "running": w.doing, "finished": w.succeeded})
                })
                .collect();
            let time = |t: Option<chrono::DateTime<Utc>>| {
                t.map(|t| t.format("%Y-%m-%dT%H:%M:%S%.6f").to_string())
            };
            json!({
                "finished": work.iter().map(|w| w.succeeded).sum::<u64>(),
                "running": work.iter().map(|w| w.doing).sum::<u64>(),
                "pending": work.iter().map(|w| w.todo).sum::<u64>(),
                "stages": stages, "start_time": time(first), "last_update": time(last),
            })
        }
        Flavor::OpenAleph => {
            let tasks: Vec<Value> = work
                .iter()
                .map(|w| {
                    let (_, task) = w.stage.openaleph();
                    counters(
                        task,
                        w.todo,
                        w.doing,
                        w.succeeded,
                        Some(w.queued_at),
                        Some(w.updated_at),
                    )
                })
                .collect();
            let mut queues: Vec<Value> = Vec::new();
            for (w, task) in work.iter().zip(tasks) {
                let (queue, _) = w.stage.openaleph();
                match queues.iter_mut().find(|q| q["name"] == queue) {
                    Some(q) => q["tasks"]
                        .as_array_mut()
                        .into_iter()
                        .for_each(|t| t.push(task.clone())),
                    None => queues.push(json!({"name": queue, "tasks": [task]})),
                }
            }
            let sum = |items: &[Value], key: &str| -> u64 {
                items.iter().map(|i| i[key].as_u64().unwrap_or(0)).sum()
            };
            for q in &mut queues {
                let tasks = q["tasks"].as_array().cloned().unwrap_or_default();
                let name = q["name"].as_str().unwrap_or_default().to_owned();
                let mut summed = counters(
                    &name,
                    sum(&tasks, "todo"),
                    sum(&tasks, "doing"),
                    sum(&tasks, "succeeded"),
                    first,
                    last,
                );
                summed["tasks"] = json!(tasks);
                *q = summed;
            }
            let (todo, doing, succeeded) = (
                sum(&queues, "todo"),
                sum(&queues, "doing"),
                sum(&queues, "succeeded"),
            );
            let batches = if queues.is_empty() {
                Vec::new()
            } else {
                let mut batch = counters("default", todo, doing, succeeded, first, last);
                batch["queues"] = json!(queues);
                vec![batch]
            };
            let mut status = counters(
                &format!("collection_{collection}"),
                todo,
                doing,
                succeeded,
                first,
                last,
            );
            status["batches"] = json!(batches);
            status["collection"] = state
                .data
                .collections
                .iter()
                .find(|c| c["id"] == collection)
                .map(|c| super::prune(state.collection_view(c)))
                .unwrap_or_else(|| json!({}));
            status
        }
    }
}

/// openaleph-procrastinate's `StatusCounts` as pydantic dumps it: the counters, the times as
/// ISO datetimes with `Z`, `took` and `remaining_time` as ISO-8601 durations, and the sums.
fn counters(
    name: &str,
    todo: u64,
    doing: u64,
    succeeded: u64,
    first: Option<chrono::DateTime<Utc>>,
    last: Option<chrono::DateTime<Utc>>,
) -> Value {
    let time = |t: Option<chrono::DateTime<Utc>>| {
        t.map(|t| t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string())
    };
    let finished = succeeded;
    let took = match (first, last) {
        (Some(first), Some(last)) if finished > 0 => Some(last - first),
        (Some(first), _) => Some(Utc::now() - first),
        _ => None,
    };
    let remaining = match (took, finished) {
        (Some(took), f) if f > 0 => Some(
            took * i32::try_from(todo).unwrap_or(i32::MAX) / i32::try_from(f).unwrap_or(i32::MAX),
        ),
        _ => None,
    };
    json!({
        "name": name, "todo": todo, "doing": doing, "succeeded": succeeded, "failed": 0,
        "aborted": 0, "aborting": 0, "cancelled": 0,
        "min_ts": time(first), "max_ts": time(last),
        "remaining_time": remaining.map(iso_duration), "took": took.map(iso_duration),
        "total": todo + doing + succeeded, "active": todo + doing, "finished": finished,
    })
}

/// A duration as pydantic writes a `timedelta` in JSON: ISO 8601, `PT1M33S`, `P1DT2H`,
/// `PT1.5S`, `PT0S`.
fn iso_duration(duration: Duration) -> String {
    let micros = duration.num_microseconds().unwrap_or(i64::MAX).max(0);
    let (days, rest) = (micros / 86_400_000_000, micros % 86_400_000_000);
    let (hours, rest) = (rest / 3_600_000_000, rest % 3_600_000_000);
    let (minutes, rest) = (rest / 60_000_000, rest % 60_000_000);
    let (seconds, fraction) = (rest / 1_000_000, rest % 1_000_000);
    let mut out = String::from("P");
    if days > 0 {
        out.push_str(&format!("{days}D"));
    }
    let mut time = String::new();
    if hours > 0 {
        time.push_str(&format!("{hours}H"));
    }
    if minutes > 0 {
        time.push_str(&format!("{minutes}M"));
    }
    if fraction > 0 {
        let fraction = format!("{fraction:06}");
        time.push_str(&format!("{seconds}.{}S", fraction.trim_end_matches('0')));
    } else if seconds > 0 || (days == 0 && time.is_empty()) {
        time.push_str(&format!("{seconds}S"));
    }
    if !time.is_empty() {
        out.push('T');
        out.push_str(&time);
    }
    out
}

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
    /// The collections' queued work.
    work: Vec<Work>,
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
            work: Vec::new(),
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
                    state.search_listing(&format!("entities/{id}/similar"), items, query, true)
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
            if let Err(response) = check_schema(state.ftm(), &fields) {
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
            state.search_listing("match", items, query, true)
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
        // `status_api.py`: `{"results", "total"}`, by `jsonify`: the collections with work to
        // do or doing that the caller may read (Aleph 4.1.6 `get_active_dataset_status`;
        // openaleph `get_active_collections_status`), each status with its `collection`.
        (Method::GET, ["status"]) => {
            if !user {
                return denied(user);
            }
            let mut busy: Vec<String> = state
                .graph
                .work
                .iter()
                .map(|w| w.collection.clone())
                .collect();
            busy.sort();
            busy.dedup();
            busy.retain(|c| active(state, c) && state.readable(c, user));
            let results: Vec<Value> = busy
                .iter()
                .map(|c| {
                    let mut status = collection_status(state, c);
                    if state.flavor == Flavor::Aleph {
                        status["collection"] = state
                            .data
                            .collections
                            .iter()
                            .find(|x| x["id"] == c.as_str())
                            .map(|x| super::prune(state.collection_view(x)))
                            .unwrap_or_else(|| json!({}));
                    }
                    status
                })
                .collect();
            json(200, &json!({"results": results, "total": results.len()}))
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
    let model = state.ftm().schemata_json().unwrap_or(&empty);
    let id = entity["id"].as_str().unwrap_or_default();
    let schema = entity["schema"].as_str().unwrap_or_default();
    let mut results: Vec<(String, usize, Vec<Value>)> = Vec::new();
    // Forward: the values of the entity's own entity-typed properties, resolved.
    for name in state.ftm().references(schema).unwrap_or_default() {
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
            for name in state.ftm().references(kind).unwrap_or_default() {
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
                .filter(|e| {
                    state
                        .ftm()
                        .is_a(e["schema"].as_str().unwrap_or_default(), "Thing")
                })
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
            let model = state.ftm();
            !model.is_a(kind, "Interval") && (model.is_a(kind, schema) || model.is_a(schema, kind))
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

/// The sandbox user's role as its owner reads it. Aleph 4.1.6 keeps a digest of the key and
/// says whether there is one and when it expires (`aleph/model/role.py` `Role.to_dict`);
/// OpenAleph keeps the key itself, sends it to whoever may write the role, and says whether the
/// user may create investigations (openaleph `aleph/model/role.py` `Role.to_dict`,
/// `aleph/views/serializers.py` `RoleSerializer`; `is_investigator` is true with no
/// `ALEPH_INVESTIGATOR_GROUP` set).
fn own_role(state: &State) -> Value {
    let g = &state.graph;
    let now = naive(Utc::now());
    let mut role = json!({
        "id": "3", "type": "user", "name": g.name, "label": g.name, "email": OWN_EMAIL,
        "locale": g.locale, "is_admin": false, "is_muted": g.is_muted, "is_tester": g.is_tester,
        "has_password": true,
        "created_at": "2026-01-01T00:00:00", "updated_at": now,
        "links": {"self": format!("{}/api/2/roles/3", state.ui)},
        "writeable": true, "shallow": true,
    });
    match state.flavor {
        Flavor::Aleph => {
            role["has_api_key"] = json!(true);
            role["api_key_expires_at"] = json!(g.expires);
        }
        Flavor::OpenAleph => {
            let key = g
                .api_key
                .as_deref()
                .unwrap_or(super::credentials::ALEPH_API_KEY);
            role["api_key"] = json!(key);
            role["is_investigator"] = json!(true);
        }
    }
    role
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
    state.search_listing("notifications", items, query, true)
}

/// `base_api.py` `metadata`: the same for every caller, sent by `jsonify` with its empty
/// values. The flavors differ (spec20 §6): Aleph 4.1.6 (`aleph/views/base_api.py`
/// `_metadata_locale`) has `auth.role_blocked` and the `bookmarks` flag only; OpenAleph
/// (openaleph `aleph/views/base_api.py` `_metadata_locale`) drops `role_blocked` and adds
/// `app.entity_banner_rules`, the `timelines`, `lists` and `diagrams` flags (on by default,
/// `aleph/settings.py`), `service_urls` and `services`, and serves followthemoney 4's model.
/// The sandbox's OpenAleph is set up with `FTM_ASSETS_URL` and
/// `FTM_TRANSLATE_SOURCE_LANGUAGES=en,de,ru`.
fn metadata(state: &State) -> Response {
    let (version, ftm_version) = match state.flavor {
        Flavor::Aleph => ("4.1.6", "3.5.9"),
        Flavor::OpenAleph => (super::OPENALEPH_VERSION, "4.10.0"),
    };
    let categories: Map<String, Value> = super::CATEGORIES
        .iter()
        .map(|c| ((*c).to_owned(), json!(c[..1].to_uppercase() + &c[1..])))
        .collect();
    let mut body = json!({
        "status": "ok", "maintenance": false,
        "app": {"title": "Aleph Sandbox", "version": version, "ftm_version": ftm_version,
                "banner": null, "ui_uri": state.ui, "messages_url": null,
                "publish": false, "logo": null, "favicon": null,
                "locale": "en", "locales": {"en": "English", "de": "Deutsch"}},
        "categories": categories,
        "frequencies": {"unknown": "not known", "never": "not updated", "daily": "daily"},
        "pages": [],
        "model": state.ftm().json,
        "token": null,
        "auth": {"oauth": false, "require_logged_in": false,
                 "password_login_uri": format!("{}/api/2/sessions/login", state.ui)},
        "feature_flags": {"bookmarks": false},
        "feedback_urls": {"documents": null, "timelines": null},
    });
    match state.flavor {
        // `ALEPH_ROLE_BLOCKED_MESSAGE` defaults to this text, the link and its label to None
        // (`aleph/settings.py`).
        Flavor::Aleph => {
            body["auth"]["role_blocked"] = json!({"message": "Your account has been blocked.", "link": null, "link_label": null});
        }
        Flavor::OpenAleph => {
            body["app"]["entity_banner_rules"] = json!([]);
            body["feature_flags"] =
                json!({"bookmarks": false, "timelines": true, "lists": true, "diagrams": true});
            body["service_urls"] = json!({"ftm_assets": format!("{}/ftm-assets", state.ui)});
            body["services"] = json!({"translate": {"source_languages": ["eng", "deu", "rus"]}});
        }
    }
    json(200, &body)
}
