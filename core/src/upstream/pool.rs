//! A worker's idle keep-alive connections to nodes, kept per node (and
//! TLS server name) under the upstream's `keepalive_pool` limits. Each
//! worker owns one pool, so its lock is never contended; connections are
//! reused newest first, and a sweep closes those idle for too long.

use std::collections::{HashMap, VecDeque};
use std::hash::{BuildHasherDefault, Hash, Hasher};
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::{Duration, Instant};

use http::uri::Authority;

use super::conn::Connection;
use crate::config::{seconds, KeepalivePool};

/// `keepalive_pool {size, idle_timeout, requests}` of an upstream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolLimits {
    /// Idle connections kept per node (0: none is kept).
    pub size: usize,
    /// How long an idle connection is kept.
    pub idle_timeout: Duration,
    /// Requests one connection carries before it is closed.
    pub requests: u32,
}

impl Default for PoolLimits {
    /// APISIX's defaults: 320 connections, 60 s, 1000 requests.
    fn default() -> Self {
        PoolLimits {
            size: 320,
            idle_timeout: Duration::from_secs(60),
            requests: 1000,
        }
    }
}

impl PoolLimits {
    /// From the upstream's `keepalive_pool` (absent fields: defaults).
    pub fn from_conf(conf: Option<&KeepalivePool>) -> PoolLimits {
        let d = PoolLimits::default();
        let Some(c) = conf else { return d };
        PoolLimits {
            size: c.size.map_or(d.size, |s| s as usize),
            idle_timeout: c.idle_timeout.and_then(seconds).unwrap_or(d.idle_timeout),
            requests: c.requests.map_or(d.requests, |r| r.max(1)),
        }
    }
}

/// Which connections are interchangeable: same node, same scheme, same
/// TLS server name. Cheap to clone; hashed once, when it is made.
#[derive(Debug, Clone)]
pub struct PoolKey(Arc<KeyParts>);

#[derive(Debug, PartialEq, Eq)]
struct KeyParts {
    hash: u64,
    tls: bool,
    authority: Authority,
    sni: Option<String>,
}

impl PoolKey {
    /// The key of `authority`, over TLS with `sni` when `tls`.
    pub fn new(tls: bool, authority: Authority, sni: Option<String>) -> PoolKey {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        (tls, authority.as_str(), &sni).hash(&mut h);
        PoolKey(Arc::new(KeyParts {
            hash: h.finish(),
            tls,
            authority,
            sni,
        }))
    }
}

impl PartialEq for PoolKey {
    fn eq(&self, other: &PoolKey) -> bool {
        Arc::ptr_eq(&self.0, &other.0) || self.0 == other.0
    }
}

impl Eq for PoolKey {}

impl Hash for PoolKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(self.0.hash);
    }
}

/// Passes a [`PoolKey`]'s own hash through.
#[derive(Debug, Default)]
struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

type KeyMap<V> = HashMap<PoolKey, V, BuildHasherDefault<KeyHasher>>;

#[derive(Debug)]
struct Idle {
    conn: Connection,
    since: Instant,
    idle_timeout: Duration,
}

impl Idle {
    fn usable(&self, now: Instant) -> bool {
        now.duration_since(self.since) < self.idle_timeout && !self.conn.stale()
    }
}

/// One worker's idle connections.
#[derive(Debug, Default)]
pub struct Pool {
    idle: Mutex<KeyMap<VecDeque<Idle>>>,
}

impl Pool {
    /// A pool whose sweep (every second, on the current runtime; none
    /// outside one) closes connections idle past their `idle_timeout` or
    /// closed by the node.
    pub fn start() -> Arc<Pool> {
        let pool = Arc::new(Pool::default());
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            rt.spawn(sweep(Arc::downgrade(&pool)));
        }
        pool
    }

    /// The newest usable idle connection to `key`, if any; unusable ones
    /// met on the way are closed.
    pub fn take(&self, key: &PoolKey) -> Option<Connection> {
        let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        let list = idle.get_mut(key)?;
        let now = Instant::now();
        while let Some(c) = list.pop_back() {
            if c.usable(now) {
                return Some(c.conn);
            }
        }
        None
    }

    /// Keeps `conn` for the next request to `key`, unless it carried
    /// `limits.requests` already; the oldest idle connection goes when
    /// `limits.size` are kept.
    pub fn put(&self, key: &PoolKey, limits: &PoolLimits, conn: Connection) {
        if conn.used >= limits.requests || limits.size == 0 {
            return;
        }
        let now = Instant::now();
        let idle = Idle {
            conn,
            since: now,
            idle_timeout: limits.idle_timeout,
        };
        let mut map = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        let list = match map.get_mut(key) {
            Some(l) => l,
            None => map.entry(key.clone()).or_default(),
        };
        while list.front().is_some_and(|c| !c.usable(now)) {
            list.pop_front();
        }
        while list.len() >= limits.size {
            list.pop_front();
        }
        list.push_back(idle);
    }

    fn sweep_once(&self) {
        let now = Instant::now();
        let mut map = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        map.retain(|_, list| {
            list.retain(|c| c.usable(now));
            !list.is_empty()
        });
    }
}

async fn sweep(pool: Weak<Pool>) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        match pool.upgrade() {
            Some(p) => p.sweep_once(),
            None => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_default_and_from_conf() {
        assert_eq!(PoolLimits::from_conf(None), PoolLimits::default());
        let c = KeepalivePool {
            size: Some(2),
            idle_timeout: Some(0.5),
            requests: Some(0),
        };
        let l = PoolLimits::from_conf(Some(&c));
        assert_eq!(l.size, 2);
        assert_eq!(l.idle_timeout, Duration::from_millis(500));
        assert_eq!(l.requests, 1);
    }
}
