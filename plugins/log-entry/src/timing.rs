//! The request's start as the loggers see it: marked in their rewrite
//! phase (the first logger of the chain marks it), read in the log phase.
//!
//! The host sets nginx's `request_time` (from arrival to the response
//! head) for the log phase, which `latency` prefers; the mark is what is
//! left when it is not set (a response through `body_filter` plugins,
//! whose log phase runs at the body's end).

use radixgate_plugin::{Ctx, Host};

/// The request variable holding the mark: `<unix ms> <monotonic ns>`.
pub const START_VAR: &str = "radixgate_log_start";

/// Marks the request's start, unless a logger earlier in the chain did.
pub fn mark(ctx: &mut Ctx<'_>, host: &Host) {
    if ctx.var(START_VAR).is_none() {
        let mark = format!("{} {}", host.now_unix_ms(), host.monotonic_ns());
        ctx.set_var(START_VAR, &mark);
    }
}

/// When the request started and how long it has taken so far.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Timing {
    /// The start, in Unix milliseconds.
    pub start_ms: u64,
    /// Milliseconds from the start to now.
    pub latency_ms: f64,
}

/// Reads the mark (a request no logger's rewrite saw, such as one whose
/// logger came with its consumer, starts now: latency 0).
pub fn read(ctx: &Ctx<'_>, host: &Host) -> Timing {
    let now_ns = host.monotonic_ns();
    let parsed = ctx.var(START_VAR).and_then(|mark| {
        let (ms, ns) = mark.split_once(' ')?;
        Some((ms.parse::<u64>().ok()?, ns.parse::<u64>().ok()?))
    });
    match parsed {
        Some((start_ms, start_ns)) => Timing {
            start_ms,
            latency_ms: now_ns.saturating_sub(start_ns) as f64 / 1e6,
        },
        None => Timing {
            start_ms: host.now_unix_ms(),
            latency_ms: 0.0,
        },
    }
}

/// `time_iso8601` of Unix milliseconds, in UTC: `2026-12-02T10:48:30+00:00`.
pub fn iso8601(unix_ms: u64) -> String {
    let secs = unix_ms / 1000;
    let (days, rest) = (secs / 86_400, secs % 86_400);
    let (y, m, d) = civil(days as i64);
    let (h, mi, s) = (rest / 3600, rest % 3600 / 60, rest % 60);
    format!("{y:04}-{m:02}-{d:02}T{h:02}:{mi:02}:{s:02}+00:00")
}

/// The civil date of a day count since 1970-01-01 (Howard Hinnant's
/// `civil_from_days`).
fn civil(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}
