//! Smooth weighted round robin (nginx's): over any `sum(weights)`
//! consecutive picks each entry is chosen exactly its weight's times,
//! spread out rather than in runs.

use std::sync::Mutex;

/// The round robin of one rule, shared by every worker thread.
#[derive(Debug)]
pub struct RoundRobin {
    weights: Vec<i64>,
    total: i64,
    current: Mutex<Vec<i64>>,
}

impl RoundRobin {
    /// Over entries of `weights` (each above 0).
    pub fn new(weights: Vec<u32>) -> RoundRobin {
        let weights: Vec<i64> = weights.into_iter().map(i64::from).collect();
        RoundRobin {
            total: weights.iter().sum(),
            current: Mutex::new(vec![0; weights.len()]),
            weights,
        }
    }

    /// The index of the next entry; `None` when there is none.
    pub fn next(&self) -> Option<usize> {
        if self.weights.is_empty() {
            return None;
        }
        // A panic while held cannot leave the weights invalid: take them.
        let mut current = self.current.lock().unwrap_or_else(|e| e.into_inner());
        let mut best = 0;
        for (i, w) in self.weights.iter().enumerate() {
            current[i] += w;
            if current[i] > current[best] {
                best = i;
            }
        }
        current[best] -= self.total;
        Some(best)
    }
}

#[cfg(test)]
mod tests {
    use super::RoundRobin;

    #[test]
    fn each_entry_gets_its_weight_in_every_cycle() {
        let rr = RoundRobin::new(vec![3, 1, 2]);
        for _ in 0..5 {
            let mut counts = [0; 3];
            for _ in 0..6 {
                counts[rr.next().unwrap()] += 1;
            }
            assert_eq!(counts, [3, 1, 2]);
        }
        // Smooth: the heavy entry is not picked three times in a row.
        let picks: Vec<usize> = (0..6).map(|_| rr.next().unwrap()).collect();
        assert!(picks.windows(3).all(|w| w != [0, 0, 0]), "{picks:?}");
        assert_eq!(RoundRobin::new(vec![]).next(), None);
    }
}
