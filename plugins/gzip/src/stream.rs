//! The compressors of the responses being compressed, by request: each
//! takes a chunk and hands back what it produced, so that nothing of the
//! body is held beyond deflate's own state.

use std::collections::HashMap;
use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use flate2::write::GzEncoder;
use flate2::Compression;

/// One response's compressor; `None` once finished.
type Encoder = Arc<Mutex<Option<GzEncoder<Vec<u8>>>>>;

/// The compressors of one instance (shared by every worker thread).
#[derive(Default)]
pub struct Compressors {
    next: AtomicU64,
    live: Mutex<HashMap<u64, Encoder>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while held leaves at worst one response's stream broken.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Compressors {
    /// A new compressor at `level` (1-9); its key.
    pub fn start(&self, level: u32) -> u64 {
        let key = self.next.fetch_add(1, Ordering::Relaxed);
        let encoder = GzEncoder::new(Vec::new(), Compression::new(level));
        lock(&self.live).insert(key, Arc::new(Mutex::new(Some(encoder))));
        key
    }

    /// Compresses `data`; the bytes produced so far (with the gzip
    /// trailer when `last`, after which the compressor is gone).
    pub fn feed(&self, key: u64, data: &[u8], last: bool) -> Result<Vec<u8>, String> {
        let Some(encoder) = lock(&self.live).get(&key).cloned() else {
            return Err("no compressor for this response".into());
        };
        let mut slot = lock(&encoder);
        let Some(enc) = slot.as_mut() else {
            return Ok(Vec::new());
        };
        enc.write_all(data).map_err(|e| e.to_string())?;
        if !last {
            return Ok(std::mem::take(enc.get_mut()));
        }
        let out = slot.take().map(GzEncoder::finish).transpose();
        drop(slot);
        self.forget(key);
        out.map(Option::unwrap_or_default)
            .map_err(|e| e.to_string())
    }

    /// Drops the compressor of `key` (the response ended or was dropped).
    pub fn forget(&self, key: u64) {
        lock(&self.live).remove(&key);
    }

    /// How many compressors are live.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        lock(&self.live).len()
    }
}

#[cfg(test)]
mod tests {
    use super::Compressors;

    #[test]
    fn a_compressor_goes_with_its_last_chunk_or_when_forgotten() {
        let c = Compressors::default();
        let (a, b) = (c.start(1), c.start(9));
        assert_eq!(c.len(), 2);
        let head = c.feed(a, b"hello ", false).expect("feeds");
        let tail = c.feed(a, b"world", true).expect("ends");
        assert!(!tail.is_empty() && head.len() + tail.len() > 18);
        assert_eq!(c.len(), 1, "the finished compressor is still held");
        c.forget(b);
        assert_eq!(c.len(), 0);
        assert!(c.feed(a, b"late", false).is_err());
    }
}
