//! The logger plugins end to end: the real `http-logger` and `file-logger`
//! libraries loaded by the real gateway, configured as APISIX's docs show,
//! logging real requests to a real node into real sinks: a local HTTP
//! server (a thread here, recording each request's headers and body) and
//! a file in a temp dir, renamed as logrotate does.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::sync::{Arc, Mutex};

use radixgate_test_support::{eventually, free_port, request, Gateway, Node, TempDir};
use serde_json::{json, Value};

const BIN: &str = env!("CARGO_BIN_EXE_radixgate");

/// One request the sink received.
#[derive(Debug, Clone)]
struct Received {
    headers: HashMap<String, String>,
    body: String,
}

/// A local HTTP/1.1 server keeping what it receives, answering 200.
struct Sink {
    port: u16,
    received: Arc<Mutex<Vec<Received>>>,
}

impl Sink {
    fn start() -> Sink {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the sink");
        let port = listener.local_addr().expect("sink address").port();
        let received = Arc::new(Mutex::new(Vec::new()));
        let kept = received.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let kept = kept.clone();
                std::thread::spawn(move || serve(stream, &kept));
            }
        });
        Sink { port, received }
    }

    fn uri(&self) -> String {
        format!("http://127.0.0.1:{}/logs", self.port)
    }

    fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }

    /// Every entry of every batch, in order.
    fn entries(&self) -> Vec<Value> {
        self.received()
            .iter()
            .flat_map(|r| {
                let batch: Value = serde_json::from_str(&r.body)
                    .unwrap_or_else(|e| panic!("a batch is not JSON ({e}): {}", r.body));
                match batch {
                    Value::Array(entries) => entries,
                    // batch_max_size 1: the bare entry, as APISIX sends it.
                    entry @ Value::Object(_) => vec![entry],
                    other => panic!("not an array or object: {other}"),
                }
            })
            .collect()
    }
}

/// Reads requests off one connection (kept alive) until it closes.
fn serve(stream: TcpStream, kept: &Mutex<Vec<Received>>) {
    let mut writer = stream.try_clone().expect("clone the sink's stream");
    let mut reader = BufReader::new(stream);
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let mut headers = HashMap::new();
        loop {
            let mut h = String::new();
            if reader.read_line(&mut h).unwrap_or(0) == 0 {
                return;
            }
            let h = h.trim_end();
            if h.is_empty() {
                break;
            }
            if let Some((k, v)) = h.split_once(':') {
                headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_owned());
            }
        }
        let len: usize = headers
            .get("content-length")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let mut body = vec![0; len];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        kept.lock().unwrap().push(Received {
            headers,
            body: String::from_utf8_lossy(&body).into_owned(),
        });
        let answer = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
        if writer.write_all(answer).is_err() {
            return;
        }
    }
}

/// A one-worker gateway in front of `node` with the loggers and the
/// metrics exporter, serving `rest` (YAML after the upstream).
fn gateway(node: &Node, rest: &str) -> Gateway {
    let apisix = format!(
        "upstreams:\n  - {{id: u, nodes: {{\"{}\": 1}}}}\n{rest}#END\n",
        node.addr()
    );
    Gateway::file(BIN, &apisix)
        .workers(1)
        .plugins(&["http-logger", "file-logger", "prometheus"])
        .start()
}

fn scrape(gw: &Gateway) -> String {
    request(gw.metrics_port(), "GET", "/apisix/prometheus/metrics", &[])
        .map(|r| r.body)
        .unwrap_or_default()
}

#[test]
fn http_logger_posts_batches_of_default_entries_with_the_auth_header() {
    let node = Node::start("n");
    let sink = Sink::start();
    // APISIX's doc example, with a batch of two.
    let gw = gateway(
        &node,
        &format!(
            "routes:\n  - {{id: r1, uri: /hello, upstream_id: u, plugins: {{http-logger: \
             {{uri: \"{}\", auth_header: \"Basic dXNlcjpwYXNz\", batch_max_size: 2}}}}}}\n",
            sink.uri()
        ),
    );
    let mut answers = Vec::new();
    for i in 0..4 {
        let r = gw.get(&format!("/hello?n={i}"), &[("X-Test", "t")]);
        assert_eq!(r.status, 200, "{r:?}");
        answers.push(r);
    }
    assert!(
        eventually(10, || sink.received().len() >= 2),
        "{}",
        gw.log()
    );
    let received = sink.received();
    assert_eq!(received.len(), 2, "two full batches: {received:?}");
    for r in &received {
        assert_eq!(
            r.headers.get("authorization").map(String::as_str),
            Some("Basic dXNlcjpwYXNz")
        );
        assert_eq!(
            r.headers.get("content-type").map(String::as_str),
            Some("application/json")
        );
    }
    let entries = sink.entries();
    assert_eq!(entries.len(), 4, "{entries:?}");
    for (i, e) in entries.iter().enumerate() {
        assert_eq!(e["request"]["method"], "GET", "{e}");
        assert_eq!(e["request"]["uri"], format!("/hello?n={i}"), "{e}");
        assert_eq!(
            e["request"]["querystring"],
            json!({"n": i.to_string()}),
            "{e}"
        );
        assert_eq!(e["request"]["headers"]["x-test"], "t", "{e}");
        assert_eq!(e["response"]["status"], 200, "{e}");
        // The response headers as the client got them.
        for name in ["content-type", "content-length"] {
            let sent = answers[i].headers.get(name).map(String::as_str);
            assert!(sent.is_some(), "{name}: {:?}", answers[i]);
            assert_eq!(e["response"]["headers"][name].as_str(), sent, "{e}");
        }
        assert_eq!(e["route_id"], "r1", "{e}");
        assert_eq!(e["service_id"], "", "{e}");
        assert_eq!(e["upstream"], node.addr(), "{e}");
        assert_eq!(e["client_ip"], "127.0.0.1", "{e}");
        assert!(
            e["start_time"]
                .as_u64()
                .is_some_and(|t| t > 1_600_000_000_000),
            "{e}"
        );
        assert!(e["latency"].as_f64().is_some(), "{e}");
        assert!(e.get("consumer").is_none(), "{e}");
    }
}

#[test]
fn http_logger_log_format_and_metadata_format() {
    let node = Node::start("n");
    let (own, meta) = (Sink::start(), Sink::start());
    let gw = gateway(
        &node,
        &format!(
            "plugin_metadata:\n  - {{id: http-logger, log_format: {{m: \"$request_method\", \
             from: meta}}}}\nroutes:\n  - {{id: own, uri: /own, upstream_id: u, plugins: \
             {{http-logger: {{uri: \"{}\", batch_max_size: 1, log_format: {{host: \"$host\", \
             client_ip: \"$remote_addr\", agent: \"$http_user_agent\", missing: \
             \"$no_such_var\"}}}}}}}}\n  - {{id: meta, uri: /meta, upstream_id: u, plugins: \
             {{http-logger: {{uri: \"{}\", batch_max_size: 1}}}}}}\n",
            own.uri(),
            meta.uri()
        ),
    );
    assert_eq!(gw.get("/own", &[("User-Agent", "ua/1")]).status, 200);
    assert_eq!(gw.get("/meta", &[]).status, 200);
    assert!(
        eventually(10, || own.received().len() == 1
            && meta.received().len() == 1),
        "{}",
        gw.log()
    );
    // batch_max_size 1: the bare entry, not an array (APISIX's encoding).
    assert!(
        own.received()[0].body.starts_with('{'),
        "{:?}",
        own.received()
    );
    // An unknown variable leaves its key out, as in APISIX.
    assert_eq!(
        own.entries(),
        [
            json!({"host": "localhost", "client_ip": "127.0.0.1", "agent": "ua/1", "route_id": "own"})
        ]
    );
    assert_eq!(
        meta.entries(),
        [json!({"m": "GET", "from": "meta", "route_id": "meta"})]
    );
}

/// `$route_name` and `$service_name` are the names the route and its
/// service carry; a route without one logs no key.
#[test]
fn log_format_names_the_route_and_its_service() {
    let node = Node::start("n");
    let sink = Sink::start();
    let logger = format!(
        "{{http-logger: {{uri: \"{}\", batch_max_size: 1, log_format: \
         {{rn: \"$route_name\", sn: \"$service_name\"}}}}}}",
        sink.uri()
    );
    let gw = gateway(
        &node,
        &format!(
            "services:
  - {{id: s, name: shop, desc: the shop, labels: {{team: a}}, \
             upstream_id: u}}
routes:
  - {{id: named, name: checkout, desc: pay, \
             labels: {{env: prod}}, uri: /named, service_id: s, plugins: {logger}}}
  \
             - {{id: bare, uri: /bare, upstream_id: u, plugins: {logger}}}
"
        ),
    );
    assert_eq!(gw.get("/named", &[]).status, 200);
    assert!(
        eventually(10, || sink.received().len() == 1),
        "{}",
        gw.log()
    );
    assert_eq!(gw.get("/bare", &[]).status, 200);
    assert!(
        eventually(10, || sink.received().len() == 2),
        "{}",
        gw.log()
    );
    assert_eq!(
        sink.entries(),
        [
            json!({"rn": "checkout", "sn": "shop", "route_id": "named", "service_id": "s"}),
            json!({"route_id": "bare"})
        ]
    );
}

#[test]
fn a_sink_that_is_down_is_retried_and_counted_and_never_blocks_requests() {
    let node = Node::start("n");
    let down = free_port();
    let gw = gateway(
        &node,
        &format!(
            "routes:\n  - {{id: r, uri: /r, upstream_id: u, plugins: {{http-logger: {{uri: \
             \"http://127.0.0.1:{down}/logs\", batch_max_size: 3, max_retry_count: 1, \
             retry_delay: 0}}}}}}\n"
        ),
    );
    for _ in 0..6 {
        let r = gw.get("/r", &[]);
        assert_eq!(r.status, 200, "{r:?}");
    }
    let series = r#"radixgate_batch_dropped_total{plugin="http-logger",reason="not_delivered"} 6"#;
    let mut last = String::new();
    assert!(
        eventually(20, || {
            last = scrape(&gw);
            last.contains(series)
        }),
        "{series} not in:\n{last}\n{}",
        gw.log()
    );
}

#[test]
fn http_logger_new_line_sends_one_entry_a_line() {
    let node = Node::start("n");
    let sink = Sink::start();
    let gw = gateway(
        &node,
        &format!(
            "routes:\n  - {{id: nl, uri: /nl, upstream_id: u, plugins: {{http-logger: \
             {{uri: \"{}\", concat_method: new_line, batch_max_size: 3, \
             log_format: {{uri: \"$uri\", status: \"$status\"}}}}}}}}\n",
            sink.uri()
        ),
    );
    for _ in 0..3 {
        assert_eq!(gw.get("/nl", &[]).status, 200);
    }
    assert!(
        eventually(10, || !sink.received().is_empty()),
        "{}",
        gw.log()
    );
    let got = &sink.received()[0];
    let lines: Vec<Value> = got
        .body
        .split('\n')
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l:?}")))
        .collect();
    let want = json!({"uri": "/nl", "status": "200", "route_id": "nl"});
    assert_eq!(lines, [want.clone(), want.clone(), want], "{:?}", got.body);
    assert_eq!(
        got.headers.get("content-type").map(String::as_str),
        Some("text/plain")
    );
}

#[test]
fn configs_the_loggers_cannot_serve_are_refused_naming_the_field() {
    let node = Node::start("n");
    let http = "http-logger";
    let cases = [
        (
            "body",
            http,
            "{uri: \"http://127.0.0.1:9/l\", max_req_body_bytes: 0}",
            "max_req_body_bytes",
        ),
        ("ftp", http, "{uri: \"ftp://127.0.0.1/l\"}", "uri"),
        (
            "fbody",
            "file-logger",
            "{path: /tmp/x.log, include_resp_body: true, max_resp_body_bytes: 0}",
            "max_resp_body_bytes",
        ),
        (
            "fmatch",
            "file-logger",
            "{path: /tmp/x.log, match: [[status, \"~~\", \"(\"]]}",
            "match",
        ),
    ];
    let mut routes = String::from("routes:\n  - {id: ok, uri: /ok, upstream_id: u}\n");
    for (id, plugin, config, _) in cases {
        routes += &format!(
            "  - {{id: {id}, uri: /{id}, upstream_id: u, plugins: {{{plugin}: {config}}}}}\n"
        );
    }
    let gw = gateway(&node, &routes);
    assert_eq!(gw.get("/ok", &[]).status, 200);
    let log = gw.log();
    for (id, plugin, _, field) in cases {
        let status = gw.get(&format!("/{id}"), &[]).status;
        assert_eq!(status, 404, "route {id} was served");
        let refusal = format!("failed to check the configuration of plugin {plugin} err: {field}");
        let named = log
            .lines()
            .any(|l| l.contains(&format!("id={id} ")) && l.contains(&refusal));
        assert!(named, "no refusal of route {id} naming {field}:\n{log}");
    }
}

fn lines(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

#[test]
fn file_logger_appends_lines_and_follows_a_logrotate_rename() {
    let node = Node::start("n");
    let dir = TempDir::new("file-logger");
    let path = dir.path("file.log");
    let gw = gateway(
        &node,
        &format!(
            "routes:\n  - {{id: f, uri: /f, upstream_id: u, plugins: {{file-logger: {{path: \
             \"{}\"}}}}}}\n",
            path.display()
        ),
    );
    for _ in 0..3 {
        assert_eq!(gw.get("/f?a=1", &[]).status, 200);
    }
    assert!(eventually(10, || lines(&path).len() == 3), "{}", gw.log());
    let first = &lines(&path)[0];
    assert_eq!(first["request"]["uri"], "/f?a=1", "{first}");
    assert_eq!(first["response"]["status"], 200, "{first}");
    assert_eq!(first["route_id"], "f", "{first}");
    assert_eq!(first["upstream"], node.addr(), "{first}");
    // logrotate's default: rename, then the writer opens a new file.
    let rotated = dir.path("file.log.1");
    std::fs::rename(&path, &rotated).expect("rename the log");
    let mut sent = 0;
    let reopened = eventually(10, || {
        sent += 1;
        assert_eq!(gw.get("/f?after=1", &[]).status, 200);
        !lines(&path).is_empty()
    });
    assert!(reopened, "no new file after {sent} requests\n{}", gw.log());
    // Every line is in one of the two files (the last may still be on
    // its way when the new file appeared).
    let all = || lines(&rotated).len() + lines(&path).len();
    assert!(
        eventually(10, || all() == 3 + sent),
        "{} lines for {} requests",
        all(),
        3 + sent
    );
    assert!(lines(&path)
        .iter()
        .all(|l| l["request"]["uri"] == "/f?after=1"));
}

#[test]
fn file_logger_match_and_log_format() {
    let node = Node::start("n");
    let dir = TempDir::new("file-logger");
    let path = dir.path("errors.log");
    node.set_status_of("/f/bad", 500);
    let gw = gateway(
        &node,
        &format!(
            "routes:\n  - {{id: f, uri: \"/f/*\", upstream_id: u, plugins: {{file-logger: {{path: \
             \"{}\", match: [[status, \">=\", 500]], log_format: {{u: \"$uri\", s: \
             \"$status\"}}}}}}}}\n",
            path.display()
        ),
    );
    assert_eq!(gw.get("/f/good", &[]).status, 200);
    assert_eq!(gw.get("/f/bad", &[]).status, 500);
    assert_eq!(gw.get("/f/good", &[]).status, 200);
    assert!(eventually(10, || !lines(&path).is_empty()), "{}", gw.log());
    assert_eq!(
        lines(&path),
        [json!({"u": "/f/bad", "s": "500", "route_id": "f"})]
    );
}

#[test]
fn a_file_that_cannot_be_opened_is_logged_and_counted_and_requests_go_on() {
    let node = Node::start("n");
    let dir = TempDir::new("file-logger");
    let path = dir.path("no-such-dir").join("file.log");
    let gw = gateway(
        &node,
        &format!(
            "routes:\n  - {{id: f, uri: /f, upstream_id: u, plugins: {{file-logger: {{path: \
             \"{}\"}}}}}}\n",
            path.display()
        ),
    );
    for _ in 0..3 {
        let r = gw.get("/f", &[]);
        assert_eq!(r.status, 200, "{r:?}");
    }
    let series = format!(
        "radixgate_file_logger_dropped_total{{path=\"{}\",reason=\"not_written\"}} 3",
        path.display()
    );
    let mut last = String::new();
    assert!(
        eventually(10, || {
            last = scrape(&gw);
            last.contains(&series)
        }),
        "{series} not in:\n{last}"
    );
    let why = format!("cannot open {} for appending", path.display());
    assert!(gw.log().contains(&why), "{}", gw.log());
}

/// The log reads the request's headers as the client sent them (and
/// plugins edited them), whether the node answered, the tries failed or
/// no node could be chosen: not the `Host` the upstream's `pass_host`
/// gave the node.
#[test]
fn the_log_has_the_request_headers_whatever_became_of_the_node_request() {
    let node = Node::start("n");
    let dead = free_port();
    let dir = TempDir::new("file-logger");
    let path = dir.path("file.log");
    let log = format!("plugins: {{file-logger: {{path: \"{}\"}}}}", path.display());
    let gw = gateway(
        &node,
        &format!(
            "routes:\n  - {{id: h, uri: /h, upstream: {{nodes: {{\"{}\": 1}}, pass_host: \
             rewrite, upstream_host: node.example}}, {log}}}\n  - {{id: d, uri: /d, upstream: \
             {{nodes: {{\"127.0.0.1:{dead}\": 1}}, pass_host: node}}, {log}}}\n  - {{id: n, uri: \
             /n, upstream: {{nodes: {{}}}}, {log}}}\n",
            node.addr()
        ),
    );
    let sent = [("Host", "client.example"), ("X-Test", "t")];
    let answered = gw.get("/h", &sent);
    assert_eq!(answered.status, 200, "{answered:?}");
    assert!(
        answered.body.contains("host: node.example\n"),
        "{answered:?}"
    );
    assert_eq!(gw.get("/d", &sent).status, 502);
    // No node to choose: answered before any node request.
    assert_eq!(gw.get("/n", &sent).status, 502);
    assert!(eventually(10, || lines(&path).len() == 3), "{}", gw.log());
    for entry in lines(&path) {
        let headers = &entry["request"]["headers"];
        assert_eq!(headers["host"], "client.example", "{entry}");
        assert_eq!(headers["x-test"], "t", "{entry}");
    }
}
