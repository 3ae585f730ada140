//! Realistic bytes for the benches: pages built from the real-shaped server fixtures in
//! `tests/fixtures/`, serialized compactly as the servers send them, with distinct ids.

#![allow(dead_code)]

use serde_json::{Value, json};

const ATLOS_PAGES: [&str; 2] = [
    include_str!("../../tests/fixtures/atlos/incidents_page1.json"),
    include_str!("../../tests/fixtures/atlos/incidents_page2.json"),
];
const ALEPH_SEARCH: &str = include_str!("../../tests/fixtures/aleph/entities_search_page.json");
const ALEPH_STREAM: &str = include_str!("../../tests/fixtures/aleph/stream_sample.jsonl");
const ATLAS_LIST: &str = include_str!("../../tests/fixtures/atlas/attachments_list.json");
/// A real-shaped `source_material/upload` answer.
pub const ATLOS_UPLOAD_ANSWER: &str =
    include_str!("../../tests/fixtures/atlos/source_material_get.json");

fn parse(text: &str) -> Value {
    serde_json::from_str(text).expect("fixture parses")
}

/// A UUID-shaped id that differs for every `n`.
fn uuid(n: usize, salt: u32) -> String {
    format!(
        "{salt:08x}-{:04x}-4{:03x}-8{:03x}-{n:012x}",
        n % 0xffff,
        n % 0xfff,
        n % 0xfff
    )
}

/// `n` Atlos incidents (the fixture incidents in turn, each with its own id and slug).
pub fn atlos_incidents(n: usize) -> Vec<Value> {
    let samples: Vec<Value> = ATLOS_PAGES
        .iter()
        .flat_map(|page| {
            parse(page)["results"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .collect();
    (0..n)
        .map(|i| {
            let mut incident = samples[i % samples.len()].clone();
            incident["id"] = json!(uuid(i, 0x1c1d));
            incident["slug"] = json!(format!("{:06}", i % 1_000_000).replace('0', "A"));
            incident
        })
        .collect()
}

/// The JSON array of `n` Atlos incidents, compact.
pub fn atlos_items_json(n: usize) -> Vec<u8> {
    serde_json::to_vec(&atlos_incidents(n)).expect("serializes")
}

/// A whole Atlos listing page around pre-serialized items.
pub fn atlos_page(items_json: &[u8], next: Option<&str>) -> Vec<u8> {
    let mut body = Vec::with_capacity(items_json.len() + 128);
    body.extend_from_slice(b"{\"results\":");
    body.extend_from_slice(items_json);
    match next {
        Some(cursor) => {
            body.extend_from_slice(b",\"next\":\"");
            body.extend_from_slice(cursor.as_bytes());
            body.extend_from_slice(b"\"");
        }
        None => body.extend_from_slice(b",\"next\":null"),
    }
    body.extend_from_slice(b",\"previous\":null}");
    body
}

/// `n` Aleph entities as a search returns them (with their collection, links, highlight).
pub fn aleph_search_entities(n: usize) -> Vec<Value> {
    let samples = parse(ALEPH_SEARCH)["results"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    (0..n)
        .map(|i| {
            let mut entity = samples[i % samples.len()].clone();
            entity["id"] = json!(format!("{i:034x}.{:040x}", i * 7919));
            entity
        })
        .collect()
}

/// An Aleph search page (`ResultSet`) of pre-serialized entities.
pub fn aleph_search_page(
    base: &str,
    items_json: &[u8],
    offset: u64,
    limit: u64,
    total: u64,
) -> Vec<u8> {
    let next = if offset + limit < total {
        format!(
            "\"{base}/api/2/entities?filter%3Aschemata=Thing&offset={}&limit={limit}\"",
            offset + limit
        )
    } else {
        "null".to_owned()
    };
    let head = format!(
        "{{\"status\":\"ok\",\"total\":{total},\"total_type\":\"eq\",\"page\":{},\"pages\":{},\
         \"limit\":{limit},\"offset\":{offset},\"next\":{next},\"previous\":null,\"results\":",
        offset / limit + 1,
        total.div_ceil(limit),
    );
    let mut body = head.into_bytes();
    body.extend_from_slice(items_json);
    body.extend_from_slice(b"}");
    body
}

/// `n` lines of an Aleph `_stream` answer (the fixture lines in turn, distinct ids), each
/// ending with a newline.
pub fn aleph_stream_lines(n: usize) -> Vec<u8> {
    let samples: Vec<Value> = ALEPH_STREAM
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(parse)
        .collect();
    let mut out = Vec::new();
    for i in 0..n {
        let mut entity = samples[i % samples.len()].clone();
        entity["id"] = json!(format!("{i:034x}.{:040x}", i * 7919));
        serde_json::to_writer(&mut out, &entity).expect("serializes");
        out.push(b'\n');
    }
    out
}

/// An Atlas attachments page of `n` attachments (`{"items", "count"}`).
pub fn atlas_page(n: usize) -> Vec<u8> {
    let samples = parse(ATLAS_LIST)["items"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let items: Vec<Value> = (0..n)
        .map(|i| {
            let mut item = samples[i % samples.len()].clone();
            item["attachment_id"] = json!(uuid(i, 0xa71a));
            item
        })
        .collect();
    serde_json::to_vec(&json!({"items": items, "count": n})).expect("serializes")
}
