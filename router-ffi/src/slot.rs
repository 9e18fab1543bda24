//! The routes stored at one place of the router (one exact path, or one
//! terminal of the tree), ordered, with an index of their hosts.

use crate::host::{HostCtx, HostPattern};
use hashbrown::HashMap;

/// Candidate order: lower is tried first (priority desc, longer pattern,
/// older). Two words rather than a `u128` so that an [`Entry`] packs into 24 bytes.
pub(crate) type Key = (u64, u64);

/// The order key of one path of one route.
pub(crate) fn order_key(priority: i32, pattern_len: usize, seq: u64) -> Key {
    let prio = (i32::MAX as i64 - priority as i64) as u64;
    let len = (u32::MAX - pattern_len.min(u32::MAX as usize) as u32) as u64;
    ((prio << 32) | len, seq)
}

/// One path of one route, as stored in a slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Entry {
    pub key: Key,
    pub route: u32,
    pub path: u16,
    /// The route has no method, address, `vars` or filter condition and the
    /// path is no regex pattern: a lookup takes it without reading the route.
    pub plain: bool,
    /// The path is matched by its regex ([`crate::Pattern::regex`]), which
    /// the lookup runs before the route's conditions.
    pub regex: bool,
}

const _: () = assert!(std::mem::size_of::<Entry>() == 24);

/// Which of the route's hosts let the request in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostHit<'r> {
    /// The route lists no hosts.
    Unrestricted,
    /// The route lists the request's host (or `host:port`).
    Request,
    /// The route's wildcard that matched: `*` or `*.suffix` (given as `.suffix`).
    Wildcard(&'r [u8]),
}

#[derive(Debug, Default, Clone)]
struct HostIndex {
    any: Vec<Entry>,
    exact: HashMap<Box<[u8]>, Vec<Entry>>,
    suffix: HashMap<Box<[u8]>, Vec<Entry>>,
    /// Distinct suffix lengths (longest first) with how many suffixes have each.
    suffix_lens: Vec<(usize, usize)>,
}

/// The routes at one place, sorted by [`Key`], with hosts indexed.
#[derive(Debug, Default, Clone)]
pub(crate) struct Slot {
    unrestricted: Entries,
    hosts: Option<Box<HostIndex>>,
}

/// Entries sorted by [`Key`]; a single one (the usual case) is kept
/// inline, so a lookup reads it without another load.
#[derive(Debug, Default, Clone)]
enum Entries {
    #[default]
    Empty,
    One(Entry),
    Many(Vec<Entry>),
}

impl Entries {
    fn as_slice(&self) -> &[Entry] {
        match self {
            Entries::Empty => &[],
            Entries::One(e) => std::slice::from_ref(e),
            Entries::Many(v) => v,
        }
    }

    fn insert(&mut self, e: Entry) {
        match std::mem::take(self) {
            Entries::Empty => *self = Entries::One(e),
            Entries::One(x) => {
                let mut v = vec![x];
                insert_sorted(&mut v, e);
                *self = Entries::Many(v);
            }
            Entries::Many(mut v) => {
                insert_sorted(&mut v, e);
                *self = Entries::Many(v);
            }
        }
    }

    fn remove(&mut self, route: u32, path: u16) {
        match std::mem::take(self) {
            Entries::One(x) if x.route == route && x.path == path => {}
            Entries::Many(mut v) => {
                remove_entry(&mut v, route, path);
                *self = match v.as_slice() {
                    [] => Entries::Empty,
                    [x] => Entries::One(*x),
                    _ => Entries::Many(v),
                };
            }
            other => *self = other,
        }
    }
}

fn insert_sorted(list: &mut Vec<Entry>, e: Entry) {
    let at = list.partition_point(|x| x.key < e.key);
    // Most places hold one route: grow one at a time rather than by doubling.
    list.reserve_exact(1);
    list.insert(at, e);
}

fn remove_entry(list: &mut Vec<Entry>, route: u32, path: u16) {
    list.retain(|x| !(x.route == route && x.path == path));
    if list.capacity() > 2 * list.len() + 4 {
        list.shrink_to_fit();
    }
}

/// Below every key [`order_key`] makes (sequence numbers start at 1):
/// "after `FIRST`" means from the first entry on.
pub(crate) const FIRST: Key = (0, 0);

/// The first entry of a sorted list whose key is above `after`.
#[inline]
fn first_after(list: &[Entry], after: Key) -> Option<&Entry> {
    if after == FIRST {
        return list.first();
    }
    list.get(list.partition_point(|x| x.key <= after))
}

impl Slot {
    pub fn is_empty(&self) -> bool {
        self.unrestricted.as_slice().is_empty() && self.hosts.is_none()
    }

    pub fn insert(&mut self, e: Entry, hosts: &[HostPattern]) {
        if hosts.is_empty() {
            self.unrestricted.insert(e);
            return;
        }
        let idx = self.hosts.get_or_insert_with(Default::default);
        for h in hosts {
            match h {
                HostPattern::Any => insert_sorted(&mut idx.any, e),
                HostPattern::Exact(name) => {
                    insert_sorted(idx.exact.entry(name.clone()).or_default(), e)
                }
                HostPattern::Suffix(s) => {
                    let list = idx.suffix.entry(s.clone()).or_default();
                    if list.is_empty() {
                        add_len(&mut idx.suffix_lens, s.len());
                    }
                    insert_sorted(list, e);
                }
            }
        }
    }

    pub fn remove(&mut self, route: u32, path: u16, hosts: &[HostPattern]) {
        if hosts.is_empty() {
            self.unrestricted.remove(route, path);
            return;
        }
        let Some(idx) = self.hosts.as_mut() else {
            return;
        };
        for h in hosts {
            match h {
                HostPattern::Any => remove_entry(&mut idx.any, route, path),
                HostPattern::Exact(name) => {
                    if let Some(list) = idx.exact.get_mut(name) {
                        remove_entry(list, route, path);
                        if list.is_empty() {
                            idx.exact.remove(name);
                        }
                    }
                }
                HostPattern::Suffix(s) => {
                    if let Some(list) = idx.suffix.get_mut(s) {
                        remove_entry(list, route, path);
                        if list.is_empty() {
                            idx.suffix.remove(s);
                            drop_len(&mut idx.suffix_lens, s.len());
                        }
                    }
                }
            }
        }
        if idx.any.is_empty() && idx.exact.is_empty() && idx.suffix.is_empty() {
            self.hosts = None;
        }
    }

    /// The best entry whose key is above `after` and whose hosts admit the
    /// request, with the host that admitted it.
    #[inline]
    pub fn best_after<'r>(
        &'r self,
        host: &HostCtx<'_>,
        after: Key,
    ) -> Option<(&'r Entry, HostHit<'r>)> {
        let first = first_after(self.unrestricted.as_slice(), after);
        match self.hosts.as_deref() {
            None => first.map(|e| (e, HostHit::Unrestricted)),
            Some(idx) => idx.best_after(host, after, first),
        }
    }
}

impl HostIndex {
    /// [`Slot::best_after`] for a slot with hosts; `unrestricted` is the
    /// best entry without hosts.
    fn best_after<'r>(
        &'r self,
        host: &HostCtx<'_>,
        after: Key,
        unrestricted: Option<&'r Entry>,
    ) -> Option<(&'r Entry, HostHit<'r>)> {
        let mut best = unrestricted.map(|e| (e, HostHit::Unrestricted));
        let mut offer = |e: Option<&'r Entry>, hit: HostHit<'r>| {
            if let Some(e) = e {
                if best.is_none_or(|(b, _)| e.key < b.key) {
                    best = Some((e, hit));
                }
            }
        };
        if host.present {
            offer(first_after(&self.any, after), HostHit::Wildcard(b""));
        }
        for name in [host.host, host.host_with_port].into_iter().flatten() {
            let (whole, name) = (name.whole, name.bytes);
            if let Some(list) = self.exact.get(name).filter(|_| whole) {
                offer(first_after(list, after), HostHit::Request);
            }
            for &(len, _) in &self.suffix_lens {
                if len > name.len() {
                    continue;
                }
                if let Some((key, list)) = self.suffix.get_key_value(&name[name.len() - len..]) {
                    offer(first_after(list, after), HostHit::Wildcard(key));
                }
            }
        }
        best
    }
}

fn add_len(lens: &mut Vec<(usize, usize)>, len: usize) {
    match lens.iter_mut().find(|(l, _)| *l == len) {
        Some((_, n)) => *n += 1,
        None => {
            lens.push((len, 1));
            lens.sort_by_key(|l| std::cmp::Reverse(l.0));
        }
    }
}

fn drop_len(lens: &mut Vec<(usize, usize)>, len: usize) {
    if let Some(i) = lens.iter().position(|(l, _)| *l == len) {
        lens[i].1 -= 1;
        if lens[i].1 == 0 {
            lens.remove(i);
        }
    }
}
