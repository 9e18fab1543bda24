//! Consistent hashing (`type: chash`): a ring of virtual points, 160 per
//! unit of weight, each owned by a node. A key lands on the first point at
//! or after its hash. Removing a node moves only the keys it owned; the
//! others keep their node.
//!
//! The hash is FNV-1a followed by a 64-bit finaliser (splitmix64): fixed
//! by this file, not by the Rust version, so a key lands on the same node
//! across releases and restarts.

use super::balancer::gcd;

/// Virtual points per unit of weight.
const POINTS_PER_WEIGHT: u64 = 160;
/// Most points a ring holds; weights are scaled down beyond it.
const MAX_POINTS: u64 = 160_000;

/// A ring built once from an immutable node set.
#[derive(Debug)]
pub struct Ring {
    /// (point hash, node index), sorted by hash.
    points: Vec<(u64, u32)>,
}

impl Ring {
    /// A ring over nodes with `weights` whose points derive from `names[i]`
    /// (the node's `host:port`), so that a node's points stay where they are
    /// when other nodes come or go. Zero weights own no points.
    pub fn new(weights: &[u32], names: &[&str]) -> Self {
        let g = weights
            .iter()
            .filter(|&&w| w > 0)
            .fold(0u64, |g, &w| gcd(g, u64::from(w)))
            .max(1);
        let total: u64 = weights
            .iter()
            .map(|&w| u64::from(w) / g * POINTS_PER_WEIGHT)
            .sum();
        let scale = if total > MAX_POINTS {
            MAX_POINTS as f64 / total as f64
        } else {
            1.0
        };
        let mut points = Vec::new();
        for (i, &w) in weights.iter().enumerate() {
            if w == 0 {
                continue;
            }
            let n = ((u64::from(w) / g * POINTS_PER_WEIGHT) as f64 * scale) as u64;
            let name = names.get(i).copied().unwrap_or("");
            for replica in 0..n.max(1) {
                points.push((point_hash(name, replica), i as u32));
            }
        }
        points.sort_unstable();
        Ring { points }
    }

    /// The node index for `key`, or `None` when the ring is empty.
    #[cfg(test)]
    pub fn pick(&self, key: &[u8]) -> Option<usize> {
        self.walk(key).next()
    }

    /// Distinct node indexes in ring order from `key`'s point: the owner
    /// first, then the nodes to try after it.
    pub fn walk<'a>(&'a self, key: &[u8]) -> impl Iterator<Item = usize> + 'a {
        let h = hash(key);
        let start = self.points.partition_point(|&(p, _)| p < h);
        let n = self.points.len();
        let mut seen: Vec<u32> = Vec::new();
        (0..n).filter_map(move |k| {
            let (_, node) = self.points[(start + k) % n];
            if seen.contains(&node) {
                None
            } else {
                seen.push(node);
                Some(node as usize)
            }
        })
    }
}

/// The hash of a key: FNV-1a 64, then splitmix64's finaliser for spread.
pub fn hash(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    mix(h)
}

fn point_hash(name: &str, replica: u64) -> u64 {
    mix(hash(name.as_bytes()) ^ replica.wrapping_mul(0x9e37_79b9_7f4a_7c15))
}

fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NAMES: [&str; 4] = ["10.0.0.1:80", "10.0.0.2:80", "10.0.0.3:80", "10.0.0.4:80"];

    fn owners(ring: &Ring, names: &[&str], keys: u32) -> Vec<String> {
        (0..keys)
            .map(|k| {
                let i = ring.pick(format!("user-{k}").as_bytes()).unwrap();
                names[i].to_owned()
            })
            .collect()
    }

    #[test]
    fn hash_and_placement_are_pinned() {
        // Pinned: if these change, keys move to other nodes across a
        // release, which users of chash (sticky sessions, caches) notice.
        assert_eq!(hash(b""), 0xf52a_15e9_a9b5_e89b);
        assert_eq!(hash(b"user-1"), 0xc499_b5f8_a721_df58);
        let ring = Ring::new(&[1, 1, 1, 1], &NAMES);
        let placed: Vec<usize> = (0..8)
            .filter_map(|k| ring.pick(format!("user-{k}").as_bytes()))
            .collect();
        assert_eq!(placed, vec![3, 1, 3, 1, 2, 2, 1, 0]);
    }

    #[test]
    fn spread_follows_weights() {
        let ring = Ring::new(&[1, 1, 2, 0], &NAMES);
        let own = owners(&ring, &NAMES, 40_000);
        let share = |n: &str| own.iter().filter(|o| *o == n).count() as f64 / 40_000.0;
        assert!((share(NAMES[0]) - 0.25).abs() < 0.05, "{}", share(NAMES[0]));
        assert!((share(NAMES[1]) - 0.25).abs() < 0.05, "{}", share(NAMES[1]));
        assert!((share(NAMES[2]) - 0.50).abs() < 0.05, "{}", share(NAMES[2]));
        assert_eq!(share(NAMES[3]), 0.0);
    }

    #[test]
    fn a_leaving_node_moves_only_its_keys() {
        let before = Ring::new(&[1, 1, 1, 1], &NAMES);
        let own_before = owners(&before, &NAMES, 20_000);
        // Node 3 leaves: the remaining names keep their points.
        let names: Vec<&str> = NAMES[..3].to_vec();
        let after = Ring::new(&[1, 1, 1], &names);
        let own_after = owners(&after, &names, 20_000);
        let mut moved = 0;
        for (b, a) in own_before.iter().zip(&own_after) {
            if b != NAMES[3] {
                assert_eq!(b, a, "a key of a staying node moved");
            } else {
                moved += 1;
            }
        }
        assert!((4000..6000).contains(&moved), "{moved}");
    }

    #[test]
    fn walk_gives_distinct_nodes_owner_first() {
        let ring = Ring::new(&[1, 1, 1], &NAMES[..3]);
        let order: Vec<usize> = ring.walk(b"k").collect();
        assert_eq!(order.len(), 3);
        assert_eq!(order[0], ring.pick(b"k").unwrap());
        assert!(Ring::new(&[0, 0], &NAMES[..2]).pick(b"k").is_none());
    }
}
