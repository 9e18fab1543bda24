//! Health checks (`checks` of an upstream), as APISIX runs them: active
//! probes (http or tcp) from a prober per node, and passive counting of
//! real requests' outcomes. Both feed one [`NodeHealth`] per node that the
//! balancer reads on every pick.
//!
//! Lifecycle: a [`HealthSet`] is attached when an upstream is built. Its
//! probers start with the first request the upstream balances (APISIX
//! also creates its checker on first use). An upstream rebuilt under the
//! same name with the same checks and nodes (a route edit recompiling its
//! inline upstream, say) keeps the set, its probers and its state; one
//! rebuilt with other checks or nodes retires the old set (its probers
//! end) and gets a new one. After each published snapshot the builder
//! calls [`HealthRegistry::keep_running_if`] with the upstreams its routes
//! use: the probers
//! of any other upstream (deleted, or no longer used) end, and start again
//! if it serves again. Probers also end once their set is dropped.

mod active;
mod conf;
mod state;

pub use conf::{parse, CheckType, ChecksConf};
pub use state::{Event, NodeHealth, Thresholds};

use std::collections::HashMap;
#[cfg(test)]
use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};

use super::stats::TryOutcome;

/// Where the active prober of one node connects, and the `Host` it sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeTarget {
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
    targets: Vec<ProbeTarget>,
    conf: ChecksConf,
    passive: Option<(Thresholds, CheckType)>,
    /// Whether probers run (or should: they start on the next pick).
    running: AtomicBool,
    /// Replaced by a newer set: its probers never start again.
    retired: AtomicBool,
    /// Used by a route of the live snapshot (set by
    /// [`HealthRegistry::keep_running_if`]);
    /// probers start and run only while it is.
    live: AtomicBool,
    /// Counts prober starts; a prober of an older start ends.
    generation: AtomicU64,
}

impl HealthSet {
    /// Whether node `i` may get traffic (unknown indexes: yes).
    pub fn is_healthy(&self, i: usize) -> bool {
        self.nodes.get(i).is_none_or(NodeHealth::is_healthy)
    }

    /// Counts the outcome of a real request to node `i` (passive checks;
    /// nothing when the upstream has none).
    pub fn report(&self, i: usize, outcome: TryOutcome) {
        let Some((limits, check_type)) = &self.passive else {
            return;
        };
        let Some(p) = &self.conf.passive else {
            return;
        };
        let event = match outcome {
            TryOutcome::Status(_) if *check_type == CheckType::Tcp => Event::Success,
            TryOutcome::Status(s) if p.unhealthy.http_statuses.contains(&s) => Event::HttpFailure,
            TryOutcome::Status(s) if p.healthy.http_statuses.contains(&s) => Event::Success,
            TryOutcome::Status(_) => return,
            TryOutcome::ConnectFailed | TryOutcome::Failed => Event::TcpFailure,
            TryOutcome::Timeout => Event::Timeout,
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

    /// Starts the active probers unless they run already (or the set is
    /// retired, or has no active checks). Called on every pick: one
    /// atomic load when they run.
    pub fn wake(self: &Arc<Self>) {
        if self.running.load(Ordering::Relaxed)
            || self.retired.load(Ordering::Relaxed)
            || !self.live.load(Ordering::Relaxed)
            || self.conf.active.is_none()
        {
            return;
        }
        if self
            .running
            .compare_exchange(false, true, Ordering::AcqRel, Ordering::Relaxed)
            .is_ok()
        {
            let generation = self.generation.fetch_add(1, Ordering::AcqRel) + 1;
            active::start(self, generation);
        }
    }

    /// Ends the probers (at their next wake-up); `retire`: for good.
    fn stop(&self, retire: bool) {
        if retire {
            self.retired.store(true, Ordering::Relaxed);
        }
        self.running.store(false, Ordering::Relaxed);
    }

    /// Whether a prober started as `generation` should go on.
    fn current(&self, generation: u64) -> bool {
        self.running.load(Ordering::Relaxed)
            && self.live.load(Ordering::Relaxed)
            && !self.retired.load(Ordering::Relaxed)
            && self.generation.load(Ordering::Relaxed) == generation
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
            running: AtomicBool::new(false),
            retired: AtomicBool::new(true),
            live: AtomicBool::new(false),
            generation: AtomicU64::new(0),
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
pub fn targets(nodes: &[super::Node]) -> Vec<ProbeTarget> {
    nodes
        .iter()
        .map(|n| ProbeTarget {
            authority: n.authority.as_str().to_owned(),
            port: n.authority.port_u16().unwrap_or(80),
        })
        .collect()
}

/// The health sets running, by upstream name, so that a rebuilt upstream
/// keeps its set or retires it, and unused upstreams' probers end. One per
/// snapshot builder (in its `upstream::UpstreamRegistry`).
#[derive(Debug, Default)]
pub struct HealthRegistry {
    sets: HashMap<String, Weak<HealthSet>>,
}

impl HealthRegistry {
    /// The health set of the upstream `name` with `conf` over `targets`:
    /// the current one when it has the same checks and nodes, else a new
    /// one (and the old one retired). With `conf` `None`, retires any set
    /// that ran under `name` and returns `None`.
    pub fn attach(
        &mut self,
        name: &str,
        conf: Option<ChecksConf>,
        targets: Vec<ProbeTarget>,
    ) -> Option<Arc<HealthSet>> {
        self.sets.retain(|_, w| w.strong_count() > 0);
        let old = self.sets.get(name).and_then(Weak::upgrade);
        let Some(conf) = conf else {
            if let Some(old) = old {
                old.stop(true);
                self.sets.remove(name);
            }
            return None;
        };
        if let Some(old) = old {
            if old.conf == conf && old.targets == targets && !old.retired.load(Ordering::Relaxed) {
                return Some(old);
            }
            old.stop(true);
        }
        let set = new_set(name, conf, targets);
        self.sets.insert(name.to_owned(), Arc::downgrade(&set));
        Some(set)
    }

    /// [`HealthRegistry::keep_running_if`] with the names of the upstreams in use.
    #[cfg(test)]
    pub fn keep_running<'a>(&mut self, names: impl IntoIterator<Item = &'a str>) {
        let live: HashSet<&str> = names.into_iter().collect();
        self.keep_running_if(|name| live.contains(name));
    }

    /// Called after a published snapshot changed which upstreams its
    /// routes use, with `used` naming them: those may start probers (on
    /// their next pick); the probers of every other upstream end, and a
    /// pick on a snapshot that is no longer live does not start them
    /// again. `used` is asked once for each upstream with health checks.
    pub fn keep_running_if(&mut self, used: impl Fn(&str) -> bool) {
        self.sets.retain(|name, w| match w.upgrade() {
            Some(set) => {
                if used(name.as_str()) {
                    if !set.live.swap(true, Ordering::AcqRel) {
                        // Probers a stale pick may have left marked as
                        // running have ended: the next pick starts anew.
                        set.running.store(false, Ordering::Release);
                    }
                } else {
                    set.live.store(false, Ordering::Release);
                    set.stop(false);
                }
                true
            }
            None => false,
        });
    }
}

/// Every health set made, for [`statuses`].
static SETS: Mutex<SetList> = Mutex::new(SetList {
    sets: Vec::new(),
    shed_at: SHED_FIRST,
});

/// Length at which the list first sheds its dead entries.
const SHED_FIRST: usize = 64;

/// The health sets made, dead ones among them until the next shed: the
/// list sheds them once it has doubled since the last shed, so making a
/// set costs O(1) amortised, not a scan of every set.
struct SetList {
    sets: Vec<Weak<HealthSet>>,
    shed_at: usize,
}

impl SetList {
    fn push(&mut self, set: &Arc<HealthSet>) {
        self.sets.push(Arc::downgrade(set));
        if self.sets.len() >= self.shed_at {
            self.sets.retain(|w| w.strong_count() > 0);
            self.shed_at = (self.sets.len() * 2).max(SHED_FIRST);
        }
    }
}

/// One checked node's health (APISIX's `upstream_status`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeStatus {
    /// The upstream's name as its health set knows it.
    pub upstream: String,
    /// The node's host (IP or name, IPv6 without brackets).
    pub host: String,
    /// The node's port.
    pub port: u16,
    /// Whether it gets traffic.
    pub healthy: bool,
}

/// The health of every node of the upstreams that the live snapshot uses
/// and that have checks; for the metrics exporter.
pub fn statuses() -> Vec<NodeStatus> {
    let list = SETS.lock().unwrap_or_else(|e| e.into_inner());
    let mut out = Vec::new();
    for set in list.sets.iter().filter_map(Weak::upgrade) {
        if set.retired.load(Ordering::Acquire) || !set.live.load(Ordering::Acquire) {
            continue;
        }
        for (i, t) in set.targets.iter().enumerate() {
            let host = match t.authority.rsplit_once(':') {
                Some((h, p)) if p.parse::<u16>().is_ok() => h,
                _ => t.authority.as_str(),
            };
            out.push(NodeStatus {
                upstream: set.name.clone(),
                host: host
                    .trim_start_matches('[')
                    .trim_end_matches(']')
                    .to_owned(),
                port: t.port,
                healthy: set.is_healthy(i),
            });
        }
    }
    out
}

/// A set of healthy nodes, not live (no probers) yet.
fn new_set(name: &str, conf: ChecksConf, targets: Vec<ProbeTarget>) -> Arc<HealthSet> {
    let set = build_set(name, conf, targets);
    SETS.lock().unwrap_or_else(|e| e.into_inner()).push(&set);
    set
}

fn build_set(name: &str, conf: ChecksConf, targets: Vec<ProbeTarget>) -> Arc<HealthSet> {
    let passive = conf.passive.as_ref().map(|p| {
        let limits = Thresholds {
            successes: p.healthy.successes,
            http_failures: p.unhealthy.http_failures,
            tcp_failures: p.unhealthy.tcp_failures,
            timeouts: p.unhealthy.timeouts,
        };
        (limits, p.check_type)
    });
    Arc::new(HealthSet {
        name: name.to_owned(),
        nodes: targets.iter().map(|_| NodeHealth::default()).collect(),
        targets,
        conf,
        passive,
        running: AtomicBool::new(false),
        retired: AtomicBool::new(false),
        live: AtomicBool::new(false),
        generation: AtomicU64::new(0),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn targets(n: u16) -> Vec<ProbeTarget> {
        (1..=n)
            .map(|p| ProbeTarget {
                authority: format!("127.0.0.1:{p}"),
                port: p,
            })
            .collect()
    }

    fn checks(v: serde_json::Value) -> Option<ChecksConf> {
        Some(parse(&v).unwrap())
    }

    #[test]
    fn the_set_list_sheds_dead_sets_and_stays_bounded() {
        let conf = || {
            checks(
                json!({"active": {"type": "tcp", "healthy": {"interval": 3600},
                "unhealthy": {"interval": 3600}}}),
            )
        };
        let mut list = SetList {
            sets: Vec::new(),
            shed_at: SHED_FIRST,
        };
        let kept: Vec<Arc<HealthSet>> = (0..10)
            .map(|i| build_set(&format!("kept{i}"), conf().unwrap(), targets(1)))
            .collect();
        for set in &kept {
            list.push(set);
        }
        for i in 0..10_000 {
            let gone = build_set(&format!("gone{i}"), conf().unwrap(), targets(1));
            list.push(&gone);
        }
        assert!(
            list.sets.len() <= SHED_FIRST,
            "{} entries kept for 10 live sets",
            list.sets.len()
        );
        let live = list.sets.iter().filter(|w| w.strong_count() > 0).count();
        assert_eq!(live, kept.len());
    }

    #[test]
    fn passive_counts_statuses_and_failures() {
        let c = checks(
            json!({"active": {"type": "tcp", "healthy": {"interval": 3600}, "unhealthy": {"interval": 3600}},
            "passive": {"unhealthy": {"http_failures": 2, "tcp_failures": 1}}}),
        );
        let set = HealthRegistry::default()
            .attach("passive", c, targets(2))
            .unwrap();
        set.report(0, TryOutcome::Status(500));
        assert!(set.is_healthy(0));
        set.report(0, TryOutcome::Status(500));
        assert!(!set.is_healthy(0));
        set.report(1, TryOutcome::Status(404));
        set.report(1, TryOutcome::ConnectFailed);
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
        let mut reg = HealthRegistry::default();
        let a = reg.attach("keep", c(), targets(2)).unwrap();
        let b = reg.attach("keep", c(), targets(2)).unwrap();
        assert!(Arc::ptr_eq(&a, &b));
        let d = reg.attach("keep", c(), targets(3)).unwrap();
        assert!(!Arc::ptr_eq(&a, &d));
        assert!(a.retired.load(Ordering::Relaxed) && !d.retired.load(Ordering::Relaxed));
        assert!(reg.attach("keep", None, targets(3)).is_none());
        assert!(d.retired.load(Ordering::Relaxed));
    }

    #[test]
    fn probers_run_only_while_a_live_snapshot_uses_the_set() {
        let conf = checks(json!({"active": {"type": "tcp", "healthy": {"interval": 3600}}}));
        let mut reg = HealthRegistry::default();
        let set = reg.attach("s", conf, targets(1)).unwrap();
        set.wake();
        assert!(!set.current(1), "not started before a snapshot uses it");
        reg.keep_running(["s"]);
        set.wake();
        assert!(set.current(1));
        reg.keep_running(["other"]);
        set.wake();
        assert!(
            !set.current(1) && !set.current(2),
            "a stale pick starts nothing"
        );
        reg.keep_running(["s"]);
        set.wake();
        assert!(set.current(2) && !set.current(1));
        set.stop(true);
        assert!(!set.current(2));
        drop(set);
        reg.keep_running([]);
        assert!(reg.sets.is_empty());
    }
}
