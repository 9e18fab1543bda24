//! End to end: hostile HTTP/2 clients on the h2c listener, written frame by
//! frame over a plain `TcpStream` (HPACK encoded by hand, no Huffman).
//! Malformed frames get a GOAWAY with the RFC 9113 error code and the
//! connection closes; an HPACK bomb (one large header put into the dynamic
//! table, then referenced thousands of times) is refused without the
//! gateway's memory growing with what it would decode to; streams beyond
//! `max_concurrent_streams` get RST_STREAM REFUSED_STREAM while another
//! client on another connection is served.

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::time::Duration;

use radixgate_test_support::{Gateway, Node};

const BIN: &str = env!("CARGO_BIN_EXE_radixgate");

const DATA: u8 = 0x0;
const HEADERS: u8 = 0x1;
const RST_STREAM: u8 = 0x3;
const SETTINGS: u8 = 0x4;
const PING: u8 = 0x6;
const GOAWAY: u8 = 0x7;

const END_STREAM: u8 = 0x1;
const ACK: u8 = 0x1;
const END_HEADERS: u8 = 0x4;

const PROTOCOL_ERROR: u32 = 0x1;
const FRAME_SIZE_ERROR: u32 = 0x6;
const REFUSED_STREAM: u32 = 0x7;
const COMPRESSION_ERROR: u32 = 0x9;

/// One HTTP/2 frame: its 9-byte header and payload.
fn frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let len = payload.len() as u32;
    let mut out = vec![(len >> 16) as u8, (len >> 8) as u8, len as u8, kind, flags];
    out.extend_from_slice(&stream.to_be_bytes());
    out.extend_from_slice(payload);
    out
}

/// An HPACK integer with an `n`-bit prefix whose high bits are `first`.
fn hpack_int(out: &mut Vec<u8>, first: u8, n: u32, value: usize) {
    let max = (1usize << n) - 1;
    if value < max {
        out.push(first | value as u8);
        return;
    }
    out.push(first | max as u8);
    let mut rest = value - max;
    while rest >= 128 {
        out.push((rest % 128) as u8 | 0x80);
        rest /= 128;
    }
    out.push(rest as u8);
}

/// An HPACK string literal, not Huffman coded.
fn hpack_str(out: &mut Vec<u8>, s: &[u8]) {
    hpack_int(out, 0x00, 7, s.len());
    out.extend_from_slice(s);
}

/// The header block of a request `method` (`:method` static index 2 GET,
/// 3 POST) for `path` on `port`, over http.
fn request_block(method_index: u8, path: &str, port: u16) -> Vec<u8> {
    let mut b = vec![0x80 | method_index, 0x86]; // :method, :scheme http
    b.push(0x04); // :path, literal without indexing, name index 4
    hpack_str(&mut b, path.as_bytes());
    b.push(0x01); // :authority, literal without indexing, name index 1
    hpack_str(&mut b, format!("127.0.0.1:{port}").as_bytes());
    b
}

/// A frame read from the gateway.
#[derive(Debug)]
struct Frame {
    kind: u8,
    flags: u8,
    stream: u32,
    payload: Vec<u8>,
}

impl Frame {
    /// The error code of a GOAWAY or RST_STREAM frame.
    fn error_code(&self) -> u32 {
        let at = if self.kind == GOAWAY { 4 } else { 0 };
        let b = &self.payload[at..at + 4];
        u32::from_be_bytes([b[0], b[1], b[2], b[3]])
    }
}

/// A raw HTTP/2 connection: the preface and an empty SETTINGS sent.
struct Raw {
    s: TcpStream,
}

impl Raw {
    fn open(port: u16) -> Raw {
        let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(10)))
            .expect("read timeout");
        s.write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
            .expect("send the preface");
        s.write_all(&frame(SETTINGS, 0, 0, &[]))
            .expect("send SETTINGS");
        Raw { s }
    }

    /// [`Raw::open`], then the gateway's SETTINGS read and acknowledged.
    fn settled(port: u16) -> Raw {
        let mut raw = Raw::open(port);
        loop {
            let f = raw.read().expect("the gateway's SETTINGS");
            if f.kind == SETTINGS && f.flags & ACK == 0 {
                raw.send(&frame(SETTINGS, ACK, 0, &[]));
                return raw;
            }
        }
    }

    fn send(&mut self, bytes: &[u8]) {
        self.s.write_all(bytes).expect("send to the gateway");
    }

    /// The next frame; `None` when the gateway closed the connection.
    /// Panics when nothing comes within the read timeout.
    fn read(&mut self) -> Option<Frame> {
        let mut head = [0u8; 9];
        if !self.fill(&mut head) {
            return None;
        }
        let len = u32::from_be_bytes([0, head[0], head[1], head[2]]) as usize;
        let mut payload = vec![0u8; len];
        if !self.fill(&mut payload) {
            return None;
        }
        Some(Frame {
            kind: head[3],
            flags: head[4],
            stream: u32::from_be_bytes([head[5], head[6], head[7], head[8]]) & 0x7fff_ffff,
            payload,
        })
    }

    /// Fills `buf`; false at the end of the connection.
    fn fill(&mut self, buf: &mut [u8]) -> bool {
        match self.s.read_exact(buf) {
            Ok(()) => true,
            Err(e)
                if matches!(
                    e.kind(),
                    ErrorKind::UnexpectedEof | ErrorKind::ConnectionReset
                ) =>
            {
                false
            }
            Err(e) => panic!("the gateway neither answered nor closed: {e}"),
        }
    }

    /// The GOAWAY's error code, after which the gateway must close the
    /// connection; panics when the connection ends without a GOAWAY.
    fn goaway_then_close(&mut self) -> u32 {
        let code = loop {
            match self.read() {
                Some(f) if f.kind == GOAWAY => break f.error_code(),
                Some(_) => continue,
                None => panic!("the connection closed without a GOAWAY"),
            }
        };
        while let Some(f) = self.read() {
            assert_ne!(f.kind, HEADERS, "a response after the GOAWAY: {f:?}");
        }
        code
    }
}

/// A gateway with h2c on, `http2` added to `gateway.http2`, routing `/h2/*`
/// to `node`.
fn h2_gateway(node: &Node, http2: &str) -> Gateway {
    Gateway::file(
        BIN,
        &format!(
            "routes:\n  - {{id: h2, uri: /h2/*, upstream: {{nodes: {{\"{}\": 1}}}}}}\n#END\n",
            node.addr()
        ),
    )
    .gateway_yaml(&format!("  http2:\n    enable: true\n{http2}"))
    .start()
}

/// curl's status for `GET url` over h2c; "000" when it failed.
fn curl_h2(url: &str) -> String {
    let out = Command::new("curl")
        .args(["-s", "--max-time", "10", "--http2-prior-knowledge"])
        .args(["-o", "/dev/null", "-w", "%{http_code}", url])
        .output()
        .expect("run curl");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn malformed_frames_get_goaway_with_their_error_and_a_close() {
    let node = Node::start("n");
    let gw = h2_gateway(&node, "");
    let mut bad_index = vec![0x82, 0x86];
    // Index 70 with an empty dynamic table (the static table ends at 61).
    hpack_int(&mut bad_index, 0x80, 7, 70);
    let mut oversized = request_block(3, "/h2/a", gw.port);
    oversized.push(0x40); // literal with incremental indexing, new name
    hpack_str(&mut oversized, b"x-pad");
    hpack_str(&mut oversized, &[b'a'; 17_000]);
    // RFC 9113 wants COMPRESSION_ERROR for a header block that cannot be
    // decoded; the h2 crate (0.4) answers PROTOCOL_ERROR. Either is a
    // connection error that ends the connection.
    let cases: [(&str, Vec<u8>, &[u32]); 4] = [
        (
            "DATA on stream 0",
            frame(DATA, END_STREAM, 0, b"x"),
            &[PROTOCOL_ERROR],
        ),
        (
            "HEADERS referring to an HPACK index that does not exist",
            frame(HEADERS, END_HEADERS | END_STREAM, 1, &bad_index),
            &[COMPRESSION_ERROR, PROTOCOL_ERROR],
        ),
        (
            "a HEADERS frame beyond SETTINGS_MAX_FRAME_SIZE (16384)",
            frame(HEADERS, END_HEADERS | END_STREAM, 1, &oversized),
            &[FRAME_SIZE_ERROR],
        ),
        (
            "a SETTINGS frame on stream 1",
            frame(SETTINGS, 0, 1, &[]),
            &[PROTOCOL_ERROR],
        ),
    ];
    for (what, bytes, want) in cases {
        let mut raw = Raw::settled(gw.port);
        raw.send(&bytes);
        let code = raw.goaway_then_close();
        assert!(
            want.contains(&code),
            "{what}: GOAWAY error code {code}, expected one of {want:?}"
        );
    }
    assert_eq!(node.hits(), 0, "a malformed request reached the node");
    // The gateway still serves.
    assert_eq!(
        curl_h2(&format!("http://127.0.0.1:{}/h2/a", gw.port)),
        "200"
    );
}

/// The gateway's resident memory in KiB.
fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("/proc status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .expect("VmRSS in /proc status")
}

/// A request header block that decodes to about 48 MB: one 4000-byte
/// header inserted into the dynamic table (index 62), then referenced
/// with one byte each until the block fills a 16384-byte frame.
fn hpack_bomb(port: u16) -> Vec<u8> {
    let mut b = request_block(2, "/h2/bomb", port);
    b.push(0x40); // literal with incremental indexing, new name
    hpack_str(&mut b, b"x-bomb");
    hpack_str(&mut b, &[b'b'; 4000]);
    while b.len() < 16_384 {
        b.push(0x80 | 62);
    }
    b
}

#[test]
fn an_hpack_bomb_is_refused_without_the_memory_it_decodes_to() {
    let node = Node::start("n");
    let gw = h2_gateway(&node, "");
    let before = rss_kib(gw.pid());
    // 20 bombs of about 48 MB each, on 20 streams of one connection.
    let mut raw = Raw::settled(gw.port);
    let bomb = hpack_bomb(gw.port);
    let streams: Vec<u32> = (0..20).map(|i| 1 + 2 * i).collect();
    let (mut sent, mut served) = (0, 0);
    'bombs: for &id in &streams {
        raw.send(&frame(HEADERS, END_HEADERS | END_STREAM, id, &bomb));
        sent += 1;
        // Each stream ends refused (RST_STREAM, after h2's 431), or
        // answered (END_STREAM), or the connection ends (GOAWAY, close).
        let mut ok = false;
        loop {
            match raw.read() {
                Some(f) if f.kind == GOAWAY => break 'bombs,
                None => break 'bombs,
                Some(f) if f.stream != id => continue,
                Some(f) if f.kind == RST_STREAM => break,
                Some(f) if f.kind != HEADERS && f.kind != DATA => continue,
                Some(f) => {
                    // 0x88 is `:status 200` (static index 8).
                    if f.kind == HEADERS && f.payload.first() == Some(&0x88) {
                        ok = true;
                    }
                    if f.flags & END_STREAM != 0 {
                        served += usize::from(ok);
                        break;
                    }
                }
            }
        }
    }
    let after = rss_kib(gw.pid());
    let grown = after.saturating_sub(before);
    eprintln!("gateway RSS {before} KiB before {sent} bombs, {after} KiB after");
    assert!(
        grown < 32 * 1024,
        "the gateway grew by {grown} KiB over {sent} bombs of about 48 MB"
    );
    assert_eq!(served, 0, "{served} of {sent} bombs were served");
    assert_eq!(node.hits(), 0, "a bomb reached the node");
    // Another client is served.
    assert_eq!(
        curl_h2(&format!("http://127.0.0.1:{}/h2/a", gw.port)),
        "200"
    );
}

#[test]
fn streams_past_the_limit_are_refused_while_others_are_served() {
    let node = Node::start("n");
    let gw = h2_gateway(&node, "    max_concurrent_streams: 4\n");
    let mut raw = Raw::settled(gw.port);
    // Ten POSTs whose bodies never come: each stream stays open.
    let ids: Vec<u32> = (0..10).map(|i| 1 + 2 * i).collect();
    for &id in &ids {
        let block = request_block(3, "/h2/flood", gw.port);
        raw.send(&frame(HEADERS, END_HEADERS, id, &block));
    }
    let mut refused = Vec::new();
    while refused.len() < ids.len() - 4 {
        let f = raw.read().expect("the flooding connection stays open");
        match f.kind {
            RST_STREAM => {
                assert_eq!(f.error_code(), REFUSED_STREAM, "stream {}", f.stream);
                refused.push(f.stream);
            }
            GOAWAY => panic!("the flooding connection got a GOAWAY: {f:?}"),
            _ => {}
        }
    }
    // Nothing else is refused before the answer to a PING: the connection
    // is alive and keeps its first four streams.
    raw.send(&frame(PING, 0, 0, b"flooding"));
    loop {
        let f = raw.read().expect("the flooding connection stays open");
        assert!(
            f.kind != RST_STREAM && f.kind != GOAWAY,
            "more than the streams past the limit ended: {f:?}"
        );
        if f.kind == PING && f.flags & ACK != 0 {
            break;
        }
    }
    refused.sort_unstable();
    assert_eq!(
        refused,
        ids[4..].to_vec(),
        "the streams past the first 4 should be refused, the first 4 kept"
    );
    // The first four are still open, and another client is served.
    let url = format!("http://127.0.0.1:{}/h2/a", gw.port);
    for _ in 0..3 {
        assert_eq!(
            curl_h2(&url),
            "200",
            "a client was not served during the flood"
        );
    }
}
