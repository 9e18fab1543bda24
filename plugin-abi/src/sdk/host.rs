//! The host's services as a plugin calls them.

use abi_stable::std_types::{RSlice, RStr};

use crate::abi::{HostHandle, LogLevel, MetricId, StoreCounter};

/// The host's services for one plugin: shared store, metadata, clock,
/// logging, metrics. Cheap to clone; keep it in the plugin instance.
#[derive(Clone)]
pub struct Host {
    raw: HostHandle,
    plugin: &'static str,
}

impl Host {
    /// Wraps the host's handle for plugin `plugin` (done by the SDK).
    pub fn new(raw: HostHandle, plugin: &'static str) -> Host {
        Host { raw, plugin }
    }

    /// Adds `delta` to counter `key` atomically; a missing or expired
    /// counter starts at 0 and expires in `ttl_ms` (0: never).
    pub fn incr(&self, key: &str, delta: i64, ttl_ms: u64) -> StoreCounter {
        self.raw.store_incr(key.into(), delta, ttl_ms)
    }

    /// The value under `key`, unless missing or expired.
    pub fn get(&self, key: &str) -> Option<String> {
        self.raw.store_get(key.into()).into_option().map(Into::into)
    }

    /// Stores `value` under `key` for `ttl_ms` (0: never expires).
    pub fn set(&self, key: &str, value: &str, ttl_ms: u64) {
        self.raw.store_set(key.into(), value.into(), ttl_ms)
    }

    /// This plugin's plugin_metadata JSON, if configured. It may change
    /// while an instance lives (instances are not rebuilt for it): read it
    /// where it is used, per request, as APISIX plugins do.
    pub fn metadata(&self) -> Option<String> {
        self.raw
            .plugin_metadata(self.plugin.into())
            .into_option()
            .map(Into::into)
    }

    /// Wall-clock time in unix milliseconds.
    pub fn now_unix_ms(&self) -> u64 {
        self.raw.now_unix_ms()
    }

    /// Monotonic nanoseconds since an arbitrary start.
    pub fn monotonic_ns(&self) -> u64 {
        self.raw.monotonic_ns()
    }

    /// Writes a log line attributed to this plugin.
    pub fn log(&self, level: LogLevel, message: &str) {
        self.raw.log(level, self.plugin.into(), message.into())
    }

    /// Registers (or finds) a counter with these label names.
    pub fn register_counter(
        &self,
        name: &str,
        help: &str,
        labels: &[&str],
    ) -> Result<MetricId, String> {
        let labels: Vec<RStr<'_>> = labels.iter().map(|l| RStr::from(*l)).collect();
        self.raw
            .register_counter(name.into(), help.into(), RSlice::from(&labels[..]))
            .into_result()
            .map_err(Into::into)
    }

    /// Registers (or finds) a histogram with these labels and buckets.
    pub fn register_histogram(
        &self,
        name: &str,
        help: &str,
        labels: &[&str],
        buckets: &[f64],
    ) -> Result<MetricId, String> {
        let labels: Vec<RStr<'_>> = labels.iter().map(|l| RStr::from(*l)).collect();
        self.raw
            .register_histogram(
                name.into(),
                help.into(),
                RSlice::from(&labels[..]),
                RSlice::from(buckets),
            )
            .into_result()
            .map_err(Into::into)
    }

    /// Adds `value` to a counter's series for these label values.
    pub fn counter_add(&self, id: MetricId, label_values: &[RStr<'_>], value: u64) {
        self.raw.counter_add(id, RSlice::from(label_values), value)
    }

    /// Records `value` in a histogram's series for these label values.
    pub fn histogram_observe(&self, id: MetricId, label_values: &[RStr<'_>], value: f64) {
        self.raw
            .histogram_observe(id, RSlice::from(label_values), value)
    }
}
