//! gzip's documented example through the gateway, checked with curl:
//! `--compressed` decodes to exactly the node's bytes; the compressed
//! answer says `Content-Encoding: gzip` and `Vary: Accept-Encoding` and
//! has no `Content-Length`; a body under `min_length`, a type not listed,
//! a body already encoded and a client that does not ask pass untouched;
//! a 50 MB body streamed by the node does not grow the gateway's memory
//! by its size.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::thread;

use radixgate_test_support::Gateway;

use crate::harness;

/// The streamed body's size.
const STREAM: usize = 50 * 1024 * 1024;

/// The HTML page the node serves (compresses well).
fn page() -> Vec<u8> {
    (0..400)
        .map(|i| format!("<p>paragraph {i}: the quick brown fox jumps over the lazy dog</p>\n"))
        .collect::<String>()
        .into_bytes()
}

/// Block `i` of the streamed body: 64 KiB of lines that differ.
fn block(i: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(65536);
    let mut n = i * 4096;
    while out.len() < 65536 {
        out.extend(format!("line {n:010} {:08x}\n", n.wrapping_mul(2654435761)).bytes());
        n += 1;
    }
    out.truncate(65536);
    out
}

/// A node serving, by path: `/page` (text/html), `/small` (text/html,
/// 10 bytes), `/png` (image/png), `/encoded` (text/html, already
/// `Content-Encoding: br`), `/stream` (text/html, 50 MB chunked).
fn origin() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind the node");
    let port = listener.local_addr().expect("address").port();
    thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            thread::spawn(move || serve(stream));
        }
    });
    port
}

fn serve(stream: TcpStream) {
    let mut reader = BufReader::new(stream.try_clone().expect("clone"));
    let mut out = stream;
    let mut line = String::new();
    if reader.read_line(&mut line).is_err() {
        return;
    }
    let path = line.split_whitespace().nth(1).unwrap_or("/").to_owned();
    loop {
        let mut h = String::new();
        match reader.read_line(&mut h) {
            Ok(0) | Err(_) => return,
            Ok(_) if h == "\r\n" => break,
            Ok(_) => {}
        }
    }
    let fixed = |ty: &str, extra: &str, body: &[u8]| {
        let head = format!(
            "HTTP/1.1 200 OK\r\ncontent-type: {ty}\r\n{extra}content-length: {}\r\nconnection: close\r\n\r\n",
            body.len()
        );
        [head.into_bytes(), body.to_vec()].concat()
    };
    let answer = match path
        .trim_start_matches("/rewritten")
        .trim_start_matches("/ten")
    {
        "/page" => fixed("text/html; charset=utf-8", "", &page()),
        "/small" => fixed("text/html", "", b"tiny body\n"),
        "/png" => fixed("image/png", "", &page()),
        "/encoded" => fixed("text/html", "content-encoding: br\r\n", &page()),
        "/stream" => {
            let head = "HTTP/1.1 200 OK\r\ncontent-type: text/html\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n";
            if out.write_all(head.as_bytes()).is_err() {
                return;
            }
            for i in 0..STREAM / 65536 {
                let b = block(i);
                let chunk = [
                    format!("{:x}\r\n", b.len()).into_bytes(),
                    b,
                    b"\r\n".to_vec(),
                ]
                .concat();
                if out.write_all(&chunk).is_err() {
                    return;
                }
            }
            let _ = out.write_all(b"0\r\n\r\n");
            return;
        }
        _ => b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n".to_vec(),
    };
    let _ = out.write_all(&answer);
}

fn config(node: u16) -> String {
    format!(
        r#"routes:
  - id: gzip
    uri: /*
    upstream: {{nodes: {{"127.0.0.1:{node}": 1}}}}
    plugins:
      gzip: {{types: [text/html], min_length: 20, comp_level: 6, http_version: 1.1, buffers: {{number: 32, size: 4096}}, vary: true}}
  - id: ten
    uri: /rewritten/ten/*
    upstream: {{nodes: {{"127.0.0.1:{node}": 1}}}}
    plugins:
      gzip: {{http_version: 1.0}}
  - id: rewritten
    uri: /rewritten/*
    upstream: {{nodes: {{"127.0.0.1:{node}": 1}}}}
    plugins:
      response-rewrite: {{body: "a body response-rewrite wrote, long enough to compress\n"}}
      gzip: {{}}
#END
"#
    )
}

/// curl's output for `path` on `port` (`args` before the URL): the
/// response head (`-D`) and body.
fn curl(port: u16, path: &str, args: &[&str]) -> (String, Vec<u8>) {
    let dir = radixgate_test_support::TempDir::new("gzip-curl");
    let head = dir.path("head");
    let out = Command::new("curl")
        .args(["-sS", "--max-time", "60", "-D"])
        .arg(&head)
        .args(args)
        .arg(format!("http://127.0.0.1:{port}{path}"))
        .output()
        .expect("curl runs");
    assert!(
        out.status.success(),
        "curl {path}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let head = std::fs::read_to_string(head).expect("curl wrote the head");
    (head.to_ascii_lowercase(), out.stdout)
}

/// A VmRSS-style field of `/proc/<pid>/status`, in kB.
fn status_kb(pid: u32, field: &str) -> u64 {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("proc status");
    text.lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("{field} missing"))
}

#[test]
fn gzip_doc_example() {
    let node = origin();
    let gw = Gateway::file(harness::BIN, &config(node))
        .plugins(&["gzip", "response-rewrite"])
        .start();

    // curl --compressed: the node's bytes, sent compressed.
    let (head, body) = curl(gw.port, "/page", &["--compressed"]);
    assert_eq!(body, page(), "decoded body differs; head:\n{head}");
    assert!(head.contains("content-encoding: gzip"), "{head}");
    assert!(head.contains("vary: accept-encoding"), "{head}");
    assert!(!head.contains("content-length"), "{head}");
    // Raw: what went over the wire is smaller, and gzip(1) decodes it.
    let (_, raw) = curl(gw.port, "/page", &["-H", "Accept-Encoding: gzip"]);
    assert!(
        raw.len() < page().len() / 4,
        "{} bytes for {}",
        raw.len(),
        page().len()
    );
    let mut gunzip = Command::new("gzip")
        .arg("-dc")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("gzip runs");
    gunzip
        .stdin
        .take()
        .expect("stdin")
        .write_all(&raw)
        .expect("write");
    let decoded = gunzip.wait_with_output().expect("gzip -dc");
    assert!(
        decoded.status.success(),
        "gzip -dc: {}",
        String::from_utf8_lossy(&decoded.stderr)
    );
    assert_eq!(decoded.stdout, page());

    // Beside response-rewrite, at their own priorities (gzip 995 before
    // response-rewrite 899): gzip encodes the rewritten body, as APISIX's
    // gzip (nginx's filter) runs after every Lua body filter.
    let (head, body) = curl(gw.port, "/rewritten/page", &["--compressed"]);
    assert_eq!(
        String::from_utf8_lossy(&body),
        "a body response-rewrite wrote, long enough to compress\n"
    );
    assert!(head.contains("content-encoding: gzip"), "{head}");

    // An HTTP/1.0 client: not with http_version 1.1 (the route's); with
    // 1.0, compressed.
    let (head, body) = curl(gw.port, "/page", &["--http1.0", "--compressed"]);
    assert_eq!(body, page());
    assert!(!head.contains("content-encoding"), "{head}");
    let (head, body) = curl(
        gw.port,
        "/rewritten/ten/page",
        &["--http1.0", "--compressed"],
    );
    assert!(
        head.contains("content-encoding: gzip") && body == page(),
        "{head}"
    );

    // Untouched: too small, a type not listed, already encoded, a client
    // that does not ask.
    for (path, args, body) in [
        ("/small", &["--compressed"][..], b"tiny body\n".to_vec()),
        ("/png", &["--compressed"][..], page()),
        ("/encoded", &["-H", "Accept-Encoding: gzip"][..], page()),
        ("/page", &[][..], page()),
    ] {
        let (head, got) = curl(gw.port, path, args);
        assert_eq!(got, body, "{path}: body changed; head:\n{head}");
        let own = if path == "/encoded" {
            "content-encoding: br"
        } else {
            ""
        };
        assert!(
            !head.contains("content-encoding: gzip") && head.contains(own),
            "{path}: {head}"
        );
    }

    // 50 MB streamed: decoded whole, and the gateway's peak memory does
    // not grow by the body's size.
    let before = status_kb(gw.pid(), "VmRSS:");
    let mut child = Command::new("curl")
        .args(["-sS", "--max-time", "300", "--compressed"])
        .arg(format!("http://127.0.0.1:{}/stream", gw.port))
        .stdout(Stdio::piped())
        .spawn()
        .expect("curl runs");
    let mut stdout = child.stdout.take().expect("stdout");
    let (mut total, mut i, mut buf, mut pending) = (0usize, 0usize, vec![0u8; 65536], Vec::new());
    loop {
        let n = stdout.read(&mut buf).expect("read curl's output");
        if n == 0 {
            break;
        }
        total += n;
        pending.extend_from_slice(&buf[..n]);
        while pending.len() >= 65536 {
            let rest = pending.split_off(65536);
            assert!(pending == block(i), "block {i} of the stream differs");
            pending = rest;
            i += 1;
        }
    }
    assert!(child.wait().expect("curl ends").success());
    assert_eq!(total, STREAM, "decoded length");
    let peak = status_kb(gw.pid(), "VmHWM:");
    eprintln!("gzip of a 50 MB stream: VmRSS before {before} kB, VmHWM after {peak} kB");
    assert!(
        peak < before + 25 * 1024,
        "the gateway's peak RSS {peak} kB rose by more than 25 MB from {before} kB for a 50 MB body"
    );
}

/// gzip on a global rule, response-rewrite on the route: the global
/// rule's chain runs first, yet gzip encodes the route's rewritten body
/// (its body filter runs after every other of the request).
#[test]
fn a_global_rule_s_gzip_encodes_the_route_s_rewritten_body() {
    let node = origin();
    let config = format!(
        r#"global_rules:
  - id: g
    plugins:
      gzip: {{}}
routes:
  - id: r
    uri: /*
    upstream: {{nodes: {{"127.0.0.1:{node}": 1}}}}
    plugins:
      response-rewrite: {{body: "a body response-rewrite wrote, long enough to compress\n"}}
#END
"#
    );
    let gw = Gateway::file(harness::BIN, &config)
        .plugins(&["gzip", "response-rewrite"])
        .start();
    let (head, body) = curl(gw.port, "/page", &["--compressed"]);
    assert_eq!(
        String::from_utf8_lossy(&body),
        "a body response-rewrite wrote, long enough to compress\n"
    );
    assert!(head.contains("content-encoding: gzip"), "{head}");
}

/// gzip on a global rule and on the route: the first to see the response
/// compresses it, the other leaves it alone (it has a Content-Encoding).
#[test]
fn gzip_on_a_global_rule_and_the_route_compresses_once() {
    let node = origin();
    let config = format!(
        r#"global_rules:
  - id: g
    plugins:
      gzip: {{}}
routes:
  - id: r
    uri: /*
    upstream: {{nodes: {{"127.0.0.1:{node}": 1}}}}
    plugins:
      gzip: {{comp_level: 9}}
#END
"#
    );
    let gw = Gateway::file(harness::BIN, &config)
        .plugins(&["gzip"])
        .start();
    let (head, body) = curl(gw.port, "/page", &["--compressed"]);
    assert!(head.contains("content-encoding: gzip"), "{head}");
    let (head, plain) = curl(gw.port, "/page", &[]);
    assert!(!head.contains("content-encoding"), "{head}");
    assert!(!plain.is_empty(), "the node's body is empty");
    assert_eq!(body, plain, "the body decoded is not the node's");
}
