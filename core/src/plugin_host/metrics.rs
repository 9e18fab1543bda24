//! Metrics that plugins register and update: counters and histograms with
//! labels. Series per metric are bounded in number and in label bytes;
//! what is dropped is counted. Updates allocate nothing once a series
//! exists; a series resolved once ([`MetricsRegistry::resolve`]) is
//! updated with atomic adds alone. A scrape copies series a batch at a
//! time, never holding a metric's lock for the whole copy.

use std::collections::HashMap;
use std::hash::{BuildHasher, BuildHasherDefault, Hasher, RandomState};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use abi_stable::std_types::{RArc, RStr};
use radixgate_plugin::abi::MetricSeries;

/// Most series one metric may have; updates for more are dropped (counted
/// in [`MetricsRegistry::dropped`]).
pub const MAX_SERIES: usize = 10_000;

/// Most bytes of label values one series may have; updates for a new
/// series with more are dropped (counted in [`MetricsRegistry::dropped`]).
pub const MAX_LABEL_BYTES: usize = 4096;

/// Series copied per lock when a scrape collects a metric.
const COLLECT_BATCH: usize = 256;

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

/// One series' values, updated in place by atomic adds: shared by the
/// registry and the handles plugins resolved.
pub struct SeriesCell {
    /// The sum's f64 bits.
    sum: AtomicU64,
    /// Written after the buckets, read before them (a scrape sees no more
    /// observations counted than it sees in the buckets).
    count: AtomicU64,
    /// Observations per bucket, each counted only in the first bucket whose
    /// bound holds it (one atomic add, not one per bucket it fits): a
    /// snapshot sums them into Prometheus' cumulative counts.
    buckets: Box<[AtomicU64]>,
    bounds: Arc<[f64]>,
}

impl SeriesCell {
    fn new(bounds: Arc<[f64]>) -> SeriesCell {
        SeriesCell {
            sum: AtomicU64::new(0f64.to_bits()),
            count: AtomicU64::new(0),
            buckets: bounds.iter().map(|_| AtomicU64::new(0)).collect(),
            bounds,
        }
    }

    /// Adds `value` (a histogram counts it in the first bucket it fits;
    /// NaN fits none).
    pub fn add(&self, value: f64) {
        if !self.buckets.is_empty() && !value.is_nan() {
            // The bounds are ascending (sorted when registered).
            let at = self.bounds.partition_point(|bound| *bound < value);
            if let Some(count) = self.buckets.get(at) {
                count.fetch_add(1, Ordering::Relaxed);
            }
        }
        let _ = self
            .sum
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |bits| {
                Some((f64::from_bits(bits) + value).to_bits())
            });
        self.count.fetch_add(1, Ordering::Release);
    }

    /// A copy of the values, labelled `labels`.
    fn snapshot(&self, labels: &[String]) -> Series {
        let count = self.count.load(Ordering::Acquire);
        Series {
            labels: labels.to_vec(),
            sum: f64::from_bits(self.sum.load(Ordering::Relaxed)),
            count,
            // Cumulative, and no bucket above the count read before them
            // (observations added meanwhile are left to the next scrape).
            buckets: self
                .buckets
                .iter()
                .scan(0u64, |below, b| {
                    *below = below.saturating_add(b.load(Ordering::Relaxed));
                    Some((*below).min(count))
                })
                .collect(),
        }
    }
}

impl MetricSeries for SeriesCell {
    fn record(&self, value: f64) {
        self.add(value)
    }
}

/// One series as the registry keeps it: the label values packed for a
/// quick compare (each value's length as 4 bytes, then its bytes: one
/// buffer, so a compare touches one or two cache lines, not one per
/// label), the values, and the cell counting.
struct Slot {
    packed: Box<[u8]>,
    labels: Vec<String>,
    cell: RArc<SeriesCell>,
}

impl Slot {
    /// Whether this slot's label values are `labels`.
    fn is(&self, labels: &[RStr<'_>]) -> bool {
        let mut rest: &[u8] = &self.packed;
        for l in labels {
            let l = l.as_str().as_bytes();
            let Some((len, tail)) = rest.split_first_chunk::<4>() else {
                return false;
            };
            if u32::from_le_bytes(*len) as usize != l.len() || tail.len() < l.len() {
                return false;
            }
            let (value, tail) = tail.split_at(l.len());
            if value != l {
                return false;
            }
            rest = tail;
        }
        rest.is_empty()
    }

    fn new(labels: &[RStr<'_>], bounds: &Arc<[f64]>) -> Slot {
        let size = labels.iter().map(|l| 4 + l.len()).sum();
        let mut packed = Vec::with_capacity(size);
        for l in labels {
            // Label values longer than 4 GiB do not cross the boundary.
            packed.extend_from_slice(&(l.len() as u32).to_le_bytes());
            packed.extend_from_slice(l.as_str().as_bytes());
        }
        Slot {
            packed: packed.into_boxed_slice(),
            labels: labels.iter().map(|l| l.as_str().to_string()).collect(),
            cell: RArc::new(SeriesCell::new(bounds.clone())),
        }
    }
}

/// The keys of [`Values::series`] are already seeded hashes: used as is.
#[derive(Default, Clone, Copy)]
struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        // Only u64 keys are hashed; fold anything else in all the same.
        for b in bytes {
            self.0 = (self.0 ^ u64::from(*b)).wrapping_mul(0x100_0000_01b3);
        }
    }
    fn write_u64(&mut self, v: u64) {
        self.0 = v;
    }
}

#[derive(Default)]
struct Values {
    /// Hash of the label values -> places in `slots` of the series with
    /// that hash.
    index: HashMap<u64, Vec<u32>, BuildHasherDefault<KeyHasher>>,
    /// Every series, in the order first recorded; never removed, so a
    /// place stays valid between two locks.
    slots: Vec<Slot>,
}

/// One registered metric: its declaration and its series.
struct Metric {
    desc: MetricDesc,
    /// A histogram's bucket bounds (empty for a counter), shared by its
    /// series.
    bounds: Arc<[f64]>,
    values: Mutex<Values>,
}

/// The registry: declarations (append-only) and their series.
pub struct MetricsRegistry {
    metrics: RwLock<Vec<Metric>>,
    /// Bucket bounds that replace those a plugin asks for, by metric name
    /// (`plugins.prometheus.default_buckets`).
    buckets: RwLock<HashMap<String, Vec<f64>>>,
    /// Per-registry random seed of [`MetricsRegistry::key`].
    seed: u64,
    dropped: AtomicU64,
}

impl Default for MetricsRegistry {
    fn default() -> MetricsRegistry {
        MetricsRegistry {
            metrics: RwLock::default(),
            buckets: RwLock::default(),
            seed: RandomState::new().hash_one(0x5eed_u64),
            dropped: AtomicU64::new(0),
        }
    }
}

impl MetricsRegistry {
    /// Registers `desc`, or finds the metric of that name if it has the
    /// same kind and labels; another shape under that name is an error.
    pub fn register(&self, mut desc: MetricDesc) -> Result<u32, String> {
        if let MetricKind::Histogram(bounds) = &mut desc.kind {
            let set = self.buckets.read().unwrap_or_else(|e| e.into_inner());
            if let Some(b) = set.get(&desc.name) {
                bounds.clone_from(b);
            }
        }
        let mut metrics = self.metrics.write().unwrap_or_else(|e| e.into_inner());
        if let Some(i) = metrics.iter().position(|m| m.desc.name == desc.name) {
            let old = &metrics[i].desc;
            if old.kind != desc.kind || old.labels != desc.labels {
                return Err(format!(
                    "metric {} is already registered with other labels or kind",
                    desc.name
                ));
            }
            return Ok(i as u32);
        }
        let bounds = match &desc.kind {
            MetricKind::Counter => Arc::from([]),
            MetricKind::Histogram(b) => Arc::from(b.as_slice()),
        };
        metrics.push(Metric {
            desc,
            bounds,
            values: Mutex::default(),
        });
        Ok((metrics.len() - 1) as u32)
    }

    /// Histogram `name`, when registered after this, gets `bounds`
    /// (ascending) whatever bounds its registrant asks for.
    pub fn set_buckets(&self, name: &str, bounds: Vec<f64>) {
        let mut set = self.buckets.write().unwrap_or_else(|e| e.into_inner());
        set.insert(name.to_owned(), bounds);
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
        self.with_series(id, labels, |cell| cell.add(value));
    }

    /// The series of metric `id` for `labels`, made when new, to update
    /// without this lookup; `None` as [`MetricsRegistry::record`] ignores.
    pub fn resolve(&self, id: u32, labels: &[RStr<'_>]) -> Option<RArc<SeriesCell>> {
        self.with_series(id, labels, RArc::clone)
    }

    /// `f` of metric `id`'s series for `labels`, made when new; `None`
    /// (counted as dropped when over the bounds) for an unknown id, a
    /// wrong number of labels, or a new series past the bounds.
    fn with_series<T>(
        &self,
        id: u32,
        labels: &[RStr<'_>],
        f: impl FnOnce(&RArc<SeriesCell>) -> T,
    ) -> Option<T> {
        let metrics = self.metrics.read().unwrap_or_else(|e| e.into_inner());
        let metric = metrics.get(id as usize)?;
        if metric.desc.labels.len() != labels.len() {
            return None;
        }
        let key = self.key(labels);
        let mut values = metric.values.lock().unwrap_or_else(|e| e.into_inner());
        let Values { index, slots } = &mut *values;
        let list = index.entry(key).or_default();
        let found = list
            .iter()
            .map(|&i| i as usize)
            .find(|&i| slots.get(i).is_some_and(|s| s.is(labels)));
        let at = match found {
            Some(i) => i,
            None if slots.len() >= MAX_SERIES
                || labels.iter().map(|l| l.len()).sum::<usize>() > MAX_LABEL_BYTES =>
            {
                self.dropped.fetch_add(1, Ordering::Relaxed);
                return None;
            }
            None => {
                list.push(slots.len() as u32);
                slots.push(Slot::new(labels, &metric.bounds));
                slots.len() - 1
            }
        };
        slots.get(at).map(|s| f(&s.cell))
    }

    /// Every metric with a copy of its series (for an exporter). Each
    /// metric's series are copied [`COLLECT_BATCH`] at a time, its lock
    /// taken again for each batch, so that updates go on meanwhile.
    pub fn collect(&self) -> Vec<(MetricDesc, Vec<Series>)> {
        let metrics = self.metrics.read().unwrap_or_else(|e| e.into_inner());
        metrics
            .iter()
            .map(|m| {
                let mut copy = Vec::new();
                loop {
                    let v = m.values.lock().unwrap_or_else(|e| e.into_inner());
                    let from = copy.len();
                    let batch = v.slots.iter().skip(from).take(COLLECT_BATCH);
                    copy.extend(batch.map(|s| s.cell.snapshot(&s.labels)));
                    if copy.len() == v.slots.len() || copy.len() == from {
                        break;
                    }
                }
                (m.desc.clone(), copy)
            })
            .collect()
    }

    /// Updates dropped because a metric had [`MAX_SERIES`] series, or a
    /// new series' label values had more than [`MAX_LABEL_BYTES`].
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::{MetricDesc, MetricKind, MetricsRegistry, MAX_LABEL_BYTES, MAX_SERIES};
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
                               // Values that concatenate alike are other series.
        let two = m
            .register(MetricDesc {
                labels: vec!["a".into(), "b".into()],
                ..desc("two", MetricKind::Counter)
            })
            .expect("new");
        m.record(two, &[RStr::from("ab"), RStr::from("c")], 1.0);
        m.record(two, &[RStr::from("a"), RStr::from("bc")], 1.0);
        m.record(two, &[RStr::from("a"), RStr::from("bc")], 1.0);
        let all = m.collect();
        let counter = &all[c as usize].1;
        assert_eq!(counter.len(), 2);
        let s1 = counter.iter().find(|s| s.labels == ["r1"]).expect("series");
        assert_eq!((s1.sum, s1.count), (5.0, 2));
        let hist = &all[h as usize].1[0];
        assert_eq!(hist.buckets, vec![0, 1]);
        let mut two: Vec<_> = all[two as usize]
            .1
            .iter()
            .map(|s| (s.labels.join("|"), s.count))
            .collect();
        two.sort();
        assert_eq!(two, [("ab|c".to_string(), 1), ("a|bc".to_string(), 2)]);
    }

    #[test]
    fn a_histogram_counts_a_bound_in_its_own_bucket_and_nan_in_none() {
        let m = MetricsRegistry::default();
        let h = m
            .register(desc("h", MetricKind::Histogram(vec![1.0, 10.0])))
            .expect("new");
        let series = m.resolve(h, &[RStr::from("r")]).expect("resolved");
        for value in [1.0, 10.0, -5.0, f64::INFINITY, f64::NAN, 10.5] {
            series.add(value);
        }
        let all = m.collect();
        let s = &all[h as usize].1[0];
        // le=1: 1 and -5; le=10: those and 10; +Inf (the count): all six.
        assert_eq!((s.buckets.clone(), s.count), (vec![2, 3], 6));
    }

    #[test]
    fn a_resolved_series_counts_with_the_labelled_updates() {
        let m = MetricsRegistry::default();
        let h = m
            .register(desc("h", MetricKind::Histogram(vec![1.0, 10.0])))
            .expect("new");
        let r1 = [RStr::from("r1")];
        let series = m.resolve(h, &r1).expect("resolved");
        series.add(5.0);
        m.record(h, &r1, 0.5);
        // The same label values resolve to the same series.
        m.resolve(h, &r1).expect("resolved again").add(20.0);
        let all = m.collect();
        assert_eq!(all[h as usize].1.len(), 1);
        let s = &all[h as usize].1[0];
        assert_eq!((s.sum, s.count), (25.5, 3));
        assert_eq!(s.buckets, vec![1, 2]);
        assert_eq!(s.labels, ["r1"]);
        // Nothing resolves for an unknown id or another number of labels.
        assert!(m.resolve(h + 1, &r1).is_none());
        assert!(m.resolve(h, &[]).is_none());
        assert_eq!(m.dropped(), 0);
    }

    #[test]
    fn configured_buckets_replace_the_registrants() {
        let m = MetricsRegistry::default();
        m.set_buckets("h", vec![3.0, 30.0]);
        let h = m
            .register(desc("h", MetricKind::Histogram(vec![1.0, 10.0])))
            .expect("new");
        // A second instance asking for the same bounds finds the metric.
        let again = desc("h", MetricKind::Histogram(vec![1.0, 10.0]));
        assert_eq!(m.register(again), Ok(h));
        let all = m.collect();
        assert_eq!(
            all[h as usize].0.kind,
            MetricKind::Histogram(vec![3.0, 30.0])
        );
    }

    #[test]
    fn series_past_the_bounds_are_dropped_and_counted() {
        let m = MetricsRegistry::default();
        let c = m.register(desc("c", MetricKind::Counter)).expect("new");
        for i in 0..=MAX_SERIES {
            m.record(c, &[RStr::from(i.to_string().as_str())], 1.0);
        }
        assert_eq!(m.collect()[c as usize].1.len(), MAX_SERIES);
        assert_eq!(m.dropped(), 1, "the series past the bound");
        // A series kept goes on counting.
        m.record(c, &[RStr::from("0")], 1.0);
        assert_eq!(m.dropped(), 1);

        let d = m.register(desc("d", MetricKind::Counter)).expect("new");
        let long = "x".repeat(MAX_LABEL_BYTES + 1);
        m.record(d, &[RStr::from(long.as_str())], 1.0);
        let fits = "x".repeat(MAX_LABEL_BYTES);
        m.record(d, &[RStr::from(fits.as_str())], 1.0);
        assert_eq!(m.collect()[d as usize].1.len(), 1);
        assert_eq!(m.dropped(), 2, "the series with too many label bytes");
        // Nor is a series past the bounds resolved.
        assert!(m.resolve(d, &[RStr::from(long.as_str())]).is_none());
        assert_eq!(m.dropped(), 3);
    }
}
