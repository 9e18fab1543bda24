//! The batch-processor fields APISIX's loggers share (its
//! `batch_processor_manager:wrap_schema`), with the schema fragment each
//! logger's schema includes, and the host's batch config made of them.

use radixgate_plugin::serde::Deserialize;
use radixgate_plugin::serde_json::{json, Map, Value};

/// The properties of [`BatchFields`] as JSON Schema text, to splice into a
/// logger's `properties` with `concat!` (APISIX 3.x's types and defaults;
/// each logger adds its own `name`).
#[macro_export]
macro_rules! batch_schema {
    () => {
        r#""batch_max_size": {"type": "integer", "minimum": 1, "default": 1000},
        "inactive_timeout": {"type": "integer", "minimum": 1, "default": 5},
        "buffer_duration": {"type": "integer", "minimum": 1, "default": 60},
        "max_retry_count": {"type": "integer", "minimum": 0, "default": 0},
        "retry_delay": {"type": "integer", "minimum": 0, "default": 1},
        "max_pending_entries": {"type": "integer", "minimum": 1}"#
    };
}

/// The batch-processor fields of a logger's config (flattened into it).
#[derive(Debug, Clone, Deserialize)]
#[serde(crate = "radixgate_plugin::serde")]
pub struct BatchFields {
    /// The processor's name in log lines (each logger has its default).
    #[serde(default)]
    pub name: Option<String>,
    /// Entries per batch.
    #[serde(default = "thousand")]
    pub batch_max_size: u64,
    /// Seconds without an entry after which a batch is sent.
    #[serde(default = "five")]
    pub inactive_timeout: u64,
    /// Seconds after its first entry by which a batch is sent.
    #[serde(default = "sixty")]
    pub buffer_duration: u64,
    /// Sends of a failed batch after the first.
    #[serde(default)]
    pub max_retry_count: u64,
    /// Seconds before each retry.
    #[serde(default = "one")]
    pub retry_delay: u64,
    /// Entries held at most (the host's default when absent).
    #[serde(default)]
    pub max_pending_entries: Option<u64>,
}

fn thousand() -> u64 {
    1000
}
fn five() -> u64 {
    5
}
fn sixty() -> u64 {
    60
}
fn one() -> u64 {
    1
}

impl BatchFields {
    /// The host's batch config of these fields (`default_name` when the
    /// config names none); the logger adds its sink.
    pub fn config(&self, default_name: &str) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert(
            "name".into(),
            json!(self.name.as_deref().unwrap_or(default_name)),
        );
        m.insert("batch_max_size".into(), json!(self.batch_max_size));
        m.insert("inactive_timeout".into(), json!(self.inactive_timeout));
        m.insert("buffer_duration".into(), json!(self.buffer_duration));
        m.insert("max_retry_count".into(), json!(self.max_retry_count));
        m.insert("retry_delay".into(), json!(self.retry_delay));
        if let Some(max) = self.max_pending_entries {
            m.insert("max_pending_entries".into(), json!(max));
        }
        m
    }
}
