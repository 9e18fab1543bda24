//! Tables that copies share: copying one costs a pointer per group of
//! chunks (or per shard), and a change then copies only the group, chunk
//! or shard it writes.
//!
//! A router is made of these, so that a gateway can publish a changed copy
//! of its router while requests still match on the one before, and hold
//! both for the price of one and the few chunks the change touched.

use std::borrow::Borrow;
use std::hash::{BuildHasher, Hash};
use std::ops::{Index, IndexMut};
use std::sync::Arc;

use hashbrown::{DefaultHashBuilder, HashTable};

/// Bytes of one chunk's block, its `Arc` counts included: a size class of
/// the usual allocators, so that no part of it is left unused.
const CHUNK_BYTES: usize = 4096;

/// The two counts an `Arc` keeps before its value.
const ARC_COUNTS: usize = 2 * std::mem::size_of::<usize>();

/// Chunks a group of a [`CowVec`] holds. A copy of the vector costs a
/// pointer a group; a write copies its group's pointers, then its chunk.
const GROUP: usize = 32;

/// A group of chunks (`None`: past the end).
type Group<T> = Arc<[Option<Arc<[T]>>; GROUP]>;

/// A vector whose copies share its items, in fixed-size chunks, until one
/// of them writes to a chunk (copy on write, a chunk at a time). Chunks
/// sit in groups, shared the same way: a copy touches the groups only,
/// not each chunk (the chunks' counts would be as many cache misses).
#[derive(Debug)]
pub struct CowVec<T> {
    groups: Vec<Group<T>>,
    len: usize,
}

impl<T> Clone for CowVec<T> {
    /// A copy that shares every group and chunk.
    fn clone(&self) -> Self {
        CowVec {
            groups: self.groups.clone(),
            len: self.len,
        }
    }
}

impl<T> Default for CowVec<T> {
    fn default() -> Self {
        CowVec::new()
    }
}

impl<T> CowVec<T> {
    /// Items a chunk holds: as many as fill its block.
    const PER_CHUNK: usize = {
        let size = if std::mem::size_of::<T>() == 0 {
            1
        } else {
            std::mem::size_of::<T>()
        };
        let n = (CHUNK_BYTES - ARC_COUNTS) / size;
        if n == 0 {
            1
        } else {
            n
        }
    };

    /// An empty vector.
    pub const fn new() -> Self {
        CowVec {
            groups: Vec::new(),
            len: 0,
        }
    }

    /// How many items it holds.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when it holds no item.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The chunk that holds item `i` (which must be below `len`).
    #[inline]
    fn chunk(&self, i: usize) -> Option<&Arc<[T]>> {
        let c = i / Self::PER_CHUNK;
        self.groups.get(c / GROUP)?[c % GROUP].as_ref()
    }

    /// The item at `i`.
    #[inline]
    pub fn get(&self, i: usize) -> Option<&T> {
        if i >= self.len {
            return None;
        }
        self.chunk(i)?.get(i % Self::PER_CHUNK)
    }

    /// Every item, in order.
    pub fn iter(&self) -> impl Iterator<Item = &T> {
        let chunks = self.groups.iter().flat_map(|g| g.iter().flatten());
        chunks.flat_map(|c| c.iter()).take(self.len)
    }

    /// Whether this vector and `other` hold item `i` in one shared chunk
    /// (neither has written to it since one was copied from the other).
    pub fn shares_item(&self, other: &CowVec<T>, i: usize) -> bool {
        let both = i < self.len.min(other.len);
        both && matches!((self.chunk(i), other.chunk(i)), (Some(a), Some(b)) if Arc::ptr_eq(a, b))
    }
}

impl<T: Clone + Default> CowVec<T> {
    /// The item at `i`, to change: its group and chunk are copied first if
    /// another vector shares them.
    #[inline]
    pub fn get_mut(&mut self, i: usize) -> Option<&mut T> {
        if i >= self.len {
            return None;
        }
        let c = i / Self::PER_CHUNK;
        let group = Arc::make_mut(self.groups.get_mut(c / GROUP)?);
        let chunk = group[c % GROUP].as_mut()?;
        Arc::make_mut(chunk).get_mut(i % Self::PER_CHUNK)
    }

    /// Appends `item`.
    pub fn push(&mut self, item: T) {
        if self.len.is_multiple_of(Self::PER_CHUNK) {
            let c = self.len / Self::PER_CHUNK;
            if c.is_multiple_of(GROUP) {
                self.groups.push(Arc::new(std::array::from_fn(|_| None)));
            }
            let chunk: Arc<[T]> = (0..Self::PER_CHUNK).map(|_| T::default()).collect();
            if let Some(group) = self.groups.last_mut() {
                Arc::make_mut(group)[c % GROUP] = Some(chunk);
            }
        }
        self.len += 1;
        if let Some(last) = self.get_mut(self.len - 1) {
            *last = item;
        }
    }

    /// Grows to `len` items, the new ones `T::default()` (no change when it
    /// holds that many already).
    pub fn grow_to(&mut self, len: usize) {
        while self.len < len {
            self.push(T::default());
        }
    }
}

impl<T> Index<usize> for CowVec<T> {
    type Output = T;

    #[inline]
    fn index(&self, i: usize) -> &T {
        match self.get(i) {
            Some(item) => item,
            None => panic!("index {i} out of range for a CowVec of {}", self.len),
        }
    }
}

impl<T: Clone + Default> IndexMut<usize> for CowVec<T> {
    #[inline]
    fn index_mut(&mut self, i: usize) -> &mut T {
        let len = self.len;
        match self.get_mut(i) {
            Some(item) => item,
            None => panic!("index {i} out of range for a CowVec of {len}"),
        }
    }
}

/// Shards of a [`CowMap`]: a change copies one, 1/64 of the map.
const SHARDS: usize = 64;

/// One shard of a [`CowMap`], shared by the copies that have not written to it.
type Shard<K, V> = Arc<HashTable<(K, V)>>;

/// A hash map whose copies share its entries, in shards, until one of them
/// writes to a shard. One hash per lookup picks both the shard and the
/// entry in it.
#[derive(Debug, Clone)]
pub(crate) struct CowMap<K, V> {
    hasher: DefaultHashBuilder,
    shards: Box<[Option<Shard<K, V>>]>,
    len: usize,
}

impl<K, V> Default for CowMap<K, V> {
    fn default() -> Self {
        CowMap {
            hasher: DefaultHashBuilder::default(),
            shards: (0..SHARDS).map(|_| None).collect(),
            len: 0,
        }
    }
}

/// The shard of an entry whose hash is `hash`: bits above those the
/// shard's own table reads for the bucket (the low ones) and the tag (the
/// top seven).
fn shard_of(hash: u64) -> usize {
    (hash >> 32) as usize % SHARDS
}

impl<K: Hash + Eq + Clone, V: Clone> CowMap<K, V> {
    /// How many entries it holds.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when it holds no entry.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    fn hash<Q: Hash + ?Sized>(&self, key: &Q) -> u64 {
        self.hasher.hash_one(key)
    }

    /// The value of `key`.
    #[inline]
    pub fn get<Q>(&self, key: &Q) -> Option<&V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let hash = self.hash(key);
        let shard = self.shards.get(shard_of(hash))?.as_deref()?;
        shard.find(hash, |(k, _)| k.borrow() == key).map(|(_, v)| v)
    }

    /// Whether it holds `key`.
    pub fn contains_key<Q>(&self, key: &Q) -> bool
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.get(key).is_some()
    }

    /// The shard for `hash`, to change (copied first if shared, made if
    /// missing).
    fn shard_mut(&mut self, hash: u64) -> Option<&mut HashTable<(K, V)>> {
        let shard = self.shards.get_mut(shard_of(hash))?;
        Some(Arc::make_mut(shard.get_or_insert_with(Default::default)))
    }

    /// The shard that holds `key`, to change, with `key`'s hash; `None`
    /// (and nothing copied) when no shard holds it.
    fn shard_holding<Q>(&mut self, key: &Q) -> Option<(u64, &mut HashTable<(K, V)>)>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let hash = self.hash(key);
        self.shards
            .get(shard_of(hash))?
            .as_deref()?
            .find(hash, |(k, _)| k.borrow() == key)?;
        Some((hash, self.shard_mut(hash)?))
    }

    /// The value of `key`, to change.
    pub fn get_mut<Q>(&mut self, key: &Q) -> Option<&mut V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let (hash, shard) = self.shard_holding(key)?;
        shard
            .find_mut(hash, |(k, _)| k.borrow() == key)
            .map(|(_, v)| v)
    }

    /// The value of `key`, added as `V::default()` if missing.
    pub fn get_or_default(&mut self, key: K) -> &mut V
    where
        V: Default,
    {
        let hash = self.hash(&key);
        let hasher = self.hasher.clone();
        let shard = Arc::make_mut(self.shards[shard_of(hash)].get_or_insert_with(Default::default));
        let entry = shard.entry(hash, |(k, _)| *k == key, |(k, _)| hasher.hash_one(k));
        let added = matches!(entry, hashbrown::hash_table::Entry::Vacant(_));
        let (_, v) = entry.or_insert_with(|| (key, V::default())).into_mut();
        if added {
            self.len += 1;
        }
        v
    }

    /// Sets `key` to `value`; returns the value it replaced.
    pub fn insert(&mut self, key: K, value: V) -> Option<V>
    where
        V: Default,
    {
        let had = self.len;
        let slot = self.get_or_default(key);
        let old = std::mem::replace(slot, value);
        (self.len == had).then_some(old)
    }

    /// Removes `key`; returns its value.
    pub fn remove<Q>(&mut self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let (hash, shard) = self.shard_holding(key)?;
        let entry = shard.find_entry(hash, |(k, _)| k.borrow() == key).ok()?;
        let ((_, v), _) = entry.remove();
        self.len -= 1;
        Some(v)
    }

    /// Makes room for `additional` more entries, spread over the shards.
    pub fn reserve(&mut self, additional: usize) {
        let hasher = self.hasher.clone();
        let each = additional.div_ceil(SHARDS);
        for shard in self.shards.iter_mut() {
            Arc::make_mut(shard.get_or_insert_with(Default::default))
                .reserve(each, |(k, _)| hasher.hash_one(k));
        }
    }

    /// Whether this map and `other` hold `key`'s shard as one (neither has
    /// written to it since one was copied from the other).
    #[cfg(test)]
    pub fn shares_shard_of<Q>(&self, other: &CowMap<K, V>, key: &Q) -> bool
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let s = shard_of(self.hash(key));
        matches!((&self.shards[s], &other.shards[s]), (Some(a), Some(b)) if Arc::ptr_eq(a, b))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_copy_shares_until_a_chunk_is_written() {
        let mut a: CowVec<u64> = CowVec::new();
        let per = CowVec::<u64>::PER_CHUNK;
        for i in 0..3 * per as u64 {
            a.push(i);
        }
        // Past the first group of chunks, too.
        let mut big: CowVec<u64> = CowVec::new();
        let n = (GROUP + 2) * per;
        for i in 0..n as u64 {
            big.push(i);
        }
        let mut other = big.clone();
        other[n - 1] = 0;
        assert_eq!(
            (big[n - 1], other[n - 1], other[n - 2]),
            (n as u64 - 1, 0, n as u64 - 2)
        );
        assert!(big.shares_item(&other, 0) && !big.shares_item(&other, n - 1));
        assert!(big.iter().copied().eq(0..n as u64));
        let mut b = a.clone();
        assert!((0..a.len()).all(|i| a.shares_item(&b, i)));
        b[per + 1] = 7;
        assert_eq!(a[per + 1], per as u64 + 1, "the original is unchanged");
        assert_eq!(b[per + 1], 7);
        assert!(a.shares_item(&b, 0) && a.shares_item(&b, 2 * per));
        assert!(!a.shares_item(&b, per), "the written chunk is b's own");
        assert_eq!(b.iter().copied().collect::<Vec<_>>().len(), 3 * per);
        assert_eq!(a.get(3 * per), None);
        b.grow_to(3 * per + 2);
        assert_eq!((b.len(), b[3 * per + 1]), (3 * per + 2, 0));
        assert_eq!(a.len(), 3 * per);
    }

    #[test]
    fn a_chunk_fills_its_block() {
        assert_eq!(CowVec::<u64>::PER_CHUNK, 510);
        assert_eq!(CowVec::<[u8; 64]>::PER_CHUNK, 63);
        assert_eq!(CowVec::<[u8; 5000]>::PER_CHUNK, 1);
        assert_eq!(CowVec::<()>::PER_CHUNK, 4080);
    }

    #[test]
    fn a_map_copy_shares_until_a_shard_is_written() {
        let mut a: CowMap<String, u32> = CowMap::default();
        for i in 0..1000 {
            assert_eq!(a.insert(format!("k{i}"), i), None);
        }
        assert_eq!(a.insert("k5".into(), 55), Some(5));
        let mut b = a.clone();
        assert!(a.shares_shard_of(&b, "k1") && a.shares_shard_of(&b, "k2"));
        *b.get_mut("k1").unwrap() = 11;
        assert_eq!((a.get("k1"), b.get("k1")), (Some(&1), Some(&11)));
        assert!(!a.shares_shard_of(&b, "k1"));
        assert_eq!(b.remove("k2"), Some(2));
        assert_eq!(
            (a.get("k2"), b.get("k2"), a.len(), b.len()),
            (Some(&2), None, 1000, 999)
        );
        assert_eq!(b.remove("k2"), None);
        assert_eq!(b.get_mut("absent"), None);
        *b.get_or_default("new".into()) += 3;
        assert_eq!(
            (b.get("new"), a.get("new"), b.len()),
            (Some(&3), None, 1000)
        );
        // Every shard was used: 1000 keys spread over them.
        assert!(a
            .shards
            .iter()
            .all(|s| s.as_ref().is_some_and(|t| !t.is_empty())));
    }
}
