//! Node selection for one upstream, built once from its immutable node
//! set: priority groups (highest first), each with the upstream's
//! algorithm (`roundrobin`, `chash`, `least_conn`, `ewma`), filtered by
//! health.
//!
//! Which nodes may serve: the nodes of the highest group that has a
//! healthy node; the lower groups serve only when every node of the higher
//! ones is unhealthy. When no node of any group is healthy, the highest
//! group serves with all its nodes, as APISIX does ("all upstream nodes
//! are unhealthy, use default"): a wrong health verdict then costs errors,
//! not a total outage. Nodes of weight 0 never serve.

use std::sync::atomic::AtomicUsize;
use std::sync::Arc;

use radix_router::Vars;

use super::balancer::RoundRobin;
use super::chash::Ring;
use super::hash_key::{self, KeyPart};
use super::health::HealthSet;
use super::stats::{NodeStats, Tracked};
use super::{ewma, least_conn};
use crate::config::{BalancerType, HashOn};

/// Nodes of one priority, with weight.
#[derive(Debug)]
struct Group {
    /// Node indexes.
    members: Vec<usize>,
    /// Weights by position in `members`.
    weights: Vec<u32>,
    /// Smooth weighted round robin over positions (`roundrobin`).
    rr: Option<RoundRobin>,
    /// Ring over positions (`chash`).
    ring: Option<Ring>,
}

/// Picks nodes for an upstream.
#[derive(Debug)]
pub struct Selector {
    algo: BalancerType,
    groups: Vec<Group>,
    /// Where a `chash` key comes from.
    key: Option<Vec<KeyPart>>,
    /// Per node: in flight and latency (read by `least_conn`, `ewma`).
    stats: Arc<[NodeStats]>,
    /// Node health, when the upstream has `checks`.
    health: Option<Arc<HealthSet>>,
    /// Rotates `least_conn`'s ties.
    turn: AtomicUsize,
}

/// What the selector needs of a node.
pub struct NodeInfo<'a> {
    /// `host:port`, which places `chash` points.
    pub name: &'a str,
    /// Share of traffic; 0 never serves.
    pub weight: u32,
    /// Group; higher serves first.
    pub priority: i32,
}

impl Selector {
    /// A selector with the balancer `algo` (`type`) over `nodes`; `hash_on`
    /// and `key` say where a `chash` key comes from. An error is (field, reason).
    pub fn build(
        algo: BalancerType,
        hash_on: HashOn,
        key: Option<&str>,
        nodes: &[NodeInfo<'_>],
    ) -> Result<Selector, (String, String)> {
        let key = match algo {
            BalancerType::Chash => Some(hash_key::parse(hash_on, key)?),
            _ => None,
        };
        let mut priorities: Vec<i32> = nodes
            .iter()
            .filter(|n| n.weight > 0)
            .map(|n| n.priority)
            .collect();
        priorities.sort_unstable_by(|a, b| b.cmp(a));
        priorities.dedup();
        let groups = priorities
            .into_iter()
            .map(|p| {
                let members: Vec<usize> = (0..nodes.len())
                    .filter(|&i| nodes[i].weight > 0 && nodes[i].priority == p)
                    .collect();
                let weights: Vec<u32> = members.iter().map(|&i| nodes[i].weight).collect();
                let names: Vec<&str> = members.iter().map(|&i| nodes[i].name).collect();
                Group {
                    rr: (algo == BalancerType::RoundRobin).then(|| RoundRobin::new(&weights)),
                    ring: (algo == BalancerType::Chash).then(|| Ring::new(&weights, &names)),
                    members,
                    weights,
                }
            })
            .collect();
        Ok(Selector {
            algo,
            groups,
            key,
            stats: nodes.iter().map(|_| NodeStats::default()).collect(),
            health: None,
            turn: AtomicUsize::new(0),
        })
    }

    /// Makes picks follow `health` (from the upstream's `checks`).
    pub fn set_health(&mut self, health: Option<Arc<HealthSet>>) {
        self.health = health;
    }

    /// Nodes in the group that serves now (see the module doc).
    pub fn serving_len(&self) -> usize {
        self.serving().map_or(0, |(g, _)| g.members.len())
    }

    /// The `chash` key of a request; `None` for other algorithms.
    pub fn hash_key(&self, vars: &dyn Vars) -> Option<Vec<u8>> {
        self.key.as_ref().map(|k| hash_key::read(k, vars))
    }

    /// The node for a request with `key`, or `None` when there is none.
    pub fn pick(&self, key: Option<&[u8]>) -> Option<usize> {
        if let Some(h) = &self.health {
            // Active probers start with the first request (then: one load).
            h.wake();
        }
        let (g, all_down) = self.serving()?;
        self.choose(g, key, false, &|i| all_down || self.healthy(i))
    }

    /// The next node to try after those in `tried`: the serving group's
    /// in the algorithm's order, then healthy nodes of lower groups.
    pub fn pick_other(&self, key: Option<&[u8]>, tried: &[usize]) -> Option<usize> {
        let (first, all_down) = self.serving()?;
        let fresh = |i: usize| !tried.contains(&i);
        if let Some(i) = self.choose(first, key, true, &|i| {
            fresh(i) && (all_down || self.healthy(i))
        }) {
            return Some(i);
        }
        self.groups
            .iter()
            .skip_while(|g| !std::ptr::eq(*g, first))
            .skip(1)
            .find_map(|g| self.choose(g, key, true, &|i| fresh(i) && self.healthy(i)))
    }

    /// Starts tracking a try at node `i` (in flight, latency, passive
    /// health): does nothing for algorithms and checks that need none.
    pub fn track(&self, i: usize) -> Tracked<'_> {
        let stats = match self.algo {
            BalancerType::LeastConn | BalancerType::Ewma => Some((&self.stats, i)),
            BalancerType::RoundRobin | BalancerType::Chash => None,
        };
        Tracked::start(stats, self.health.as_deref().map(|h| (h, i)))
    }

    /// Whether node `i` counts as healthy (always, without checks).
    pub fn healthy(&self, i: usize) -> bool {
        self.health.as_ref().is_none_or(|h| h.is_healthy(i))
    }

    /// The serving group and whether every node is down (then all its
    /// nodes serve).
    fn serving(&self) -> Option<(&Group, bool)> {
        if self.health.is_none() {
            return self.groups.first().map(|g| (g, false));
        }
        self.groups
            .iter()
            .find(|g| g.members.iter().any(|&i| self.healthy(i)))
            .map(|g| (g, false))
            .or_else(|| self.groups.first().map(|g| (g, true)))
    }

    /// The member of `g` the algorithm picks among those `ok` accepts
    /// (`retry`: `ewma` takes the best left instead of drawing two).
    fn choose(
        &self,
        g: &Group,
        key: Option<&[u8]>,
        retry: bool,
        ok: &dyn Fn(usize) -> bool,
    ) -> Option<usize> {
        let node = |pos: usize| g.members.get(pos).copied();
        match self.algo {
            BalancerType::RoundRobin => {
                let rr = g.rr.as_ref()?;
                // A few turns of the schedule, then any accepted member.
                (0..g.members.len() * 2)
                    .filter_map(|_| rr.pick().and_then(node))
                    .find(|&i| ok(i))
                    .or_else(|| g.members.iter().copied().find(|&i| ok(i)))
            }
            BalancerType::Chash => g
                .ring
                .as_ref()?
                .walk(key.unwrap_or_default())
                .filter_map(node)
                .find(|&i| ok(i)),
            BalancerType::LeastConn => {
                least_conn::pick(&g.members, &g.weights, &self.stats, &self.turn, ok)
            }
            BalancerType::Ewma if retry => ewma::best(&g.members, &self.stats, ok),
            BalancerType::Ewma => ewma::pick(&g.members, &self.stats, ok),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NAMES: [&str; 4] = ["10.0.0.1:80", "10.0.0.2:80", "10.0.0.3:80", "10.0.0.4:80"];

    /// A selector over nodes given as (weight, priority), with health.
    fn selector(algo: BalancerType, nodes: &[(u32, i32)]) -> (Selector, Arc<HealthSet>) {
        let infos: Vec<NodeInfo> = nodes
            .iter()
            .enumerate()
            .map(|(i, &(weight, priority))| NodeInfo {
                name: NAMES[i],
                weight,
                priority,
            })
            .collect();
        let mut s = Selector::build(algo, HashOn::Header, Some("x-k"), &infos).unwrap();
        let h = HealthSet::detached(nodes.len());
        s.set_health(Some(h.clone()));
        (s, h)
    }

    fn picks(s: &Selector, n: usize) -> Vec<usize> {
        (0..n).filter_map(|_| s.pick(Some(b"key"))).collect()
    }

    #[test]
    fn lower_groups_serve_only_when_the_higher_are_all_down() {
        for algo in BalancerType::ALL {
            let (s, h) = selector(algo, &[(1, 1), (1, 1), (1, 0), (1, -1)]);
            assert!(picks(&s, 8).iter().all(|&i| i < 2), "{algo:?}");
            h.set(0, false);
            assert!(picks(&s, 8).iter().all(|&i| i == 1), "{algo:?}");
            h.set(1, false);
            assert!(picks(&s, 8).iter().all(|&i| i == 2), "{algo:?}");
            h.set(2, false);
            assert!(picks(&s, 8).iter().all(|&i| i == 3), "{algo:?}");
            // None healthy: the top group serves with all its nodes.
            h.set(3, false);
            assert!(picks(&s, 8).iter().all(|&i| i < 2), "{algo:?}");
            assert_eq!(s.serving_len(), 2);
            h.set(1, true);
            assert!(picks(&s, 8).iter().all(|&i| i == 1), "{algo:?}");
        }
    }

    #[test]
    fn retries_take_other_healthy_nodes_then_lower_groups() {
        for algo in BalancerType::ALL {
            let (s, h) = selector(algo, &[(1, 1), (1, 1), (1, 1), (1, 0)]);
            h.set(2, false);
            let first = s.pick(Some(b"k")).unwrap();
            let second = s.pick_other(Some(b"k"), &[first]).unwrap();
            assert!(first < 2 && second < 2 && first != second, "{algo:?}");
            assert_eq!(s.pick_other(Some(b"k"), &[0, 1]), Some(3), "{algo:?}");
            assert_eq!(s.pick_other(Some(b"k"), &[0, 1, 3]), None, "{algo:?}");
        }
    }

    #[test]
    fn roundrobin_skips_unhealthy_and_keeps_weights() {
        let (s, h) = selector(BalancerType::RoundRobin, &[(1, 0), (2, 0), (3, 0)]);
        h.set(0, false);
        let p = picks(&s, 500);
        let count = |n| p.iter().filter(|&&i| i == n).count();
        assert_eq!(count(0), 0);
        assert!((190..=210).contains(&count(1)), "{}", count(1));
        assert!((290..=310).contains(&count(2)), "{}", count(2));
    }

    #[test]
    fn chash_keys_move_only_off_an_unhealthy_node() {
        let (s, h) = selector(BalancerType::Chash, &[(1, 0), (1, 0), (1, 0)]);
        let keys: Vec<String> = (0..300).map(|k| format!("k{k}")).collect();
        let before: Vec<usize> = keys
            .iter()
            .filter_map(|k| s.pick(Some(k.as_bytes())))
            .collect();
        h.set(1, false);
        for (k, &b) in keys.iter().zip(&before) {
            let a = s.pick(Some(k.as_bytes())).unwrap();
            if b == 1 {
                assert_ne!(a, 1);
            } else {
                assert_eq!(a, b, "key {k} moved");
            }
        }
    }

    #[test]
    fn least_conn_counts_tracked_tries_and_zero_weights_never_serve() {
        let (s, _h) = selector(BalancerType::LeastConn, &[(1, 0), (1, 0), (0, 0)]);
        let first = s.pick(None).unwrap();
        let _busy = s.track(first);
        for _ in 0..5 {
            assert_eq!(s.pick(None), Some(1 - first));
        }
        let empty = Selector::build(BalancerType::RoundRobin, HashOn::Vars, None, &[]).unwrap();
        assert_eq!(empty.pick(None), None);
        assert_eq!(empty.pick_other(None, &[]), None);
    }
}
