//! The leaky bucket (nginx's `limit_req`, lua-resty-limit-traffic's
//! `req.lua`) kept in counters shared by every worker thread, and the
//! trait a counter policy implements.
//!
//! A bucket is two counters: its **level** in micro-requests (each
//! admitted request pours in [`UNIT`]) and its **clock**, the monotonic
//! time in µs up to which it has been drained. A request first drains the
//! bucket for the time since the clock, then pours itself in:
//!
//! - **Drain.** It reads the clock (`seen`) and adds `now - seen` to it;
//!   when the sum comes back as exactly `now`, no one moved the clock in
//!   between and the interval `(seen, now]` is its own: it takes
//!   `rate x interval` out of the level (no more than the level held, and
//!   back up to 0 if concurrent drains overshot). Otherwise it takes its
//!   addition back and leaves the draining to the caller that won.
//! - **Pour.** It adds [`UNIT`] to the level; the excess is the level less
//!   the request itself. Over `burst` it takes its unit back and is
//!   rejected.
//!
//! This is resty's arithmetic (`excess = max(excess - rate x elapsed +
//! 1, 0)`, rejected over `burst`, delayed `excess / rate`), made of atomic
//! additions instead of a read and a write, which can lose a concurrent
//! caller's update (resty accepts that window between nginx workers).
//! What concurrency still does: a rejected request's unit is in the level
//! until it takes it back, and a drain that lost the clock is left to the
//! winner, so a concurrent caller may see the bucket fuller than it is
//! (a request refused or delayed that would have passed, never the other
//! way round); and the level may dip below its true value by at most
//! `rate x` the time between two drains that both won, microseconds. The
//! total drained never exceeds `rate x` the time elapsed: the clock only
//! ever adds up intervals that were claimed once.

use std::time::Duration;

use radixgate_plugin::Host;

use crate::shared::Counted;

/// One request, in the unit of a bucket's level (micro-requests).
pub const UNIT: i64 = 1_000_000;

/// Counters a bucket lives in: the host's shared store, or a test's.
pub trait Counters {
    /// Adds `delta` to counter `key` (a missing one starts at 0); the sum.
    fn incr(&self, key: &str, delta: i64) -> i64;
    /// The counter's value, if there is one.
    fn get(&self, key: &str) -> Option<i64>;
}

impl Counters for Host {
    fn incr(&self, key: &str, delta: i64) -> i64 {
        // No expiry: resty's buckets stay until the store needs the room
        // (the store drops its least recently used entries).
        Host::incr(self, key, delta, 0).value
    }

    fn get(&self, key: &str) -> Option<i64> {
        Host::get(self, key).and_then(|v| v.parse().ok())
    }
}

/// What a bucket says of one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Let through, `excess` micro-requests over the rate: to be delayed
    /// `excess / rate` unless `nodelay`.
    Admit {
        /// The excess, in micro-requests (0: within the rate).
        excess: i64,
    },
    /// Over `rate` and `burst`.
    Reject,
}

/// A bucket's parameters.
#[derive(Debug, Clone, Copy)]
pub struct Bucket {
    /// Requests per second.
    pub rate: f64,
    /// Excess allowed, in micro-requests.
    pub burst: i64,
}

impl Bucket {
    /// A bucket draining `rate` requests per second that holds `burst`
    /// requests over it.
    pub fn new(rate: f64, burst: f64) -> Bucket {
        Bucket {
            rate,
            burst: (burst * UNIT as f64) as i64,
        }
    }

    /// Counts one request at monotonic time `now_us` on the bucket whose
    /// level is counter `level` and whose clock is counter `clock`.
    pub fn incoming(
        &self,
        store: &impl Counters,
        level: &str,
        clock: &str,
        now_us: i64,
    ) -> Verdict {
        self.drain(store, level, clock, now_us);
        let poured = store.incr(level, UNIT);
        let excess = poured - UNIT;
        if excess > self.burst {
            store.incr(level, -UNIT);
            return Verdict::Reject;
        }
        Verdict::Admit {
            excess: excess.max(0),
        }
    }

    /// Drains the bucket for the time since its clock, when this caller
    /// wins that interval (see the module's text).
    fn drain(&self, store: &impl Counters, level: &str, clock: &str, now_us: i64) {
        let seen = store.get(clock).unwrap_or(0);
        let elapsed = now_us - seen;
        if elapsed <= 0 {
            return;
        }
        if store.incr(clock, elapsed) != now_us {
            store.incr(clock, -elapsed);
            return;
        }
        let held = store.get(level).unwrap_or(0);
        // f64 to i64 saturates: a bucket idle for ages drains whole.
        let leak = ((self.rate * elapsed as f64) as i64).min(held);
        if leak <= 0 {
            return;
        }
        let left = store.incr(level, -leak);
        if left < 0 {
            store.incr(level, -left);
        }
    }

    /// How long a request `excess` micro-requests over the rate waits.
    pub fn delay(&self, excess: i64) -> Duration {
        Duration::from_secs_f64((excess as f64 / UNIT as f64 / self.rate).max(0.0))
    }
}

/// Where a config's buckets live (its `policy`). `local` is the host's
/// shared store ([`LocalBuckets`]); a Redis policy implements the same
/// trait with [`Counted::Later`], and the plugin decides the same way.
pub trait Buckets: Send + Sync {
    /// Counts one request on the bucket keyed `key`; an error when the
    /// counters could not be reached (then `allow_degradation` decides).
    fn incoming(&self, key: &str) -> Counted<Result<Verdict, String>>;
}

/// Buckets in the host's shared store: one per key per config, shared by
/// every worker thread.
pub struct LocalBuckets {
    host: Host,
    bucket: Bucket,
}

impl LocalBuckets {
    /// `bucket`'s parameters, counters in `host`'s store.
    pub fn new(host: Host, bucket: Bucket) -> LocalBuckets {
        LocalBuckets { host, bucket }
    }
}

impl Buckets for LocalBuckets {
    fn incoming(&self, key: &str) -> Counted<Result<Verdict, String>> {
        // The clock is the level's key with a mark of its own.
        let clock = format!("{key}|clock");
        let now_us = i64::try_from(self.host.monotonic_ns() / 1000).unwrap_or(i64::MAX);
        Counted::Now(Ok(self.bucket.incoming(&self.host, key, &clock, now_us)))
    }
}
