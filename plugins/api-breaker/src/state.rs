//! The breaker's state in the host's shared store, so that every worker
//! sees it: per host and path (APISIX's keys), a count of failures, a
//! count of successes since the last failure, and when the breaker last
//! opened (unix ms).

use radixgate_plugin::vars::VarName;
use radixgate_plugin::{Ctx, Host};

/// The store keys of one host and path.
pub struct Keys {
    /// Failures counted.
    pub unhealthy: String,
    /// Successes counted since the last failure.
    pub healthy: String,
    /// When the breaker last opened (unix ms).
    pub opened: String,
}

impl Keys {
    /// The keys of this request's host (without port, lower case) and path.
    pub fn of(ctx: &Ctx<'_>) -> Keys {
        let host = VarName::Host.resolve(ctx).unwrap_or_default();
        let at = format!("{host}{}", ctx.path());
        Keys {
            unhealthy: format!("api-breaker:unhealthy-{at}"),
            healthy: format!("api-breaker:healthy-{at}"),
            opened: format!("api-breaker:unhealthy-lasttime-{at}"),
        }
    }
}

/// The number under `key` (0 when missing, expired or cleared).
pub fn read(host: &Host, key: &str) -> u64 {
    host.get(key).and_then(|v| v.parse().ok()).unwrap_or(0)
}

/// Clears `key`: it reads as 0 at once and is gone a moment later (the
/// store has no delete).
pub fn clear(host: &Host, key: &str) {
    host.set(key, "0", 1);
}

/// How long the breaker stays open after `failures_counted` failures, in
/// ms: APISIX's 2^n seconds, n the number of times `failures` were
/// reached (at least 1), at most `max_sec` seconds.
pub fn break_ms(failures_counted: u64, failures: u64, max_sec: u64) -> u64 {
    let times = failures_counted.div_ceil(failures.max(1)).max(1);
    let secs = if times >= 63 {
        max_sec
    } else {
        (1u64 << times).min(max_sec)
    };
    secs.saturating_mul(1000)
}
