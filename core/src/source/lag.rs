//! The config change pipeline's lag, as the metrics exporter shows it: the
//! etcd revision the source has seen, the revision the live snapshot
//! serves, how many source events were applied, and how long an event
//! took from the source to a published snapshot. Process-wide counters:
//! the source marks what it sent, the builder what it published.

use std::collections::VecDeque;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Instant;

static SEEN: AtomicI64 = AtomicI64::new(0);
static APPLIED: AtomicI64 = AtomicI64::new(0);
static EVENTS: AtomicU64 = AtomicU64::new(0);
static LAG_SUM_US: AtomicU64 = AtomicU64::new(0);
static LAG_LAST_US: AtomicU64 = AtomicU64::new(0);
static LAG_COUNT: AtomicU64 = AtomicU64::new(0);
/// Events sent and not yet published: their revision and when they left.
static PENDING: Mutex<VecDeque<(i64, Instant)>> = Mutex::new(VecDeque::new());
/// More pending events than this means nobody publishes them (a source
/// without a builder, in a test): the oldest are forgotten.
const MAX_PENDING: usize = 4096;

/// The etcd source heard of `revision` (an event or a progress notification).
pub fn seen(revision: i64) {
    SEEN.fetch_max(revision, Ordering::Relaxed);
}

/// The etcd source sent an event current to `revision`.
pub fn sent(revision: i64) {
    seen(revision);
    let mut q = PENDING.lock().unwrap_or_else(|p| p.into_inner());
    if q.len() >= MAX_PENDING {
        q.pop_front();
    }
    q.push_back((revision, Instant::now()));
}

/// The builder published a snapshot for the next source event (`Full` or
/// `Changes`; from the file source too, which sends no revision).
pub fn published() {
    EVENTS.fetch_add(1, Ordering::Relaxed);
    let next = PENDING
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .pop_front();
    if let Some((revision, at)) = next {
        APPLIED.fetch_max(revision, Ordering::Relaxed);
        let us = at.elapsed().as_micros() as u64;
        LAG_SUM_US.fetch_add(us, Ordering::Relaxed);
        LAG_COUNT.fetch_add(1, Ordering::Relaxed);
        LAG_LAST_US.store(us, Ordering::Relaxed);
    }
}

/// The figures in Prometheus' text format.
pub fn render() -> String {
    let mut out = String::new();
    let secs = |us: u64| us as f64 / 1e6;
    let events = EVENTS.load(Ordering::Relaxed);
    let _ = write!(
        out,
        "# HELP radixgate_config_revision_seen The latest etcd revision the config source has heard of.\n\
         # TYPE radixgate_config_revision_seen gauge\n\
         radixgate_config_revision_seen {}\n\
         # HELP radixgate_config_revision_applied The etcd revision the live snapshot serves.\n\
         # TYPE radixgate_config_revision_applied gauge\n\
         radixgate_config_revision_applied {}\n\
         # HELP radixgate_config_events_applied_total Config source events (a full set, or a batch of changes) published as snapshots.\n\
         # TYPE radixgate_config_events_applied_total counter\n\
         radixgate_config_events_applied_total {events}\n\
         # HELP radixgate_config_event_to_served_seconds Time from an etcd event leaving the source to its snapshot serving.\n\
         # TYPE radixgate_config_event_to_served_seconds summary\n\
         radixgate_config_event_to_served_seconds_sum {}\n\
         radixgate_config_event_to_served_seconds_count {}\n\
         # HELP radixgate_config_event_to_served_last_seconds The same time, for the latest event.\n\
         # TYPE radixgate_config_event_to_served_last_seconds gauge\n\
         radixgate_config_event_to_served_last_seconds {}\n",
        SEEN.load(Ordering::Relaxed),
        APPLIED.load(Ordering::Relaxed),
        secs(LAG_SUM_US.load(Ordering::Relaxed)),
        LAG_COUNT.load(Ordering::Relaxed),
        secs(LAG_LAST_US.load(Ordering::Relaxed)),
    );
    out
}
