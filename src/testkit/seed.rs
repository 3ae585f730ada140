//! Deterministic seed data in the shapes the real servers answer with.

use chrono::{DateTime, Duration, TimeZone, Utc};
use serde_json::{Map, Value, json};

/// SplitMix64: small, fast, and the same sequence on every machine.
pub(super) struct Rng(u64);

impl Rng {
    pub(super) fn new(seed: u64) -> Self {
        Rng(seed ^ 0x9E37_79B9_7F4A_7C15)
    }

    pub(super) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    pub(super) fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    pub(super) fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }

    pub(super) fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }

    pub(super) fn uuid(&mut self) -> String {
        let mut bytes = [0u8; 16];
        bytes[..8].copy_from_slice(&self.next().to_le_bytes());
        bytes[8..].copy_from_slice(&self.next().to_le_bytes());
        uuid::Builder::from_random_bytes(bytes)
            .into_uuid()
            .to_string()
    }

    pub(super) fn hex(&mut self, len: usize) -> String {
        let mut s = String::with_capacity(len);
        while s.len() < len {
            s.push_str(&format!("{:016x}", self.next()));
        }
        s.truncate(len);
        s
    }
}

/// Naive ISO-8601 as Atlos and Aleph write it.
pub(super) fn naive(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S").to_string()
}

fn epoch() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 5, 9, 0, 0)
        .single()
        .unwrap_or_default()
}

const PLACES: &[&str] = &[
    "Kharkiv", "Gaza", "Tigray", "Khartoum", "Mariupol", "Idlib", "Aleppo", "Goma", "Bakhmut",
    "Rafah", "Mosul", "Kherson",
];
const EVENTS: &[&str] = &[
    "Shelling of a residential block",
    "Drone strike on a fuel depot",
    "Fire at a market",
    "Damaged water station",
    "Checkpoint shooting",
    "Airstrike near a school",
    "Destroyed bridge",
    "Crowd dispersal with tear gas",
];

/// The Atlos project every incident belongs to, with its custom attributes.
pub(super) fn atlos_project() -> Value {
    json!({
        "active": true,
        "attributes": [
            {"name": "Incident Type", "description": "What kind of incident is this?", "type": "multi_select",
             "options": ["Military Activity", "Civilian Harm", "Policing", "Weapon", "Protest", "Other"]},
            {"name": "Reported Near", "description": "Where was the incident reported to be near?", "type": "text", "options": []},
            {"name": "Priority", "description": "", "type": "select", "options": ["Low", "Medium", "High"]}
        ],
        "code": "CIV",
        "color": "#fb923c",
        "description": "Open-source documentation of incidents affecting civilians.",
        "id": "d0596176-093b-4f0e-85ff-6ee30fef266d",
        "name": "Civilian Harm Monitor"
    })
}

/// Custom attributes of the project: (id, name).
pub(super) const ATLOS_CUSTOM: [(&str, &str); 3] = [
    ("96b68d1c-8587-4e6c-b6d3-a7f28fbb62b9", "Incident Type"),
    ("ac9631a7-9e66-416c-ab43-7f6f67d9bd5a", "Reported Near"),
    ("74d49ba8-6bc8-4305-afb8-e15a0fdb28fd", "Priority"),
];

pub(super) const ATLOS_STATUSES: &[&str] = &[
    "To Do",
    "In Progress",
    "Help Needed",
    "Ready for Review",
    "Completed",
    "Cancelled",
];
pub(super) const ATLOS_SENSITIVE: &[&str] = &[
    "Not Sensitive",
    "Graphic Violence",
    "Deceptive or Misleading",
    "Personal Information Visible",
];

/// Atlos seed data.
pub(super) struct AtlosData {
    /// Incidents, oldest first (the server lists newest first).
    pub incidents: Vec<Value>,
    /// Updates, oldest first.
    pub updates: Vec<Value>,
    pub rng: Rng,
    pub clock: DateTime<Utc>,
}

pub(super) fn slug(rng: &mut Rng) -> String {
    const CHARS: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
    (0..6)
        .map(|_| CHARS[rng.below(CHARS.len())] as char)
        .collect()
}

pub(super) fn atlos(seed: u64, incidents: usize) -> AtlosData {
    let mut rng = Rng::new(seed);
    let mut data = AtlosData {
        incidents: Vec::with_capacity(incidents),
        updates: Vec::new(),
        rng: Rng::new(seed.wrapping_add(1)),
        clock: epoch(),
    };
    let mut slugs = std::collections::HashSet::new();
    for i in 0..incidents {
        let mut s = slug(&mut rng);
        while !slugs.insert(s.clone()) {
            s = slug(&mut rng);
        }
        let at = epoch() + Duration::minutes(37 * i as i64);
        let place = rng.pick(PLACES);
        let id = rng.uuid();
        let geolocation = rng.chance(70).then(|| {
            let lat = (rng.below(120_000) as f64 / 1000.0) - 60.0;
            let lon = (rng.below(300_000) as f64 / 1000.0) - 150.0;
            json!({"type": "Point", "coordinates": [lon, lat],
                   "crs": {"type": "name", "properties": {"name": "EPSG:4326"}}})
        });
        let media: Vec<Value> = (0..1 + rng.below(3))
            .map(|n| source_material(&mut rng, &id, n as u64 + 1, at))
            .collect();
        let incident = json!({
            "id": id,
            "slug": s,
            "attr_description": format!("{} near {place}", rng.pick(EVENTS)),
            "attr_status": rng.pick(ATLOS_STATUSES),
            "attr_tags": if rng.chance(40) { json!([rng.pick(&["verified", "night", "urban", "rural"])]) } else { json!([]) },
            "attr_sensitive": [rng.pick(ATLOS_SENSITIVE)],
            "attr_restrictions": [],
            "attr_more_info": if rng.chance(50) { json!(format!("Source: social media, {place}.")) } else { Value::Null },
            "attr_date": if rng.chance(80) { json!((at - Duration::days(rng.below(30) as i64)).format("%Y-%m-%d").to_string()) } else { Value::Null },
            "attr_geolocation": geolocation,
            "attr_geolocation_resolution": if rng.chance(50) { json!("Exact") } else { Value::Null },
            "attr_general_location": Value::Null,
            "deleted": rng.chance(3),
            "inserted_at": naive(at),
            "updated_at": naive(at + Duration::minutes(rng.below(600) as i64)),
            "project": atlos_project(),
            "source_material": media,
            "versions": media,
            "project_attributes": [
                {"id": ATLOS_CUSTOM[0].0, "name": ATLOS_CUSTOM[0].1,
                 "value": if rng.chance(60) { json!([rng.pick(&["Military Activity", "Civilian Harm", "Weapon"])]) } else { json!([]) }},
                {"id": ATLOS_CUSTOM[1].0, "name": ATLOS_CUSTOM[1].1,
                 "value": if rng.chance(40) { json!(format!("{place} outskirts")) } else { Value::Null }},
                {"id": ATLOS_CUSTOM[2].0, "name": ATLOS_CUSTOM[2].1, "value": Value::Null}
            ]
        });
        data.updates
            .push(update(&mut rng, &incident, "create", None, at));
        if rng.chance(40) {
            let comment = rng.pick(&[
                "Geolocated from the skyline.",
                "Source deleted the post.",
                "Needs a second look.",
            ]);
            data.updates.push(update(
                &mut rng,
                &incident,
                "comment",
                Some(comment),
                at + Duration::minutes(5),
            ));
        }
        data.incidents.push(incident);
    }
    data.clock = epoch() + Duration::minutes(37 * incidents as i64 + 60);
    data
}

pub(super) fn source_material(
    rng: &mut Rng,
    incident_id: &str,
    scoped_id: u64,
    at: DateTime<Utc>,
) -> Value {
    let id = rng.uuid();
    let artifacts: Vec<Value> = if rng.chance(60) {
        vec![json!({
            "id": rng.uuid(),
            "file_hash_sha256": rng.hex(64),
            "file_size": 1000 + rng.below(2_000_000),
            "mime_type": "text/html",
            "perceptual_hashes": Value::Null,
            "title": Value::Null,
            "type": rng.pick(&["fullpage", "media", "pdf", "wacz"]),
            "access_url": format!("https://storage.example.org/atlos/artifacts/{id}/{}.html", rng.hex(8)),
        })]
    } else {
        vec![]
    };
    json!({
        "id": id,
        "incident_id": incident_id,
        "scoped_id": scoped_id,
        "source_url": format!("https://www.example-video.org/watch?v={}", rng.hex(11)),
        "status": rng.pick(&["pending", "complete", "complete", "error"]),
        "upload_type": "user_provided",
        "visibility": rng.pick(&["visible", "visible", "visible", "hidden"]),
        "metadata": {},
        "artifacts": artifacts,
        "inserted_at": naive(at),
        "updated_at": naive(at + Duration::minutes(3)),
    })
}

pub(super) fn update(
    rng: &mut Rng,
    incident: &Value,
    kind: &str,
    explanation: Option<&str>,
    at: DateTime<Utc>,
) -> Value {
    let by_user = rng.chance(60);
    let user_id = rng.uuid();
    json!({
        "id": rng.uuid(),
        "type": kind,
        "user": if by_user { json!({"id": user_id, "username": rng.pick(&["osint_lee", "geo_sam", "verifier_ana"]), "bio": "", "flair": ""}) } else { Value::Null },
        "user_id": if by_user { json!(user_id) } else { Value::Null },
        "api_token_id": if by_user { Value::Null } else { json!(rng.uuid()) },
        "media_id": incident["id"],
        "media_version_id": Value::Null,
        "modified_attribute": Value::Null,
        "new_value": Value::Null,
        "old_value": Value::Null,
        "explanation": explanation,
        "attachments": [],
        "attachment_urls": [],
        "inserted_at": naive(at),
    })
}

/// Aleph seed data.
pub(super) struct AlephData {
    pub collections: Vec<Value>,
    /// Entities per collection id.
    pub entities: Vec<(String, Vec<Value>)>,
    pub alerts: Vec<Value>,
}

pub(super) fn aleph_role(id: &str, kind: &str, name: &str, label: &str) -> Value {
    json!({"id": id, "type": kind, "name": name, "label": label, "writeable": true, "shallow": true})
}

pub(super) fn aleph(seed: u64, per_collection: &[usize]) -> AlephData {
    let mut rng = Rng::new(seed.wrapping_add(2));
    let specs = [
        (
            "leak-2026",
            "Leak 2026",
            "leak",
            true,
            "Documents and company records leaked in early 2026.",
        ),
        (
            "company-registry",
            "Company Registry Extract",
            "company",
            false,
            "Companies and their owners.",
        ),
        (
            "sanctions",
            "Consolidated Sanctions",
            "sanctions",
            false,
            "Persons and companies under sanctions.",
        ),
    ];
    let mut data = AlephData {
        collections: Vec::new(),
        entities: Vec::new(),
        alerts: Vec::new(),
    };
    for (i, &count) in per_collection.iter().enumerate() {
        let (foreign_id, label, category, secret, summary) = specs[i % specs.len()];
        let id = (i + 1).to_string();
        let foreign_id = if i < specs.len() {
            foreign_id.to_owned()
        } else {
            format!("{foreign_id}-{i}")
        };
        let at = epoch() - Duration::days(60 - i as i64);
        data.collections.push(json!({
            "id": id, "collection_id": id, "foreign_id": foreign_id, "label": label,
            "summary": summary, "category": category, "frequency": "never",
            "countries": ["ua", "cy"], "languages": ["eng"], "casefile": false,
            "secret": secret, "xref": false, "restricted": false, "count": count,
            "created_at": naive(at), "updated_at": naive(at + Duration::days(1)),
            "data_updated_at": naive(at + Duration::days(2)),
            "creator": aleph_role("3", "user", "Test Analyst", "Test Analyst"),
            "team": [aleph_role("3", "user", "Test Analyst", "Test Analyst")],
            "writeable": true,
        }));
        let mut entities: Vec<Value> = (0..count)
            .map(|n| aleph_entity(&mut rng, &id, n, at))
            .collect();
        // Every eighth entity is an Ownership: of the Company six before it by the Person four
        // before it, so that entity-typed properties (resolved to nested entities when read,
        // `aleph/views/serializers.py` `EntitySerializer`) are part of the seed.
        for n in (7..entities.len()).step_by(8) {
            let (owner, asset) = (entities[n - 4]["id"].clone(), entities[n - 6]["id"].clone());
            let ownership = &mut entities[n];
            ownership["schema"] = json!("Ownership");
            ownership["caption"] = Value::Null;
            ownership["properties"] = json!({
                "owner": [owner], "asset": [asset],
                "percentage": [format!("{}", 10 + n % 90)], "role": ["shareholder"],
            });
        }
        data.entities.push((id, entities));
    }
    for (n, query) in ["coal mine", "grain exports", "Meridian Metals"]
        .iter()
        .enumerate()
    {
        let at = naive(epoch() + Duration::hours(n as i64));
        data.alerts.push(json!({"id": (n + 1).to_string(), "query": query, "created_at": at, "updated_at": at, "writeable": true}));
    }
    data
}

const FIRST: &[&str] = &[
    "Maria", "Petro", "Olena", "Ahmed", "Lina", "Jonas", "Amara", "Viktor", "Sofia", "Kwame",
];
const LAST: &[&str] = &[
    "García",
    "Petrov",
    "Kovalenko",
    "Haddad",
    "Müller",
    "Okafor",
    "Ivanova",
    "Silva",
    "Novak",
    "Mensah",
];
const COMPANY: &[&str] = &[
    "Meridian Metals",
    "Silver Telecom",
    "Blue Harbor Shipping",
    "Northwind Grain",
    "Carpathian Energy",
    "Atlas Logistics",
];

fn aleph_entity(rng: &mut Rng, collection: &str, n: usize, at: DateTime<Utc>) -> Value {
    let id = format!("{}{:010}.{}", rng.hex(24), n, rng.hex(40));
    let (schema, properties) = match n % 4 {
        0 | 3 => (
            "Person",
            json!({"name": [format!("{} {}", rng.pick(FIRST), rng.pick(LAST))],
                   "nationality": [rng.pick(&["ua", "cy", "de", "nl", "ch"])],
                   "birthDate": [format!("19{}-{:02}-{:02}", 50 + rng.below(50), 1 + rng.below(12), 1 + rng.below(28))]}),
        ),
        1 => (
            "Company",
            json!({"name": [format!("{} {}", rng.pick(COMPANY), rng.pick(&["Limited", "LLC", "GmbH", "S.A."]))],
                   "jurisdiction": [rng.pick(&["vg", "cy", "de", "pa"])],
                   "registrationNumber": [format!("{}", 10_000_000 + rng.below(89_999_999))]}),
        ),
        _ => (
            "Document",
            json!({"fileName": [format!("scan-{n:05}.pdf")], "mimeType": ["application/pdf"],
                   "title": [format!("Contract {n}")]}),
        ),
    };
    let caption = properties
        .get("name")
        .or_else(|| properties.get("title"))
        .and_then(|v| v.get(0))
        .cloned()
        .unwrap_or(Value::Null);
    let created = at + Duration::seconds(7 * n as i64);
    json!({
        "id": id, "schema": schema, "caption": caption, "properties": properties,
        "collection_id": collection,
        "created_at": naive(created), "updated_at": naive(created + Duration::hours(2)),
    })
}

/// Atlas seed data.
pub(super) struct AtlasData {
    pub attachments: Vec<Value>,
    /// File bytes per attachment id.
    pub files: std::collections::HashMap<String, Vec<u8>>,
    pub annotations: Vec<Value>,
    pub rng: Rng,
}

pub(super) fn atlas(seed: u64, count: usize) -> AtlasData {
    let mut rng = Rng::new(seed.wrapping_add(4));
    let sessions: Vec<String> = (0..4).map(|_| rng.uuid()).collect();
    let mut data = AtlasData {
        attachments: Vec::new(),
        files: Default::default(),
        annotations: Vec::new(),
        rng: Rng::new(seed.wrapping_add(5)),
    };
    for n in 0..count {
        let id = rng.uuid();
        let (kind, ext) = [
            ("csv", "csv"),
            ("pdf", "pdf"),
            ("bin", "bin"),
            ("png", "png"),
        ][n % 4];
        let name = format!("{}-{n}.{ext}", ["table", "report", "dump", "plot"][n % 4]);
        let created = epoch() + Duration::hours(5 * n as i64);
        let content = match kind {
            "csv" => json!({"columns": ["t_s", "freq_ghz", "power_dbm", "label"],
                            "rows": (0..3).map(|r| json!([r as f64 * 0.5, 1.0 + rng.below(2000) as f64 / 1000.0, -40.0 - rng.below(30) as f64, rng.pick(&["ok", "spur", "peak"])])).collect::<Vec<_>>()}),
            "pdf" => json!({"pages": 1 + rng.below(12), "text": format!("Quarterly report {n}")}),
            _ => Value::Null,
        };
        let mut attachment = Map::new();
        attachment.insert("attachment_id".into(), json!(id));
        attachment.insert("attachment_name".into(), json!(name));
        attachment.insert("attachment_type".into(), json!(kind));
        attachment.insert(
            "attachment_title".into(),
            json!(format!(
                "{} {n}",
                rng.pick(&["Telemetry capture", "Spectrum sweep", "Quarterly report"])
            )),
        );
        attachment.insert(
            "attachment_description".into(),
            if rng.chance(70) {
                json!(format!("Generated during analysis of run {n}."))
            } else {
                Value::Null
            },
        );
        attachment.insert(
            "attachment_citation".into(),
            if rng.chance(40) {
                json!(format!("https://arxiv.org/abs/2601.{n:05}"))
            } else {
                Value::Null
            },
        );
        attachment.insert(
            "attachment_source_session_id".into(),
            if rng.chance(80) {
                json!(sessions[rng.below(sessions.len())])
            } else {
                Value::Null
            },
        );
        attachment.insert(
            "attachment_created_by".into(),
            json!(rng.pick(&["atlas", "analyst@arena.example"])),
        );
        attachment.insert(
            "attachment_created_at".into(),
            json!(created.format("%Y-%m-%dT%H:%M:%SZ").to_string()),
        );
        attachment.insert("is_visible".into(), json!(!rng.chance(10)));
        attachment.insert("attachment_content".into(), content);
        attachment.insert(
            "s3_url".into(),
            json!(format!("s3://atlas-bucket/{id}/{name}")),
        );
        let file: Vec<u8> = format!("casefile sandbox file {name}\n")
            .repeat(1 + rng.below(200))
            .into_bytes();
        data.files.insert(id.clone(), file);
        for _ in 0..rng.below(4) {
            data.annotations.push(json!({
                "uuid": rng.uuid(), "annotation_type": "bbox", "attachment_id": id,
                "annotation_content": {"page_width": 1920, "page_height": 1080, "page_number": 0,
                    "content": [{"tags": {"kind": rng.pick(&["spur", "peak"]), "verified": rng.chance(50)},
                                 "label": rng.pick(&["Peak", "Check this", "Spurious emission"]),
                                 "x": rng.below(1500) as f64, "y": rng.below(800) as f64,
                                 "width": 10.0 + rng.below(400) as f64, "height": 10.0 + rng.below(270) as f64}]}
            }));
        }
        data.attachments.push(Value::Object(attachment));
    }
    data
}
