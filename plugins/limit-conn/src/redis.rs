//! limit-conn's counts in Redis (`policy: redis` or `redis-cluster`):
//! every gateway sharing the Redis counts its requests in flight on one
//! counter per key. Coming in and leaving are one round trip each, a
//! script run with `EVAL`: in, an increment taken back at once when over
//! the limit (so that concurrent gateways never pass more than the limit
//! together), the count's expiry renewed to `key_ttl` (APISIX's field: a
//! gateway that dies with requests in flight leaves them counted at most
//! that long); out, a decrement that never goes below 0.

use std::future::Future;
use std::sync::Arc;

use radixgate_plugin::{Host, RedisReply, RedisTarget};

use crate::conns::Conns;
use crate::shared::Counted;

/// In: `ARGV[1]` the limit, `ARGV[2]` the expiry in seconds. Answers the
/// count with this request, or -1 when over the limit (not counted).
const IN: &str = "local n = redis.call('incrby', KEYS[1], 1) \
    if n > tonumber(ARGV[1]) then redis.call('incrby', KEYS[1], -1) return -1 end \
    redis.call('expire', KEYS[1], ARGV[2]) \
    return n";

/// Out: the count left, 0 at least.
const OUT: &str = "local n = redis.call('incrby', KEYS[1], -1) \
    if n < 0 then redis.call('incrby', KEYS[1], -n) n = 0 end \
    return n";

/// Counters in one Redis (server or cluster).
pub struct RedisConns {
    host: Host,
    target: Arc<RedisTarget>,
    /// `key_ttl`, as the script's argument.
    ttl: Arc<str>,
}

impl RedisConns {
    /// Counters in `target`, expiring `key_ttl` seconds after the last
    /// request came in.
    pub fn new(host: Host, target: RedisTarget, key_ttl: i64) -> RedisConns {
        RedisConns {
            host,
            target: Arc::new(target),
            ttl: key_ttl.to_string().into(),
        }
    }

    /// Runs `script` on `key` with `args`: its integer answer.
    fn run(
        &self,
        script: &'static str,
        key: &str,
        args: Vec<String>,
    ) -> impl Future<Output = Result<i64, String>> + Send + 'static {
        let (host, target) = (self.host.clone(), self.target.clone());
        let key = key.to_owned();
        async move {
            let mut call = vec!["EVAL", script, "1", &key];
            call.extend(args.iter().map(String::as_str));
            let reply = host
                .redis(&target, call)
                .await
                .and_then(RedisReply::into_result)?;
            reply.as_int().ok_or_else(|| {
                format!(
                    "Redis {:?} answered the count script with {reply:?}",
                    target.nodes
                )
            })
        }
    }
}

impl Conns for RedisConns {
    fn incoming(&self, key: &str, limit: i64) -> Counted<Result<Option<i64>, String>> {
        let counting = self.run(IN, key, vec![limit.to_string(), self.ttl.to_string()]);
        Counted::Later(Box::pin(async move {
            counting.await.map(|n| (n >= 0).then_some(n))
        }))
    }

    fn leaving(&self, key: &str) -> Counted<Result<i64, String>> {
        Counted::Later(Box::pin(self.run(OUT, key, Vec::new())))
    }
}
