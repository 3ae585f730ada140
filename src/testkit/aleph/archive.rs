//! Document files: the `links.file`, `links.pdf` and `links.csv` of an entity as each flavor
//! writes them, and OpenAleph's `GET /archive/resolve` (the token route `GET /archive` is in
//! the parent module).
//!
//! - Aleph 4.1.6 (`aleph/views/serializers.py:222-246`, `aleph/logic/util.py` `archive_url`):
//!   every serialization of a document carries `…/api/2/archive?token=…` links, on the UI host.
//! - OpenAleph `main` (5.3.1-rc3; `aleph/views/serializers.py:248-262`,
//!   `aleph/views/entities_api.py:362`): only the detail view (`GET /entities/{id}`) carries
//!   them, as `…/api/2/archive/resolve?entity=<id>&prop=<hash property>`, and the route
//!   (`aleph/views/archive_api.py:30-129`) checks the caller's read permission and answers with
//!   a signed storage URL.

use axum::http::{Method, header};
use axum::response::Response;
use serde_json::{Value, json};

use super::{
    METHOD_NOT_ALLOWED, State, as_bool, empty, error, forbidden, not_found, ok, raw, sign,
    with_allow,
};
use crate::aleph::Flavor;

/// Each file link and the property holding the file's hash (`RESOLVE_PROPS` of OpenAleph's
/// `archive_api.py`, the three `links` of `EntitySerializer`).
const FILES: [(&str, &str); 3] = [
    ("file", "contentHash"),
    ("pdf", "pdfHash"),
    ("csv", "csvHash"),
];

impl State {
    /// Adds the file links of `entity` to its serialization `view`: on Aleph in every
    /// serialization, as archive token URLs; on OpenAleph only in the detail view (`detail`),
    /// as `archive/resolve` URLs. Only documents hold these hashes (`contentHash` is
    /// `Document`'s, `pdfHash` `Pages`', `csvHash` `Table`'s), so the serializer's
    /// `schema.is_a(Document)` test is the hash's presence here.
    pub(super) fn file_links(&self, entity: &Value, view: &mut Value, detail: bool) {
        let id = entity["id"].as_str().unwrap_or_default();
        for (link, prop) in FILES {
            let Some(hash) = entity["properties"][prop][0].as_str() else {
                continue;
            };
            let url = match self.flavor {
                Flavor::OpenAleph if !detail => continue,
                Flavor::OpenAleph => {
                    let query = url::form_urlencoded::Serializer::new(String::new())
                        .append_pair("entity", id)
                        .append_pair("prop", prop)
                        .finish();
                    format!("{}/api/2/archive/resolve?{query}", self.ui)
                }
                _ => format!(
                    "{}/api/2/archive?token={hash}.{}",
                    self.ui,
                    sign(&["archive", hash])
                ),
            };
            view["links"][link] = json!(url);
        }
    }

    /// `GET /entities/{id}`: the detail view, the only one with file links on OpenAleph.
    pub(super) fn entity_detail(&self, id: &str, user: bool) -> Response {
        let Some((_, entity)) = self.find_entity(id) else {
            return not_found();
        };
        let mut view = self.entity_view(&entity, user);
        self.file_links(&entity, &mut view, true);
        ok(view)
    }

    /// The storage host's signed URL of the blob `hash` (as `archive.generate_url` of a
    /// storage that signs, S3 or GCS, gives).
    fn storage_url(&self, hash: &str) -> String {
        format!(
            "{}/_storage/{hash}?sig={}",
            self.storage,
            sign(&["storage", hash])
        )
    }
}

/// `/archive/resolve` on the OpenAleph flavor (`aleph/views/archive_api.py:30-129`, in the
/// order it checks): `entity` missing → 400; `prop` (default `contentHash`) not a hash property
/// → 400; unknown entity → 404 JSON (`obj_or_404`); no read on its collection → 403
/// (`require`); no such hash on the entity → 404 with an empty body; else `302` to the signed
/// storage URL, or `200 {"url": …}` when `redirect` is false (`get_flag("redirect",
/// default=True)`: banal's `as_bool`, an empty value being the default).
pub(super) fn resolve(
    state: &State,
    method: &Method,
    query: &[(String, String)],
    user: bool,
) -> Response {
    const READ: &[&str] = &["GET", "HEAD", "OPTIONS"];
    match *method {
        Method::GET => {}
        Method::OPTIONS => return with_allow(empty(200), READ),
        _ => {
            return with_allow(
                raw(405, "text/html; charset=utf-8", METHOD_NOT_ALLOWED),
                READ,
            );
        }
    }
    let param = |name: &str| {
        query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let Some(entity_id) = param("entity") else {
        return error(400, "Missing `entity` query parameter.");
    };
    let prop = param("prop").unwrap_or("contentHash");
    if !FILES.iter().any(|(_, p)| *p == prop) {
        return error(400, "Invalid `prop` query parameter.");
    }
    let Some((collection, entity)) = state.find_entity(entity_id) else {
        return not_found();
    };
    if !state.readable(&collection, user) {
        return forbidden();
    }
    let Some(hash) = entity["properties"][prop][0].as_str() else {
        return empty(404);
    };
    let url = state.storage_url(hash);
    let redirect = param("redirect")
        .filter(|v| !v.trim().is_empty())
        .is_none_or(as_bool);
    if !redirect {
        return ok(json!({ "url": url }));
    }
    let mut response = empty(302);
    if let Ok(value) = url.parse() {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response
}
