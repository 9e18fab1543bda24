//! End to end: on SIGTERM the gateway stops accepting, finishes the
//! request in flight, and exits cleanly.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};

use radixgate_test_support::{eventually, request, Gateway};

const BIN: &str = env!("CARGO_BIN_EXE_radixgate");

/// A node that answers each request after `delay`.
fn slow_node(delay: Duration) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for mut s in listener.incoming().flatten() {
            std::thread::spawn(move || {
                let mut buf = [0u8; 4096];
                let _ = s.read(&mut buf);
                std::thread::sleep(delay);
                let _ = s.write_all(
                    b"HTTP/1.1 200 OK\r\ncontent-length: 4\r\nconnection: close\r\n\r\nslow",
                );
            });
        }
    });
    port
}

#[test]
fn sigterm_drains_requests_in_flight() {
    let node = slow_node(Duration::from_millis(1500));
    let mut gw = Gateway::start_file(BIN, &format!(
        "routes:\n  - {{id: slow, uri: /slow, upstream: {{nodes: {{\"127.0.0.1:{node}\": 1}}}}}}\n#END\n"
    ));
    let port = gw.port;
    let in_flight = std::thread::spawn(move || request(port, "GET", "/slow", &[]));
    std::thread::sleep(Duration::from_millis(400));
    let t = Instant::now();
    gw.terminate();
    // New connections are refused soon after the signal.
    let refused = eventually(3, || TcpStream::connect(("127.0.0.1", port)).is_err());
    assert!(refused, "still accepting after SIGTERM");
    let resp = in_flight
        .join()
        .unwrap()
        .expect("in-flight request completes");
    assert_eq!((resp.status, resp.body.as_str()), (200, "slow"), "{resp:?}");
    let status = gw.wait_exit(10).expect("gateway exits after draining");
    assert!(status.success(), "{status:?}\n{}", gw.log());
    assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
    assert!(gw.log().contains("stopped"), "{}", gw.log());
}
