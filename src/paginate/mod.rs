//! One paginator for every listing: cursors, next URLs, page numbers and offsets.
//!
//! The three platforms page in four ways ([`PageToken`]). A listing only says how to fetch the
//! page a token names and where the next token is in a page; [`Paginator`] does the rest:
//!
//! - it is a `Stream<Item = Result<T, Error>> + Send + 'static` of items (or, with
//!   [`Paginator::pages`], of whole pages);
//! - it fetches the next page in a background task while the caller works on the current one.
//!   For the platforms' listings that task only reads the page's bytes, its next token and its
//!   total; the items are decoded by the caller's own poll, so they are made and dropped on the
//!   caller's thread;
//! - for page numbers and offsets, once the first page told the total, it can fetch up to
//!   [`Paginator::concurrency`] pages at once and still yields items in order. Pages are planned
//!   one at a time as fetches finish: nothing is ever sized by a number the server sent;
//! - it stops at the end: no next token, an empty page, or the total reached;
//! - it does not take a broken or hostile server's word for the end. When the first page stated
//!   an exact total ([`Page::total`]) and the listing ends with fewer items, the last item of the
//!   stream is an [`Error::Pagination`] that says how many items were expected and how many came.
//!   A cursor or next URL handed out twice, an offset or page number that does not move forward,
//!   and a page fetch that panicked are errors too, never a quiet end;
//! - [`Paginator::max_items`] and [`Paginator::max_pages`] bound a listing that might never end
//!   (a server can hand out new cursors forever); reaching a bound ends the stream normally;
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

// A build without any platform has only the generic paginator: what platform listings use
// (`PageSource`, pages decoded on the caller's side) is not used there.
#![cfg_attr(
    not(any(feature = "atlos", feature = "aleph", feature = "atlas")),
    allow(dead_code)
)]

use std::collections::HashSet;
use std::fmt;
use std::future::Future;
use std::hash::{BuildHasher, RandomState};
use std::ops::Range;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use futures::future::BoxFuture;
use futures::stream::FuturesOrdered;
use futures::{FutureExt, Stream, StreamExt};
use serde::de::DeserializeOwned;
use tokio::sync::mpsc;
use tokio::task::{JoinError, JoinHandle};
use url::Url;

use crate::error::{Error, Result};
use crate::transport::{Answer, RequestBuilder};

mod read;

#[cfg(any(test, feature = "fuzzing"))]
pub(crate) use read::decode_page;
use read::is_empty_array;
#[cfg(any(feature = "atlos", feature = "aleph", feature = "atlas"))]
pub(crate) use read::{small_fields, split_page};

/// One page of a listing.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    /// The items on this page, in server order.
    pub items: Vec<T>,
    /// Where the next page is, or `None` on the last page.
    pub next: Option<PageToken>,
    /// The exact number of items of the whole listing, when the server tells it; `None` when it
    /// does not, or only gives a lower bound or an estimate.
    ///
    /// The paginator holds the server to the total of the first page: a listing that ends with
    /// fewer items is an error. It counts from the first page on, so a listing whose first page
    /// is not at the start of the server's list states what is left from there.
    pub total: Option<u64>,
}

/// Where a page is: the four ways the platforms address pages.
///
/// `Debug` shows a next URL as `Display` does, without its query values (they can hold search
/// terms or tokens).
#[derive(Clone, PartialEq, Eq, Hash)]
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

impl fmt::Debug for PageToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PageToken::NextUrl(u) => f
                .debug_tuple("NextUrl")
                .field(&format_args!("{}", crate::error::redact_url(u)))
                .finish(),
            PageToken::Cursor(c) => f.debug_tuple("Cursor").field(c).finish(),
            PageToken::Number { page, size } => f
                .debug_struct("Number")
                .field("page", page)
                .field("size", size)
                .finish(),
            PageToken::Offset { offset, limit } => f
                .debug_struct("Offset")
                .field("offset", offset)
                .field("limit", limit)
                .finish(),
        }
    }
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
    /// Where the page starts in the listing (items before it), for the tokens that say.
    fn position(&self) -> Option<u64> {
        match *self {
            PageToken::Offset { offset, .. } => Some(offset),
            PageToken::Number { page, size } => page.checked_sub(1)?.checked_mul(size),
            _ => None,
        }
    }

    /// The token of the page after this one, for pages that can be addressed in advance.
    fn following(&self) -> Option<PageToken> {
        match *self {
            PageToken::Offset { offset, limit } if limit > 0 => Some(PageToken::Offset {
                offset: offset.checked_add(limit)?,
                limit,
            }),
            PageToken::Number { page, size } if size > 0 => Some(PageToken::Number {
                page: page.checked_add(1)?,
                size,
            }),
            _ => None,
        }
    }
}

/// An argument refused while a request or listing was being put together, reported by whatever
/// would send it, before anything is sent. It can be cloned, so that a listing reports it from
/// `first_page` and from its stream alike.
#[derive(Clone, Debug)]
pub(crate) struct Refusal(pub(crate) &'static str, pub(crate) String);

impl Refusal {
    /// The error to report.
    pub(crate) fn error(&self) -> Error {
        Error::invalid(self.0, self.1.clone())
    }

    /// Keeps `error` (an [`Error::InvalidInput`], or any error as the reason) to report later.
    #[cfg_attr(not(any(feature = "atlos", feature = "aleph")), allow(dead_code))]
    pub(crate) fn from_error(error: Error) -> Refusal {
        match error {
            Error::InvalidInput { argument, reason } => Refusal(argument, reason),
            other => Refusal("argument", other.to_string()),
        }
    }
}

/// The limits a caller sets on a listing, kept by list builders until they make the paginator.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Bounds {
    /// At most this many items (see [`Paginator::max_items`]).
    pub(crate) max_items: Option<u64>,
    /// At most this many pages (see [`Paginator::max_pages`]).
    pub(crate) max_pages: Option<u64>,
}

/// What a platform writes for one listing: the request of the page a token names, and where a
/// page's items, next token and total are. Fetching ahead, concurrency, decoding the items on the
/// caller's side, the bounds and the checks are the [`Paginator`]'s.
pub(crate) trait PageSource: Send + Sync + 'static {
    /// The request of the page `token` names; `None` is the first page.
    fn request(&self, token: Option<&PageToken>) -> Result<RequestBuilder>;

    /// Reads what the paginator needs to go on from the page `token` named. Runs in the
    /// background task: it must not decode the items, only find them.
    fn head(&self, answer: &Answer, token: Option<&PageToken>) -> Result<Head>;
}

/// What [`PageSource::head`] found in a page.
pub(crate) struct Head {
    /// Where the JSON array of the page's items is in the answer's JSON, undecoded; `None`: the
    /// page has no items.
    pub(crate) items: Option<Range<usize>>,
    /// The field the items are in, to name it in a decode error.
    pub(crate) field: &'static str,
    /// How many items the page has, when reading the head counted them anyway.
    pub(crate) len: Option<u64>,
    /// Where the next page is.
    pub(crate) next: Option<PageToken>,
    /// The exact total of the listing (see [`Page::total`]).
    pub(crate) total: Option<u64>,
}

/// A page as the background task hands it over: what it needed to go on, and the items,
/// decoded already ([`Paginator::new`]) or still as bytes for the caller to decode.
struct Fetched<T> {
    items: Items<T>,
    next: Option<PageToken>,
    total: Option<u64>,
    /// How many items, when known without decoding them.
    len: Option<u64>,
    empty: bool,
}

/// The items of a fetched page.
enum Items<T> {
    Decoded(Vec<T>),
    Encoded {
        answer: Answer,
        at: Range<usize>,
        field: &'static str,
        decode: fn(&Answer, Range<usize>, &'static str) -> Result<Vec<T>>,
        /// Reads the page's head again, carefully (see [`split_page`]).
        recheck: Recheck,
    },
}

/// Reads a page's head again with the careful reading of [`split_page`].
type Recheck = Box<dyn FnOnce(&Answer) -> Result<Head> + Send>;

impl<T> Fetched<T> {
    fn decoded(page: Page<T>) -> Self {
        Fetched {
            len: Some(page.items.len() as u64),
            empty: page.items.is_empty(),
            items: Items::Decoded(page.items),
            next: page.next,
            total: page.total,
        }
    }

    /// The page with its items decoded (on the caller's side).
    fn into_page(self) -> Result<Page<T>> {
        let items = match self.items {
            Items::Decoded(items) => items,
            Items::Encoded {
                answer,
                at,
                field,
                decode,
                recheck,
            } => match decode(&answer, at.clone(), field) {
                Ok(items) => items,
                // The quick reading may have taken more than the items for them (a page with
                // another array or object after them): read the page carefully, and go on only
                // if it says what the background task went on with.
                Err(error) => {
                    let head = read::carefully(|| recheck(&answer))?;
                    match head.items {
                        Some(right)
                            if right != at
                                && (&head.next, head.total) == (&self.next, self.total) =>
                        {
                            decode(&answer, right, field)?
                        }
                        _ => return Err(error),
                    }
                }
            },
        };
        Ok(Page {
            items,
            next: self.next,
            total: self.total,
        })
    }
}

fn decode_items<T: DeserializeOwned>(
    answer: &Answer,
    at: Range<usize>,
    field: &'static str,
) -> Result<Vec<T>> {
    answer.decode_part(at, field)
}

type Fetch<T> =
    Arc<dyn Fn(Option<PageToken>) -> BoxFuture<'static, Result<Fetched<T>>> + Send + Sync>;

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
    bounds: Bounds,
    /// The position of the first page in the server's list (an offset a caller started at).
    start: u64,
    /// An argument refused while the listing was built: the first item, before any request.
    refusal: Option<Refusal>,
    receiver: Option<mpsc::Receiver<Message<T>>>,
    driver: Option<AbortOnDrop<()>>,
    /// Pages and items handed out so far.
    pages_received: u64,
    received: u64,
    /// The exact total the first page stated.
    total: Option<u64>,
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
            .field("max_items", &self.pages.bounds.max_items)
            .field("max_pages", &self.pages.bounds.max_pages)
            .field("buffered", &self.current.len())
            .finish_non_exhaustive()
    }
}

impl<T> fmt::Debug for Pages<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pages")
            .field("concurrency", &self.concurrency)
            .field("max_items", &self.bounds.max_items)
            .field("max_pages", &self.bounds.max_pages)
            .field("started", &self.receiver.is_some())
            .field("received", &self.received)
            .field("done", &self.done)
            .finish_non_exhaustive()
    }
}

impl<T: Send + 'static> Paginator<T> {
    /// A paginator over the pages `fetch` returns: called with `None` for the first page and with
    /// the token from the previous page after that.
    ///
    /// Set [`Page::total`] only to a total the server promises to be exact: the stream holds
    /// the server to it.
    pub fn new<F, Fut>(fetch: F) -> Self
    where
        F: Fn(Option<PageToken>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Page<T>>> + Send + 'static,
    {
        Paginator::with_fetch(Arc::new(move |token| {
            fetch(token).map(|page| page.map(Fetched::decoded)).boxed()
        }))
    }

    fn with_fetch(fetch: Fetch<T>) -> Self {
        Paginator {
            pages: Pages {
                fetch,
                concurrency: 1,
                bounds: Bounds::default(),
                start: 0,
                refusal: None,
                receiver: None,
                driver: None,
                pages_received: 0,
                received: 0,
                total: None,
                done: false,
            },
            current: Vec::new().into_iter(),
        }
    }

    /// Fetch up to `n` pages at once where pages can be addressed in advance (page numbers and
    /// offsets, once the first page told an exact total). Items still come in order. Default 1:
    /// one page is fetched ahead of the caller.
    pub fn concurrency(mut self, n: usize) -> Self {
        self.pages.concurrency = n.max(1);
        self
    }

    /// Ends the stream after `n` items: a bound for a listing that might never end. Reaching it
    /// ends the stream normally (`None`), without the check of the total. Where pages are
    /// addressed by offset or number no page past the bound is fetched; with cursors up to two
    /// pages may have been fetched ahead when the stream ends.
    pub fn max_items(mut self, n: u64) -> Self {
        self.pages.bounds.max_items = Some(n);
        self
    }

    /// Fetches at most `n` pages: a bound for a listing that might never end. Reaching it ends
    /// the stream normally (`None`) after the items of the last page allowed, without the check
    /// of the total.
    pub fn max_pages(mut self, n: u64) -> Self {
        self.pages.bounds.max_pages = Some(n);
        self
    }

    /// The stream of whole pages instead of items.
    pub fn pages(self) -> Pages<T> {
        self.pages
    }

    /// Fetches only the first page (at most [`max_items`](Self::max_items) of its items).
    pub async fn first_page(&self) -> Result<Page<T>> {
        let pages = &self.pages;
        if let Some(refusal) = &pages.refusal {
            return Err(refusal.error());
        }
        let mut page = (pages.fetch)(None).await?.into_page()?;
        if let Some(max) = pages.bounds.max_items {
            page.items
                .truncate(usize::try_from(max).unwrap_or(usize::MAX));
        }
        Ok(page)
    }

    /// Reports `refusal` as the first item of the stream instead of sending anything.
    pub(crate) fn refused(mut self, refusal: Option<Refusal>) -> Self {
        self.pages.refusal = refusal;
        self
    }

    /// The position of the first page in the server's list (the offset a caller asked for).
    #[cfg_attr(not(feature = "aleph"), allow(dead_code))]
    pub(crate) fn starting_at(mut self, position: u64) -> Self {
        self.pages.start = position;
        self
    }

    /// Applies the bounds a list builder kept.
    pub(crate) fn bounded(mut self, bounds: Bounds) -> Self {
        if bounds.max_items.is_some() {
            self.pages.bounds.max_items = bounds.max_items;
        }
        if bounds.max_pages.is_some() {
            self.pages.bounds.max_pages = bounds.max_pages;
        }
        self
    }
}

impl<T: DeserializeOwned + Send + 'static> Paginator<T> {
    /// The listing `source` describes. The background task fetches each page and reads its head;
    /// the items are decoded when the caller polls for them.
    pub(crate) fn from_source<S: PageSource>(source: S) -> Self {
        let source = Arc::new(source);
        Paginator::with_fetch(Arc::new(move |token: Option<PageToken>| {
            let request = source.request(token.as_ref());
            let source = source.clone();
            async move {
                let answer = request?.send_answer().await?;
                let Head {
                    items,
                    field,
                    len,
                    next,
                    total,
                } = source.head(&answer, token.as_ref())?;
                let Some(at) = items else {
                    return Ok(Fetched::decoded(Page {
                        items: Vec::new(),
                        next,
                        total,
                    }));
                };
                let empty = is_empty_array(answer.json().get(at.clone()).unwrap_or_default());
                let recheck: Recheck = Box::new(move |answer| source.head(answer, token.as_ref()));
                Ok(Fetched {
                    items: Items::Encoded {
                        answer,
                        at,
                        field,
                        decode: decode_items::<T>,
                        recheck,
                    },
                    next,
                    total,
                    len: if empty { Some(0) } else { len },
                    empty,
                })
            }
            .boxed()
        }))
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

/// What the background task sends to the stream.
// Pages are nearly every message, and boxing them would cost an allocation each.
#[allow(clippy::large_enum_variant)]
enum Message<T> {
    Page(Fetched<T>),
    /// The listing ended; `by_max_pages`: because of [`Paginator::max_pages`].
    End {
        by_max_pages: bool,
    },
    Failed(Error),
}

impl<T: Send + 'static> Pages<T> {
    /// Ends the stream and stops the background task.
    fn finish(&mut self) {
        self.done = true;
        self.driver = None;
        self.receiver = None;
    }

    /// How many items the listing should still give in all, from what the first page said.
    fn expected(&self) -> Option<u64> {
        let left = self.total?.saturating_sub(self.start);
        Some(self.bounds.max_items.map_or(left, |max| left.min(max)))
    }

    fn on_page(&mut self, fetched: Fetched<T>) -> Result<Page<T>> {
        // The items are decoded here, on the caller's side of the channel.
        let mut page = fetched.into_page()?;
        if self.pages_received == 0 {
            self.total = page.total;
        }
        self.pages_received += 1;
        if let Some(max) = self.bounds.max_items {
            let left = max.saturating_sub(self.received);
            if page.items.len() as u64 >= left {
                page.items
                    .truncate(usize::try_from(left).unwrap_or(usize::MAX));
                self.finish();
            }
        }
        self.received = self.received.saturating_add(page.items.len() as u64);
        Ok(page)
    }

    fn on_end(&mut self, by_max_pages: bool) -> Option<Error> {
        self.finish();
        let expected = self.expected().filter(|_| !by_max_pages)?;
        (self.received < expected).then(|| {
            Error::Pagination(format!(
                "the listing is incomplete: the server announced {expected} items but sent {}",
                self.received
            ))
        })
    }
}

impl<T: Send + 'static> Stream for Pages<T> {
    type Item = Result<Page<T>>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        if this.done {
            return Poll::Ready(None);
        }
        if let Some(refusal) = this.refusal.take() {
            this.finish();
            return Poll::Ready(Some(Err(refusal.error())));
        }
        if this.bounds.max_items == Some(0) {
            this.finish();
            return Poll::Ready(None);
        }
        if this.receiver.is_none() {
            let Ok(runtime) = tokio::runtime::Handle::try_current() else {
                this.finish();
                return Poll::Ready(Some(Err(Error::Config(
                    "casefile streams need a Tokio runtime".into(),
                ))));
            };
            // One page in the channel and one being fetched (or `concurrency`): the caller never
            // waits for a page it could have had, and memory stays bounded.
            let (sender, receiver) = mpsc::channel(1);
            let driver = drive(
                this.fetch.clone(),
                this.concurrency,
                this.bounds,
                this.start,
                sender,
            );
            this.driver = Some(AbortOnDrop(runtime.spawn(driver)));
            this.receiver = Some(receiver);
        }
        let Some(receiver) = this.receiver.as_mut() else {
            return Poll::Ready(None);
        };
        let message = match receiver.poll_recv(cx) {
            Poll::Ready(message) => message,
            Poll::Pending => return Poll::Pending,
        };
        let item = match message {
            Some(Message::Page(fetched)) => {
                let page = this.on_page(fetched);
                if page.is_err() {
                    this.finish();
                }
                Some(page)
            }
            Some(Message::End { by_max_pages }) => this.on_end(by_max_pages).map(Err),
            Some(Message::Failed(e)) => {
                this.finish();
                Some(Err(e))
            }
            // The task ended without a word: it panicked or was cancelled.
            None => {
                let joined = match this.driver.as_mut() {
                    Some(driver) => ready!(Pin::new(driver).poll(cx)),
                    None => Ok(()),
                };
                this.finish();
                Some(Err(match joined {
                    Err(e) => task_failed(&e),
                    Ok(()) => Error::Pagination(
                        "the task fetching pages stopped before the end of the listing".into(),
                    ),
                }))
            }
        };
        Poll::Ready(item)
    }
}

/// The error for a background task that panicked or was cancelled.
fn task_failed(e: &JoinError) -> Error {
    Error::Pagination(format!("fetching a page failed: {e}"))
}

/// Why the background task stopped.
enum Stop {
    /// The end of the listing.
    End,
    /// [`Paginator::max_pages`] pages were fetched.
    MaxPages,
    /// The stream was dropped.
    Gone,
}

/// Fetches pages one after the other (one ahead of the caller) until the end, switching to
/// concurrent fetches when the pages left can be addressed in advance, and tells the stream how
/// it ended.
async fn drive<T: Send + 'static>(
    fetch: Fetch<T>,
    concurrency: usize,
    bounds: Bounds,
    start: u64,
    sender: mpsc::Sender<Message<T>>,
) {
    let end = match run(&fetch, concurrency, bounds, start, &sender).await {
        Ok(Stop::End) => Message::End {
            by_max_pages: false,
        },
        Ok(Stop::MaxPages) => Message::End { by_max_pages: true },
        Ok(Stop::Gone) => return,
        Err(e) => Message::Failed(e),
    };
    let _ = sender.send(end).await;
}

async fn run<T: Send + 'static>(
    fetch: &Fetch<T>,
    concurrency: usize,
    bounds: Bounds,
    start: u64,
    sender: &mpsc::Sender<Message<T>>,
) -> Result<Stop> {
    let mut cursors = Seen::default();
    let mut token: Option<PageToken> = None;
    let mut pages: u64 = 0;
    // Items so far, while every page told how many it had.
    let mut counted = Some(0u64);
    let mut total = None;
    loop {
        if bounds.max_pages.is_some_and(|max| pages >= max) {
            return Ok(Stop::MaxPages);
        }
        let current = token.take();
        let page = fetch(current.clone()).await?;
        pages += 1;
        if pages == 1 {
            total = page.total;
        }
        let (next, empty) = (page.next.clone(), page.empty);
        counted = counted.zip(page.len).map(|(n, len)| n.saturating_add(len));
        // An empty first page is still a page (its total says 0); a later empty page only ends.
        if (!empty || pages == 1) && sender.send(Message::Page(page)).await.is_err() {
            return Ok(Stop::Gone);
        }
        let Some(next) = next.filter(|_| !empty) else {
            return Ok(Stop::End);
        };
        // No page is needed at or past this position: the total, or `max_items` in.
        let end = [total, bounds.max_items.map(|max| start.saturating_add(max))]
            .into_iter()
            .flatten()
            .min();
        match next.position() {
            Some(position) => {
                if end.is_some_and(|end| position >= end) {
                    return Ok(Stop::End);
                }
                let here = current.as_ref().map_or(Some(start), PageToken::position);
                if here.is_some_and(|here| position <= here) {
                    let here =
                        current.map_or_else(|| "the first page".to_owned(), |t| t.to_string());
                    return Err(Error::Pagination(format!(
                        "the server pointed from {here} back to {next}"
                    )));
                }
            }
            None => {
                let enough = [total, bounds.max_items].into_iter().flatten().min();
                if counted.zip(enough).is_some_and(|(n, enough)| n >= enough) {
                    return Ok(Stop::End);
                }
                if !cursors.insert(&next) {
                    return Err(Error::Pagination(format!(
                        "the server handed out {next} twice"
                    )));
                }
            }
        }
        if concurrency > 1
            && let Some(end) = end.filter(|_| total.is_some())
            && next.following().is_some()
        {
            let left = bounds.max_pages.map(|max| max.saturating_sub(pages));
            return run_planned(fetch, next, end, left, concurrency, sender).await;
        }
        token = Some(next);
    }
}

/// Fetches the pages from `first` up to the position `end`, up to `concurrency` at once (and at
/// most `max_pages` of them), and sends them in order. Each token is made when a fetch can
/// start, so nothing is sized by the total.
async fn run_planned<T: Send + 'static>(
    fetch: &Fetch<T>,
    first: PageToken,
    end: u64,
    max_pages: Option<u64>,
    concurrency: usize,
    sender: &mpsc::Sender<Message<T>>,
) -> Result<Stop> {
    let mut planned = std::iter::successors(Some(first), PageToken::following)
        .take_while(|token| token.position().is_some_and(|position| position < end));
    let mut budget = max_pages;
    let mut in_flight = FuturesOrdered::new();
    loop {
        while in_flight.len() < concurrency && budget != Some(0) {
            let Some(token) = planned.next() else {
                break;
            };
            budget = budget.map(|b| b.saturating_sub(1));
            // Each fetch is its own task, so it progresses while this one waits to hand a page
            // over.
            in_flight.push_back(AbortOnDrop(tokio::spawn(fetch(Some(token)))));
        }
        let Some(joined) = in_flight.next().await else {
            let cut = budget == Some(0) && planned.next().is_some();
            return Ok(if cut { Stop::MaxPages } else { Stop::End });
        };
        let page = joined.map_err(|e| task_failed(&e))??;
        if page.empty {
            return Ok(Stop::End);
        }
        if sender.send(Message::Page(page)).await.is_err() {
            return Ok(Stop::Gone);
        }
    }
}

/// The cursors and URLs a listing handed out, kept as hashes (a server's long cursors do not
/// pile up in memory; the keys are random, so no server can aim for a collision).
#[derive(Default)]
struct Seen {
    keys: RandomState,
    hashes: HashSet<u64>,
}

impl Seen {
    /// Records `token`; `false` if it was seen before.
    fn insert(&mut self, token: &PageToken) -> bool {
        self.hashes.insert(self.keys.hash_one(token))
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
    type Output = std::result::Result<R, JoinError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.0).poll(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_and_following_tokens_never_overflow() {
        let last = PageToken::Offset {
            offset: u64::MAX - 1,
            limit: 100,
        };
        assert_eq!(last.position(), Some(u64::MAX - 1));
        assert_eq!(last.following(), None);
        let page = PageToken::Number {
            page: u64::MAX,
            size: u64::MAX,
        };
        assert_eq!(page.position(), None);
        assert_eq!(page.following(), None);
        assert_eq!(PageToken::Number { page: 0, size: 5 }.position(), None);
        assert_eq!(
            PageToken::Number { page: 3, size: 5 }.following(),
            Some(PageToken::Number { page: 4, size: 5 })
        );
        assert_eq!(
            PageToken::Offset {
                offset: 3,
                limit: 0
            }
            .following(),
            None
        );
    }
}
