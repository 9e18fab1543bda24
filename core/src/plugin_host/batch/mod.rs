//! The host's batch processors, as APISIX's batch-processor: a plugin
//! registers one per instance with a config ([`BatchConfig`]), hands it
//! entries that return at once, and the host sends them in batches to a
//! sink (HTTP, TCP or UDP: `sink.rs`) on a thread of its own
//! (`plugin-batch`), retrying failed sends. Dropped entries are counted in `radixgate_batch_dropped_total`
//! with the labels `plugin` and `reason` (`buffer_full`,
//! `not_delivered`, `refused`).

mod config;
mod processor;
mod sink;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

pub use config::BatchConfig;
use processor::{DropCounter, Dropped, Processor};

use super::metrics::{MetricDesc, MetricKind, MetricsRegistry};

/// The name of the counter of dropped entries.
pub const DROPPED_METRIC: &str = "radixgate_batch_dropped_total";

/// Every batch processor of one gateway.
pub struct Batches {
    metrics: Arc<MetricsRegistry>,
    processors: Mutex<HashMap<u64, Arc<Processor>>>,
    next_id: AtomicU64,
    /// The runtime batches are sent on, started with the first processor.
    runtime: OnceLock<Result<tokio::runtime::Handle, String>>,
    dropped: OnceLock<Option<u32>>,
}

impl Batches {
    /// No processors yet; drops are counted in `metrics`.
    pub fn new(metrics: Arc<MetricsRegistry>) -> Batches {
        Batches {
            metrics,
            processors: Mutex::default(),
            next_id: AtomicU64::new(1),
            runtime: OnceLock::new(),
            dropped: OnceLock::new(),
        }
    }

    fn processors(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Arc<Processor>>> {
        self.processors
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Starts a processor of plugin `plugin` from `config_json`; its id, or
    /// why the config is refused (`<field>: <reason>`).
    pub fn register(&self, plugin: &str, config_json: &str) -> Result<u64, String> {
        let conf = BatchConfig::parse(config_json)?;
        let runtime = self
            .runtime
            .get_or_init(start_runtime)
            .clone()
            .map_err(|e| format!("the batch processor cannot start: {e}"))?;
        let counter = DropCounter {
            metrics: self.metrics.clone(),
            id: *self.dropped.get_or_init(|| self.register_metric()),
        };
        let processor = Arc::new(Processor::new(plugin, conf, counter));
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        self.processors().insert(id, processor.clone());
        runtime.spawn(processor.run());
        Ok(id)
    }

    /// Hands `entry` (JSON text, or any text with `concat: raw`) to
    /// processor `id`; false when it is dropped (not JSON, an unknown or
    /// closed processor, a full buffer).
    pub fn push(&self, id: u64, entry: &str) -> bool {
        let Some(processor) = self.processors().get(&id).cloned() else {
            return false;
        };
        if processor.wants_json() && serde_json::from_str::<serde::de::IgnoredAny>(entry).is_err() {
            processor.count(Dropped::Refused, 1);
            return false;
        }
        processor.push(entry)
    }

    /// Closes processor `id`: it takes no more entries and stops once what
    /// it holds is sent.
    pub fn close(&self, id: u64) {
        if let Some(processor) = self.processors().remove(&id) {
            processor.close();
        }
    }

    /// Registers the counter of dropped entries (`None` when the name is
    /// taken by another kind of metric).
    fn register_metric(&self) -> Option<u32> {
        let desc = MetricDesc {
            name: DROPPED_METRIC.to_owned(),
            help: "Entries of plugins' batch processors that were dropped".to_owned(),
            labels: vec!["plugin".to_owned(), "reason".to_owned()],
            kind: MetricKind::Counter,
        };
        match self.metrics.register(desc) {
            Ok(id) => Some(id),
            Err(e) => {
                tracing::warn!("cannot count dropped batch entries: {e}");
                None
            }
        }
    }
}

/// Starts the `plugin-batch` thread and its runtime; its handle.
fn start_runtime() -> Result<tokio::runtime::Handle, String> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start its runtime: {e}"))?;
    let handle = rt.handle().clone();
    std::thread::Builder::new()
        .name("plugin-batch".into())
        .spawn(move || rt.block_on(std::future::pending::<()>()))
        .map_err(|e| format!("cannot start its thread: {e}"))?;
    Ok(handle)
}
