//! Metrics that plugins register and update: counters and histograms with
//! labels. Series per metric are bounded; updates allocate nothing once a
//! series exists.

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::sync::{Mutex, RwLock};

use abi_stable::std_types::RStr;

/// Most series one metric may have; updates for more are dropped (counted
/// in [`MetricsRegistry::dropped`]).
pub const MAX_SERIES: usize = 10_000;

/// What a metric is.
#[derive(Debug, Clone, PartialEq)]
pub enum MetricKind {
    /// A monotonic counter.
    Counter,
    /// A histogram with these upper bucket bounds (ascending).
    Histogram(Vec<f64>),
}

/// A metric's declaration.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricDesc {
    /// Name (`radixgate_http_requests_total`).
    pub name: String,
    /// Help text.
    pub help: String,
    /// Label names.
    pub labels: Vec<String>,
    /// Counter or histogram.
    pub kind: MetricKind,
}

/// One series' values.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Series {
    /// Label values, in the order of the metric's label names.
    pub labels: Vec<String>,
    /// Counter total, or histogram sum.
    pub sum: f64,
    /// Histogram observations (counter: number of updates).
    pub count: u64,
    /// Histogram cumulative bucket counts (empty for a counter).
    pub buckets: Vec<u64>,
}

#[derive(Default)]
struct Values {
    /// Hash of the label values -> series with that hash.
    series: HashMap<u64, Vec<Series>>,
    len: usize,
}

/// The registry: declarations (append-only) and their series.
pub struct MetricsRegistry {
    descs: RwLock<Vec<MetricDesc>>,
    values: RwLock<Vec<Mutex<Values>>>,
    /// Per-registry random seed of [`MetricsRegistry::key`].
    seed: u64,
    dropped: std::sync::atomic::AtomicU64,
}

impl Default for MetricsRegistry {
    fn default() -> MetricsRegistry {
        MetricsRegistry {
            descs: RwLock::default(),
            values: RwLock::default(),
            seed: RandomState::new().hash_one(0x5eed_u64),
            dropped: std::sync::atomic::AtomicU64::new(0),
        }
    }
}

impl MetricsRegistry {
    /// Registers `desc`, or finds the metric of that name if it has the
    /// same kind and labels; another shape under that name is an error.
    pub fn register(&self, desc: MetricDesc) -> Result<u32, String> {
        let mut descs = self.descs.write().unwrap_or_else(|e| e.into_inner());
        if let Some(i) = descs.iter().position(|d| d.name == desc.name) {
            let old = &descs[i];
            if old.kind != desc.kind || old.labels != desc.labels {
                return Err(format!(
                    "metric {} is already registered with other labels or kind",
                    desc.name
                ));
            }
            return Ok(i as u32);
        }
        descs.push(desc);
        let mut values = self.values.write().unwrap_or_else(|e| e.into_inner());
        values.push(Mutex::default());
        Ok((descs.len() - 1) as u32)
    }

    /// The series key of `labels`: a seeded multiply-xor hash over the
    /// bytes, 8 at a time, each label's length mixed in (so `["ab", "c"]`
    /// and `["a", "bc"]` differ). SipHash cost ~14 writes per update; this
    /// is a few ns. Collisions only lengthen one bucket's list (compared
    /// label by label); the number of series stays bounded.
    fn key(&self, labels: &[RStr<'_>]) -> u64 {
        const K: u64 = 0x9E37_79B9_7F4A_7C15;
        let mix = |h: u64, v: u64| (h ^ v).wrapping_mul(K).rotate_left(29);
        let mut h = self.seed;
        for l in labels {
            let bytes = l.as_str().as_bytes();
            h = mix(h, bytes.len() as u64);
            let mut chunks = bytes.chunks_exact(8);
            for c in &mut chunks {
                let mut w = [0u8; 8];
                w.copy_from_slice(c);
                h = mix(h, u64::from_le_bytes(w));
            }
            let mut w = [0u8; 8];
            let rest = chunks.remainder();
            w[..rest.len()].copy_from_slice(rest);
            h = mix(h, u64::from_le_bytes(w));
        }
        // Final avalanche (murmur3's fmix64).
        h ^= h >> 33;
        h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
        h ^ (h >> 33)
    }

    /// Adds `value` to metric `id`'s series for `labels` (a histogram
    /// records it as an observation). Unknown ids, a wrong number of label
    /// values and series past [`MAX_SERIES`] are ignored.
    pub fn record(&self, id: u32, labels: &[RStr<'_>], value: f64) {
        let descs = self.descs.read().unwrap_or_else(|e| e.into_inner());
        let bounds: &[f64] = match descs.get(id as usize) {
            Some(d) if d.labels.len() == labels.len() => match &d.kind {
                MetricKind::Counter => &[],
                MetricKind::Histogram(b) => b,
            },
            _ => return,
        };
        let key = self.key(labels);
        let values = self.values.read().unwrap_or_else(|e| e.into_inner());
        let Some(slot) = values.get(id as usize) else {
            return;
        };
        let mut slot = slot.lock().unwrap_or_else(|e| e.into_inner());
        let Values { series, len } = &mut *slot;
        let list = series.entry(key).or_default();
        let same = |s: &Series| {
            s.labels
                .iter()
                .zip(labels)
                .all(|(a, b)| a.as_bytes() == b.as_str().as_bytes())
        };
        let series = match list.iter().position(same) {
            Some(i) => &mut list[i],
            None if *len >= MAX_SERIES => {
                self.dropped
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                return;
            }
            None => {
                *len += 1;
                list.push(Series {
                    labels: labels.iter().map(|l| l.as_str().to_string()).collect(),
                    buckets: vec![0; bounds.len()],
                    ..Series::default()
                });
                let last = list.len() - 1;
                &mut list[last]
            }
        };
        series.sum += value;
        series.count += 1;
        for (bound, count) in bounds.iter().zip(series.buckets.iter_mut()) {
            if value <= *bound {
                *count += 1;
            }
        }
    }

    /// Every metric with a copy of its series (for an exporter).
    pub fn collect(&self) -> Vec<(MetricDesc, Vec<Series>)> {
        let descs = self.descs.read().unwrap_or_else(|e| e.into_inner());
        let values = self.values.read().unwrap_or_else(|e| e.into_inner());
        descs
            .iter()
            .zip(values.iter())
            .map(|(d, v)| {
                let v = v.lock().unwrap_or_else(|e| e.into_inner());
                (d.clone(), v.series.values().flatten().cloned().collect())
            })
            .collect()
    }

    /// Updates dropped because a metric had [`MAX_SERIES`] series.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(std::sync::atomic::Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::{MetricDesc, MetricKind, MetricsRegistry};
    use abi_stable::std_types::RStr;

    fn desc(name: &str, kind: MetricKind) -> MetricDesc {
        MetricDesc {
            name: name.into(),
            help: "h".into(),
            labels: vec!["route".into()],
            kind,
        }
    }

    #[test]
    fn counters_and_histograms_by_label() {
        let m = MetricsRegistry::default();
        let c = m.register(desc("c", MetricKind::Counter)).expect("new");
        let h = m
            .register(desc("h", MetricKind::Histogram(vec![1.0, 10.0])))
            .expect("new");
        assert_eq!(m.register(desc("c", MetricKind::Counter)), Ok(c));
        assert!(m
            .register(desc("c", MetricKind::Histogram(vec![])))
            .is_err());
        let r1 = [RStr::from("r1")];
        m.record(c, &r1, 2.0);
        m.record(c, &r1, 3.0);
        m.record(c, &[RStr::from("r2")], 1.0);
        m.record(h, &r1, 5.0);
        m.record(c, &[], 1.0); // wrong label count: ignored
        let all = m.collect();
        let counter = &all[c as usize].1;
        assert_eq!(counter.len(), 2);
        let s1 = counter.iter().find(|s| s.labels == ["r1"]).expect("series");
        assert_eq!((s1.sum, s1.count), (5.0, 2));
        let hist = &all[h as usize].1[0];
        assert_eq!(hist.buckets, vec![0, 1]);
    }
}
