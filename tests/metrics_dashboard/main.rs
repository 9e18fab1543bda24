//! The prometheus exporter against what users graph: a gateway on etcd
//! with the prometheus plugin serves real traffic, then its exposition is
//! compared with every query of the community APISIX Grafana dashboard
//! (each query's metric exists, with the labels the query uses and the
//! label values it selects, under APISIX's metric type). Beside it, the
//! families the dashboard does not graph (`apisix_upstream_status`,
//! `apisix_node_info`) and the plugin attributes (`export_uri`,
//! `default_buckets`, `prefer_name`).

mod exposition;

use radixgate_test_support::etcd::{client, runtime, Etcd};
use radixgate_test_support::{eventually, request, Gateway, Node};

use exposition::Exposition;

const BIN: &str = env!("CARGO_BIN_EXE_radixgate");
const PATH: &str = "/apisix/prometheus/metrics";

/// One query of the dashboard: the metric it reads, the labels it
/// filters, groups or joins by, and the label values it selects (each
/// must have a series).
struct Query {
    panel: &'static str,
    metric: &'static str,
    /// APISIX's type of the family (`rate()` needs a counter, a bucket a
    /// histogram).
    kind: &'static str,
    labels: &'static [&'static str],
    selects: &'static [(&'static str, &'static str)],
}

const fn q(
    panel: &'static str,
    metric: &'static str,
    kind: &'static str,
    labels: &'static [&'static str],
    selects: &'static [(&'static str, &'static str)],
) -> Query {
    Query {
        panel,
        metric,
        kind,
        labels,
        selects,
    }
}

/// The queries of APISIX's `docs/assets/other/json/apisix-grafana-dashboard.json`
/// (Grafana dashboard 11719), panel by panel, then its template variables.
/// `instance` is left out: Prometheus adds it at scrape time.
const DASHBOARD: &[Query] = &[
    // sum(apisix_http_requests_total)
    q(
        "Total Requests",
        "apisix_http_requests_total",
        "gauge",
        &[],
        &[],
    ),
    // sum(apisix_nginx_http_current_connections{state="accepted"})
    q(
        "Accepted Connections",
        "apisix_nginx_http_current_connections",
        "gauge",
        &["state"],
        &[("state", "accepted")],
    ),
    q(
        "Handled Connections",
        "apisix_nginx_http_current_connections",
        "gauge",
        &["state"],
        &[("state", "handled")],
    ),
    // {state=~"active|reading|writing|waiting"} by (state)
    q(
        "Nginx connection state",
        "apisix_nginx_http_current_connections",
        "gauge",
        &["state"],
        &[
            ("state", "active"),
            ("state", "reading"),
            ("state", "writing"),
            ("state", "waiting"),
        ],
    ),
    // sum(rate(apisix_bandwidth[..])) by (type)
    q(
        "Total Bandwidth",
        "apisix_bandwidth",
        "counter",
        &["type"],
        &[],
    ),
    // {type="ingress", service=~, route=~} by (service) / by (route)
    q(
        "Ingress per service/route",
        "apisix_bandwidth",
        "counter",
        &["type", "service", "route"],
        &[("type", "ingress")],
    ),
    q(
        "Egress per service/route",
        "apisix_bandwidth",
        "counter",
        &["type", "service", "route"],
        &[("type", "egress")],
    ),
    // {service=~, route=~} by (code)
    q(
        "Requests per second (RPS) by status code",
        "apisix_http_status",
        "counter",
        &["service", "route", "code"],
        &[],
    ),
    q(
        "Total requests per second (RPS)",
        "apisix_http_status",
        "counter",
        &[],
        &[],
    ),
    q(
        "Requests per second (RPS) per service/route",
        "apisix_http_status",
        "counter",
        &["service", "route"],
        &[],
    ),
    // histogram_quantile(.., sum(rate(apisix_http_latency_bucket{type=~"request",
    // service=~, consumer=~, node=~, route=~}[..])) by (le))
    q(
        "Request Latency",
        "apisix_http_latency_bucket",
        "histogram",
        &["type", "service", "consumer", "node", "route", "le"],
        &[("type", "request")],
    ),
    q(
        "APISIX Latency",
        "apisix_http_latency_bucket",
        "histogram",
        &["type", "service", "consumer", "node", "route", "le"],
        &[("type", "apisix")],
    ),
    q(
        "Upstream Latency",
        "apisix_http_latency_bucket",
        "histogram",
        &["type", "service", "consumer", "node", "route", "le"],
        &[("type", "upstream")],
    ),
    // {key=~"consumers|global_rules|max_modify_index|prev_index|protos|
    // routes|services|ssls|stream_routes|upstreams|x_etcd_index"} by (key)
    q(
        "Etcd modify indexes",
        "apisix_etcd_modify_indexes",
        "gauge",
        &["key"],
        &[
            ("key", "consumers"),
            ("key", "global_rules"),
            ("key", "max_modify_index"),
            ("key", "prev_index"),
            ("key", "protos"),
            ("key", "routes"),
            ("key", "services"),
            ("key", "ssls"),
            ("key", "stream_routes"),
            ("key", "upstreams"),
            ("key", "x_etcd_index"),
        ],
    ),
    q("Etcd reachable", "apisix_etcd_reachable", "gauge", &[], &[]),
    q(
        "Nginx metric errors",
        "apisix_nginx_metric_errors_total",
        "counter",
        &[],
        &[],
    ),
    // (apisix_shared_dict_free_space_bytes * 100) / on (name)
    // apisix_shared_dict_capacity_bytes
    q(
        "Nginx shared dict free space percent",
        "apisix_shared_dict_free_space_bytes",
        "gauge",
        &["name"],
        &[],
    ),
    q(
        "Nginx shared dict free space percent",
        "apisix_shared_dict_capacity_bytes",
        "gauge",
        &["name"],
        &[],
    ),
    // Template variables: label_values(apisix_http_status, service|route|
    // consumer|node).
    q(
        "variables",
        "apisix_http_status",
        "counter",
        &["service", "route", "consumer", "node"],
        &[],
    ),
];

/// Routes, a service and an upstream written straight into etcd.
fn seed(e: &Etcd, node: &str) {
    let rt = runtime();
    let mut c = client(&rt, &e.endpoints());
    let objects = [
        (
            "/apisix/upstreams/u1",
            serde_json::json!({"id": "u1", "nodes": {node: 1}}),
        ),
        (
            "/apisix/services/s1",
            serde_json::json!({"id": "s1", "name": "shop", "upstream_id": "u1"}),
        ),
        (
            "/apisix/routes/r1",
            serde_json::json!({"id": "r1", "name": "orders", "uri": "/hello",
                "service_id": "s1", "plugins": {"prometheus": {}}}),
        ),
        (
            "/apisix/routes/r2",
            serde_json::json!({"id": "r2", "uri": "/direct", "upstream_id": "u1",
                "plugins": {"prometheus": {}}}),
        ),
    ];
    for (key, value) in objects {
        rt.block_on(c.put(key, value.to_string(), None))
            .expect("put into etcd");
    }
}

fn scrape(gw: &Gateway, path: &str) -> (u16, String) {
    request(gw.metrics_port(), "GET", path, &[])
        .map(|r| (r.status, r.body))
        .unwrap_or_default()
}

/// Sends `n` requests to `path`, each answered 200.
fn traffic(gw: &Gateway, path: &str, n: usize) {
    for _ in 0..n {
        let r = request(gw.port, "GET", path, &[]).expect("the gateway answers");
        assert_eq!(r.status, 200, "{path}: {r:?}");
    }
}

#[test]
fn every_grafana_dashboard_query_finds_its_metric_and_labels() {
    let e = Etcd::start();
    let up = Node::start("u1");
    seed(&e, &up.addr());
    let gw = Gateway::etcd(BIN, &e.endpoints())
        .plugins(&["prometheus"])
        .start();
    assert!(
        eventually(10, || request(gw.port, "GET", "/hello", &[])
            .is_ok_and(|r| r.status == 200)),
        "{}",
        gw.log()
    );
    traffic(&gw, "/hello", 4);
    traffic(&gw, "/direct", 3);
    let mut text = String::new();
    let counted = eventually(10, || {
        text = scrape(&gw, PATH).1;
        Exposition::parse(&text).sum("apisix_http_status", &[]) >= 8.0
    });
    assert!(counted, "not every request was counted:\n{text}");
    let x = Exposition::parse(&text);

    let mut missing = Vec::new();
    for query in DASHBOARD {
        if let Err(why) = x.serves(query.metric, query.kind, query.labels, query.selects) {
            missing.push(format!("{}: {why}", query.panel));
        }
    }
    assert!(
        missing.is_empty(),
        "dashboard queries with nothing to show:\n  {}\nscraped:\n{text}",
        missing.join("\n  ")
    );

    // What the panels show is what happened.
    let requests = x.sum("apisix_http_requests_total", &[]);
    assert!(requests >= 8.0, "apisix_http_requests_total {requests}");
    let conn = |state| x.sum("apisix_nginx_http_current_connections", &[("state", state)]);
    assert!(conn("accepted") >= 8.0 && conn("handled") >= 8.0, "{text}");
    assert!(conn("active") >= conn("writing"), "{text}");
    assert_eq!(x.sum("apisix_etcd_reachable", &[]), 1.0, "{text}");
    let index = |key| x.sum("apisix_etcd_modify_indexes", &[("key", key)]);
    assert!(index("routes") > 0.0 && index("upstreams") > 0.0, "{text}");
    assert!(index("max_modify_index") >= index("routes"), "{text}");
    assert!(index("x_etcd_index") >= index("max_modify_index"), "{text}");
    assert_eq!(index("ssls"), 0.0, "{text}");
    let by_route = |route| x.sum("apisix_http_status", &[("route", route), ("code", "200")]);
    assert_eq!((by_route("r1"), by_route("r2")), (5.0, 3.0), "{text}");
    let svc = x.sum("apisix_http_status", &[("route", "r1"), ("service", "s1")]);
    assert_eq!(svc, 5.0, "the service label of a route of s1:\n{text}");
    let ingress = x.sum("apisix_bandwidth", &[("type", "ingress"), ("route", "r2")]);
    assert!(ingress >= 3.0 * 20.0, "3 GETs' request heads:\n{text}");
    let upstream = [("type", "upstream"), ("route", "r2"), ("le", "+Inf")];
    assert_eq!(
        x.sum("apisix_http_latency_bucket", &upstream),
        3.0,
        "{text}"
    );
    let free = x.sum("apisix_shared_dict_free_space_bytes", &[]);
    let capacity = x.sum("apisix_shared_dict_capacity_bytes", &[]);
    assert!(capacity > 0.0 && free <= capacity, "{text}");

    // etcd gone: the panel turns red.
    drop(e);
    let mut text = String::new();
    let down = eventually(15, || {
        text = scrape(&gw, PATH).1;
        Exposition::parse(&text).sum("apisix_etcd_reachable", &[]) == 0.0
    });
    assert!(down, "etcd stopped, still reachable:\n{text}");
}

#[test]
fn plugin_attributes_node_info_and_upstream_status() {
    let up = Node::start("up");
    // Nothing listens there: the tcp probe fails.
    let dead = format!("127.0.0.1:{}", radixgate_test_support::free_port());
    let checks = r#"{active: {type: tcp, healthy: {interval: 1, successes: 1},
        unhealthy: {interval: 1, tcp_failures: 1}}}"#;
    let apisix = format!(
        "upstreams:\n  - {{id: u1, nodes: {{\"{}\": 1, \"{dead}\": 1}}, checks: {checks}}}\n\
         services:\n  - {{id: s1, name: shop, upstream_id: u1}}\n\
         routes:\n  - {{id: r1, name: orders, uri: /hello, service_id: s1, \
         plugins: {{prometheus: {{prefer_name: true}}}}}}\n#END\n",
        up.addr()
    );
    let gw = Gateway::file(BIN, &apisix)
        .plugins(&["prometheus"])
        .plugins_yaml("  prometheus:\n    export_uri: /m\n    default_buckets: [3, 300]\n")
        .start();
    let path = "/m";
    // Passes go to the live node once the dead one is marked down.
    let mut text = String::new();
    let marked = eventually(15, || {
        let _ = request(gw.port, "GET", "/hello", &[]);
        text = scrape(&gw, path).1;
        let x = Exposition::parse(&text);
        x.sum("apisix_upstream_status", &[("port", &port_of(&dead))]) == 0.0
            && x.sum("apisix_upstream_status", &[("port", &port_of(&up.addr()))]) == 1.0
    });
    assert!(marked, "{text}\n{}", gw.log());
    traffic(&gw, "/hello", 2);
    assert_eq!(scrape(&gw, PATH).0, 404, "the default path is not served");
    let mut x = Exposition::parse(&text);
    assert!(
        eventually(10, || {
            text = scrape(&gw, path).1;
            x = Exposition::parse(&text);
            x.sum(
                "apisix_http_status",
                &[("route", "orders"), ("service", "shop")],
            ) >= 2.0
        }),
        "prefer_name labels route and service by name:\n{text}"
    );
    let ip = up.addr().rsplit_once(':').map(|(h, _)| h.to_owned());
    let ip = [("ip", ip.unwrap_or_default())];
    let ip = [(ip[0].0, ip[0].1.as_str())];
    let name = [("name", "/apisix/upstreams/u1")];
    let named = x.serves("apisix_upstream_status", "gauge", &[], &name);
    assert!(named.is_ok(), "{named:?}:\n{text}");
    let labels = ["name", "ip", "port"];
    let served = x.serves("apisix_upstream_status", "gauge", &labels, &ip);
    assert!(served.is_ok(), "{served:?}:\n{text}");
    // default_buckets: these bounds and no others.
    let les = x.label_values("apisix_http_latency_bucket", "le");
    assert_eq!(les, ["+Inf", "3", "300"], "{text}");
    let host = x.label_values("apisix_node_info", "hostname");
    assert!(host.len() == 1 && !host[0].is_empty(), "{text}");
}

fn port_of(addr: &str) -> String {
    addr.rsplit_once(':').map_or("", |(_, p)| p).to_owned()
}
