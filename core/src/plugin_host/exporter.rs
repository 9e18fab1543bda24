//! The metrics plugins record, and the gateway's own in APISIX's families
//! ([`super::host_families`]), in Prometheus' text format, at
//! `GET /apisix/prometheus/metrics` (`plugins.prometheus.export_uri`) on a
//! listener of its own (`plugins.export_addr`, default `127.0.0.1:9091`),
//! started when a plugin called `prometheus` is loaded. A bind failure is
//! logged; the gateway serves on. The listener holds the proxy's client
//! limits.

use std::convert::Infallible;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderValue, Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;

use crate::proxy::{self, ClientIo, ConnCap, Limits};

use super::metrics::{MetricKind, MetricsRegistry};
use super::services::GatewayServices;

/// Where metrics are served when `plugins.export_addr` is not set.
pub const DEFAULT_EXPORT_ADDR: &str = "127.0.0.1:9091";

/// The latency histogram whose buckets `plugins.prometheus.default_buckets`
/// sets.
pub const LATENCY_METRIC: &str = "apisix_http_latency";

fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn labels(names: &[String], values: &[String], extra: Option<(&str, &str)>) -> String {
    let mut pairs: Vec<String> = names
        .iter()
        .zip(values)
        .map(|(n, v)| format!("{n}=\"{}\"", escape(v)))
        .collect();
    if let Some((n, v)) = extra {
        pairs.push(format!("{n}=\"{v}\""));
    }
    if pairs.is_empty() {
        String::new()
    } else {
        format!("{{{}}}", pairs.join(","))
    }
}

/// Every metric of `registry` in Prometheus' text exposition format.
pub fn render(registry: &MetricsRegistry) -> String {
    let mut out = String::new();
    for (desc, series) in registry.collect() {
        let name = &desc.name;
        let kind = match desc.kind {
            MetricKind::Counter => "counter",
            MetricKind::Histogram(_) => "histogram",
        };
        let _ = writeln!(out, "# HELP {name} {}", desc.help.replace('\n', " "));
        let _ = writeln!(out, "# TYPE {name} {kind}");
        for s in &series {
            match &desc.kind {
                MetricKind::Counter => {
                    let l = labels(&desc.labels, &s.labels, None);
                    let _ = writeln!(out, "{name}{l} {}", s.sum);
                }
                MetricKind::Histogram(bounds) => {
                    for (bound, count) in bounds.iter().zip(&s.buckets) {
                        let le = bound.to_string();
                        let l = labels(&desc.labels, &s.labels, Some(("le", &le)));
                        let _ = writeln!(out, "{name}_bucket{l} {count}");
                    }
                    let l = labels(&desc.labels, &s.labels, Some(("le", "+Inf")));
                    let _ = writeln!(out, "{name}_bucket{l} {}", s.count);
                    let l = labels(&desc.labels, &s.labels, None);
                    let _ = writeln!(out, "{name}_sum{l} {}", s.sum);
                    let _ = writeln!(out, "{name}_count{l} {}", s.count);
                }
            }
        }
    }
    out
}

/// The shared store's own figures (its entries and its evictions), and
/// what bounded plugin work dropped.
fn render_store(services: &GatewayServices) -> String {
    let store = services.store();
    let drops = format!(
        "# HELP radixgate_metric_updates_dropped_total Metric updates dropped: a metric had its most series, or a new series too many label bytes.\n\
         # TYPE radixgate_metric_updates_dropped_total counter\n\
         radixgate_metric_updates_dropped_total {}\n\
         # HELP radixgate_log_phases_dropped_total Plugin log phases dropped: too many were waiting for host operations.\n\
         # TYPE radixgate_log_phases_dropped_total counter\n\
         radixgate_log_phases_dropped_total {}\n\
         # HELP radixgate_access_log_dropped_total Access log lines dropped: the writer's queue was full, or the write failed.\n\
         # TYPE radixgate_access_log_dropped_total counter\n\
         radixgate_access_log_dropped_total {}\n",
        services.metrics().dropped(),
        proxy::log_phases_dropped(),
        crate::access_log::dropped()
    );
    drops + &format!(
        "# HELP radixgate_shared_store_entries Entries in the plugins' shared store.\n\
         # TYPE radixgate_shared_store_entries gauge\n\
         radixgate_shared_store_entries {}\n\
         # HELP radixgate_shared_store_evictions_total Live entries the plugins' shared store evicted to stay within plugins.store.\n\
         # TYPE radixgate_shared_store_evictions_total counter\n\
         radixgate_shared_store_evictions_total {}\n",
        store.len(),
        store.evictions()
    )
}

/// The answer to one request: the metrics for `GET` of `path`, else 404.
/// Series are copied out of the registry a few at a time (see
/// [`MetricsRegistry::collect`]), so a scrape holds no metric's lock for
/// long and scrapes run side by side.
fn answer(
    req: &Request<Incoming>,
    path: &str,
    services: &GatewayServices,
) -> Response<Full<Bytes>> {
    let (status, body) = if req.method() == http::Method::GET && req.uri().path() == path {
        let text = render(services.metrics())
            + &render_store(services)
            + &super::host_families::render(services)
            + &crate::source::lag::render()
            + &crate::tls::expiry::render();
        (StatusCode::OK, text)
    } else {
        (StatusCode::NOT_FOUND, "not found\n".to_string())
    };
    let mut resp = Response::new(Full::new(Bytes::from(body)));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4"),
    );
    resp
}

/// Serves the metrics of `services` at `path` on `addr`, on a thread of its own,
/// under the proxy's client `limits` (header timeout, send timeout,
/// keep-alive, connection cap); each scrape on a task of its own, so a
/// slow client delays no other.
pub fn start(addr: SocketAddr, path: String, services: GatewayServices, limits: Limits) {
    let listener = match std::net::TcpListener::bind(addr).and_then(|l| {
        l.set_nonblocking(true)?;
        Ok(l)
    }) {
        Ok(l) => l,
        Err(e) => {
            tracing::error!(%addr, error = %e, "cannot serve plugin metrics");
            return;
        }
    };
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            tracing::error!(error = %e, "cannot start the metrics runtime");
            return;
        }
    };
    tracing::info!(%addr, path, "plugin metrics served");
    let spawned = std::thread::Builder::new()
        .name("metrics".into())
        .spawn(move || rt.block_on(serve(listener, path, services, limits)));
    if let Err(e) = spawned {
        tracing::error!(error = %e, "cannot start the metrics thread");
    }
}

async fn serve(
    listener: std::net::TcpListener,
    path: String,
    services: GatewayServices,
    limits: Limits,
) {
    let listener = match tokio::net::TcpListener::from_std(listener) {
        Ok(l) => l,
        Err(e) => {
            tracing::error!(error = %e, "metrics listener unusable");
            return;
        }
    };
    let builder = limits.http1();
    let cap = ConnCap::new(limits.max_connections);
    let services = Arc::new(services);
    let path: Arc<str> = Arc::from(path);
    loop {
        let stream = match listener.accept().await {
            Ok((s, _)) => s,
            Err(e) => {
                tracing::warn!(error = %e, "metrics accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let Some(slot) = cap.admit("metrics") else {
            continue; // dropped: closed at once
        };
        let mut io = ClientIo::new(stream, limits.send_timeout, Some(slot));
        let activity = io.activity();
        let (services, builder, path) = (services.clone(), builder.clone(), path.clone());
        tokio::spawn(async move {
            let svc = service_fn(move |req| {
                let resp = answer(&req, &path, &services);
                async move { Ok::<_, Infallible>(resp) }
            });
            let conn = builder.serve_connection(TokioIo::new(io), svc);
            tokio::pin!(conn);
            tokio::select! {
                _ = conn.as_mut() => return,
                _ = proxy::idle(&activity, limits.keepalive_timeout) => {}
            }
            conn.as_mut().graceful_shutdown();
            let _ = conn.await;
        });
    }
}

#[cfg(test)]
mod tests {
    use super::super::metrics::{MetricDesc, MetricKind, MetricsRegistry};
    use super::render;
    use abi_stable::std_types::RStr;

    #[test]
    fn counters_and_histograms_render_in_the_text_format() {
        let registry = MetricsRegistry::default();
        let desc = |name: &str, kind| MetricDesc {
            name: name.into(),
            help: "help".into(),
            labels: vec!["route".into()],
            kind,
        };
        let c = registry
            .register(desc("c", MetricKind::Counter))
            .expect("c");
        let h = registry
            .register(desc("h", MetricKind::Histogram(vec![1.0, 5.0])))
            .expect("h");
        registry.record(c, &[RStr::from("a\"b")], 2.0);
        registry.record(h, &[RStr::from("r")], 3.0);
        let text = render(&registry);
        assert!(
            text.contains("# TYPE c counter\nc{route=\"a\\\"b\"} 2\n"),
            "{text}"
        );
        assert!(
            text.contains("h_bucket{route=\"r\",le=\"1\"} 0\n"),
            "{text}"
        );
        assert!(
            text.contains("h_bucket{route=\"r\",le=\"5\"} 1\n"),
            "{text}"
        );
        assert!(text.contains("h_bucket{route=\"r\",le=\"+Inf\"} 1\nh_sum{route=\"r\"} 3\nh_count{route=\"r\"} 1\n"), "{text}");
    }
}
