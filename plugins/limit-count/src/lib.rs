//! `limit-count`: at most `count` requests per `time_window` seconds per key
//! (APISIX's plugin, priority 1002, policy `local`). Counters live in the
//! host's shared store (atomic increment with expiry), so every worker
//! sees the same count. Runs in access; the quota headers are set in
//! header_filter (and on the rejection itself).
//!
//! ```json
//! "limit-count": {"count": 2, "time_window": 60, "rejected_code": 503, "key": "remote_addr"}
//! ```

mod config;
pub use radixgate_plugin::vars;

use std::cell::RefCell;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock};

use radixgate_plugin::{
    export_plugin, ConfigError, Ctx, Decision, Host, LogLevel, Phase, Phases, Plugin, Response,
};

pub use config::{Amount, Config, KeyType};
use vars::{Template, VarName};

/// Request variable holding "limit remaining reset" for header_filter.
const QUOTA_VAR: &str = "limit-count.quota";

/// How the counter key is found for a request.
enum KeySource {
    Var(VarName),
    Combination(Template),
    Constant(String),
}

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
    host: Host,
    count: Number,
    /// Window length in seconds.
    window: Number,
    allow_degradation: bool,
    key: KeySource,
    /// Start of every counter key: `limit-count:` and the group, or this
    /// instance's number, and `:`.
    key_prefix: String,
    rejected_code: u16,
    rejected_body: Option<Vec<u8>>,
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
        let found = match &self.key {
            KeySource::Var(VarName::RemoteAddr) => false,
            KeySource::Var(var) => var.resolve(ctx).map(|v| buf.push_str(&v)).is_some(),
            KeySource::Combination(t) => match t.render(ctx, &[]) {
                (_, 0) => false,
                (text, _) => {
                    buf.push_str(&text);
                    true
                }
            },
            KeySource::Constant(c) => {
                buf.push_str(c);
                true
            }
        };
        if !found {
            // Writing to a String cannot fail.
            let _ = write!(buf, "{}", ctx.client_addr().ip());
        }
    }

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
        let json = host.metadata();
        let key = match config.key_type {
            KeyType::Var => KeySource::Var(VarName::parse(&config.key)),
            KeyType::VarCombination => KeySource::Combination(Template::parse(&config.key)),
            KeyType::Constant => KeySource::Constant(config.key.clone()),
        };
        let prefix = match &config.group {
            Some(group) => format!("group:{group}"),
            None => format!("instance:{}", INSTANCES.fetch_add(1, Ordering::Relaxed)),
        };
        let key_prefix = format!("limit-count:{prefix}:");
        let rejected_body = config
            .rejected_msg
            .as_ref()
            .map(|msg| radixgate_plugin::serde_json::json!({ "error_msg": msg }).to_string())
            .map(String::into_bytes);
        Ok(LimitCount {
            host: host.clone(),
            count: Number::new(&config.count),
            window: Number::new(&config.time_window),
            allow_degradation: config.allow_degradation,
            key,
            key_prefix,
            rejected_code: config.rejected_code,
            rejected_body,
            show_headers: config.show_limit_quota_header,
            headers: RwLock::new(MetadataCache {
                names: Arc::new(header_names(json.as_deref())?),
                json,
            }),
        })
    }

    fn access(&self, ctx: &mut Ctx<'_>) -> Decision {
        let (Some(count), Some(window)) = (self.count.resolve(ctx), self.window.resolve(ctx))
        else {
            self.host.log(
                LogLevel::Error,
                "failed to get rate limit rules: count or time_window is not a positive number",
            );
            return if self.allow_degradation {
                Decision::Continue
            } else {
                Decision::Respond(Response::new(500))
            };
        };
        let window_ms = (window as u64).saturating_mul(1000);
        let counter = BUF.with_borrow_mut(|key| {
            self.write_key(ctx, key);
            self.host.incr(key, 1, window_ms)
        });
        let now = self.host.now_unix_ms();
        let reset = counter.expires_at_ms.saturating_sub(now).div_ceil(1000);
        let remaining = count - counter.value;
        if remaining < 0 {
            let mut response = Response::new(self.rejected_code);
            if self.show_headers {
                for (name, value) in self.quota_headers(count, 0, reset) {
                    response = response.header(name, value);
                }
            }
            if let Some(body) = &self.rejected_body {
                response = response
                    .header("Content-Type", "application/json")
                    .body(body.clone());
            }
            return Decision::Respond(response);
        }
        if self.show_headers {
            BUF.with_borrow_mut(|text| {
                text.clear();
                let _ = write!(text, "{count} {remaining} {reset}");
                ctx.set_var(QUOTA_VAR, text);
            });
        }
        Decision::Continue
    }

    fn header_filter(&self, ctx: &mut Ctx<'_>) -> Decision {
        if !self.show_headers {
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
        let names = self.header_names();
        BUF.with_borrow_mut(|text| {
            let headers: [(&str, &dyn std::fmt::Display); 3] = [
                (&names.limit, &limit),
                (&names.remaining, &remaining),
                (&names.reset, &reset),
            ];
            for (name, value) in headers {
                text.clear();
                let _ = write!(text, "{value}");
                ctx.set_response_header(name, text);
            }
        });
        Decision::Continue
    }
}

export_plugin!(LimitCount);

#[cfg(test)]
mod tests;
