//! The host's batch processor through the real gateway: the test plugin
//! `test-batch` logs each request into the processor of its instance,
//! which POSTs batches (JSON arrays) to a local HTTP sink (a [`Node`]
//! keeping the bodies it receives): a batch leaves when it is full, when
//! no entry came for `inactive_timeout`, or `buffer_duration` after its
//! first entry; a batch the sink refuses
//! (500) arrives again after `retry_delay`; entries past
//! `max_pending_entries` are dropped and counted in
//! `radixgate_batch_dropped_total`, scraped from the metrics exporter.

use radixgate_test_support::{eventually, request, Gateway, Node};
use serde_json::{json, Value};

const BIN: &str = env!("CARGO_BIN_EXE_radixgate");

/// A one-worker gateway in front of `node` whose routes (YAML list items)
/// are `routes`, with `test-batch` and `prometheus` (the exporter).
fn gateway(node: &Node, routes: &str) -> Gateway {
    let apisix = format!(
        "upstreams:\n  - {{id: u, nodes: {{\"{}\": 1}}}}\nroutes:\n{routes}#END\n",
        node.addr()
    );
    Gateway::file(BIN, &apisix)
        .workers(1)
        .plugins(&["test-batch", "prometheus"])
        .start()
}

/// A route `/<id>/*` logging into a batch processor with `batch` (a YAML
/// flow map's entries) and the sink at `sink`.
fn route(id: &str, sink: &Node, batch: &str) -> String {
    format!(
        "  - {{id: {id}, uri: \"/{id}/*\", upstream_id: u, plugins: {{test-batch: {{batch: \
         {{uri: \"http://{}/sink\", {batch}}}}}}}}}\n",
        sink.addr()
    )
}

/// The sink's bodies, as JSON.
fn batches(sink: &Node) -> Vec<Value> {
    sink.bodies()
        .iter()
        .map(|b| serde_json::from_str(b).unwrap_or_else(|e| panic!("not JSON ({e}): {b}")))
        .collect()
}

fn entry(path: &str) -> Value {
    json!({"path": path, "status": 200})
}

#[test]
fn batches_leave_full_or_after_the_inactive_timeout_one_buffer_per_instance() {
    let node = Node::start("n");
    let full = Node::start("full-sink");
    let idle = Node::start("idle-sink");
    let gw = gateway(
        &node,
        &(route("full", &full, "batch_max_size: 3, inactive_timeout: 60")
            + &route("idle", &idle, "batch_max_size: 100, inactive_timeout: 0.3")),
    );
    for i in 0..6 {
        let r = gw.get(&format!("/full/{i}"), &[]);
        assert_eq!(r.status, 200, "{r:?}");
    }
    gw.get("/idle/a", &[]);
    gw.get("/idle/b", &[]);
    assert!(eventually(10, || full.hits() >= 2), "{}", gw.log());
    assert_eq!(
        batches(&full),
        [
            json!([entry("/full/0"), entry("/full/1"), entry("/full/2")]),
            json!([entry("/full/3"), entry("/full/4"), entry("/full/5")]),
        ]
    );
    // The other instance's buffer: two entries, sent once idle.
    assert!(eventually(10, || idle.hits() >= 1), "{}", gw.log());
    assert_eq!(
        batches(&idle),
        [json!([entry("/idle/a"), entry("/idle/b")])]
    );
}

#[test]
fn a_batch_leaves_buffer_duration_after_its_first_entry_while_entries_keep_coming() {
    let node = Node::start("n");
    let sink = Node::start("sink");
    let gw = gateway(
        &node,
        &route(
            "r",
            &sink,
            "batch_max_size: 1000, inactive_timeout: 60, buffer_duration: 0.5",
        ),
    );
    // Entries keep coming (never 60 s idle, never 1000 of them) until the
    // sink gets a batch: buffer_duration sends it, from the first entry on.
    let mut sent = 0;
    let arrived = eventually(10, || {
        sent += 1;
        let r = gw.get(&format!("/r/{sent}"), &[]);
        assert_eq!(r.status, 200, "{r:?}");
        sink.hits() >= 1
    });
    assert!(arrived, "no batch after {sent} entries\n{}", gw.log());
    let first = &batches(&sink)[0];
    assert_eq!(first[0], entry("/r/1"), "{first}");
}

#[test]
fn a_batch_the_sink_refuses_arrives_again() {
    let node = Node::start("n");
    let sink = Node::start("sink");
    sink.script(&[500]);
    let gw = gateway(
        &node,
        &route(
            "r",
            &sink,
            "batch_max_size: 2, max_retry_count: 2, retry_delay: 0.1",
        ),
    );
    gw.get("/r/1", &[]);
    gw.get("/r/2", &[]);
    assert!(eventually(10, || sink.hits() >= 2), "{}", gw.log());
    let expected = json!([entry("/r/1"), entry("/r/2")]);
    assert_eq!(batches(&sink), [expected.clone(), expected]);
    assert!(gw.log().contains("the sink answered 500"), "{}", gw.log());
}

#[test]
fn entries_past_the_bound_are_dropped_and_counted() {
    let node = Node::start("n");
    let sink = Node::start("sink");
    let gw = gateway(
        &node,
        &route(
            "r",
            &sink,
            "batch_max_size: 100, inactive_timeout: 60, max_pending_entries: 2",
        ),
    );
    for i in 0..5 {
        let r = gw.get(&format!("/r/{i}"), &[]);
        assert_eq!(r.status, 200, "{r:?}");
    }
    let series = r#"radixgate_batch_dropped_total{plugin="test-batch",reason="buffer_full"} 3"#;
    let metrics = gw.metrics_port();
    let mut last = String::new();
    let counted = eventually(10, || {
        last = request(metrics, "GET", "/apisix/prometheus/metrics", &[])
            .map(|r| r.body)
            .unwrap_or_default();
        last.contains(series)
    });
    assert!(counted, "{series} not in:\n{last}");
    assert_eq!(sink.hits(), 0, "nothing was due yet");
}
