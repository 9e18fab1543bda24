//! End to end: the access log (`gateway.access_log`, `_format`,
//! `_buffer`). Lines in APISIX's default format with real values, a
//! custom format, stdout by default, `off`, SIGUSR1 after a rename (as
//! logrotate does), and a writer that cannot keep up: its lines are
//! dropped and counted, and requests never wait for it.

use std::path::Path;

use radixgate_test_support::{eventually, request, Gateway, Node};

const BIN: &str = env!("CARGO_BIN_EXE_radixgate");

/// A standalone file with route `logged` (`/logged*`) on `node`.
fn routes(node: &Node) -> String {
    format!(
        "routes:\n  - {{id: logged, uri: /logged*, upstream: {{nodes: {{\"{}\": 1}}}}}}\n#END\n",
        node.addr()
    )
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

/// The fields of a line in nginx's combined style: words, `"quoted"` and
/// `[bracketed]` runs each one field, without their quotes or brackets.
fn fields(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = line.trim_end();
    while !rest.is_empty() {
        rest = rest.trim_start();
        let (end, skip) = match rest.chars().next() {
            Some('"') => (rest[1..].find('"').map_or(rest.len(), |i| i + 1), 1),
            Some('[') => (rest[1..].find(']').map_or(rest.len(), |i| i + 1), 1),
            _ => (rest.find(' ').unwrap_or(rest.len()), 0),
        };
        out.push(rest[skip..end].to_owned());
        rest = &rest[(end + skip).min(rest.len())..];
    }
    out
}

/// The lines of `text` naming `needle`.
fn lines_with<'a>(text: &'a str, needle: &str) -> Vec<&'a str> {
    text.lines().filter(|l| l.contains(needle)).collect()
}

#[test]
fn the_file_gets_apisix_default_format_with_real_values() {
    let node = Node::start("n");
    let gw = Gateway::file(BIN, &routes(&node))
        .gateway_yaml("  access_log: access.log\n")
        .start();
    let file = gw.dir.path("access.log");
    let ok = request(
        gw.port,
        "PUT",
        "/logged?x=1&y=2",
        &[
            ("Host", "api.example.com"),
            ("User-Agent", "test-agent/1.0"),
        ],
    )
    .expect("the gateway answers");
    assert_eq!(ok.status, 200);
    let missing = request(gw.port, "DELETE", "/missing?z=3", &[]).expect("the gateway answers");
    assert_eq!(missing.status, 404);
    assert!(
        eventually(5, || lines_with(&read(&file), "/missing?z=3").len() == 1),
        "no line for the 404 in {}:\n{}\ngateway log:\n{}",
        file.display(),
        read(&file),
        gw.log()
    );
    let text = read(&file);
    let lines = lines_with(&text, "/logged?x=1&y=2");
    assert_eq!(lines.len(), 1, "one line per request:\n{text}");
    // $remote_addr - $remote_user [$time_local] $http_host "$request"
    // $status $body_bytes_sent $request_time "$http_referer"
    // "$http_user_agent" $upstream_addr $upstream_status
    // $upstream_response_time "$upstream_scheme://$upstream_host$upstream_uri"
    let f = fields(lines[0]);
    assert_eq!(f.len(), 15, "{f:?}");
    assert_eq!(f[0], "127.0.0.1");
    assert_eq!((f[1].as_str(), f[2].as_str()), ("-", "-"));
    assert!(
        f[3].ends_with(" +0000") && f[3].len() == 26,
        "time_local: {}",
        f[3]
    );
    assert_eq!(f[4], "api.example.com");
    assert_eq!(f[5], "PUT /logged?x=1&y=2 HTTP/1.1");
    assert_eq!(f[6], "200");
    assert!(
        f[7].parse::<u64>().is_ok_and(|n| n > 0),
        "body_bytes_sent: {}",
        f[7]
    );
    let t: f64 = f[8].parse().expect("request_time is a number");
    assert!((0.0..60.0).contains(&t), "{t}");
    assert_eq!(f[9], "-");
    assert_eq!(f[10], "test-agent/1.0");
    assert_eq!(f[11], node.addr());
    assert_eq!(f[12], "200");
    let ut: f64 = f[13].parse().expect("upstream_response_time is a number");
    assert!(ut <= t, "upstream {ut} > request {t}");
    assert_eq!(f[14], "http://api.example.com/logged?x=1&y=2");

    let f = fields(lines_with(&text, "/missing?z=3")[0]);
    assert_eq!(f[4], "localhost");
    assert_eq!(f[5], "DELETE /missing?z=3 HTTP/1.1");
    assert_eq!(f[6], "404");
    // No node was tried: nginx's empty variables.
    assert_eq!(&f[11..], ["-", "-", "-", "-://--"], "{f:?}");
}

#[test]
fn request_time_and_upstream_response_time_cover_a_slow_node() {
    let node = Node::start("n");
    let gw = Gateway::file(BIN, &routes(&node))
        .gateway_yaml("  access_log: t.log\n  access_log_format: '$uri $request_time $upstream_response_time'\n")
        .start();
    let file = gw.dir.path("t.log");
    // The node holds the request 300 ms before it answers.
    node.hold(true);
    let client = {
        let port = gw.port;
        std::thread::spawn(move || request(port, "GET", "/logged/slow", &[]).map(|r| r.status))
    };
    assert!(eventually(5, || node.held() == 1), "{}", gw.log());
    std::thread::sleep(std::time::Duration::from_millis(300));
    node.hold(false);
    assert_eq!(client.join().expect("the client").ok(), Some(200));
    assert!(eventually(5, || !lines_with(&read(&file), "/logged/slow").is_empty()));
    let text = read(&file);
    let f: Vec<f64> = lines_with(&text, "/logged/slow")[0]
        .split(' ')
        .skip(1)
        .map(|t| t.parse().expect("seconds"))
        .collect();
    assert!(
        f[1] >= 0.3 && f[0] >= f[1],
        "request {} upstream {}",
        f[0],
        f[1]
    );
}

#[test]
fn a_custom_format_names_nginx_variables_and_unknown_ones_log_a_dash() {
    let node = Node::start("n");
    let gw = Gateway::file(BIN, &routes(&node))
        .gateway_yaml(concat!(
            "  access_log: custom.log\n",
            "  access_log_format: 'custom $request_method $uri args=$args a=$arg_a ",
            "route=$route_id ua=${http_user_agent}|$no_such_var|$status'\n"
        ))
        .start();
    let file = gw.dir.path("custom.log");
    let ok = request(gw.port, "GET", "/logged/x?a=7", &[("User-Agent", "ua 1")]).expect("answer");
    assert_eq!(ok.status, 200);
    assert!(
        eventually(5, || !lines_with(&read(&file), "/logged").is_empty()),
        "nothing in {}:\n{}",
        file.display(),
        gw.log()
    );
    // The harness's readiness checks (`/healthz`) are logged too.
    assert_eq!(
        lines_with(&read(&file), "/logged"),
        ["custom GET /logged/x args=a=7 a=7 route=logged ua=ua 1|-|200"]
    );
    assert!(
        gw.log().contains("no variable is named no_such_var"),
        "the unknown name is told at start:\n{}",
        gw.log()
    );
}

#[test]
fn by_default_lines_go_to_stdout_and_off_writes_none() {
    let node = Node::start("n");
    let gw = Gateway::start_file(BIN, &routes(&node));
    assert_eq!(
        request(gw.port, "GET", "/logged/default", &[])
            .expect("answer")
            .status,
        200
    );
    assert!(
        eventually(5, || lines_with(
            &gw.log(),
            "\"GET /logged/default HTTP/1.1\" 200"
        )
        .len()
            == 1),
        "no access line on stdout:\n{}",
        gw.log()
    );

    let off = Gateway::file(BIN, &routes(&node))
        .gateway_yaml("  access_log: \"off\"\n")
        .start();
    assert_eq!(
        request(off.port, "GET", "/logged/off", &[])
            .expect("answer")
            .status,
        200
    );
    // The line would be queued before the answer went out; give the
    // writer the time it takes the other gateway's.
    assert_eq!(
        request(gw.port, "GET", "/logged/again", &[])
            .expect("answer")
            .status,
        200
    );
    assert!(eventually(5, || !lines_with(&gw.log(), "/logged/again").is_empty()));
    assert!(
        lines_with(&off.log(), "/logged/off").is_empty(),
        "{}",
        off.log()
    );
    let files: Vec<_> = std::fs::read_dir(off.dir.root())
        .expect("the gateway's dir")
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("access"))
        .collect();
    assert!(files.is_empty(), "{files:?}");
}

#[test]
fn a_file_that_cannot_be_opened_stops_the_start_naming_it() {
    let node = Node::start("n");
    let gw = Gateway::file(BIN, &routes(&node))
        .gateway_yaml("  access_log: no/such/dir/access.log\n")
        .prepare();
    let mut child = std::process::Command::new(BIN)
        .arg("--config")
        .arg(gw.dir.path("config.yaml"))
        .current_dir(gw.dir.root())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start radixgate");
    let mut status = None;
    assert!(
        eventually(10, || {
            status = child.try_wait().ok().flatten();
            status.is_some()
        }),
        "radixgate kept running without its access log"
    );
    let mut err = String::new();
    if let Some(mut e) = child.stderr.take() {
        let _ = std::io::Read::read_to_string(&mut e, &mut err);
    }
    assert!(status.is_some_and(|s| !s.success()), "{status:?}");
    assert!(
        err.contains("gateway.access_log") && err.contains("no/such/dir/access.log"),
        "{err}"
    );
}

#[test]
fn sigusr1_after_a_rename_writes_to_a_new_file() {
    let node = Node::start("n");
    let gw = Gateway::file(BIN, &routes(&node))
        .gateway_yaml("  access_log: access.log\n")
        .start();
    let file = gw.dir.path("access.log");
    let rotated = gw.dir.path("access.log.1");
    assert_eq!(
        request(gw.port, "GET", "/logged/before", &[])
            .expect("answer")
            .status,
        200
    );
    assert!(eventually(5, || read(&file).contains("/logged/before")));
    std::fs::rename(&file, &rotated).expect("rename the log");
    // Before the signal the renamed file is the one held open.
    assert_eq!(
        request(gw.port, "GET", "/logged/renamed", &[])
            .expect("answer")
            .status,
        200
    );
    assert!(eventually(5, || read(&rotated).contains("/logged/renamed")));
    gw.signal("USR1");
    assert!(
        eventually(5, || file.exists()),
        "SIGUSR1 made no new file:\n{}",
        gw.log()
    );
    assert_eq!(
        request(gw.port, "GET", "/logged/after", &[])
            .expect("answer")
            .status,
        200
    );
    assert!(
        eventually(5, || read(&file).contains("/logged/after")),
        "new file:\n{}\nold file:\n{}",
        read(&file),
        read(&rotated)
    );
    assert!(!read(&rotated).contains("/logged/after"));
    assert!(!read(&file).contains("/logged/before"));
}

#[test]
fn a_writer_that_cannot_keep_up_drops_and_counts_and_requests_go_on() {
    // A FIFO nobody reads: the writer blocks opening it, for good, so the
    // queue (2 lines) fills and stays full.
    let node = Node::start("n");
    let gw = Gateway::file(BIN, &routes(&node))
        .gateway_yaml("  access_log: stuck.fifo\n  access_log_buffer: 2\n")
        .plugins(&["prometheus"])
        .prepare();
    let mut gw = gw;
    let fifo = gw.dir.path("stuck.fifo");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("run mkfifo");
    assert!(made.success());
    gw.start_process();
    for i in 0..20 {
        let path = format!("/logged/{i}");
        let r = request(gw.port, "GET", &path, &[]).expect("the gateway answers");
        assert_eq!(r.status, 200, "{path}");
    }
    let dropped = || {
        let scrape = request(gw.metrics_port(), "GET", "/apisix/prometheus/metrics", &[])
            .map(|r| r.body)
            .unwrap_or_default();
        scrape
            .lines()
            .find_map(|l| l.strip_prefix("radixgate_access_log_dropped_total "))
            .and_then(|v| v.trim().parse::<f64>().ok())
    };
    // 2 lines in the queue, at most one more in the writer's hands.
    assert!(
        eventually(5, || dropped() >= Some(17.0)),
        "dropped: {:?}\n{}",
        dropped(),
        gw.log()
    );
    assert!(dropped() <= Some(20.0));
    assert!(gw.log().contains("still being opened"), "{}", gw.log());
}
