//! End to end: a WebSocket upgrade through the gateway to a real socket
//! that answers 101 and then echoes bytes; refused (plain HTTP) on a route
//! without `enable_websocket`.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::Duration;

use radixgate_test_support::Gateway;

const BIN: &str = env!("CARGO_BIN_EXE_radixgate");

/// A node that switches to an echo tunnel when asked for a WebSocket, and
/// answers 400 otherwise.
fn ws_echo_node() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for mut s in listener.incoming().flatten() {
            std::thread::spawn(move || {
                let head = read_head(&mut s).to_ascii_lowercase();
                if !head.contains("upgrade: websocket") {
                    let _ = s.write_all(
                        b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
                    );
                    return;
                }
                let _ = s.write_all(
                    b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n",
                );
                let mut buf = [0u8; 1024];
                while let Ok(n) = s.read(&mut buf) {
                    if n == 0 || s.write_all(&buf[..n]).is_err() {
                        return;
                    }
                }
            });
        }
    });
    port
}

fn read_head(s: &mut TcpStream) -> String {
    let mut head = Vec::new();
    let mut b = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match s.read(&mut b) {
            Ok(1) => head.push(b[0]),
            _ => break,
        }
    }
    String::from_utf8_lossy(&head).into_owned()
}

fn handshake(port: u16, path: &str) -> (TcpStream, String) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
    .unwrap();
    let head = read_head(&mut s);
    (s, head)
}

#[test]
fn websocket_echo_through_the_gateway() {
    let node = ws_echo_node();
    let gw = Gateway::start_file(BIN, &format!(
        "routes:\n  - {{id: ws, uri: /ws, enable_websocket: true, upstream: {{nodes: {{\"127.0.0.1:{node}\": 1}}}}}}\n  - {{id: plain, uri: /plain, upstream: {{nodes: {{\"127.0.0.1:{node}\": 1}}}}}}\n#END\n"
    ));
    let (mut s, head) = handshake(gw.port, "/ws");
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    assert!(
        head.to_ascii_lowercase().contains("upgrade: websocket"),
        "{head}"
    );
    for msg in [&b"hello"[..], b"second message", &[0u8, 255, 1, 254]] {
        s.write_all(msg).unwrap();
        let mut back = vec![0u8; msg.len()];
        s.read_exact(&mut back).unwrap();
        assert_eq!(back, msg);
    }
    drop(s);
    // Without enable_websocket the upgrade headers do not reach the node.
    let (_s, head) = handshake(gw.port, "/plain");
    assert!(head.starts_with("HTTP/1.1 400"), "{head}");
}
