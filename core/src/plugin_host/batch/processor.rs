//! One batch processor: entries buffered as plugins hand them over, sent
//! to the processor's sink (`sink`) when a batch is full, when
//! no entry came for `inactive_timeout`, or `buffer_duration` after a
//! batch's first entry; a failed send is tried again `max_retry_count`
//! times, `retry_delay` apart. At most `max_pending_entries` are held;
//! more are dropped and counted.

use std::sync::{Arc, Mutex, PoisonError};

use abi_stable::std_types::RStr;
use tokio::sync::Notify;
use tokio::time::Instant;

use super::config::{BatchConfig, Concat};
use super::sink;
use crate::plugin_host::metrics::MetricsRegistry;

/// Why entries were dropped, as the drop counter's `reason` label says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dropped {
    /// `max_pending_entries` were held already.
    BufferFull,
    /// The batch failed every send.
    NotDelivered,
    /// The entry was not JSON, or came after the processor closed.
    Refused,
}

impl Dropped {
    fn label(self) -> &'static str {
        match self {
            Dropped::BufferFull => "buffer_full",
            Dropped::NotDelivered => "not_delivered",
            Dropped::Refused => "refused",
        }
    }
}

/// Where dropped entries are counted.
#[derive(Clone)]
pub struct DropCounter {
    /// The host's metrics.
    pub metrics: Arc<MetricsRegistry>,
    /// The counter's id there (`None`: it could not be registered).
    pub id: Option<u32>,
}

/// The entries a processor holds.
#[derive(Debug, Default)]
struct Buffer {
    /// Entries (JSON texts) not yet in a batch being sent.
    entries: Vec<String>,
    /// Entries held in all: buffered, and in the batch being sent.
    held: usize,
    /// When the oldest buffered entry came.
    first_at: Option<Instant>,
    /// When the newest came.
    last_at: Option<Instant>,
    /// No more entries are taken; what is left is sent, then the task ends.
    closed: bool,
}

/// A batch processor, shared by the plugin's calls and its sending task.
pub struct Processor {
    plugin: String,
    conf: BatchConfig,
    buffer: Mutex<Buffer>,
    wake: Notify,
    dropped: DropCounter,
}

impl Processor {
    /// A processor of `plugin` with `conf`, counting drops in `dropped`;
    /// [`Processor::run`] sends its batches.
    pub fn new(plugin: &str, conf: BatchConfig, dropped: DropCounter) -> Processor {
        Processor {
            plugin: plugin.to_owned(),
            conf,
            buffer: Mutex::default(),
            wake: Notify::new(),
            dropped,
        }
    }

    fn buffer(&self) -> std::sync::MutexGuard<'_, Buffer> {
        self.buffer.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether entries must be JSON (all but `concat: raw`).
    pub fn wants_json(&self) -> bool {
        self.conf.concat != Concat::Raw
    }

    /// Takes one entry; false when it is dropped. Never waits.
    pub fn push(&self, entry: &str) -> bool {
        let mut buf = self.buffer();
        if buf.closed {
            drop(buf);
            self.count(Dropped::Refused, 1);
            return false;
        }
        if buf.held >= self.conf.max_pending_entries {
            drop(buf);
            self.count(Dropped::BufferFull, 1);
            return false;
        }
        buf.entries.push(entry.to_owned());
        buf.held += 1;
        let now = Instant::now();
        buf.first_at.get_or_insert(now);
        buf.last_at = Some(now);
        // The sending task learns of a first entry (to time the batch) and
        // of a full batch.
        let wake = buf.entries.len() == 1 || buf.entries.len() >= self.conf.batch_max_size;
        drop(buf);
        if wake {
            self.wake.notify_one();
        }
        true
    }

    /// Counts `n` entries dropped for `why`.
    pub fn count(&self, why: Dropped, n: usize) {
        if let Some(id) = self.dropped.id {
            let labels = [RStr::from(self.plugin.as_str()), RStr::from(why.label())];
            self.dropped.metrics.record(id, &labels, n as f64);
        }
    }

    /// Takes no more entries; what is held is still sent.
    pub fn close(&self) {
        self.buffer().closed = true;
        self.wake.notify_one();
    }

    /// Sends batches as they are due, until the processor is closed and
    /// empty.
    pub async fn run(self: Arc<Processor>) {
        while let Some(batch) = self.next_batch().await {
            let n = batch.len();
            self.deliver(batch).await;
            self.buffer().held -= n;
        }
    }

    /// The next batch once it is due; `None` once closed and empty.
    async fn next_batch(&self) -> Option<Vec<String>> {
        loop {
            let due = {
                let mut buf = self.buffer();
                let now = Instant::now();
                let max = self.conf.batch_max_size;
                let deadline = match (buf.first_at, buf.last_at) {
                    (Some(first), Some(last)) => Some(
                        (last + self.conf.inactive_timeout).min(first + self.conf.buffer_duration),
                    ),
                    _ => None,
                };
                let ready = !buf.entries.is_empty()
                    && (buf.entries.len() >= max
                        || buf.closed
                        || deadline.is_some_and(|at| at <= now));
                if ready {
                    let n = buf.entries.len().min(max);
                    let batch: Vec<String> = buf.entries.drain(..n).collect();
                    if buf.entries.is_empty() {
                        buf.first_at = None;
                        buf.last_at = None;
                    } else {
                        buf.first_at = Some(now);
                    }
                    return Some(batch);
                }
                if buf.closed {
                    return None;
                }
                deadline
            };
            match due {
                None => self.wake.notified().await,
                Some(at) => {
                    tokio::select! {
                        () = self.wake.notified() => {}
                        () = tokio::time::sleep_until(at) => {}
                    }
                }
            }
        }
    }

    /// Sends `batch` to the sink, tried again as the config says; a batch
    /// that fails every try is dropped, logged and counted.
    async fn deliver(&self, batch: Vec<String>) {
        let body = sink::body(&self.conf, &batch);
        let tries = self.conf.max_retry_count.saturating_add(1);
        for attempt in 1..=tries {
            let Err(failure) = sink::send(&self.conf, &body).await else {
                return;
            };
            tracing::warn!(
                plugin = %self.plugin,
                batch = %self.conf.name,
                attempt,
                tries,
                "a batch of {} entries was not delivered: {failure}",
                batch.len()
            );
            if attempt < tries {
                tokio::time::sleep(self.conf.retry_delay).await;
            }
        }
        tracing::error!(
            plugin = %self.plugin,
            batch = %self.conf.name,
            "a batch of {} entries was dropped after {tries} tries",
            batch.len()
        );
        self.count(Dropped::NotDelivered, batch.len());
    }
}
