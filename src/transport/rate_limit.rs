//! A client-side limit of N requests per window, per key.
//!
//! Servers that count requests per minute (Atlas: 100 a minute per group; Aleph: 30 a minute for
//! anonymous callers) answer 429 once the count is passed. Waiting on the client side instead
//! keeps a long job moving at the allowed rate without bouncing off the server. The limiter counts
//! the requests in flight and the times the answers of the last window arrived (a sliding log), so
//! no window of that length, as the server counts it from each request's arrival, ever holds more
//! than N requests, whichever tasks sent them.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;

/// At most `requests` requests in any `window`, counted separately for each key.
///
/// A request holds its slot from when it is let go until one `window` after its answer arrived,
/// so a server that counts the same window from each request's arrival never sees more than
/// `requests` of them, whatever the network's latency.
///
/// ```
/// use std::time::Duration;
/// use casefile::RateLimit;
///
/// let atlas_default = RateLimit::new(100, Duration::from_secs(60));
/// assert_eq!(atlas_default.requests(), 100);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    requests: u32,
    window: Duration,
}

impl RateLimit {
    /// `requests` per `window`. A limit of 0 requests is treated as 1.
    pub fn new(requests: u32, window: Duration) -> Self {
        RateLimit {
            requests: requests.max(1),
            window,
        }
    }

    /// Requests allowed in one window.
    pub fn requests(&self) -> u32 {
        self.requests
    }

    /// The window's length.
    pub fn window(&self) -> Duration {
        self.window
    }
}

/// The live limiter of one transport.
///
/// A request holds its slot from the moment it may go until its answer (or its failure)
/// arrives, and the slot stays taken one window after that. A server counts each request from
/// when it *arrived*, which is later than when the client let it go (a new connection, a TLS
/// handshake, a slow network); freeing the slot one window after the permit would let the
/// next request reach the server while the earlier one still counts there, and draw a 429.
/// The answer arrives after the server counted the request, so one window after the answer
/// the server's window has moved past it too.
#[derive(Debug)]
pub(crate) struct RateLimiter {
    limit: RateLimit,
    keys: Mutex<HashMap<String, Slots>>,
    /// Woken when an in-flight request finishes, for callers waiting on a full window of
    /// requests that have not been answered yet.
    finished: Notify,
}

/// The slots of one key.
#[derive(Debug, Default)]
struct Slots {
    /// Requests let go whose answer has not arrived yet.
    in_flight: usize,
    /// When the answers of the requests still in the window arrived, oldest first.
    answered: VecDeque<Instant>,
}

impl RateLimiter {
    pub(crate) fn new(limit: RateLimit) -> Self {
        RateLimiter {
            limit,
            keys: Mutex::new(HashMap::new()),
            finished: Notify::new(),
        }
    }

    /// Waits until a request under `key` may go, and takes a slot for it. The slot's window
    /// starts when the returned permit is dropped: drop it when the answer arrives. Also
    /// returns how long it waited.
    pub(crate) async fn acquire<'a>(&'a self, key: &str) -> (Permit<'a>, Duration) {
        let started = Instant::now();
        loop {
            // Created before the check, so a request finishing in between still wakes us.
            let finished = self.finished.notified();
            let wait = {
                let mut keys = self.keys.lock().unwrap_or_else(|p| p.into_inner());
                let slots = keys.entry(key.to_owned()).or_default();
                let now = Instant::now();
                while slots
                    .answered
                    .front()
                    .is_some_and(|&t| now.duration_since(t) >= self.limit.window)
                {
                    slots.answered.pop_front();
                }
                if slots.in_flight + slots.answered.len() < self.limit.requests as usize {
                    slots.in_flight += 1;
                    let permit = Permit {
                        limiter: self,
                        key: key.to_owned(),
                    };
                    return (permit, started.elapsed());
                }
                // The oldest answer leaves the window at this instant; with none in the
                // window, every slot waits for an answer.
                slots.answered.front().map(|&t| t + self.limit.window - now)
            };
            match wait {
                // Either way the state is read again.
                Some(wait) => {
                    let _ = tokio::time::timeout(wait, finished).await;
                }
                None => finished.await,
            }
        }
    }

    /// A request under `key` got its answer (or failed, or was abandoned) now.
    fn finish(&self, key: &str) {
        {
            let mut keys = self.keys.lock().unwrap_or_else(|p| p.into_inner());
            let slots = keys.entry(key.to_owned()).or_default();
            slots.in_flight = slots.in_flight.saturating_sub(1);
            slots.answered.push_back(Instant::now());
        }
        self.finished.notify_waiters();
    }
}

/// The slot of one request in flight; dropping it starts the slot's window.
#[derive(Debug)]
pub(crate) struct Permit<'a> {
    limiter: &'a RateLimiter,
    key: String,
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        self.limiter.finish(&self.key);
    }
}
