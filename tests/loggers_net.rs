//! The socket loggers end to end: the real `tcp-logger`, `udp-logger` and
//! `syslog` libraries loaded by the real gateway, configured as APISIX's
//! docs show, logging real requests into sinks started here: a TCP
//! listener keeping what each connection sent, and a UDP socket keeping
//! each datagram. syslog's messages are checked against RFC 5424's
//! framing; tcp-logger over TLS goes to `openssl s_server`. A sink nobody
//! listens on never delays a request: its batches are retried, then
//! dropped and counted.

use std::io::Read;
use std::net::{TcpListener, UdpSocket};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use radixgate_test_support::{eventually, free_port, request, Gateway, Node};
use serde_json::{json, Value};

const BIN: &str = env!("CARGO_BIN_EXE_radixgate");

/// What a sink received: one item per TCP connection or UDP datagram.
#[derive(Clone, Default)]
struct Received(Arc<Mutex<Vec<String>>>);

impl Received {
    fn all(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }
}

/// A TCP listener reading each connection to its end; its port.
fn tcp_sink() -> (u16, Received) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind the TCP sink");
    let port = listener.local_addr().expect("address").port();
    let got = Received::default();
    let kept = got.clone();
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            let kept = kept.clone();
            std::thread::spawn(move || {
                let mut text = String::new();
                let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
                let _ = stream.read_to_string(&mut text);
                kept.0.lock().unwrap().push(text);
            });
        }
    });
    (port, got)
}

/// A UDP socket keeping each datagram; its port.
fn udp_sink() -> (u16, Received) {
    let socket = UdpSocket::bind("127.0.0.1:0").expect("bind the UDP sink");
    let port = socket.local_addr().expect("address").port();
    let got = Received::default();
    let kept = got.clone();
    std::thread::spawn(move || {
        let mut buf = vec![0u8; 65536];
        while let Ok(n) = socket.recv(&mut buf) {
            kept.0
                .lock()
                .unwrap()
                .push(String::from_utf8_lossy(&buf[..n]).into_owned());
        }
    });
    (port, got)
}

/// A one-worker gateway in front of `node` with the socket loggers and
/// the metrics exporter, serving `routes` (YAML).
fn gateway(node: &Node, routes: &str) -> Gateway {
    let apisix = format!(
        "upstreams:\n  - {{id: u, nodes: {{\"{}\": 1}}}}\nroutes:\n{routes}#END\n",
        node.addr()
    );
    Gateway::file(BIN, &apisix)
        .workers(1)
        .plugins(&["tcp-logger", "udp-logger", "syslog", "prometheus"])
        .start()
}

fn json_of(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text:?}"))
}

#[test]
fn tcp_logger_sends_each_batch_on_a_connection_of_its_own() {
    let node = Node::start("n");
    let (port, got) = tcp_sink();
    // APISIX's doc example, then a batch of two with a log_format.
    let gw = gateway(
        &node,
        &format!(
            "  - {{id: one, uri: /one, upstream_id: u, plugins: {{tcp-logger: {{host: 127.0.0.1, \
             port: {port}, tls: false, batch_max_size: 1, name: tcp logger}}}}}}\n  \
             - {{id: two, uri: /two, upstream_id: u, plugins: {{tcp-logger: {{host: 127.0.0.1, \
             port: {port}, batch_max_size: 2, log_format: {{uri: \"$uri\", s: \"$status\"}}}}}}}}\n"
        ),
    );
    assert_eq!(gw.get("/one?x=1", &[]).status, 200);
    assert!(eventually(10, || got.all().len() == 1), "{}", gw.log());
    // batch_max_size 1: the bare default entry.
    let entry = json_of(&got.all()[0]);
    assert_eq!(entry["request"]["uri"], "/one?x=1", "{entry}");
    assert_eq!(entry["response"]["status"], 200, "{entry}");
    assert_eq!(entry["route_id"], "one", "{entry}");
    assert_eq!(entry["upstream"], node.addr(), "{entry}");

    assert_eq!(gw.get("/two", &[]).status, 200);
    assert_eq!(gw.get("/two", &[]).status, 200);
    assert!(eventually(10, || got.all().len() == 2), "{}", gw.log());
    let want = json!({"uri": "/two", "s": "200", "route_id": "two"});
    assert_eq!(json_of(&got.all()[1]), json!([want.clone(), want]));
}

#[test]
fn latency_and_upstream_latency_cover_a_slow_node() {
    let node = Node::start("n");
    let (port, got) = tcp_sink();
    let gw = gateway(
        &node,
        &format!(
            "  - {{id: slow, uri: /slow, upstream_id: u, plugins: {{tcp-logger: {{host: \
             127.0.0.1, port: {port}, batch_max_size: 1}}}}}}\n"
        ),
    );
    // The node holds the request 300 ms before it answers.
    node.hold(true);
    let client = {
        let port = gw.port;
        std::thread::spawn(move || request(port, "GET", "/slow", &[]).map(|r| r.status))
    };
    assert!(eventually(5, || node.held() == 1), "{}", gw.log());
    std::thread::sleep(Duration::from_millis(300));
    node.hold(false);
    assert_eq!(client.join().expect("the client").ok(), Some(200));
    assert!(eventually(10, || got.all().len() == 1), "{}", gw.log());
    let entry = json_of(&got.all()[0]);
    let ms = |key: &str| {
        entry[key]
            .as_f64()
            .unwrap_or_else(|| panic!("{key} is not a number: {entry}"))
    };
    assert!(ms("upstream_latency") >= 300.0, "{entry}");
    assert!(ms("latency") >= ms("upstream_latency"), "{entry}");
    assert!(ms("apisix_latency") < 300.0, "{entry}");
}

#[test]
fn latency_and_request_time_count_from_arrival() {
    // fault-injection (priority 11000) waits 300 ms in rewrite before the
    // logger's own rewrite runs: APISIX counts that wait, from the
    // request's arrival, and so does the host's request_time.
    let node = Node::start("n");
    let (port, got) = tcp_sink();
    let logger = format!("tcp-logger: {{host: 127.0.0.1, port: {port}, batch_max_size: 1");
    let delay = "fault-injection: {delay: {duration: 0.3}}";
    let apisix = format!(
        "upstreams:\n  - {{id: u, nodes: {{\"{}\": 1}}}}\nroutes:\n  \
         - {{id: full, uri: /full, upstream_id: u, plugins: {{{delay}, {logger}}}}}}}\n  \
         - {{id: fmt, uri: /fmt, upstream_id: u, plugins: {{{delay}, {logger}, \
         log_format: {{t: \"$request_time\"}}}}}}}}\n#END\n",
        node.addr()
    );
    // With the access log off, the plugin side times the request.
    let gw = Gateway::file(BIN, &apisix)
        .workers(1)
        .gateway_yaml("  access_log: \"off\"\n")
        .plugins(&["fault-injection", "tcp-logger"])
        .start();
    assert_eq!(gw.get("/full", &[]).status, 200);
    assert!(eventually(10, || got.all().len() == 1), "{}", gw.log());
    assert_eq!(gw.get("/fmt", &[]).status, 200);
    assert!(eventually(10, || got.all().len() == 2), "{}", gw.log());
    let full = json_of(&got.all()[0]);
    let latency = full["latency"].as_f64().unwrap_or_default();
    assert!(latency >= 300.0, "{full}");
    let fmt = json_of(&got.all()[1]);
    let t: f64 = fmt["t"]
        .as_str()
        .and_then(|t| t.parse().ok())
        .unwrap_or_else(|| panic!("request_time is not seconds: {fmt}"));
    assert!(t >= 0.3, "{fmt}");
}

/// `openssl s_server` on a free port with a certificate of a CA nobody
/// trusts, writing what it receives to `out`; killed on drop.
struct TlsSink(std::process::Child);

impl Drop for TlsSink {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn tcp_logger_sends_over_tls_without_verifying_the_sink() {
    use radixgate_test_support::tls::{write, Ca};
    let node = Node::start("n");
    let dir = radixgate_test_support::TempDir::new("tls-sink");
    let leaf = Ca::new("untrusted").server(&["logs.test"], "logs.test");
    let cert = write(dir.root(), "sink.crt", &leaf.cert);
    let key = write(dir.root(), "sink.key", &leaf.key);
    let out = dir.path("received");
    let port = free_port();
    let child = std::process::Command::new("openssl")
        .args(["s_server", "-quiet", "-accept", &port.to_string(), "-cert"])
        .arg(&cert)
        .arg("-key")
        .arg(&key)
        .stdin(std::process::Stdio::piped())
        .stdout(std::fs::File::create(&out).expect("create the output"))
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("openssl s_server runs");
    let _sink = TlsSink(child);
    assert!(
        eventually(10, || std::net::TcpStream::connect(("127.0.0.1", port))
            .is_ok()),
        "s_server did not listen"
    );
    let gw = gateway(
        &node,
        &format!(
            "  - {{id: tls, uri: /tls, upstream_id: u, plugins: {{tcp-logger: {{host: \
             127.0.0.1, port: {port}, tls: true, tls_options: logs.test, batch_max_size: 1, \
             log_format: {{u: \"$uri\"}}}}}}}}\n"
        ),
    );
    assert_eq!(gw.get("/tls", &[]).status, 200);
    let received = || std::fs::read_to_string(&out).unwrap_or_default();
    assert!(
        eventually(10, || received()
            .contains(r#"{"route_id":"tls","u":"/tls"}"#)),
        "s_server received {:?}\n{}",
        received(),
        gw.log()
    );
}

#[test]
fn udp_logger_sends_each_batch_as_one_datagram() {
    let node = Node::start("n");
    let (port, got) = udp_sink();
    // APISIX's doc example.
    let gw = gateway(
        &node,
        &format!(
            "  - {{id: udp, uri: /udp, upstream_id: u, plugins: {{udp-logger: {{host: 127.0.0.1, \
             port: {port}, batch_max_size: 1, name: udp logger}}}}}}\n"
        ),
    );
    assert_eq!(gw.get("/udp", &[("User-Agent", "ua/2")]).status, 200);
    assert_eq!(gw.get("/udp", &[]).status, 200);
    assert!(eventually(10, || got.all().len() == 2), "{}", gw.log());
    let entry = json_of(&got.all()[0]);
    assert_eq!(entry["request"]["method"], "GET", "{entry}");
    assert_eq!(entry["request"]["headers"]["user-agent"], "ua/2", "{entry}");
    assert_eq!(entry["route_id"], "udp", "{entry}");
}

/// Checks `frame` is one RFC 5424 message as APISIX writes it (PRI 46,
/// version 1, a UTC time with milliseconds, the request's host, APP-NAME
/// `apisix`, a PROCID, nil MSGID and STRUCTURED-DATA, then the entry's
/// JSON and a newline); the entry.
fn rfc5424(frame: &str) -> Value {
    let body = frame
        .strip_suffix('\n')
        .unwrap_or_else(|| panic!("no newline ends {frame:?}"));
    let parts: Vec<&str> = body.splitn(8, ' ').collect();
    assert_eq!(parts.len(), 8, "{frame:?}");
    assert_eq!(parts[0], "<46>1", "{frame:?}");
    let t = parts[1];
    assert!(
        t.len() == 24 && t.ends_with('Z') && t.as_bytes()[10] == b'T' && t.as_bytes()[19] == b'.',
        "TIMESTAMP {t:?}"
    );
    assert_eq!(parts[2], "localhost", "HOSTNAME");
    assert_eq!(parts[3], "apisix", "APP-NAME");
    assert!(parts[4].parse::<u32>().is_ok(), "PROCID {:?}", parts[4]);
    assert_eq!(
        (parts[5], parts[6]),
        ("-", "-"),
        "MSGID and STRUCTURED-DATA"
    );
    json_of(parts[7])
}

#[test]
fn syslog_sends_rfc5424_messages_over_tcp_and_udp() {
    let node = Node::start("n");
    let (tcp_port, over_tcp) = tcp_sink();
    let (udp_port, over_udp) = udp_sink();
    // APISIX's doc example (flush_limit is accepted), and the same over UDP.
    let gw = gateway(
        &node,
        &format!(
            "  - {{id: st, uri: /st, upstream_id: u, plugins: {{syslog: {{host: 127.0.0.1, \
             port: {tcp_port}, flush_limit: 1, batch_max_size: 2}}}}}}\n  \
             - {{id: su, uri: /su, upstream_id: u, plugins: {{syslog: {{host: 127.0.0.1, \
             port: {udp_port}, sock_type: udp, batch_max_size: 1, log_format: {{u: \"$uri\"}}}}}}}}\n"
        ),
    );
    assert_eq!(gw.get("/st", &[]).status, 200);
    assert_eq!(gw.get("/st", &[]).status, 200);
    assert_eq!(gw.get("/su", &[]).status, 200);
    assert!(
        eventually(10, || over_tcp.all().len() == 1
            && over_udp.all().len() == 1),
        "tcp {:?} udp {:?}\n{}",
        over_tcp.all(),
        over_udp.all(),
        gw.log()
    );
    // Over TCP: a batch of two messages, each ended by its newline.
    let sent = &over_tcp.all()[0];
    let frames: Vec<&str> = sent.split_inclusive('\n').collect();
    assert_eq!(frames.len(), 2, "{sent:?}");
    for frame in frames {
        let entry = rfc5424(frame);
        assert_eq!(entry["route_id"], "st", "{entry}");
        assert_eq!(entry["response"]["status"], 200, "{entry}");
    }
    let entry = rfc5424(&over_udp.all()[0]);
    assert_eq!(entry, json!({"u": "/su", "route_id": "su"}));
}

#[test]
fn a_sink_nobody_listens_on_never_delays_requests_and_drops_are_counted() {
    let node = Node::start("n");
    let closed = free_port();
    let gw = gateway(
        &node,
        &format!(
            "  - {{id: down, uri: /down, upstream_id: u, plugins: {{tcp-logger: {{host: \
             127.0.0.1, port: {closed}, batch_max_size: 1, max_retry_count: 1, \
             retry_delay: 0, timeout: 200}}}}}}\n  \
             - {{id: sdown, uri: /sdown, upstream_id: u, plugins: {{syslog: {{host: \
             127.0.0.1, port: {closed}, batch_max_size: 1}}}}}}\n"
        ),
    );
    for _ in 0..5 {
        let r = request(gw.port, "GET", "/down", &[]).expect("the gateway answers");
        assert_eq!(r.status, 200);
    }
    assert_eq!(gw.get("/sdown", &[]).status, 200);
    let scrape = || {
        request(gw.metrics_port(), "GET", "/apisix/prometheus/metrics", &[])
            .map(|r| r.body)
            .unwrap_or_default()
    };
    let tcp = r#"radixgate_batch_dropped_total{plugin="tcp-logger",reason="not_delivered"} 5"#;
    let sys = r#"radixgate_batch_dropped_total{plugin="syslog",reason="not_delivered"} 1"#;
    assert!(
        eventually(20, || {
            let s = scrape();
            s.contains(tcp) && s.contains(sys)
        }),
        "{}\n{}",
        scrape(),
        gw.log()
    );
    // Each failed send was logged with its try, naming the sink.
    let log = gw.log();
    assert!(
        log.contains(&format!("connecting to 127.0.0.1:{closed}")) && log.contains("attempt=2"),
        "{log}"
    );
}

#[test]
fn configs_the_socket_loggers_cannot_serve_are_refused_naming_the_field() {
    let node = Node::start("n");
    let cases = [
        ("tport", "tcp-logger", "{host: h, port: 70000}", "port"),
        (
            "ttime",
            "tcp-logger",
            "{host: h, port: 1, timeout: 0}",
            "timeout",
        ),
        (
            "thost",
            "tcp-logger",
            "{port: 1}",
            "\"host\" is a required property",
        ),
        (
            "ubatch",
            "udp-logger",
            "{host: h, port: 1, batch_max_size: 0}",
            "batch_max_size",
        ),
        (
            "sock",
            "syslog",
            "{host: h, port: 514, sock_type: sctp}",
            "sock_type",
        ),
        (
            "pool",
            "syslog",
            "{host: h, port: 514, pool_size: 1}",
            "pool_size",
        ),
        (
            "stls",
            "syslog",
            "{host: h, port: 514, sock_type: udp, tls: true}",
            "tls",
        ),
    ];
    let mut routes = String::from("  - {id: ok, uri: /ok, upstream_id: u}\n");
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
