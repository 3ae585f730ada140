//! One paginator for every listing: cursors, next URLs, page numbers and offsets.
//!
//! The three platforms page in four ways ([`PageToken`]). A platform module only says how to fetch
//! the page a token names and how to read the next token from a page; [`Paginator`] does the rest:
//!
//! - it is a `Stream<Item = Result<T, Error>> + Send + 'static` of items (or, with
//!   [`Paginator::pages`], of whole pages);
//! - it fetches the next page in a background task while the caller works on the current one;
//! - for page numbers and offsets, once the first page told the total, it can fetch up to
//!   [`Paginator::concurrency`] pages at once and still yields items in order;
//! - it stops at the end: no next token, an empty page, or the total reached;
//! - a token the server hands out twice is an [`Error::Pagination`] instead of an endless loop;
//! - after yielding an error it ends.
//!
//! Nothing starts until the stream is first polled, and dropping the stream stops every fetch.
//!
//! ```
//! use casefile::{Page, PageToken, Paginator};
//! use futures::TryStreamExt;
//!
//! # async fn run() -> casefile::Result<()> {
//! // A listing of 0..250 served 100 at a time, addressed by offset.
//! let numbers = Paginator::new(|token| async move {
//!     let offset = match token {
//!         Some(PageToken::Offset { offset, .. }) => offset,
//!         _ => 0,
//!     };
//!     let items: Vec<u64> = (offset..(offset + 100).min(250)).collect();
//!     let next = (offset + 100 < 250).then(|| PageToken::Offset { offset: offset + 100, limit: 100 });
//!     Ok(Page { items, next, total: Some(250) })
//! });
//! let all: Vec<u64> = numbers.concurrency(4).try_collect().await?;
//! assert_eq!(all, (0..250).collect::<Vec<_>>());
//! # Ok(()) }
//! # tokio::runtime::Runtime::new().unwrap().block_on(run()).unwrap();
//! ```

use std::collections::HashSet;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use futures::future::BoxFuture;
use futures::{FutureExt, Stream, StreamExt};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use url::Url;

use crate::error::{Error, Result};

/// One page of a listing.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    /// The items on this page, in server order.
    pub items: Vec<T>,
    /// Where the next page is, or `None` on the last page.
    pub next: Option<PageToken>,
    /// The total number of items of the whole listing, when the server tells it.
    pub total: Option<u64>,
}

/// Where a page is: the four ways the platforms address pages.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PageToken {
    /// An opaque cursor sent back as a query parameter (Atlos `?cursor=`).
    Cursor(String),
    /// An absolute URL of the next page (Aleph `next`, Atlas `links[rel=next]`).
    NextUrl(Url),
    /// A 1-based page number and a page size (Atlas `pageNum` / `itemsPerPage`).
    Number {
        /// The page number, from 1.
        page: u64,
        /// Items per page.
        size: u64,
    },
    /// An offset into the listing and a page size (Aleph `offset` / `limit`).
    Offset {
        /// Items to skip.
        offset: u64,
        /// Items per page.
        limit: u64,
    },
}

impl fmt::Display for PageToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PageToken::Cursor(c) => write!(f, "cursor {c}"),
            PageToken::NextUrl(u) => write!(f, "next URL {}", crate::error::redact_url(u)),
            PageToken::Number { page, size } => write!(f, "page {page} (size {size})"),
            PageToken::Offset { offset, limit } => write!(f, "offset {offset} (limit {limit})"),
        }
    }
}

impl PageToken {
    /// The tokens of the pages from this one to the end of a listing of `total` items, when pages
    /// can be addressed in advance.
    fn through(&self, total: u64) -> Option<Vec<PageToken>> {
        match *self {
            PageToken::Offset { offset, limit } if limit > 0 => Some(
                (offset..total)
                    .step_by(usize::try_from(limit).ok()?)
                    .map(|offset| PageToken::Offset { offset, limit })
                    .collect(),
            ),
            PageToken::Number { page, size } if size > 0 => {
                let last = total.div_ceil(size);
                Some(
                    (page..=last)
                        .map(|page| PageToken::Number { page, size })
                        .collect(),
                )
            }
            _ => None,
        }
    }
}

type Fetch<T> = Arc<dyn Fn(Option<PageToken>) -> BoxFuture<'static, Result<Page<T>>> + Send + Sync>;

/// A stream of the items of a paginated listing. See the [module docs](self).
#[must_use = "streams do nothing unless polled"]
pub struct Paginator<T> {
    pages: Pages<T>,
    current: std::vec::IntoIter<T>,
}

/// A stream of the pages of a paginated listing, from [`Paginator::pages`].
#[must_use = "streams do nothing unless polled"]
pub struct Pages<T> {
    fetch: Fetch<T>,
    concurrency: usize,
    receiver: Option<mpsc::Receiver<Result<Page<T>>>>,
    driver: Option<AbortOnDrop<()>>,
    done: bool,
}

// Neither stream pins its items (they are only moved out of a `Vec`), so both are `Unpin`
// whatever `T` is.
impl<T> Unpin for Paginator<T> {}
impl<T> Unpin for Pages<T> {}

impl<T> fmt::Debug for Paginator<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Paginator")
            .field("concurrency", &self.pages.concurrency)
            .field("buffered", &self.current.len())
            .finish_non_exhaustive()
    }
}

impl<T> fmt::Debug for Pages<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pages")
            .field("concurrency", &self.concurrency)
            .field("started", &self.receiver.is_some())
            .field("done", &self.done)
            .finish_non_exhaustive()
    }
}

impl<T: Send + 'static> Paginator<T> {
    /// A paginator over the pages `fetch` returns: called with `None` for the first page and with
    /// the token from the previous page after that.
    pub fn new<F, Fut>(fetch: F) -> Self
    where
        F: Fn(Option<PageToken>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Page<T>>> + Send + 'static,
    {
        Paginator {
            pages: Pages {
                fetch: Arc::new(move |token| fetch(token).boxed()),
                concurrency: 1,
                receiver: None,
                driver: None,
                done: false,
            },
            current: Vec::new().into_iter(),
        }
    }

    /// Fetch up to `n` pages at once where pages can be addressed in advance (page numbers and
    /// offsets, once the total is known). Items still come in order. Default 1: one page is
    /// fetched ahead of the caller.
    pub fn concurrency(mut self, n: usize) -> Self {
        self.pages.concurrency = n.max(1);
        self
    }

    /// The stream of whole pages instead of items.
    pub fn pages(self) -> Pages<T> {
        self.pages
    }

    /// Fetches only the first page.
    pub async fn first_page(&self) -> Result<Page<T>> {
        (self.pages.fetch)(None).await
    }
}

impl<T: Send + 'static> Stream for Paginator<T> {
    type Item = Result<T>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        loop {
            if let Some(item) = this.current.next() {
                return Poll::Ready(Some(Ok(item)));
            }
            match ready!(Pin::new(&mut this.pages).poll_next(cx)) {
                Some(Ok(page)) => this.current = page.items.into_iter(),
                Some(Err(e)) => return Poll::Ready(Some(Err(e))),
                None => return Poll::Ready(None),
            }
        }
    }
}

impl<T: Send + 'static> Stream for Pages<T> {
    type Item = Result<Page<T>>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        if this.done {
            return Poll::Ready(None);
        }
        if this.receiver.is_none() {
            let Ok(runtime) = tokio::runtime::Handle::try_current() else {
                this.done = true;
                return Poll::Ready(Some(Err(Error::Config(
                    "casefile streams need a Tokio runtime".into(),
                ))));
            };
            // One page in the channel and one being fetched: the caller never waits for a page
            // it could have had, and memory stays bounded.
            let (sender, receiver) = mpsc::channel(1);
            let driver = drive(this.fetch.clone(), this.concurrency, sender);
            this.driver = Some(AbortOnDrop(runtime.spawn(driver)));
            this.receiver = Some(receiver);
        }
        let Some(receiver) = this.receiver.as_mut() else {
            return Poll::Ready(None);
        };
        let next = ready!(receiver.poll_recv(cx));
        if !matches!(next, Some(Ok(_))) {
            this.done = true;
            this.driver = None;
        }
        Poll::Ready(next)
    }
}

/// Fetches pages one after the other (one ahead of the caller) until the end, switching to
/// concurrent fetches when the pages left can be addressed in advance.
async fn drive<T: Send + 'static>(
    fetch: Fetch<T>,
    concurrency: usize,
    sender: mpsc::Sender<Result<Page<T>>>,
) {
    let mut seen = HashSet::new();
    let mut token = None;
    let mut fetched: u64 = 0;
    let mut first = true;
    loop {
        let page = match fetch(token.take()).await {
            Ok(page) => page,
            Err(e) => {
                let _ = sender.send(Err(e)).await;
                return;
            }
        };
        let empty = page.items.is_empty();
        fetched += page.items.len() as u64;
        let (next, total) = (page.next.clone(), page.total);
        // An empty first page is still a page (its total says 0); a later empty page only ends.
        if (!empty || first) && sender.send(Ok(page)).await.is_err() {
            return;
        }
        first = false;
        let Some(next) = next.filter(|_| !empty) else {
            return;
        };
        if total.is_some_and(|total| fetched >= total) {
            return;
        }
        if !seen.insert(next.clone()) {
            let message = format!("the server handed out {next} twice");
            let _ = sender.send(Err(Error::Pagination(message))).await;
            return;
        }
        if concurrency > 1
            && let Some(tokens) = total.and_then(|total| next.through(total))
        {
            return drive_concurrently(fetch, tokens, concurrency, sender).await;
        }
        token = Some(next);
    }
}

/// Fetches the pages `tokens` name, up to `concurrency` at once, and sends them in order.
async fn drive_concurrently<T: Send + 'static>(
    fetch: Fetch<T>,
    tokens: Vec<PageToken>,
    concurrency: usize,
    sender: mpsc::Sender<Result<Page<T>>>,
) {
    // Each fetch is its own task, so it progresses while this one waits to hand a page over.
    let mut pages = futures::stream::iter(tokens)
        .map(|token| AbortOnDrop(tokio::spawn(fetch(Some(token)))))
        .buffered(concurrency);
    while let Some(joined) = pages.next().await {
        let result =
            joined.unwrap_or_else(|e| Err(Error::Pagination(format!("a page fetch failed: {e}"))));
        match result {
            Ok(page) if page.items.is_empty() => return,
            Ok(page) => {
                if sender.send(Ok(page)).await.is_err() {
                    return;
                }
            }
            Err(e) => {
                let _ = sender.send(Err(e)).await;
                return;
            }
        }
    }
}

/// A spawned task that is aborted when its handle is dropped.
struct AbortOnDrop<R>(JoinHandle<R>);

impl<R> Drop for AbortOnDrop<R> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl<R> Future for AbortOnDrop<R> {
    type Output = std::result::Result<R, tokio::task::JoinError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.0).poll(cx)
    }
}
