//! `limit-conn`: at most `conn` requests in flight at once per key, and
//! `burst` more delayed (APISIX's plugin, priority 1003). The counts live
//! in the host's shared store (`policy: local`) or in Redis (`redis`,
//! `redis-cluster`: every gateway on it counts together, [`redis`]).
//! A request counts from its access phase until its log phase (when its
//! response has ended, or its client went away); one over `conn + burst`
//! is rejected with `rejected_code`. One over `conn` waits, on the host's
//! timer, `unit x floor((count - 1) / conn)` seconds (resty's arithmetic),
//! where the unit is `default_conn_delay`, or with
//! `only_use_default_delay: false` the running mean of the requests'
//! latencies (each leaving request sets it to the mean of itself and its
//! latency less its own delay).
//!
//! ```json
//! "limit-conn": {"conn": 2, "burst": 1, "default_conn_delay": 0.1, "key": "remote_addr"}
//! ```

#[macro_use]
extern crate radixgate_plugin_limit_common as shared;

mod config;
pub mod conns;
pub mod redis;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use radixgate_plugin::{
    export_plugin, ConfigError, Ctx, Decision, Host, LogLevel, Phase, Phases, Plugin, Response,
};

pub use config::Config;
use conns::{Conns, LocalConns};
use redis::RedisConns;
use shared::redis::{config_digest, Policy};
use shared::{Counted, KeySource, Rejection};

/// Delays shorter than this are not waited for (as APISIX: 1 ms).
const MIN_DELAY: Duration = Duration::from_millis(1);

/// One config's limiter.
pub struct LimitConn {
    key: KeySource,
    /// Start of every counter key: `limit-conn:` and this instance's number
    /// (local), or `redis_prefix` and the config's digest (Redis: the same
    /// on every gateway).
    key_prefix: String,
    /// Whether the route's id follows the prefix (Redis: a config counts
    /// per route, as APISIX keys by the owning object).
    per_route: bool,
    /// The request variable in which access leaves what log counts out:
    /// `<µs when counted> <µs of delay> <counter key>`.
    var: String,
    conns: Box<dyn Conns>,
    limits: Arc<Limits>,
}

/// What a config decides, and its delay unit.
struct Limits {
    host: Host,
    conn: i64,
    burst: i64,
    only_default_delay: bool,
    /// The delay unit in seconds (an `f64`'s bits).
    unit_delay: AtomicU64,
    allow_degradation: bool,
    rejection: Rejection,
}

impl Limits {
    fn now_us(&self) -> u64 {
        self.host.monotonic_ns() / 1000
    }

    fn unit_delay(&self) -> f64 {
        f64::from_bits(self.unit_delay.load(Ordering::Relaxed))
    }

    /// The delay of the request that made the count `conn`.
    fn delay(&self, conn: i64) -> Duration {
        let over = (conn - 1) / self.conn;
        Duration::from_secs_f64((self.unit_delay() * over as f64).max(0.0))
    }

    /// What a request does once counted: rejected, through, or through
    /// after its delay; what it counted is left in `var` for the log phase.
    fn counted(
        &self,
        ctx: &mut Ctx<'_>,
        var: &str,
        key: &str,
        r: Result<Option<i64>, String>,
    ) -> Decision {
        let conn = match r {
            Ok(Some(conn)) => conn,
            Ok(None) => return Decision::Respond(self.rejection.response([])),
            Err(e) => {
                self.host
                    .log(LogLevel::Error, &format!("failed to limit conn: {e}"));
                return if self.allow_degradation {
                    Decision::Continue
                } else {
                    Decision::Respond(Response::new(500))
                };
            }
        };
        let delay = self.delay(conn);
        ctx.set_var(
            var,
            &format!("{} {} {key}", self.now_us(), delay.as_micros()),
        );
        if delay < MIN_DELAY {
            return Decision::Continue;
        }
        let host = self.host.clone();
        Decision::wait(async move {
            match host.sleep(delay).await {
                Ok(()) => Decision::Continue,
                Err(e) => Decision::Error(format!("the delay could not be waited: {e}")),
            }
        })
    }

    /// A request left after `latency` seconds (its own delay excluded):
    /// the delay unit follows the latencies unless told not to.
    fn left(&self, latency: f64) {
        if self.only_default_delay {
            return;
        }
        // Two requests leaving at once may each average with the unit
        // the other read: either way the unit is a mean of latencies.
        let unit = (latency + self.unit_delay()) / 2.0;
        self.unit_delay.store(unit.to_bits(), Ordering::Relaxed);
    }

    fn failed_to_leave(&self, e: &str) {
        self.host.log(
            LogLevel::Error,
            &format!("failed to record the connection leaving request: {e}"),
        );
    }
}

/// Instances built so far in this process: each config counts apart,
/// shared by every route it applies to.
static INSTANCES: AtomicU64 = AtomicU64::new(0);

impl Plugin for LimitConn {
    const NAME: &'static str = "limit-conn";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const PRIORITY: i32 = 1003;
    const PHASES: Phases = Phases::of(Phase::Access).with(Phase::Log);
    const SCHEMA: &'static str = config::SCHEMA;

    type Config = Config;

    fn new(config: Config, host: &Host) -> Result<Self, ConfigError> {
        config.check()?;
        let n = INSTANCES.fetch_add(1, Ordering::Relaxed);
        let (key_prefix, conns, per_route): (String, Box<dyn Conns>, bool) =
            match config.policy()? {
                Policy::Local => (
                    format!("limit-conn:{n}:"),
                    Box::new(LocalConns::new(host.clone())),
                    false,
                ),
                Policy::Redis(target) => (
                    format!(
                        "{}:conf:{:016x}:route:",
                        config.redis_prefix,
                        config_digest(&config)
                    ),
                    Box::new(RedisConns::new(host.clone(), target, config.key_ttl)),
                    true,
                ),
            };
        Ok(LimitConn {
            key: KeySource::new(config.key_type, &config.key),
            key_prefix,
            per_route,
            var: format!("limit-conn.{n}"),
            conns,
            limits: Arc::new(Limits {
                host: host.clone(),
                conn: config.conn,
                burst: config.burst,
                only_default_delay: config.only_use_default_delay,
                unit_delay: AtomicU64::new(config.default_conn_delay.to_bits()),
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
        let limit = self.limits.conn.saturating_add(self.limits.burst);
        match self.conns.incoming(&key, limit) {
            Counted::Now(r) => self.limits.counted(ctx, &self.var, &key, r),
            Counted::Later(counting) => {
                let (limits, var) = (self.limits.clone(), self.var.clone());
                Decision::wait_then(counting, move |ctx, r| limits.counted(ctx, &var, &key, r))
            }
        }
    }

    fn log(&self, ctx: &mut Ctx<'_>) -> Decision {
        let Some((since, delay, key)) = ctx.var(&self.var).and_then(|v| {
            let mut parts = v.splitn(3, ' ');
            let since: u64 = parts.next()?.parse().ok()?;
            let delay: u64 = parts.next()?.parse().ok()?;
            Some((since, delay, parts.next()?.to_owned()))
        }) else {
            return Decision::Continue;
        };
        let took = self
            .limits
            .now_us()
            .saturating_sub(since)
            .saturating_sub(delay);
        self.limits.left(took as f64 / 1e6);
        match self.conns.leaving(&key) {
            Counted::Now(Ok(_)) => Decision::Continue,
            Counted::Now(Err(e)) => {
                self.limits.failed_to_leave(&e);
                Decision::Continue
            }
            Counted::Later(leaving) => {
                let limits = self.limits.clone();
                Decision::wait(async move {
                    if let Err(e) = leaving.await {
                        limits.failed_to_leave(&e);
                    }
                    Decision::Continue
                })
            }
        }
    }
}

export_plugin!(LimitConn);

#[cfg(test)]
mod tests;
