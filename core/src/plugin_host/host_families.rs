//! The gateway's own figures in the families APISIX's prometheus exporter
//! fills at each scrape, with its names, labels and types:
//! `apisix_http_requests_total`, `apisix_nginx_http_current_connections`
//! (nginx's stub_status, from the proxy's counters), `apisix_etcd_reachable`
//! and `apisix_etcd_modify_indexes` (etcd mode only, from what the watch
//! last saw), `apisix_node_info`, `apisix_upstream_status` (upstreams with
//! health checks), `apisix_shared_dict_*` (the plugins' shared store, as
//! `name="shared-store"`) and `apisix_nginx_metric_errors_total` (metric
//! updates dropped at the registry's bounds).

use std::fmt::Write as _;
use std::sync::OnceLock;

use super::services::GatewayServices;
use crate::stats;

/// The `name` label of the plugins' shared store in `apisix_shared_dict_*`.
pub const STORE_DICT: &str = "shared-store";

/// The etcd keys APISIX always reports an index for (0 when it has none).
const ETCD_KEYS: [&str; 9] = [
    "consumers",
    "global_rules",
    "protos",
    "routes",
    "services",
    "ssls",
    "stream_routes",
    "upstreams",
    "prev_index",
];

fn header(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// The machine's host name, read once (empty when none can be read).
fn hostname() -> &'static str {
    static NAME: OnceLock<String> = OnceLock::new();
    NAME.get_or_init(|| {
        ["/proc/sys/kernel/hostname", "/etc/hostname"]
            .iter()
            .find_map(|p| std::fs::read_to_string(p).ok())
            .or_else(|| std::env::var("HOSTNAME").ok())
            .map(|s| s.trim().to_owned())
            .unwrap_or_default()
    })
}

fn connections(out: &mut String) {
    let c = stats::connections();
    header(
        out,
        "apisix_http_requests_total",
        "gauge",
        "The total number of client requests since APISIX started",
    );
    let _ = writeln!(out, "apisix_http_requests_total {}", c.requests);
    header(
        out,
        "apisix_nginx_http_current_connections",
        "gauge",
        "Number of HTTP connections",
    );
    for (state, v) in [
        ("accepted", c.accepted),
        ("active", c.active),
        ("handled", c.handled),
        ("reading", c.reading),
        ("waiting", c.waiting),
        ("writing", c.writing),
    ] {
        let _ = writeln!(
            out,
            "apisix_nginx_http_current_connections{{state=\"{state}\"}} {v}"
        );
    }
}

fn etcd(out: &mut String) {
    let Some(reachable) = stats::etcd_reachable() else {
        return;
    };
    header(
        out,
        "apisix_etcd_reachable",
        "gauge",
        "Config server etcd reachable from APISIX, 0 is unreachable",
    );
    let _ = writeln!(out, "apisix_etcd_reachable {}", u8::from(reachable));
    header(
        out,
        "apisix_etcd_modify_indexes",
        "gauge",
        "Etcd modify index for APISIX keys",
    );
    let seen = stats::etcd_indexes();
    let get = |key: &str| seen.iter().find(|(k, _)| *k == key).map_or(0, |(_, v)| *v);
    let kinds = ETCD_KEYS.iter().filter(|k| **k != "prev_index");
    let max = kinds.map(|k| get(k)).max().unwrap_or(0);
    let mut rows: Vec<(&str, i64)> = ETCD_KEYS.iter().map(|k| (*k, get(k))).collect();
    rows.push(("max_modify_index", max));
    rows.push(("x_etcd_index", get("x_etcd_index")));
    rows.sort_unstable();
    for (key, v) in rows {
        let _ = writeln!(out, "apisix_etcd_modify_indexes{{key=\"{key}\"}} {v}");
    }
}

/// APISIX's name of a checked upstream: the key of the object that holds
/// it (`/apisix/upstreams/1`, `/apisix/routes/1` for a route's inline
/// upstream); a name of another shape is kept as is.
fn upstream_key(name: &str) -> String {
    let inline = |n: &str| n.strip_suffix(" (inline)").map(str::to_owned);
    if let Some(id) = name.strip_prefix("upstream ") {
        return format!("/apisix/upstreams/{id}");
    }
    if let Some(id) = name.strip_prefix("route ").and_then(inline) {
        return format!("/apisix/routes/{id}");
    }
    if let Some(id) = name.strip_prefix("service ").and_then(inline) {
        return format!("/apisix/services/{id}");
    }
    name.to_owned()
}

fn upstreams(out: &mut String) {
    header(
        out,
        "apisix_upstream_status",
        "gauge",
        "Upstream status from health check",
    );
    for s in crate::upstream::health::statuses() {
        let _ = writeln!(
            out,
            "apisix_upstream_status{{name=\"{}\",ip=\"{}\",port=\"{}\"}} {}",
            escape(&upstream_key(&s.upstream)),
            escape(&s.host),
            s.port,
            u8::from(s.healthy)
        );
    }
}

fn store(out: &mut String, services: &GatewayServices) {
    let store = services.store();
    let capacity = store.capacity_bytes();
    let free = capacity.saturating_sub(store.used_bytes());
    header(
        out,
        "apisix_shared_dict_capacity_bytes",
        "gauge",
        "The capacity of each nginx shared DICT since APISIX start",
    );
    let _ = writeln!(
        out,
        "apisix_shared_dict_capacity_bytes{{name=\"{STORE_DICT}\"}} {capacity}"
    );
    header(
        out,
        "apisix_shared_dict_free_space_bytes",
        "gauge",
        "The free space of each nginx shared DICT since APISIX start",
    );
    let _ = writeln!(
        out,
        "apisix_shared_dict_free_space_bytes{{name=\"{STORE_DICT}\"}} {free}"
    );
}

/// APISIX's gateway-wide families, in the text format, as they stand now.
pub fn render(services: &GatewayServices) -> String {
    let mut out = String::new();
    connections(&mut out);
    etcd(&mut out);
    header(&mut out, "apisix_node_info", "gauge", "Info of APISIX node");
    let _ = writeln!(
        out,
        "apisix_node_info{{hostname=\"{}\"}} 1",
        escape(hostname())
    );
    upstreams(&mut out);
    store(&mut out, services);
    header(
        &mut out,
        "apisix_nginx_metric_errors_total",
        "counter",
        "Number of nginx-lua-prometheus errors",
    );
    let _ = writeln!(
        out,
        "apisix_nginx_metric_errors_total {}",
        services.metrics().dropped()
    );
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn upstreams_are_named_by_their_object_key() {
        for (name, key) in [
            ("upstream u1", "/apisix/upstreams/u1"),
            ("route r1 (inline)", "/apisix/routes/r1"),
            ("service s1 (inline)", "/apisix/services/s1"),
            ("other", "other"),
        ] {
            assert_eq!(super::upstream_key(name), key);
        }
    }

    #[test]
    fn every_family_is_typed_once() {
        let text = super::render(&super::GatewayServices::default());
        for (name, kind) in [
            ("apisix_http_requests_total", "gauge"),
            ("apisix_nginx_http_current_connections", "gauge"),
            ("apisix_node_info", "gauge"),
            ("apisix_upstream_status", "gauge"),
            ("apisix_shared_dict_capacity_bytes", "gauge"),
            ("apisix_shared_dict_free_space_bytes", "gauge"),
            ("apisix_nginx_metric_errors_total", "counter"),
        ] {
            let line = format!("# TYPE {name} {kind}\n");
            assert_eq!(text.matches(&line).count(), 1, "{name}: {text}");
        }
    }
}
