//! End to end: the real binary routes real requests to real upstream
//! sockets by uri, host, method, vars and client address; answers 404 and
//! 502 as JSON; tells the node who the client is; balances by weight;
//! gives the client the gateway's `Server` and `Date`, not the node's.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::process::Command;

use radixgate_test_support::{free_port, get, request, Gateway, Node};

const BIN: &str = env!("CARGO_BIN_EXE_radixgate");

fn standalone(a: &Node, b: &Node, dead_port: u16) -> String {
    format!(
        r#"upstreams:
  - id: a
    nodes: {{"{a}": 1}}
  - id: b
    nodes:
      - {{host: 127.0.0.1, port: {bp}, weight: 1}}
  - id: ab
    nodes: {{"{a}": 3, "{b}": 1}}
  - id: dead
    nodes: {{"127.0.0.1:{dead_port}": 1}}
  - id: sticky
    type: chash
    hash_on: header
    key: X-User
    nodes: {{"{a}": 1, "{b}": 1}}
  - id: sticky-half-dead
    type: chash
    key: arg_user
    nodes: {{"{a}": 1, "127.0.0.1:{dead_port}": 1}}
services:
  - id: svc
    upstream_id: b
routes:
  - {{id: prefix, uri: "/api/*", upstream_id: a}}
  - {{id: exact-host, uri: /api/v1, host: foo.com, upstream_id: b}}
  - {{id: post-only, uri: /write, methods: [POST], upstream_id: b}}
  - {{id: get-write, uri: /write, methods: [GET], upstream_id: a}}
  - {{id: by-arg, uri: /vars, vars: [["arg_who", "==", "b"]], upstream_id: b, priority: 1}}
  - {{id: by-header, uri: /vars, vars: [["http_x_team", "==", "b"]], service_id: svc}}
  - {{id: far-clients, uri: /addr, remote_addrs: ["10.0.0.0/8"], upstream_id: b}}
  - {{id: near-clients, uri: /addr, remote_addr: 127.0.0.1, upstream_id: a}}
  - {{id: weighted, uri: /rr, upstream_id: ab}}
  - {{id: down, uri: /down, upstream_id: dead}}
  - {{id: sticky, uri: /sticky, upstream_id: sticky}}
  - {{id: sticky-half-dead, uri: /sticky2, upstream_id: sticky-half-dead}}
  - {{id: off, uri: /off, status: 0, upstream_id: a}}
  - id: node-host
    uri: /node-host
    upstream: {{nodes: {{"{a}": 1}}, pass_host: node}}
  - id: rewrite-host
    uri: /rewrite-host
    upstream: {{nodes: {{"{a}": 1}}, pass_host: rewrite, upstream_host: up.internal}}
#END
"#,
        a = a.addr(),
        b = b.addr(),
        bp = b.port,
    )
}

struct World {
    gw: Gateway,
    a: Node,
    b: Node,
}

fn world() -> World {
    let a = Node::start("a");
    let b = Node::start("b");
    let dead = free_port();
    let gw = Gateway::start_file(BIN, &standalone(&a, &b, dead));
    World { gw, a, b }
}

fn upstream_of(port: u16, method: &str, path: &str, headers: &[(&str, &str)]) -> String {
    let r = request(port, method, path, headers).expect("gateway reachable");
    assert_eq!(r.status, 200, "{method} {path}: {r:?}");
    r.echoed("upstream").unwrap_or_default()
}

#[test]
fn routes_by_uri_host_method_vars_and_address() {
    let w = world();
    let p = w.gw.port;
    // uri: prefix; host: the exact route only for foo.com.
    assert_eq!(upstream_of(p, "GET", "/api/v1", &[]), "a");
    assert_eq!(
        upstream_of(p, "GET", "/api/v1", &[("Host", "foo.com")]),
        "b"
    );
    assert_eq!(
        upstream_of(p, "GET", "/api/v1", &[("Host", "FOO.com:9999")]),
        "b"
    );
    assert_eq!(
        upstream_of(p, "GET", "/api/other?x=1", &[("Host", "foo.com")]),
        "a"
    );
    // method
    assert_eq!(
        upstream_of(p, "POST", "/write", &[("Content-Length", "0")]),
        "b"
    );
    assert_eq!(upstream_of(p, "GET", "/write", &[]), "a");
    assert_eq!(request(p, "DELETE", "/write", &[]).unwrap().status, 404);
    // vars (arg_*, http_*), the second through a service's upstream
    assert_eq!(upstream_of(p, "GET", "/vars?who=b", &[]), "b");
    assert_eq!(upstream_of(p, "GET", "/vars", &[("X-Team", "b")]), "b");
    assert_eq!(get(p, "/vars?who=c").status, 404);
    // client address: 127.0.0.1 is not in 10.0.0.0/8
    assert_eq!(upstream_of(p, "GET", "/addr", &[]), "a");
    // status 0 is not served
    assert_eq!(get(p, "/off").status, 404);
    // the path and query reach the node unchanged
    let r = get(p, "/api/x/y?q=1&r=%20");
    assert_eq!(r.echoed("path").as_deref(), Some("/api/x/y?q=1&r=%20"));
    assert!(w.a.hits() > 0);
    assert!(w.b.hits() > 0);
}

#[test]
fn no_route_is_404_json_and_dead_node_is_502_json() {
    let w = world();
    let r = get(w.gw.port, "/nowhere");
    assert_eq!(r.status, 404);
    assert_eq!(r.body, r#"{"error_msg":"404 Route Not Found"}"#);
    assert_eq!(
        r.headers.get("content-type").map(String::as_str),
        Some("application/json")
    );
    let r = get(w.gw.port, "/down");
    assert_eq!(r.status, 502, "{r:?}");
    assert!(r.body.contains("error_msg"), "{r:?}");
    let r = get(w.gw.port, "/healthz");
    assert_eq!((r.status, r.body.as_str()), (200, r#"{"status":"ok"}"#));
}

#[test]
fn node_learns_the_client_and_host_follows_pass_host() {
    let w = world();
    let p = w.gw.port;
    let hdrs = [
        ("Host", "shop.example:8443"),
        ("X-Forwarded-For", "203.0.113.7"),
        ("Connection", "close, x-hop"),
        ("X-Hop", "secret"),
        ("Keep-Alive", "timeout=5"),
    ];
    let r = request(p, "GET", "/api/who", &hdrs).unwrap();
    assert_eq!(r.status, 200, "{r:?}");
    // The client is not in gateway.trusted_addresses: its claim goes.
    assert_eq!(r.echoed("x-forwarded-for").as_deref(), Some("127.0.0.1"));
    assert_eq!(r.echoed("x-real-ip").as_deref(), Some("127.0.0.1"));
    assert_eq!(r.echoed("x-forwarded-proto").as_deref(), Some("http"));
    assert_eq!(
        r.echoed("x-forwarded-host").as_deref(),
        Some("shop.example")
    );
    assert_eq!(r.echoed("x-forwarded-port"), Some(p.to_string()));
    // pass_host: pass (default) keeps the client's Host
    assert_eq!(r.echoed("host").as_deref(), Some("shop.example:8443"));
    // hop-by-hop headers stay on their hop
    assert_eq!(r.echoed("x-hop"), None);
    assert_eq!(r.echoed("keep-alive"), None);
    // response headers of the node come through
    assert_eq!(r.headers.get("x-upstream").map(String::as_str), Some("a"));

    let r = request(p, "GET", "/node-host", &[("Host", "shop.example")]).unwrap();
    assert_eq!(r.echoed("host"), Some(w.a.addr()));
    let r = request(p, "GET", "/rewrite-host", &[("Host", "shop.example")]).unwrap();
    assert_eq!(r.echoed("host").as_deref(), Some("up.internal"));
    let _ = &w.b;
}

#[test]
fn round_robin_alternates_by_weight() {
    let w = world();
    let seq: Vec<String> = (0..8)
        .map(|_| upstream_of(w.gw.port, "GET", "/rr", &[]))
        .collect();
    let a = seq.iter().filter(|u| *u == "a").count();
    assert_eq!(
        (a, seq.len() - a),
        (6, 2),
        "weights 3:1 over 8 requests: {seq:?}"
    );
    // Smooth: b never comes twice in a row, a never more than three times.
    assert!(
        !seq.windows(2).any(|w| w[0] == "b" && w[1] == "b"),
        "{seq:?}"
    );
    assert!(
        !seq.windows(4).any(|w| w.iter().all(|u| u == "a")),
        "{seq:?}"
    );
}

#[test]
fn chash_keeps_a_key_on_one_node() {
    let w = world();
    let p = w.gw.port;
    let mut seen = std::collections::HashSet::new();
    for user in 0..20 {
        let user = format!("user-{user}");
        let first = upstream_of(p, "GET", "/sticky", &[("X-User", &user)]);
        for _ in 0..3 {
            assert_eq!(
                upstream_of(p, "GET", "/sticky", &[("X-User", &user)]),
                first,
                "{user}"
            );
        }
        seen.insert(first);
    }
    assert_eq!(seen.len(), 2, "20 keys all landed on one node: {seen:?}");
    // A key whose node is down goes on to the next node of the ring.
    for user in 0..10 {
        assert_eq!(
            upstream_of(p, "GET", &format!("/sticky2?user=u{user}"), &[]),
            "a"
        );
    }
}

#[test]
fn request_body_streams_to_the_node() {
    let w = world();
    let body = "x".repeat(100_000);
    let len = body.len().to_string();
    let mut s = std::net::TcpStream::connect(("127.0.0.1", w.gw.port)).unwrap();
    use std::io::{Read, Write};
    write!(
        s,
        "POST /write HTTP/1.1\r\nHost: a\r\nContent-Length: {len}\r\nConnection: close\r\n\r\n{body}"
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    assert!(
        out.starts_with("HTTP/1.1 200"),
        "{}",
        &out[..out.len().min(200)]
    );
    assert!(out.contains(&format!("body={body}")));
}

/// A node that names its software and has a stopped clock: every request
/// gets `200 ok` with `Server: node-software/1.0` and a 1970 `Date`.
fn talkative_node() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            std::thread::spawn(move || answer_each(stream));
        }
    });
    port
}

fn answer_each(stream: TcpStream) {
    let mut reader = BufReader::new(stream.try_clone().expect("clone"));
    let mut writer = stream;
    loop {
        let mut line = String::new();
        loop {
            line.clear();
            match reader.read_line(&mut line) {
                Ok(0) | Err(_) => return,
                Ok(_) if line == "\r\n" => break,
                Ok(_) => {}
            }
        }
        let answer = "HTTP/1.1 200 OK\r\nServer: node-software/1.0\r\nDate: Thu, 01 Jan 1970 \
                      00:00:00 GMT\r\nContent-Length: 2\r\n\r\nok";
        if writer.write_all(answer.as_bytes()).is_err() {
            return;
        }
    }
}

/// The response head curl got for `url` (`extra` first), lower-cased.
fn head_of(extra: &[&str], url: &str) -> String {
    let out = Command::new("curl")
        .args(["-sS", "--max-time", "10", "-D", "-", "-o", "/dev/null"])
        .args(extra)
        .arg(url)
        .output()
        .expect("run curl");
    String::from_utf8_lossy(&out.stdout).to_lowercase()
}

/// The values of header `name` in a head curl printed.
fn values<'h>(head: &'h str, name: &str) -> Vec<&'h str> {
    head.lines()
        .filter_map(|l| l.split_once(':'))
        .filter(|(n, _)| n.trim() == name)
        .map(|(_, v)| v.trim())
        .collect()
}

#[test]
fn the_client_gets_the_gateways_server_and_date_not_the_nodes() {
    let node = talkative_node();
    let routes = format!(
        "routes:\n  - {{id: t, uri: /t, upstream: {{nodes: {{\"127.0.0.1:{node}\": 1}}}}}}\n  - \
         {{id: own, uri: /own, upstream: {{nodes: {{\"127.0.0.1:{node}\": 1}}}}, plugins: \
         {{response-rewrite: {{headers: {{set: {{Server: edge}}}}}}}}}}\n#END\n"
    );
    let start = |gateway: &str| {
        Gateway::file(BIN, &routes)
            .gateway_yaml(gateway)
            .plugins(&["response-rewrite"])
            .start()
    };
    // HTTP/2 on the plain listener puts hyper's servers there.
    let native = start("  http1_server: native\n");
    let hyper = start("  http1_server: hyper\n");
    let h2 = start("  http2:\n    enable: true\n");
    let at = |gw: &Gateway, path: &str| format!("http://127.0.0.1:{}{path}", gw.port);
    let heads = [
        ("native HTTP/1.1", head_of(&[], &at(&native, "/t"))),
        ("hyper HTTP/1.1", head_of(&[], &at(&hyper, "/t"))),
        (
            "HTTP/2",
            head_of(&["--http2-prior-knowledge"], &at(&h2, "/t")),
        ),
    ];
    for (server, head) in &heads {
        assert!(head.contains(" 200"), "{server}: {head}");
        assert_eq!(values(head, "server"), ["radixgate"], "{server}: {head}");
        let dates = values(head, "date");
        assert_eq!(dates.len(), 1, "{server}: {head}");
        assert!(!dates[0].contains("1970"), "{server}: {head}");
    }
    // A plugin's own Server is the one the client gets.
    for gw in [&native, &hyper] {
        let head = head_of(&[], &at(gw, "/own"));
        assert_eq!(values(&head, "server"), ["edge"], "{head}");
    }
    // The gateway's own answers say the same.
    let head = head_of(&[], &at(&native, "/none"));
    assert!(head.contains(" 404"), "{head}");
    assert_eq!(values(&head, "server"), ["radixgate"], "{head}");
}
