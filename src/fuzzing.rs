//! Entry points for the fuzz targets in `fuzz/` (feature `fuzzing`; not part of the API).
//!
//! Each function runs one parser on arbitrary input and panics if an invariant breaks; the fuzzer
//! reports a panic (or any crash) as a finding.

use crate::error::{ApiError, SNIPPET_BYTES};
#[cfg(any(feature = "atlos", feature = "aleph", feature = "atlas"))]
use crate::paginate::Head;
#[cfg(any(feature = "atlos", feature = "aleph", feature = "atlas"))]
use crate::transport::Answer;
use crate::transport::body::LineSplitter;
use crate::transport::digest::{DigestChallenge, parse_challenges};

/// The `WWW-Authenticate` parser and challenge selection.
pub fn digest_challenges(header: &str) {
    for challenge in parse_challenges(header) {
        assert!(!challenge.scheme.is_empty());
    }
    let _ = DigestChallenge::best(std::iter::once(header));
}

/// The JSON-lines splitter, fed in chunks whose sizes come from the first bytes of `data`:
/// whatever the chunking, it must give the lines that splitting the whole input gives.
pub fn json_lines(data: &[u8]) {
    let (sizes, body) = data.split_at(data.len().min(4));
    let whole = split(&[body]);
    let mut chunks = Vec::new();
    let mut rest = body;
    for &size in sizes {
        let (chunk, tail) = rest.split_at((size as usize).min(rest.len()));
        chunks.push(chunk);
        rest = tail;
    }
    chunks.push(rest);
    let chunked = split(&chunks);
    assert_eq!(whole, chunked);
    for line in &whole {
        assert!(!line.is_empty() && !line.contains(&b'\n'));
    }
}

fn split(chunks: &[&[u8]]) -> Vec<Vec<u8>> {
    let mut splitter = LineSplitter::default();
    let mut lines = Vec::new();
    for chunk in chunks {
        splitter.push(chunk);
        while let Some(line) = splitter.next_line() {
            lines.push(line.to_vec());
        }
    }
    lines.extend(splitter.finish().map(|l| l.to_vec()));
    lines
}

/// Error-body decoding for every platform's shape.
pub fn error_body(data: &[u8]) {
    let error = ApiError::from_body(400, data, "GET", String::new(), None);
    assert!(!error.message.is_empty());
    assert!(error.body.len() <= SNIPPET_BYTES * 3 + 3);
}

/// Decodes `data` as `T`, and when it decodes, checks that it survives a round trip through JSON.
fn decode<T: serde::de::DeserializeOwned + serde::Serialize>(data: &[u8]) -> Option<T> {
    let value: T = serde_json::from_slice(data).ok()?;
    let again = serde_json::to_vec(&value).ok();
    assert!(again.is_some(), "a decoded value must serialize again");
    Some(value)
}

/// Reads `data` as the paginator reads a page (`head` in the background task, then the items)
/// into items of `T`.
#[cfg(any(feature = "atlos", feature = "aleph", feature = "atlas"))]
fn page<T: serde::de::DeserializeOwned>(
    data: &[u8],
    head: impl Fn(&Answer) -> crate::Result<Head>,
) -> Option<crate::Page<T>> {
    let url = url::Url::parse("http://fuzz.invalid/api/").ok()?;
    let answer = Answer::from_json(url, data.to_vec());
    let head = head(&answer).ok()?;
    crate::paginate::decode_page(&answer, head).ok()
}

/// Atlos list pages of incidents, source material and updates.
#[cfg(feature = "atlos")]
pub fn atlos_pages(data: &[u8]) {
    use crate::atlos::{Incident, SourceMaterial, Update, cursor_head};
    let _ = page::<Incident>(data, cursor_head);
    let _ = page::<SourceMaterial>(data, cursor_head);
    let _ = page::<Update>(data, cursor_head);
    let _ = decode::<Incident>(data);
}

/// Aleph result sets of collections and entities, turned into pages.
#[cfg(feature = "aleph")]
pub fn aleph_pages(data: &[u8]) {
    use crate::aleph::{Collection, Entity, ResultSet, offset_head};
    if let Ok(set) = serde_json::from_slice::<ResultSet<Entity>>(data) {
        let page = set.into_page(true);
        if let Some(crate::PageToken::Offset { offset, limit }) = page.next {
            assert!(offset + limit <= 10_000 || limit == 0, "search window kept");
        }
    }
    if let Some(page) = page::<Entity>(data, |answer| offset_head(answer, true))
        && let Some(crate::PageToken::Offset { offset, limit }) = page.next
    {
        assert!(offset + limit <= 10_000 && limit > 0, "search window kept");
    }
    if let Ok(set) = serde_json::from_slice::<ResultSet<Collection>>(data) {
        let _ = set.into_page(false);
    }
    let _ = page::<Collection>(data, |answer| offset_head(answer, false));
    let _ = decode::<Entity>(data);
}

/// Atlas attachment pages in both shapes, turned into numbered pages.
#[cfg(feature = "atlas")]
pub fn atlas_pages(data: &[u8]) {
    use crate::atlas::{Attachment, numbered_head};
    if let Some(page) = page::<Attachment>(data, |answer| numbered_head(answer, 1, 100))
        && let Some(crate::PageToken::Number { page, .. }) = page.next
    {
        assert!(page >= 1);
    }
    let _ = decode::<Attachment>(data);
}
