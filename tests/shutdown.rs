//! End to end: on SIGTERM the gateway stops accepting, closes idle
//! keep-alive connections at once, finishes the request in flight (held
//! at the node until the test lets it go), and exits cleanly.

use std::io::Read;
use std::net::TcpStream;
use std::time::{Duration, Instant};

use radixgate_test_support::{eventually, request, Connection, Gateway, Node, Request};

const BIN: &str = env!("CARGO_BIN_EXE_radixgate");

#[test]
fn sigterm_drains_requests_in_flight() {
    let node = Node::start("slow");
    let routes = format!(
        "routes:\n  - {{id: slow, uri: /slow, upstream: {{nodes: {{\"{}\": 1}}}}}}\n#END\n",
        node.addr()
    );
    // Waits for a head far longer than the test: an idle connection that
    // closes soon after SIGTERM was closed by it.
    let mut gw = Gateway::file(BIN, &routes)
        .gateway_yaml("  header_read_timeout: 60\n  keepalive_timeout: 60\n")
        .start();
    let port = gw.port;
    // A kept-alive connection that served a request and then idles.
    let mut idle = Connection::open(port).expect("connect");
    let first = idle.send(&Request::get("/slow")).expect("a first request");
    assert_eq!(first.status, 200, "{first:?}");
    node.hold(true);
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
    // The idle connection is closed at once, not at its keep-alive timeout.
    let mut stream = idle.into_stream();
    stream
        .set_read_timeout(Some(Duration::from_secs(3)))
        .expect("a read timeout");
    let mut rest = [0u8; 64];
    assert!(
        matches!(stream.read(&mut rest), Ok(0)),
        "the idle connection is still open after SIGTERM"
    );
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
