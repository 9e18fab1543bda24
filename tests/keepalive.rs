//! End to end: connections kept alive on both sides of the gateway.
//! Towards a node, `keepalive_pool.size` caps the idle connections kept
//! (the node counts the connections it accepts); towards the client,
//! several requests follow one another on one connection, whether the
//! gateway answered the one before itself (404, its body left unread) or
//! a node did.

use std::thread;

use radixgate_test_support::{eventually, Connection, Gateway, Node, Request, Response};

const BIN: &str = env!("CARGO_BIN_EXE_radixgate");

/// Sends `n` requests to `path` at once while `node` holds them, waits
/// until the node holds all `n`, lets them go; every answer must be 200.
fn concurrent(gw: &Gateway, node: &Node, path: &str, n: usize) {
    node.hold(true);
    let clients: Vec<_> = (0..n)
        .map(|_| {
            let (port, path) = (gw.port, path.to_owned());
            thread::spawn(move || Request::get(&path).send(port))
        })
        .collect();
    let all_held = eventually(5, || node.held() == n);
    node.hold(false);
    assert!(all_held, "the node held {} of {n} requests", node.held());
    for c in clients {
        let r = c
            .join()
            .expect("a client thread")
            .expect("the gateway answers");
        assert_eq!(r.status, 200, "{r:?}");
    }
}

#[test]
fn keepalive_pool_size_caps_the_idle_connections_kept_per_node() {
    let node = Node::start("n");
    // One worker: one pool, so every request sees the same idle connections.
    let gw = Gateway::file(
        BIN,
        &format!(
            "routes:\n  - id: k\n    uri: /k\n    upstream: {{nodes: {{\"{}\": 1}}, keepalive_pool: {{size: 2}}}}\n#END\n",
            node.addr()
        ),
    )
    .workers(1)
    .start();
    // Four at once: four connections, of which two are kept idle.
    concurrent(&gw, &node, "/k", 4);
    assert_eq!(node.connections(), 4);
    // One after another: each reuses an idle connection.
    for _ in 0..3 {
        assert_eq!(gw.fetch("/k").0, 200);
    }
    assert_eq!(
        node.connections(),
        4,
        "sequential requests should reuse idle connections"
    );
    // Four at once again: the two kept are reused, two more are opened.
    concurrent(&gw, &node, "/k", 4);
    assert_eq!(
        node.connections(),
        6,
        "with size 2, two idle connections should have been left to reuse"
    );
}

/// A gateway whose routes `/kept/*` go to `node`.
fn kept_gateway(node: &Node) -> Gateway {
    Gateway::start_file(
        BIN,
        &format!(
            "routes:\n  - {{id: kept, uri: /kept/*, upstream: {{nodes: {{\"{}\": 1}}}}}}\n#END\n",
            node.addr()
        ),
    )
}

fn send(conn: &mut Connection, req: Request) -> Response {
    conn.send(&req)
        .unwrap_or_else(|e| panic!("{req:?} on the kept-alive connection: {e}"))
}

/// `GET path` on `conn`, which the node must have answered for `path`.
fn proxied(conn: &mut Connection, path: &str) -> Response {
    let r = send(conn, Request::get(path));
    assert_eq!(
        (r.status, r.echoed("path").as_deref()),
        (200, Some(path)),
        "{r:?}"
    );
    r
}

#[test]
fn two_proxied_requests_share_one_client_connection() {
    let node = Node::start("n");
    let gw = kept_gateway(&node);
    let mut conn = Connection::open(gw.port).expect("connect to the gateway");
    let a = proxied(&mut conn, "/kept/a");
    assert_ne!(a.header("connection"), Some("close"), "{a:?}");
    let b = send(&mut conn, Request::new("POST", "/kept/b").body("payload"));
    assert_eq!(
        (b.status, b.echoed("body").as_deref()),
        (200, Some("payload"))
    );
    proxied(&mut conn, "/kept/c");
    assert_eq!(node.hits(), 3);
}

#[test]
fn a_404_then_a_proxied_request_share_one_client_connection() {
    let node = Node::start("n");
    let gw = kept_gateway(&node);
    let mut conn = Connection::open(gw.port).expect("connect to the gateway");
    let missing = send(&mut conn, Request::get("/nowhere"));
    assert_eq!(missing.status, 404, "{missing:?}");
    assert_eq!(missing.body, r#"{"error_msg":"404 Route Not Found"}"#);
    proxied(&mut conn, "/kept/a");
    // A 404 to a request with a body the gateway never read: the next
    // request on the connection is still read from its own start.
    let missing = send(
        &mut conn,
        Request::new("POST", "/nowhere").body("unread body"),
    );
    assert_eq!(missing.status, 404, "{missing:?}");
    proxied(&mut conn, "/kept/b");
    assert_eq!(node.hits(), 2);
}
