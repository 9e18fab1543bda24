//! `ewma`: of two nodes drawn at random, the one whose latency average
//! (peak-EWMA, decaying over 10 s, see [`NodeStats`]) times its requests in
//! flight plus one is lower: "the power of two choices", as APISIX's
//! balancer picks. With two nodes that is simply the better one.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

use super::stats::NodeStats;

/// A node's score: lower is better.
pub fn score(stats: &NodeStats) -> f64 {
    stats.ewma() * (f64::from(stats.in_flight()) + 1.0)
}

/// Picks among `members` that `ok` accepts: the better of two distinct
/// random ones (the only one when one is accepted). `None` when none is.
pub fn pick(members: &[usize], stats: &[NodeStats], ok: &dyn Fn(usize) -> bool) -> Option<usize> {
    let accepted = || members.iter().copied().filter(|&i| ok(i));
    let n = accepted().count();
    match n {
        0 => None,
        1 => accepted().next(),
        _ => {
            let a = (random() % n as u64) as usize;
            let mut b = (random() % (n as u64 - 1)) as usize;
            if b >= a {
                b += 1;
            }
            let na = accepted().nth(a)?;
            let nb = accepted().nth(b)?;
            let sa = stats.get(na).map_or(0.0, score);
            let sb = stats.get(nb).map_or(0.0, score);
            Some(if sb < sa { nb } else { na })
        }
    }
}

/// The accepted member with the lowest score (retries take the best left).
pub fn best(members: &[usize], stats: &[NodeStats], ok: &dyn Fn(usize) -> bool) -> Option<usize> {
    members
        .iter()
        .copied()
        .filter(|&i| ok(i))
        .map(|i| (i, stats.get(i).map_or(0.0, score)))
        .min_by(|x, y| x.1.total_cmp(&y.1))
        .map(|(i, _)| i)
}

/// A cheap, thread-safe random number (splitmix64 over a shared counter
/// seeded from the clock): fair enough to draw nodes.
fn random() -> u64 {
    // Global: one random stream shared by every worker, a relaxed add per draw.
    static SEED: OnceLock<u64> = OnceLock::new();
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let seed = *SEED.get_or_init(|| {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(1, |d| d.as_nanos() as u64)
    });
    let mut z = seed.wrapping_add(COUNTER.fetch_add(0x9e37_79b9_7f4a_7c15, Ordering::Relaxed));
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn stats(ms: &[u64]) -> std::sync::Arc<[NodeStats]> {
        ms.iter()
            .map(|&m| {
                let s = NodeStats::default();
                if m > 0 {
                    s.observe(Duration::from_millis(m));
                }
                s
            })
            .collect()
    }

    #[test]
    fn two_nodes_take_the_faster() {
        let s = stats(&[50, 5]);
        for _ in 0..20 {
            assert_eq!(pick(&[0, 1], &s, &|_| true), Some(1));
        }
        assert_eq!(pick(&[0, 1], &s, &|i| i == 0), Some(0));
        assert_eq!(pick(&[0, 1], &s, &|_| false), None);
        assert_eq!(best(&[0, 1], &s, &|_| true), Some(1));
    }

    #[test]
    fn the_slowest_of_many_is_never_picked_and_others_are() {
        let s = stats(&[100, 5, 6, 7]);
        let mut counts = [0usize; 4];
        for _ in 0..400 {
            if let Some(i) = pick(&[0, 1, 2, 3], &s, &|_| true) {
                counts[i] += 1;
            }
        }
        assert_eq!(counts[0], 0, "{counts:?}");
        assert!(counts[1] > 0 && counts[2] > 0, "{counts:?}");
        assert_eq!(counts.iter().sum::<usize>(), 400);
    }

    #[test]
    fn in_flight_raises_the_score() {
        let s = stats(&[10, 10]);
        let _busy = crate::upstream::stats::Tracked::start(Some((&s, 0)), None);
        assert!(score(&s[0]) > score(&s[1]));
        assert_eq!(pick(&[0, 1], &s, &|_| true), Some(1));
    }
}
