//! Reading a page without decoding it: where its items are and what its small fields say, in
//! the background task; the items are decoded by the caller of the stream.

use std::cell::Cell;
use std::fmt;
use std::ops::Range;

use serde::de::{
    DeserializeOwned, DeserializeSeed, Deserializer, Error as _, IgnoredAny, MapAccess, Visitor,
};
use serde_json::value::RawValue;

#[cfg(any(test, feature = "fuzzing"))]
use super::{Head, Page};
use crate::error::Result;
use crate::transport::Answer;

/// Reads a page as the paginator does, head then items, all at once: for unit tests and fuzzing.
#[cfg(any(test, feature = "fuzzing"))]
pub(crate) fn decode_page<T: DeserializeOwned>(answer: &Answer, head: Head) -> Result<Page<T>> {
    let items = match head.items {
        None => Vec::new(),
        Some(at) => answer.decode_part(at, head.field)?,
    };
    Ok(Page {
        items,
        next: head.next,
        total: head.total,
    })
}

/// Reads a page in the background task: its small fields as `P`, and where its items (the value
/// of the field named one of `names`) are, without decoding them. A `null` is no items.
///
/// With `quick`, only the ends of the page are read ([`skim::ends`]), for pages whose only
/// array or object is the items: reading a page then costs nothing next to decoding it. Else,
/// or when the page does not have that shape, it is skimmed ([`skim::split`]), which costs a
/// fraction of decoding it; a page the skim does not follow is read with serde, which also names
/// what is wrong with it. The items are checked when the caller decodes them; should the quick
/// reading have taken more than the items for them, the caller reads the page again carefully.
pub(crate) fn split_page<P: DeserializeOwned>(
    answer: &Answer,
    names: &'static [&'static str],
    quick: bool,
) -> Result<(P, Option<Range<usize>>)> {
    let json = answer.json();
    let not_null = |at: Range<usize>| (json.get(at.clone()) != Some(b"null")).then_some(at);
    if quick
        && !CAREFUL.with(Cell::get)
        && let Some((items, rest)) = skim::ends(json, names)
        && let Ok(page) = serde_json::from_slice::<P>(&rest)
    {
        return Ok((page, not_null(items)));
    }
    if let Some((items, rest)) = skim::split(json, names)
        && let Ok(page) = serde_json::from_slice::<P>(&rest)
    {
        return Ok((page, items.and_then(not_null)));
    }
    let page: P = answer.decode()?;
    let mut de = serde_json::Deserializer::from_slice(json);
    let items = FieldOf(names)
        .deserialize(&mut de)
        .map_err(|e| answer.decode_error(names.first().copied().unwrap_or("."), e.to_string()))?;
    let items = match items {
        Some(raw) => answer.span(raw.get().as_bytes()),
        None => None,
    };
    Ok((page, items.and_then(not_null)))
}

/// The small fields of the JSON object `json`, copied into an object of their own, when its only
/// array or object is the value of its field named one of `names` (a listing page): read from
/// its ends only, whatever its size ([`skim::ends`]). `None` for any other shape.
pub(crate) fn small_fields(json: &[u8], names: &[&str]) -> Option<Vec<u8>> {
    skim::ends(json, names).map(|(_, rest)| rest)
}

thread_local! {
    /// Set while a page is read again carefully: [`split_page`] then skims the whole page.
    static CAREFUL: Cell<bool> = const { Cell::new(false) };
}

/// Runs `read` with [`split_page`] reading carefully (not [`skim::ends`]).
pub(super) fn carefully<R>(read: impl FnOnce() -> R) -> R {
    CAREFUL.with(|careful| {
        careful.set(true);
        let out = read();
        careful.set(false);
        out
    })
}

/// The value of the field named one of `.0` in a JSON object, borrowed: the slow way to find a
/// page's items, for pages the skim does not follow (escaped keys, say).
struct FieldOf(&'static [&'static str]);

impl<'de> DeserializeSeed<'de> for FieldOf {
    type Value = Option<&'de RawValue>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> std::result::Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for FieldOf {
    type Value = Option<&'de RawValue>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(
        self,
        mut map: A,
    ) -> std::result::Result<Self::Value, A::Error> {
        let mut found = None;
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            match self.0.iter().find(|name| **name == key) {
                Some(name) if found.is_some() => return Err(A::Error::duplicate_field(name)),
                Some(_) => found = Some(map.next_value::<&'de RawValue>()?),
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(found)
    }
}

/// Skimming a JSON object: where one field's value is, without parsing it.
mod skim {
    use std::ops::Range;

    /// Splits the JSON object `json` into the byte range of the value of its field named one of
    /// `names` (`None` if it has none) and its other fields, copied into an object of their own.
    /// `None` when `json` is not an object the skim follows (a key with escapes, the field twice,
    /// broken JSON): the caller then reads it with serde.
    ///
    /// Only the object's own structure is checked here: strings are skipped to their closing
    /// quote and arrays and objects to their matching bracket. The field's value is checked by
    /// whoever decodes it, the other fields by whoever decodes the copy.
    pub(super) fn split(json: &[u8], names: &[&str]) -> Option<(Option<Range<usize>>, Vec<u8>)> {
        let mut at = blank(json, 0);
        if json.get(at) != Some(&b'{') {
            return None;
        }
        let mut rest = Vec::with_capacity(128);
        rest.push(b'{');
        let mut found = None;
        at = blank(json, at + 1);
        if json.get(at) == Some(&b'}') {
            at += 1;
        } else {
            loop {
                at = blank(json, at);
                let (key_end, escaped) = string(json, at)?;
                let name = json.get(at + 1..key_end - 1)?;
                if escaped {
                    return None;
                }
                let colon = blank(json, key_end);
                if json.get(colon) != Some(&b':') {
                    return None;
                }
                let start = blank(json, colon + 1);
                let end = value(json, start)?;
                if names.iter().any(|n| n.as_bytes() == name) {
                    if found.replace(start..end).is_some() {
                        return None;
                    }
                } else {
                    if rest.len() > 1 {
                        rest.push(b',');
                    }
                    rest.extend_from_slice(json.get(at..key_end)?);
                    rest.push(b':');
                    rest.extend_from_slice(json.get(start..end)?);
                }
                at = blank(json, end);
                match json.get(at) {
                    Some(b',') => at += 1,
                    Some(b'}') => {
                        at += 1;
                        break;
                    }
                    _ => return None,
                }
            }
        }
        if blank(json, at) != json.len() {
            return None;
        }
        rest.push(b'}');
        Some((found, rest))
    }

    /// The quick reading of a page, from both ends: the small fields (strings and scalars) from
    /// the start up to the first array or object, which must be the field named one of `names`,
    /// and from the end back to the last array or object. The items are taken to be what lies
    /// between; copied are the small fields. `None` when the page does not have that shape.
    ///
    /// Only the ends of a page are read, whatever its size. Should more than the items lie
    /// between (another array or object after them), decoding the items fails, and the page
    /// is read again with [`split`].
    pub(super) fn ends(json: &[u8], names: &[&str]) -> Option<(Range<usize>, Vec<u8>)> {
        let mut rest = Vec::with_capacity(128);
        rest.push(b'{');
        let mut at = blank(json, 0);
        if json.get(at) != Some(&b'{') {
            return None;
        }
        at += 1;
        let start = loop {
            at = blank(json, at);
            let (key_end, escaped) = string(json, at)?;
            let colon = blank(json, key_end);
            if escaped || json.get(colon) != Some(&b':') {
                return None;
            }
            let value_start = blank(json, colon + 1);
            if matches!(json.get(value_start)?, b'[' | b'{') {
                let name = json.get(at + 1..key_end - 1)?;
                if !names.iter().any(|n| n.as_bytes() == name) {
                    return None;
                }
                break value_start;
            }
            let value_end = value(json, value_start)?;
            push_field(
                &mut rest,
                json.get(at..key_end)?,
                json.get(value_start..value_end)?,
            );
            at = blank(json, value_end);
            if json.get(at) != Some(&b',') {
                return None;
            }
            at += 1;
        };
        // Back from the end: `}`, then `, "key": value` pairs of small values.
        let mut back = back_blank(json, json.len());
        if back == 0 || json.get(back - 1) != Some(&b'}') {
            return None;
        }
        back -= 1;
        let end = loop {
            back = back_blank(json, back);
            let last = *json.get(back.checked_sub(1)?)?;
            if matches!(last, b']' | b'}') {
                break back;
            }
            let value_start = back_value(json, back)?;
            let colon = back_blank(json, value_start).checked_sub(1)?;
            if json.get(colon) != Some(&b':') {
                return None;
            }
            let key_end = back_blank(json, colon);
            let key_start = back_string(json, key_end)?;
            let key = json.get(key_start..key_end)?;
            if key.contains(&b'\\') {
                return None;
            }
            push_field(&mut rest, key, json.get(value_start..back)?);
            let comma = back_blank(json, key_start).checked_sub(1)?;
            if json.get(comma) != Some(&b',') {
                return None;
            }
            back = comma;
        };
        if end <= start {
            return None;
        }
        rest.push(b'}');
        Some((start..end, rest))
    }

    fn push_field(rest: &mut Vec<u8>, key: &[u8], value: &[u8]) {
        if rest.len() > 1 {
            rest.push(b',');
        }
        rest.extend_from_slice(key);
        rest.push(b':');
        rest.extend_from_slice(value);
    }

    /// The position after the last non-whitespace byte before `at`.
    fn back_blank(json: &[u8], mut at: usize) -> usize {
        while at > 0 && matches!(json.get(at - 1), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            at -= 1;
        }
        at
    }

    /// The start of the string that ends (with its closing quote) just before `end`.
    fn back_string(json: &[u8], end: usize) -> Option<usize> {
        if end == 0 || json.get(end - 1) != Some(&b'"') {
            return None;
        }
        let mut i = end - 1;
        loop {
            i = memchr::memrchr(b'"', json.get(..i)?)?;
            // A quote after an odd number of backslashes is part of the string.
            let slashes = json
                .get(..i)?
                .iter()
                .rev()
                .take_while(|b| **b == b'\\')
                .count();
            if slashes % 2 == 0 {
                return Some(i);
            }
        }
    }

    /// The start of the small value (a string or a scalar) that ends just before `end`.
    fn back_value(json: &[u8], end: usize) -> Option<usize> {
        if json.get(end.checked_sub(1)?) == Some(&b'"') {
            return back_string(json, end);
        }
        let mut i = end;
        while i > 0
            && !matches!(
                json.get(i - 1),
                Some(b':' | b',' | b'{' | b'"' | b' ' | b'\t' | b'\n' | b'\r')
            )
        {
            i -= 1;
        }
        (i < end).then_some(i)
    }

    /// The first position from `at` that is not JSON whitespace.
    fn blank(json: &[u8], mut at: usize) -> usize {
        while matches!(json.get(at), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            at += 1;
        }
        at
    }

    /// The end (past the closing quote) of the string that starts at `at`, and whether it has
    /// escapes.
    fn string(json: &[u8], at: usize) -> Option<(usize, bool)> {
        if json.get(at) != Some(&b'"') {
            return None;
        }
        let mut i = at + 1;
        let mut escaped = false;
        loop {
            i += memchr::memchr2(b'"', b'\\', json.get(i..)?)?;
            if json.get(i) == Some(&b'"') {
                return Some((i + 1, escaped));
            }
            escaped = true;
            i += 2;
        }
    }

    /// The end of the JSON value that starts at `at`.
    fn value(json: &[u8], at: usize) -> Option<usize> {
        match json.get(at)? {
            b'"' => string(json, at).map(|(end, _)| end),
            b'[' | b'{' => nested(json, at),
            _ => {
                let mut i = at;
                while let Some(b) = json.get(i) {
                    if matches!(b, b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r') {
                        break;
                    }
                    i += 1;
                }
                (i > at).then_some(i)
            }
        }
    }

    /// The end of the array or object that starts at `at`: brackets counted outside strings.
    fn nested(json: &[u8], at: usize) -> Option<usize> {
        let mut depth = 0usize;
        let mut i = at;
        loop {
            match json.get(i)? {
                b'"' => {
                    i = string(json, i)?.0;
                    continue;
                }
                b'[' | b'{' => depth += 1,
                b']' | b'}' => {
                    depth = depth.checked_sub(1)?;
                    if depth == 0 {
                        return Some(i + 1);
                    }
                }
                _ => {}
            }
            i += 1;
        }
    }
}

/// Whether a JSON value is an empty array, without decoding it.
pub(super) fn is_empty_array(json: &[u8]) -> bool {
    json.strip_prefix(b"[")
        .is_some_and(|rest| rest.trim_ascii_start().starts_with(b"]"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Error;
    use url::Url;

    #[test]
    fn the_skim_finds_the_items_and_copies_the_rest() {
        let json = br#" {"a": "x\"]}", "results" : [{"s": "]}\\"}, [1, {}], -2.5e3, true, null],
            "next": "c1", "n": null, "o": {"p": [{}]} } "#;
        let (items, rest) = skim::split(json, &["items", "results"]).unwrap();
        let items = items.unwrap();
        let value: serde_json::Value = serde_json::from_slice(&json[items]).unwrap();
        assert_eq!(value.as_array().unwrap().len(), 5);
        let rest: serde_json::Value = serde_json::from_slice(&rest).unwrap();
        assert_eq!(
            rest,
            serde_json::json!({"a": "x\"]}", "next": "c1", "n": null, "o": {"p": [{}]}})
        );
        assert_eq!(
            skim::split(b"{}", &["results"]),
            Some((None, b"{}".to_vec()))
        );
        // What the skim does not follow is left to serde.
        for other in [
            &br#"{"results": [], "results": []}"#[..],
            br#"{"res\u0075lts": []}"#,
            br#"{"results": [1, 2}"#,
            br#"{"results": [] "next": 1}"#,
            br#"{"results": []} trailing"#,
            br#"{"results": "open"#,
            br#"[1, 2]"#,
            b"",
        ] {
            assert_eq!(
                skim::split(other, &["results"]),
                None,
                "{}",
                String::from_utf8_lossy(other)
            );
        }
    }

    #[test]
    fn the_quick_reading_takes_the_small_fields_at_both_ends() {
        let json = br#" { "next" : "c\"1", "n": -1.5, "results": [{"a": "}\\"}, [2]],
            "previous": null, "t": "x\\\"]" , "e": true } "#;
        let (items, rest) = skim::ends(json, &["results"]).unwrap();
        let value: serde_json::Value = serde_json::from_slice(&json[items]).unwrap();
        assert_eq!(value, serde_json::json!([{"a": "}\\"}, [2]]));
        let rest: serde_json::Value = serde_json::from_slice(&rest).unwrap();
        assert_eq!(
            rest,
            serde_json::json!({"next": "c\"1", "n": -1.5, "previous": null, "t": "x\\\"]", "e": true})
        );
        // Items first and last.
        let (items, rest) = skim::ends(br#"{"results":[1,2]}"#, &["results"]).unwrap();
        assert_eq!((items, rest), (11..16, b"{}".to_vec()));
        // Not that shape: another array or object first, no items, escaped keys, not an object.
        for other in [
            &br#"{"facets": {}, "results": []}"#[..],
            br#"{"next": null}"#,
            br#"{"res\u0075lts": []}"#,
            br#"{"results": [], "ne\"xt": 1}"#,
            br#"[1]"#,
            b"",
        ] {
            assert_eq!(
                skim::ends(other, &["results"]),
                None,
                "{}",
                String::from_utf8_lossy(other)
            );
        }
        // More than the items between the ends: the decode of the items fails, not silently.
        let json = br#"{"results": [1], "extra": [2], "next": "c"}"#;
        let (items, _) = skim::ends(json, &["results"]).unwrap();
        assert!(serde_json::from_slice::<Vec<u8>>(&json[items]).is_err());
    }

    #[test]
    fn pages_the_skim_does_not_follow_are_read_by_serde() {
        #[derive(serde::Deserialize)]
        struct Small {
            next: Option<String>,
        }
        let url = Url::parse("http://skim.invalid/").unwrap();
        // An escaped key: serde finds the items all the same.
        let answer = Answer::from_json(
            url.clone(),
            &br#"{"res\u0075lts": [1, 2], "next": "c"}"#[..],
        );
        let (small, items) = split_page::<Small>(&answer, &["results"], false).unwrap();
        assert_eq!(small.next.as_deref(), Some("c"));
        let items: Vec<u8> = answer.decode_part(items.unwrap(), "results").unwrap();
        assert_eq!(items, [1, 2]);
        // The field twice is a decode error naming it.
        let answer = Answer::from_json(url.clone(), &br#"{"results": [], "results": [1]}"#[..]);
        match split_page::<Small>(&answer, &["results"], false) {
            Err(Error::Decode(e)) => assert_eq!(e.path, "results"),
            other => panic!("{:?}", other.map(|(_, at)| at)),
        }
        // `null` is no items; broken JSON is a decode error.
        let answer = Answer::from_json(url.clone(), &br#"{"results": null, "next": null}"#[..]);
        assert_eq!(
            split_page::<Small>(&answer, &["results"], false).unwrap().1,
            None
        );
        let answer = Answer::from_json(url, &br#"{"results": [1, "next": null}"#[..]);
        assert!(matches!(
            split_page::<Small>(&answer, &["results"], false),
            Err(Error::Decode(_))
        ));
    }

    #[test]
    fn empty_arrays_are_told_without_decoding() {
        for empty in ["[]", "[ ]", "[\n\t]"] {
            assert!(is_empty_array(empty.as_bytes()), "{empty}");
        }
        for full in ["[1]", "[ {} ]", "{}", "null", "\"[]\""] {
            assert!(!is_empty_array(full.as_bytes()), "{full}");
        }
    }
}
