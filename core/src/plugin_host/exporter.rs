//! The metrics plugins record, in Prometheus' text format, at
//! `GET /apisix/prometheus/metrics` on a listener of its own
//! (`plugins.export_addr`, default `127.0.0.1:9091`), started when a plugin
//! called `prometheus` is loaded. A bind failure is logged; the gateway
//! serves on.

use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::time::Duration;

use super::metrics::{MetricKind, MetricsRegistry};
use super::services::GatewayServices;

/// Where metrics are served when `plugins.export_addr` is not set.
pub const DEFAULT_EXPORT_ADDR: &str = "127.0.0.1:9091";

/// The path metrics are served at, as APISIX's.
pub const METRICS_PATH: &str = "/apisix/prometheus/metrics";

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

/// The shared store's own figures: its entries and its evictions.
fn render_store(services: &GatewayServices) -> String {
    let store = services.store();
    format!(
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

/// Answers one scrape: the metrics for `GET` of [`METRICS_PATH`], else 404.
fn answer(mut stream: TcpStream, services: &GatewayServices) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let _ = stream.set_write_timeout(Some(Duration::from_secs(5)));
    let mut line = String::new();
    let Ok(reader) = stream.try_clone() else {
        return;
    };
    // A scrape's head is small; a client sending more is cut off.
    let mut reader = BufReader::new(std::io::Read::take(reader, 16 * 1024));
    if reader.read_line(&mut line).is_err() {
        return;
    }
    // Skip the headers.
    let mut header = String::new();
    while reader.read_line(&mut header).is_ok_and(|n| n > 2) {
        header.clear();
    }
    let mut parts = line.split_whitespace();
    let (method, path) = (parts.next(), parts.next().unwrap_or(""));
    let path = path.split('?').next().unwrap_or("");
    let (status, body) = if method == Some("GET") && path == METRICS_PATH {
        (
            "200 OK",
            render(services.metrics()) + &render_store(services),
        )
    } else {
        ("404 Not Found", "not found\n".to_string())
    };
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let _ = stream.write_all(head.as_bytes());
    let _ = stream.write_all(body.as_bytes());
}

/// Serves the metrics of `services` on `addr`, on a thread of its own.
pub fn start(addr: SocketAddr, services: GatewayServices) {
    let listener = match TcpListener::bind(addr) {
        Ok(l) => l,
        Err(e) => {
            tracing::error!(%addr, error = %e, "cannot serve plugin metrics");
            return;
        }
    };
    tracing::info!(%addr, path = METRICS_PATH, "plugin metrics served");
    let spawned = std::thread::Builder::new()
        .name("metrics".into())
        .spawn(move || {
            for stream in listener.incoming().flatten() {
                answer(stream, &services);
            }
        });
    if let Err(e) = spawned {
        tracing::error!(error = %e, "cannot start the metrics thread");
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
