//! The snapshot builder: applies a source's events to the store, compiles
//! the routes they touch, and publishes a new snapshot with one atomic swap.
//!
//! The router is never rebuilt for a change. The builder keeps two
//! snapshots, left-right style: the live one and the one it replaced (the
//! spare). Requests hold a snapshot only while they match, so the spare
//! is soon free; the builder then replays on it the route changes it
//! missed, applies the new ones in place (`upsert`/`remove`) and swaps it
//! in. Only if a reader still holds the spare after a grace period does
//! the builder rebuild the router from its compiled routes (and, without
//! counting it, when the snapshot it replaced was empty, as the one before
//! a start's first load: there is nothing to reuse).

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use radix_router::{Field, Options, RouteError, Router};

use super::compile::ObjectStore;
use super::{ConsumerChains, ConsumerGroups, IdMap, RouteRt, Snapshot};
use crate::config::{Id, Kind, ObjectError};
use crate::plugin_host::Chain;
use crate::source::{Change, SourceEvent};

/// The live snapshot, shared by the builder (writer) and the proxy (readers).
pub type Live = Arc<ArcSwap<Snapshot>>;

/// How long the builder waits for readers to let go of the spare snapshot.
const SPARE_GRACE: Duration = Duration::from_millis(200);

/// One change to a snapshot's routes.
#[derive(Debug)]
enum Op {
    /// Set the route at `index` to `rt`, and in the router to its
    /// `matching` when `rerouted` (else the router keeps it as it is).
    Put {
        index: u32,
        rerouted: bool,
        rt: Arc<RouteRt>,
    },
    /// Drop the route `id` at `index`.
    Remove { id: String, index: u32 },
}

/// A route's op and whether the router took it.
type Routed = (Id, Op, Result<(), RouteError>);

/// Ops handed to the router's thread at a time during a large build.
const ROUTER_BATCH: usize = 512;

/// A route change the spare snapshot has yet to get. The route itself is
/// not kept: it is the one `served` holds for `id` (or none: a removal),
/// as the live snapshot has it.
#[derive(Debug)]
struct Missed {
    id: Id,
    index: u32,
    /// Whether the router must change (else only the compiled route).
    rerouted: bool,
}

/// A route as the live snapshot serves it.
#[derive(Debug)]
struct Served {
    index: u32,
    /// The compiled route; its `matching` is what the router has for it
    /// (the stored route's, shared; it stays while a newer stored version
    /// fails to compile).
    rt: Arc<RouteRt>,
    /// When the router last got this route (rebuilds keep that order).
    seq: u64,
}

/// Owns the store and publishes snapshots into a [`Live`].
#[derive(Debug)]
pub struct SnapshotBuilder {
    store: ObjectStore,
    live: Live,
    spare: Option<Arc<Snapshot>>,
    /// No spare to reuse, and none was held back by readers: the next
    /// working copy is built from `served` and is not counted as a rebuild.
    spare_from_served: bool,
    lag: Vec<Missed>,
    served: IdMap<Id, Served>,
    free: Vec<u32>,
    next_index: u32,
    seq: u64,
    version: u64,
    /// Routers built from scratch after the first one (see
    /// [`SnapshotBuilder::router_rebuilds`]).
    rebuilds: u64,
    /// What every snapshot shares beside the routes, built again only when
    /// an event touches global rules or consumers.
    shared: Shared,
    /// Served routes by upstream name (health probers run for the names
    /// listed here); `upstreams_moved` when a name came or went.
    upstream_users: IdMap<String, usize>,
    upstreams_moved: bool,
}

/// The parts of a snapshot that are not routes.
#[derive(Debug, Default)]
struct Shared {
    global: Option<Arc<Chain>>,
    consumers: Option<Arc<ConsumerChains>>,
    consumer_groups: Option<Arc<ConsumerGroups>>,
}

impl SnapshotBuilder {
    /// A builder publishing into `live`.
    pub fn new(live: Live) -> Self {
        SnapshotBuilder {
            store: ObjectStore::default(),
            live,
            spare: None,
            spare_from_served: true,
            lag: Vec::new(),
            served: IdMap::default(),
            free: Vec::new(),
            next_index: 0,
            seq: 0,
            version: 0,
            rebuilds: 0,
            shared: Shared::default(),
            upstream_users: IdMap::default(),
            upstreams_moved: false,
        }
    }

    /// How many times a router was built from scratch after the first
    /// snapshot: only when a reader held the spare snapshot past the grace
    /// period. A change, a full set included, otherwise applies in place
    /// and leaves this at 0. Every publication logs it (`router_rebuilds`).
    #[cfg(test)]
    pub fn router_rebuilds(&self) -> u64 {
        self.rebuilds
    }

    /// Builds plugin instances with `host` from now on (without a host,
    /// objects' plugins are ignored).
    pub fn set_plugin_host(&mut self, host: Arc<crate::plugin_host::PluginHost>) {
        self.store.plugins.set_host(host);
    }

    /// Applies one event and publishes the result. Returns the objects that
    /// were refused (already logged); their last good versions stay.
    pub fn apply(&mut self, event: SourceEvent) -> Vec<ObjectError> {
        let started = Instant::now();
        let from_source = !matches!(event, SourceEvent::PluginsUpgraded(_));
        let shared_changed = match &event {
            SourceEvent::Changes(changes) => changes.iter().any(|c| {
                let kind = match c {
                    Change::Put(item) => item.kind(),
                    Change::Delete { kind, .. } => *kind,
                };
                matches!(
                    kind,
                    Kind::GlobalRule | Kind::Consumer | Kind::ConsumerGroup | Kind::Credential
                )
            }),
            SourceEvent::Full(_) | SourceEvent::PluginsUpgraded(_) => true,
        };
        let (mut errors, affected) = match event {
            SourceEvent::Full(items) => {
                let errors = self.store.replace(items);
                let mut ids: BTreeSet<Id> = self.store.route_ids().cloned().collect();
                ids.extend(self.served.keys().cloned());
                (errors, ids)
            }
            SourceEvent::Changes(changes) => {
                let mut errors = Vec::new();
                let mut ids = BTreeSet::new();
                for c in changes {
                    match self.store.apply(c) {
                        Ok(a) => ids.extend(a),
                        Err(e) => errors.push(e),
                    }
                }
                (errors, ids)
            }
            SourceEvent::PluginsUpgraded(names) => self.store.rebuild_plugins(&names),
        };
        let mut snap = self.working_copy();
        // Sized once: a full set would otherwise grow these step by step,
        // copying what they hold at every step.
        self.served
            .reserve(affected.len().saturating_sub(self.served.len()));
        let mut applied = Vec::with_capacity(affected.len());
        let mut changed = 0;
        for (id, op, result) in self.compile_and_route(&mut snap, affected, &mut errors) {
            match result {
                Ok(()) => {
                    let index = op.index();
                    let rerouted = !matches!(
                        op,
                        Op::Put {
                            rerouted: false,
                            ..
                        }
                    );
                    self.record(&id, op);
                    applied.push(Missed {
                        id,
                        index,
                        rerouted,
                    });
                    changed += 1;
                }
                Err(e) => {
                    if let Op::Put { index, .. } = op {
                        if !self.served.contains_key(&id) {
                            self.free.push(index);
                        }
                    }
                    errors.push(router_error(&id, &e));
                }
            }
        }
        for e in &errors {
            tracing::error!(kind = %e.kind, id = %e.id, field = %e.field, reason = %e.reason,
                "object not applied; its last good version stays");
        }
        self.version += 1;
        snap.version = self.version;
        if shared_changed || self.version == 1 {
            self.shared = Shared {
                global: self.store.plugins.global_chain(),
                consumers: self.store.plugins.consumer_chains(),
                consumer_groups: self.store.plugins.consumer_groups(),
            };
        }
        snap.global = self.shared.global.clone();
        snap.consumers = self.shared.consumers.clone();
        snap.consumer_groups = self.shared.consumer_groups.clone();
        snap.tls = self.store.sni_index();
        tracing::info!(
            version = snap.version,
            routes = snap.len(),
            changed,
            router_rebuilds = self.rebuilds,
            build_ms = started.elapsed().as_millis() as u64,
            "config snapshot published"
        );
        let snap = Arc::new(snap);
        // Health probers of upstreams that no served route uses end now.
        if std::mem::take(&mut self.upstreams_moved) {
            let users = &self.upstream_users;
            self.store
                .upstream_registry
                .keep_running_if(|name| users.contains_key(name));
        }
        let old = self.live.swap(snap);
        if from_source {
            crate::source::lag::published();
        }
        if old.router.is_empty() {
            // Nothing in it to reuse (the snapshot before a start's first
            // load): the next working copy is built from `served` rather
            // than kept with every route's change listed until then.
            self.spare = None;
            self.lag = Vec::new();
            self.spare_from_served = true;
        } else {
            self.spare = Some(old);
            self.lag = applied;
        }
        errors
    }

    /// Compiles each route of `affected` and applies what changed to
    /// `snap`'s router and routes, in order: each op with the router's
    /// verdict, for [`SnapshotBuilder::record`]. Compile errors go to
    /// `errors`. For a large set the router takes the ops on a second
    /// thread while the next routes compile (the two share nothing: the
    /// builder's state on one side, the snapshot on the other); the
    /// router gets them in the same order either way.
    fn compile_and_route(
        &mut self,
        snap: &mut Snapshot,
        mut affected: BTreeSet<Id>,
        errors: &mut Vec<ObjectError>,
    ) -> Vec<Routed> {
        if affected.len() >= crate::source::LARGE_LOAD {
            // Lent to the router's thread until the scope ends.
            let lent: &mut Snapshot = &mut *snap;
            let count = affected.len();
            // A first load or a resync: the routes it adds, at most.
            lent.router.reserve(count.saturating_sub(lent.router.len()));
            let routed = std::thread::scope(|scope| {
                let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<(Id, Op)>>(8);
                let router = std::thread::Builder::new()
                    .name("config-router".into())
                    .spawn_scoped(scope, move || {
                        let mut routed = Vec::with_capacity(count);
                        for batch in rx {
                            routed.extend(batch.into_iter().map(|(id, op)| {
                                let result = apply_op(lent, &op, None);
                                (id, op, result)
                            }));
                        }
                        routed
                    });
                let router = match router {
                    Ok(r) => r,
                    Err(e) => {
                        tracing::warn!(error = %e, "no thread for the router; one thread builds");
                        return Err(affected);
                    }
                };
                let mut batch = Vec::with_capacity(ROUTER_BATCH);
                for id in affected {
                    if let Some(op) = self.op_or_error(&id, errors) {
                        batch.push((id, op));
                    }
                    if batch.len() == ROUTER_BATCH {
                        let full = std::mem::replace(&mut batch, Vec::with_capacity(ROUTER_BATCH));
                        if tx.send(full).is_err() {
                            break; // The router thread panicked: join says so.
                        }
                    }
                }
                let _ = tx.send(batch);
                drop(tx);
                Ok(router
                    .join()
                    .unwrap_or_else(|p| std::panic::resume_unwind(p)))
            });
            match routed {
                Ok(routed) => return routed,
                Err(back) => affected = back,
            }
        }
        let mut routed = Vec::new();
        for id in affected {
            if let Some(op) = self.op_or_error(&id, errors) {
                let result = apply_op(snap, &op, None);
                routed.push((id, op, result));
            }
        }
        routed
    }

    /// [`SnapshotBuilder::op_for`], its error put in `errors`.
    fn op_or_error(&mut self, id: &Id, errors: &mut Vec<ObjectError>) -> Option<Op> {
        self.op_for(id).unwrap_or_else(|e| {
            errors.push(e);
            None
        })
    }

    /// What to do for route `id`: `None` when nothing changes.
    fn op_for(&mut self, id: &Id) -> Result<Option<Op>, ObjectError> {
        let compiled = self.store.compile(id)?;
        let served = self.served.get(id);
        Ok(match (compiled, served) {
            (None, None) => None,
            (None, Some(s)) => Some(Op::Remove {
                id: id.0.clone(),
                index: s.index,
            }),
            (Some(rt), served) => {
                let index = match served {
                    Some(s) => s.index,
                    None => self.free.pop().unwrap_or_else(|| {
                        self.next_index += 1;
                        self.next_index - 1
                    }),
                };
                let rerouted = served.is_none_or(|s| {
                    !Arc::ptr_eq(&s.rt.matching, &rt.matching) && s.rt.matching != rt.matching
                });
                Some(Op::Put {
                    index,
                    rerouted,
                    rt: Arc::new(rt),
                })
            }
        })
    }

    /// Counts a served route on upstream `name` (`add`), or no longer.
    fn count_upstream(&mut self, name: &str, add: bool) {
        if add {
            // No key allocated for a name already counted: a full load
            // counts every route's.
            match self.upstream_users.get_mut(name) {
                Some(n) => *n += 1,
                None => {
                    self.upstream_users.insert(name.to_owned(), 1);
                    self.upstreams_moved = true;
                }
            }
        } else if let Some(n) = self.upstream_users.get_mut(name) {
            *n -= 1;
            if *n == 0 {
                self.upstream_users.remove(name);
                self.upstreams_moved = true;
            }
        }
    }

    fn record(&mut self, id: &Id, op: Op) {
        // The route's upstream and its traffic-split's (no allocation:
        // this runs for every route of a full load).
        let old = self.served.get(id).map(|s| s.rt.clone());
        let new = match &op {
            Op::Put { rt, .. } => Some(rt.clone()),
            Op::Remove { .. } => None,
        };
        for up in old.iter().flat_map(|o| o.upstreams()) {
            self.count_upstream(&up.name, false);
        }
        for up in new.iter().flat_map(|n| n.upstreams()) {
            self.count_upstream(&up.name, true);
            // A new build of an upstream has new health checks, which must
            // be told that they are in use.
            let kept = old
                .iter()
                .flat_map(|o| o.upstreams())
                .any(|o| Arc::ptr_eq(o, up));
            self.upstreams_moved |= !kept;
        }
        match op {
            Op::Remove { index, .. } => {
                self.served.remove(id);
                self.free.push(index);
            }
            Op::Put {
                index,
                rerouted,
                rt,
            } => {
                let seq = self.seq;
                self.seq += 1;
                match self.served.get_mut(id) {
                    Some(s) => {
                        // With it an equal matching: the stored route's, so
                        // that the old one is not kept alive.
                        s.rt = rt;
                        if rerouted {
                            s.seq = seq;
                        }
                    }
                    None => {
                        let served = Served { index, rt, seq };
                        self.served.insert(id.clone(), served);
                    }
                }
            }
        }
    }

    /// The op that brings a snapshot from before the last publication up
    /// to the live one for the route change `m`.
    fn replay(&self, m: &Missed) -> Op {
        match self.served.get(&m.id) {
            Some(s) => Op::Put {
                index: s.index,
                rerouted: m.rerouted,
                rt: s.rt.clone(),
            },
            None => Op::Remove {
                id: m.id.0.clone(),
                index: m.index,
            },
        }
    }

    /// A snapshot equal to the live one that the builder may change: the
    /// spare brought up to date, or a rebuild when readers still hold it.
    fn working_copy(&mut self) -> Snapshot {
        if let Some(mut spare) = self.spare.take() {
            let deadline = Instant::now() + SPARE_GRACE;
            loop {
                match Arc::try_unwrap(spare) {
                    Ok(mut snap) => {
                        // A large set in the lag: the routes it adds, at most.
                        let adds = self.lag.len().saturating_sub(snap.router.len());
                        snap.router.reserve(adds);
                        // These changes succeeded on the live copy, which
                        // the spare equalled before them: its routes are
                        // taken from its router, shared, not compiled again.
                        let live = self.live.load();
                        for m in std::mem::take(&mut self.lag) {
                            let op = self.replay(&m);
                            if let Err(e) = apply_op(&mut snap, &op, Some(&live.router)) {
                                tracing::warn!(error = %e, "replay on the spare snapshot failed");
                            }
                        }
                        return snap;
                    }
                    Err(still) if Instant::now() < deadline => {
                        spare = still;
                        std::thread::sleep(Duration::from_millis(1));
                    }
                    Err(_) => break,
                }
            }
            tracing::warn!("spare snapshot still in use; rebuilding the router");
        }
        self.lag.clear();
        // The first snapshot has no router to reuse, nor has the next one
        // when the first replaced an empty snapshot.
        if !std::mem::take(&mut self.spare_from_served) {
            self.rebuilds += 1;
        }
        self.rebuild()
    }

    /// The live state from scratch (first load, or a spare still in use).
    fn rebuild(&self) -> Snapshot {
        let mut snap = Snapshot {
            router: Router::new(Options::default()),
            routes: vec![None; self.next_index as usize],
            version: self.version,
            global: None,
            consumers: None,
            consumer_groups: None,
            tls: self.store.sni_index(),
        };
        snap.router.reserve(self.served.len());
        let mut order: Vec<&Served> = self.served.values().collect();
        order.sort_by_key(|s| s.seq);
        // The live router holds every served route: each is shared with it.
        let live = self.live.load();
        for s in order {
            if let Err(e) = route(&mut snap.router, &s.rt, s.index, Some(&live.router)) {
                tracing::error!(route = %s.rt.id, error = %e, "route lost in rebuild");
                continue;
            }
            snap.routes[s.index as usize] = Some(s.rt.clone());
        }
        snap
    }
}

impl Op {
    /// The route slot it changes.
    fn index(&self) -> u32 {
        match self {
            Op::Put { index, .. } | Op::Remove { index, .. } => *index,
        }
    }
}

/// Puts the compiled route `rt` at `index` into `router`: taken from
/// `live`'s router (its compiled record shared) when that one holds it
/// there, else compiled from its matching.
fn route(
    router: &mut Router<u32>,
    rt: &RouteRt,
    index: u32,
    live: Option<&Router<u32>>,
) -> Result<(), RouteError> {
    match live {
        Some(live) if live.get(&rt.id) == Some(&index) => router.adopt(live, &rt.id).map(drop),
        _ => router.upsert(rt.matching.route(&rt.id, index)).map(drop),
    }
}

/// Applies one op to a snapshot, its route taken from `live`'s router
/// when that one holds it (see [`route`]); the snapshot is unchanged on
/// error.
fn apply_op(snap: &mut Snapshot, op: &Op, live: Option<&Router<u32>>) -> Result<(), RouteError> {
    match op {
        Op::Put {
            index,
            rerouted,
            rt,
        } => {
            if *rerouted {
                route(&mut snap.router, rt, *index, live)?;
            }
            let i = *index as usize;
            if snap.routes.len() <= i {
                snap.routes.resize(i + 1, None);
            }
            snap.routes[i] = Some(rt.clone());
        }
        Op::Remove { id, index } => {
            // Absent already is fine: the result is the same.
            let _ = snap.router.remove(id);
            if let Some(slot) = snap.routes.get_mut(*index as usize) {
                *slot = None;
            }
        }
    }
    Ok(())
}

fn router_error(id: &Id, e: &RouteError) -> ObjectError {
    let field = match e.field() {
        Some(Field::Paths) => "uri",
        Some(f) => f.as_str(),
        None => "",
    };
    ObjectError::new(Kind::Route, &id.0, field, e.problem())
}
