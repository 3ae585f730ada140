//! Entity id namespaces, as Aleph applies them to entities written through `_bulk`.
//!
//! Aleph does not store a bulk-loaded entity under the id it was sent with: it signs it with the
//! collection's namespace (the followthemoney `Namespace` of the collection's `foreign_id`, see
//! `aleph/logic/processing.py` `bulk_write` and `followthemoney/namespace.py`). The stored id is
//! `<plain id>.<signature>`, where the signature is the hex HMAC-SHA1 of the plain id keyed with
//! the collection's foreign id, and every entity-typed property (an `Ownership`'s `owner`, ...)
//! is signed the same way. `GET /entities/<id as sent>` is then a 404; [`namespaced_id`] gives
//! the id to read it back with.

use sha1::{Digest, Sha1};

/// SHA-1's block size, the HMAC key block.
const BLOCK: usize = 64;

/// The id Aleph stores an entity under when it was written with id `entity_id` into the
/// collection whose foreign id is `foreign_id`: `<plain id>.<hex HMAC-SHA1(foreign_id, plain id)>`.
///
/// As followthemoney does, a previous signature (whatever follows the last `.`) is replaced, so
/// signing twice gives the same id, and an empty `foreign_id` gives the plain id. `None` when
/// the id is not a valid entity id (after trimming: ASCII letters, digits, `.` and `-`, starting
/// and ending with a letter or digit); Aleph refuses such an entity with "No ID for entity".
///
/// ```
/// # #[cfg(feature = "aleph")] {
/// use casefile::aleph::namespaced_id;
///
/// let id = namespaced_id("leak-2026", "fid-a").unwrap();
/// assert!(id.starts_with("fid-a."));
/// assert_eq!(namespaced_id("leak-2026", &id).as_deref(), Some(id.as_str()));
/// # }
/// ```
pub fn namespaced_id(foreign_id: &str, entity_id: &str) -> Option<String> {
    let plain = plain_id(entity_id)?;
    if foreign_id.is_empty() {
        return Some(plain.to_owned());
    }
    let signature: String = hmac_sha1(foreign_id.as_bytes(), plain.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    Some(format!("{plain}.{signature}"))
}

/// The id without its namespace signature (the part before the last `.`), or `None` when it is
/// not a valid entity id.
fn plain_id(entity_id: &str) -> Option<&str> {
    let id = entity_id.trim();
    is_entity_id(id).then(|| id.rsplit_once('.').map_or(id, |(plain, _)| plain))
}

/// Whether `id` is a FollowTheMoney entity id: `^[0-9a-zA-Z]([0-9a-zA-Z.-]*[0-9a-zA-Z])?$`
/// (followthemoney `types/entity.py` `REGEX_RAW`).
pub(crate) fn is_entity_id(id: &str) -> bool {
    let bytes = id.as_bytes();
    match (bytes.first(), bytes.last()) {
        (Some(first), Some(last)) => {
            first.is_ascii_alphanumeric()
                && last.is_ascii_alphanumeric()
                && bytes
                    .iter()
                    .all(|b| b.is_ascii_alphanumeric() || *b == b'.' || *b == b'-')
        }
        _ => false,
    }
}

/// HMAC (RFC 2104) over SHA-1.
fn hmac_sha1(key: &[u8], message: &[u8]) -> [u8; 20] {
    let mut block = [0u8; BLOCK];
    if key.len() > BLOCK {
        block[..20].copy_from_slice(&Sha1::digest(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let pad = |byte: u8| block.map(|b| b ^ byte);
    let inner = Sha1::new()
        .chain_update(pad(0x36))
        .chain_update(message)
        .finalize();
    Sha1::new()
        .chain_update(pad(0x5c))
        .chain_update(inner)
        .finalize()
        .into()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 2202 test case 2 (and case 6, a key longer than a block).
    #[test]
    fn hmac_sha1_matches_rfc_2202() {
        let hex = |b: [u8; 20]| b.iter().map(|b| format!("{b:02x}")).collect::<String>();
        assert_eq!(
            hex(hmac_sha1(b"Jefe", b"what do ya want for nothing?")),
            "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79"
        );
        assert_eq!(
            hex(hmac_sha1(
                &[0xaa; 80],
                b"Test Using Larger Than Block-Size Key - Hash Key First"
            )),
            "aa4ae5e15272d00e95705637ce8a3b55ed402112"
        );
    }

    #[test]
    fn invalid_ids_have_no_namespaced_form() {
        for id in ["", " ", "fid_a", "-a", "a-", "a.", "ä"] {
            assert_eq!(namespaced_id("ns", id), None, "{id:?}");
        }
        assert_eq!(namespaced_id("", " a.b ").as_deref(), Some("a"));
    }
}
