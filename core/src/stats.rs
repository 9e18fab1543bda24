//! Gateway-wide figures that no plugin records, kept for the metrics
//! exporter: client connections and requests (nginx's stub_status), and
//! what the etcd source last saw (reachable, modified revisions by kind).
//! One set per process; updates are relaxed atomics or a short lock off
//! the request path.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicI64, AtomicU64, AtomicU8, Ordering};
use std::sync::Mutex;

static ACCEPTED: AtomicU64 = AtomicU64::new(0);
static HANDLED: AtomicU64 = AtomicU64::new(0);
static ACTIVE: AtomicI64 = AtomicI64::new(0);
static WRITING: AtomicI64 = AtomicI64::new(0);
static REQUESTS: AtomicU64 = AtomicU64::new(0);

/// Counts a client connection accepted by the proxy's listener (kept or
/// closed at once for the connection cap).
pub fn accepted() {
    ACCEPTED.fetch_add(1, Ordering::Relaxed);
}

/// A client connection the proxy serves: counted as handled, and active
/// until the guard is dropped.
#[must_use]
pub fn handled() -> ActiveConn {
    HANDLED.fetch_add(1, Ordering::Relaxed);
    ACTIVE.fetch_add(1, Ordering::Relaxed);
    ActiveConn(())
}

/// An active client connection (see [`handled`]).
#[derive(Debug)]
pub struct ActiveConn(());

impl Drop for ActiveConn {
    fn drop(&mut self) {
        ACTIVE.fetch_sub(1, Ordering::Relaxed);
    }
}

/// A client request the proxy began: counted in the total, and writing
/// until the guard is dropped (its response head is out).
#[must_use]
pub fn request() -> Writing {
    REQUESTS.fetch_add(1, Ordering::Relaxed);
    WRITING.fetch_add(1, Ordering::Relaxed);
    Writing(())
}

/// A request being processed (see [`request`]).
#[derive(Debug)]
pub struct Writing(());

impl Drop for Writing {
    fn drop(&mut self) {
        WRITING.fetch_sub(1, Ordering::Relaxed);
    }
}

/// nginx's stub_status figures of the proxy's client side.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Connections {
    /// Connections open now.
    pub active: u64,
    /// Connections accepted since start.
    pub accepted: u64,
    /// Connections served since start (accepted less those the cap closed).
    pub handled: u64,
    /// Requests since start.
    pub requests: u64,
    /// Connections reading a request head: not told apart from waiting
    /// (hyper reads heads inside the connection), so always 0.
    pub reading: u64,
    /// Requests being processed, up to their response head.
    pub writing: u64,
    /// Open connections not processing a request (idle keep-alive, or
    /// reading a request head).
    pub waiting: u64,
}

/// The connection figures now.
pub fn connections() -> Connections {
    let active = ACTIVE.load(Ordering::Relaxed).max(0) as u64;
    let writing = (WRITING.load(Ordering::Relaxed).max(0) as u64).min(active);
    Connections {
        active,
        accepted: ACCEPTED.load(Ordering::Relaxed),
        handled: HANDLED.load(Ordering::Relaxed),
        requests: REQUESTS.load(Ordering::Relaxed),
        reading: 0,
        writing,
        waiting: active - writing,
    }
}

/// etcd not watched (standalone file): no etcd figures.
const ETCD_UNUSED: u8 = 2;
static ETCD_REACHABLE: AtomicU8 = AtomicU8::new(ETCD_UNUSED);
static ETCD_INDEXES: Mutex<BTreeMap<&'static str, i64>> = Mutex::new(BTreeMap::new());

/// Whether the etcd source reaches etcd (set on each session start and
/// break).
pub fn set_etcd_reachable(up: bool) {
    ETCD_REACHABLE.store(u8::from(up), Ordering::Relaxed);
}

/// `Some(reachable)` once an etcd source ran; `None` in standalone mode.
pub fn etcd_reachable() -> Option<bool> {
    match ETCD_REACHABLE.load(Ordering::Relaxed) {
        ETCD_UNUSED => None,
        v => Some(v == 1),
    }
}

/// Raises etcd modify index `key` (a kind's key as APISIX names it,
/// `routes`; or `prev_index`, `x_etcd_index`) to `revision`.
pub fn etcd_index(key: &'static str, revision: i64) {
    let mut map = ETCD_INDEXES.lock().unwrap_or_else(|e| e.into_inner());
    let slot = map.entry(key).or_insert(0);
    *slot = (*slot).max(revision);
}

/// Every etcd modify index recorded, by key.
pub fn etcd_indexes() -> Vec<(&'static str, i64)> {
    let map = ETCD_INDEXES.lock().unwrap_or_else(|e| e.into_inner());
    map.iter().map(|(k, v)| (*k, *v)).collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn guards_count_while_held() {
        let before = super::connections();
        let conn = super::handled();
        let req = super::request();
        let now = super::connections();
        assert!(now.active > before.active.saturating_sub(1));
        assert!(now.requests > before.requests);
        assert!(now.writing >= 1 && now.writing <= now.active);
        drop((conn, req));
        super::etcd_index("routes", 7);
        super::etcd_index("routes", 3);
        assert!(super::etcd_indexes().contains(&("routes", 7)));
    }
}
