//! A batch processor of the host, as a plugin uses it: entries handed over
//! one at a time, returning at once, sent in batches by the host.

use abi_stable::std_types::RStr;

use crate::abi::{BatchId, HostHandle};

/// A batch processor the host runs for this plugin instance
/// ([`Host::batch`](super::Host::batch)): the host buffers the entries
/// pushed here and POSTs them as JSON arrays to the sink its config names,
/// by batch size and timeouts, retrying failed sends. Keep it in the
/// instance; dropping it closes the processor (what it holds is still
/// sent).
pub struct Batch {
    raw: HostHandle,
    id: BatchId,
}

impl Batch {
    pub(crate) fn new(raw: HostHandle, id: BatchId) -> Batch {
        Batch { raw, id }
    }

    /// Hands `entry` to the processor; false when it was dropped (the
    /// buffer is full), which the host counts in its metrics.
    pub fn push(&self, entry: &serde_json::Value) -> bool {
        self.push_json(&entry.to_string())
    }

    /// Hands an entry already written as JSON text; false when it was
    /// dropped (not JSON, the buffer full).
    pub fn push_json(&self, json: &str) -> bool {
        self.raw.batch_push(self.id, RStr::from(json))
    }
}

impl Drop for Batch {
    fn drop(&mut self) {
        self.raw.batch_close(self.id);
    }
}

impl std::fmt::Debug for Batch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Batch").field(&self.id.0).finish()
    }
}
