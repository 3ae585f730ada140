//! Entity sets as Aleph 4.1.6 serves them (`aleph/views/entitysets_api.py`,
//! `aleph/model/entityset.py`, `aleph/views/serializers.py` `EntitySetSerializer` and
//! `EntitySetItemSerializer`, the `EntitySetCreate`/`EntitySetUpdate`/`EntitySetItemUpdate`
//! schemas of `aleph/validation/schema/entityset.yml`), and `GET /entities/{id}/entitysets`
//! (`aleph/views/entities_api.py` `entitysets`).
//!
//! Sets and items are soft-deleted as the server does; a judgement that changes replaces the
//! item; `no_judgement` removes it. Not emulated: the merging of two profiles an entity is
//! judged positive in (`EntitySetItem.save`), and a diagram layout's ids rewritten on create.

use axum::http::Method;
use axum::response::Response;
use chrono::Utc;
use serde_json::{Map, Value, json};

use super::super::seed::naive;
use super::{
    Ftm, METHOD_NOT_ALLOWED, State, as_bool, clean_references, empty, error, forbidden, not_found,
    ok, property_filters_match, with_allow,
};
use crate::namespace::namespaced_id;

/// The entity sets and their items.
#[derive(Default)]
pub(super) struct EntitySets {
    /// Each set as `EntitySet.to_dict` holds it, plus `deleted` and `seq` (the order of its
    /// last change), which are never sent.
    sets: Vec<Value>,
    items: Vec<Item>,
    seq: u64,
}

/// An `EntitySetItem` row.
struct Item {
    entityset_id: String,
    entity_id: String,
    collection_id: String,
    judgement: String,
    compared_to: Option<String>,
    created_at: String,
    deleted: bool,
}

const TYPES: [&str; 4] = ["list", "diagram", "timeline", "profile"];
const JUDGEMENTS: [&str; 4] = ["positive", "negative", "unsure", "no_judgement"];

/// A 400 from `parse_request` (`aleph/views/util.py` `validate`): every jsonschema message, by
/// dotted path (`""` for the top level), those of one path joined with `"; "`.
fn invalid(errors: Vec<(String, String)>) -> Response {
    let mut by_path: Map<String, Value> = Map::new();
    for (path, message) in errors {
        let joined = match by_path.get(&path).and_then(Value::as_str) {
            Some(before) => format!("{before}; {message}"),
            None => message,
        };
        by_path.insert(path, Value::String(joined));
    }
    super::super::json(
        400,
        &json!({"status": "error", "errors": by_path, "message": "Error during data validation"}),
    )
}

/// A value as Python's `repr` shows it in jsonschema's messages.
fn repr(value: &Value) -> String {
    match value {
        Value::String(s) => format!("'{s}'"),
        Value::Bool(true) => "True".into(),
        Value::Bool(false) => "False".into(),
        Value::Null => "None".into(),
        other => other.to_string(),
    }
}

/// jsonschema's message for a failed `format` (`FormatChecker.check`).
fn not_a(value: &str, format: &str) -> String {
    format!("'{value}' is not a '{format}'")
}

/// The `entity-id` format (`aleph/validation/formats.py` `check_entity_id`): the id without its
/// signature (after the last `.`) is a followthemoney entity id.
fn valid_entity_id(id: &str) -> bool {
    let plain = id.rsplit_once('.').map_or(id, |(plain, _)| plain);
    namespaced_id("", plain).is_some_and(|p| p == plain)
}

/// The checks of `EntitySetBase` (label, summary, type, layout).
fn check_base(body: &Map<String, Value>, errors: &mut Vec<(String, String)>) {
    if let Some(label) = body.get("label")
        && !label.is_string()
    {
        errors.push((
            "label".into(),
            format!("{} is not of type 'string'", repr(label)),
        ));
    }
    if let Some(summary) = body.get("summary")
        && !(summary.is_string() || summary.is_null())
    {
        errors.push((
            "summary".into(),
            format!("{} is not of type 'string', 'null'", repr(summary)),
        ));
    }
    match body.get("type") {
        Some(Value::String(t)) if !TYPES.contains(&t.as_str()) => {
            errors.push(("type".into(), not_a(t, "entitysettype")))
        }
        Some(Value::String(_)) | None => {}
        Some(other) => errors.push((
            "type".into(),
            format!("{} is not of type 'string'", repr(other)),
        )),
    }
    if let Some(layout) = body.get("layout")
        && !layout.is_object()
    {
        errors.push((
            "layout".into(),
            format!("{} is not of type 'object'", repr(layout)),
        ));
    }
}

/// The checks of `EntityUpdate` (`aleph/validation/schema/entity.yml`) on an entity at `path`.
fn check_entity(model: &Ftm, entity: &Value, path: &str, errors: &mut Vec<(String, String)>) {
    let at = |field: &str| {
        if path.is_empty() {
            field.to_owned()
        } else {
            format!("{path}.{field}")
        }
    };
    let Some(object) = entity.as_object() else {
        errors.push((
            path.into(),
            format!("{} is not of type 'object'", repr(entity)),
        ));
        return;
    };
    match object.get("schema") {
        None => errors.push((path.into(), "'schema' is a required property".into())),
        Some(Value::String(s)) if model.references(s).is_none() => {
            errors.push((at("schema"), not_a(s, "schema")))
        }
        Some(Value::String(_)) => {}
        Some(other) => errors.push((
            at("schema"),
            format!("{} is not of type 'string'", repr(other)),
        )),
    }
    if let Some(properties) = object.get("properties")
        && !properties.is_object()
    {
        errors.push((
            at("properties"),
            format!("{} is not of type 'object'", repr(properties)),
        ));
    }
    if let Some(id) = object.get("id")
        && !id.is_string()
    {
        errors.push((at("id"), format!("{} is not of type 'string'", repr(id))));
    }
}

/// A body that is not a JSON object: jsonschema's `type: object`.
fn not_an_object(body: &Option<Value>) -> Response {
    let shown = body.as_ref().map_or("None".to_owned(), repr);
    invalid(vec![(
        "".into(),
        format!("{} is not of type 'object'", shown),
    )])
}

impl State {
    fn set_index(&self, id: &str) -> Option<usize> {
        self.entitysets.sets.iter().position(|s| {
            s["id"] == id
                && s["deleted"] != true
                && self
                    .data
                    .collections
                    .iter()
                    .any(|c| c["id"] == s["collection_id"])
        })
    }

    /// `get_entityset` (`aleph/views/util.py`): 404 for no set, 403 for one the caller may not
    /// read (writes of anonymous callers are refused before routing).
    fn readable_set(&self, id: &str, user: bool) -> Result<usize, Response> {
        let index = self.set_index(id).ok_or_else(not_found)?;
        let collection = self.entitysets.sets[index]["collection_id"]
            .as_str()
            .unwrap_or_default();
        if !self.readable(collection, user) {
            return Err(forbidden());
        }
        Ok(index)
    }

    /// `EntitySetSerializer`: the collection and the role nested, `writeable`, `shallow`.
    fn set_view(&self, set: &Value, shallow: bool, user: bool) -> Value {
        let mut view = set.clone();
        if let Some(object) = view.as_object_mut() {
            for internal in ["deleted", "seq", "collection_id"] {
                object.remove(internal);
            }
        }
        let collection = set["collection_id"].as_str().unwrap_or_default();
        if let Some(c) = self.data.collections.iter().find(|c| c["id"] == collection) {
            view["collection"] = self.collection_view(c);
        }
        let role = set["role_id"].as_str().unwrap_or_default();
        view["role"] = json!({
            "id": role, "type": "user", "name": "Test Analyst", "label": "Test Analyst",
            "links": {"self": format!("{}/api/2/roles/{role}", self.ui)},
            "writeable": user, "shallow": true,
        });
        view["writeable"] = json!(user);
        view["shallow"] = json!(shallow);
        view
    }

    /// `EntitySetItem.to_dict` through `EntitySetItemSerializer`.
    fn item_view(&self, item: &Item, user: bool) -> Value {
        let set_collection = self
            .set_index(&item.entityset_id)
            .and_then(|i| self.entitysets.sets[i]["collection_id"].as_str())
            .unwrap_or_default();
        let entity = self
            .find_entity(&item.entity_id)
            .map(|(_, e)| self.entity_view(&e, user));
        let collection = self
            .data
            .collections
            .iter()
            .find(|c| c["id"] == item.collection_id.as_str())
            .map(|c| self.collection_view(c));
        json!({
            "id": format!("{}${}", item.entityset_id, item.entity_id),
            "entityset_id": item.entityset_id,
            "entityset_collection_id": set_collection.parse::<u64>().ok(),
            "judgement": item.judgement,
            "compared_to_entity_id": item.compared_to,
            "added_by_id": 3,
            "created_at": item.created_at,
            "updated_at": item.created_at,
            "entity": entity,
            "collection": collection,
            "writeable": user,
        })
    }

    fn touch_set(&mut self, index: usize) {
        self.entitysets.seq += 1;
        self.entitysets.sets[index]["seq"] = json!(self.entitysets.seq);
        self.entitysets.sets[index]["updated_at"] = json!(naive(Utc::now()));
    }

    /// `EntitySetItem.save`: the same judgement changes nothing; another replaces the item;
    /// `no_judgement` only removes it. Returns the live item's index.
    fn save_item(
        &mut self,
        set: usize,
        entity_id: &str,
        collection: &str,
        judgement: &str,
        compared_to: Option<String>,
    ) -> Option<usize> {
        let set_id = self.entitysets.sets[set]["id"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let existing = self
            .entitysets
            .items
            .iter()
            .position(|i| i.entityset_id == set_id && i.entity_id == entity_id && !i.deleted);
        if let Some(index) = existing {
            if self.entitysets.items[index].judgement == judgement {
                return Some(index);
            }
            self.entitysets.items[index].deleted = true;
        }
        // The set itself is not changed (`save_entityset_item` touches the collection).
        if judgement == "no_judgement" {
            return None;
        }
        self.entitysets.items.push(Item {
            entityset_id: set_id,
            entity_id: entity_id.to_owned(),
            collection_id: collection.to_owned(),
            judgement: judgement.to_owned(),
            compared_to,
            created_at: naive(Utc::now()),
            deleted: false,
        });
        Some(self.entitysets.items.len() - 1)
    }

    /// `upsert_entity` (`aleph/logic/entities.py`) into `collection`: the id signed with the
    /// collection's namespace (a new one when there is none), references signed when `sign`.
    fn upsert_signed(
        &mut self,
        collection: &str,
        entity: &Map<String, Value>,
        sign: bool,
    ) -> Result<String, Response> {
        let foreign_id = self
            .data
            .collections
            .iter()
            .find(|c| c["id"] == collection)
            .and_then(|c| c["foreign_id"].as_str())
            .unwrap_or_default()
            .to_owned();
        let id = match entity.get("id").and_then(Value::as_str) {
            Some(id) if !id.is_empty() => id.to_owned(),
            _ => {
                self.next_id += 1;
                super::sign(&["entityset-entity", &self.next_id.to_string()])
            }
        };
        // `Entity.create` (`aleph/model/entity.py`): `InvalidData("Invalid entity ID")`.
        let Some(signed) = namespaced_id(&foreign_id, &id) else {
            return Err(super::super::json(
                400,
                &json!({"status": "error", "message": "Invalid entity ID", "errors": {}}),
            ));
        };
        let mut fields = entity.clone();
        fields.insert("id".into(), json!(signed));
        clean_references(self.ftm(), &mut fields, sign.then_some(foreign_id.as_str()));
        self.upsert(collection, fields)
    }
}

/// `/entitysets...` and `/entities/{id}/entitysets`.
pub(super) fn route(
    state: &mut State,
    method: Method,
    path: &[&str],
    query: &[(String, String)],
    body: Option<Value>,
    user: bool,
) -> Response {
    const READ_WRITE: &[&str] = &["GET", "HEAD", "OPTIONS", "POST", "PUT"];
    let allowed: &[&str] = match path {
        ["entitysets"] | ["entitysets", _, "entities" | "items"] => READ_WRITE,
        ["entitysets", _] => &["DELETE", "GET", "HEAD", "OPTIONS", "POST", "PUT"],
        ["entities", _, "entitysets"] => &["GET", "HEAD", "OPTIONS"],
        _ => return not_found(),
    };
    if !allowed.contains(&method.as_str()) {
        return with_allow(
            super::super::raw(405, "text/html; charset=utf-8", METHOD_NOT_ALLOWED),
            allowed,
        );
    }
    let values = |name: &str| -> Vec<String> {
        query
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .collect()
    };
    let flag = |name: &str, default: bool| {
        query
            .iter()
            .find(|(k, _)| k == name)
            .map_or(default, |(_, v)| as_bool(v))
    };
    match (method, path) {
        // `index`: sets of readable collections, newest change first; `prefix` is `query_like`
        // (`aleph/model/common.py`: under 3 characters matches nothing).
        (Method::GET, ["entitysets"]) => {
            let types = values("filter:type");
            let collections = values("filter:collection_id");
            let prefix = query
                .iter()
                .find(|(k, _)| k == "prefix")
                .map(|(_, v)| v.replace(['%', '_'], " ").to_lowercase());
            let mut sets: Vec<&Value> = state
                .entitysets
                .sets
                .iter()
                .filter(|s| s["deleted"] != true)
                .filter(|s| state.readable(s["collection_id"].as_str().unwrap_or_default(), user))
                .filter(|s| types.is_empty() || types.iter().any(|t| s["type"] == t.as_str()))
                .filter(|s| {
                    collections.is_empty()
                        || collections.iter().any(|c| s["collection_id"] == c.as_str())
                })
                .filter(|s| match &prefix {
                    None => true,
                    Some(p) if p.chars().count() < 3 => false,
                    Some(p) => s["label"]
                        .as_str()
                        .is_some_and(|l| l.to_lowercase().contains(p.as_str())),
                })
                .collect();
            sets.sort_by_key(|s| std::cmp::Reverse(s["seq"].as_u64().unwrap_or(0)));
            let items = sets.iter().map(|s| state.set_view(s, true, user)).collect();
            state.listing("entitysets", items, query, false)
        }
        (Method::POST | Method::PUT, ["entitysets"]) => {
            let Some(Value::Object(fields)) = &body else {
                return not_an_object(&body);
            };
            let mut errors = Vec::new();
            check_base(fields, &mut errors);
            for required in ["label", "type", "collection_id"] {
                if !fields.contains_key(required) {
                    errors.push(("".into(), format!("'{required}' is a required property")));
                }
            }
            if let Some(cid) = fields.get("collection_id")
                && !cid.is_string()
            {
                errors.push((
                    "collection_id".into(),
                    format!("{} is not of type 'string'", repr(cid)),
                ));
            }
            let entities = fields.get("entities").cloned().unwrap_or(json!([]));
            match &entities {
                Value::Array(list) => {
                    for (n, entity) in list.iter().enumerate() {
                        let path = format!("entities.{n}");
                        check_entity(state.ftm(), entity, &path, &mut errors);
                        for field in ["id", "properties"] {
                            if entity.get(field).is_none() && entity.is_object() {
                                errors.push((
                                    path.clone(),
                                    format!("'{field}' is a required property"),
                                ));
                            }
                        }
                        if let Some(id) = entity["id"].as_str()
                            && !valid_entity_id(id)
                        {
                            errors.push((format!("{path}.id"), not_a(id, "entity-id")));
                        }
                    }
                }
                other => errors.push((
                    "entities".into(),
                    format!("{} is not of type 'array'", repr(other)),
                )),
            }
            if !errors.is_empty() {
                return invalid(errors);
            }
            // `get_nested_collection(data, WRITE)`: 404 for no collection, 403 without write.
            let collection = fields["collection_id"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            if !state
                .data
                .collections
                .iter()
                .any(|c| c["id"] == collection.as_str())
            {
                return not_found();
            }
            if !state.readable(&collection, user) {
                return forbidden();
            }
            // `create_entityset`: each entity upserted with `sign=True`, added as positive.
            let mut ids = Vec::new();
            for entity in entities.as_array().into_iter().flatten() {
                let Some(entity) = entity.as_object() else {
                    continue;
                };
                match state.upsert_signed(&collection, entity, true) {
                    Ok(id) => ids.push(id),
                    Err(response) => return response,
                }
            }
            let now = naive(Utc::now());
            let id = super::sign(&["entityset", &state.entitysets.sets.len().to_string(), &now]);
            state.entitysets.sets.push(json!({
                "id": id, "type": fields["type"], "label": fields["label"],
                "summary": fields.get("summary"), "layout": fields.get("layout").cloned().unwrap_or(json!({})),
                "role_id": "3", "collection_id": collection, "created_at": now, "updated_at": now,
            }));
            let index = state.entitysets.sets.len() - 1;
            state.touch_set(index);
            for entity_id in ids {
                state.save_item(index, &entity_id, &collection, "positive", None);
            }
            ok(state.set_view(&state.entitysets.sets[index], true, user))
        }
        (method, ["entitysets", id]) => {
            let index = match state.readable_set(id, user) {
                Ok(index) => index,
                Err(response) => return response,
            };
            match method {
                Method::POST | Method::PUT => {
                    let Some(Value::Object(fields)) = &body else {
                        return not_an_object(&body);
                    };
                    let mut errors = Vec::new();
                    check_base(fields, &mut errors);
                    if !errors.is_empty() {
                        return invalid(errors);
                    }
                    // `EntitySet.update`: a key left out keeps its value.
                    for key in ["label", "type", "summary", "layout"] {
                        if let Some(value) = fields.get(key) {
                            state.entitysets.sets[index][key] = value.clone();
                        }
                    }
                    state.touch_set(index);
                }
                Method::DELETE => {
                    // `EntitySet.delete`: the set and its items, soft.
                    state.entitysets.sets[index]["deleted"] = json!(true);
                    for item in state
                        .entitysets
                        .items
                        .iter_mut()
                        .filter(|i| i.entityset_id == *id)
                    {
                        item.deleted = true;
                    }
                    return empty(204);
                }
                _ => {}
            }
            let set = &state.entitysets.sets[index];
            // `view`: a profile redirects to `/api/2/profiles/{id}` on the UI origin.
            if set["type"] == "profile" {
                let mut response = empty(302);
                let location = format!("{}/api/2/profiles/{id}", state.ui);
                if let Ok(value) = location.parse() {
                    response
                        .headers_mut()
                        .insert(axum::http::header::LOCATION, value);
                }
                return response;
            }
            ok(state.set_view(set, false, user))
        }
        // `entities_index`: a search over the positive members, any schema.
        (Method::GET, ["entitysets", id, "entities"]) => {
            let index = match state.readable_set(id, user) {
                Ok(index) => index,
                Err(response) => return response,
            };
            let set_id = state.entitysets.sets[index]["id"].clone();
            let (schema, schemata) = (values("filter:schema"), values("filter:schemata"));
            let q = query
                .iter()
                .find(|(k, _)| k == "q")
                .map(|(_, v)| v.to_lowercase());
            let members: Vec<Value> = state
                .entitysets
                .items
                .iter()
                .filter(|i| {
                    set_id == i.entityset_id.as_str() && !i.deleted && i.judgement == "positive"
                })
                .filter_map(|i| state.find_entity(&i.entity_id))
                .filter(|(c, _)| state.readable(c, user))
                .map(|(_, e)| e)
                .filter(|e| {
                    let kind = e["schema"].as_str().unwrap_or_default();
                    (schema.is_empty() || schema.iter().any(|s| s == kind))
                        && (schemata.is_empty()
                            || schemata.iter().any(|s| state.ftm().is_a(kind, s)))
                })
                .filter(|e| property_filters_match(e, query))
                .filter(|e| {
                    q.as_ref().is_none_or(|q| {
                        e["caption"]
                            .as_str()
                            .is_some_and(|c| c.to_lowercase().contains(q))
                    })
                })
                .map(|e| state.entity_view(&e, user))
                .collect();
            state.search_listing(&format!("entitysets/{id}/entities"), members, query, true)
        }
        // `entities_update`: the id looked up as given; found, it is updated in its own
        // collection; not found, created in the set's collection; added as positive.
        (Method::POST | Method::PUT, ["entitysets", id, "entities"]) => {
            let index = match state.readable_set(id, user) {
                Ok(index) => index,
                Err(response) => return response,
            };
            let Some(Value::Object(fields)) = &body else {
                return not_an_object(&body);
            };
            let mut errors = Vec::new();
            check_entity(state.ftm(), &Value::Object(fields.clone()), "", &mut errors);
            if !errors.is_empty() {
                return invalid(errors);
            }
            let given = fields.get("id").and_then(Value::as_str).unwrap_or_default();
            let found = (!given.is_empty())
                .then(|| state.find_entity(given))
                .flatten();
            let stored = match found {
                Some((collection, _)) if !state.readable(&collection, user) => return forbidden(),
                Some((collection, _)) => {
                    let mut fields = fields.clone();
                    clean_references(state.ftm(), &mut fields, None);
                    state.upsert(&collection, fields).map(|id| (id, collection))
                }
                None => {
                    let collection = state.entitysets.sets[index]["collection_id"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned();
                    state
                        .upsert_signed(&collection, fields, flag("sign", false))
                        .map(|id| (id, collection))
                }
            };
            let (entity_id, collection) = match stored {
                Ok(stored) => stored,
                Err(response) => return response,
            };
            state.save_item(index, &entity_id, &collection, "positive", None);
            state.entity_response(&entity_id, user)
        }
        (Method::GET, ["entitysets", id, "items"]) => {
            let index = match state.readable_set(id, user) {
                Ok(index) => index,
                Err(response) => return response,
            };
            let set_id = state.entitysets.sets[index]["id"].clone();
            let items: Vec<Value> = state
                .entitysets
                .items
                .iter()
                .filter(|i| set_id == i.entityset_id.as_str() && !i.deleted)
                .filter(|i| state.readable(&i.collection_id, user))
                .map(|i| state.item_view(i, user))
                .collect();
            state.listing(&format!("entitysets/{id}/items"), items, query, false)
        }
        // `item_update`.
        (Method::POST | Method::PUT, ["entitysets", id, "items"]) => {
            let index = match state.readable_set(id, user) {
                Ok(index) => index,
                Err(response) => return response,
            };
            let Some(Value::Object(fields)) = &body else {
                return not_an_object(&body);
            };
            let mut errors = Vec::new();
            match fields.get("judgement") {
                Some(Value::String(j)) if JUDGEMENTS.contains(&j.as_str()) => {}
                None => {}
                Some(other) => errors.push((
                    "judgement".into(),
                    format!(
                        "{} is not one of ['positive', 'negative', 'unsure', 'no_judgement']",
                        repr(other)
                    ),
                )),
            }
            for key in ["entity_id", "compared_to_entity_id"] {
                if let Some(value) = fields.get(key)
                    && !value.is_string()
                {
                    errors.push((
                        key.into(),
                        format!("{} is not of type 'string'", repr(value)),
                    ));
                }
            }
            if !errors.is_empty() {
                return invalid(errors);
            }
            let entity_id = fields
                .get("entity_id")
                .or_else(|| fields.get("entity").and_then(|e| e.get("id")))
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned();
            // `get_index_entity(entity_id, READ)`: 404, then 403.
            let Some((collection, _)) = state.find_entity(&entity_id) else {
                return not_found();
            };
            if !state.readable(&collection, user) {
                return forbidden();
            }
            // `EntitySetItem.save`: no judgement means positive.
            let judgement = fields
                .get("judgement")
                .and_then(Value::as_str)
                .unwrap_or("positive");
            let compared_to = fields
                .get("compared_to_entity_id")
                .and_then(Value::as_str)
                .map(str::to_owned);
            match state.save_item(index, &entity_id, &collection, judgement, compared_to) {
                Some(item) => ok(state.item_view(&state.entitysets.items[item], user)),
                None => {
                    // The removal's answer: no dates (`item_update`).
                    let set_collection = state.entitysets.sets[index]["collection_id"]
                        .as_str()
                        .unwrap_or_default();
                    let entity = state
                        .find_entity(&entity_id)
                        .map(|(_, e)| state.entity_view(&e, user));
                    let collection = state
                        .data
                        .collections
                        .iter()
                        .find(|c| c["id"] == collection.as_str())
                        .map(|c| state.collection_view(c));
                    ok(json!({
                        "id": format!("{id}${entity_id}"), "entityset_id": id,
                        "entityset_collection_id": set_collection.parse::<u64>().ok(),
                        "judgement": "no_judgement", "entity": entity, "collection": collection,
                        "writeable": user,
                    }))
                }
            }
        }
        // `entities_api.entitysets`: sets holding a live item of the entity.
        (Method::GET, ["entities", entity_id, "entitysets"]) => {
            let Some((home, _)) = state.find_entity(entity_id) else {
                return not_found();
            };
            if !state.readable(&home, user) {
                return forbidden();
            }
            let judgements = values("filter:judgement");
            // `Judgement(x)` on an unknown value: a ValueError, the generic 500.
            if judgements.iter().any(|j| !JUDGEMENTS.contains(&j.as_str())) {
                return error(500, "Internal server error.");
            }
            let collections: Vec<String> = values("filter:collection_id")
                .into_iter()
                .filter(|c| state.readable(c, user))
                .collect();
            let (types, labels) = (values("filter:type"), values("filter:label"));
            let sets: Vec<Value> = state
                .entitysets
                .sets
                .iter()
                .filter(|s| s["deleted"] != true)
                .filter(|s| {
                    let c = s["collection_id"].as_str().unwrap_or_default();
                    if collections.is_empty() {
                        state.readable(c, user)
                    } else {
                        collections.iter().any(|x| x == c)
                    }
                })
                .filter(|s| types.is_empty() || types.iter().any(|t| s["type"] == t.as_str()))
                .filter(|s| labels.is_empty() || labels.iter().any(|l| s["label"] == l.as_str()))
                .filter(|s| {
                    state.entitysets.items.iter().any(|i| {
                        s["id"] == i.entityset_id.as_str()
                            && i.entity_id == *entity_id
                            && !i.deleted
                            && (judgements.is_empty() || judgements.contains(&i.judgement))
                    })
                })
                .map(|s| state.set_view(s, true, user))
                .collect();
            state.listing(
                &format!("entities/{entity_id}/entitysets"),
                sets,
                query,
                false,
            )
        }
        _ => not_found(),
    }
}
