//! `limit-count`: at most `count` requests per `time_window` seconds per key
//! (APISIX's plugin, priority 1002). With `policy: local` counters live in
//! the host's shared store (atomic increment with expiry), so every worker
//! sees the same count; with `redis` or `redis-cluster` they live in Redis
//! and every gateway using it counts together ([`redis`]), with a push per
//! `sync_interval` instead of a round trip per request when asked
//! ([`sync`]). [`counter`] holds the trait the policies implement, and
//! `group`. Runs in access; the quota headers are set in header_filter
//! (and on the rejection itself).
//!
//! ```json
//! "limit-count": {"count": 2, "time_window": 60, "rejected_code": 503, "key": "remote_addr"}
//! ```

#[macro_use]
extern crate radixgate_plugin_limit_common as shared;

mod config;
pub mod counter;
pub mod redis;
pub mod sync;
pub use radixgate_plugin::vars;

use std::cell::RefCell;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock};

use radixgate_plugin::{
    export_plugin, ConfigError, Ctx, Decision, Host, LogLevel, Phase, Phases, Plugin, Response,
};

pub use config::{Amount, Config, KeyType};
use counter::{GroupHold, LocalWindows, Window, Windows};
use redis::{RedisCounts, RedisWindows};
use shared::redis::{config_digest, Policy};
use shared::{Counted, KeySource, Rejection};
use sync::SyncedWindows;
use vars::Template;

/// Request variable holding "limit remaining reset" for header_filter.
const QUOTA_VAR: &str = "limit-count.quota";

/// A number fixed at load or read from the request.
enum Number {
    Fixed(i64),
    Template(Template),
}

impl Number {
    fn new(amount: &Amount) -> Number {
        match amount {
            Amount::Fixed(n) => Number::Fixed(*n),
            Amount::Var(text) => Number::Template(Template::parse(text)),
        }
    }

    /// The value for this request; `None` unless a positive integer.
    fn resolve(&self, ctx: &Ctx<'_>) -> Option<i64> {
        match self {
            Number::Fixed(n) => Some(*n),
            Number::Template(t) => t.render(ctx, &[]).0.trim().parse().ok().filter(|n| *n > 0),
        }
    }
}

/// The quota header names (from plugin_metadata when set).
struct HeaderNames {
    limit: String,
    remaining: String,
    reset: String,
}

/// The plugin_metadata JSON last read from the host and the header names
/// it gives.
struct MetadataCache {
    json: Option<String>,
    names: Arc<HeaderNames>,
}

/// One config's limiter.
pub struct LimitCount {
    count: Number,
    /// Window length in seconds.
    window: Number,
    key: KeySource,
    /// Start of every counter key: `limit-count:` and the group, or this
    /// instance's number (local) or config's digest (Redis), and `:`.
    key_prefix: String,
    /// Whether the route's id follows the prefix: counters in Redis are
    /// shared by every gateway, so a config without a group is told apart
    /// by its content and its route (APISIX keys them by the owning
    /// object), not by an instance number of one process.
    per_route: bool,
    windows: Box<dyn Windows>,
    decider: Arc<Decider>,
    /// The group this config counts in, held while the instance lives.
    _group: Option<Arc<GroupHold>>,
}

/// What a config decides once a request is counted.
struct Decider {
    host: Host,
    allow_degradation: bool,
    rejection: Rejection,
    show_headers: bool,
    /// Read again when the plugin_metadata changes (APISIX reads it per
    /// request: a change applies from the next request on).
    headers: RwLock<MetadataCache>,
}

thread_local! {
    /// A buffer for the counter key and header values, reused by every
    /// request on the thread (no allocation per request once it has grown).
    static BUF: RefCell<String> = const { RefCell::new(String::new()) };
}

impl LimitCount {
    /// Writes the counter key of this request into `buf` (cleared first).
    fn write_key(&self, ctx: &Ctx<'_>, buf: &mut String) {
        buf.clear();
        buf.push_str(&self.key_prefix);
        if self.per_route {
            buf.push_str(ctx.route_id());
            buf.push(':');
        }
        self.key.write(ctx, buf);
    }
}

impl Decider {
    /// The quota header names of the plugin_metadata in force now.
    fn header_names(&self) -> Arc<HeaderNames> {
        let json = self.host.metadata();
        {
            let cache = self.headers.read().unwrap_or_else(PoisonError::into_inner);
            if cache.json == json {
                return cache.names.clone();
            }
        }
        let names = match header_names(json.as_deref()) {
            Ok(names) => Arc::new(names),
            Err(e) => {
                self.host.log(
                    LogLevel::Error,
                    &format!("{e}; the quota headers keep APISIX's names"),
                );
                Arc::new(HeaderNames::from(config::Metadata::default()))
            }
        };
        *self.headers.write().unwrap_or_else(PoisonError::into_inner) = MetadataCache {
            json,
            names: names.clone(),
        };
        names
    }

    /// Logs `why`; the request goes on with `allow_degradation`, else it
    /// gets `answer`.
    fn failed(&self, why: &str, answer: Response) -> Decision {
        self.host.log(LogLevel::Error, why);
        if self.allow_degradation {
            Decision::Continue
        } else {
            Decision::Respond(answer)
        }
    }

    /// What a request counted in its window comes to: through (its quota
    /// left for header_filter) or rejected, with the quota headers.
    fn counted(&self, ctx: &mut Ctx<'_>, count: i64, counted: Result<Window, String>) -> Decision {
        let window = match counted {
            Ok(window) => window,
            Err(e) => {
                let body = r#"{"error_msg":"failed to limit count"}"#;
                return self.failed(
                    &format!("failed to limit count: {e}"),
                    Response::new(500)
                        .header("Content-Type", "application/json")
                        .body(body),
                );
            }
        };
        let reset = window.reset_ms.div_ceil(1000);
        let remaining = count - window.count;
        if remaining < 0 {
            let headers = self
                .show_headers
                .then(|| self.quota_headers(count, 0, reset));
            return Decision::Respond(self.rejection.response(headers.into_iter().flatten()));
        }
        if self.show_headers {
            BUF.with_borrow_mut(|text| {
                text.clear();
                let mut digits = itoa::Buffer::new();
                text.push_str(digits.format(count));
                text.push(' ');
                text.push_str(digits.format(remaining));
                text.push(' ');
                text.push_str(digits.format(reset));
                ctx.set_var(QUOTA_VAR, text);
            });
        }
        Decision::Continue
    }

    fn quota_headers(&self, limit: i64, remaining: i64, reset: u64) -> [(String, String); 3] {
        let names = self.header_names();
        [
            (names.limit.clone(), limit.to_string()),
            (names.remaining.clone(), remaining.to_string()),
            (names.reset.clone(), reset.to_string()),
        ]
    }
}

/// Instances built so far in this process: each config gets counters of
/// its own, shared by every route it applies to (a service's or a global
/// rule's config included). A rebuilt config starts afresh, as APISIX's
/// counters follow the owning object's version.
static INSTANCES: AtomicU64 = AtomicU64::new(0);

impl From<config::Metadata> for HeaderNames {
    fn from(meta: config::Metadata) -> HeaderNames {
        HeaderNames {
            limit: meta.limit_header,
            remaining: meta.remaining_header,
            reset: meta.reset_header,
        }
    }
}

/// The header names of plugin_metadata `json`, or APISIX's defaults.
fn header_names(json: Option<&str>) -> Result<HeaderNames, ConfigError> {
    let meta: config::Metadata = match json {
        Some(json) => radixgate_plugin::serde_json::from_str(json)
            .map_err(|e| ConfigError::field("plugin_metadata", e))?,
        None => config::Metadata::default(),
    };
    Ok(HeaderNames::from(meta))
}

impl Plugin for LimitCount {
    const NAME: &'static str = "limit-count";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const PRIORITY: i32 = 1002;
    const PHASES: Phases = Phases::of(Phase::Access).with(Phase::HeaderFilter);
    const SCHEMA: &'static str = config::SCHEMA;
    const METADATA_SCHEMA: Option<&'static str> = Some(config::METADATA_SCHEMA);

    type Config = Config;

    fn new(config: Config, host: &Host) -> Result<Self, ConfigError> {
        config.check()?;
        let group = counter::join(&config)?;
        let json = host.metadata();
        let policy = config.policy()?;
        let windows: Box<dyn Windows> = match (&policy, config.sync_interval()?) {
            (Policy::Local, _) => Box::new(LocalWindows::new(host.clone())),
            (Policy::Redis(target), None) => Box::new(RedisWindows::new(RedisCounts::new(
                host.clone(),
                target.clone(),
            ))),
            (Policy::Redis(target), Some(interval_ms)) => Box::new(SyncedWindows::new(
                RedisCounts::new(host.clone(), target.clone()),
                interval_ms,
            )),
        };
        let per_route = config.group.is_none() && policy != Policy::Local;
        let prefix = match (&config.group, &policy) {
            (Some(group), _) => format!("group:{group}"),
            (None, Policy::Local) => {
                format!("instance:{}", INSTANCES.fetch_add(1, Ordering::Relaxed))
            }
            (None, Policy::Redis(_)) => format!("conf:{:016x}:route", config_digest(&config)),
        };
        Ok(LimitCount {
            count: Number::new(&config.count),
            window: Number::new(&config.time_window),
            key: KeySource::new(config.key_type, &config.key),
            key_prefix: format!("limit-count:{prefix}:"),
            per_route,
            windows,
            decider: Arc::new(Decider {
                host: host.clone(),
                allow_degradation: config.allow_degradation,
                rejection: config.rejection()?,
                show_headers: config.show_limit_quota_header,
                headers: RwLock::new(MetadataCache {
                    names: Arc::new(header_names(json.as_deref())?),
                    json,
                }),
            }),
            _group: group,
        })
    }

    fn access(&self, ctx: &mut Ctx<'_>) -> Decision {
        let (Some(count), Some(window)) = (self.count.resolve(ctx), self.window.resolve(ctx))
        else {
            return self.decider.failed(
                "failed to get rate limit rules: count or time_window is not a positive number",
                Response::new(500),
            );
        };
        let window_ms = (window as u64).saturating_mul(1000);
        let counted = BUF.with_borrow_mut(|key| {
            self.write_key(ctx, key);
            self.windows.incoming(key, count, window_ms)
        });
        match counted {
            Counted::Now(counted) => self.decider.counted(ctx, count, counted),
            Counted::Later(counting) => {
                let decider = self.decider.clone();
                Decision::wait_then(counting, move |ctx, counted| {
                    decider.counted(ctx, count, counted)
                })
            }
        }
    }

    fn header_filter(&self, ctx: &mut Ctx<'_>) -> Decision {
        if !self.decider.show_headers {
            return Decision::Continue;
        }
        let Some((limit, remaining, reset)) = ctx.var(QUOTA_VAR).and_then(|v| {
            let mut parts = v.split(' ');
            Some((
                parts.next()?.parse::<i64>().ok()?,
                parts.next()?.parse::<i64>().ok()?,
                parts.next()?.parse::<u64>().ok()?,
            ))
        }) else {
            return Decision::Continue;
        };
        let names = self.decider.header_names();
        let mut digits = itoa::Buffer::new();
        ctx.set_response_header(&names.limit, digits.format(limit));
        ctx.set_response_header(&names.remaining, digits.format(remaining));
        ctx.set_response_header(&names.reset, digits.format(reset));
        Decision::Continue
    }
}

export_plugin!(LimitCount);

#[cfg(test)]
mod redis_tests;
#[cfg(test)]
mod tests;
