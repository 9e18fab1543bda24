//! Snapshots: everything a request needs, compiled once per change and
//! swapped in atomically. A request loads the current snapshot once
//! (`arc-swap`), matches, takes the route it needs and lets go; requests in
//! flight finish on the route they matched.

mod auth_keys;
mod builder;
mod compile;
mod matching;
mod plugins;
pub mod split;

#[cfg(test)]
mod tests;

pub use builder::{Live, SnapshotBuilder};
#[cfg(test)]
use compile::ObjectStore;
pub use plugins::{plugins_of, ConsumerChains, ConsumerGroups};

/// A hash map keyed by object ids, for the builder's and the store's own
/// maps: foldhash (seeded per process) rather than SipHash, which took a
/// sixth of a full load's build. The ids come from the Admin API and etcd,
/// both trusted writers.
type IdMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;

use std::sync::Arc;

use radix_router::{CowVec, MatchedHost, Options, Request, Router, Vars};

use crate::plugin_host::Chain;
use crate::tls::SniIndex;
use crate::upstream::{Timeouts, UpstreamRt};

/// A route as the proxy runs it: merged with its service, upstream built.
#[derive(Debug)]
pub struct RouteRt {
    /// The route's id.
    pub id: String,
    /// Where it forwards (shared with other routes on the same upstream).
    pub upstream: Arc<UpstreamRt>,
    /// The route's own timeouts (win over the upstream's); shared with the
    /// stored route (most routes have none: a pointer, not three durations).
    pub timeout: Option<Arc<Timeouts>>,
    /// WebSocket upgrades pass (`enable_websocket`, route's else service's).
    pub websocket: bool,
    /// The route's service, if any (request variable `service_id`).
    pub service_id: Option<String>,
    /// The route's `name` (request variable `route_name`).
    pub name: Option<Arc<str>>,
    /// Its service's `name` (request variable `service_name`).
    pub service_name: Option<Arc<str>>,
    /// Its path and host patterns as written (hosts: its own, else its
    /// service's) and its other conditions; shared with the stored route.
    pub matching: Arc<matching::Matching>,
    /// The merged plugin chain (route > plugin_config > service); `None`
    /// when the route runs no plugin.
    pub plugins: Option<Arc<Chain>>,
    /// The upstreams its traffic-split may choose, by the name the plugin
    /// gives them; `None` when its chain has no traffic-split.
    pub split: Option<Arc<split::SplitUpstreams>>,
}

/// Which patterns of a route admitted a request (APISIX's `_path` and
/// `_host`: request variables `matched_uri`, `matched_host`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Matched {
    /// Index in [`RouteRt::paths`].
    pub path: Option<u32>,
    /// Index in [`RouteRt::hosts`]; `None` for a route without hosts.
    pub host: Option<u32>,
}

impl RouteRt {
    /// The path pattern `m` names (empty when none).
    pub fn matched_uri(&self, m: Matched) -> &str {
        m.path
            .and_then(|i| self.matching.paths.get(i as usize))
            .map_or("", String::as_str)
    }

    /// The host pattern `m` names (empty when none).
    pub fn matched_host(&self, m: Matched) -> &str {
        m.host
            .and_then(|i| self.matching.hosts.as_deref()?.get(i as usize))
            .map_or("", String::as_str)
    }

    /// The timeouts that apply: the route's, else the upstream's.
    pub fn timeouts(&self) -> Option<Timeouts> {
        self.timeout.as_deref().copied().or(self.upstream.timeout)
    }

    /// Every upstream the route may send to: its own, then its
    /// traffic-split's.
    pub fn upstreams(&self) -> impl Iterator<Item = &Arc<UpstreamRt>> {
        let split = self.split.iter().flat_map(|s| s.values());
        std::iter::once(&self.upstream).chain(split)
    }
}

/// An immutable, ready-to-serve configuration. A clone shares its router
/// and routes until it changes them (the builder's working copy).
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// Route indexes by path, host, method, client address and vars.
    router: Router<u32>,
    /// Compiled routes by index (`None`: a free slot).
    routes: CowVec<Option<Arc<RouteRt>>>,
    /// Counts publications, for logs.
    pub version: u64,
    /// The global rules' plugins, run for every request; `None` when none.
    pub global: Option<Arc<Chain>>,
    /// Consumers' plugin chains, merged into a route's once auth names the
    /// consumer; `None` when no consumer has plugins.
    pub consumers: Option<Arc<ConsumerChains>>,
    /// Each consumer's group, by username (request variable
    /// `consumer_group_id` once auth names the consumer); `None` when no
    /// consumer has a group.
    pub consumer_groups: Option<Arc<ConsumerGroups>>,
    /// Certificates by server name (and client certificates by id),
    /// read by each TLS handshake.
    pub tls: Arc<SniIndex>,
}

impl Default for Snapshot {
    fn default() -> Self {
        Snapshot::empty()
    }
}

impl Snapshot {
    /// A snapshot with no routes: every request gets 404.
    pub fn empty() -> Self {
        Snapshot {
            router: Router::new(Options::default()),
            routes: CowVec::new(),
            version: 0,
            global: None,
            consumers: None,
            consumer_groups: None,
            tls: Arc::default(),
        }
    }

    /// Number of routes served.
    pub fn len(&self) -> usize {
        self.router.len()
    }

    /// The route for `req`, reading `vars` only for routes that have
    /// `vars` conditions.
    #[cfg(test)]
    pub fn find(&self, req: &Request<'_>, vars: &dyn Vars) -> Option<Arc<RouteRt>> {
        let m = self.router.find_with(req, vars, &mut |_| true)?;
        self.routes.get(*m.value as usize)?.clone()
    }

    /// The route for `req` (whose host is `host`), reading `vars` only for
    /// routes that have `vars` conditions,
    /// with which of its path and host patterns matched.
    pub fn find_matched(
        &self,
        req: &Request<'_>,
        vars: &dyn Vars,
        host: &[u8],
    ) -> Option<(Arc<RouteRt>, Matched)> {
        let m = self.router.find_with(req, vars, &mut |_| true)?;
        let rt = self.routes.get(*m.value as usize)?.clone()?;
        let path = rt.matching.paths.iter().position(|p| p == m.pattern);
        let hosts = rt.matching.hosts.as_deref().unwrap_or_default();
        let host = match m.host {
            MatchedHost::Unrestricted => None,
            MatchedHost::Request => hosts
                .iter()
                .position(|h| h.as_bytes().eq_ignore_ascii_case(host)),
            MatchedHost::Wildcard(suffix) => hosts.iter().position(|h| {
                h.strip_prefix('*')
                    .is_some_and(|s| s.as_bytes().eq_ignore_ascii_case(suffix))
            }),
        };
        let at = |i: Option<usize>| i.and_then(|i| u32::try_from(i).ok());
        let matched = Matched {
            path: at(path),
            host: at(host),
        };
        Some((rt, matched))
    }
}
