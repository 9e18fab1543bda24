//! What the router reads of a route ([`Matching`]): its paths, hosts,
//! conditions and priority, as the store decoded them.

use std::sync::Arc;

use radix_router::Route;

use crate::config::RouteConf;

/// What the router reads of a route: its patterns, conditions and
/// priority. One copy serves the stored route, the route as served (which
/// keeps the version it compiled from) and the compiled route's labels;
/// the router's own [`Route`] is made from it only to insert it.
#[derive(Debug, PartialEq)]
pub struct Matching {
    /// `uri` or `uris`.
    pub paths: Arc<[String]>,
    /// `host` or `hosts` (in a compiled route: its service's when it has
    /// none of its own).
    pub hosts: Option<Arc<[String]>>,
    /// Methods, client addresses and `vars`; `None` when the route has
    /// none of them (most routes: a pointer, not three empty fields).
    pub conditions: Option<Arc<Conditions>>,
    /// Order among routes with the same path.
    pub priority: i32,
}

/// A route's conditions beside its paths and hosts.
#[derive(Debug, PartialEq)]
pub struct Conditions {
    /// `remote_addr` or `remote_addrs`.
    pub remote_addrs: Box<[String]>,
    /// Method names; empty: any.
    pub methods: Box<[String]>,
    /// A `vars` expression (JSON `null` counts as none).
    pub vars: Option<serde_json::Value>,
}

impl Matching {
    /// The matching of route `r`.
    pub fn of(r: &RouteConf) -> Matching {
        let paths = r.uri.iter().chain(r.uris.iter().flatten()).cloned();
        Matching {
            paths: paths.collect(),
            hosts: match (&r.host, &r.hosts) {
                (Some(h), _) => Some(Arc::from([h.clone()])),
                (None, h) => h.as_deref().map(Arc::from),
            },
            conditions: Conditions::of(r).map(Arc::new),
            priority: r.priority,
        }
    }

    /// This matching with `hosts` (a service's, for a route without its
    /// own), the rest shared.
    pub fn with_hosts(&self, hosts: &[String]) -> Matching {
        Matching {
            paths: self.paths.clone(),
            hosts: Some(Arc::from(hosts)),
            conditions: self.conditions.clone(),
            priority: self.priority,
        }
    }

    /// The router's route `id` for these conditions, valued `index`.
    pub fn route(&self, id: &str, index: u32) -> Route<u32> {
        let mut route = Route::new(id, index).priority(self.priority);
        route.paths = self.paths.to_vec();
        route.hosts = self
            .hosts
            .as_deref()
            .map(<[String]>::to_vec)
            .unwrap_or_default();
        if let Some(c) = &self.conditions {
            route.methods = c.methods.to_vec();
            route.remote_addrs = c.remote_addrs.to_vec();
            route.vars = c.vars.clone();
        }
        route
    }
}

impl Conditions {
    /// The conditions of `r`, or `None` when it has none.
    fn of(r: &RouteConf) -> Option<Conditions> {
        let c = Conditions {
            remote_addrs: match (&r.remote_addr, &r.remote_addrs) {
                (Some(a), _) => Box::from([a.clone()]),
                (None, a) => a.as_deref().map(Box::from).unwrap_or_default(),
            },
            methods: r.methods.as_deref().map(Box::from).unwrap_or_default(),
            vars: r.vars.clone().filter(|v| !v.is_null()),
        };
        let none = c.remote_addrs.is_empty() && c.methods.is_empty() && c.vars.is_none();
        (!none).then_some(c)
    }
}
