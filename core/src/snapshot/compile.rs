//! The one conversion from APISIX objects to what the proxy runs on: a
//! route merged with its service, its upstream resolved and built, and the
//! router's view of it.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use super::matching::Matching;
use super::plugins::{plugins_of, PluginSets};
use super::split::{self, SplitConf, SplitUpstreams};
use super::{IdMap, RouteRt};
use crate::config::{Id, Kind, Object, ObjectError, RouteConf, ServiceConf, UpstreamConf};
use crate::source::{Change, Item};
use crate::tls::{SniIndex, SslRt};
use crate::upstream::{Timeouts, UpstreamRegistry, UpstreamRt};

/// The last good version of every object, and the upstreams built from them.
#[derive(Debug, Default)]
pub struct ObjectStore {
    /// Boxed: a map node then holds 11 pointers, not 11 whole routes.
    routes: BTreeMap<Id, Box<StoredRoute>>,
    services: BTreeMap<Id, ServiceConf>,
    upstreams: BTreeMap<Id, UpstreamConf>,
    /// Plugin config ids, to check the routes' `plugin_config_id`s (their
    /// plugins live in `plugins`).
    plugin_configs: BTreeSet<Id>,
    /// Built upstreams by upstream id (shared by routes: one balancer each).
    upstream_rt: IdMap<Id, Arc<UpstreamRt>>,
    /// Built inline upstreams of services, by service id.
    service_rt: IdMap<Id, Arc<UpstreamRt>>,
    /// Built inline upstreams of routes, by route id (their configuration
    /// is dropped from `routes` once built).
    route_rt: IdMap<Id, Arc<UpstreamRt>>,
    /// The inline upstreams of routes that name a client certificate
    /// (`tls.client_cert_id`), kept to be rebuilt when it changes.
    route_cert_users: BTreeMap<Id, UpstreamConf>,
    /// What the traffic-split configs of routes, services and
    /// plugin_configs name (inline upstreams built), by object.
    split: IdMap<(Kind, Id), SplitConf>,
    /// Who refers to whom, so that a change finds the routes it affects
    /// without a scan.
    refs: References,
    /// Plugin instances of every object; routes' chains are built from them.
    pub(super) plugins: PluginSets,
    /// What built upstreams share across rebuilds (node lists, health checks).
    pub(super) upstream_registry: UpstreamRegistry,
    /// `ssls` objects ready to serve, by id.
    ssls: BTreeMap<Id, Arc<SslRt>>,
    /// Their index by server name, rebuilt when one of them changes.
    sni: Arc<SniIndex>,
}

impl ObjectStore {
    /// The SNI index of the `ssls` objects held now (shared until one changes).
    pub fn sni_index(&self) -> Arc<SniIndex> {
        self.sni.clone()
    }

    fn ssls_changed(&mut self) {
        self.sni = Arc::new(SniIndex::build(self.ssls.values()));
        crate::tls::expiry::publish(self.sni.clone());
    }

    /// Rebuilds the upstreams whose `tls.client_cert_id` is `ssl`: stored
    /// ones, services' and routes' inline ones (the ones that fail keep
    /// their last good build, logged).
    fn rebuild_client_cert_users(&mut self, ssl: &Id) {
        let names = |u: &UpstreamConf| cert_id(u) == Some(ssl);
        let mut users: Vec<(Kind, Id, UpstreamConf)> = Vec::new();
        for (id, u) in self.upstreams.iter().filter(|(_, u)| names(u)) {
            users.push((Kind::Upstream, id.clone(), u.clone()));
        }
        for (id, s) in &self.services {
            if let Some(u) = s.upstream.as_ref().filter(|u| names(u)) {
                users.push((Kind::Service, id.clone(), (**u).clone()));
            }
        }
        for (id, u) in self.route_cert_users.iter().filter(|(_, u)| names(u)) {
            users.push((Kind::Route, id.clone(), u.clone()));
        }
        for (kind, id, u) in users {
            let name = match kind {
                Kind::Upstream => format!("upstream {id}"),
                _ => format!("{kind} {id} (inline)"),
            };
            let rt = match build_upstream(&u, name, &mut self.upstream_registry, &self.sni) {
                Ok(rt) => rt,
                Err((field, reason)) => {
                    tracing::error!(kind = %kind, id = %id, field, reason,
                        "upstream not rebuilt for its client certificate; its last good build stays");
                    continue;
                }
            };
            let built = match kind {
                Kind::Upstream => &mut self.upstream_rt,
                Kind::Service => &mut self.service_rt,
                _ => &mut self.route_rt,
            };
            built.insert(id, rt);
        }
    }

    /// Route ids using an upstream whose `tls.client_cert_id` is `ssl`
    /// (stored, or inline in their service or in themselves).
    fn client_cert_routes(&self, ssl: &Id) -> BTreeSet<Id> {
        let mut routes = BTreeSet::new();
        for (uid, u) in &self.upstreams {
            if cert_id(u) == Some(ssl) {
                routes.extend(self.affected(Kind::Upstream, uid));
            }
        }
        for (sid, s) in &self.services {
            if s.upstream.as_deref().and_then(cert_id) == Some(ssl) {
                routes.extend(self.refs.routes_of(Kind::Service, sid));
            }
        }
        for (rid, u) in &self.route_cert_users {
            if cert_id(u) == Some(ssl) {
                routes.insert(rid.clone());
            }
        }
        routes
    }

    /// Ids of every route the store holds.
    pub fn route_ids(&self) -> impl Iterator<Item = &Id> {
        self.routes.keys()
    }

    /// Replaces everything with `items`; returns the objects refused
    /// (an upstream whose nodes cannot be dialled, ...).
    pub fn replace(&mut self, items: Vec<Item>) -> Vec<ObjectError> {
        let mut plugins = std::mem::take(&mut self.plugins);
        plugins.clear();
        *self = ObjectStore {
            plugins,
            upstream_registry: std::mem::take(&mut self.upstream_registry),
            ..ObjectStore::default()
        };
        let mut errors = Vec::new();
        let mut items = items;
        items.sort_by_key(|i| i.kind().apply_rank());
        for item in items {
            if let Err(e) = self.put(item) {
                errors.push(e);
            }
        }
        self.ssls_changed();
        errors
    }

    /// Applies one change; returns the route ids it may affect.
    pub fn apply(&mut self, change: Change) -> Result<BTreeSet<Id>, ObjectError> {
        match change {
            Change::Put(item) => {
                let (kind, id) = (item.kind(), item.id.clone());
                self.put(item)?;
                Ok(self.affected(kind, &id))
            }
            Change::Delete { kind, id } => {
                let affected = self.affected(kind, &id);
                match kind {
                    Kind::Route => {
                        if let Some(old) = self.routes.remove(&id) {
                            self.refs.route(&id, Some(&old), None);
                        }
                        self.route_rt.remove(&id);
                        self.route_cert_users.remove(&id);
                    }
                    Kind::Service => {
                        if let Some(old) = self.services.remove(&id) {
                            self.refs.service(&id, old.upstream_id.as_ref(), None);
                        }
                        self.service_rt.remove(&id);
                    }
                    Kind::Upstream => {
                        self.upstreams.remove(&id);
                        self.upstream_rt.remove(&id);
                    }
                    Kind::PluginConfig => {
                        self.plugin_configs.remove(&id);
                    }
                    Kind::Consumer | Kind::Credential => {
                        self.plugins.publish_key(&id, None);
                    }
                    Kind::PluginMetadata => self.plugins.set_metadata(&id, None),
                    Kind::Ssl => {
                        self.ssls.remove(&id);
                        self.ssls_changed();
                        self.rebuild_client_cert_users(&id);
                    }
                    // The other kinds are only plugins, removed below.
                    _ => {}
                }
                self.plugins.remove(kind, &id);
                self.split.remove(&(kind, id));
                Ok(affected)
            }
        }
    }

    fn put(&mut self, item: Item) -> Result<(), ObjectError> {
        let (id, mut object) = (item.id, item.object);
        // A route's inline upstream is built now, once (a recompile, for a
        // service edit say, keeps its balancer), and its configuration is
        // not kept, unless it names a client certificate.
        let mut cert_user = None;
        let inline = match &mut object {
            Object::Route(r) => r
                .upstream
                .take()
                .map(|u| {
                    let name = format!("route {id} (inline)");
                    let rt = build_upstream(&u, name, &mut self.upstream_registry, &self.sni);
                    if cert_id(&u).is_some() {
                        cert_user = Some(*u);
                    }
                    rt
                })
                .transpose()
                .map_err(|(f, reason)| {
                    ObjectError::plain(Kind::Route, &id.0, format!("upstream.{f}"), reason)
                })?,
            _ => None,
        };
        let kind = object.kind();
        let split = match plugins_of(&object) {
            Some(plugins) => {
                let (registry, sni) = (&mut self.upstream_registry, &self.sni);
                split::build(kind, &id, plugins, |u, name| {
                    build_upstream(u, name, registry, sni)
                })?
            }
            None => None,
        };
        if let Some(plugins) = plugins_of(&object) {
            self.plugins.put(kind, &id, plugins)?;
        }
        match split {
            Some(s) => self.split.insert((kind, id.clone()), s),
            // Most stores have no split at all: no key is made to find none.
            None if self.split.is_empty() => None,
            None => self.split.remove(&(kind, id.clone())),
        };
        match object {
            Object::Consumer(c) => {
                self.plugins.publish_key(&id, Some(&c.plugins));
                self.plugins.set_group(&id, c.group_id.as_ref());
            }
            Object::Credential(c) => {
                self.plugins.publish_key(&id, Some(&c.plugins));
            }
            Object::PluginMetadata(m) => self.plugins.set_metadata(&id, Some(&m.config)),
            Object::Route(r) => {
                match inline {
                    Some(rt) => self.route_rt.insert(id.clone(), rt),
                    None => self.route_rt.remove(&id),
                };
                match cert_user {
                    Some(u) => self.route_cert_users.insert(id.clone(), u),
                    None => self.route_cert_users.remove(&id),
                };
                // Copied into this thread's heap: the decoded original sits
                // among the source's parse garbage, whose pages it would
                // keep resident.
                let new = Box::new(StoredRoute::new(&r));
                let old = self.routes.get(&id).map(|o| &**o);
                self.refs.route(&id, old, Some(&new));
                // The key too: `id` was allocated among that garbage.
                self.routes.insert(Id(id.0.clone()), new);
            }
            Object::Service(s) => {
                match &s.upstream {
                    Some(u) => {
                        let name = format!("service {id} (inline)");
                        let rt = build_upstream(u, name, &mut self.upstream_registry, &self.sni)
                            .map_err(|(f, r)| {
                                ObjectError::new(Kind::Service, &id.0, format!("upstream.{f}"), r)
                            })?;
                        self.service_rt.insert(id.clone(), rt);
                    }
                    None => {
                        self.service_rt.remove(&id);
                    }
                }
                let old = self.services.get(&id).and_then(|o| o.upstream_id.as_ref());
                self.refs.service(&id, old, s.upstream_id.as_ref());
                self.services.insert(id, *s);
            }
            Object::Upstream(u) => {
                let rt = build_upstream(
                    &u,
                    format!("upstream {id}"),
                    &mut self.upstream_registry,
                    &self.sni,
                )
                .map_err(|(f, r)| ObjectError::new(Kind::Upstream, &id.0, f, r))?;
                self.upstream_rt.insert(id.clone(), rt);
                self.upstreams.insert(id, *u);
            }
            Object::PluginConfig(_) => {
                self.plugin_configs.insert(id);
            }
            Object::Ssl(s) => {
                // Checked when decoded; a failure here keeps the last good one.
                let rt =
                    SslRt::build(&s).map_err(|(f, r)| ObjectError::new(Kind::Ssl, &id.0, f, r))?;
                self.ssls.insert(id.clone(), Arc::new(rt));
                self.ssls_changed();
                self.rebuild_client_cert_users(&id);
            }
            // The other kinds are only plugins, built above.
            _ => {}
        }
        Ok(())
    }

    /// Builds new instances of the plugins `names` (a reload upgraded them)
    /// for every object that configures one; returns the objects whose
    /// instances could not be built (they keep the old version's) and the
    /// routes whose chains changed. Global rules' and consumers' chains are
    /// rebuilt with every snapshot.
    pub fn rebuild_plugins(&mut self, names: &[String]) -> (Vec<ObjectError>, BTreeSet<Id>) {
        let mut errors = Vec::new();
        let mut routes = BTreeSet::new();
        for (kind, id) in self.plugins.rebuild(names, &mut errors) {
            routes.extend(self.affected(kind, &id));
        }
        (errors, routes)
    }

    /// Route ids whose compiled form depends on the object `kind`/`id`.
    fn affected(&self, kind: Kind, id: &Id) -> BTreeSet<Id> {
        match kind {
            Kind::Route => BTreeSet::from([id.clone()]),
            Kind::Upstream => {
                let mut ids = self.refs.routes_of(kind, id);
                for service in self.refs.services_of(id) {
                    ids.extend(self.refs.routes_of(Kind::Service, service));
                }
                // Routes whose traffic-split (theirs, their service's or
                // plugin_config's) names the upstream.
                for ((k, oid), s) in &self.split {
                    if s.ids.contains(id) {
                        match k {
                            Kind::Route => {
                                ids.insert(oid.clone());
                            }
                            _ => ids.extend(self.refs.routes_of(*k, oid)),
                        }
                    }
                }
                ids
            }
            Kind::Service | Kind::PluginConfig => self.refs.routes_of(kind, id),
            Kind::Ssl => self.client_cert_routes(id),
            _ => BTreeSet::new(),
        }
    }

    /// The route `id` as it should be served: `Ok(None)` when it is absent
    /// or disabled (`status: 0`), an error when a reference is dangling.
    pub fn compile(&self, id: &Id) -> Result<Option<RouteRt>, ObjectError> {
        let Some(r) = self.routes.get(id) else {
            return Ok(None);
        };
        if r.status == 0 {
            return Ok(None);
        }
        // A dangling reference skips the route, in APISIX's words.
        let err =
            |field: &str, reason: String| ObjectError::plain(Kind::Route, &id.0, field, reason);
        let service = match &r.service_id {
            Some(sid) => Some((
                sid,
                self.services.get(sid).ok_or_else(|| {
                    err(
                        "service_id",
                        format!("failed to fetch service info by service id [{sid}]"),
                    )
                })?,
            )),
            None => None,
        };
        if let Some(pid) = &r.plugin_config_id {
            if !self.plugin_configs.contains(pid) {
                return Err(err(
                    "plugin_config_id",
                    format!("failed to fetch plugin config info by plugin config id [{pid}]"),
                ));
            }
        }
        let by_id = |uid: &Id, field: &str| {
            self.upstream_rt.get(uid).cloned().ok_or_else(|| {
                err(
                    field,
                    format!("failed to fetch upstream info by upstream id [{uid}]"),
                )
            })
        };
        let upstream = if let Some(rt) = self.route_rt.get(id) {
            rt.clone()
        } else if let Some(uid) = &r.upstream_id {
            by_id(uid, "upstream_id")?
        } else {
            match service {
                Some((sid, s)) => match (&s.upstream_id, self.service_rt.get(sid)) {
                    (_, Some(rt)) => rt.clone(),
                    (Some(uid), None) => by_id(uid, "service_id")?,
                    (None, None) => {
                        return Err(err(
                            "upstream",
                            format!("neither the route nor service {sid} has an upstream"),
                        ))
                    }
                },
                None => return Err(err("upstream", "the route has no upstream".into())),
            }
        };
        // The route's own hosts (its stored matching, shared), else its
        // service's (a matching of its own).
        let own = &r.matching;
        let matching = match service.and_then(|(_, s)| s.hosts.as_deref()) {
            Some(hosts) if own.hosts.is_none() => Arc::new(own.with_hosts(hosts)),
            _ => own.clone(),
        };
        let rt = RouteRt {
            split: self.split_upstreams(id, r),
            plugins: self.plugins.route_chain(
                id,
                r.plugin_config_id.as_ref(),
                r.service_id.as_ref(),
            ),
            id: id.0.clone(),
            upstream,
            timeout: r.timeout.clone(),
            websocket: r
                .enable_websocket
                .or(service.and_then(|(_, s)| s.enable_websocket))
                .unwrap_or(false),
            service_id: r.service_id.as_ref().map(|s| s.0.clone()),
            name: r.name.clone(),
            service_name: service.and_then(|(_, s)| s.name.as_deref().map(Arc::from)),
            matching,
        };
        Ok(Some(rt))
    }
}

impl ObjectStore {
    /// The upstreams route `id`'s traffic-split may choose: those of the
    /// config its chain runs (its own, else its plugin_config's, else its
    /// service's); stored ids that do not resolve are left out (the
    /// request answers 502, logged).
    fn split_upstreams(&self, id: &Id, r: &StoredRoute) -> Option<Arc<SplitUpstreams>> {
        let owners = [
            Some((Kind::Route, id)),
            r.plugin_config_id.as_ref().map(|p| (Kind::PluginConfig, p)),
            r.service_id.as_ref().map(|s| (Kind::Service, s)),
        ];
        let conf = owners
            .into_iter()
            .flatten()
            .find_map(|(k, oid)| self.split.get(&(k, oid.clone())))?;
        let mut table = conf.inline.clone();
        for uid in &conf.ids {
            if let Some(rt) = self.upstream_rt.get(uid) {
                table.insert(uid.0.clone(), rt.clone());
            }
        }
        Some(Arc::new(table))
    }
}

/// Who refers to whom: routes by the service, upstream or plugin_config
/// they name, services by the upstream they name.
#[derive(Debug, Default)]
struct References {
    routes: IdMap<(Kind, Id), BTreeSet<Id>>,
    services: IdMap<Id, BTreeSet<Id>>,
}

/// What route `r` names (none for no route).
fn named(r: Option<&StoredRoute>) -> [Option<(Kind, &Id)>; 3] {
    let Some(r) = r else { return [None; 3] };
    [
        r.service_id.as_ref().map(|i| (Kind::Service, i)),
        r.upstream_id.as_ref().map(|i| (Kind::Upstream, i)),
        r.plugin_config_id.as_ref().map(|i| (Kind::PluginConfig, i)),
    ]
}

impl References {
    /// Route `id`'s references change from `old`'s to `new`'s (one it
    /// keeps is left as it is).
    fn route(&mut self, id: &Id, old: Option<&StoredRoute>, new: Option<&StoredRoute>) {
        let (old, new) = (named(old), named(new));
        for (kind, target) in old.iter().flatten() {
            if new.contains(&Some((*kind, target))) {
                continue;
            }
            let key = (*kind, (*target).clone());
            if let Some(users) = self.routes.get_mut(&key) {
                users.remove(id);
                if users.is_empty() {
                    self.routes.remove(&key);
                }
            }
        }
        for (kind, target) in new.iter().flatten() {
            if old.contains(&Some((*kind, target))) {
                continue;
            }
            self.routes
                .entry((*kind, (*target).clone()))
                .or_default()
                .insert(id.clone());
        }
    }

    /// Service `id`'s upstream reference changes from `old` to `new`.
    fn service(&mut self, id: &Id, old: Option<&Id>, new: Option<&Id>) {
        if old == new {
            return;
        }
        if let Some(old) = old {
            if let Some(users) = self.services.get_mut(old) {
                users.remove(id);
                if users.is_empty() {
                    self.services.remove(old);
                }
            }
        }
        if let Some(new) = new {
            self.services
                .entry(new.clone())
                .or_default()
                .insert(id.clone());
        }
    }

    /// The routes naming `kind`/`id`.
    fn routes_of(&self, kind: Kind, id: &Id) -> BTreeSet<Id> {
        self.routes
            .get(&(kind, id.clone()))
            .cloned()
            .unwrap_or_default()
    }

    /// The services naming upstream `id`.
    fn services_of(&self, id: &Id) -> impl Iterator<Item = &Id> {
        self.services.get(id).into_iter().flatten()
    }
}

/// What the store keeps of a route: what compiling it reads. Its inline
/// upstream is built once put, its plugins live in `plugins`; its `name`
/// labels metrics, its `desc` and `labels` play no part in serving.
#[derive(Debug)]
struct StoredRoute {
    /// What the router reads (hosts: its own; `None`: the service's).
    matching: Arc<Matching>,
    status: u8,
    plugin_config_id: Option<Id>,
    upstream_id: Option<Id>,
    service_id: Option<Id>,
    /// Shared with the compiled route; boxed since most routes have none.
    timeout: Option<Arc<Timeouts>>,
    enable_websocket: Option<bool>,
    /// `name` (request variable `route_name`).
    name: Option<Arc<str>>,
}

impl StoredRoute {
    fn new(r: &RouteConf) -> StoredRoute {
        StoredRoute {
            matching: Arc::new(Matching::of(r)),
            status: r.status,
            plugin_config_id: r.plugin_config_id.clone(),
            upstream_id: r.upstream_id.clone(),
            service_id: r.service_id.clone(),
            timeout: r
                .timeout
                .as_ref()
                .and_then(Timeouts::from_conf)
                .map(Arc::new),
            enable_websocket: r.enable_websocket,
            name: r.name.as_deref().map(Arc::from),
        }
    }
}

/// The `ssls` object `u` names in `tls.client_cert_id`.
fn cert_id(u: &UpstreamConf) -> Option<&Id> {
    u.tls.as_ref().and_then(|t| t.client_cert_id.as_ref())
}

/// Builds `u`, its `tls.client_cert_id` resolved to that `type: client`
/// object's certificate and key in `sni`.
fn build_upstream(
    u: &UpstreamConf,
    name: String,
    registry: &mut UpstreamRegistry,
    sni: &SniIndex,
) -> Result<Arc<UpstreamRt>, (String, String)> {
    let id = u.tls.as_ref().and_then(|t| t.client_cert_id.as_ref());
    let Some(id) = id else {
        return UpstreamRt::build(u, name, registry).map(Arc::new);
    };
    let ssl = sni.client(&id.0).ok_or_else(|| {
        (
            "tls.client_cert_id".to_owned(),
            format!("no ssls object [{id}] of type client"),
        )
    })?;
    let mut u = u.clone();
    if let Some(tls) = u.tls.as_mut() {
        tls.client_cert = Some(ssl.pem.0.clone());
        tls.client_key = Some(ssl.pem.1.clone());
    }
    UpstreamRt::build(&u, name, registry).map(Arc::new)
}
