//! End to end: 100 MB up and 100 MB down through the gateway stream
//! without being held in memory: the gateway's peak RSS grows by less than
//! 50 MB over its idle size.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::Duration;

use radixgate_test_support::Gateway;

const BIN: &str = env!("CARGO_BIN_EXE_radixgate");

const SIZE: u64 = 100 * 1024 * 1024;
const CHUNK: usize = 64 * 1024;

/// A node for `/down` (answers SIZE bytes) and `/up` (reads the body and
/// answers how many bytes it got).
fn big_node() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for s in listener.incoming().flatten() {
            std::thread::spawn(move || serve(s));
        }
    });
    port
}

fn serve(s: TcpStream) {
    let mut r = BufReader::new(s.try_clone().unwrap());
    let mut w = s;
    let mut line = String::new();
    let _ = r.read_line(&mut line);
    let mut len = 0u64;
    loop {
        let mut h = String::new();
        if r.read_line(&mut h).unwrap_or(0) == 0 || h.trim().is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            if k.eq_ignore_ascii_case("content-length") {
                len = v.trim().parse().unwrap_or(0);
            }
        }
    }
    if line.contains("/down") {
        let _ = write!(
            w,
            "HTTP/1.1 200 OK\r\ncontent-length: {SIZE}\r\nconnection: close\r\n\r\n"
        );
        let chunk = vec![7u8; CHUNK];
        let mut left = SIZE;
        while left > 0 {
            let n = left.min(CHUNK as u64) as usize;
            if w.write_all(&chunk[..n]).is_err() {
                return;
            }
            left -= n as u64;
        }
    } else {
        let got = std::io::copy(&mut r.by_ref().take(len), &mut std::io::sink()).unwrap_or(0);
        let body = got.to_string();
        let _ = write!(
            w,
            "HTTP/1.1 200 OK\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        );
    }
}

fn rss_kb(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

#[test]
fn hundred_megabytes_each_way_stream() {
    let node = big_node();
    let gw = Gateway::start_file(BIN, &format!(
        "routes:\n  - {{id: big, uri: /big/*, upstream: {{nodes: {{\"127.0.0.1:{node}\": 1}}}}}}\n#END\n"
    ));
    let idle = rss_kb(gw.pid(), "VmRSS:");

    // Down: read and count without keeping it.
    let mut s = TcpStream::connect(("127.0.0.1", gw.port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    write!(
        s,
        "GET /big/down HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let got = std::io::copy(&mut s, &mut std::io::sink()).unwrap();
    assert!(got > SIZE, "got {got} bytes");

    // Up: send SIZE bytes; the node reports how many arrived.
    let mut s = TcpStream::connect(("127.0.0.1", gw.port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    write!(
        s,
        "POST /big/up HTTP/1.1\r\nHost: x\r\nContent-Length: {SIZE}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let chunk = vec![1u8; CHUNK];
    let mut left = SIZE;
    while left > 0 {
        let n = left.min(CHUNK as u64) as usize;
        s.write_all(&chunk[..n]).unwrap();
        left -= n as u64;
    }
    let mut resp = String::new();
    s.read_to_string(&mut resp).unwrap();
    assert!(resp.starts_with("HTTP/1.1 200"), "{resp}");
    assert!(resp.ends_with(&SIZE.to_string()), "{resp}");

    let peak = rss_kb(gw.pid(), "VmHWM:");
    assert!(idle > 0 && peak > 0, "no /proc figures");
    assert!(
        peak < idle + 50 * 1024,
        "peak RSS {peak} kB vs idle {idle} kB: bodies were buffered"
    );
    eprintln!("gateway RSS: idle {idle} kB, peak {peak} kB");
}
