//! The host's services as a plugin calls them.

use super::batch::Batch;
use super::series::Series;

use std::cell::Cell;
use std::time::Duration;

use abi_stable::std_types::{RBox, RSlice, RStr, RString};

use super::ops::{HttpRequest, HttpResponse};
use super::redis::{RedisReply, RedisTarget};
use super::wait::HostCall;
use crate::abi::{HostHandle, HostOp, LogLevel, MetricId, OpResult, StoreCounter, StoreRead};

thread_local! {
    /// The buffer [`Host::get_with`] reads into, reused by every read on
    /// the thread (taken out while in use, so a read inside `f` works).
    static READ: Cell<RString> = const { Cell::new(RString::new()) };
}

/// The host's services for one plugin: shared store, metadata, clock,
/// logging, metrics, batch processors, and the operations a waiting phase
/// awaits. Cheap to clone; keep it in the plugin instance.
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

    /// `f` of the value under `key`, unless missing or expired; the value
    /// is read into a buffer of the thread, so that a read allocates
    /// nothing once it has grown (on a host older than ABI 1.4, as
    /// [`Host::get`]).
    pub fn get_with<R>(&self, key: &str, f: impl FnOnce(&str) -> R) -> Option<R> {
        let mut buf = READ.take();
        let out = match self.raw.store_get_into(key.into(), &mut buf) {
            StoreRead::Found => Some(f(buf.as_str())),
            StoreRead::Missing => None,
            StoreRead::Unsupported => self.get(key).map(|v| f(&v)),
        };
        READ.set(buf);
        out
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

    /// The series of metric `id` for these label values, to update
    /// without looking the labels up each time; `None` when the host
    /// cannot keep it (past its bounds) or is older than ABI 1.4: use
    /// [`Host::counter_add`] or [`Host::histogram_observe`] then.
    pub fn series(&self, id: MetricId, label_values: &[RStr<'_>]) -> Option<Series> {
        self.raw
            .metric_series(id, RSlice::from(label_values))
            .into_option()
            .map(Series::new)
    }

    /// Starts a batch processor of the host for this instance (a logger's
    /// buffer), from `config`: the sink `uri` the batches are POSTed to as
    /// JSON arrays, and APISIX's batch-processor fields `batch_max_size`,
    /// `inactive_timeout`, `buffer_duration`, `max_retry_count`,
    /// `retry_delay`, plus `max_pending_entries`, `timeout`, `headers`,
    /// `ssl_verify` (see the plugin docs). An error names the bad field.
    /// Call it in [`Plugin::new`](crate::Plugin::new) and keep the
    /// [`Batch`] in the instance.
    pub fn batch(&self, config: &serde_json::Value) -> Result<Batch, String> {
        let json = config.to_string();
        self.raw
            .batch_register(self.plugin.into(), json.as_str().into())
            .into_result()
            .map(|id| Batch::new(self.raw.clone(), id))
            .map_err(Into::into)
    }

    /// Waits `duration` on the host's timer; for a waiting phase's future
    /// ([`Decision::wait`](crate::Decision::wait)). An error only when the
    /// host could not wait.
    pub fn sleep(&self, duration: Duration) -> HostCall<Result<(), String>> {
        let ms = u64::try_from(duration.as_millis()).unwrap_or(u64::MAX);
        HostCall::new(HostOp::Sleep { ms }, |result| match result {
            OpResult::Done => Ok(()),
            other => Err(unexpected(other)),
        })
    }

    /// Sends `request` with the host's HTTP client; for a waiting phase's
    /// future. An error when it could not be sent or timed out (an answer
    /// with any status is a response).
    pub fn http(&self, request: HttpRequest) -> HostCall<Result<HttpResponse, String>> {
        HostCall::new(
            HostOp::Http(RBox::new(request.into_call())),
            |result| match result {
                OpResult::Http(answer) => Ok(HttpResponse::from_answer(RBox::into_inner(answer))),
                other => Err(unexpected(other)),
            },
        )
    }

    /// Runs one Redis command on `target` over the host's pooled
    /// connections; for a waiting phase's future. `args` are the command
    /// and its arguments, text or bytes: `["INCR", &key]`,
    /// `["EVAL", SCRIPT, "1", &key, &limit]`. The server's error reply is
    /// a [`RedisReply::Error`] ([`RedisReply::into_result`] makes it an
    /// error); an error here means the command could not be run (the
    /// target unreachable, the budget spent), naming the target.
    pub fn redis<I>(&self, target: &RedisTarget, args: I) -> HostCall<Result<RedisReply, String>>
    where
        I: IntoIterator,
        I::Item: AsRef<[u8]>,
    {
        HostCall::new(
            HostOp::Redis(RBox::new(target.call(args))),
            |result| match result {
                OpResult::Redis(resp) => RedisReply::parse(&resp)
                    .map(|(reply, _)| reply)
                    .ok_or_else(|| "the host handed back a reply that is not RESP".to_owned()),
                other => Err(unexpected(other)),
            },
        )
    }
}

/// The error for a result that does not answer the operation.
fn unexpected(result: OpResult) -> String {
    match result {
        OpResult::Failed(why) => why.into_string(),
        other => format!("the host answered with {other:?}"),
    }
}
