//! Services the host offers every plugin: a shared counter/TTL store, plugin
//! metadata, a clock, logging, metrics, (ABI 1.2) batch processors, and
//! (ABI 1.4) reads into a buffer and metric series resolved once.

use abi_stable::{
    sabi_trait,
    std_types::{RArc, RNone, ROption, RResult, RSlice, RStr, RString},
    StableAbi,
};

/// Log levels, as `tracing`'s.
#[repr(u8)]
#[derive(StableAbi, Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogLevel {
    /// Very detailed.
    Trace = 0,
    /// For debugging.
    Debug = 1,
    /// Normal events.
    Info = 2,
    /// Something is off.
    Warn = 3,
    /// Something failed.
    Error = 4,
}

/// A metric registered with the host.
#[repr(transparent)]
#[derive(StableAbi, Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MetricId(pub u32);

/// A counter in the shared store after an increment.
#[repr(C)]
#[derive(StableAbi, Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoreCounter {
    /// The value after the increment.
    pub value: i64,
    /// When the counter expires (unix ms; 0: never).
    pub expires_at_ms: u64,
}

/// A batch processor the host started for a plugin instance
/// ([`HostServices::batch_register`]).
#[repr(transparent)]
#[derive(StableAbi, Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct BatchId(pub u64);

/// What [`HostServices::store_get_into`] found.
#[repr(u8)]
#[derive(StableAbi, Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreRead {
    /// The value is in the buffer.
    Found = 0,
    /// No value under the key (or it expired).
    Missing = 1,
    /// The host is older than ABI 1.4: ask [`HostServices::store_get`].
    Unsupported = 2,
}

/// One series of a metric (a label set), resolved once by
/// [`HostServices::metric_series`]: an update through it is a few atomic
/// adds, with no label lookup and no lock.
#[sabi_trait]
pub trait MetricSeries: Send + Sync {
    /// Adds `value` to a counter's series, or records it as an observation
    /// of a histogram's.
    #[sabi(last_prefix_field)]
    fn record(&self, value: f64);
}

/// A metric series as it crosses the boundary.
pub type SeriesHandle = MetricSeries_TO<'static, RArc<()>>;

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
    /// ABI 1.4: writes the value under `key` into `out` (cleared first),
    /// as [`store_get`] answers it, so that a reused buffer reads it
    /// without an allocation. [`StoreRead::Unsupported`] from an older
    /// host (this default).
    ///
    /// [`store_get`]: HostServices::store_get
    fn store_get_into(&self, key: RStr<'_>, out: &mut RString) -> StoreRead {
        let _ = (key, out);
        StoreRead::Unsupported
    }
    /// ABI 1.4: the series of metric `id` for these label values, made
    /// when new; `None` when it cannot be kept (unknown id, another
    /// number of labels, past the host's bounds) and from an older host
    /// (this default): update with [`counter_add`] or
    /// [`histogram_observe`] then.
    ///
    /// [`counter_add`]: HostServices::counter_add
    /// [`histogram_observe`]: HostServices::histogram_observe
    fn metric_series(
        &self,
        id: MetricId,
        label_values: RSlice<'_, RStr<'_>>,
    ) -> ROption<SeriesHandle> {
        let _ = (id, label_values);
        RNone
    }
}

/// A shared handle to the host's services, as it crosses the boundary.
pub type HostHandle = HostServices_TO<'static, RArc<()>>;
