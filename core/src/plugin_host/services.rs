//! The gateway's implementation of the host services plugins call: shared
//! store, plugin metadata, clock, logging, metrics, batch processors.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use abi_stable::{
    sabi_trait::TD_Opaque,
    std_types::{RArc, ROption, RResult, RSlice, RStr, RString},
};
use radixgate_plugin::abi::{
    BatchId, HostHandle, HostServices, HostServices_TO, MetricSeries_TO, SeriesHandle,
    StoreCounter, StoreRead,
};
use radixgate_plugin::{LogLevel, MetricId};

use super::batch::Batches;
use super::metrics::{MetricDesc, MetricKind, MetricsRegistry};
use super::store::SharedStore;

struct Inner {
    store: SharedStore,
    metadata: RwLock<HashMap<String, String>>,
    metrics: Arc<MetricsRegistry>,
    batches: Batches,
    start: Instant,
}

/// The host services of one gateway. Cloning shares them.
#[derive(Clone)]
pub struct GatewayServices {
    inner: Arc<Inner>,
}

impl Default for GatewayServices {
    fn default() -> GatewayServices {
        GatewayServices::new(crate::config::StoreLimits::default())
    }
}

impl GatewayServices {
    /// Host services whose shared store holds at most what `store` says.
    pub fn new(store: crate::config::StoreLimits) -> GatewayServices {
        let metrics = Arc::new(MetricsRegistry::default());
        GatewayServices {
            inner: Arc::new(Inner {
                store: SharedStore::new(store),
                metadata: RwLock::default(),
                batches: Batches::new(metrics.clone()),
                metrics,
                start: Instant::now(),
            }),
        }
    }
}

fn now_unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

impl GatewayServices {
    /// The handle passed to plugin constructors.
    pub fn handle(&self) -> HostHandle {
        HostServices_TO::from_ptr(RArc::new(self.clone()), TD_Opaque)
    }

    /// Sets (or with `None` removes) plugin `plugin`'s metadata JSON.
    pub fn set_metadata(&self, plugin: &str, json: Option<String>) {
        let mut map = self
            .inner
            .metadata
            .write()
            .unwrap_or_else(|e| e.into_inner());
        match json {
            Some(json) => map.insert(plugin.to_string(), json),
            None => map.remove(plugin),
        };
    }

    /// The shared store.
    pub fn store(&self) -> &SharedStore {
        &self.inner.store
    }

    /// The metrics plugins registered.
    pub fn metrics(&self) -> &MetricsRegistry {
        &self.inner.metrics
    }

    fn register(
        &self,
        name: RStr<'_>,
        help: RStr<'_>,
        labels: RSlice<'_, RStr<'_>>,
        kind: MetricKind,
    ) -> RResult<MetricId, RString> {
        let desc = MetricDesc {
            name: name.to_string(),
            help: help.to_string(),
            labels: labels.iter().map(|l| l.to_string()).collect(),
            kind,
        };
        self.inner
            .metrics
            .register(desc)
            .map(MetricId)
            .map_err(RString::from)
            .into()
    }
}

impl HostServices for GatewayServices {
    fn store_incr(&self, key: RStr<'_>, delta: i64, ttl_ms: u64) -> StoreCounter {
        let (value, expires_at_ms) =
            self.inner
                .store
                .incr(key.as_str(), delta, ttl_ms, now_unix_ms());
        StoreCounter {
            value,
            expires_at_ms,
        }
    }

    fn store_get(&self, key: RStr<'_>) -> ROption<RString> {
        self.inner
            .store
            .get(key.as_str(), now_unix_ms())
            .map(RString::from)
            .into()
    }

    fn store_get_into(&self, key: RStr<'_>, out: &mut RString) -> StoreRead {
        let store = &self.inner.store;
        match store.get_into(key.as_str(), now_unix_ms(), out) {
            true => StoreRead::Found,
            false => StoreRead::Missing,
        }
    }

    fn metric_series(
        &self,
        id: MetricId,
        label_values: RSlice<'_, RStr<'_>>,
    ) -> ROption<SeriesHandle> {
        self.inner
            .metrics
            .resolve(id.0, label_values.as_slice())
            .map(|cell| MetricSeries_TO::from_ptr(cell, TD_Opaque))
            .into()
    }

    fn store_set(&self, key: RStr<'_>, value: RStr<'_>, ttl_ms: u64) {
        self.inner
            .store
            .set(key.as_str(), value.as_str(), ttl_ms, now_unix_ms())
    }

    fn plugin_metadata(&self, plugin: RStr<'_>) -> ROption<RString> {
        let map = self
            .inner
            .metadata
            .read()
            .unwrap_or_else(|e| e.into_inner());
        map.get(plugin.as_str())
            .map(|json| RString::from(json.as_str()))
            .into()
    }

    fn now_unix_ms(&self) -> u64 {
        now_unix_ms()
    }

    fn monotonic_ns(&self) -> u64 {
        self.inner.start.elapsed().as_nanos() as u64
    }

    fn log(&self, level: LogLevel, plugin: RStr<'_>, message: RStr<'_>) {
        let (plugin, message) = (plugin.as_str(), message.as_str());
        match level {
            LogLevel::Trace => tracing::trace!(plugin, "{message}"),
            LogLevel::Debug => tracing::debug!(plugin, "{message}"),
            LogLevel::Info => tracing::info!(plugin, "{message}"),
            LogLevel::Warn => tracing::warn!(plugin, "{message}"),
            LogLevel::Error => tracing::error!(plugin, "{message}"),
        }
    }

    fn register_counter(
        &self,
        name: RStr<'_>,
        help: RStr<'_>,
        labels: RSlice<'_, RStr<'_>>,
    ) -> RResult<MetricId, RString> {
        self.register(name, help, labels, MetricKind::Counter)
    }

    fn register_histogram(
        &self,
        name: RStr<'_>,
        help: RStr<'_>,
        labels: RSlice<'_, RStr<'_>>,
        buckets: RSlice<'_, f64>,
    ) -> RResult<MetricId, RString> {
        let mut bounds = buckets.to_vec();
        bounds.retain(|b| !b.is_nan());
        bounds.sort_by(f64::total_cmp);
        self.register(name, help, labels, MetricKind::Histogram(bounds))
    }

    fn counter_add(&self, id: MetricId, label_values: RSlice<'_, RStr<'_>>, value: u64) {
        self.inner
            .metrics
            .record(id.0, label_values.as_slice(), value as f64)
    }

    fn histogram_observe(&self, id: MetricId, label_values: RSlice<'_, RStr<'_>>, value: f64) {
        self.inner
            .metrics
            .record(id.0, label_values.as_slice(), value)
    }

    fn batch_register(&self, plugin: RStr<'_>, config_json: RStr<'_>) -> RResult<BatchId, RString> {
        self.inner
            .batches
            .register(plugin.as_str(), config_json.as_str())
            .map(BatchId)
            .map_err(RString::from)
            .into()
    }

    fn batch_push(&self, id: BatchId, entry: RStr<'_>) -> bool {
        self.inner.batches.push(id.0, entry.as_str())
    }

    fn batch_close(&self, id: BatchId) {
        self.inner.batches.close(id.0)
    }
}

#[cfg(test)]
mod tests {
    use super::GatewayServices;
    use abi_stable::std_types::{RSlice, RStr, RString};
    use radixgate_plugin::abi::StoreRead;

    #[test]
    fn the_handle_reaches_store_metadata_and_metrics() {
        let services = GatewayServices::default();
        let handle = services.handle();
        assert_eq!(handle.store_incr("k".into(), 2, 60_000).value, 2);
        let counter = handle.store_incr("k".into(), 1, 60_000);
        assert_eq!(counter.value, 3);
        assert!(counter.expires_at_ms > handle.now_unix_ms());
        assert_eq!(
            handle.store_get("k".into()).into_option().as_deref(),
            Some("3")
        );

        assert!(handle.plugin_metadata("p".into()).is_none());
        services.set_metadata("p", Some(r#"{"a":1}"#.into()));
        let meta = handle.plugin_metadata("p".into()).into_option();
        assert_eq!(meta.as_deref(), Some(r#"{"a":1}"#));

        let labels = [RStr::from("route")];
        let id = handle
            .register_histogram(
                "h".into(),
                "help".into(),
                RSlice::from(&labels[..]),
                RSlice::from(&[0.1, 1.0][..]),
            )
            .into_result()
            .expect("registered");
        handle.histogram_observe(id, RSlice::from(&[RStr::from("r1")][..]), 0.5);
        let all = services.metrics().collect();
        assert_eq!(all[id.0 as usize].1[0].buckets, vec![0, 1]);

        // ABI 1.4: a read into a buffer, a series resolved once.
        let mut out = RString::new();
        assert_eq!(
            handle.store_get_into("k".into(), &mut out),
            StoreRead::Found
        );
        assert_eq!(out.as_str(), "3");
        let missing = handle.store_get_into("nothing".into(), &mut out);
        assert_eq!(missing, StoreRead::Missing);
        let series = handle
            .metric_series(id, RSlice::from(&[RStr::from("r1")][..]))
            .into_option()
            .expect("a series");
        series.record(0.05);
        let all = services.metrics().collect();
        let s = &all[id.0 as usize].1[0];
        assert_eq!((s.count, s.buckets.clone()), (2, vec![1, 2]));
        let wrong = handle.metric_series(id, RSlice::from(&[][..]));
        assert!(wrong.is_none());
    }
}
