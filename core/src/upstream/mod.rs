//! Upstreams as the proxy runs them: resolved nodes, a balancer, the Host
//! policy and timeouts, built once per change from an [`UpstreamConf`];
//! plus the pooled keep-alive client that forwards requests to nodes.

mod balancer;
mod body;
mod chash;
mod client;
mod conn;
mod ewma;
mod forwarded;
pub(crate) mod h1;
mod h2_client;
mod hash_key;
pub mod health;
mod least_conn;
mod pool;
pub mod retry;
mod select;
mod stats;
mod tls;
pub mod trust;

pub use body::{PooledBody, Upgraded};
pub use client::{FailedTry, ForwardError, ReqBody, UpstreamClient};
pub use forwarded::{Forwarded, FORWARDED};
pub(crate) use pool::Pool;
pub use pool::{PoolKey, PoolLimits};
pub use stats::{Tracked, TryOutcome};
pub(crate) use tls::server_name;
pub use tls::TlsSettings;

/// The client's HTTP/1.1 pieces, for the plugin host's outbound calls:
/// connections and the wire format.
pub(crate) mod wire {
    pub use super::conn::{Connection, Io};
    pub use super::h1::{encode_request, parse_response, Chunked, Framing, ReqFraming};
}

use http::uri::Authority;
use http::HeaderValue;
use radix_router::Vars;
use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::{Arc, Weak};
use std::time::Duration;

use crate::config::{seconds, PassHostMode, Scheme, TimeoutConf, UpstreamConf};

/// One node, ready to be dialled.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct Node {
    /// `host:port` (IPv6 in brackets), for the request URI and logs.
    pub authority: Authority,
    /// The `Host` header sent with `pass_host: node` (port left out when
    /// it is the scheme's default).
    pub host_header: HeaderValue,
    /// Which pooled connections can carry its requests.
    pub pool_key: PoolKey,
    /// The TLS server name (SNI) for `https`: the `upstream_host` of
    /// `pass_host: rewrite`, else the node's host.
    pub server_name: Option<rustls::pki_types::ServerName<'static>>,
    /// Share of the traffic.
    pub weight: u32,
    /// Group: the highest group serves.
    pub priority: i32,
}

/// Which `Host` header a node receives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PassHost {
    /// The client's own.
    Pass,
    /// The chosen node's `host[:port]`.
    Node,
    /// A fixed one (`upstream_host`).
    Rewrite(HeaderValue),
}

/// Timeouts towards a node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// To connect.
    pub connect: Duration,
    /// To send the request.
    pub send: Duration,
    /// To receive the response headers.
    pub read: Duration,
}

impl Timeouts {
    /// From a `timeout {connect, send, read}` object (already checked).
    pub fn from_conf(t: &TimeoutConf) -> Option<Timeouts> {
        Some(Timeouts {
            connect: seconds(t.connect)?,
            send: seconds(t.send)?,
            read: seconds(t.read)?,
        })
    }
}

/// A compiled upstream: shared by every route that uses it, so its
/// balancer state is too.
#[derive(Debug)]
pub struct UpstreamRt {
    /// How logs name it (`upstream u1`, `route r1 (inline)`).
    pub name: String,
    /// All nodes, in configuration order (shared with the upstreams
    /// whose nodes are the same: see [`UpstreamRegistry`]).
    pub nodes: Arc<[Node]>,
    /// Picks nodes: priority groups, algorithm, health (`select.rs`).
    balancer: select::Selector,
    /// Which `Host` the node sees.
    pub pass_host: PassHost,
    /// The upstream's own timeouts (a route's win).
    pub timeout: Option<Timeouts>,
    /// How many other nodes a request may try after a failed connect.
    pub retries: u32,
    /// Time budget for all tries; `None`: no limit.
    pub retry_timeout: Option<Duration>,
    /// TLS towards the nodes (`scheme: https`, `grpcs`), else plain.
    pub tls: Option<TlsSettings>,
    /// HTTP/2 towards the nodes (`scheme: grpc`, `grpcs`), else HTTP/1.1.
    pub http2: bool,
    /// `keepalive_pool` limits for each node's connections.
    pub keepalive: PoolLimits,
}

impl UpstreamRt {
    /// Builds from a checked upstream; `name` is how logs call it (and
    /// how `registry` knows its health checks). Errors name the field.
    pub fn build(
        conf: &UpstreamConf,
        name: String,
        registry: &mut UpstreamRegistry,
    ) -> Result<UpstreamRt, (String, String)> {
        let http2 = matches!(conf.scheme, Scheme::Grpc | Scheme::Grpcs);
        let tls = match conf.scheme {
            Scheme::Https => Some(TlsSettings::build(conf.tls.as_ref())?),
            Scheme::Grpcs => Some(TlsSettings::build_h2(conf.tls.as_ref())?),
            _ => None,
        };
        let default_port = if tls.is_some() { 443 } else { 80 };
        let rewrite_host = match conf.pass_host {
            PassHostMode::Rewrite => conf.upstream_host.as_deref(),
            PassHostMode::Pass | PassHostMode::Node => None,
        };
        let mut nodes = Vec::with_capacity(conf.nodes.0.len());
        for (i, n) in conf.nodes.0.iter().enumerate() {
            let port = n.port.unwrap_or(default_port);
            let host = if n.host.contains(':') {
                format!("[{}]", n.host)
            } else {
                n.host.clone()
            };
            let text = format!("{host}:{port}");
            let bad = |_| {
                (
                    format!("nodes[{i}].host"),
                    format!("{text:?} is not a host:port"),
                )
            };
            let authority = Authority::try_from(text.as_str()).map_err(bad)?;
            let sni_host = rewrite_host.map_or(host.as_str(), |h| hash_key_host(h));
            let server_name = tls.as_ref().and_then(|_| tls::server_name(sni_host));
            let pool_key = PoolKey::new(
                tls.is_some(),
                authority.clone(),
                tls.as_ref().map(|_| sni_host.to_owned()),
            );
            let header = if port == default_port {
                host
            } else {
                text.clone()
            };
            let host_header = HeaderValue::try_from(header).map_err(|_| {
                (
                    format!("nodes[{i}].host"),
                    format!("{text:?} is not a host:port"),
                )
            })?;
            nodes.push(Node {
                authority,
                host_header,
                pool_key,
                server_name,
                weight: n.weight,
                priority: n.priority,
            });
        }
        let pass_host = match conf.pass_host {
            PassHostMode::Pass => PassHost::Pass,
            PassHostMode::Node => PassHost::Node,
            PassHostMode::Rewrite => {
                let h = conf.upstream_host.as_deref().unwrap_or_default();
                PassHost::Rewrite(HeaderValue::try_from(h).map_err(|_| {
                    (
                        "upstream_host".to_owned(),
                        format!("{h:?} is not a host name"),
                    )
                })?)
            }
        };
        let checks = conf.checks.as_ref().map(health::parse).transpose()?;
        let infos: Vec<select::NodeInfo> = nodes
            .iter()
            .map(|n| select::NodeInfo {
                name: n.authority.as_str(),
                weight: n.weight,
                priority: n.priority,
            })
            .collect();
        let mut balancer =
            select::Selector::build(conf.balancer, conf.hash_on, conf.key.as_deref(), &infos)?;
        // Last: nothing after it fails, so no prober starts for nothing.
        let health = registry
            .health
            .attach(&name, checks, health::targets(&nodes));
        balancer.set_health(health);
        // APISIX's default: every other node of the serving group once.
        let usable = balancer.serving_len() as u32;
        Ok(UpstreamRt {
            name,
            nodes: registry.node_lists.share(nodes),
            balancer,
            pass_host,
            timeout: conf.timeout.as_ref().and_then(Timeouts::from_conf),
            retries: conf.retries.unwrap_or(usable.saturating_sub(1)),
            retry_timeout: conf.retry_timeout.and_then(seconds),
            tls,
            http2,
            keepalive: PoolLimits::from_conf(conf.keepalive_pool.as_ref()),
        })
    }

    /// The `chash` key of a request, read from its variables; `None` for
    /// balancers that need no key.
    pub fn hash_key(&self, vars: &dyn Vars) -> Option<Vec<u8>> {
        self.balancer.hash_key(vars)
    }

    /// The node for the next request (`key`: its `chash` key), or `None`
    /// when there is none to use.
    #[cfg(test)]
    pub fn pick(&self, key: Option<&[u8]>) -> Option<&Node> {
        self.pick_index(key).and_then(|i| self.nodes.get(i))
    }

    /// The index in `nodes` of the node for the next request.
    pub fn pick_index(&self, key: Option<&[u8]>) -> Option<usize> {
        self.balancer.pick(key)
    }

    /// A node not in `tried`, in the balancer's order, or `None`.
    pub fn pick_other(&self, key: Option<&[u8]>, tried: &[usize]) -> Option<usize> {
        self.balancer.pick_other(key, tried)
    }

    /// Call as a try at node `index` is sent; the guard counts it as in
    /// flight and [`Tracked::done`] reports how it ended (balancer
    /// statistics, passive health checks).
    pub fn track(&self, index: usize) -> Tracked<'_> {
        self.balancer.track(index)
    }
}

/// What the upstreams one snapshot builder makes share across rebuilds:
/// node lists equal between upstreams, kept once, and the health checks
/// running, by upstream name. The builder owns it and lends it to
/// [`UpstreamRt::build`].
#[derive(Debug, Default)]
pub struct UpstreamRegistry {
    node_lists: NodeLists,
    health: health::HealthRegistry,
}

impl UpstreamRegistry {
    /// Called after a published snapshot changed which upstreams its
    /// routes use, with `used` naming them (asked only for upstreams that
    /// have health checks): the health probers of every other upstream
    /// end (see [`health::HealthRegistry::keep_running_if`]).
    pub fn keep_running_if(&mut self, used: impl Fn(&str) -> bool) {
        self.health.keep_running_if(used);
    }
}

/// Node lists by hash; `swept`: how many hashes were left at the last sweep.
#[derive(Debug, Default)]
struct NodeLists {
    by_hash: HashMap<u64, Vec<Weak<[Node]>>>,
    swept: usize,
}

impl NodeLists {
    /// `nodes`, or an equal list that another upstream uses. Node lists
    /// are immutable, so upstreams with the same nodes (10,000 routes on
    /// 100 nodes, say) can share one; balancer, statistics and health stay
    /// per upstream, as APISIX keeps them.
    fn share(&mut self, nodes: Vec<Node>) -> Arc<[Node]> {
        let mut h = DefaultHasher::new();
        nodes.hash(&mut h);
        let key = h.finish();
        if self.by_hash.len() > 2 * self.swept + 64 {
            // Lists no upstream uses any more go (a `Weak` holds their memory).
            self.by_hash.retain(|_, b| {
                b.retain(|w| w.strong_count() > 0);
                !b.is_empty()
            });
            self.swept = self.by_hash.len();
        }
        let bucket = self.by_hash.entry(key).or_default();
        bucket.retain(|w| w.strong_count() > 0);
        if let Some(same) = bucket
            .iter()
            .filter_map(Weak::upgrade)
            .find(|l| **l == *nodes)
        {
            return same;
        }
        let list: Arc<[Node]> = Arc::from(nodes);
        bucket.push(Arc::downgrade(&list));
        list
    }
}

/// The host part of a `host[:port]` header value (IPv6 kept in brackets).
fn hash_key_host(h: &str) -> &str {
    match h.rsplit_once(':') {
        Some((host, port))
            if !port.is_empty()
                && port.bytes().all(|b| b.is_ascii_digit())
                && !host.ends_with(':') =>
        {
            host
        }
        _ => h,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conf(v: serde_json::Value) -> UpstreamConf {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn highest_priority_group_serves() {
        let u = conf(serde_json::json!({"nodes": [
            {"host": "10.0.0.1", "port": 81, "weight": 1, "priority": 0},
            {"host": "10.0.0.2", "weight": 1, "priority": 5}]}));
        let rt = UpstreamRt::build(&u, "t".into(), &mut UpstreamRegistry::default()).unwrap();
        for _ in 0..4 {
            assert_eq!(rt.pick(None).unwrap().authority.as_str(), "10.0.0.2:80");
        }
        assert_eq!(rt.nodes[0].host_header, "10.0.0.1:81");
        assert_eq!(rt.nodes[1].host_header, "10.0.0.2");
    }

    #[test]
    fn equal_node_lists_are_shared_balancers_are_not() {
        let mut registry = UpstreamRegistry::default();
        let a = UpstreamRt::build(
            &conf(serde_json::json!({"nodes": {"10.9.0.1:80": 1}})),
            "a".into(),
            &mut registry,
        )
        .unwrap();
        let b = UpstreamRt::build(
            &conf(serde_json::json!({"nodes": {"10.9.0.1:80": 1}})),
            "b".into(),
            &mut registry,
        )
        .unwrap();
        let c = UpstreamRt::build(
            &conf(serde_json::json!({"nodes": {"10.9.0.1:80": 2}})),
            "c".into(),
            &mut registry,
        )
        .unwrap();
        assert!(Arc::ptr_eq(&a.nodes, &b.nodes));
        assert!(!Arc::ptr_eq(&a.nodes, &c.nodes));
        assert!(!std::ptr::eq(&a.balancer, &b.balancer));
    }

    #[test]
    fn empty_nodes_pick_nothing_and_v6_gets_brackets() {
        let mut registry = UpstreamRegistry::default();
        let rt = UpstreamRt::build(
            &conf(serde_json::json!({"nodes": {}})),
            "t".into(),
            &mut registry,
        )
        .unwrap();
        assert!(rt.pick(None).is_none());
        let rt = UpstreamRt::build(
            &conf(serde_json::json!({"nodes": {"[::1]:8080": 1}})),
            "t".into(),
            &mut registry,
        )
        .unwrap();
        assert_eq!(rt.pick(None).unwrap().authority.as_str(), "[::1]:8080");
    }
}
