//! The shared counter/TTL store (like nginx's `lua_shared_dict`): one per
//! gateway, shared by every plugin and worker thread. Rate limits live here.
//!
//! Its size is bounded (`plugins.store`: entries and bytes): each shard
//! keeps its entries in least-recently-used order, and an insert into a
//! full shard evicts from the old end, in O(1), as many entries as it must
//! (expired ones first come off that end too, one per insert). No
//! operation ever walks the whole store, so no worker waits on a sweep
//! however many keys clients make up; evictions are counted.
//!
//! Keys under [`HOST_PREFIX`] (`consumer:`) belong to the host: it
//! publishes who holds which auth key there from the configuration
//! ([`SharedStore::publish`]). They are outside the bound and never
//! evicted, so that no flood of client keys can log a consumer out, and
//! plugins can read them but not write them, so that no plugin can make
//! up a consumer.

use std::collections::HashMap;
use std::fmt::Write;
use std::hash::BuildHasher;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, RwLock};

use foldhash::fast::RandomState;
use lru::LruCache;

use crate::config::StoreLimits;

/// A text buffer [`SharedStore::get_into`] writes a value into.
pub trait Text: Write {
    /// Empties it, keeping its capacity.
    fn clear_text(&mut self);
    /// Appends `text`.
    fn push_text(&mut self, text: &str);
}

impl Text for String {
    fn clear_text(&mut self) {
        self.clear()
    }
    fn push_text(&mut self, text: &str) {
        self.push_str(text)
    }
}

impl Text for abi_stable::std_types::RString {
    fn clear_text(&mut self) {
        self.clear()
    }
    fn push_text(&mut self, text: &str) {
        self.push_str(text)
    }
}

/// Keys the host publishes and plugins only read.
pub const HOST_PREFIX: &str = "consumer:";

/// Number of independently locked shards.
const SHARDS: usize = 16;

/// What an entry costs besides its key and text: the map's slot (with
/// the table's spare room), the list node with its links, the entry
/// itself and the allocator's rounding and slack. Measured with
/// `benches/store/run.sh`: with 128 here the byte cap (128 MiB) bound at
/// 815k limit-count entries, and RSS rose 139.3 MB above the idle
/// gateway's, 171 bytes an entry where 165 were counted; 144 keeps the
/// memory the store takes under its cap.
const ENTRY_OVERHEAD: usize = 144;

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

    /// What `key` with this entry costs against the byte bound.
    fn cost(&self, key: &str) -> usize {
        let text = match &self.value {
            StoredValue::Counter(_) => 0,
            StoredValue::Text(s) => s.len(),
        };
        key.len() + text + ENTRY_OVERHEAD
    }
}

/// One shard: its entries, least recently used last, and their bytes.
struct Shard {
    map: LruCache<String, Entry>,
    bytes: usize,
}

impl Shard {
    /// Makes room for `cost` more bytes and one more entry within the
    /// shard's share of the limits; the number of live entries evicted.
    fn make_room(&mut self, cost: usize, limits: (usize, usize), now_ms: u64) -> u64 {
        let (entries, bytes) = limits;
        // One expired entry off the old end, full or not: the store sheds
        // what expired as it is used, a step per insert.
        if self.map.peek_lru().is_some_and(|(_, e)| !e.live(now_ms)) {
            self.pop();
        }
        let mut evicted = 0;
        while !self.map.is_empty() && (self.map.len() >= entries || self.bytes + cost > bytes) {
            if self.pop().is_some_and(|e| e.live(now_ms)) {
                evicted += 1;
            }
        }
        evicted
    }

    /// Removes the least recently used entry.
    fn pop(&mut self) -> Option<Entry> {
        let (key, entry) = self.map.pop_lru()?;
        self.bytes = self.bytes.saturating_sub(entry.cost(&key));
        Some(entry)
    }

    /// Puts `entry` under `key` (a new key: room made first).
    fn insert(&mut self, key: &str, entry: Entry) {
        self.bytes += entry.cost(key);
        if let Some(old) = self.map.put(key.to_owned(), entry) {
            self.bytes = self.bytes.saturating_sub(old.cost(key));
        }
    }
}

/// Keys with values (counters or text) and optional expiry. Every
/// operation locks one shard briefly; nothing blocks on I/O.
pub struct SharedStore {
    shards: Vec<Mutex<Shard>>,
    /// Picks a key's shard. foldhash, seeded per store, as the shards'
    /// maps hash: SipHash took ~250 instructions a key, and a client who
    /// crowds its keys into one shard gains nothing but waits on its lock.
    hasher: RandomState,
    /// Each shard's share of the limits (entries, bytes).
    per_shard: (usize, usize),
    evictions: AtomicU64,
    /// What the host published under [`HOST_PREFIX`]; as large as the
    /// configuration, never evicted.
    /// Only the configuration adds keys, so a fast hash is safe.
    published: RwLock<HashMap<String, String, RandomState>>,
}

impl Default for SharedStore {
    fn default() -> SharedStore {
        SharedStore::new(StoreLimits::default())
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
    /// An empty store holding at most what `limits` say.
    pub fn new(limits: StoreLimits) -> SharedStore {
        SharedStore {
            shards: (0..SHARDS)
                .map(|_| {
                    Mutex::new(Shard {
                        map: LruCache::unbounded(),
                        bytes: 0,
                    })
                })
                .collect(),
            hasher: RandomState::default(),
            per_shard: (
                limits.max_entries.div_ceil(SHARDS).max(1),
                limits.max_bytes.div_ceil(SHARDS).max(ENTRY_OVERHEAD),
            ),
            evictions: AtomicU64::new(0),
            published: RwLock::new(HashMap::default()),
        }
    }

    /// Publishes `value` under host key `key` (one under [`HOST_PREFIX`]);
    /// `None` withdraws it.
    pub fn publish(&self, key: &str, value: Option<&str>) {
        debug_assert!(key.starts_with(HOST_PREFIX), "{key}");
        let mut published = self.published.write().unwrap_or_else(|e| e.into_inner());
        match value {
            Some(v) => published.insert(key.to_owned(), v.to_owned()),
            None => published.remove(key),
        };
    }

    fn shard(&self, key: &str) -> std::sync::MutexGuard<'_, Shard> {
        let i = (self.hasher.hash_one(key) as usize) % self.shards.len();
        self.shards[i].lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Puts a new `entry` under `key` in `shard`, evicting what it must.
    fn insert_new(&self, shard: &mut Shard, key: &str, entry: Entry, now_ms: u64) {
        let evicted = shard.make_room(entry.cost(key), self.per_shard, now_ms);
        if evicted > 0 {
            self.evictions.fetch_add(evicted, Ordering::Relaxed);
        }
        shard.insert(key, entry);
    }

    /// Adds `delta` to counter `key` at time `now_ms`; a missing, expired or
    /// non-counter entry restarts at 0 with expiry `ttl_ms` from now (0:
    /// never). Returns the new value and its expiry (unix ms, 0: never).
    /// A host key is not a counter: it stays as published, and this
    /// returns `(0, 0)`.
    pub fn incr(&self, key: &str, delta: i64, ttl_ms: u64, now_ms: u64) -> (i64, u64) {
        if key.starts_with(HOST_PREFIX) {
            tracing::warn!(
                key,
                "a plugin tried to count on a host key of the shared store; refused"
            );
            return (0, 0);
        }
        let mut shard = self.shard(key);
        if let Some(entry) = shard.map.get_mut(key) {
            if entry.live(now_ms) {
                if let StoredValue::Counter(n) = &mut entry.value {
                    *n = n.saturating_add(delta);
                    return (*n, entry.expires_at_ms);
                }
            }
        }
        let expires_at_ms = expiry(now_ms, ttl_ms);
        let entry = Entry {
            value: StoredValue::Counter(delta),
            expires_at_ms,
        };
        if shard.map.contains(key) {
            shard.insert(key, entry);
        } else {
            self.insert_new(&mut shard, key, entry, now_ms);
        }
        (delta, expires_at_ms)
    }

    /// The value of `key` at `now_ms` (a counter as decimal text), unless
    /// missing or expired.
    pub fn get(&self, key: &str, now_ms: u64) -> Option<String> {
        let mut out = String::new();
        self.get_into(key, now_ms, &mut out).then_some(out)
    }

    /// Writes the value of `key` at `now_ms` (a counter as decimal text)
    /// into `out`, cleared first; false when missing or expired. Nothing
    /// is allocated but what `out` needs to grow.
    pub fn get_into(&self, key: &str, now_ms: u64, out: &mut impl Text) -> bool {
        out.clear_text();
        if key.starts_with(HOST_PREFIX) {
            let published = self.published.read().unwrap_or_else(|e| e.into_inner());
            return published.get(key).map(|v| out.push_text(v)).is_some();
        }
        let mut shard = self.shard(key);
        let Some(entry) = shard.map.get(key).filter(|e| e.live(now_ms)) else {
            return false;
        };
        match &entry.value {
            StoredValue::Counter(n) => {
                let _ = write!(out, "{n}");
            }
            StoredValue::Text(s) => out.push_text(s),
        }
        true
    }

    /// Stores text `value` under `key`, expiring `ttl_ms` after `now_ms`
    /// (0: never). A host key is not written: it stays as published.
    pub fn set(&self, key: &str, value: &str, ttl_ms: u64, now_ms: u64) {
        if key.starts_with(HOST_PREFIX) {
            tracing::warn!(
                key,
                "a plugin tried to write a host key of the shared store; refused"
            );
            return;
        }
        let mut shard = self.shard(key);
        let entry = Entry {
            value: StoredValue::Text(value.to_string()),
            expires_at_ms: expiry(now_ms, ttl_ms),
        };
        if shard.map.contains(key) {
            shard.insert(key, entry);
        } else {
            self.insert_new(&mut shard, key, entry, now_ms);
        }
    }

    /// The number of entries, expired ones not yet shed included (host
    /// keys not counted).
    pub fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.lock().unwrap_or_else(|e| e.into_inner()).map.len())
            .sum()
    }

    /// The bytes the store may hold (`plugins.store.max_bytes`, rounded
    /// to whole shards).
    pub fn capacity_bytes(&self) -> usize {
        self.per_shard.1.saturating_mul(SHARDS)
    }

    /// The bytes its entries cost now (keys, values and per-entry
    /// overhead; host keys not counted).
    pub fn used_bytes(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.lock().unwrap_or_else(|e| e.into_inner()).bytes)
            .sum()
    }

    /// True when nothing is stored.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Live entries evicted so far to stay within the limits.
    pub fn evictions(&self) -> u64 {
        self.evictions.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::{SharedStore, StoreLimits};

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
    fn a_value_is_read_into_a_buffer() {
        let store = SharedStore::default();
        store.incr("n", -12, 0, 0);
        store.set("t", "text", 0, 0);
        store.publish("consumer:name:jack", Some("jack"));
        let mut out = abi_stable::std_types::RString::from("old");
        for (key, value) in [("n", "-12"), ("t", "text"), ("consumer:name:jack", "jack")] {
            assert!(store.get_into(key, 0, &mut out), "{key}");
            assert_eq!(out.as_str(), value);
        }
        assert!(!store.get_into("missing", 0, &mut out));
        assert_eq!(out.as_str(), "", "cleared");
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
    fn expired_entries_are_shed_as_the_store_is_used() {
        let store = SharedStore::default();
        // Each entry lives 1 ms; time moves on by 1 ms per insert.
        for i in 0..70_000u64 {
            store.set(&format!("k{i}"), "v", 1, i);
        }
        assert!(store.len() < 1_000, "{}", store.len());
        assert_eq!(store.evictions(), 0, "expired entries are not evictions");
    }

    #[test]
    fn a_full_store_evicts_the_least_recently_used_and_counts_it() {
        let limits = StoreLimits {
            max_entries: 16 * 100,
            max_bytes: usize::MAX / 2,
        };
        let store = SharedStore::new(limits);
        store.incr("hot", 1, 0, 0);
        for i in 0..100_000u64 {
            store.incr(&format!("client-{i}"), 1, 0, 0);
            if i % 100 == 0 {
                // Kept in use: never the least recently used.
                store.incr("hot", 1, 0, 0);
            }
        }
        assert!(store.len() <= 16 * 100, "{}", store.len());
        assert!(
            store.evictions() >= 100_000 - 16 * 100,
            "{}",
            store.evictions()
        );
        assert_eq!(store.get("hot", 0).as_deref(), Some("1001"));
        assert_eq!(store.get("client-0", 0), None);
    }

    #[test]
    fn host_keys_survive_a_flood_and_plugins_cannot_write_them() {
        let limits = StoreLimits {
            max_entries: 16 * 10,
            max_bytes: usize::MAX / 2,
        };
        let store = SharedStore::new(limits);
        store.publish("consumer:key-auth:k1", Some("jack"));
        for i in 0..10_000u64 {
            store.incr(&format!("client-{i}"), 1, 0, 0);
        }
        assert!(store.evictions() > 0);
        assert_eq!(
            store.get("consumer:key-auth:k1", 0).as_deref(),
            Some("jack")
        );
        // Plugins' writes do not reach host keys.
        store.set("consumer:key-auth:k1", "mallory", 0, 0);
        store.set("consumer:key-auth:forged", "admin", 0, 0);
        assert_eq!(store.incr("consumer:name:x", 1, 0, 0), (0, 0));
        assert_eq!(
            store.get("consumer:key-auth:k1", 0).as_deref(),
            Some("jack")
        );
        assert_eq!(store.get("consumer:key-auth:forged", 0), None);
        assert_eq!(store.get("consumer:name:x", 0), None);
        store.publish("consumer:key-auth:k1", None);
        assert_eq!(store.get("consumer:key-auth:k1", 0), None);
    }

    #[test]
    fn the_byte_bound_holds_for_long_values() {
        let limits = StoreLimits {
            max_entries: 1_000_000,
            max_bytes: 16 * 4096,
        };
        let store = SharedStore::new(limits);
        let value = "x".repeat(1000);
        for i in 0..1000u64 {
            store.set(&format!("k{i}"), &value, 0, 0);
        }
        // About four 1 KB entries fit a shard's 4 KiB.
        assert!(store.len() <= 16 * 4, "{}", store.len());
        assert!(store.evictions() > 0);
    }
}
