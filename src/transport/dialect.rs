//! [`Dialect`]: what one platform's API adds to plain JSON over HTTP. The transport knows no
//! platform; each platform module hands its dialect to the builder, and every request of its
//! client goes through it.

use std::ops::Range;

use crate::error::ApiError;

/// How one platform speaks: how its refusals are classified and where the payload of a success
/// answer is. Every answer of every request of a client passes through its dialect, so an
/// operation is only "segments + query/body + send".
#[derive(Clone, Copy)]
pub(crate) struct Dialect {
    /// Sets an error's [`kind`](crate::ErrorKind) from the platform's messages and codes.
    pub(crate) classify: fn(&mut ApiError),
    /// A query parameter every request to the platform's own origin carries (Atlas:
    /// `envelope=true`).
    pub(crate) query: Option<(&'static str, &'static str)>,
    /// Reads a success body: where its payload is, or the refusal it holds although HTTP said
    /// success (an Atlos `{"error"}` or an Atlas envelope with an error status).
    pub(crate) unwrap: fn(&[u8]) -> Unwrapped,
}

impl Dialect {
    /// Plain JSON over HTTP: what a bare [`Transport`](super::Transport) speaks.
    pub(crate) const PLAIN: Dialect = Dialect {
        classify: |_| {},
        query: None,
        unwrap: |body| Unwrapped::Json(0..body.len()),
    };
}

/// What a success body holds, as its platform's [`Dialect`] reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Unwrapped {
    /// The payload is this part of the body.
    Json(Range<usize>),
    /// The body says the call succeeded and carries no payload (Atlos `{"success": true}`):
    /// decoding it is decoding `null`.
    Nothing,
    /// The body is a refusal: its status (the HTTP one if it has none of its own), the part of
    /// the body that reads as an error body, and a message for a refusal that gives none.
    Refused {
        /// The status the refusal carries.
        status: u16,
        /// Where the error body is.
        body: Range<usize>,
        /// Said when the error body has no message.
        message: Option<&'static str>,
    },
}
