//! The mock host: in-memory store, metadata, clock, logs and metrics.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use abi_stable::{
    sabi_trait::TD_Opaque,
    std_types::{RArc, RNone, ROption, RResult, RSlice, RSome, RStr, RString},
};

use crate::abi::{
    HostHandle, HostOp, HostServices, HostServices_TO, HttpCall, LogLevel, MetricId, OpResult,
    RedisCall, StoreCounter,
};

/// What the mock host recorded: store, log lines, metrics, operations.
#[derive(Default)]
struct HostState {
    store: HashMap<String, (String, u64)>,
    metadata: HashMap<String, String>,
    logs: Vec<(LogLevel, String, String)>,
    metrics: Vec<String>,
    samples: HashMap<(u32, Vec<String>), f64>,
    ops: Vec<HostOp>,
    http: Option<OpHandler<HttpCall>>,
    redis: Option<OpHandler<RedisCall>>,
}

/// How the test answers an operation of a waiting phase.
type OpHandler<T> = Arc<dyn Fn(&T) -> OpResult + Send + Sync>;

/// An in-memory host: store, metadata, clock, logs and metrics, all
/// inspectable by the test.
#[derive(Clone, Default)]
pub struct MockHost {
    state: Arc<Mutex<HostState>>,
    start: Option<Instant>,
}

impl MockHost {
    /// A host with nothing stored.
    pub fn new() -> MockHost {
        MockHost {
            state: Arc::default(),
            start: Some(Instant::now()),
        }
    }

    fn with<R>(&self, f: impl FnOnce(&mut HostState) -> R) -> R {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        f(&mut state)
    }

    /// Sets plugin `plugin`'s plugin_metadata JSON.
    pub fn set_metadata(&self, plugin: &str, json: &str) {
        self.with(|s| s.metadata.insert(plugin.into(), json.into()));
    }

    /// Every log line so far: (level, plugin, message).
    pub fn logs(&self) -> Vec<(LogLevel, String, String)> {
        self.with(|s| s.logs.clone())
    }

    /// The sum recorded for a metric series (counter total or histogram sum).
    pub fn metric(&self, id: MetricId, label_values: &[&str]) -> f64 {
        let key = (id.0, label_values.iter().map(|v| v.to_string()).collect());
        self.with(|s| s.samples.get(&key).copied().unwrap_or(0.0))
    }

    /// Answers every HTTP request of a waiting phase with `answer`
    /// (without one, they fail).
    pub fn on_http(&self, answer: impl Fn(&HttpCall) -> OpResult + Send + Sync + 'static) {
        self.with(|s| s.http = Some(Arc::new(answer)));
    }

    /// Answers every Redis command of a waiting phase with `answer`
    /// (without one, they fail).
    pub fn on_redis(&self, answer: impl Fn(&RedisCall) -> OpResult + Send + Sync + 'static) {
        self.with(|s| s.redis = Some(Arc::new(answer)));
    }

    /// Every host operation waiting phases asked for, in order.
    pub fn ops(&self) -> Vec<HostOp> {
        self.with(|s| s.ops.clone())
    }

    /// Runs `op` as the gateway would, at once: a sleep ends immediately
    /// (recorded), HTTP and Redis go to the test's answers.
    pub fn run_op(&self, op: HostOp) -> OpResult {
        let (http, redis) = self.with(|s| {
            s.ops.push(op.clone());
            (s.http.clone(), s.redis.clone())
        });
        let none =
            |what: &str| OpResult::Failed(format!("the mock host has no {what} answer").into());
        match op {
            HostOp::Sleep { .. } => OpResult::Done,
            HostOp::Http(call) => http.map_or_else(|| none("HTTP"), |answer| answer(&call)),
            HostOp::Redis(call) => redis.map_or_else(|| none("Redis"), |answer| answer(&call)),
        }
    }

    /// The handle a plugin receives.
    pub fn handle(&self) -> HostHandle {
        HostServices_TO::from_ptr(RArc::new(self.clone()), TD_Opaque)
    }

    fn now_ms() -> u64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0)
    }

    fn expiry(ttl_ms: u64) -> u64 {
        if ttl_ms == 0 {
            0
        } else {
            MockHost::now_ms() + ttl_ms
        }
    }

    fn register(&self, name: RStr<'_>) -> RResult<MetricId, RString> {
        self.with(|s| {
            let index = match s.metrics.iter().position(|m| m == name.as_str()) {
                Some(i) => i,
                None => {
                    s.metrics.push(name.to_string());
                    s.metrics.len() - 1
                }
            };
            RResult::ROk(MetricId(index as u32))
        })
    }

    fn record(&self, id: MetricId, labels: RSlice<'_, RStr<'_>>, value: f64) {
        let key = (id.0, labels.iter().map(|v| v.to_string()).collect());
        self.with(|s| *s.samples.entry(key).or_insert(0.0) += value);
    }
}

impl HostServices for MockHost {
    fn store_incr(&self, key: RStr<'_>, delta: i64, ttl_ms: u64) -> StoreCounter {
        let now = MockHost::now_ms();
        self.with(|s| {
            let entry = s
                .store
                .entry(key.to_string())
                .or_insert_with(|| ("0".into(), MockHost::expiry(ttl_ms)));
            if entry.1 != 0 && entry.1 <= now {
                *entry = ("0".into(), MockHost::expiry(ttl_ms));
            }
            let value = entry.0.parse::<i64>().unwrap_or(0).saturating_add(delta);
            entry.0 = value.to_string();
            StoreCounter {
                value,
                expires_at_ms: entry.1,
            }
        })
    }

    fn store_get(&self, key: RStr<'_>) -> ROption<RString> {
        let now = MockHost::now_ms();
        self.with(|s| match s.store.get(key.as_str()) {
            Some((value, exp)) if *exp == 0 || *exp > now => RSome(value.as_str().into()),
            _ => RNone,
        })
    }

    fn store_set(&self, key: RStr<'_>, value: RStr<'_>, ttl_ms: u64) {
        let entry = (value.to_string(), MockHost::expiry(ttl_ms));
        self.with(|s| s.store.insert(key.to_string(), entry));
    }

    fn plugin_metadata(&self, plugin: RStr<'_>) -> ROption<RString> {
        self.with(|s| s.metadata.get(plugin.as_str()).map(|m| m.as_str().into()))
            .into()
    }

    fn now_unix_ms(&self) -> u64 {
        MockHost::now_ms()
    }

    fn monotonic_ns(&self) -> u64 {
        self.start.map_or(0, |t| t.elapsed().as_nanos() as u64)
    }

    fn log(&self, level: LogLevel, plugin: RStr<'_>, message: RStr<'_>) {
        let line = (level, plugin.to_string(), message.to_string());
        self.with(|s| s.logs.push(line));
    }

    fn register_counter(
        &self,
        name: RStr<'_>,
        _help: RStr<'_>,
        _labels: RSlice<'_, RStr<'_>>,
    ) -> RResult<MetricId, RString> {
        self.register(name)
    }

    fn register_histogram(
        &self,
        name: RStr<'_>,
        _help: RStr<'_>,
        _labels: RSlice<'_, RStr<'_>>,
        _buckets: RSlice<'_, f64>,
    ) -> RResult<MetricId, RString> {
        self.register(name)
    }

    fn counter_add(&self, id: MetricId, label_values: RSlice<'_, RStr<'_>>, value: u64) {
        self.record(id, label_values, value as f64)
    }

    fn histogram_observe(&self, id: MetricId, label_values: RSlice<'_, RStr<'_>>, value: f64) {
        self.record(id, label_values, value)
    }
}
