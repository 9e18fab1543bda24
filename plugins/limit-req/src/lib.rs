//! `limit-req`: at most `rate` requests per second per key, a leaky bucket
//! (APISIX's plugin, priority 1001). A request over the rate but within
//! `burst` is delayed until the bucket has room for it (on the host's
//! timer: the worker serves other requests meanwhile), or let through at
//! once with `nodelay`; one over both is rejected with `rejected_code`.
//! With `policy: local` the buckets live in the host's shared store, so
//! every worker thread counts against the same bucket ([`bucket`] says
//! how); with `redis` or `redis-cluster` in Redis, one round trip a
//! request, so that every gateway on that Redis shares them ([`redis`]).
//!
//! ```json
//! "limit-req": {"rate": 1, "burst": 2, "key": "remote_addr", "rejected_code": 429}
//! ```

#[macro_use]
extern crate radixgate_plugin_limit_common as shared;

pub mod bucket;
mod config;
pub mod redis;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use radixgate_plugin::{
    export_plugin, ConfigError, Ctx, Decision, Host, LogLevel, Phase, Phases, Plugin, Response,
};

use bucket::{Bucket, Buckets, LocalBuckets, Verdict};
pub use config::Config;
use redis::RedisBuckets;
use shared::redis::{config_digest, Policy};
use shared::{Counted, KeySource, Rejection};

/// Delays shorter than this are not waited for (as APISIX: 1 ms).
const MIN_DELAY: Duration = Duration::from_millis(1);

/// One config's limiter.
pub struct LimitReq {
    key: KeySource,
    /// Start of every bucket key: `limit-req:` and this instance's number
    /// (local), or the config's digest (Redis: the same on every gateway).
    key_prefix: String,
    /// Whether the route's id follows the prefix (Redis: a config counts
    /// per route, as APISIX keys by the owning object).
    per_route: bool,
    buckets: Box<dyn Buckets>,
    decider: Arc<Decider>,
}

/// What a config does with a bucket's verdict.
struct Decider {
    host: Host,
    bucket: Bucket,
    nodelay: bool,
    allow_degradation: bool,
    rejection: Rejection,
}

/// The next step of a request after its verdict.
enum Next {
    Go,
    Answer(Response),
    Wait(Duration),
}

impl Decider {
    fn next(&self, counted: Result<Verdict, String>) -> Next {
        match counted {
            Ok(Verdict::Reject) => Next::Answer(self.rejection.response([])),
            Ok(Verdict::Admit { excess }) => {
                let delay = self.bucket.delay(excess);
                if self.nodelay || delay < MIN_DELAY {
                    Next::Go
                } else {
                    Next::Wait(delay)
                }
            }
            Err(e) => {
                self.host
                    .log(LogLevel::Error, &format!("failed to limit req: {e}"));
                if self.allow_degradation {
                    Next::Go
                } else {
                    Next::Answer(Response::new(500))
                }
            }
        }
    }

    /// The decision of `next`: a delay waits on the host's timer.
    fn decide(self: &Arc<Decider>, next: Next) -> Decision {
        match next {
            Next::Go => Decision::Continue,
            Next::Answer(r) => Decision::Respond(r),
            wait @ Next::Wait(_) => Decision::wait(self.clone().settle(wait)),
        }
    }

    /// `next` carried out inside a waiting phase.
    async fn settle(self: Arc<Decider>, next: Next) -> Decision {
        match next {
            Next::Go => Decision::Continue,
            Next::Answer(r) => Decision::Respond(r),
            Next::Wait(delay) => match self.host.sleep(delay).await {
                Ok(()) => Decision::Continue,
                Err(e) => Decision::Error(format!("the delay could not be waited: {e}")),
            },
        }
    }
}

/// Instances built so far in this process: each config has buckets of its
/// own, shared by every route it applies to (a service's or a global rule's
/// config included); a rebuilt config starts afresh, as APISIX's keys
/// follow the config's version.
static INSTANCES: AtomicU64 = AtomicU64::new(0);

impl Plugin for LimitReq {
    const NAME: &'static str = "limit-req";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const PRIORITY: i32 = 1001;
    const PHASES: Phases = Phases::of(Phase::Access);
    const SCHEMA: &'static str = config::SCHEMA;

    type Config = Config;

    fn new(config: Config, host: &Host) -> Result<Self, ConfigError> {
        config.check()?;
        let bucket = Bucket::new(config.rate, config.burst);
        let (key_prefix, buckets, per_route): (String, Box<dyn Buckets>, bool) =
            match config.policy()? {
                Policy::Local => {
                    let n = INSTANCES.fetch_add(1, Ordering::Relaxed);
                    let local = LocalBuckets::new(host.clone(), bucket);
                    (format!("limit-req:{n}:"), Box::new(local), false)
                }
                Policy::Redis(target) => {
                    let digest = config_digest(&config);
                    let redis = RedisBuckets::new(host.clone(), target, bucket);
                    (
                        format!("limit-req:conf:{digest:016x}:route:"),
                        Box::new(redis),
                        true,
                    )
                }
            };
        Ok(LimitReq {
            key: KeySource::new(config.key_type, &config.key),
            key_prefix,
            per_route,
            buckets,
            decider: Arc::new(Decider {
                host: host.clone(),
                bucket,
                nodelay: config.nodelay,
                allow_degradation: config.allow_degradation,
                rejection: Rejection::new(config.rejected_code, config.rejected_msg.as_deref())?,
            }),
        })
    }

    fn access(&self, ctx: &mut Ctx<'_>) -> Decision {
        let mut key = self.key_prefix.clone();
        if self.per_route {
            key.push_str(ctx.route_id());
            key.push(':');
        }
        self.key.write(ctx, &mut key);
        match self.buckets.incoming(&key) {
            Counted::Now(counted) => self.decider.decide(self.decider.next(counted)),
            Counted::Later(counting) => {
                let decider = self.decider.clone();
                Decision::wait(async move {
                    let next = decider.next(counting.await);
                    decider.settle(next).await
                })
            }
        }
    }
}

export_plugin!(LimitReq);

#[cfg(test)]
mod tests;
