//! limit-req's buckets in Redis (`policy: redis` or `redis-cluster`): every
//! gateway sharing the Redis drains and fills one bucket per key. A
//! request is one round trip, a script run with `EVAL` that reads the
//! bucket, drains it for the time since it was last touched, pours the
//! request in and writes it back, atomically (APISIX's limit-req reads and
//! writes its bucket in separate commands, so that two gateways can both
//! pass a request the bucket had room for once). The clock is Redis's
//! (`TIME`), so gateways whose clocks differ drain the bucket alike.

use std::sync::Arc;

use radixgate_plugin::{Host, RedisReply, RedisTarget};

use crate::bucket::{Bucket, Buckets, Verdict, UNIT};
use crate::shared::Counted;

/// resty's arithmetic on the hash `KEYS[1]` (`excess` in micro-requests,
/// `last` in µs of Redis's clock): `excess = max(excess - rate x elapsed
/// + 1 request, 0)`, rejected (and not written) over `burst`; `ARGV` is
/// the rate in requests a second, the burst in micro-requests and the ms
/// after which an untouched bucket is empty (it then expires). Answers
/// `{1, excess}` or `{0, excess}` when rejected.
const POUR: &str = "local t = redis.call('TIME') \
    local now = tonumber(t[1]) * 1000000 + tonumber(t[2]) \
    local rate, burst = tonumber(ARGV[1]), tonumber(ARGV[2]) \
    local s = redis.call('HMGET', KEYS[1], 'excess', 'last') \
    local excess = 0 \
    if s[1] and s[2] then \
      local elapsed = math.max(now - tonumber(s[2]), 0) \
      excess = math.max(tonumber(s[1]) - rate * elapsed + 1000000, 0) \
      if excess > burst then return {0, math.floor(excess)} end \
    end \
    redis.call('HSET', KEYS[1], 'excess', string.format('%d', excess), 'last', string.format('%d', now)) \
    redis.call('PEXPIRE', KEYS[1], ARGV[3]) \
    return {1, math.floor(excess)}";

/// Buckets in one Redis (server or cluster).
pub struct RedisBuckets {
    host: Host,
    target: Arc<RedisTarget>,
    /// The script's arguments: rate, burst, expiry.
    args: Arc<[String; 3]>,
}

impl RedisBuckets {
    /// `bucket`'s parameters, buckets in `target`.
    pub fn new(host: Host, target: RedisTarget, bucket: Bucket) -> RedisBuckets {
        // A bucket untouched for (burst + 1 request) / rate has drained
        // whole: it is then the same as none.
        let empty_ms = ((bucket.burst + UNIT) as f64 / UNIT as f64 / bucket.rate * 1000.0).ceil();
        let expiry_ms = (empty_ms as u64).saturating_add(1000);
        RedisBuckets {
            host,
            target: Arc::new(target),
            args: Arc::new([
                bucket.rate.to_string(),
                bucket.burst.to_string(),
                expiry_ms.to_string(),
            ]),
        }
    }
}

impl Buckets for RedisBuckets {
    fn incoming(&self, key: &str) -> Counted<Result<Verdict, String>> {
        let (host, target, args) = (self.host.clone(), self.target.clone(), self.args.clone());
        let key = key.to_owned();
        Counted::Later(Box::pin(async move {
            let [rate, burst, expiry] = &*args;
            let reply = host
                .redis(&target, ["EVAL", POUR, "1", &key, rate, burst, expiry])
                .await
                .and_then(RedisReply::into_result)?;
            let pair = reply.as_array().map(|a| {
                (
                    a.first().and_then(RedisReply::as_int),
                    a.get(1).and_then(RedisReply::as_int),
                )
            });
            match pair {
                Some((Some(1), Some(excess))) => Ok(Verdict::Admit { excess }),
                Some((Some(0), Some(_))) => Ok(Verdict::Reject),
                _ => Err(format!(
                    "Redis {:?} answered the bucket script with {reply:?}",
                    target.nodes
                )),
            }
        }))
    }
}
