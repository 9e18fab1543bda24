//! End to end: 100 MB up and 100 MB down through the gateway stream
//! without being held in memory: each arrives whole (status 200, exactly
//! its length, every byte as sent, the node counting what it received) and
//! the gateway's peak RSS grows by less than 50 MB over its idle size.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use radixgate_test_support::Gateway;

const BIN: &str = env!("CARGO_BIN_EXE_radixgate");

const SIZE: u64 = 100 * 1024 * 1024;
const CHUNK: usize = 64 * 1024;
/// The byte the node sends down.
const DOWN: u8 = 7;
/// The byte the client sends up.
const UP: u8 = 1;

/// A node for `/down` (answers SIZE bytes of [`DOWN`]) and `/up` (reads the
/// body and answers how many bytes it got); the count of [`UP`] bytes it
/// received is kept too.
fn big_node() -> (u16, Arc<AtomicU64>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind the node");
    let port = listener.local_addr().expect("the node's address").port();
    let received = Arc::new(AtomicU64::new(0));
    let count = received.clone();
    std::thread::spawn(move || {
        for s in listener.incoming().flatten() {
            let count = count.clone();
            std::thread::spawn(move || serve(s, &count));
        }
    });
    (port, received)
}

fn serve(s: TcpStream, received: &AtomicU64) {
    let Ok(read) = s.try_clone() else { return };
    let mut r = BufReader::new(read);
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
        let chunk = vec![DOWN; CHUNK];
        let mut left = SIZE;
        while left > 0 {
            let n = left.min(CHUNK as u64) as usize;
            if w.write_all(&chunk[..n]).is_err() {
                return;
            }
            left -= n as u64;
        }
    } else {
        let got = count_bytes(&mut r.by_ref().take(len), UP);
        received.store(got, Ordering::SeqCst);
        let body = got.to_string();
        let _ = write!(
            w,
            "HTTP/1.1 200 OK\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        );
    }
}

/// Reads `r` to its end: how many bytes came, all equal to `byte` (panics
/// at the first other byte).
fn count_bytes(r: &mut impl Read, byte: u8) -> u64 {
    let mut buf = vec![0u8; CHUNK];
    // Compared as slices (memcmp): a byte-by-byte loop is slow unoptimized.
    let want = vec![byte; CHUNK];
    let mut total = 0u64;
    loop {
        match r.read(&mut buf) {
            Ok(0) => return total,
            Ok(n) => {
                assert!(
                    buf[..n] == want[..n],
                    "a byte other than {byte} after {total}"
                );
                total += n as u64;
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => panic!("reading after {total} bytes: {e}"),
        }
    }
}

/// Reads a response head: the status line and the lower-cased headers.
fn read_head(r: &mut impl BufRead) -> (String, Vec<(String, String)>) {
    let mut status = String::new();
    r.read_line(&mut status).expect("the status line");
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        r.read_line(&mut h).expect("a header line");
        if h.trim().is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.push((k.trim().to_ascii_lowercase(), v.trim().to_owned()));
        }
    }
    (status.trim_end().to_owned(), headers)
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
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

fn connect(port: u16) -> TcpStream {
    let s = TcpStream::connect(("127.0.0.1", port)).expect("connect to the gateway");
    s.set_read_timeout(Some(Duration::from_secs(60)))
        .expect("set a read timeout");
    s
}

#[test]
fn hundred_megabytes_each_way_stream() {
    let (node, received) = big_node();
    let gw = Gateway::start_file(BIN, &format!(
        "routes:\n  - {{id: big, uri: /big/*, upstream: {{nodes: {{\"127.0.0.1:{node}\": 1}}}}}}\n#END\n"
    ));
    let idle = rss_kb(gw.pid(), "VmRSS:");

    // Down: the head, then exactly SIZE bytes, read without keeping them.
    let mut s = connect(gw.port);
    write!(
        s,
        "GET /big/down HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .expect("send the GET");
    let mut r = BufReader::new(s);
    let (status, headers) = read_head(&mut r);
    assert_eq!(status, "HTTP/1.1 200 OK", "{headers:?}\n{}", gw.log());
    let len = SIZE.to_string();
    assert_eq!(header(&headers, "content-length"), Some(len.as_str()));
    assert_eq!(count_bytes(&mut r, DOWN), SIZE, "the body downloaded");

    // Up: send SIZE bytes; the node counts them and answers the count.
    let mut s = connect(gw.port);
    write!(
        s,
        "POST /big/up HTTP/1.1\r\nHost: x\r\nContent-Length: {SIZE}\r\nConnection: close\r\n\r\n"
    )
    .expect("send the POST head");
    let chunk = vec![UP; CHUNK];
    let mut left = SIZE;
    while left > 0 {
        let n = left.min(CHUNK as u64) as usize;
        s.write_all(&chunk[..n]).expect("send the body");
        left -= n as u64;
    }
    let mut r = BufReader::new(s);
    let (status, headers) = read_head(&mut r);
    assert_eq!(status, "HTTP/1.1 200 OK", "{headers:?}\n{}", gw.log());
    let mut body = String::new();
    r.read_to_string(&mut body).expect("the node's answer");
    assert_eq!(body, len, "the node's count, through the gateway");
    assert_eq!(received.load(Ordering::SeqCst), SIZE, "the node received");

    let peak = rss_kb(gw.pid(), "VmHWM:");
    assert!(idle > 0 && peak > 0, "no /proc figures");
    assert!(
        peak < idle + 50 * 1024,
        "peak RSS {peak} kB vs idle {idle} kB: bodies were buffered"
    );
    eprintln!("gateway RSS: idle {idle} kB, peak {peak} kB");
}
