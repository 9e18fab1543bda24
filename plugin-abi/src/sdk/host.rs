//! The host's services as a plugin calls them.

use std::time::Duration;

use abi_stable::std_types::{RBox, RSlice, RStr};

use super::ops::{HttpRequest, HttpResponse, RedisReply, RedisTarget};
use super::wait::HostCall;
use crate::abi::{HostHandle, HostOp, LogLevel, MetricId, OpResult, StoreCounter};

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

    /// Runs one Redis command (`["INCR", "key"]`) on `target` over the
    /// host's pooled connections; for a waiting phase's future. The
    /// server's error reply is a [`RedisReply::Error`]; an error here means
    /// the command could not be run (unreachable, timed out).
    pub fn redis(
        &self,
        target: &RedisTarget,
        args: &[&[u8]],
    ) -> HostCall<Result<RedisReply, String>> {
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
