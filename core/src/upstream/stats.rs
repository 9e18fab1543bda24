//! Per-node load figures the `least_conn` and `ewma` balancers read:
//! requests in flight and a peak-EWMA of response latency. Updated
//! lock-free (atomics) from every worker through a [`Tracked`] guard.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use super::client::ForwardError;
use super::health::HealthSet;

/// Seconds over which an old latency sample loses weight (APISIX's
/// `DECAY_TIME` for `ewma`).
const DECAY_SECS: f64 = 10.0;
/// The sample a failed try counts as (at least), so that a node that fails
/// fast does not look fast.
const FAILURE_SAMPLE: Duration = Duration::from_secs(1);

/// How one try at a node ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The node answered with this status.
    Status(u16),
    /// The node could not be reached.
    ConnectFailed,
    /// The node did not answer in time.
    Timeout,
    /// The connection failed while the request or response head was in flight.
    Failed,
}

impl From<&ForwardError> for Outcome {
    fn from(e: &ForwardError) -> Outcome {
        match e {
            ForwardError::Connect(_) => Outcome::ConnectFailed,
            ForwardError::Timeout(_) => Outcome::Timeout,
            ForwardError::Upstream(_) => Outcome::Failed,
        }
    }
}

/// Load figures of one node.
#[derive(Debug, Default)]
pub struct NodeStats {
    in_flight: AtomicU32,
    /// Latency EWMA in nanoseconds, as `f64` bits.
    ewma: AtomicU64,
    /// When `ewma` was last updated (nanoseconds since the process epoch).
    touched: AtomicU64,
}

impl NodeStats {
    /// Requests sent to the node whose response head has not arrived.
    pub fn in_flight(&self) -> u32 {
        self.in_flight.load(Ordering::Relaxed)
    }

    /// The latency EWMA now (nanoseconds), decayed towards 0 for the time
    /// since the last sample, as APISIX reads it.
    pub fn ewma(&self) -> f64 {
        let ewma = f64::from_bits(self.ewma.load(Ordering::Relaxed));
        let since = now_ns().saturating_sub(self.touched.load(Ordering::Relaxed));
        ewma * decay(since)
    }

    /// Adds a latency sample: a sample above the average replaces it
    /// (peak-EWMA); a lower one is blended in by the time since the last.
    pub fn observe(&self, sample: Duration) {
        let rtt = sample.as_nanos() as f64;
        let now = now_ns();
        let since = now.saturating_sub(self.touched.swap(now, Ordering::Relaxed));
        let w = decay(since);
        let _ = self
            .ewma
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |bits| {
                let old = f64::from_bits(bits);
                let new = if rtt > old {
                    rtt
                } else {
                    old * w + rtt * (1.0 - w)
                };
                Some(new.to_bits())
            });
    }
}

/// The weight an old average keeps after `ns` nanoseconds.
fn decay(ns: u64) -> f64 {
    (-(ns as f64 / 1e9) / DECAY_SECS).exp()
}

fn now_ns() -> u64 {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    // Starts above 0 so that "never touched" (0) reads as long ago.
    EPOCH.get_or_init(Instant::now).elapsed().as_nanos() as u64 + 3_600_000_000_000
}

/// One try at a node, from the moment it is sent: counts as in flight
/// until dropped. [`Tracked::done`] records how it ended (latency for
/// `ewma`, passive health checks); dropping it without (the client went
/// away) only ends the in-flight count.
#[derive(Debug)]
#[must_use = "a try counts as in flight until the guard is dropped"]
pub struct Tracked<'a> {
    stats: Option<&'a NodeStats>,
    health: Option<(&'a HealthSet, usize)>,
    start: Option<Instant>,
}

impl<'a> Tracked<'a> {
    /// Starts tracking a try; `stats` only for balancers that read them,
    /// `health` only when passive checks count outcomes.
    pub(super) fn start(
        stats: Option<&'a NodeStats>,
        health: Option<(&'a HealthSet, usize)>,
    ) -> Self {
        if let Some(s) = stats {
            s.in_flight.fetch_add(1, Ordering::Relaxed);
        }
        Tracked {
            stats,
            health,
            start: stats.map(|_| Instant::now()),
        }
    }

    /// Records how the try ended and ends it.
    pub fn done(self, outcome: Outcome) {
        if let (Some(s), Some(start)) = (self.stats, self.start) {
            let took = start.elapsed();
            s.observe(match outcome {
                Outcome::Status(_) => took,
                _ => took.max(FAILURE_SAMPLE),
            });
        }
        if let Some((h, i)) = self.health {
            h.report(i, outcome);
        }
    }
}

impl Drop for Tracked<'_> {
    fn drop(&mut self) {
        if let Some(s) = self.stats {
            s.in_flight.fetch_sub(1, Ordering::Relaxed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guard_counts_in_flight_until_dropped() {
        let s = NodeStats::default();
        let a = Tracked::start(Some(&s), None);
        let b = Tracked::start(Some(&s), None);
        assert_eq!(s.in_flight(), 2);
        a.done(Outcome::Status(200));
        assert_eq!(s.in_flight(), 1);
        drop(b);
        assert_eq!(s.in_flight(), 0);
        assert!(s.ewma() > 0.0);
    }

    #[test]
    fn peaks_replace_and_lows_blend() {
        let s = NodeStats::default();
        s.observe(Duration::from_millis(10));
        let first = s.ewma();
        assert!((first - 10e6).abs() < 1e5, "{first}");
        s.observe(Duration::from_millis(100));
        assert!(s.ewma() > 99e6, "a peak replaces the average");
        s.observe(Duration::from_millis(1));
        // Back to back: the old average keeps nearly all its weight.
        assert!(s.ewma() > 90e6 && s.ewma() <= 100e6, "{}", s.ewma());
        assert!(decay(10_000_000_000) < 0.37 && decay(10_000_000_000) > 0.36);
    }

    #[test]
    fn failures_count_as_slow() {
        let s = NodeStats::default();
        Tracked::start(Some(&s), None).done(Outcome::ConnectFailed);
        assert!(s.ewma() >= 0.99e9, "{}", s.ewma());
        assert_eq!(s.in_flight(), 0);
    }
}
