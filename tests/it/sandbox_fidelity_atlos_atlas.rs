//! The Atlos and Atlas sandboxes answer as the real servers do (issue 15, items 8–13).
//!
//! Each test talks raw HTTP (reqwest) to `casefile::testkit::Sandbox`, so what is checked is the
//! sandbox's wire behaviour, not what casefile's client makes of it. The Atlos behaviour is read
//! from atlosdotorg/atlos (`platform/lib/...`, cited per test); the Atlas behaviour from the seed
//! documents (001: REST conventions, 003: attachments) and /work/shared/API-NOTES.md.
#![cfg(feature = "testkit")]

use casefile::testkit::Sandbox;
use reqwest::StatusCode;
use serde_json::{Value, json};

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// `{atlos}/api/v2/{path}`.
fn v2(s: &Sandbox, path: &str) -> String {
    format!("{}/api/v2/{path}", s.atlos_url())
}

fn bearer(s: &Sandbox) -> String {
    format!("Bearer {}", s.atlos_token())
}

async fn get_json(s: &Sandbox, path: &str) -> (StatusCode, Value) {
    let r = http()
        .get(v2(s, path))
        .header("authorization", bearer(s))
        .send()
        .await
        .unwrap();
    let status = r.status();
    (status, r.json().await.unwrap())
}

async fn post_json(s: &Sandbox, path: &str, body: Value) -> (StatusCode, Value) {
    let r = http()
        .post(v2(s, path))
        .header("authorization", bearer(s))
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = r.status();
    (status, r.json().await.unwrap())
}

/// A status and a body that is an HTML page, not JSON.
async fn html_status(r: reqwest::Response) -> (StatusCode, String, String) {
    let status = r.status();
    let ct = r
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let text = r.text().await.unwrap();
    assert!(
        serde_json::from_str::<Value>(&text).is_err(),
        "a JSON body where the real server sends HTML: {text}"
    );
    (status, ct, text)
}

/// The newest incident's slug and its first source material's id.
async fn an_incident(s: &Sandbox) -> (String, String) {
    let (_, page) = get_json(s, "incidents").await;
    let incident = page["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| !i["source_material"].as_array().unwrap().is_empty())
        .unwrap()
        .clone();
    (
        incident["slug"].as_str().unwrap().to_owned(),
        incident["source_material"][0]["id"]
            .as_str()
            .unwrap()
            .to_owned(),
    )
}

/// Item 8. The update encoder (`platform/lib/platform/updates/update.ex`, `defimpl Jason.Encoder`)
/// maps both `old_value` and `new_value` to the key `:new_value`, so no `old_value` key is ever
/// sent, and which of the two values survives depends on map iteration order. Attribute changes
/// are stored as `{"_combined": true, <schema field or custom attribute id>: value}`
/// (`platform/lib/platform/updates.ex`, `_change_from_attributes_changeset`).
#[tokio::test]
async fn atlos_updates_have_no_old_value_and_a_combined_new_value() {
    let s = Sandbox::builder().incidents(20).start().await.unwrap();
    let (slug, _) = an_incident(&s).await;
    let (_, page) = get_json(&s, "incidents").await;
    let before = page["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["slug"] == slug.as_str())
        .unwrap()["attr_status"]
        .clone();
    let new = if before == "Completed" {
        "Cancelled"
    } else {
        "Completed"
    };
    let (status, _) = post_json(
        &s,
        &format!("update/{slug}/status"),
        json!({"value": new, "message": "checked"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let priority = "74d49ba8-6bc8-4305-afb8-e15a0fdb28fd";
    let (status, _) = post_json(
        &s,
        &format!("update/{slug}/{priority}"),
        json!({"value": "High"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);

    let (_, updates) = get_json(&s, &format!("updates?slug={slug}")).await;
    let updates = updates["results"].as_array().unwrap();
    for u in updates {
        assert!(
            !u.as_object().unwrap().contains_key("old_value"),
            "old_value sent: {u}"
        );
        assert!(u.as_object().unwrap().contains_key("new_value"), "{u}");
    }
    let custom = &updates[0]["new_value"];
    assert_eq!(updates[0]["modified_attribute"], priority);
    assert_eq!(custom["_combined"], true, "{custom}");
    assert!(
        custom[priority] == "High" || custom[priority].is_null(),
        "{custom}"
    );
    let change = &updates[1]["new_value"];
    assert_eq!(updates[1]["modified_attribute"], "status");
    assert_eq!(change["_combined"], true, "{change}");
    assert!(
        change["attr_status"] == new || change["attr_status"] == before,
        "{change}"
    );
    assert_eq!(change.as_object().unwrap().len(), 2, "{change}");
    // Creations and comments carry the default, JSON null.
    let (_, all) = get_json(&s, "updates").await;
    let created = all["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["type"] == "create")
        .unwrap();
    assert_eq!(created["new_value"], Value::Null);
    assert!(!created.as_object().unwrap().contains_key("old_value"));
}

/// Item 9. `Material.MediaSearch.changeset` casts `attr_status`, `attr_tags` and
/// `attr_sensitive` as `{:array, :string}` (`platform/lib/platform/material/media_search.ex`):
/// a bare `attr_status=To Do` fails the cast and the filter is silently dropped.
#[tokio::test]
async fn atlos_array_filters_without_brackets_are_ignored() {
    let s = Sandbox::builder().incidents(60).start().await.unwrap();
    let ids = |page: &Value| -> Vec<String> {
        page["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["id"].as_str().unwrap().to_owned())
            .collect()
    };
    let (_, all) = get_json(&s, "incidents").await;
    let (_, bare) = get_json(&s, "incidents?attr_status=Completed").await;
    assert_eq!(ids(&bare), ids(&all));
    let (_, bare) = get_json(&s, "incidents?attr_sensitive=Graphic%20Violence").await;
    assert_eq!(ids(&bare), ids(&all));
    // The `[]` form filters.
    let (_, filtered) = get_json(&s, "incidents?attr_status[]=Completed").await;
    let filtered = filtered["results"].as_array().unwrap();
    assert!(!filtered.is_empty() && filtered.len() < all["results"].as_array().unwrap().len());
    assert!(filtered.iter().all(|i| i["attr_status"] == "Completed"));
}

/// Item 10. `create_media_version` (`platform/lib/platform_web/controllers/api/api_v2_controller.ex`)
/// always creates `status: :pending`, sets `upload_type: :direct` only when `params["archive"] ==
/// "true"` (else `:user_provided`), and matches `{:ok, version} = ...`: with `archive=true` and no
/// `url` the changeset fails ("You must provide a URL to archive.",
/// `platform/lib/platform/material/media_version.ex`) and the match crashes with a 500.
#[tokio::test]
async fn atlos_new_source_material_is_pending_and_direct_only_for_the_string_true() {
    let s = Sandbox::builder().incidents(5).start().await.unwrap();
    let (slug, _) = an_incident(&s).await;
    let path = format!("source_material/new/{slug}");
    for (body, upload_type) in [
        (json!({"url": "https://example.org/a"}), "user_provided"),
        (
            json!({"url": "https://example.org/b", "archive": true}),
            "user_provided",
        ),
        (
            json!({"url": "https://example.org/c", "archive": "True"}),
            "user_provided",
        ),
        (
            json!({"url": "https://example.org/d", "archive": "true"}),
            "direct",
        ),
        (json!({}), "user_provided"),
    ] {
        let (status, created) = post_json(&s, &path, body.clone()).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let result = &created["result"];
        assert_eq!(
            (result["status"].as_str(), result["upload_type"].as_str()),
            (Some("pending"), Some(upload_type)),
            "{body}"
        );
    }
    let r = http()
        .post(v2(&s, &path))
        .header("authorization", bearer(&s))
        .json(&json!({"archive": "true"}))
        .send()
        .await
        .unwrap();
    let (status, _, _) = html_status(r).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
}

/// Item 11, malformed requests. Ids are cast by Ecto (`Material.get_media_version` →
/// `Repo.get`), and a non-UUID raises `Ecto.Query.CastError`, whose `Plug.Exception` status is
/// 400; the error view (`platform/lib/platform_web/views/error_view.ex`) renders only
/// `error.html`, so the body is a page, never the API's JSON. An unparseable JSON body is
/// refused by `Plug.Parsers` in the endpoint (`platform/lib/platform_web/endpoint.ex`) with 400,
/// before routing and before the token is checked. Unknown routes raise `NoRouteError` (404)
/// before the `:check_api_token` pipeline runs (`platform/lib/platform_web/router.ex`).
#[tokio::test]
async fn atlos_malformed_requests_get_the_real_statuses_as_html() {
    let s = Sandbox::builder().incidents(5).start().await.unwrap();
    let (slug, _) = an_incident(&s).await;
    let c = http();
    for (method, path) in [
        ("GET", "source_material/not-a-uuid"),
        ("POST", "source_material/metadata/12345/ns"),
        ("POST", "source_material/upload/abc"),
    ] {
        let r = c
            .request(method.parse().unwrap(), v2(&s, path))
            .header("authorization", bearer(&s))
            .json(&json!({"metadata": {}}))
            .send()
            .await
            .unwrap();
        let (status, ct, _) = html_status(r).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path}");
        assert!(ct.starts_with("text/html"), "{path}: {ct}");
    }
    // Invalid JSON: 400 even without a token.
    let r = c
        .post(v2(&s, &format!("add_comment/{slug}")))
        .header("content-type", "application/json")
        .body("{\"message\": ")
        .send()
        .await
        .unwrap();
    let (status, _, _) = html_status(r).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    // Unknown routes and wrong methods: 404 HTML, with or without a token.
    for auth in [None, Some(bearer(&s))] {
        for (method, path) in [("GET", "nothing/here"), ("DELETE", "incidents")] {
            let mut request = c.request(method.parse().unwrap(), v2(&s, path));
            if let Some(a) = &auth {
                request = request.header("authorization", a);
            }
            let (status, _, _) = html_status(request.send().await.unwrap()).await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{method} {path}");
        }
    }
    // A JSON body that is not an object is kept under `_json` (Plug.Parsers.JSON), which
    // `create_media` then names as an unknown attribute.
    let (status, body) = post_json(&s, "incidents/new", json!(["a"])).await;
    assert_eq!(
        (status, &body),
        (
            StatusCode::UNAUTHORIZED,
            &json!({"error": "unknown attributes: [\"_json\"]"})
        )
    );
}

/// Item 11, error texts: each is the one `api_v2_controller.ex` writes for that action, in the
/// order it checks (`update` checks `value` before the incident, `add_comment` the incident before
/// the message), and changeset errors are objects (`render_changeset_errors`). `metadata` is
/// stored as sent, `null` included (`Map.put(media_version.metadata || %{}, namespace, metadata)`),
/// and the seeded source material includes rows whose `metadata` is `null`.
#[tokio::test]
async fn atlos_errors_are_the_controllers_texts() {
    let s = Sandbox::builder().incidents(40).start().await.unwrap();
    let (slug, media) = an_incident(&s).await;
    let missing = "0b7e6d1c-4a2f-4f0e-9a51-3c2d1e0f9a8b";
    let cases: Vec<(&str, String, Value, Value)> = vec![
        (
            "GET",
            format!("source_material/{missing}"),
            json!({}),
            json!("media version not found or unauthorized"),
        ),
        (
            "POST",
            format!("source_material/metadata/{missing}/ns"),
            json!({"metadata": {}}),
            json!("media version not found or unauthorized"),
        ),
        (
            "POST",
            "source_material/new/ZZZZZZ".into(),
            json!({"url": "https://example.org"}),
            json!("incident not found or unauthorized"),
        ),
        (
            "GET",
            "updates?slug=ZZZZZZ".into(),
            json!({}),
            json!("media not found"),
        ),
        (
            "POST",
            "update/ZZZZZZ/status".into(),
            json!({}),
            json!("value not provided"),
        ),
        (
            "POST",
            "update/ZZZZZZ/status".into(),
            json!({"value": "To Do"}),
            json!("incident not found"),
        ),
        (
            "POST",
            format!("update/{slug}/colour"),
            json!({"value": "red"}),
            json!("attribute not found"),
        ),
        (
            "POST",
            "add_comment/ZZZZZZ".into(),
            json!({}),
            json!("incident not found"),
        ),
        (
            "POST",
            format!("add_comment/{slug}"),
            json!({}),
            json!("message not provided"),
        ),
        (
            "POST",
            format!("add_comment/{slug}"),
            json!({"message": ""}),
            json!({"explanation": "A comment is required to post"}),
        ),
        (
            "POST",
            "incidents/new".into(),
            json!({"description": "x", "sensitive": ["Not Sensitive"], "colour": "red"}),
            json!("unknown attributes: [\"colour\"]"),
        ),
    ];
    for (method, path, body, error) in cases {
        let mut request = http()
            .request(method.parse().unwrap(), v2(&s, &path))
            .header("authorization", bearer(&s));
        if method == "POST" {
            request = request.json(&body);
        }
        let r = request.send().await.unwrap();
        let status = r.status();
        let answer: Value = r.json().await.unwrap();
        assert_eq!(
            (status, answer),
            (StatusCode::UNAUTHORIZED, json!({ "error": error })),
            "{method} {path} {body}"
        );
    }
    // No `metadata`: stored as null, not refused.
    let (status, set) = post_json(
        &s,
        &format!("source_material/metadata/{media}/tool"),
        json!({}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let metadata = set["result"]["metadata"].as_object().unwrap();
    assert!(metadata.contains_key("tool") && metadata["tool"].is_null());
    // Some seeded source material has `metadata: null`.
    let (_, listed) = get_json(&s, "source_material").await;
    assert!(
        listed["results"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["metadata"].is_null())
    );
}

/// Item 11, changeset errors: `create_media` and `update` answer `{"error": {field: message}}`
/// with every failing field, in `Attribute.validate_attribute`'s words
/// (`platform/lib/platform/material/attribute.ex`: description 8–2000 characters, sensitivity a
/// subset of its options with "Not Sensitive" alone, status one of its options). Form bodies
/// carry lists as `key[]=` (`Plug.Parsers.URLENCODED`).
#[tokio::test]
async fn atlos_changeset_errors_name_every_field_in_the_servers_words() {
    let s = Sandbox::builder().incidents(5).start().await.unwrap();
    let (status, body) = post_json(
        &s,
        "incidents/new",
        json!({"description": "short", "sensitive": ["Not Sensitive", "Gore"], "status": "Done"}),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        body,
        json!({"error": {
            "attr_description": "should be at least 8 character(s)",
            "attr_sensitive": "Includes invalid value(s): Gore. Valid values are: Not Sensitive, Personal Information Visible, Graphic Violence, Deleted by Source, Deceptive or Misleading",
            "attr_status": "Includes an invalid value. Valid values are: To Do, In Progress, Help Needed, Ready for Review, Completed, Cancelled",
        }})
    );
    let (_, body) = post_json(
        &s,
        "incidents/new",
        json!({"description": "Long enough", "sensitive": ["Not Sensitive", "Graphic Violence"]}),
    )
    .await;
    assert_eq!(
        body,
        json!({"error": {"attr_sensitive": "If 'Not Sensitive' is selected, no other options are allowed."}})
    );
    // "Deleted by Source" is one of the real options.
    let (status, created) = post_json(
        &s,
        "incidents/new",
        json!({"description": "Long enough", "sensitive": ["Deleted by Source"]}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{created}");
    let slug = created["result"]["slug"].as_str().unwrap().to_owned();
    let (_, body) = post_json(
        &s,
        &format!("update/{slug}/status"),
        json!({"value": "Done"}),
    )
    .await;
    assert_eq!(
        body["error"]["attr_status"],
        "Includes an invalid value. Valid values are: To Do, In Progress, Help Needed, Ready for Review, Completed, Cancelled"
    );
    // A form body with `sensitive[]=` is a list.
    let r = http()
        .post(v2(&s, "incidents/new"))
        .header("authorization", bearer(&s))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("description=From+a+form+body&sensitive%5B%5D=Graphic+Violence&sensitive%5B%5D=Deleted+by+Source")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let created: Value = r.json().await.unwrap();
    assert_eq!(
        created["result"]["attr_sensitive"],
        json!(["Graphic Violence", "Deleted by Source"])
    );
}

/// Pagination: `pagination_api` (`api_v2_controller.ex`) sends `previous` as the signed keyset
/// `before` of a later page, but applies any cursor as `after:`, so following `previous` does not
/// lead back: it starts one entry into the page it came from.
#[tokio::test]
async fn atlos_previous_cursor_is_sent_but_does_not_lead_back() {
    let s = Sandbox::builder().incidents(150).start().await.unwrap();
    let (_, first) = get_json(&s, "incidents").await;
    assert!(first["previous"].is_null());
    let next = first["next"].as_str().unwrap().to_owned();
    let (_, second) = get_json(&s, &format!("incidents?cursor={next}")).await;
    let previous = second["previous"].as_str().unwrap().to_owned();
    let (_, back) = get_json(&s, &format!("incidents?cursor={previous}")).await;
    assert_eq!(back["results"][0]["id"], second["results"][1]["id"]);
    assert_ne!(back["results"][0]["id"], first["results"][0]["id"]);
}

/// Deprecated keys: the incident encoder (`platform/lib/platform/material/media.ex`,
/// `insert_deprecated_attributes`) adds a deprecated core attribute's `attr_*` key only when the
/// project has a custom attribute of the same label and type (`Platform.Utils.migrated_attributes`),
/// filled with that attribute's value: here "Reported Near" → `attr_general_location` and
/// "Incident Type" → `attr_type`; "Priority" has no deprecated twin.
#[tokio::test]
async fn atlos_deprecated_keys_mirror_their_custom_attributes() {
    let s = Sandbox::builder().incidents(30).start().await.unwrap();
    let near = "ac9631a7-9e66-416c-ab43-7f6f67d9bd5a";
    let kind = "96b68d1c-8587-4e6c-b6d3-a7f28fbb62b9";
    let custom = |incident: &Value, id: &str| {
        incident["project_attributes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["id"] == id)
            .unwrap()["value"]
            .clone()
    };
    let (_, page) = get_json(&s, "incidents").await;
    let incidents = page["results"].as_array().unwrap();
    assert!(incidents.iter().any(|i| !custom(i, near).is_null()));
    for incident in incidents {
        assert_eq!(incident["attr_general_location"], custom(incident, near));
        assert_eq!(incident["attr_type"], custom(incident, kind));
        assert!(!incident.as_object().unwrap().contains_key("attr_priority"));
    }
    let slug = incidents[0]["slug"].as_str().unwrap().to_owned();
    let (status, _) = post_json(
        &s,
        &format!("update/{slug}/{near}"),
        json!({"value": "Outskirts of Kherson"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (_, page) = get_json(&s, "incidents").await;
    let updated = page["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["slug"] == slug.as_str())
        .unwrap();
    assert_eq!(updated["attr_general_location"], "Outskirts of Kherson");
}

/// One multipart body: `title` (if any) and a file part without a Content-Type, as Python
/// `requests` sends `files={"file": (name, fileobj)}`.
fn multipart(title: Option<&str>, file_name: &str, bytes: &[u8]) -> (String, Vec<u8>) {
    let boundary = "casefileFidelityBoundary7d1e";
    let mut body = Vec::new();
    if let Some(title) = title {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"title\"\r\n\r\n{title}\r\n"
            )
            .as_bytes(),
        );
    }
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{file_name}\"\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// Item 12. `upload_media_version_file` reads `params["title"]` (Phoenix merges the query string
/// and the body into `params`, as auto-archiver's `atlos_feeder_db_storage.py` relies on with
/// `params={"title": ...}`), takes the mime type from the file name's extension
/// (`MIME.from_path`), and the artifact's `access_url` is a signed URL on the storage host
/// (`Material.media_version_artifact_location`, `signed: true`) that downloads the file.
#[tokio::test]
async fn atlos_upload_keeps_a_query_title_and_serves_its_access_url() {
    let s = Sandbox::builder().incidents(5).start().await.unwrap();
    let (_, media) = an_incident(&s).await;
    let bytes = b"\x00\x00\x00\x18ftypmp42 not really a video";
    let (ct, body) = multipart(None, "clip.MP4", bytes);
    let r = http()
        .post(v2(
            &s,
            &format!("source_material/upload/{media}?title=From%20the%20query"),
        ))
        .header("authorization", bearer(&s))
        .header("content-type", ct)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let uploaded: Value = r.json().await.unwrap();
    let artifact = uploaded["result"]["artifacts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["type"] == "upload")
        .unwrap()
        .clone();
    assert_eq!(artifact["title"], "From the query");
    assert_eq!(artifact["mime_type"], "video/mp4");
    assert_eq!(artifact["file_size"], bytes.len());
    // The body's title wins over the query's; an unknown extension is octet-stream.
    let (ct, body) = multipart(Some("From the body"), "notes.zzz", b"x");
    let r = http()
        .post(v2(&s, &format!("source_material/upload/{media}?title=q")))
        .header("authorization", bearer(&s))
        .header("content-type", ct)
        .body(body)
        .send()
        .await
        .unwrap();
    let again: Value = r.json().await.unwrap();
    let last = again["result"]["artifacts"]
        .as_array()
        .unwrap()
        .last()
        .unwrap();
    assert_eq!(
        (last["title"].as_str(), last["mime_type"].as_str()),
        (Some("From the body"), Some("application/octet-stream"))
    );
    // The access URL downloads the bytes, without the API token.
    let url = artifact["access_url"].as_str().unwrap();
    let download = http().get(url).send().await.unwrap();
    assert_eq!(download.status(), StatusCode::OK, "{url}");
    assert_eq!(download.bytes().await.unwrap().as_ref(), bytes);
    // A tampered signature is refused.
    let forged = url.replace("sig=", "sig=0");
    assert_eq!(
        http().get(&forged).send().await.unwrap().status(),
        StatusCode::FORBIDDEN
    );
    // Seeded artifacts download too, with the size and hash they announce.
    let (_, listed) = get_json(&s, "source_material").await;
    let seeded = listed["results"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|m| m["artifacts"].as_array().unwrap().clone())
        .find(|a| a["type"] != "upload")
        .unwrap();
    let got = http()
        .get(seeded["access_url"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(seeded["file_size"], got.len());
    use sha2::Digest;
    let hash: String = sha2::Sha256::digest(&got)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(seeded["file_hash_sha256"], hash.as_str());
}

/// The parameters of the `WWW-Authenticate: Digest ...` challenge of an unauthenticated request.
async fn atlas_challenge(s: &Sandbox, path: &str) -> std::collections::HashMap<String, String> {
    let r = http()
        .get(format!("{}{path}", s.atlas_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let header = r.headers()["www-authenticate"].to_str().unwrap().to_owned();
    let rest = header.strip_prefix("Digest ").unwrap();
    rest.split(", ")
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.trim_matches('"').to_owned()))
        .collect()
}

fn hex_digest(algorithm: &str, data: &str) -> String {
    use sha2::Digest;
    let bytes: Vec<u8> = if algorithm == "SHA-256" {
        sha2::Sha256::digest(data.as_bytes()).to_vec()
    } else {
        md5::Md5::digest(data.as_bytes()).to_vec()
    };
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// An RFC 7616 `Authorization: Digest` header for GET `uri`, signed with `algorithm`.
fn digest_header(
    s: &Sandbox,
    challenge: &std::collections::HashMap<String, String>,
    algorithm: &str,
    uri: &str,
    cnonce: &str,
) -> String {
    let (user, key) = s.atlas_digest();
    let realm = &challenge["realm"];
    let nonce = &challenge["nonce"];
    let ha1 = hex_digest(algorithm, &format!("{user}:{realm}:{key}"));
    let ha2 = hex_digest(algorithm, &format!("GET:{uri}"));
    let response = hex_digest(
        algorithm,
        &format!("{ha1}:{nonce}:00000001:{cnonce}:auth:{ha2}"),
    );
    format!(
        r#"Digest username="{user}", realm="{realm}", nonce="{nonce}", uri="{uri}", algorithm={algorithm}, response="{response}", qop=auth, nc=00000001, cnonce="{cnonce}", opaque="{}""#,
        challenge["opaque"]
    )
}

/// Item 13, digest. The challenge names one algorithm (`algorithm=MD5`); RFC 7616 §3.4 has the
/// client answer with that algorithm, and a response computed with another is refused with a
/// fresh challenge, even when it is otherwise correct.
#[tokio::test]
async fn atlas_refuses_a_digest_signed_with_another_algorithm() {
    let s = Sandbox::builder().attachments(4).start().await.unwrap();
    let uri = "/api/v1/attachments";
    let challenge = atlas_challenge(&s, uri).await;
    assert_eq!(challenge["algorithm"], "MD5");
    let send = |header: String| {
        http()
            .get(format!("{}{uri}", s.atlas_url()))
            .header("authorization", header)
            .send()
    };
    let r = send(digest_header(&s, &challenge, "SHA-256", uri, "c1"))
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(r.headers().contains_key("www-authenticate"));
    // The same request signed with the challenge's algorithm passes.
    let r = send(digest_header(&s, &challenge, "MD5", uri, "c2"))
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
}

/// Item 13, validation. Seed 003 (`POST /annotations`): every bbox object requires `tags` (an
/// object of string or boolean values) and `label` (a string); `GET /attachments` takes
/// `session_id` as a UUID. Invalid fields are a 400 with the 001 error body
/// (`{error, reason, detail, errorCode, parameters}`).
#[tokio::test]
async fn atlas_refuses_bbox_without_tags_or_label_and_a_non_uuid_session() {
    let s = Sandbox::builder().attachments(4).start().await.unwrap();
    let token = format!("Bearer {}", s.atlas_token());
    let list: Value = http()
        .get(format!("{}/api/v1/attachments", s.atlas_url()))
        .header("authorization", &token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let attachment = list["items"][0]["attachment_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let good = json!({"tags": {"kind": "peak", "verified": true}, "label": "Peak",
                      "x": 10, "y": 10, "width": 20, "height": 20});
    let without = |key: &str| {
        let mut b = good.clone();
        b.as_object_mut().unwrap().remove(key);
        b
    };
    let mut bad_tags = good.clone();
    bad_tags["tags"] = json!({"n": 3});
    let mut bad_label = good.clone();
    bad_label["label"] = json!(7);
    let post = |bbox: Value| {
        http()
            .post(format!("{}/api/v1/annotations", s.atlas_url()))
            .header("authorization", &token)
            .json(
                &json!({"attachment_id": attachment, "annotation_type": "bbox",
                "annotation_content": {"page_width": 100, "page_height": 100, "page_number": 0,
                                       "content": [bbox]}}),
            )
            .send()
    };
    for bbox in [without("tags"), without("label"), bad_tags, bad_label] {
        let r = post(bbox.clone()).await.unwrap();
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{bbox}");
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["error"], 400, "{body}");
        assert!(
            body["errorCode"].is_string() && body["detail"].is_string(),
            "{body}"
        );
    }
    assert_eq!(post(good).await.unwrap().status(), StatusCode::OK);

    let r = http()
        .get(format!(
            "{}/api/v1/attachments?session_id=not-a-uuid",
            s.atlas_url()
        ))
        .header("authorization", &token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let body: Value = r.json().await.unwrap();
    assert_eq!(
        (body["error"].as_u64(), body["parameters"].clone()),
        (Some(400), json!(["session_id"])),
        "{body}"
    );
    let session = "5b0c1e2d-3f4a-4b5c-8d6e-7f8091a2b3c4";
    let r = http()
        .get(format!(
            "{}/api/v1/attachments?session_id={session}",
            s.atlas_url()
        ))
        .header("authorization", &token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
}

/// Item 13, envelope. Seed 001: the envelope is for clients that cannot read status codes or
/// headers, but a digest challenge lives in the 401 and its `WWW-Authenticate` header, so
/// `envelope=true` never wraps it: the 401 comes as a 401, with the challenge.
#[tokio::test]
async fn atlas_envelope_never_wraps_a_401_challenge() {
    let s = Sandbox::builder().attachments(4).start().await.unwrap();
    let r = http()
        .get(format!(
            "{}/api/v1/attachments?envelope=true",
            s.atlas_url()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(
        r.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Digest ")
    );
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"], 401, "{body}");
    // Other errors are still enveloped.
    let r = http()
        .get(format!(
            "{}/api/v1/attachments/5b0c1e2d-3f4a-4b5c-8d6e-7f8091a2b3c4?envelope=true",
            s.atlas_url()
        ))
        .header("authorization", format!("Bearer {}", s.atlas_token()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["status"], 404, "{body}");
}
