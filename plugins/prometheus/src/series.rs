//! The series one request updates, resolved with the host once per label
//! set and kept per thread: an update is then an atomic add in the host,
//! not a label lookup. Instances are shared by every worker thread, so
//! each thread keeps its own few label sets, keyed by instance.

use std::cell::RefCell;
use std::sync::atomic::{AtomicU64, Ordering};

use radixgate_plugin::abi::RStr;
use radixgate_plugin::{Host, MetricId, Series};

use crate::metrics::Metrics;

/// Label sets kept per thread, at most (the oldest replaced first).
const ENTRIES: usize = 16;

/// A number per instance, never reused (an instance's address may be).
static NEXT_INSTANCE: AtomicU64 = AtomicU64::new(0);

/// A fresh instance number.
pub fn instance_number() -> u64 {
    NEXT_INSTANCE.fetch_add(1, Ordering::Relaxed)
}

/// What a request is labelled with (the union of the three metrics').
pub struct Labels<'a> {
    /// `code`.
    pub code: &'a str,
    /// `route`.
    pub route: &'a str,
    /// `matched_uri`.
    pub matched_uri: &'a str,
    /// `matched_host`.
    pub matched_host: &'a str,
    /// `service`.
    pub service: &'a str,
    /// `consumer`.
    pub consumer: &'a str,
    /// `node`.
    pub node: &'a str,
    /// `request_type`.
    pub request_type: &'a str,
    /// `request_llm_model`.
    pub request_model: &'a str,
    /// `llm_model`.
    pub model: &'a str,
}

/// One series a request may update.
#[derive(Clone, Copy)]
pub enum Which {
    /// `apisix_http_status`.
    Status,
    /// `apisix_http_latency` of `type`.
    Latency(&'static str),
    /// `apisix_bandwidth` of `type`.
    Bandwidth(&'static str),
}

/// The latency and bandwidth types, in the order their series are kept.
const TYPES: [&str; 5] = ["request", "apisix", "upstream", "ingress", "egress"];

impl Labels<'_> {
    fn all(&self) -> [&str; 10] {
        [
            self.code,
            self.route,
            self.matched_uri,
            self.matched_host,
            self.service,
            self.consumer,
            self.node,
            self.request_type,
            self.request_model,
            self.model,
        ]
    }

    /// Writes the label values into `packed`, each as its length (4 bytes)
    /// and its bytes: one buffer, compared to an entry's in one go.
    fn pack(&self, packed: &mut Vec<u8>) {
        packed.clear();
        for l in self.all() {
            // Label values longer than 4 GiB do not reach a request.
            packed.extend_from_slice(&(l.len() as u32).to_le_bytes());
            packed.extend_from_slice(l.as_bytes());
        }
    }

    /// Updates `which` by `value` through `host`'s label lookup.
    pub fn update(&self, host: &Host, metrics: &Metrics, which: Which, value: f64) {
        let (id, labels) = self.of(metrics, which);
        match which {
            Which::Latency(_) => host.histogram_observe(id, labels.as_slice(), value),
            _ => host.counter_add(id, labels.as_slice(), value as u64),
        }
    }

    /// The metric of `which` and its label values.
    fn of<'a>(&'a self, metrics: &Metrics, which: Which) -> (MetricId, LabelValues<'a>) {
        match which {
            Which::Status => (
                metrics.status,
                LabelValues::Status(self.all().map(RStr::from)),
            ),
            Which::Latency(kind) => (metrics.latency, self.typed(kind)),
            Which::Bandwidth(kind) => (metrics.bandwidth, self.typed(kind)),
        }
    }

    fn typed<'a>(&'a self, kind: &'static str) -> LabelValues<'a> {
        LabelValues::Typed(
            [
                kind,
                self.route,
                self.service,
                self.consumer,
                self.node,
                self.request_type,
                self.request_model,
                self.model,
            ]
            .map(RStr::from),
        )
    }
}

/// The label values of one metric's series.
enum LabelValues<'a> {
    Status([RStr<'a>; 10]),
    Typed([RStr<'a>; 8]),
}

impl<'a> LabelValues<'a> {
    fn as_slice(&self) -> &[RStr<'a>] {
        match self {
            LabelValues::Status(l) => l,
            LabelValues::Typed(l) => l,
        }
    }
}

/// One instance's series for one label set, each resolved when first
/// updated (a series no request updated is not made).
#[derive(Default)]
struct Entry {
    instance: u64,
    /// The label values, each as its length (4 bytes) and its bytes.
    packed: Vec<u8>,
    /// Status, then one per [`TYPES`].
    series: [Option<Series>; 6],
}

/// The thread's entries, and the one to replace next when full.
#[derive(Default)]
struct Cache {
    entries: Vec<Entry>,
    next: usize,
    /// The request's label values packed as an entry keeps them.
    packed: Vec<u8>,
}

thread_local! {
    static CACHE: RefCell<Cache> = RefCell::new(Cache::default());
}

/// The updates of one request for one instance.
pub struct Updates<'a> {
    pub host: &'a Host,
    pub metrics: &'a Metrics,
    pub instance: u64,
    pub labels: Labels<'a>,
}

impl Updates<'_> {
    /// Applies `updates` (each a series and its value), through the
    /// thread's resolved series; through the host's label lookup for a
    /// series the host does not resolve (past its bounds, or older than
    /// ABI 1.4).
    pub fn apply(&self, updates: &[(Which, f64)]) {
        let applied = CACHE.try_with(|cache| {
            let mut cache = cache.borrow_mut();
            let entry = self.entry(&mut cache);
            for &(which, value) in updates {
                let at = match which {
                    Which::Status => 0,
                    Which::Latency(kind) | Which::Bandwidth(kind) => {
                        1 + TYPES.iter().position(|t| *t == kind).unwrap_or(0)
                    }
                };
                let slot = &mut entry.series[at];
                if slot.is_none() {
                    let (id, labels) = self.labels.of(self.metrics, which);
                    *slot = self.host.series(id, labels.as_slice());
                }
                match slot {
                    Some(series) => series.observe(value),
                    None => self.labels.update(self.host, self.metrics, which, value),
                }
            }
        });
        if applied.is_err() {
            // The thread is exiting: no cache, the label lookup.
            for &(which, value) in updates {
                self.labels.update(self.host, self.metrics, which, value);
            }
        }
    }

    /// The cache's entry of this instance and label set, made (or taken
    /// over from the oldest) when missing.
    fn entry<'c>(&self, cache: &'c mut Cache) -> &'c mut Entry {
        self.labels.pack(&mut cache.packed);
        let Cache {
            entries,
            next,
            packed,
        } = cache;
        let found = entries
            .iter()
            .position(|e| e.instance == self.instance && e.packed == *packed);
        let at = match found {
            Some(at) => return &mut entries[at],
            None if entries.len() < ENTRIES => {
                entries.push(Entry::default());
                entries.len() - 1
            }
            None => {
                let at = *next % ENTRIES;
                *next = next.wrapping_add(1);
                at
            }
        };
        // A new entry, or the oldest taken over: its series unresolved.
        let entry = &mut entries[at];
        entry.instance = self.instance;
        entry.packed.clone_from(packed);
        entry.series = Default::default();
        entry
    }
}
