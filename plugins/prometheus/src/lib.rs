//! `prometheus`: records each request's metrics in the log phase (APISIX's
//! plugin, priority 500): `apisix_http_status` (by code, route,
//! matched_uri, matched_host, service, consumer, node, request_type,
//! request_llm_model, llm_model), `apisix_http_latency` (request, upstream
//! and apisix, in ms) and `apisix_bandwidth` (ingress, egress bytes), the
//! latter two by type, route, service, consumer, node and the three AI
//! labels. `request_type` is the request variable of that name, else
//! `traditional_http`; the model labels are the `request_llm_model` and
//! `llm_model` variables, else empty. The host owns the registry and
//! renders it, with its own gateway-wide families, at
//! `plugins.prometheus.export_uri` on its own listener.
//!
//! What a request contributes is read from the request variables the host
//! sets (nginx's names: `request_time`, `upstream_response_time`,
//! `request_length`, `bytes_sent`, `upstream_addr`, `service_id`,
//! `matched_uri`, `matched_host`); when the host has not set them, the
//! plugin times the request from its own rewrite phase and counts the
//! Content-Length headers.
//!
//! ```json
//! "prometheus": {"prefer_name": false}
//! ```

mod metrics;
mod series;

use std::cell::RefCell;

use radixgate_plugin::serde::Deserialize;
use radixgate_plugin::{export_plugin, ConfigError, Ctx, Decision, Host, Phase, Phases, Plugin};

pub use metrics::{Metrics, LATENCY_BUCKETS};
use series::{Labels, Updates, Which};

thread_local! {
    /// A text buffer reused by every request on the thread.
    static BUF: RefCell<String> = const { RefCell::new(String::new()) };
}

/// Request variable holding the monotonic ns at rewrite (timing fallback).
const START_VAR: &str = "prometheus.start_ns";

/// The config on a route, service or global rule.
#[derive(Debug, Deserialize)]
#[serde(crate = "radixgate_plugin::serde", deny_unknown_fields)]
pub struct Config {
    /// Label routes and services by name (`route_name`, `service_name`
    /// variables) rather than id (default false).
    #[serde(default)]
    pub prefer_name: bool,
    /// APISIX's per-plugin options (priority, disable, filter...), which
    /// the host applies; accepted here so that the closed schema allows them.
    #[serde(default, rename = "_meta")]
    pub meta: Option<radixgate_plugin::serde_json::Value>,
}

/// One config's recorder.
pub struct Prometheus {
    host: Host,
    metrics: Metrics,
    prefer_name: bool,
    /// "0".."999": status code labels without a per-request allocation.
    codes: Vec<String>,
    /// This instance's number in the threads' series caches.
    instance: u64,
}

/// A variable as a number (nginx's "0.012"); `None` when unset or not one.
fn number(ctx: &Ctx<'_>, name: &str) -> Option<f64> {
    decimal(ctx.var(name)?)
}

/// A header as a byte count.
fn length(value: Option<&str>) -> f64 {
    value.and_then(decimal).unwrap_or(0.0)
}

/// `text` (trimmed) as a number, as `str::parse::<f64>` reads it. A plain
/// decimal of at most 15 digits, the host's times and lengths, is read
/// here: its digits and the power of ten are exact, so one division
/// rounds once, to the same value `parse` gives, for a fraction of its
/// cost.
fn decimal(text: &str) -> Option<f64> {
    const TENS: [f64; 16] = [
        1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
    ];
    let parse = || text.trim().parse().ok();
    let bytes = text.as_bytes();
    if bytes.is_empty() || bytes.len() > 16 {
        return parse();
    }
    let (mut n, mut point) = (0u64, None);
    for (i, &b) in bytes.iter().enumerate() {
        match b {
            b'0'..=b'9' => n = n * 10 + u64::from(b - b'0'),
            b'.' if i > 0 && point.is_none() => point = Some(i),
            _ => return parse(),
        }
    }
    let decimals = point.map_or(0, |p| bytes.len() - p - 1);
    if bytes.len() - usize::from(point.is_some()) > 15 {
        return parse();
    }
    // At most 15 digits: n < 10^15 < 2^53, exact as f64.
    Some(n as f64 / TENS[decimals])
}

/// The node label: the address's host part (APISIX's balancer_ip).
fn node_ip(addr: &str) -> &str {
    let addr = addr.split(',').next().unwrap_or(addr).trim();
    if let Some(rest) = addr.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    match addr.rsplit_once(':') {
        Some((host, port)) if !host.contains(':') && port.bytes().all(|b| b.is_ascii_digit()) => {
            host
        }
        _ => addr,
    }
}

impl Prometheus {
    /// Request latency in ms: the host's `request_time`, else our own.
    fn request_ms(&self, ctx: &Ctx<'_>) -> Option<f64> {
        if let Some(seconds) = number(ctx, "request_time") {
            return Some(seconds * 1000.0);
        }
        let start = ctx.var(START_VAR)?.parse::<u64>().ok()?;
        let elapsed = self.host.monotonic_ns().saturating_sub(start);
        Some(elapsed as f64 / 1_000_000.0)
    }
}

impl Plugin for Prometheus {
    const NAME: &'static str = "prometheus";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const PRIORITY: i32 = 500;
    // As in APISIX (run_policy = "prefer_route"): on a global rule and a
    // route at once, only the route's instance counts the request.
    const PREFER_ROUTE: bool = true;
    const PHASES: Phases = Phases::of(Phase::Rewrite).with(Phase::Log);
    const SCHEMA: &'static str = r#"{
        "type": "object",
        "properties": {
            "prefer_name": {"type": "boolean", "default": false},
            "_meta": {"type": "object"}
        },
        "additionalProperties": false
    }"#;

    type Config = Config;

    fn new(config: Config, host: &Host) -> Result<Self, ConfigError> {
        Ok(Prometheus {
            host: host.clone(),
            metrics: Metrics::register(host, "apisix_")?,
            prefer_name: config.prefer_name,
            codes: (0..1000).map(|c| c.to_string()).collect(),
            instance: series::instance_number(),
        })
    }

    fn rewrite(&self, ctx: &mut Ctx<'_>) -> Decision {
        if ctx.var("request_time").is_none() {
            let start = self.host.monotonic_ns();
            BUF.with_borrow_mut(|text| {
                text.clear();
                text.push_str(itoa::Buffer::new().format(start));
                ctx.set_var(START_VAR, text);
            });
        }
        Decision::Continue
    }

    fn log(&self, ctx: &mut Ctx<'_>) -> Decision {
        let status = ctx.response_status() as usize;
        let code = self.codes.get(status).map_or("", String::as_str);
        let by_name = |name: &str, id: &'static str| -> &str {
            let named = if self.prefer_name {
                ctx.var(name)
            } else {
                None
            };
            named.or_else(|| ctx.var(id)).unwrap_or("")
        };
        let route = match (self.prefer_name, ctx.var("route_name")) {
            (true, Some(name)) => name,
            _ => ctx.route_id(),
        };
        let service = by_name("service_name", "service_id");
        let consumer = ctx.consumer().unwrap_or("");
        let node = node_ip(ctx.var("upstream_addr").unwrap_or(""));
        let matched_uri = ctx.var("matched_uri").unwrap_or("");
        let matched_host = ctx.var("matched_host").unwrap_or("");
        let request_type = ctx.var("request_type").unwrap_or("traditional_http");
        let request_model = ctx.var("request_llm_model").unwrap_or("");
        let model = ctx.var("llm_model").unwrap_or("");

        let request_ms = self.request_ms(ctx);
        let upstream_ms = number(ctx, "upstream_response_time").map(|s| s * 1000.0);
        let ingress =
            number(ctx, "request_length").unwrap_or_else(|| length(ctx.header("Content-Length")));
        let egress = number(ctx, "bytes_sent")
            .unwrap_or_else(|| length(ctx.response_header("Content-Length")));

        let mut updates = [(Which::Status, 1.0); 6];
        let mut n = 1;
        let mut push = |which, value| {
            updates[n] = (which, value);
            n += 1;
        };
        if let Some(ms) = request_ms {
            push(Which::Latency("request"), ms);
            let apisix_ms = (ms - upstream_ms.unwrap_or(0.0)).max(0.0);
            push(Which::Latency("apisix"), apisix_ms);
        }
        if let Some(ms) = upstream_ms {
            push(Which::Latency("upstream"), ms);
        }
        // Byte counts are whole: the counters take them as integers.
        push(Which::Bandwidth("ingress"), ingress.max(0.0).trunc());
        push(Which::Bandwidth("egress"), egress.max(0.0).trunc());
        let request = Updates {
            host: &self.host,
            metrics: &self.metrics,
            instance: self.instance,
            labels: Labels {
                code,
                route,
                matched_uri,
                matched_host,
                service,
                consumer,
                node,
                request_type,
                request_model,
                model,
            },
        };
        request.apply(&updates[..n]);
        Decision::Continue
    }
}

export_plugin!(Prometheus);

#[cfg(test)]
mod tests;
