//! The metrics prometheus records, as APISIX names them, registered with
//! the host once per instance (the host finds an existing metric of the
//! same name and shape).

use radixgate_plugin::{ConfigError, Host, MetricId};

/// APISIX's default latency buckets, in milliseconds (the host replaces
/// them with `plugins.prometheus.default_buckets` when set).
pub const LATENCY_BUCKETS: [f64; 15] = [
    1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 500.0, 1000.0, 2000.0, 5000.0, 10000.0, 30000.0,
    60000.0,
];

/// Labels of `apisix_http_status` (APISIX 3.x's, the three AI ones last).
pub const STATUS_LABELS: [&str; 10] = [
    "code",
    "route",
    "matched_uri",
    "matched_host",
    "service",
    "consumer",
    "node",
    "request_type",
    "request_llm_model",
    "llm_model",
];

/// Labels of `apisix_http_latency` and `apisix_bandwidth`.
pub const TYPED_LABELS: [&str; 8] = [
    "type",
    "route",
    "service",
    "consumer",
    "node",
    "request_type",
    "request_llm_model",
    "llm_model",
];

/// The registered metrics.
#[derive(Debug, Clone, Copy)]
pub struct Metrics {
    /// `apisix_http_status`: requests by status code.
    pub status: MetricId,
    /// `apisix_http_latency`: request, upstream and gateway latency (ms).
    pub latency: MetricId,
    /// `apisix_bandwidth`: ingress and egress bytes.
    pub bandwidth: MetricId,
}

fn failed(name: &str, why: String) -> ConfigError {
    ConfigError::field("metrics", format!("cannot register {name}: {why}"))
}

impl Metrics {
    /// Registers (or finds) the metrics with `prefix` (`apisix_`).
    pub fn register(host: &Host, prefix: &str) -> Result<Metrics, ConfigError> {
        let name = |n: &str| format!("{prefix}{n}");
        let status_name = name("http_status");
        let status = host
            .register_counter(
                &status_name,
                "HTTP status codes per service in APISIX",
                &STATUS_LABELS,
            )
            .map_err(|e| failed(&status_name, e))?;
        let latency_name = name("http_latency");
        let latency = host
            .register_histogram(
                &latency_name,
                "HTTP request latency in milliseconds per service in APISIX",
                &TYPED_LABELS,
                &LATENCY_BUCKETS,
            )
            .map_err(|e| failed(&latency_name, e))?;
        let bandwidth_name = name("bandwidth");
        let bandwidth = host
            .register_counter(
                &bandwidth_name,
                "Total bandwidth in bytes consumed per service in APISIX",
                &TYPED_LABELS,
            )
            .map_err(|e| failed(&bandwidth_name, e))?;
        Ok(Metrics {
            status,
            latency,
            bandwidth,
        })
    }
}
