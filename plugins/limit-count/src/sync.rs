//! limit-count's delayed sync (`sync_interval`, APISIX 3.x): each gateway
//! counts a key's requests in process and pushes what it counted to Redis
//! at most once per interval, so that most requests make no round trip.
//!
//! Per key, a gateway knows the window's count in Redis at its last push
//! (`synced`), the requests it pushes now (`in_flight`) and those it let
//! through since (`pending`). A request finding the key due (no push for
//! `sync_interval`, or a new window) pushes `pending` and itself in one
//! round trip and decides with the count Redis answers; any other request
//! is decided at once on `synced + in_flight + pending + 1` and, let
//! through, joins `pending`.
//!
//! **Overshoot.** A gateway lets a request through only while that sum is
//! within `count`, so one gateway alone never passes `count` in a window.
//! Across gateways, take the one whose push came last: Redis had
//! everything the others had pushed, so the window's total is at most
//! `count` plus what the other gateways let through since their own last
//! push. A gateway pushes on its first request once the interval has run,
//! so that is at most what it passes in one interval (and less than
//! `count`): with `G` gateways each passing up to `r` requests a second,
//! at most `count + (G - 1) x min(count - 1, r x sync_interval)` requests
//! pass in a window while Redis answers.
//!
//! A failed push keeps its requests pending (the failing request itself is
//! not counted) and the next request tries again; the request gets what
//! `allow_degradation` says. Keys are held at most [`MAX_KEYS`] at once;
//! past it, expired windows are dropped and, when none is, a request makes
//! its own round trip.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use crate::counter::{Window, Windows};
use crate::redis::RedisCounts;
use crate::shared::Counted;

/// Keys held at most by one config.
pub const MAX_KEYS: usize = 100_000;

/// What a gateway knows of one key's window.
#[derive(Debug, Default)]
struct KeyState {
    /// The window's count in Redis at the last push.
    synced: i64,
    /// Requests being pushed now.
    in_flight: i64,
    /// Requests let through since, not pushed yet.
    pending: i64,
    /// When the window resets (unix ms).
    window_end_ms: u64,
    /// When the next push is due (unix ms).
    next_push_ms: u64,
    /// A push is under way.
    pushing: bool,
}

/// Windows counted here and pushed to Redis every interval.
pub struct SyncedWindows {
    counts: RedisCounts,
    interval_ms: u64,
    keys: Arc<Mutex<HashMap<String, KeyState>>>,
}

impl SyncedWindows {
    /// Counts pushed to `counts`' Redis every `interval_ms`.
    pub fn new(counts: RedisCounts, interval_ms: u64) -> SyncedWindows {
        SyncedWindows {
            counts,
            interval_ms,
            keys: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    /// Pushes `delta` requests (the last of them this one) for `key`.
    fn push(&self, key: &str, delta: i64, window_ms: u64) -> Counted<Result<Window, String>> {
        let (counts, keys, interval_ms) =
            (self.counts.clone(), self.keys.clone(), self.interval_ms);
        let key = key.to_owned();
        Counted::Later(Box::pin(async move {
            let pushed = counts.add(&key, delta, window_ms).await;
            let now = counts.host().now_unix_ms();
            let mut keys = keys.lock().unwrap_or_else(PoisonError::into_inner);
            let state = keys.entry(key).or_default();
            state.pushing = false;
            state.in_flight = 0;
            match &pushed {
                Ok(window) => {
                    state.synced = window.count;
                    state.window_end_ms = now.saturating_add(window.reset_ms);
                    state.next_push_ms = now.saturating_add(interval_ms);
                }
                // Not pushed: the requests let through before this one
                // wait for the next push.
                Err(_) => state.pending += delta - 1,
            }
            pushed
        }))
    }
}

impl Windows for SyncedWindows {
    fn incoming(&self, key: &str, limit: i64, window_ms: u64) -> Counted<Result<Window, String>> {
        let now = self.counts.host().now_unix_ms();
        let mut keys = self.keys.lock().unwrap_or_else(PoisonError::into_inner);
        if !keys.contains_key(key) {
            if keys.len() >= MAX_KEYS {
                keys.retain(|_, s| s.pushing || s.window_end_ms > now);
            }
            if keys.len() >= MAX_KEYS {
                drop(keys);
                let (counts, key) = (self.counts.clone(), key.to_owned());
                return Counted::Later(Box::pin(
                    async move { counts.add(&key, 1, window_ms).await },
                ));
            }
            // Only a new key is copied: a known one costs no allocation.
            // Its window ended at 0: the first request pushes.
            keys.insert(key.to_owned(), KeyState::default());
        }
        let Some(state) = keys.get_mut(key) else {
            return Counted::Now(Err("limit-count: a key vanished under its lock".into()));
        };
        if !state.pushing && now >= state.window_end_ms {
            // A new window: nothing known, push at once.
            *state = KeyState {
                window_end_ms: now.saturating_add(window_ms),
                ..KeyState::default()
            };
        }
        if state.pushing || now < state.next_push_ms {
            let count = state.synced + state.in_flight + state.pending + 1;
            if count <= limit {
                state.pending += 1;
            }
            return Counted::Now(Ok(Window {
                count,
                reset_ms: state.window_end_ms.saturating_sub(now),
            }));
        }
        let delta = state.pending + 1;
        state.pushing = true;
        state.in_flight = delta;
        state.pending = 0;
        drop(keys);
        self.push(key, delta, window_ms)
    }
}
