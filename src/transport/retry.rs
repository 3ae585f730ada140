//! When a failed request is sent again, and how long casefile waits first.
//!
//! A request is retried only when sending it again cannot do harm:
//!
//! | failure | idempotent: GET, HEAD, PUT, DELETE, or [marked](crate::RequestBuilder::idempotent) | POST, PATCH |
//! |---|---|---|
//! | connection refused / DNS / TLS (nothing reached the server) | yes | yes |
//! | idle timeout, connection dropped mid-answer | yes | no |
//! | 429 Too Many Requests (refused before processing) | yes | yes |
//! | 408, 500, 502, 503, 504 | yes | no |
//! | anything else (an answer over the size limit, the total timeout) | no | no |
//!
//! This is the only retry loop in casefile: operations that are safe to repeat although sent with
//! `POST` (an Aleph `_bulk` chunk is an upsert by id, an ingest with a `foreign_id` replaces the
//! same document) mark their request idempotent instead of retrying on their own, so one
//! [`RetryPolicy`] bounds the attempts and the waiting of every call.
//!
//! Waits grow exponentially with full jitter (a random wait between zero and the exponential
//! bound, so that many clients do not retry in lockstep). A `Retry-After` from the server replaces
//! the computed wait when it is within [`RetryPolicy::max_retry_after`]; a longer one ends the call
//! with the server's error, which carries the asked-for wait. All waits of one call together stay
//! within [`RetryPolicy::budget`].

use std::time::{Duration, SystemTime};

use reqwest::Method;
use reqwest::header::{HeaderMap, RETRY_AFTER};

/// How failed requests are retried. [`RetryPolicy::default`] suits unattended jobs;
/// [`RetryPolicy::none`] turns retries off.
///
/// ```
/// use std::time::Duration;
/// use casefile::RetryPolicy;
///
/// let patient = RetryPolicy::default()
///     .max_retries(8)
///     .budget(Duration::from_secs(600));
/// assert_eq!(patient.get_max_retries(), 8);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    max_retries: u32,
    base_delay: Duration,
    max_delay: Duration,
    max_retry_after: Duration,
    budget: Duration,
}

impl Default for RetryPolicy {
    /// Up to 4 retries, waits from 250 ms growing to at most 30 s, `Retry-After` honoured up to
    /// 120 s, and at most 5 minutes of waiting in all.
    fn default() -> Self {
        RetryPolicy {
            max_retries: 4,
            base_delay: Duration::from_millis(250),
            max_delay: Duration::from_secs(30),
            max_retry_after: Duration::from_secs(120),
            budget: Duration::from_secs(300),
        }
    }
}

impl RetryPolicy {
    /// Never retry.
    pub fn none() -> Self {
        RetryPolicy {
            max_retries: 0,
            ..RetryPolicy::default()
        }
    }

    /// How many times one request may be sent again.
    pub fn max_retries(mut self, n: u32) -> Self {
        self.max_retries = n;
        self
    }

    /// The bound of the first wait; each retry doubles it.
    pub fn base_delay(mut self, d: Duration) -> Self {
        self.base_delay = d;
        self
    }

    /// The largest bound a computed wait can have.
    pub fn max_delay(mut self, d: Duration) -> Self {
        self.max_delay = d;
        self
    }

    /// The longest `Retry-After` that is waited out; a longer one ends the call.
    pub fn max_retry_after(mut self, d: Duration) -> Self {
        self.max_retry_after = d;
        self
    }

    /// The most time one call may spend waiting between its attempts.
    pub fn budget(mut self, d: Duration) -> Self {
        self.budget = d;
        self
    }

    /// How many times one request may be sent again.
    pub fn get_max_retries(&self) -> u32 {
        self.max_retries
    }
}

/// A retry about to happen, told to [`RequestBuilder::on_retry`](crate::RequestBuilder::on_retry).
#[derive(Debug)]
#[non_exhaustive]
pub struct RetryEvent<'a> {
    /// The attempt that failed, from 1.
    pub attempt: u32,
    /// How long casefile waits before the next attempt.
    pub wait: Duration,
    /// Why the attempt failed.
    pub error: &'a crate::Error,
}

/// What one attempt ended with, as far as retrying is concerned.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Outcome {
    /// Nothing reached the server.
    ConnectFailed,
    /// The server may have received the request (timeout, connection dropped).
    Interrupted,
    /// The server answered with this status.
    Status(u16),
    /// Sending again cannot help (a local error, a limit reached).
    Fatal,
}

pub(crate) fn is_idempotent(method: &Method) -> bool {
    matches!(
        *method,
        Method::GET | Method::HEAD | Method::PUT | Method::DELETE | Method::OPTIONS
    )
}

fn retryable(outcome: Outcome, idempotent: bool) -> bool {
    match outcome {
        Outcome::ConnectFailed => true,
        Outcome::Status(429) => true,
        Outcome::Interrupted => idempotent,
        Outcome::Status(408 | 500 | 502 | 503 | 504) => idempotent,
        Outcome::Status(_) | Outcome::Fatal => false,
    }
}

/// `Retry-After` as a duration: seconds, or an HTTP date.
pub(crate) fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when = httpdate::parse_http_date(value).ok()?;
    Some(
        when.duration_since(SystemTime::now())
            .unwrap_or(Duration::ZERO),
    )
}

/// The retry state of one call.
pub(crate) struct Retrier<'p> {
    policy: &'p RetryPolicy,
    idempotent: bool,
    retries: u32,
    waited: Duration,
}

impl<'p> Retrier<'p> {
    pub(crate) fn new(policy: &'p RetryPolicy, idempotent: bool) -> Self {
        Retrier {
            policy,
            idempotent,
            retries: 0,
            waited: Duration::ZERO,
        }
    }

    /// How many retries were granted so far.
    pub(crate) fn retries(&self) -> u32 {
        self.retries
    }

    /// How long to wait before the next attempt, or `None` when the call should end with the
    /// failure it has.
    pub(crate) fn next_wait(
        &mut self,
        outcome: Outcome,
        server_wait: Option<Duration>,
    ) -> Option<Duration> {
        if self.retries >= self.policy.max_retries || !retryable(outcome, self.idempotent) {
            return None;
        }
        let wait = match server_wait {
            Some(w) if w > self.policy.max_retry_after => return None,
            Some(w) => w,
            None => {
                let bound = self
                    .policy
                    .base_delay
                    .saturating_mul(1u32 << self.retries.min(20))
                    .min(self.policy.max_delay);
                bound.mul_f64(random_unit())
            }
        };
        if self.waited + wait > self.policy.budget {
            return None;
        }
        self.retries += 1;
        self.waited += wait;
        Some(wait)
    }
}

/// A random number in `[0, 1)`.
fn random_unit() -> f64 {
    let mut bytes = [0u8; 8];
    if getrandom::fill(&mut bytes).is_err() {
        return 0.5;
    }
    (u64::from_le_bytes(bytes) >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn post_is_retried_only_when_the_server_cannot_have_processed_it() {
        let p = RetryPolicy::default();
        for (outcome, expected) in [
            (Outcome::ConnectFailed, true),
            (Outcome::Status(429), true),
            (Outcome::Status(500), false),
            (Outcome::Status(503), false),
            (Outcome::Status(408), false),
            (Outcome::Interrupted, false),
            (Outcome::Fatal, false),
        ] {
            let mut r = Retrier::new(&p, is_idempotent(&Method::POST));
            assert_eq!(
                r.next_wait(outcome, None).is_some(),
                expected,
                "{outcome:?}"
            );
        }
        let mut r = Retrier::new(&p, is_idempotent(&Method::GET));
        assert!(r.next_wait(Outcome::Status(500), None).is_some());
        assert!(r.next_wait(Outcome::Status(408), None).is_some());
        assert!(r.next_wait(Outcome::Status(404), None).is_none());
        // A POST marked idempotent (an upsert by id) is retried like a GET.
        let mut r = Retrier::new(&p, true);
        assert!(r.next_wait(Outcome::Status(503), None).is_some());
    }

    #[test]
    fn waits_are_jittered_within_the_exponential_bound_and_budget() {
        let p = RetryPolicy::default()
            .max_retries(10)
            .base_delay(Duration::from_millis(100))
            .max_delay(Duration::from_millis(400))
            .budget(Duration::from_millis(1000));
        let mut r = Retrier::new(&p, is_idempotent(&Method::GET));
        let mut total = Duration::ZERO;
        let mut n = 0;
        while let Some(w) = r.next_wait(Outcome::Status(503), None) {
            let bound = Duration::from_millis(100 * (1 << n.min(2)));
            assert!(w <= bound, "wait {w:?} over bound {bound:?}");
            total += w;
            n += 1;
        }
        assert!(total <= Duration::from_millis(1000));
        assert!(n <= 10);
    }

    #[test]
    fn retry_after_over_the_cap_ends_the_call() {
        let p = RetryPolicy::default().max_retry_after(Duration::from_secs(5));
        let mut r = Retrier::new(&p, is_idempotent(&Method::GET));
        assert_eq!(
            r.next_wait(Outcome::Status(429), Some(Duration::from_secs(2))),
            Some(Duration::from_secs(2))
        );
        assert_eq!(
            r.next_wait(Outcome::Status(429), Some(Duration::from_secs(6))),
            None
        );
    }

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        let mut h = HeaderMap::new();
        h.insert(RETRY_AFTER, "7".parse().unwrap());
        assert_eq!(retry_after(&h), Some(Duration::from_secs(7)));
        let later = SystemTime::now() + Duration::from_secs(30);
        h.insert(RETRY_AFTER, httpdate::fmt_http_date(later).parse().unwrap());
        let d = retry_after(&h).unwrap();
        assert!(d > Duration::from_secs(27) && d <= Duration::from_secs(30));
    }
}
