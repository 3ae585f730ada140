//! The bulk-load engine: [`Collections::bulk`] and [`Collections::bulk_stream`] write entities
//! into a collection in chunks of `POST /collections/{id}/_bulk`, several at once
//! ([`BulkLoad`]), and tell what was written ([`BulkReport`], or the [`PartialError`] of a load
//! that stopped).

use std::fmt;

use futures::stream::BoxStream;
use futures::{Stream, StreamExt};
use serde::Serialize;

use super::collections::Collections;
use super::entities::{Entity, WriteEntity};
use crate::error::{Error, PartialError, Result};
use crate::progress::{Progress, Reporter, Unit};
use crate::transport::{RetryPolicy, Transport};

impl Collections {
    /// `POST /collections/{id}/_bulk`: writes `entities` in chunks (1000 by default), several
    /// chunks at once. See [`BulkLoad`].
    ///
    /// ```no_run
    /// # async fn run(aleph: casefile::aleph::Client, entities: Vec<casefile::aleph::Entity>) -> casefile::Result<()> {
    /// let report = aleph.collections().bulk("4", entities).chunk_size(500).await?;
    /// println!("{} entities in {} requests", report.entities, report.chunks);
    /// # Ok(()) }
    /// ```
    pub fn bulk<I>(&self, id: impl fmt::Display, entities: I) -> BulkLoad
    where
        I: IntoIterator<Item = Entity>,
        I::IntoIter: Send + 'static,
    {
        self.bulk_stream(id, futures::stream::iter(entities.into_iter().map(Ok)))
    }

    /// Like [`Collections::bulk`] for entities that arrive as a stream (read from a file, from
    /// another collection's [`stream_entities`](Collections::stream_entities), ...). An error
    /// in the stream stops the load; what was written is in the [`PartialError`].
    pub fn bulk_stream<S>(&self, id: impl fmt::Display, entities: S) -> BulkLoad
    where
        S: Stream<Item = Result<Entity>> + Send + 'static,
    {
        BulkLoad {
            transport: self.transport.clone(),
            id: id.to_string(),
            entities: entities.boxed(),
            chunk_size: 1000,
            concurrency: 4,
            retry: None,
            flags: BulkFlags::default(),
            progress: None,
        }
    }
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
/// [`retry`](Self::retry) for this load. Every entity needs an `id` (Aleph refuses the whole chunk otherwise);
/// one without is refused before its chunk is sent.
///
/// `.await` gives a [`BulkReport`] or an [`Error::Partial`] whose [`PartialError`] lists the ids
/// of the entities that were not written.
#[must_use = "a bulk load does nothing until it is sent or awaited"]
pub struct BulkLoad {
    transport: Transport,
    id: String,
    entities: BoxStream<'static, Result<Entity>>,
    chunk_size: usize,
    concurrency: usize,
    retry: Option<RetryPolicy>,
    flags: BulkFlags,
    progress: Option<Reporter>,
}

impl fmt::Debug for BulkLoad {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BulkLoad")
            .field("collection", &self.id)
            .field("chunk_size", &self.chunk_size)
            .field("concurrency", &self.concurrency)
            .field("retry", &self.retry)
            .field("flags", &self.flags)
            .finish_non_exhaustive()
    }
}

/// What a bulk load wrote.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct BulkReport {
    /// Entities written.
    pub entities: u64,
    /// Chunks (requests) that succeeded.
    pub chunks: u64,
    /// Times a chunk was sent again after a transient failure (each retry counts once).
    pub retries: u64,
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
            id,
            mut entities,
            chunk_size,
            concurrency,
            retry,
            flags,
            progress,
        } = self;
        let mut written = BulkReport::default();
        let mut not_written = Vec::new();
        let mut read = 0u64;
        let fail = |source, written: BulkReport, not_done, read| PartialError {
            operation: format!("bulk load into collection {id}"),
            done: written.entities,
            requests: written.chunks,
            retries: written.retries,
            read,
            not_done,
            source,
        };
        if chunk_size == 0 || concurrency == 0 {
            let what = if chunk_size == 0 {
                "chunk size"
            } else {
                "concurrency"
            };
            let source = Error::invalid("bulk", format!("the {what} must be at least 1"));
            return Err(fail(source, written, not_written, read).into());
        }
        if let Err(source) = crate::path::check_segment("collection id", &id) {
            return Err(fail(source, written, not_written, read).into());
        }
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
                            read += 1;
                            let schema_ok = !entity.schema.trim().is_empty();
                            match entity.id.as_deref().filter(|i| !i.is_empty() && schema_ok) {
                                Some(entity_id) => {
                                    ids.push(entity_id.to_owned());
                                    batch.push(entity);
                                }
                                None => {
                                    failure = Some(Error::invalid(
                                        "entity",
                                        format!(
                                            "entity #{read} ({}) lacks an id or a schema; \
                                             Aleph refuses the whole chunk for it",
                                            entity.id.as_deref().unwrap_or("no id")
                                        ),
                                    ));
                                    break;
                                }
                            }
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
                    not_written.extend(ids);
                    failure.get_or_insert(e);
                }
                Err(e) => {
                    failure.get_or_insert(Error::Config(format!("a bulk chunk task failed: {e}")));
                }
            }
        }
        match failure {
            None => Ok(written),
            Some(source) => Err(fail(source, written, not_written, read).into()),
        }
    }
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
