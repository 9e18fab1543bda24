//! The shared counter/TTL store (like nginx's `lua_shared_dict`): one per
//! gateway, shared by every plugin and worker thread. Rate limits live here.

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::sync::Mutex;

/// Number of independently locked shards.
const SHARDS: usize = 16;

/// Expired entries are swept from a shard when it grows past this many
/// entries since its last sweep.
const SWEEP_AFTER: usize = 4096;

/// What a key holds.
#[derive(Debug, Clone)]
enum StoredValue {
    Counter(i64),
    Text(String),
}

#[derive(Debug)]
struct Entry {
    value: StoredValue,
    /// Unix ms; 0: never.
    expires_at_ms: u64,
}

impl Entry {
    fn live(&self, now_ms: u64) -> bool {
        self.expires_at_ms == 0 || self.expires_at_ms > now_ms
    }
}

#[derive(Default)]
struct Shard {
    map: HashMap<String, Entry>,
    sweep_at: usize,
}

impl Shard {
    fn sweep_if_grown(&mut self, now_ms: u64) {
        if self.map.len() >= self.sweep_at + SWEEP_AFTER {
            self.map.retain(|_, e| e.live(now_ms));
            self.sweep_at = self.map.len();
        }
    }
}

/// Keys with values (counters or text) and optional expiry. Every
/// operation locks one shard briefly; nothing blocks on I/O.
pub struct SharedStore {
    shards: Vec<Mutex<Shard>>,
    hasher: RandomState,
}

impl Default for SharedStore {
    fn default() -> SharedStore {
        SharedStore {
            shards: (0..SHARDS).map(|_| Mutex::default()).collect(),
            hasher: RandomState::new(),
        }
    }
}

fn expiry(now_ms: u64, ttl_ms: u64) -> u64 {
    if ttl_ms == 0 {
        0
    } else {
        now_ms.saturating_add(ttl_ms)
    }
}

impl SharedStore {
    fn shard(&self, key: &str) -> std::sync::MutexGuard<'_, Shard> {
        let i = (self.hasher.hash_one(key) as usize) % self.shards.len();
        self.shards[i].lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Adds `delta` to counter `key` at time `now_ms`; a missing, expired or
    /// non-counter entry restarts at 0 with expiry `ttl_ms` from now (0:
    /// never). Returns the new value and its expiry (unix ms, 0: never).
    pub fn incr(&self, key: &str, delta: i64, ttl_ms: u64, now_ms: u64) -> (i64, u64) {
        let mut shard = self.shard(key);
        if let Some(entry) = shard.map.get_mut(key) {
            if entry.live(now_ms) {
                if let StoredValue::Counter(n) = &mut entry.value {
                    *n = n.saturating_add(delta);
                    return (*n, entry.expires_at_ms);
                }
            }
            *entry = Entry {
                value: StoredValue::Counter(delta),
                expires_at_ms: expiry(now_ms, ttl_ms),
            };
            return (delta, entry.expires_at_ms);
        }
        shard.sweep_if_grown(now_ms);
        let expires_at_ms = expiry(now_ms, ttl_ms);
        shard.map.insert(
            key.to_string(),
            Entry {
                value: StoredValue::Counter(delta),
                expires_at_ms,
            },
        );
        (delta, expires_at_ms)
    }

    /// The value of `key` at `now_ms` (a counter as decimal text), unless
    /// missing or expired.
    pub fn get(&self, key: &str, now_ms: u64) -> Option<String> {
        let shard = self.shard(key);
        let entry = shard.map.get(key).filter(|e| e.live(now_ms))?;
        Some(match &entry.value {
            StoredValue::Counter(n) => n.to_string(),
            StoredValue::Text(s) => s.clone(),
        })
    }

    /// Stores text `value` under `key`, expiring `ttl_ms` after `now_ms`
    /// (0: never).
    pub fn set(&self, key: &str, value: &str, ttl_ms: u64, now_ms: u64) {
        let mut shard = self.shard(key);
        shard.sweep_if_grown(now_ms);
        shard.map.insert(
            key.to_string(),
            Entry {
                value: StoredValue::Text(value.to_string()),
                expires_at_ms: expiry(now_ms, ttl_ms),
            },
        );
    }

    /// The number of entries, expired ones not yet swept included.
    pub fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.lock().unwrap_or_else(|e| e.into_inner()).map.len())
            .sum()
    }

    /// True when nothing is stored.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::SharedStore;

    #[test]
    fn counters_add_and_expire() {
        let store = SharedStore::default();
        assert_eq!(store.incr("k", 1, 1000, 10), (1, 1010));
        assert_eq!(store.incr("k", 2, 1000, 500), (3, 1010));
        assert_eq!(store.get("k", 600).as_deref(), Some("3"));
        // Expired at 1010: restarts with a fresh window.
        assert_eq!(store.incr("k", 1, 1000, 1010), (1, 2010));
        assert_eq!(store.get("k", 2010), None);
    }

    #[test]
    fn text_values_and_no_expiry() {
        let store = SharedStore::default();
        store.set("a", "x", 0, 5);
        assert_eq!(store.get("a", u64::MAX - 1).as_deref(), Some("x"));
        // incr over text restarts the counter.
        assert_eq!(store.incr("a", 4, 0, 6), (4, 0));
        assert_eq!(store.len(), 1);
    }

    #[test]
    fn expired_entries_are_swept_as_the_store_grows() {
        let store = SharedStore::default();
        // Each entry lives 1 ms; time moves on by 1 ms per insert.
        for i in 0..70_000u64 {
            store.set(&format!("k{i}"), "v", 1, i);
        }
        assert!(store.len() < 70_000, "{}", store.len());
    }
}
