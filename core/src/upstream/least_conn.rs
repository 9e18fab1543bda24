//! `least_conn`: the node with the fewest requests in flight for its
//! weight, that is the least `(in_flight + 1) / weight` (APISIX's score).
//! Ties go to the heavier node, then round robin.

use std::sync::atomic::{AtomicUsize, Ordering};

use super::stats::NodeStats;

/// Picks among `members` (node indexes, with `weights` by position) the
/// node that `ok` accepts with the lowest score; `turn` rotates the
/// starting point so that ties take turns. `None` when `ok` accepts none.
pub fn pick(
    members: &[usize],
    weights: &[u32],
    stats: &[NodeStats],
    turn: &AtomicUsize,
    ok: &dyn Fn(usize) -> bool,
) -> Option<usize> {
    let len = members.len();
    if len == 0 {
        return None;
    }
    let start = turn.fetch_add(1, Ordering::Relaxed) % len;
    // (node, in_flight + 1, weight) of the best so far.
    let mut best: Option<(usize, u64, u64)> = None;
    for k in 0..len {
        let pos = (start + k) % len;
        let (Some(&node), Some(&w)) = (members.get(pos), weights.get(pos)) else {
            continue;
        };
        if w == 0 || !ok(node) {
            continue;
        }
        let load = stats.get(node).map_or(0, NodeStats::in_flight) as u64 + 1;
        let w = u64::from(w);
        let better = match best {
            None => true,
            // load/w < best_load/best_w, without division.
            Some((_, bl, bw)) => load * bw < bl * w || (load * bw == bl * w && w > bw),
        };
        if better {
            best = Some((node, load, w));
        }
    }
    best.map(|(node, _, _)| node)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::upstream::stats::Tracked;

    fn stats(n: usize) -> std::sync::Arc<[NodeStats]> {
        (0..n).map(|_| NodeStats::default()).collect()
    }

    #[test]
    fn prefers_the_least_loaded_for_its_weight() {
        let s = stats(3);
        let turn = AtomicUsize::new(0);
        let all = |_| true;
        let _a = Tracked::start(Some((&s, 0)), None);
        let _b = Tracked::start(Some((&s, 0)), None);
        let _c = Tracked::start(Some((&s, 1)), None);
        // Scores: 3/1, 2/1, 1/1.
        assert_eq!(pick(&[0, 1, 2], &[1, 1, 1], &s, &turn, &all), Some(2));
        // Weight 4 on node 0: 3/4 beats 1/1.
        assert_eq!(pick(&[0, 1, 2], &[4, 1, 1], &s, &turn, &all), Some(0));
        // Node 2 refused: node 1 (2/1) beats node 0 (3/1).
        assert_eq!(
            pick(&[0, 1, 2], &[1, 1, 1], &s, &turn, &|i| i != 2),
            Some(1)
        );
        assert_eq!(pick(&[0, 1, 2], &[1, 1, 1], &s, &turn, &|_| false), None);
        assert_eq!(pick(&[], &[], &s, &turn, &all), None);
    }

    #[test]
    fn ties_go_to_weight_then_take_turns() {
        let s = stats(3);
        let turn = AtomicUsize::new(0);
        let all = |_| true;
        assert_eq!(pick(&[0, 1, 2], &[1, 3, 1], &s, &turn, &all), Some(1));
        let picks: Vec<usize> = (0..6)
            .filter_map(|_| pick(&[0, 1, 2], &[2, 2, 2], &s, &turn, &all))
            .collect();
        for n in 0..3 {
            assert_eq!(picks.iter().filter(|&&p| p == n).count(), 2, "{picks:?}");
        }
    }

    #[test]
    fn an_idle_node_wins_over_a_busy_one() {
        let s = stats(2);
        let turn = AtomicUsize::new(0);
        let held: Vec<Tracked> = (0..5)
            .map(|_| Tracked::start(Some((&s, 0)), None))
            .collect();
        for _ in 0..10 {
            assert_eq!(pick(&[0, 1], &[1, 1], &s, &turn, &|_| true), Some(1));
        }
        drop(held);
        assert_eq!(s[0].in_flight(), 0);
    }
}
