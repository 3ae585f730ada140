//! The bulk-load engine: [`Collections::bulk`] and [`Collections::bulk_stream`] write entities
//! into a collection in chunks of `POST /collections/{id}/_bulk`, several at once
//! ([`BulkLoad`]), and tell what was written ([`BulkReport`], or the [`PartialError`] of a load
//! that stopped).

use std::fmt;

use futures::stream::BoxStream;
use futures::{Stream, StreamExt};
use serde::Serialize;

use super::Known;
use super::collections::Collections;
use super::entities::{Entity, WriteEntity};
use super::validate::{Invalid, Problem};
use crate::error::{Error, PartialError, Rejected, Result};
use crate::progress::{Progress, Reporter, Unit};
use crate::transport::{RetryPolicy, Transport};

impl Collections {
    /// `POST /collections/{id}/_bulk`: writes `entities` in chunks (1000 by default), several
    /// chunks at once. See [`BulkLoad`].
    ///
    /// The entities are first checked against the server's model ([`Client::model`], fetched
    /// once per client; [`Model::check`] says what is checked): if any does not fit, nothing
    /// is sent and the [`PartialError`] lists every bad entity with its index and problems in
    /// [`rejected`](PartialError::rejected). To be checked before anything is sent, the entities
    /// are read whole first and held in memory until they are sent; for a load too large for
    /// memory use [`bulk_stream`](Collections::bulk_stream), which checks each entity as it
    /// reads it. [`validate(false)`](BulkLoad::validate) skips the check, and then `entities` is
    /// read as the chunks are sent.
    ///
    /// ```no_run
    /// # async fn run(aleph: casefile::aleph::Client, entities: Vec<casefile::aleph::Entity>) -> casefile::Result<()> {
    /// let report = aleph.collections().bulk("4", entities).chunk_size(500).await?;
    /// println!("{} entities in {} requests", report.entities, report.chunks);
    /// # Ok(()) }
    /// ```
    ///
    /// [`Client::model`]: super::Client::model
    /// [`Model::check`]: super::Model::check
    pub fn bulk<I>(&self, id: impl fmt::Display, entities: I) -> BulkLoad
    where
        I: IntoIterator<Item = Entity>,
        I::IntoIter: Send + 'static,
    {
        self.load(id, Input::Iter(Box::new(entities.into_iter())))
    }

    /// Like [`Collections::bulk`] for entities that arrive as a stream (read from a file, from
    /// another collection's [`stream_entities`](Collections::stream_entities), ...). An error
    /// in the stream stops the load; what was written is in the [`PartialError`].
    ///
    /// A stream may be endless, so it cannot be checked before the first request: each entity
    /// is checked as it is read ([`Model::check`](super::Model::check)), and one that does not
    /// fit is never sent. It stops the load (the [`PartialError`] names it in
    /// [`rejected`](PartialError::rejected); chunks already sent stay written), or with
    /// [`keep_going(true)`](BulkLoad::keep_going) it is recorded in
    /// [`BulkReport::rejected`] and the load goes on.
    pub fn bulk_stream<S>(&self, id: impl fmt::Display, entities: S) -> BulkLoad
    where
        S: Stream<Item = Result<Entity>> + Send + 'static,
    {
        self.load(id, Input::Stream(entities.boxed()))
    }

    fn load(&self, id: impl fmt::Display, entities: Input) -> BulkLoad {
        BulkLoad {
            transport: self.transport.clone(),
            known: self.known.clone(),
            id: id.to_string(),
            entities,
            chunk_size: 1000,
            concurrency: 4,
            retry: None,
            flags: BulkFlags::default(),
            progress: None,
            validate: true,
            keep_going: false,
        }
    }
}

/// The entities of a load.
enum Input {
    /// An iterator: read whole and checked before the first request, or read as the chunks are
    /// sent when nothing is checked.
    Iter(Box<dyn Iterator<Item = Entity> + Send>),
    /// A stream: checked as it is read.
    Stream(BoxStream<'static, Result<Entity>>),
}

/// The query flags of `_bulk`.
#[derive(Debug, Clone, Default, Serialize)]
struct BulkFlags {
    #[serde(skip_serializing_if = "Option::is_none")]
    safe: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    clean: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    mutable: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    entityset_id: Option<String>,
}

/// Writes entities into a collection in chunks; from [`Collections::bulk`].
///
/// Each chunk is one `POST /collections/{id}/_bulk` of a JSON array of entities; up to
/// [`concurrency`](Self::concurrency) chunks are in flight at once. A `_bulk` write is an upsert
/// by entity id (Aleph's `bulk_write` in `aleph/logic/processing.py` puts each entity into the
/// collection's store under its id), so its request is marked
/// [idempotent](crate::RequestBuilder::idempotent): a chunk that failed with a server error
/// (5xx), an idle timeout or a broken connection is sent again by the transport's one retry loop,
/// with the client's [`RetryPolicy`] (attempts, waits, budget,
/// `Retry-After`), or the one given to
/// [`retry`](Self::retry) for this load.
///
/// Entities are checked against the server's model first (see [`validate`](Self::validate)):
/// Aleph refuses a whole chunk for an unknown schema or a missing id, and silently drops
/// unknown properties and values that do not fit their type (`aleph/logic/processing.py`,
/// followthemoney `proxy.py`). Even with [`validate(false)`](Self::validate), an entity without
/// an id or a schema is refused before its chunk is sent.
///
/// `.await` gives a [`BulkReport`] or an [`Error::Partial`] whose [`PartialError`] lists the ids
/// of the entities that were not written and the entities refused before sending. With
/// [`keep_going(true)`](Self::keep_going) a failed chunk or a bad entity does not stop the
/// load: `.await` gives the report, which lists them.
#[must_use = "a bulk load does nothing until it is sent or awaited"]
pub struct BulkLoad {
    transport: Transport,
    known: Known,
    id: String,
    entities: Input,
    chunk_size: usize,
    concurrency: usize,
    retry: Option<RetryPolicy>,
    flags: BulkFlags,
    progress: Option<Reporter>,
    validate: bool,
    keep_going: bool,
}

impl fmt::Debug for BulkLoad {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BulkLoad")
            .field("collection", &self.id)
            .field("chunk_size", &self.chunk_size)
            .field("concurrency", &self.concurrency)
            .field("retry", &self.retry)
            .field("flags", &self.flags)
            .field("validate", &self.validate)
            .field("keep_going", &self.keep_going)
            .finish_non_exhaustive()
    }
}

/// What a bulk load wrote, and with [`BulkLoad::keep_going`] what it could not write.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct BulkReport {
    /// Entities written.
    pub entities: u64,
    /// Chunks (requests) that succeeded.
    pub chunks: u64,
    /// Times a chunk was sent again after a transient failure (each retry counts once).
    pub retries: u64,
    /// With [`keep_going`](BulkLoad::keep_going): the chunks that still failed after the
    /// retries, with their entities' ids and the server's message. Their entities were not
    /// written (as far as the client can tell).
    pub failed: Vec<FailedChunk>,
    /// With [`keep_going`](BulkLoad::keep_going) on a [`bulk_stream`](Collections::bulk_stream):
    /// the entities that did not fit the model and were not sent, each with its index in the
    /// input and the problems.
    pub rejected: Vec<Rejected>,
}

impl BulkReport {
    /// Whether everything read was written: no failed chunk and no rejected entity.
    pub fn is_complete(&self) -> bool {
        self.failed.is_empty() && self.rejected.is_empty()
    }
}

/// A chunk that still failed after the transport's retries, in [`BulkReport::failed`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct FailedChunk {
    /// The ids of its entities, in input order.
    pub ids: Vec<String>,
    /// The HTTP status of the last answer, if there was one.
    pub status: Option<u16>,
    /// The server's message (for an answer without one, or no answer at all, the error).
    pub message: String,
}

impl FailedChunk {
    fn new(ids: Vec<String>, error: &Error) -> Self {
        FailedChunk {
            ids,
            status: error.status(),
            message: match error.api() {
                Some(api) => api.message.clone(),
                None => error.to_string(),
            },
        }
    }
}

/// Whether a chunk's failure would be every later chunk's too, so that even
/// [`BulkLoad::keep_going`] stops: the key is refused (401), the caller may not write (403), the
/// collection is gone (404).
fn stops_every_chunk(error: &Error) -> bool {
    matches!(error.status(), Some(401 | 403 | 404))
}

/// The message of a load refused before sending: how many entities are bad and the first few.
fn summary(invalid: &[Invalid], total: usize) -> String {
    const SHOWN: usize = 5;
    let mut text = format!(
        "{} of {total} entities do not fit the server's model, so nothing was sent: ",
        invalid.len()
    );
    let shown: Vec<String> = invalid
        .iter()
        .take(SHOWN)
        .map(ToString::to_string)
        .collect();
    text.push_str(&shown.join(" | "));
    if invalid.len() > SHOWN {
        text.push_str(&format!(
            " | … {} more (every one is in PartialError::rejected)",
            invalid.len() - SHOWN
        ));
    }
    text
}

impl BulkLoad {
    /// Entities per request (default 1000, as alephclient).
    pub fn chunk_size(mut self, n: usize) -> Self {
        self.chunk_size = n;
        self
    }

    /// Requests in flight at once (default 4).
    pub fn concurrency(mut self, n: usize) -> Self {
        self.concurrency = n;
        self
    }

    /// Retries each chunk with `policy` instead of the client's
    /// ([`RetryPolicy`]: attempts, waits, budget, `Retry-After`), e.g.
    /// `client.transport().retry_policy().clone().max_retries(2)`.
    pub fn retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = Some(policy);
        self
    }

    /// Whether to check the entities against the server's model before sending them (default
    /// `true`; the model is fetched from `GET /metadata` once per client). [`Collections::bulk`]
    /// checks all of them before the first request; [`Collections::bulk_stream`] checks each
    /// as it is read. `false` sends them as they are, for entities known to fit or a server
    /// whose `/metadata` has no model; an entity without an id or a schema is still refused.
    pub fn validate(mut self, validate: bool) -> Self {
        self.validate = validate;
        self
    }

    /// `true` goes on past a chunk that still fails after the retries, and past an entity of a
    /// [`bulk_stream`](Collections::bulk_stream) that does not fit the model: each is recorded
    /// in the [`BulkReport`] ([`failed`](BulkReport::failed) with its entities' ids and the
    /// server's message, [`rejected`](BulkReport::rejected) with its index), and `.await`
    /// gives the report; check [`BulkReport::is_complete`]. Default `false`: the first failure
    /// stops the load with an [`Error::Partial`].
    ///
    /// Even so, a refused key (401), a refused write (403) or a missing collection (404) stops
    /// the load, since every other chunk would fail alike; an error from the input stream stops
    /// it too. A [`bulk`](Collections::bulk) whose entities do not fit sends nothing whatever
    /// this says.
    pub fn keep_going(mut self, keep_going: bool) -> Self {
        self.keep_going = keep_going;
        self
    }

    /// `safe=false` keeps file checksums (`contentHash`) on the entities so that they link to
    /// documents already in the archive (admins only; the server ignores it for others).
    ///
    /// This is the seed API's `unsafe=true`: current servers call it `safe=false`, so
    /// `.safe(false)` is how casefile offers it.
    pub fn safe(mut self, safe: bool) -> Self {
        self.flags.safe = Some(safe);
        self
    }

    /// `clean=false` skips the server's cleaning of property values, for data already clean
    /// (admins only).
    pub fn clean(mut self, clean: bool) -> Self {
        self.flags.clean = Some(clean);
        self
    }

    /// `mutable=true` lets users edit the written entities in the UI.
    pub fn mutable(mut self, mutable: bool) -> Self {
        self.flags.mutable = Some(mutable);
        self
    }

    /// Also adds every written entity to this entity set (list, diagram, timeline).
    pub fn entityset(mut self, entityset_id: impl fmt::Display) -> Self {
        self.flags.entityset_id = Some(entityset_id.to_string());
        self
    }

    /// Calls `callback` with the number of entities written so far each time a chunk is
    /// written ([`Unit::Items`](crate::progress::Unit::Items); the total is unknown, the input
    /// being a stream).
    pub fn progress(mut self, callback: impl Fn(Progress) + Send + Sync + 'static) -> Self {
        self.progress = Some(Reporter::new(callback));
        self
    }

    /// Sends every chunk and reports what was written.
    pub async fn send(self) -> Result<BulkReport> {
        let BulkLoad {
            transport,
            known,
            id,
            entities,
            chunk_size,
            concurrency,
            retry,
            flags,
            progress,
            validate: validating,
            keep_going,
        } = self;
        let mut written = BulkReport::default();
        let mut not_written = Vec::new();
        let mut rejected = Vec::new();
        let mut read = 0u64;
        let fail = |source, written: &BulkReport, not_done, read, rejected| PartialError {
            operation: format!("bulk load into collection {id}"),
            done: written.entities,
            requests: written.chunks,
            retries: written.retries,
            read,
            not_done,
            rejected,
            source,
        };
        if chunk_size == 0 || concurrency == 0 {
            let what = if chunk_size == 0 {
                "chunk size"
            } else {
                "concurrency"
            };
            let source = Error::invalid("bulk", format!("the {what} must be at least 1"));
            return Err(fail(source, &written, not_written, read, rejected).into());
        }
        if let Err(source) = crate::path::check_segment("collection id", &id) {
            return Err(fail(source, &written, not_written, read, rejected).into());
        }
        let model = if validating {
            match known.model().await {
                Ok(model) if model.schemata.is_empty() => {
                    let source = Error::invalid(
                        "entities",
                        "the server's /metadata has no FollowTheMoney model to check the \
                         entities with; load with .validate(false)",
                    );
                    return Err(fail(source, &written, not_written, read, rejected).into());
                }
                Ok(model) => Some(model),
                Err(source) => {
                    return Err(fail(source, &written, not_written, read, rejected).into());
                }
            }
        } else {
            None
        };
        let (mut entities, checked) = match entities {
            Input::Iter(iter) if model.is_none() => {
                (futures::stream::iter(iter.map(Ok)).boxed(), false)
            }
            Input::Iter(iter) => {
                let list: Vec<Entity> = iter.collect();
                if let Some(model) = &model {
                    let invalid = super::validate(model, &list);
                    if !invalid.is_empty() {
                        let source = Error::invalid("entities", summary(&invalid, list.len()));
                        let not_done = list.iter().filter_map(|e| e.id.clone()).collect();
                        let rejected = invalid.into_iter().map(Rejected::from).collect();
                        let read = list.len() as u64;
                        return Err(fail(source, &written, not_done, read, rejected).into());
                    }
                }
                (
                    futures::stream::iter(list.into_iter().map(Ok)).boxed(),
                    true,
                )
            }
            Input::Stream(stream) => (stream, false),
        };
        // What is wrong with the entity at `index`, if anything.
        let check = |index: u64, entity: &Entity| -> Option<Invalid> {
            match &model {
                Some(_) if checked => None,
                Some(model) => model.invalid(index, entity),
                None => basic_check(index, entity),
            }
        };
        let policy = retry.unwrap_or_else(|| transport.retry_policy().clone());
        let chunk = std::sync::Arc::new(ChunkSender {
            transport,
            id: id.clone(),
            flags,
            policy,
        });
        let mut in_flight = tokio::task::JoinSet::new();
        let mut failure: Option<Error> = None;
        let mut input_done = false;
        loop {
            // Keep `concurrency` chunks in flight while the input lasts and nothing failed.
            while !input_done && failure.is_none() && in_flight.len() < concurrency {
                let mut batch = Vec::with_capacity(chunk_size.min(1024));
                let mut ids = Vec::with_capacity(chunk_size.min(1024));
                while batch.len() < chunk_size {
                    match entities.next().await {
                        Some(Ok(entity)) => {
                            let index = read;
                            read += 1;
                            if let Some(bad) = check(index, &entity) {
                                if keep_going {
                                    written.rejected.push(bad.into());
                                    continue;
                                }
                                failure = Some(Error::invalid(
                                    "entity",
                                    format!(
                                        "{bad}; the load stops here (keep_going(true) would \
                                         skip it and go on)"
                                    ),
                                ));
                                ids.extend(bad.id.clone());
                                rejected.push(bad.into());
                                break;
                            }
                            ids.push(entity.id.clone().unwrap_or_default());
                            batch.push(entity);
                        }
                        Some(Err(e)) => {
                            failure = Some(e);
                            break;
                        }
                        None => {
                            input_done = true;
                            break;
                        }
                    }
                }
                if failure.is_some() {
                    // The entities read into this chunk are not sent.
                    not_written.extend(ids);
                    input_done = true;
                } else if !batch.is_empty() {
                    let chunk = chunk.clone();
                    in_flight.spawn(async move {
                        let outcome = chunk.send(&batch).await;
                        (ids, outcome)
                    });
                }
            }
            let Some(joined) = in_flight.join_next().await else {
                break;
            };
            match joined {
                Ok((ids, Ok(retried))) => {
                    written.entities += ids.len() as u64;
                    written.chunks += 1;
                    written.retries += retried;
                    if let Some(progress) = &progress {
                        progress.report(written.entities, None, Unit::Items);
                    }
                }
                Ok((ids, Err((retried, e)))) => {
                    written.retries += retried;
                    if keep_going && !stops_every_chunk(&e) {
                        written.failed.push(FailedChunk::new(ids, &e));
                    } else {
                        not_written.extend(ids);
                        failure.get_or_insert(e);
                    }
                }
                Err(e) => {
                    failure.get_or_insert(Error::Config(format!("a bulk chunk task failed: {e}")));
                }
            }
        }
        match failure {
            None => Ok(written),
            Some(source) => {
                // What `keep_going` had set aside is not done either.
                let failed = std::mem::take(&mut written.failed);
                not_written.extend(failed.into_iter().flat_map(|chunk| chunk.ids));
                rejected.append(&mut written.rejected);
                rejected.sort_by_key(|r: &Rejected| r.index);
                Err(fail(source, &written, not_written, read, rejected).into())
            }
        }
    }
}

/// Without the model: an entity needs an id and a schema, or Aleph refuses its whole chunk
/// (`aleph/logic/processing.py` `bulk_write`, followthemoney `proxy.py`).
fn basic_check(index: u64, entity: &Entity) -> Option<Invalid> {
    let mut problems = Vec::new();
    if entity.id.as_deref().is_none_or(str::is_empty) {
        problems.push(Problem::MissingId);
    }
    if entity.schema.trim().is_empty() {
        problems.push(Problem::MissingSchema);
    }
    (!problems.is_empty()).then(|| Invalid::new(index, entity.id.clone(), problems))
}

send_on_await!(BulkLoad => BulkReport);

/// Sends one chunk; the transport retries it.
struct ChunkSender {
    transport: Transport,
    id: String,
    flags: BulkFlags,
    policy: crate::RetryPolicy,
}

impl ChunkSender {
    /// Sends `batch`; returns how many retries it took, and the error if it failed.
    async fn send(&self, batch: &[Entity]) -> std::result::Result<u64, (u64, Error)> {
        let body: Vec<WriteEntity<'_>> = batch.iter().map(WriteEntity::from).collect();
        let body = serde_json::value::to_raw_value(&body)
            .map_err(|e| (0, Error::invalid("entities", e.to_string())))?;
        let retries = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
        let counter = retries.clone();
        let result = self
            .transport
            .post(&["collections", &self.id, "_bulk"])
            .query(&self.flags)
            .json(&body)
            // An upsert by entity id: the same chunk again writes the same entities.
            .idempotent(true)
            .retry(self.policy.clone())
            .on_retry(move |_| {
                counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            })
            .send_empty()
            .await;
        let retries = retries.load(std::sync::atomic::Ordering::Relaxed);
        result.map(|()| retries).map_err(|e| (retries, e))
    }
}
