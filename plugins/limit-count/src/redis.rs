//! limit-count's counters in Redis (`policy: redis` or `redis-cluster`):
//! every gateway sharing the Redis counts against one window per key. A
//! request is one round trip, a script run with `EVAL` (APISIX runs its
//! own the same way) that adds to the window's count and sets its expiry
//! together, so that no count outlives its window and no two gateways
//! race between the two steps.

use std::sync::Arc;

use radixgate_plugin::{Host, RedisReply, RedisTarget};

use crate::counter::{Window, Windows};
use crate::shared::Counted;

/// Adds `ARGV[1]` to the count `KEYS[1]`; a count without an expiry (a new
/// window) expires in `ARGV[2]` ms. Answers the count and the ms left.
const ADD: &str = "local n = redis.call('incrby', KEYS[1], ARGV[1]) \
    local ttl = redis.call('pttl', KEYS[1]) \
    if ttl < 0 then redis.call('pexpire', KEYS[1], ARGV[2]) ttl = tonumber(ARGV[2]) end \
    return {n, ttl}";

/// One Redis (server or cluster) and the host that sends to it.
#[derive(Clone)]
pub struct RedisCounts {
    host: Host,
    target: Arc<RedisTarget>,
}

impl RedisCounts {
    /// Counts kept in `target`, reached through `host`.
    pub fn new(host: Host, target: RedisTarget) -> RedisCounts {
        RedisCounts {
            host,
            target: Arc::new(target),
        }
    }

    /// The host this sends through.
    pub fn host(&self) -> &Host {
        &self.host
    }

    /// Adds `delta` to the window `key` (made, `window_ms` long, when none
    /// runs): the window's count after it and the ms until it resets; an
    /// error names the target and the cause.
    pub async fn add(&self, key: &str, delta: i64, window_ms: u64) -> Result<Window, String> {
        let (delta, window) = (delta.to_string(), window_ms.to_string());
        let reply = self
            .host
            .redis(&self.target, ["EVAL", ADD, "1", key, &delta, &window])
            .await
            .and_then(RedisReply::into_result)?;
        let pair = reply.as_array().map(|a| {
            (
                a.first().and_then(RedisReply::as_int),
                a.get(1).and_then(RedisReply::as_int),
            )
        });
        match pair {
            Some((Some(count), Some(ttl))) => Ok(Window {
                count,
                reset_ms: u64::try_from(ttl).unwrap_or(0),
            }),
            _ => Err(format!(
                "Redis {:?} answered the count script with {reply:?}",
                self.target.nodes
            )),
        }
    }
}

/// A round trip per request.
pub struct RedisWindows {
    counts: RedisCounts,
}

impl RedisWindows {
    /// Windows kept in `counts`' Redis.
    pub fn new(counts: RedisCounts) -> RedisWindows {
        RedisWindows { counts }
    }
}

impl Windows for RedisWindows {
    fn incoming(&self, key: &str, _limit: i64, window_ms: u64) -> Counted<Result<Window, String>> {
        let counts = self.counts.clone();
        let key = key.to_owned();
        Counted::Later(Box::pin(
            async move { counts.add(&key, 1, window_ms).await },
        ))
    }
}
