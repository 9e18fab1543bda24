//! `Router`: add, update and remove routes by id; match requests.

use crate::cow::{CowMap, CowVec};
use crate::error::{Field, RouteError, Tolerated};
use crate::host::{HostBuf, HostCtx};
use crate::method::method_bit;
use crate::path_regex::PathRegex;
use crate::pattern::{ParamSlot, Pattern};
use crate::record::{compile, Held, Index};
use crate::slot::{order_key, Entry, HostHit, Slot, FIRST};
use crate::tree::Tree;
use crate::vars::{NoVars, Vars};
use crate::{Request, Route};
use std::sync::Arc;

/// Cells of `Router::exact_lens`.
const EXACT_LENS: usize = 256;

fn len_cell(len: usize) -> usize {
    len.min(EXACT_LENS - 1)
}

/// Options that apply to every route of a router.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Options {
    /// `:` is ordinary text in paths (and `{name:re}` is too).
    pub no_param_match: bool,
    /// Tolerant mode (lua-resty-radixtree's): a path or `vars` comparison
    /// whose regex does not compile is no error; the route is added, that
    /// path never matches, that comparison is always false, and
    /// [`Router::tolerated`] lists them. Off (strict, the default), such a
    /// route is refused, as the gateway wants at write time.
    pub tolerant: bool,
}

/// A router: routes keyed by id, matched by path, host, method, client
/// address, `vars` and an optional filter.
///
/// Matching (`find`) takes `&self`, allocates nothing and may run on many
/// threads at once; changes take `&mut self` and touch only the changed route.
///
/// A clone shares every table with the router it was cloned from, a chunk
/// or shard at a time ([`CowVec`]): it costs a pointer per group of chunks
/// and per shard, and a change to either copies only the chunks and
/// shards it writes. A gateway changes a clone of the router its requests
/// match on and publishes it, holding the two for little more than the
/// price of one.
#[derive(Debug, Clone)]
pub struct Router<T> {
    opts: Options,
    routes: CowVec<Option<Held<T>>>,
    free: Vec<u32>,
    ids: CowMap<Arc<str>, u32>,
    /// Exact paths: one hash probe, tried before the tree.
    exact: CowMap<Box<[u8]>, Slot>,
    /// How many exact paths have each length (the last cell counts all
    /// longer ones): a path of a length no exact route has skips the probe.
    exact_lens: [u32; EXACT_LENS],
    tree: Tree,
    seq: u64,
    /// What tolerant mode let pass in the last change.
    tolerated: Vec<Tolerated>,
}

/// What the router reports about a matched route.
#[derive(Debug)]
pub struct Match<'r, 'p, T> {
    /// The route's value.
    pub value: &'r T,
    /// The route's id.
    pub id: &'r str,
    /// The path pattern that matched, as written (lua's `_path`).
    pub pattern: &'r str,
    /// Which of the route's hosts admitted the request.
    pub host: MatchedHost<'r>,
    /// The route's params with their values in the request path.
    pub params: Params<'r, 'p>,
}

/// Which host of the route admitted the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatchedHost<'r> {
    /// The route lists no hosts.
    Unrestricted,
    /// The route lists the request's host.
    Request,
    /// A wildcard of the route: `"*"` or `"*.foo.com"` reported as `"*"` plus this suffix.
    Wildcard(&'r [u8]),
}

/// A matched route's params: names from the pattern, values as slices of the path.
#[derive(Debug, Clone, Copy)]
pub struct Params<'r, 'p> {
    slots: &'r [ParamSlot],
    path: &'p [u8],
    /// For a regex pattern, the regex whose groups are the params.
    regex: Option<&'r PathRegex>,
}

impl<'r, 'p> Params<'r, 'p> {
    /// How many params the pattern has (a catch-all counts as one).
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// True when the pattern has no params.
    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// The `i`-th param: its name, and its byte range in the path.
    pub fn range(&self, i: usize) -> Option<(&'r str, std::ops::Range<usize>)> {
        self.ranges().nth(i)
    }

    /// `(name, byte range in the path)` for every param, in pattern order.
    /// (For a regex pattern this runs the regex again, and allocates.)
    #[inline]
    pub fn ranges(&self) -> impl Iterator<Item = (&'r str, std::ops::Range<usize>)> + use<'r, 'p> {
        let slots = self.slots;
        match self.regex {
            None => Either::Walked(ParamSlot::ranges(slots, self.path).map(|(s, r)| (&*s.name, r))),
            Some(rx) => {
                let captured = rx.ranges(self.path).unwrap_or_default();
                Either::Captured(slots.iter().map(|s| &*s.name).zip(captured))
            }
        }
    }
    /// The value of the param `name`.
    pub fn get(&self, name: &str) -> Option<&'p [u8]> {
        self.iter().find(|(n, _)| *n == name).map(|(_, v)| v)
    }

    /// `(name, value)` for every param, in pattern order.
    pub fn iter(&self) -> impl Iterator<Item = (&'r str, &'p [u8])> + use<'r, 'p> {
        let path = self.path;
        self.ranges()
            .filter_map(move |(name, r)| Some((name, path.get(r)?)))
    }
}

/// One of two iterators with the same items.
enum Either<A, B> {
    Walked(A),
    Captured(B),
}

impl<A: Iterator, B: Iterator<Item = A::Item>> Iterator for Either<A, B> {
    type Item = A::Item;

    #[inline]
    fn next(&mut self) -> Option<A::Item> {
        match self {
            Either::Walked(a) => a.next(),
            Either::Captured(b) => b.next(),
        }
    }
}

impl<T> Default for Router<T> {
    fn default() -> Self {
        Router::new(Options::default())
    }
}

impl<T> Router<T> {
    /// An empty router.
    pub fn new(opts: Options) -> Self {
        Router {
            opts,
            routes: CowVec::new(),
            free: Vec::new(),
            ids: CowMap::default(),
            exact: CowMap::default(),
            exact_lens: [0; EXACT_LENS],
            tree: Tree::default(),
            seq: 0,
            tolerated: Vec::new(),
        }
    }
}

/// Changes (and reads of a router that changes) need `T: Clone`: a
/// change copies the chunk that holds a route, values included, when a
/// clone shares it.
impl<T: Clone> Router<T> {
    /// A router holding `routes`; the first refused route is the error.
    pub fn build(
        routes: impl IntoIterator<Item = Route<T>>,
        opts: Options,
    ) -> Result<Self, RouteError> {
        let mut r = Router::new(opts);
        for route in routes {
            r.insert(route)?;
        }
        Ok(r)
    }

    /// Makes room for `additional` more routes at once (before a large set
    /// of inserts), so that the id index is sized once rather than grown
    /// by doubling, with up to half its size unused after the last insert.
    /// (The route table grows a chunk at a time, with nothing unused.)
    pub fn reserve(&mut self, additional: usize) {
        self.ids.reserve(additional);
    }

    /// The router's options.
    pub fn options(&self) -> Options {
        self.opts
    }

    /// How many routes the router holds.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// True when the router holds no route.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// What tolerant mode ([`Options::tolerant`]) let pass in the last
    /// change (`insert`, `update`, `upsert`, `remove`): empty after a change
    /// that had nothing to tolerate, or that failed.
    pub fn tolerated(&self) -> &[Tolerated] {
        &self.tolerated
    }

    /// The value of the route `id`.
    pub fn get(&self, id: &str) -> Option<&T> {
        let &i = self.ids.get(id)?;
        self.routes.get(i as usize)?.as_ref().map(|h| &h.value)
    }

    /// Adds a route. Refused (and nothing changed) when a field is malformed
    /// or the id is taken.
    pub fn insert(&mut self, route: Route<T>) -> Result<(), RouteError> {
        self.tolerated.clear();
        if self.ids.contains_key(route.id.as_str()) {
            return Err(RouteError::DuplicateId { id: route.id });
        }
        let (held, patterns, tolerated) = compile(route, self.opts)?;
        let slot = self.take_slot(&held.record.id)?;
        self.place(slot, held, &patterns);
        self.tolerated = tolerated;
        Ok(())
    }

    /// A free index of the route table for the route `id`.
    fn take_slot(&mut self, id: &str) -> Result<u32, RouteError> {
        Ok(match self.free.pop() {
            Some(i) => i,
            None if self.routes.len() >= (u32::MAX - 1) as usize => {
                return Err(RouteError::Full { id: id.to_owned() })
            }
            None => {
                self.routes.push(None);
                (self.routes.len() - 1) as u32
            }
        })
    }

    /// Replaces the route with the same id. Refused (and the old route
    /// kept) when a field is malformed or no such route exists. The updated
    /// route orders as if newly added among routes of equal priority.
    pub fn update(&mut self, route: Route<T>) -> Result<T, RouteError> {
        self.tolerated.clear();
        let Some(&i) = self.ids.get(route.id.as_str()) else {
            return Err(RouteError::NotFound { id: route.id });
        };
        let (held, patterns, tolerated) = compile(route, self.opts)?;
        let old = self.unplace(i).ok_or_else(|| RouteError::NotFound {
            id: held.record.id.to_string(),
        })?;
        self.place(i, held, &patterns);
        self.tolerated = tolerated;
        Ok(old.value)
    }

    /// Adds the route, or replaces the one with the same id.
    pub fn upsert(&mut self, route: Route<T>) -> Result<Option<T>, RouteError> {
        if self.ids.contains_key(route.id.as_str()) {
            self.update(route).map(Some)
        } else {
            self.insert(route).map(|()| None)
        }
    }

    /// Removes the route `id` and returns its value.
    pub fn remove(&mut self, id: &str) -> Result<T, RouteError> {
        self.tolerated.clear();
        let Some(&i) = self.ids.get(id) else {
            return Err(RouteError::NotFound { id: id.into() });
        };
        let old = self
            .unplace(i)
            .ok_or_else(|| RouteError::NotFound { id: id.into() })?;
        self.free.push(i);
        Ok(old.value)
    }

    /// Whether this router and `other` both hold the route `id` as one
    /// compiled record (one adopted it from the other).
    pub fn shares_route(&self, other: &Router<T>, id: &str) -> bool {
        let record = |r: &Router<T>| {
            let i = *r.ids.get(id)?;
            r.routes.get(i as usize)?.as_ref().map(|h| h.record.clone())
        };
        matches!((record(self), record(other)), (Some(a), Some(b)) if Arc::ptr_eq(&a, &b))
    }

    /// Adds the route `id` as `other` holds it, or replaces this router's
    /// route of that id with it: its compiled record is shared, not
    /// compiled again (two routers kept in step hold each route once). It
    /// orders as if newly added; returns the value it replaced. Refused
    /// (nothing changed) when `other` has no route `id`.
    pub fn adopt(&mut self, other: &Router<T>, id: &str) -> Result<Option<T>, RouteError>
    where
        T: Clone,
    {
        self.tolerated.clear();
        let found = other
            .ids
            .get(id)
            .and_then(|&i| other.routes.get(i as usize));
        let Some(Some(theirs)) = found else {
            return Err(RouteError::NotFound { id: id.into() });
        };
        let record = theirs.record.clone();
        // The patterns parsed when `other` compiled the route: only a parse
        // that succeeded then can be stored, and it parses the same now.
        let patterns = record
            .paths()
            .map(|sp| Pattern::parse(&sp.pattern, record.no_param_match))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| RouteError::invalid(id, Field::Paths, e))?;
        let held = Held {
            record,
            value: theirs.value.clone(),
        };
        let (i, old) = match self.ids.get(id) {
            Some(&i) => (i, self.unplace(i).map(|h| h.value)),
            None => (self.take_slot(id)?, None),
        };
        self.place(i, held, &patterns);
        Ok(old)
    }

    /// Indexes route `i`: each of its paths (`patterns`, parsed) where its
    /// [`Index`] says, then its id.
    fn place(&mut self, i: u32, held: Held<T>, patterns: &[Pattern]) {
        let r = &*held.record;
        let unconditional = r.conditions().is_none() && !r.filter;
        for (pi, (sp, pattern)) in r.paths().zip(patterns).enumerate() {
            // One sequence number per path, not per route: a route's paths are
            // tried in the order given (as lua-resty-radixtree inserts them one
            // by one); with a shared number, equal keys were tried latest first.
            self.seq += 1;
            let seq = self.seq;
            let regex = sp.regex.is_some();
            let entry = Entry {
                key: order_key(r.priority, sp.pattern.len(), seq),
                route: i,
                path: pi as u16,
                plain: unconditional && !regex,
                regex,
            };
            match sp.index {
                Index::Nowhere => {}
                Index::Exact => {
                    let slot = self.exact.get_or_default(sp.pattern.as_bytes().into());
                    if slot.is_empty() {
                        self.exact_lens[len_cell(sp.pattern.len())] += 1;
                    }
                    slot.insert(entry, r.hosts());
                }
                Index::Tree | Index::Regex => {
                    self.tree.slot_for(pattern, regex).insert(entry, r.hosts())
                }
            }
        }
        self.ids.insert(r.id.clone(), i);
        if let Some(at) = self.routes.get_mut(i as usize) {
            *at = Some(held);
        }
    }

    /// Takes route `i` out of every index; `None` when the slab slot is empty.
    fn unplace(&mut self, i: u32) -> Option<Held<T>> {
        let held = self.routes.get_mut(i as usize)?.take()?;
        let r = &*held.record;
        self.ids.remove(&*r.id);
        for (pi, sp) in r.paths().enumerate() {
            let place = match sp.index {
                Index::Nowhere => continue,
                Index::Exact => {
                    let key = sp.pattern.as_bytes();
                    if let Some(slot) = self.exact.get_mut(key) {
                        slot.remove(i, pi as u16, r.hosts());
                        if slot.is_empty() {
                            self.exact.remove(key);
                            self.exact_lens[len_cell(key.len())] -= 1;
                        }
                    }
                    continue;
                }
                // It parsed when the route was placed, the same way.
                Index::Tree | Index::Regex => Pattern::parse(&sp.pattern, r.no_param_match)
                    .ok()
                    .and_then(|p| self.tree.place_for(&p, sp.index == Index::Regex)),
            };
            if let Some(place) = place {
                if let Some(slot) = self.tree.slot_at(place) {
                    slot.remove(i, pi as u16, r.hosts());
                }
                self.tree.prune(place);
            }
        }
        Some(held)
    }
}

impl<T> Router<T> {
    /// The route `req` matches, without `vars` or a filter.
    #[inline]
    pub fn find<'r, 'p>(&'r self, req: &Request<'p>) -> Option<Match<'r, 'p, T>> {
        self.find_with(req, &NoVars, &mut |_| true)
    }

    /// The first route, in docs/router.md's order, whose path, method, client
    /// address, host and `vars` match `req`, and which `filter` accepts
    /// (asked only for routes added with `filter: true`).
    #[inline]
    pub fn find_with<'r, 'p>(
        &'r self,
        req: &Request<'p>,
        vars: &dyn Vars,
        filter: &mut dyn FnMut(&T) -> bool,
    ) -> Option<Match<'r, 'p, T>> {
        // The `Match` is built here, inline in the caller, from a small
        // result: returned whole, it was copied through memory.
        let (entry, hit) = self.lookup(req, vars, filter)?;
        self.report(entry, hit, req.path)
    }

    /// The entry [`Router::find_with`] reports, and the host that admitted it.
    fn lookup<'r>(
        &'r self,
        req: &Request<'_>,
        vars: &dyn Vars,
        filter: &mut dyn FnMut(&T) -> bool,
    ) -> Option<(&'r Entry, HostHit<'r>)> {
        let (mut buf, mut buf_port): (HostBuf, HostBuf) = (None, None);
        let host = HostCtx::new(req, &mut buf, &mut buf_port);
        let method = req.method.and_then(method_bit).unwrap_or(0);
        let mut accept = |e: &Entry| {
            e.plain
                || match self.routes.get(e.route as usize) {
                    Some(Some(h)) => {
                        (!e.regex || h.record.path_matches(e.path, req.path))
                            && h.record.accepts(method, req, vars)
                            && (!h.record.filter || filter(&h.value))
                    }
                    _ => false,
                }
        };
        let exact = match self.exact_lens[len_cell(req.path.len())] {
            0 => None,
            _ => self.exact.get(req.path),
        };
        if let Some(slot) = exact {
            let mut after = FIRST;
            while let Some((e, hit)) = slot.best_after(&host, after) {
                if accept(e) {
                    return Some((e, hit));
                }
                after = e.key;
            }
        }
        self.tree.find(req.path, &host, &mut accept)
    }

    #[inline]
    fn report<'r, 'p>(
        &'r self,
        e: &Entry,
        hit: HostHit<'r>,
        path: &'p [u8],
    ) -> Option<Match<'r, 'p, T>> {
        let h = self.routes.get(e.route as usize)?.as_ref()?;
        let r = &*h.record;
        let sp = match e.path {
            0 => &r.path,
            i => r.more_paths().get(i as usize - 1)?,
        };
        Some(Match {
            value: &h.value,
            id: &r.id,
            pattern: &sp.pattern,
            host: match hit {
                HostHit::Unrestricted => MatchedHost::Unrestricted,
                HostHit::Request => MatchedHost::Request,
                HostHit::Wildcard(s) => MatchedHost::Wildcard(s),
            },
            params: Params {
                slots: &sp.params,
                path,
                regex: sp.regex.as_deref(),
            },
        })
    }
}
