//! The loggers' request and response bodies end to end
//! (`include_req_body`, `include_resp_body`, their `_expr`s and
//! `max_*_body_bytes`): the real `file-logger` library loaded by the real
//! gateway, real POSTs to a real node (which echoes the request), each
//! route's entries read back from its own file; a logged response keeps
//! the node's `Content-Length`.

use std::path::Path;

use radixgate_test_support::http::Request;
use radixgate_test_support::{eventually, Gateway, Node, TempDir};
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_radixgate");

/// The routes: id and the file-logger fields besides `path`.
const ROUTES: [(&str, &str); 7] = [
    ("req", "include_req_body: true"),
    ("req_small", "include_req_body: true, max_req_body_bytes: 5"),
    (
        "req_expr",
        "include_req_body: true, include_req_body_expr: [[arg_log, \"==\", \"yes\"]]",
    ),
    ("resp", "include_resp_body: true"),
    (
        "resp_small",
        "include_resp_body: true, max_resp_body_bytes: 10",
    ),
    (
        "resp_expr",
        "include_resp_body: true, include_resp_body_expr: [[arg_log, \"==\", \"yes\"]]",
    ),
    ("plain", "include_resp_body: false"),
];

fn gateway(node: &Node, dir: &TempDir) -> Gateway {
    let mut apisix = format!(
        "upstreams:\n  - {{id: u, nodes: {{\"{}\": 1}}}}\nroutes:\n",
        node.addr()
    );
    for (id, fields) in ROUTES {
        apisix += &format!(
            "  - {{id: {id}, uri: /{id}, upstream_id: u, plugins: {{file-logger: {{path: \"{}\", \
             {fields}}}}}}}\n",
            dir.path(&format!("{id}.log")).display()
        );
    }
    apisix += "#END\n";
    Gateway::file(BIN, &apisix)
        .workers(1)
        .plugins(&["file-logger"])
        .start()
}

/// The entries in `path`, one JSON object a line; a last line the logger
/// is still writing (no newline yet) is left for a later read.
fn lines(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let complete = text.rfind('\n').map_or("", |end| &text[..end]);
    complete
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

/// POSTs `body` to `target`; asserts the node's 200 reached the client
/// with its `Content-Length` (not chunked), and returns the body the
/// client got.
fn post(gw: &Gateway, target: &str, body: &str) -> String {
    let r = Request::new("POST", target)
        .body(body.as_bytes().to_vec())
        .send(gw.port)
        .unwrap_or_else(|e| panic!("POST {target}: {e}"));
    assert_eq!(r.status, 200, "POST {target}: {r:?}");
    assert_eq!(
        r.header("content-length"),
        Some(r.body.len().to_string().as_str()),
        "POST {target}: the node's Content-Length did not reach the client: {:?}",
        r.headers
    );
    assert_eq!(
        r.header("transfer-encoding"),
        None,
        "POST {target}: {:?}",
        r.headers
    );
    r.body
}

/// The `n` entries of route `id`, once its file has them.
fn entries(gw: &Gateway, dir: &TempDir, id: &str, n: usize) -> Vec<Value> {
    let path = dir.path(&format!("{id}.log"));
    assert!(
        eventually(10, || lines(&path).len() >= n),
        "{id}: {:?}\n{}",
        lines(&path),
        gw.log()
    );
    lines(&path)
}

fn body<'a>(entry: &'a Value, side: &str) -> Option<&'a str> {
    entry.get(side)?.get("body")?.as_str()
}

#[test]
fn the_request_body_is_logged_cut_at_its_limit_when_the_expr_holds() {
    let node = Node::start("n");
    let dir = TempDir::new("logger-bodies");
    let gw = gateway(&node, &dir);

    let small = r#"{"order": 42}"#;
    // Past the default max_req_body_bytes (524288): cut there.
    let big = "x".repeat(600_000);
    post(&gw, "/req", small);
    post(&gw, "/req", &big);
    let got = entries(&gw, &dir, "req", 2);
    assert_eq!(body(&got[0], "request"), Some(small), "{}", got[0]);
    assert_eq!(
        body(&got[1], "request").map(str::len),
        Some(524_288),
        "the big body is not cut at 524288"
    );
    assert!(
        node.bodies().iter().any(|b| b.len() == 600_000),
        "the node did not get the whole big body"
    );

    post(&gw, "/req_small", "0123456789");
    let got = entries(&gw, &dir, "req_small", 1);
    assert_eq!(body(&got[0], "request"), Some("01234"), "{}", got[0]);

    post(&gw, "/req_expr?log=yes", "logged");
    post(&gw, "/req_expr?log=no", "not logged");
    let got = entries(&gw, &dir, "req_expr", 2);
    assert_eq!(body(&got[0], "request"), Some("logged"), "{}", got[0]);
    assert_eq!(body(&got[1], "request"), None, "{}", got[1]);
}

#[test]
fn the_response_body_is_logged_cut_at_its_limit_and_keeps_its_length() {
    let node = Node::start("n");
    let dir = TempDir::new("logger-resp-bodies");
    let gw = gateway(&node, &dir);

    // The node echoes the request: the big one's answer passes the
    // default max_resp_body_bytes (524288).
    let small = post(&gw, "/resp", "hello");
    let big = post(&gw, "/resp", &"y".repeat(600_000));
    assert!(big.len() > 600_000, "the echo is shorter than its request");
    let got = entries(&gw, &dir, "resp", 2);
    assert_eq!(
        body(&got[0], "response"),
        Some(small.as_str()),
        "{}",
        got[0]
    );
    assert_eq!(
        body(&got[1], "response"),
        Some(&big[..524_288]),
        "the big response body is not the node's cut at 524288"
    );

    let answer = post(&gw, "/resp_small", "0123456789");
    let got = entries(&gw, &dir, "resp_small", 1);
    assert_eq!(body(&got[0], "response"), Some(&answer[..10]), "{}", got[0]);

    let logged = post(&gw, "/resp_expr?log=yes", "logged");
    post(&gw, "/resp_expr?log=no", "not logged");
    let got = entries(&gw, &dir, "resp_expr", 2);
    assert_eq!(
        body(&got[0], "response"),
        Some(logged.as_str()),
        "{}",
        got[0]
    );
    assert_eq!(body(&got[1], "response"), None, "{}", got[1]);
}

#[test]
fn a_logger_without_include_resp_body_leaves_the_response_as_the_node_sent_it() {
    let node = Node::start("n");
    let dir = TempDir::new("logger-no-resp-body");
    let gw = gateway(&node, &dir);

    // `post` asserts the node's Content-Length reached the client.
    post(&gw, "/plain", "quiet");
    let got = entries(&gw, &dir, "plain", 1);
    assert_eq!(body(&got[0], "response"), None, "{}", got[0]);
}

/// Two logger libraries on one route (file-logger and tcp-logger), both
/// with `include_resp_body`: each entry carries the response body; the
/// per-request state of one never stands in for the other's.
#[test]
fn two_logger_plugins_on_one_route_each_log_the_response_body() {
    let node = Node::start("n");
    let dir = TempDir::new("logger-two-bodies");
    let sink = std::net::TcpListener::bind("127.0.0.1:0").expect("bind the tcp sink");
    let sink_port = sink.local_addr().expect("sink address").port();
    let apisix = format!(
        "upstreams:\n  - {{id: u, nodes: {{\"{}\": 1}}}}\nroutes:\n  - {{id: both, uri: /both, \
         upstream_id: u, plugins: {{file-logger: {{path: \"{}\", include_resp_body: true}}, \
         tcp-logger: {{host: 127.0.0.1, port: {sink_port}, batch_max_size: 1, \
         include_resp_body: true}}}}}}\n#END\n",
        node.addr(),
        dir.path("both.log").display()
    );
    let gw = Gateway::file(BIN, &apisix)
        .workers(1)
        .plugins(&["file-logger", "tcp-logger"])
        .start();

    let answer = post(&gw, "/both", "two loggers");
    let got = entries(&gw, &dir, "both", 1);
    assert_eq!(
        body(&got[0], "response"),
        Some(answer.as_str()),
        "file-logger: {}",
        got[0]
    );
    sink.set_nonblocking(false).expect("blocking sink");
    let (mut conn, _) = sink.accept().expect("tcp-logger connects");
    conn.set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .expect("read timeout");
    let mut sent = String::new();
    std::io::Read::read_to_string(&mut conn, &mut sent).expect("tcp-logger's batch");
    let entry: Value = serde_json::from_str(sent.trim())
        .unwrap_or_else(|e| panic!("tcp-logger sent no JSON entry ({e}): {sent}"));
    assert_eq!(
        body(&entry, "response"),
        Some(answer.as_str()),
        "tcp-logger: {entry}"
    );
}
