//! The snapshot builder: applies a source's events to the store, compiles
//! the routes they touch, and publishes a new snapshot with one atomic swap.
//!
//! The router is never rebuilt for a change. The builder clones the live
//! snapshot, which shares every table of its router and its route list
//! with the clone ([`radix_router::CowVec`]: a pointer per group of
//! chunks), applies the change to the clone in place (`upsert`/`remove`,
//! copying only the chunks they write) and swaps it in. Requests still
//! matching on the snapshot it replaced finish on it; it is freed with the
//! last of them. The gateway so holds one router, and the chunks a change
//! copied while the one before is in use.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Instant;

use arc_swap::ArcSwap;
use radix_router::{Field, RouteError};

use super::compile::ObjectStore;
use super::{ConsumerChains, ConsumerGroups, IdMap, RouteRt, Snapshot};
use crate::config::{Id, Kind, ObjectError};
use crate::plugin_host::Chain;
use crate::source::{Change, SourceEvent};

/// The live snapshot, shared by the builder (writer) and the proxy (readers).
pub type Live = Arc<ArcSwap<Snapshot>>;

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

/// A route as the live snapshot serves it.
#[derive(Debug)]
struct Served {
    index: u32,
    /// The compiled route; its `matching` is what the router has for it
    /// (the stored route's, shared; it stays while a newer stored version
    /// fails to compile).
    rt: Arc<RouteRt>,
}

/// Owns the store and publishes snapshots into a [`Live`].
#[derive(Debug)]
pub struct SnapshotBuilder {
    store: ObjectStore,
    live: Live,
    served: IdMap<Id, Served>,
    free: Vec<u32>,
    next_index: u32,
    version: u64,
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
            served: IdMap::default(),
            free: Vec::new(),
            next_index: 0,
            version: 0,
            shared: Shared::default(),
            upstream_users: IdMap::default(),
            upstreams_moved: false,
        }
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
        let mut changed = 0;
        for (id, op, result) in self.compile_and_route(&mut snap, affected, &mut errors) {
            match result {
                Ok(()) => {
                    self.record(&id, op);
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
        // The snapshot replaced is freed once no request matches on it
        // (here, when no request holds it now).
        drop(self.live.swap(snap));
        if from_source {
            crate::source::lag::published();
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
                                let result = apply_op(lent, &op);
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
                let result = apply_op(snap, &op);
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
            Op::Put { index, rt, .. } => {
                match self.served.get_mut(id) {
                    // With it an equal matching: the stored route's, so
                    // that the old one is not kept alive.
                    Some(s) => s.rt = rt,
                    None => {
                        self.served.insert(id.clone(), Served { index, rt });
                    }
                }
            }
        }
    }

    /// A snapshot equal to the live one that the builder may change: a
    /// clone, which shares the live one's router and routes until it
    /// changes them.
    fn working_copy(&self) -> Snapshot {
        Snapshot::clone(&self.live.load())
    }
}

/// Applies one op to a snapshot; the snapshot is unchanged on error.
fn apply_op(snap: &mut Snapshot, op: &Op) -> Result<(), RouteError> {
    match op {
        Op::Put {
            index,
            rerouted,
            rt,
        } => {
            if *rerouted {
                snap.router.upsert(rt.matching.route(&rt.id, *index))?;
            }
            let i = *index as usize;
            snap.routes.grow_to(i + 1);
            if let Some(at) = snap.routes.get_mut(i) {
                *at = Some(rt.clone());
            }
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
