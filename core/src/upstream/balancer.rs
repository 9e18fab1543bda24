//! Smooth weighted round robin (nginx's algorithm): over any window of
//! `sum(weights)` picks, each node is picked exactly `weight` times, and
//! picks of a heavy node are spread out rather than bunched.
//!
//! A balancer is built once from an immutable node set. Small schedules
//! (the usual case) are precomputed and walked with one atomic counter, so a
//! pick takes no lock; very large weight sums fall back to the live
//! algorithm behind a mutex.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

/// The longest precomputed schedule (picks in one full cycle).
const MAX_CYCLE: u64 = 4096;

/// Picks node indexes by weight.
#[derive(Debug)]
pub struct RoundRobin {
    schedule: Schedule,
}

#[derive(Debug)]
enum Schedule {
    /// No node has weight: nothing to pick.
    Empty,
    /// One full cycle of picks, walked by a counter.
    Cycle { picks: Vec<u32>, next: AtomicUsize },
    /// nginx's live algorithm: (index, weight) and current weights.
    Live {
        weights: Vec<(u32, i64)>,
        current: Mutex<Vec<i64>>,
    },
}

impl RoundRobin {
    /// A balancer over `weights` (node index = position). Zero weights are
    /// never picked.
    pub fn new(weights: &[u32]) -> Self {
        let nodes: Vec<(u32, i64)> = weights
            .iter()
            .enumerate()
            .filter(|(_, &w)| w > 0)
            .map(|(i, &w)| (i as u32, i64::from(w)))
            .collect();
        if nodes.is_empty() {
            return RoundRobin {
                schedule: Schedule::Empty,
            };
        }
        let g = nodes.iter().fold(0u64, |g, &(_, w)| gcd(g, w as u64)) as i64;
        let nodes: Vec<(u32, i64)> = nodes.into_iter().map(|(i, w)| (i, w / g)).collect();
        let total: i64 = nodes.iter().map(|&(_, w)| w).sum();
        if total as u64 <= MAX_CYCLE {
            let mut current = vec![0; nodes.len()];
            let picks = (0..total)
                .map(|_| smooth_pick(&nodes, &mut current, total))
                .collect();
            return RoundRobin {
                schedule: Schedule::Cycle {
                    picks,
                    next: AtomicUsize::new(0),
                },
            };
        }
        let len = nodes.len();
        RoundRobin {
            schedule: Schedule::Live {
                weights: nodes,
                current: Mutex::new(vec![0; len]),
            },
        }
    }

    /// The next node index, or `None` when no node has weight.
    pub fn pick(&self) -> Option<usize> {
        match &self.schedule {
            Schedule::Empty => None,
            Schedule::Cycle { picks, next } => {
                let n = next.fetch_add(1, Ordering::Relaxed);
                picks.get(n % picks.len()).map(|&i| i as usize)
            }
            Schedule::Live { weights, current } => {
                let total = weights.iter().map(|&(_, w)| w).sum();
                // A poisoned lock only means another pick panicked mid-way;
                // the weights are still usable.
                let mut cur = current.lock().unwrap_or_else(|p| p.into_inner());
                Some(smooth_pick(weights, &mut cur, total) as usize)
            }
        }
    }
}

/// One step of smooth weighted round robin: every node gains its weight,
/// the largest current weight wins and pays the total back.
fn smooth_pick(nodes: &[(u32, i64)], current: &mut [i64], total: i64) -> u32 {
    let mut best = 0;
    for (k, &(_, w)) in nodes.iter().enumerate() {
        current[k] += w;
        if current[k] > current[best] {
            best = k;
        }
    }
    current[best] -= total;
    nodes[best].0
}

/// The greatest common divisor (0 with 0 gives 0): weights are divided by
/// it, here and in the `chash` ring.
pub(super) fn gcd(a: u64, b: u64) -> u64 {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(rr: &RoundRobin, n: usize, picks: usize) -> Vec<usize> {
        let mut c = vec![0; n];
        for _ in 0..picks {
            c[rr.pick().unwrap()] += 1;
        }
        c
    }

    #[test]
    fn exact_shares_per_cycle() {
        let rr = RoundRobin::new(&[5, 1, 1]);
        assert_eq!(counts(&rr, 3, 7), vec![5, 1, 1]);
        assert_eq!(counts(&rr, 3, 700), vec![500, 100, 100]);
    }

    #[test]
    fn smooth_not_bunched() {
        // nginx's documented sequence for weights 5, 1, 1: a a b a c a a.
        let rr = RoundRobin::new(&[5, 1, 1]);
        let seq: Vec<usize> = (0..7).map(|_| rr.pick().unwrap()).collect();
        assert_eq!(seq, vec![0, 0, 1, 0, 2, 0, 0]);
        let rr = RoundRobin::new(&[1, 1]);
        let seq: Vec<usize> = (0..4).map(|_| rr.pick().unwrap()).collect();
        assert_eq!(seq, vec![0, 1, 0, 1]);
    }

    #[test]
    fn zero_weights_and_empty() {
        assert_eq!(RoundRobin::new(&[]).pick(), None);
        assert_eq!(RoundRobin::new(&[0, 0]).pick(), None);
        let rr = RoundRobin::new(&[0, 3]);
        assert_eq!(counts(&rr, 2, 9), vec![0, 9]);
    }

    #[test]
    fn gcd_reduces_and_large_sums_go_live() {
        let rr = RoundRobin::new(&[100, 200]);
        assert!(matches!(&rr.schedule, Schedule::Cycle { picks, .. } if picks.len() == 3));
        let rr = RoundRobin::new(&[10_000, 3, 1]);
        assert!(matches!(rr.schedule, Schedule::Live { .. }));
        assert_eq!(counts(&rr, 3, 10_004), vec![10_000, 3, 1]);
    }
}
