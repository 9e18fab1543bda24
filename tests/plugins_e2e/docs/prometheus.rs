//! prometheus' documented metrics as scraped from the exporter's address
//! (`/apisix/prometheus/metrics` on `plugins.export_addr`): the
//! `apisix_http_status` counter by code, route, consumer and node,
//! `apisix_bandwidth` by type, and the `apisix_http_latency` histogram's
//! families, after requests through routes, a service and key-auth.

use radixgate_test_support::{eventually, request, Gateway, Node};

use super::{get, run, Check, Row};
use crate::harness;

const ROWS: &[Row] = &[
    get("a route with prometheus", "/hello", 200),
    get("a route with prometheus", "/hello", 200),
    Row {
        headers: &[("apikey", "jack-key")],
        ..get("the consumer label", "/auth", 200)
    },
    Row {
        checks: &[Check::BodyHas("Missing API key")],
        ..get("a 401 before any node", "/auth", 401)
    },
    get("a route of a service", "/svc", 200),
    Row {
        headers: &[("Host", "foo.com")],
        ..get("a route on a host", "/on-host", 200)
    },
];

fn config(node: &str) -> String {
    format!(
        r#"upstreams:
  - {{id: u, nodes: {{"{node}": 1}}}}
services:
  - {{id: s1, upstream_id: u}}
consumers:
  - {{username: jack, plugins: {{key-auth: {{key: jack-key}}}}}}
routes:
  - {{id: hello, uri: /hello, upstream_id: u, plugins: {{prometheus: {{}}}}}}
  - {{id: auth, uri: /auth, upstream_id: u, plugins: {{key-auth: {{}}, prometheus: {{}}}}}}
  - {{id: svc, uri: /svc, service_id: s1, plugins: {{prometheus: {{}}}}}}
  - {{id: on-host, uri: /on-host, hosts: [foo.com], upstream_id: u, plugins: {{prometheus: {{}}}}}}
#END
"#
    )
}

/// The labels of a series line (`name{a="1",b="2"} v`), if it is of `name`.
fn labels_of<'l>(line: &'l str, name: &str) -> Option<(Vec<(&'l str, &'l str)>, f64)> {
    let rest = line.strip_prefix(name)?.strip_prefix('{')?;
    let (labels, value) = rest.rsplit_once("} ")?;
    let pairs = labels
        .split("\",")
        .filter_map(|p| p.split_once("=\""))
        .map(|(k, v)| (k, v.trim_end_matches('"')))
        .collect();
    Some((pairs, value.trim().parse().ok()?))
}

/// The sum of the series of `name` that carry every label of `want`.
fn total(text: &str, name: &str, want: &[(&str, &str)]) -> f64 {
    text.lines()
        .filter_map(|l| labels_of(l, name))
        .filter(|(labels, _)| want.iter().all(|w| labels.contains(w)))
        .fold(0.0, |sum, (_, v)| sum + v)
}

/// Asserts that the series of `name` with the labels of `want` sum to `n`.
fn expect(text: &str, name: &str, want: &[(&str, &str)], n: f64) {
    let got = total(text, name, want);
    assert!(
        got == n,
        "{name}{want:?} = {got}, want {n}; scraped:\n{text}"
    );
}

/// Runs the rows and scrapes until the last request's log phase counted
/// it; the exposition text.
fn scrape_after_rows() -> (Gateway, String) {
    let up = Node::start("u");
    let gw = harness::start_with(&config(&up.addr()), &["prometheus", "key-auth"]);
    run(&gw, ROWS);
    let scrape = || {
        request(gw.metrics_port(), "GET", "/apisix/prometheus/metrics", &[])
            .map(|r| r.body)
            .unwrap_or_default()
    };
    let mut text = String::new();
    let all_counted = eventually(10, || {
        text = scrape();
        total(&text, "apisix_http_status", &[]) >= ROWS.len() as f64
    });
    assert!(all_counted, "not every request was counted:\n{text}");
    (gw, text)
}

#[test]
fn prometheus_doc_metrics() {
    let (_gw, text) = scrape_after_rows();
    let status = "apisix_http_status";
    let node = ("node", "127.0.0.1");
    expect(
        &text,
        status,
        &[("code", "200"), ("route", "hello"), node],
        2.0,
    );
    let jack = [
        ("code", "200"),
        ("route", "auth"),
        ("consumer", "jack"),
        node,
    ];
    expect(&text, status, &jack, 1.0);
    // Refused by key-auth: no consumer, no node.
    let refused = [
        ("code", "401"),
        ("route", "auth"),
        ("consumer", ""),
        ("node", ""),
    ];
    expect(&text, status, &refused, 1.0);
    expect(&text, status, &[("route", "svc"), node], 1.0);
    expect(&text, status, &[], ROWS.len() as f64);
    // Bandwidth: what went out to the client, by route.
    let hello = ("route", "hello");
    let egress = total(
        &text,
        "apisix_bandwidth",
        &[("type", "egress"), hello, node],
    );
    assert!(egress > 0.0, "no egress bytes:\n{text}");
    // Latency: each request observed once as request and once as apisix.
    for kind in ["request", "apisix"] {
        expect(
            &text,
            "apisix_http_latency_count",
            &[("type", kind), hello, node],
            2.0,
        );
        let inf = [("type", kind), hello, ("le", "+Inf")];
        expect(&text, "apisix_http_latency_bucket", &inf, 2.0);
    }
    assert!(
        text.contains("# TYPE apisix_http_latency histogram"),
        "{text}"
    );
}

#[test]
fn prometheus_doc_labels_from_the_host() {
    let (_gw, text) = scrape_after_rows();
    let status = "apisix_http_status";
    let hello = [
        ("route", "hello"),
        ("matched_uri", "/hello"),
        ("matched_host", ""),
    ];
    expect(&text, status, &hello, 2.0);
    expect(
        &text,
        status,
        &[("route", "on-host"), ("matched_host", "foo.com")],
        1.0,
    );
    expect(&text, status, &[("route", "svc"), ("service", "s1")], 1.0);
    let upstream = [("type", "upstream"), ("route", "hello")];
    expect(&text, "apisix_http_latency_count", &upstream, 2.0);
    let ingress = [("type", "ingress"), ("route", "hello")];
    let bytes = total(&text, "apisix_bandwidth", &ingress);
    assert!(bytes > 0.0, "no ingress bytes for a GET:\n{text}");
}
