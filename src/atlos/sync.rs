//! Incremental reading: only the incidents or updates that changed since a [`Checkpoint`].
//!
//! Atlos lists both newest first, has no `since` filter, and signs its cursors for 24 hours
//! (`Phoenix.Token.verify(..., max_age: 86400)` in atlosdotorg/atlos
//! `platform/lib/platform_web/controllers/api/api_v2_controller.ex`): a cursor cannot be kept
//! from one run to the next. So a read starts from the newest item and stops where the last
//! completed read began. Updates are ordered by `inserted_at`, then `id`, both descending
//! (`Updates.query_updates_paginated`, `platform/lib/platform/updates.ex`); incidents are read
//! with `sort=modified_desc`, ordered by `updated_at` (`MediaSearch.apply_sort`,
//! `platform/lib/platform/material/media_search.ex`), so an incident edited since comes again.
//! The server's timestamps have whole seconds, so the checkpoint keeps the newest second seen
//! and the ids of every item of that second: an item written later in that same second is
//! still found.

use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use chrono::{DateTime, Utc};
use futures::stream::BoxStream;
use futures::{Stream, StreamExt};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::{Error, Result};
use crate::paginate::Paginator;

/// Where the last completed read of a listing's changes began: the caller stores it (it is
/// small, and serde-serializable) and hands it to the next read. [`Checkpoint::default`]
/// has seen nothing: a read from it returns the whole listing.
///
/// ```
/// # async fn run(atlos: casefile::atlos::Client) -> casefile::Result<()> {
/// use casefile::atlos::Checkpoint;
/// use futures::TryStreamExt;
///
/// // No checkpoint yet, or one that cannot be read: everything is read (again).
/// let since: Checkpoint = std::fs::read_to_string("updates.checkpoint")
///     .ok()
///     .and_then(|text| serde_json::from_str(&text).ok())
///     .unwrap_or_default();
/// let mut changes = atlos.updates().list().changes(&since).stream();
/// while let Some(update) = changes.try_next().await? {
///     println!("{} {}", update.inserted_at, update.kind);
/// }
/// // Only a read that went to its end gives a checkpoint.
/// if let Some(next) = changes.checkpoint() {
///     let text = serde_json::to_string(&next).expect("a checkpoint is JSON");
///     std::fs::write("updates.checkpoint", text).expect("written");
/// }
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Checkpoint {
    /// The listing it was taken from: `updates`, `updates?slug=AD12H4`, `incidents`, or
    /// `incidents#<digest>` for incidents with filters (a digest, so that a search term is
    /// not stored); empty before the first completed read. A checkpoint of another listing is
    /// refused.
    #[serde(default)]
    pub listing: String,
    /// The time of the newest item seen (an incident's `updated_at`, an update's
    /// `inserted_at`); `None` when the listing was empty.
    #[serde(default)]
    pub at: Option<DateTime<Utc>>,
    /// The ids of the items seen with that time.
    #[serde(default)]
    pub ids: Vec<Uuid>,
}

/// A read of the changes of a listing since a [`Checkpoint`], from `changes` on
/// [`ListIncidents`](super::ListIncidents::changes) or
/// [`ListUpdates`](super::ListUpdates::changes). Not awaitable: [`stream`](Self::stream) it.
#[must_use = "a listing does nothing until it is streamed"]
pub struct ReadChanges<T> {
    paginator: Paginator<T>,
    listing: String,
    since: Checkpoint,
    key: fn(&T) -> (DateTime<Utc>, Uuid),
    max_items: Option<u64>,
}

impl<T> std::fmt::Debug for ReadChanges<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReadChanges")
            .field("listing", &self.listing)
            .field("since", &self.since)
            .field("max_items", &self.max_items)
            .finish_non_exhaustive()
    }
}

impl<T: Send + 'static> ReadChanges<T> {
    pub(super) fn new(
        paginator: Paginator<T>,
        listing: String,
        since: &Checkpoint,
        key: fn(&T) -> (DateTime<Utc>, Uuid),
    ) -> Self {
        ReadChanges {
            paginator,
            listing,
            since: since.clone(),
            key,
            max_items: None,
        }
    }

    /// Reads at most `n` items of the listing: a read that has not reached the checkpoint by
    /// then ends with [`Error::Pagination`] (and gives no checkpoint) instead of going on.
    /// (The listing's own `max_items` and `max_pages` are not applied to a read of changes:
    /// they end a listing quietly, which would give a checkpoint past unread changes.)
    pub fn max_items(mut self, n: u64) -> Self {
        self.max_items = Some(n);
        self
    }

    /// The items that changed since the checkpoint, newest first, then the end; after the end,
    /// [`Changes::checkpoint`] gives the checkpoint for the next read.
    ///
    /// A read that breaks (an error of the server or the network, a cursor the server no
    /// longer accepts) ends with that error and gives no checkpoint: the next read, from the
    /// old checkpoint, returns again what this one returned (at least once, never lost). A read
    /// that goes to the end of the listing without reaching the checkpoint (its items gone, or
    /// it belongs to another project) ends with [`Error::Pagination`]; start again from
    /// [`Checkpoint::default`]. A checkpoint of another listing is refused before any request
    /// ([`Error::InvalidInput`]).
    pub fn stream(self) -> Changes<T> {
        let done: Arc<Mutex<Option<Checkpoint>>> = Arc::default();
        let finish = done.clone();
        let ReadChanges {
            mut paginator,
            listing,
            since,
            key,
            max_items,
        } = self;
        let inner = async_stream::stream! {
            if !since.listing.is_empty() && since.listing != listing {
                yield Err(Error::invalid(
                    "checkpoint",
                    format!("it was taken from `{}`, not `{listing}`", since.listing),
                ));
                return;
            }
            // Nothing to reach: a checkpoint that has seen nothing, or an empty listing.
            let mut met = since.at.is_none();
            let mut newest: Option<(DateTime<Utc>, Vec<Uuid>)> = None;
            let mut read = 0u64;
            while let Some(item) = paginator.next().await {
                let item = match item {
                    Ok(item) => item,
                    Err(error) => {
                        yield Err(error);
                        return;
                    }
                };
                read += 1;
                let (at, id) = key(&item);
                let known = since.ids.contains(&id);
                met |= known;
                if since.at.is_some_and(|last| at < last) {
                    met = true;
                    break;
                }
                match &mut newest {
                    None => newest = Some((at, vec![id])),
                    Some((time, ids)) if *time == at => ids.push(id),
                    Some(_) => {}
                }
                if since.at == Some(at) && known {
                    continue;
                }
                if max_items.is_some_and(|max| read > max) {
                    yield Err(Error::Pagination(format!(
                        "read {} items of `{listing}` without reaching the checkpoint",
                        read - 1
                    )));
                    return;
                }
                yield Ok(item);
            }
            if !met {
                yield Err(Error::Pagination(format!(
                    "`{listing}` ended without reaching the checkpoint (items of {}); \
                     start again from an empty checkpoint",
                    since.at.map(|t| t.to_rfc3339()).unwrap_or_default()
                )));
                return;
            }
            let next = match newest {
                Some((at, ids)) => Checkpoint { listing, at: Some(at), ids },
                None => Checkpoint { listing, ..since },
            };
            *finish.lock().unwrap_or_else(|p| p.into_inner()) = Some(next);
        };
        Changes {
            inner: inner.boxed(),
            done,
        }
    }
}

/// The changes of a listing since a [`Checkpoint`], newest first; from
/// [`ReadChanges::stream`].
pub struct Changes<T> {
    inner: BoxStream<'static, Result<T>>,
    done: Arc<Mutex<Option<Checkpoint>>>,
}

impl<T> std::fmt::Debug for Changes<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Changes")
            .field("checkpoint", &self.checkpoint())
            .finish_non_exhaustive()
    }
}

impl<T> Changes<T> {
    /// The checkpoint for the next read: `Some` only once the stream has ended without an
    /// error (every change was read), `None` before that and after an error.
    pub fn checkpoint(&self) -> Option<Checkpoint> {
        self.done.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

impl<T> Stream for Changes<T> {
    type Item = Result<T>;

    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Self::Item>> {
        self.inner.poll_next_unpin(cx)
    }
}
