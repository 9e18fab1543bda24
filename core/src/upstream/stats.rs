//! Per-node load figures the `least_conn` and `ewma` balancers read:
//! requests in flight and a peak-EWMA of response latency. Updated
//! lock-free (atomics) from every worker through a [`Tracked`] guard.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
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
pub enum TryOutcome {
    /// The node answered with this status.
    Status(u16),
    /// The node could not be reached.
    ConnectFailed,
    /// The node did not answer in time.
    Timeout,
    /// The connection failed while the request or response head was in flight.
    Failed,
}

impl From<&ForwardError> for TryOutcome {
    fn from(e: &ForwardError) -> TryOutcome {
        match e {
            ForwardError::Connect(_) => TryOutcome::ConnectFailed,
            ForwardError::Timeout(_) => TryOutcome::Timeout,
            ForwardError::Upstream(_) => TryOutcome::Failed,
            // Not the node's doing; the proxy records no outcome for it.
            ForwardError::Client(_) => TryOutcome::Failed,
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
    // Global: one time origin, so that every worker's stamps compare.
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    // Starts above 0 so that "never touched" (0) reads as long ago.
    EPOCH.get_or_init(Instant::now).elapsed().as_nanos() as u64 + 3_600_000_000_000
}

/// A try in progress at a node: in flight until its guard is dropped;
/// [`Tracked::done`] records how the response head went (latency for
/// `ewma`, passive health checks) and hands back the in-flight count, which
/// the response body keeps until it ends (as `least_conn` counts: a long
/// download is load). Dropping it without (the client went away) only ends
/// the in-flight count.
#[derive(Debug)]
#[must_use = "a try counts as in flight until the guard is dropped"]
pub struct Tracked<'a> {
    flight: Option<InFlight>,
    health: Option<(&'a HealthSet, usize)>,
    start: Option<Instant>,
}

impl<'a> Tracked<'a> {
    /// Starts tracking a try at node `i` of `stats`; stats only for
    /// balancers that read them, `health` only when passive checks count
    /// outcomes.
    pub(super) fn start(
        stats: Option<(&Arc<[NodeStats]>, usize)>,
        health: Option<(&'a HealthSet, usize)>,
    ) -> Self {
        let flight = stats.and_then(|(all, i)| {
            let s = all.get(i)?;
            s.in_flight.fetch_add(1, Ordering::Relaxed);
            Some(InFlight {
                all: all.clone(),
                i,
            })
        });
        Tracked {
            start: flight.as_ref().map(|_| Instant::now()),
            flight,
            health,
        }
    }

    /// Records how the try's response head went; the request stays in
    /// flight while the returned guard lives.
    pub fn done(mut self, outcome: TryOutcome) -> Option<InFlight> {
        if let (Some(f), Some(start)) = (&self.flight, self.start) {
            let took = start.elapsed();
            f.stats().observe(match outcome {
                TryOutcome::Status(_) => took,
                _ => took.max(FAILURE_SAMPLE),
            });
        }
        if let Some((h, i)) = self.health {
            h.report(i, outcome);
        }
        self.flight.take()
    }
}

/// A request in flight at a node, counted until this is dropped.
#[derive(Debug)]
pub struct InFlight {
    all: Arc<[NodeStats]>,
    i: usize,
}

impl InFlight {
    fn stats(&self) -> &NodeStats {
        // `start` only makes one for an index that exists.
        &self.all[self.i]
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.stats().in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guard_counts_in_flight_until_dropped() {
        let all: Arc<[NodeStats]> = Arc::new([NodeStats::default()]);
        let s = &all[0];
        let a = Tracked::start(Some((&all, 0)), None);
        let b = Tracked::start(Some((&all, 0)), None);
        assert_eq!(s.in_flight(), 2);
        // The head is in: still in flight while the body streams.
        let body = a.done(TryOutcome::Status(200));
        assert_eq!(s.in_flight(), 2);
        drop(body);
        assert_eq!(s.in_flight(), 1);
        drop(b);
        assert_eq!(s.in_flight(), 0);
        assert!(s.ewma() > 0.0);
        assert!(Tracked::start(Some((&all, 1)), None)
            .done(TryOutcome::Failed)
            .is_none());
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
        let all: Arc<[NodeStats]> = Arc::new([NodeStats::default()]);
        drop(Tracked::start(Some((&all, 0)), None).done(TryOutcome::ConnectFailed));
        assert!(all[0].ewma() >= 0.99e9, "{}", all[0].ewma());
        assert_eq!(all[0].in_flight(), 0);
    }
}
