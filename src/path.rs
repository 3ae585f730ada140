//! Building request URLs from path segments.
//!
//! Every identifier a caller hands casefile (a slug, an id, a namespace, an attribute name) ends
//! up in a URL path. Each one is percent-encoded as exactly one segment, so `a/b`, `..`, `?x` or
//! `%2F` can never change which route the server sees; the two segments that no encoding can make
//! harmless (`.` and `..`) and the empty segment are refused before anything is sent.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use url::Url;

use crate::error::{Error, Result};

/// Everything except RFC 3986's unreserved characters is encoded.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Checks that `segment` can stand as one path segment.
pub(crate) fn check_segment(argument: &'static str, segment: &str) -> Result<()> {
    match segment {
        "" => Err(Error::invalid(argument, "must not be empty")),
        "." | ".." => Err(Error::invalid(
            argument,
            format!("`{segment}` is not a valid path segment"),
        )),
        _ => Ok(()),
    }
}

/// `base` (which ends with `/`) followed by each of `segments`, percent-encoded.
///
/// `segments` pairs each value with the argument name used in an error.
pub(crate) fn join(base: &Url, segments: &[&str]) -> Result<Url> {
    let mut path = String::with_capacity(base.path().len() + 64);
    path.push_str(base.path());
    for (i, segment) in segments.iter().enumerate() {
        check_segment("path segment", segment)?;
        if i > 0 {
            path.push('/');
        }
        path.extend(utf8_percent_encode(segment, SEGMENT));
    }
    let mut url = base.clone();
    url.set_path(&path);
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> Url {
        Url::parse("https://h.example.org/api/v2/").unwrap()
    }

    #[test]
    fn each_segment_stays_one_segment() {
        let url = join(&base(), &["source_material", "a/b?c#d%2F e", "ü"]).unwrap();
        assert_eq!(
            url.as_str(),
            "https://h.example.org/api/v2/source_material/a%2Fb%3Fc%23d%252F%20e/%C3%BC"
        );
        assert_eq!(url.path_segments().unwrap().count(), 5);
    }

    #[test]
    fn dot_segments_and_empty_are_refused() {
        for bad in ["", ".", ".."] {
            assert!(matches!(
                join(&base(), &["x", bad]),
                Err(Error::InvalidInput { .. })
            ));
        }
        // Dots inside a longer segment are harmless.
        assert!(join(&base(), &["..a"]).is_ok());
    }

    proptest::proptest! {
        #[test]
        fn any_identifier_is_one_segment_that_decodes_back(id in proptest::prelude::any::<String>()) {
            proptest::prop_assume!(!matches!(id.as_str(), "" | "." | ".."));
            let url = join(&base(), &["things", &id]).unwrap();
            let segments: Vec<&str> = url.path_segments().unwrap().collect();
            proptest::prop_assert_eq!(segments.len(), 4);
            let decoded = percent_encoding::percent_decode_str(segments[3]).decode_utf8().unwrap();
            proptest::prop_assert_eq!(decoded.as_ref(), id.as_str());
            proptest::prop_assert!(url.query().is_none() && url.fragment().is_none());
            proptest::prop_assert_eq!(url.host_str(), Some("h.example.org"));
        }
    }
}
