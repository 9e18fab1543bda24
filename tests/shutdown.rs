//! End to end: on SIGTERM the gateway stops accepting, finishes the
//! request in flight (held at the node until the test lets it go), and
//! exits cleanly.

use std::net::TcpStream;
use std::time::{Duration, Instant};

use radixgate_test_support::{eventually, request, Gateway, Node};

const BIN: &str = env!("CARGO_BIN_EXE_radixgate");

#[test]
fn sigterm_drains_requests_in_flight() {
    let node = Node::start("slow");
    node.hold(true);
    let mut gw = Gateway::start_file(
        BIN,
        &format!(
            "routes:\n  - {{id: slow, uri: /slow, upstream: {{nodes: {{\"{}\": 1}}}}}}\n#END\n",
            node.addr()
        ),
    );
    let port = gw.port;
    let in_flight = std::thread::spawn(move || request(port, "GET", "/slow", &[]));
    // In flight: the node has the request and holds it.
    assert!(
        eventually(10, || node.held() == 1),
        "the request never reached the node\n{}",
        gw.log()
    );
    let t = Instant::now();
    gw.terminate();
    // New connections are refused soon after the signal, while the
    // request is still held; the gateway waits for it.
    let refused = eventually(3, || TcpStream::connect(("127.0.0.1", port)).is_err());
    assert!(refused, "still accepting after SIGTERM");
    assert!(gw.alive(), "exited with a request in flight\n{}", gw.log());
    assert_eq!(node.held(), 1);
    node.hold(false);
    let resp = in_flight
        .join()
        .expect("the client thread")
        .expect("in-flight request completes");
    assert_eq!(resp.status, 200, "{resp:?}");
    assert_eq!(resp.echoed("upstream").as_deref(), Some("slow"), "{resp:?}");
    assert_eq!(resp.echoed("path").as_deref(), Some("/slow"), "{resp:?}");
    let status = gw.wait_exit(10).expect("gateway exits after draining");
    assert!(status.success(), "{status:?}\n{}", gw.log());
    assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
    assert!(gw.log().contains("stopped"), "{}", gw.log());
}
