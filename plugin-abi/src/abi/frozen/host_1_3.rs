//! The host's services as plugin ABI 1.2 and 1.3 declared them (1.4
//! appended the buffered store read and the metric series).

#![allow(missing_docs)] // The frozen copy of a documented trait.

use abi_stable::{
    sabi_trait,
    std_types::{RArc, ROption, RResult, RSlice, RStr, RString},
};

use crate::abi::{BatchId, LogLevel, MetricId, StoreCounter};

/// The host's services. One object shared by every plugin and thread
/// (cloning a handle clones the reference); every method is quick and never
/// blocks on I/O.
#[sabi_trait]
pub trait HostServices: Clone + Send + Sync {
    /// Adds `delta` to counter `key` atomically; a missing or expired
    /// counter starts from 0 and expires `ttl_ms` from now (0: never).
    fn store_incr(&self, key: RStr<'_>, delta: i64, ttl_ms: u64) -> StoreCounter;
    /// The value stored under `key`, unless missing or expired (a counter
    /// reads as its decimal text).
    fn store_get(&self, key: RStr<'_>) -> ROption<RString>;
    /// Stores `value` under `key`, expiring `ttl_ms` from now (0: never).
    fn store_set(&self, key: RStr<'_>, value: RStr<'_>, ttl_ms: u64);
    /// The plugin_metadata JSON of plugin `plugin`, if configured.
    fn plugin_metadata(&self, plugin: RStr<'_>) -> ROption<RString>;
    /// Wall-clock time, unix milliseconds.
    fn now_unix_ms(&self) -> u64;
    /// Monotonic time in nanoseconds since an arbitrary start.
    fn monotonic_ns(&self) -> u64;
    /// Writes a log line attributed to `plugin`.
    fn log(&self, level: LogLevel, plugin: RStr<'_>, message: RStr<'_>);
    /// Registers (or finds) counter `name` with these label names.
    fn register_counter(
        &self,
        name: RStr<'_>,
        help: RStr<'_>,
        labels: RSlice<'_, RStr<'_>>,
    ) -> RResult<MetricId, RString>;
    /// Registers (or finds) histogram `name` with these labels and buckets.
    fn register_histogram(
        &self,
        name: RStr<'_>,
        help: RStr<'_>,
        labels: RSlice<'_, RStr<'_>>,
        buckets: RSlice<'_, f64>,
    ) -> RResult<MetricId, RString>;
    /// Adds `value` to a counter's series for these label values.
    fn counter_add(&self, id: MetricId, label_values: RSlice<'_, RStr<'_>>, value: u64);
    /// Records `value` in a histogram's series for these label values.
    #[sabi(last_prefix_field)]
    fn histogram_observe(&self, id: MetricId, label_values: RSlice<'_, RStr<'_>>, value: f64);
    /// ABI 1.2: starts a batch processor for an instance of plugin
    /// `plugin`, from `config_json` (its batch size, timeouts, retries,
    /// bound and HTTP sink); its id, or why the config is refused (naming
    /// the field). The instance closes it with [`batch_close`] when dropped.
    ///
    /// [`batch_close`]: HostServices::batch_close
    fn batch_register(&self, plugin: RStr<'_>, config_json: RStr<'_>) -> RResult<BatchId, RString>;
    /// ABI 1.2: hands one entry (JSON text) to batch processor `id` and
    /// returns at once; false when the entry was dropped (not JSON, the
    /// buffer full, the processor unknown or closed), which the host counts.
    fn batch_push(&self, id: BatchId, entry: RStr<'_>) -> bool;
    /// ABI 1.2: closes batch processor `id`: it takes no more entries, and
    /// what it holds is still sent.
    fn batch_close(&self, id: BatchId);
}

/// A shared handle to the host's services, as it crosses the boundary.
pub type HostHandle = HostServices_TO<'static, RArc<()>>;
