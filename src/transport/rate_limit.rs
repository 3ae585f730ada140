//! A client-side limit of N requests per window, per key.
//!
//! Servers that count requests per minute (Atlas: 100 a minute per group; Aleph: 30 a minute for
//! anonymous callers) answer 429 once the count is passed. Waiting on the client side instead
//! keeps a long job moving at the allowed rate without bouncing off the server. The limiter keeps
//! the start times of the requests in the last window (a sliding log), so no window of that length
//! ever holds more than N requests, whichever tasks sent them.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

/// At most `requests` requests in any `window`, counted separately for each key.
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
#[derive(Debug)]
pub(crate) struct RateLimiter {
    limit: RateLimit,
    sent: Mutex<HashMap<String, VecDeque<Instant>>>,
}

impl RateLimiter {
    pub(crate) fn new(limit: RateLimit) -> Self {
        RateLimiter {
            limit,
            sent: Mutex::new(HashMap::new()),
        }
    }

    /// Waits until a request under `key` may go, and counts it. Returns how long it waited.
    pub(crate) async fn acquire(&self, key: &str) -> Duration {
        let started = Instant::now();
        loop {
            let wait = {
                let mut sent = self.sent.lock().unwrap_or_else(|p| p.into_inner());
                let log = sent.entry(key.to_owned()).or_default();
                let now = Instant::now();
                while log
                    .front()
                    .is_some_and(|&t| now.duration_since(t) >= self.limit.window)
                {
                    log.pop_front();
                }
                if log.len() < self.limit.requests as usize {
                    log.push_back(now);
                    return started.elapsed();
                }
                // The oldest request leaves the window at this instant.
                log.front().map(|&t| t + self.limit.window - now)
            };
            if let Some(wait) = wait {
                tokio::time::sleep(wait).await;
            }
        }
    }
}
