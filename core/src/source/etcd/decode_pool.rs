//! Decodes the values of a full read on worker threads, page by page, while
//! the next page is still on its way from etcd; the results come back in
//! the order the values were handed in, with what keeping them takes (key
//! and text shared, plugins fingerprinted) done there too. A value whose
//! decoding panics is refused on its own; the others are not affected.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;

use super::state::{decode_value, plugin_fingerprint};
use crate::config::{Id, Kind, ObjectError};
use crate::source::Item;

/// Values at most this many are decoded on the calling thread when no
/// worker runs yet (threads cost more than they save for a few).
const INLINE: usize = 512;
/// Values handed to a worker at a time.
const CHUNK: usize = 2048;

/// A value to decode: its kind and id (from its key), key and text.
#[derive(Debug)]
pub(super) struct Pending {
    pub slot: (Kind, Id),
    pub key: String,
    pub raw: Vec<u8>,
}

/// A value with what decoding it gave, ready to be kept: key and text
/// shared, the fingerprint of its plugins taken.
#[derive(Debug)]
pub(super) struct Decoded {
    pub slot: (Kind, Id),
    pub key: Arc<str>,
    pub raw: Arc<[u8]>,
    /// [`plugin_fingerprint`] of the object (`None` when refused).
    pub plugins: Option<u64>,
    pub result: Result<Item, ObjectError>,
}

impl Decoded {
    pub fn new(
        slot: (Kind, Id),
        key: Arc<str>,
        raw: Arc<[u8]>,
        result: Result<Item, ObjectError>,
    ) -> Self {
        let plugins = result
            .as_ref()
            .ok()
            .and_then(|i| plugin_fingerprint(&i.object));
        Decoded {
            slot,
            key,
            raw,
            plugins,
            result,
        }
    }
}

type Batch<T> = (usize, Vec<T>);

/// Worker threads (started with the first large page) and the batches
/// handed to them.
#[derive(Debug, Default)]
pub(super) struct DecodePool {
    jobs: Option<Sender<Batch<Pending>>>,
    results: Option<Receiver<Batch<Decoded>>>,
    workers: Vec<JoinHandle<()>>,
    /// Batches handed to workers.
    sent: usize,
    /// Batches decoded on the calling thread.
    done: Vec<Batch<Decoded>>,
}

impl DecodePool {
    /// Hands `values` over for decoding.
    pub fn submit(&mut self, values: Vec<Pending>) {
        if values.is_empty() {
            return;
        }
        if self.jobs.is_none() && values.len() > INLINE {
            self.start_workers();
        }
        let mut values = values.into_iter();
        loop {
            let chunk: Vec<Pending> = values.by_ref().take(CHUNK).collect();
            if chunk.is_empty() {
                return;
            }
            let seq = self.sent + self.done.len();
            let chunk = match &self.jobs {
                Some(jobs) => match jobs.send((seq, chunk)) {
                    Ok(()) => {
                        self.sent += 1;
                        continue;
                    }
                    // Every worker is gone: decoded here.
                    Err(back) => back.0 .1,
                },
                None => chunk,
            };
            self.done
                .push((seq, chunk.into_iter().map(decode_one).collect()));
        }
    }

    /// Every value handed in, decoded, in the order they came.
    pub fn finish(mut self) -> Vec<Decoded> {
        // Closing the queue lets each worker end once it is drained.
        self.jobs = None;
        let mut batches = std::mem::take(&mut self.done);
        let here = batches.len();
        if let Some(results) = self.results.take() {
            // Ends when the last worker has ended.
            batches.extend(results.iter());
        }
        let lost = self.sent.saturating_sub(batches.len() - here);
        if lost > 0 {
            // Not expected: a worker died outside a value's decoding. Those
            // keys keep their last good version (new ones are not served).
            tracing::error!(
                lost_batches = lost,
                "etcd: config values lost while decoding; their keys keep their last good version"
            );
        }
        batches.sort_unstable_by_key(|(seq, _)| *seq);
        batches.into_iter().flat_map(|(_, b)| b).collect()
    }

    fn start_workers(&mut self) {
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get().min(8));
        if threads < 2 {
            return;
        }
        let (jobs, queue) = channel::<Batch<Pending>>();
        let (results, collected) = channel();
        let queue = Arc::new(Mutex::new(queue));
        for _ in 0..threads {
            let (queue, results) = (queue.clone(), results.clone());
            let spawned = std::thread::Builder::new()
                .name("config-decode".into())
                .spawn(move || work(&queue, &results));
            if let Ok(handle) = spawned {
                self.workers.push(handle);
            }
        }
        if !self.workers.is_empty() {
            self.jobs = Some(jobs);
            self.results = Some(collected);
        }
    }
}

impl Drop for DecodePool {
    /// Stops the workers (a read that failed half-way drops its pool).
    fn drop(&mut self) {
        self.jobs = None;
        self.results = None;
        for w in self.workers.drain(..) {
            let _ = w.join();
        }
    }
}

/// A worker: decodes batches until the queue is closed.
fn work(queue: &Mutex<Receiver<Batch<Pending>>>, results: &Sender<Batch<Decoded>>) {
    loop {
        let next = queue.lock().unwrap_or_else(PoisonError::into_inner).recv();
        let Ok((seq, batch)) = next else {
            return;
        };
        let decoded = batch.into_iter().map(decode_one).collect();
        if results.send((seq, decoded)).is_err() {
            return;
        }
    }
}

/// Decodes one value; a panic refuses that value only.
fn decode_one(p: Pending) -> Decoded {
    let (kind, id) = (p.slot.0, &p.slot.1);
    let result = catch_unwind(AssertUnwindSafe(|| decode_value(kind, id, &p.key, &p.raw)))
        .unwrap_or_else(|_| {
            Err(ObjectError::new(
                kind,
                &id.0,
                "",
                format!("{}: decoding failed", p.key),
            ))
        });
    Decoded::new(p.slot, Arc::from(p.key), Arc::from(p.raw), result)
}
