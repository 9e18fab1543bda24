//! Health checks (`checks` of an upstream), as APISIX runs them: active
//! probes (http or tcp) from a prober per node, and passive counting of
//! real requests' outcomes. Both feed one [`NodeHealth`] per node that the
//! balancer reads on every pick.
//!
//! Lifecycle: a [`HealthSet`] is attached when an upstream is built. An
//! upstream rebuilt under the same name with the same checks and nodes
//! (a route edit recompiling its inline upstream, say) keeps the running
//! set and its state; one rebuilt with other checks or nodes stops the old
//! probers and starts new ones. Probers also stop once no snapshot holds
//! the set any more (a deleted upstream: at the latest when the builder
//! lets go of the snapshot it replaced, at the next change).

mod active;
mod conf;
mod state;

pub use conf::{parse, ChecksConf};
pub use state::{Event, NodeHealth, Thresholds};

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock, Weak};

use super::stats::Outcome;

/// Where the active prober of one node connects, and the `Host` it sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// `host:port` as the node is named (IPv6 in brackets).
    pub authority: String,
    /// The node's port.
    pub port: u16,
}

/// The health of an upstream's nodes (by node index) and its checks.
#[derive(Debug)]
pub struct HealthSet {
    name: String,
    nodes: Vec<NodeHealth>,
    targets: Vec<Target>,
    conf: ChecksConf,
    passive: Option<(Thresholds, String)>,
    stopped: AtomicBool,
}

impl HealthSet {
    /// Whether node `i` may get traffic (unknown indexes: yes).
    pub fn is_healthy(&self, i: usize) -> bool {
        self.nodes.get(i).is_none_or(NodeHealth::is_healthy)
    }

    /// Counts the outcome of a real request to node `i` (passive checks;
    /// nothing when the upstream has none).
    pub fn report(&self, i: usize, outcome: Outcome) {
        let Some((limits, kind)) = &self.passive else {
            return;
        };
        let Some(p) = &self.conf.passive else {
            return;
        };
        let event = match outcome {
            Outcome::Status(_) if kind == "tcp" => Event::Success,
            Outcome::Status(s) if p.unhealthy.http_statuses.contains(&s) => Event::HttpFailure,
            Outcome::Status(s) if p.healthy.http_statuses.contains(&s) => Event::Success,
            Outcome::Status(_) => return,
            Outcome::ConnectFailed | Outcome::Failed => Event::TcpFailure,
            Outcome::Timeout => Event::Timeout,
        };
        self.record(i, event, limits, "passive");
    }

    /// Counts one event for node `i` and logs a change of state.
    fn record(&self, i: usize, event: Event, limits: &Thresholds, by: &str) {
        let Some(node) = self.nodes.get(i) else {
            return;
        };
        if let Some(up) = node.record(event, limits) {
            let authority = self.targets.get(i).map_or("", |t| t.authority.as_str());
            if up {
                tracing::warn!(upstream = %self.name, node = %authority, check = by, event = ?event,
                    "node is healthy again");
            } else {
                tracing::warn!(upstream = %self.name, node = %authority, check = by, event = ?event,
                    "node is unhealthy: it gets no traffic");
            }
        }
    }

    /// Stops the probers (they end at their next wake-up).
    fn stop(&self) {
        self.stopped.store(true, Ordering::Relaxed);
    }

    fn is_stopped(&self) -> bool {
        self.stopped.load(Ordering::Relaxed)
    }

    /// A set of `n` healthy nodes with no probers, whose state tests set.
    #[cfg(test)]
    pub(crate) fn detached(n: usize) -> Arc<HealthSet> {
        Arc::new(HealthSet {
            name: "test".into(),
            nodes: (0..n).map(|_| NodeHealth::default()).collect(),
            targets: Vec::new(),
            conf: ChecksConf {
                active: None,
                passive: None,
            },
            passive: None,
            stopped: AtomicBool::new(true),
        })
    }

    /// Makes node `i` healthy or not (tests).
    #[cfg(test)]
    pub(crate) fn set(&self, i: usize, healthy: bool) {
        let limits = Thresholds {
            successes: 1,
            http_failures: 1,
            tcp_failures: 1,
            timeouts: 1,
        };
        let e = if healthy {
            Event::Success
        } else {
            Event::TcpFailure
        };
        self.record(i, e, &limits, "test");
    }
}

/// The probe targets of an upstream's nodes, by node index.
pub fn targets(nodes: &[super::Node]) -> Vec<Target> {
    nodes
        .iter()
        .map(|n| Target {
            authority: n.authority.as_str().to_owned(),
            port: n.authority.port_u16().unwrap_or(80),
        })
        .collect()
}

/// Running sets by upstream name, to keep or stop them across rebuilds.
fn registry() -> &'static Mutex<HashMap<String, Weak<HealthSet>>> {
    static REG: OnceLock<Mutex<HashMap<String, Weak<HealthSet>>>> = OnceLock::new();
    REG.get_or_init(|| Mutex::new(HashMap::new()))
}

/// The health set of the upstream `name` with `conf` over `targets`: the
/// running one when it has the same checks and nodes, else a new one with
/// its probers started (and the old one's stopped). With `conf` `None`,
/// stops any set that ran under `name` and returns `None`.
pub fn attach(
    name: &str,
    conf: Option<ChecksConf>,
    targets: Vec<Target>,
) -> Option<Arc<HealthSet>> {
    // A poisoned lock only means another build panicked mid-way.
    let mut reg = registry().lock().unwrap_or_else(|p| p.into_inner());
    reg.retain(|_, w| w.strong_count() > 0);
    let old = reg.get(name).and_then(Weak::upgrade);
    let Some(conf) = conf else {
        if let Some(old) = old {
            old.stop();
            reg.remove(name);
        }
        return None;
    };
    if let Some(old) = old {
        if old.conf == conf && old.targets == targets && !old.is_stopped() {
            return Some(old);
        }
        old.stop();
    }
    let passive = conf.passive.as_ref().map(|p| {
        let limits = Thresholds {
            successes: p.healthy.successes,
            http_failures: p.unhealthy.http_failures,
            tcp_failures: p.unhealthy.tcp_failures,
            timeouts: p.unhealthy.timeouts,
        };
        (limits, p.kind.clone())
    });
    let set = Arc::new(HealthSet {
        name: name.to_owned(),
        nodes: targets.iter().map(|_| NodeHealth::default()).collect(),
        targets,
        conf,
        passive,
        stopped: AtomicBool::new(false),
    });
    active::start(&set);
    reg.insert(name.to_owned(), Arc::downgrade(&set));
    Some(set)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn targets(n: u16) -> Vec<Target> {
        (1..=n)
            .map(|p| Target {
                authority: format!("127.0.0.1:{p}"),
                port: p,
            })
            .collect()
    }

    fn checks(v: serde_json::Value) -> Option<ChecksConf> {
        Some(parse(&v).unwrap())
    }

    #[test]
    fn passive_counts_statuses_and_failures() {
        let c = checks(
            json!({"active": {"type": "tcp", "healthy": {"interval": 3600}, "unhealthy": {"interval": 3600}},
            "passive": {"unhealthy": {"http_failures": 2, "tcp_failures": 1}}}),
        );
        let set = attach("health-test passive", c, targets(2)).unwrap();
        set.report(0, Outcome::Status(500));
        assert!(set.is_healthy(0));
        set.report(0, Outcome::Status(500));
        assert!(!set.is_healthy(0));
        set.report(1, Outcome::Status(404));
        set.report(1, Outcome::ConnectFailed);
        assert!(!set.is_healthy(1));
        assert!(set.is_healthy(7));
    }

    #[test]
    fn same_checks_keep_the_set_other_checks_replace_it() {
        let c = || {
            checks(
                json!({"active": {"type": "tcp", "healthy": {"interval": 3600}, "unhealthy": {"interval": 3600}}}),
            )
        };
        let a = attach("health-test keep", c(), targets(2)).unwrap();
        let b = attach("health-test keep", c(), targets(2)).unwrap();
        assert!(Arc::ptr_eq(&a, &b));
        let d = attach("health-test keep", c(), targets(3)).unwrap();
        assert!(!Arc::ptr_eq(&a, &d));
        assert!(a.is_stopped() && !d.is_stopped());
        assert!(attach("health-test keep", None, targets(3)).is_none());
        assert!(d.is_stopped());
    }
}
