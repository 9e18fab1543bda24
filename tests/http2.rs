//! End to end: HTTP/2 clients on the plain listener (h2c with prior
//! knowledge, `gateway.http2.enable`). curl takes the same routes, plugins
//! and HTTP/1.1 nodes as an HTTP/1.1 client; the client limits hold over
//! HTTP/2 (body size, requests per connection, the wait for the first
//! request); the stream limit is announced; and a client that opens and
//! resets streams in a loop (CVE-2023-44487) loses its connection while
//! another client is served.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::time::Duration;

use radixgate_test_support::{Gateway, Node};

const BIN: &str = env!("CARGO_BIN_EXE_radixgate");

/// curl's output (`-w` lines after the body) for `args`; panics when curl
/// cannot run.
fn curl(args: &[&str]) -> (bool, String) {
    let out = Command::new("curl")
        .args(["-s", "--max-time", "10"])
        .args(args)
        .output()
        .expect("run curl");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

/// A gateway with HTTP/2 on, `extra` added to its `gateway:` section and
/// `http2` to its `gateway.http2`, routes `/h2/*` to `node` and `/limited`
/// (limit-count, 2 a minute) too.
fn h2_gateway(node: &Node, extra: &str, http2: &str) -> Gateway {
    Gateway::file(
        BIN,
        &format!(
            "routes:\n  - {{id: h2, uri: /h2/*, upstream: {{nodes: {{\"{n}\": 1}}}}}}\n  - {{id: limited, uri: /limited, upstream: {{nodes: {{\"{n}\": 1}}}}, plugins: {{limit-count: {{count: 2, time_window: 60, rejected_code: 429}}}}}}\n#END\n",
            n = node.addr()
        ),
    )
    .gateway_yaml(&format!("{extra}  http2:\n    enable: true\n{http2}"))
    .plugins(&["limit-count"])
    .start()
}

#[test]
fn h2c_takes_the_same_route_plugins_and_http1_node() {
    let node = Node::start("n");
    let gw = h2_gateway(&node, "", "");
    let url = format!("http://127.0.0.1:{}/h2/a?x=1", gw.port);
    let (ok, out) = curl(&[
        "--http2-prior-knowledge",
        "-d",
        "hello",
        "-w",
        "\nversion=%{http_version}\nstatus=%{http_code}\n",
        &url,
    ]);
    assert!(ok, "{out}");
    let has = |line: &str| out.lines().any(|l| l == line);
    assert!(has("version=2"), "the client should speak HTTP/2: {out}");
    assert!(has("status=200"), "{out}");
    assert!(has("method=POST") && has("path=/h2/a?x=1"), "{out}");
    assert!(has("body=hello"), "{out}");
    // `:authority` is the client's host: the node's Host (pass_host pass).
    assert!(
        has(&format!("host: 127.0.0.1:{}", gw.port)),
        "the node should get the client's :authority as Host: {out}"
    );
    assert!(has("x-forwarded-proto: http"), "{out}");
    // Three requests on one HTTP/2 connection (nghttp sends them at once):
    // the plugin counts them all.
    let limited = format!("http://127.0.0.1:{}/limited", gw.port);
    assert_eq!(
        nghttp_codes(&[
            &format!("{limited}?1"),
            &format!("{limited}?2"),
            &format!("{limited}?3")
        ]),
        [200, 200, 429],
        "limit-count over one h2 connection"
    );
    // HTTP/1.1 on the same port, as before.
    let (_, out) = curl(&[
        "--http1.1",
        "-o",
        "/dev/null",
        "-w",
        "%{http_version} %{http_code}",
        &url,
    ]);
    assert_eq!(out, "1.1 200");
    // No route: the same JSON 404 as over HTTP/1.1.
    let (_, out) = curl(&[
        "--http2-prior-knowledge",
        &format!("http://127.0.0.1:{}/nowhere", gw.port),
    ]);
    assert_eq!(out, r#"{"error_msg":"404 Route Not Found"}"#);
}

#[test]
fn h2c_is_not_spoken_unless_enabled() {
    let node = Node::start("n");
    let gw = Gateway::start_file(
        BIN,
        &format!(
            "routes:\n  - {{id: h2, uri: /h2/*, upstream: {{nodes: {{\"{}\": 1}}}}}}\n#END\n",
            node.addr()
        ),
    );
    let url = format!("http://127.0.0.1:{}/h2/a", gw.port);
    let (_, out) = curl(&["--http2-prior-knowledge", "-w", "%{http_code}", &url]);
    assert!(!out.ends_with("200"), "h2c answered while off: {out}");
    assert_eq!(node.hits(), 0);
}

#[test]
fn client_limits_hold_over_http2() {
    let node = Node::start("n");
    let gw = h2_gateway(
        &node,
        "  client_max_body_size: 10\n  keepalive_requests: 2\n",
        "",
    );
    let url = format!("http://127.0.0.1:{}/h2/a", gw.port);
    let (_, out) = curl(&[
        "--http2-prior-knowledge",
        "-d",
        "far more than ten bytes",
        "-o",
        "/dev/null",
        "-w",
        "%{http_code}",
        &url,
    ]);
    assert_eq!(out, "413", "client_max_body_size over HTTP/2");
    assert_eq!(node.hits(), 0, "the node saw the refused body");
    // keepalive_requests: 2 streams a connection, then a GOAWAY.
    let rt = runtime();
    rt.block_on(async {
        let (mut client, conn) = h2_connect(gw.port).await;
        for _ in 0..2 {
            assert_eq!(h2_get(&mut client, &url).await, Some(200));
        }
        let ended = tokio::time::timeout(Duration::from_secs(10), conn).await;
        let ended = ended.expect("the connection should end after keepalive_requests streams");
        assert!(
            ended.expect("the connection task").is_ok(),
            "a graceful GOAWAY, not an error"
        );
    });
}

/// The statuses nghttp got for `urls`, sent at once over one h2c
/// connection, sorted.
fn nghttp_codes(urls: &[&str]) -> Vec<u16> {
    let out = Command::new("nghttp")
        .args(["-ns", "-t", "10"])
        .args(urls)
        .output()
        .expect("run nghttp (Debian's nghttp2-client)");
    let text = String::from_utf8_lossy(&out.stdout);
    // The summary table: "id responseEnd requestStart process code size path".
    let mut codes: Vec<u16> = text
        .lines()
        .skip_while(|l| !l.trim_start().starts_with("id "))
        .skip(1)
        .filter_map(|l| l.split_whitespace().nth(4)?.parse().ok())
        .collect();
    codes.sort_unstable();
    codes
}

/// An HTTP/2 (h2c) connection to the gateway: the client and the task
/// driving the connection, which ends when the gateway closes it.
async fn h2_connect(
    port: u16,
) -> (
    h2::client::SendRequest<bytes::Bytes>,
    tokio::task::JoinHandle<Result<(), h2::Error>>,
) {
    let tcp = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .expect("connect");
    let (client, conn) = h2::client::handshake(tcp).await.expect("h2 handshake");
    (client, tokio::spawn(conn))
}

/// The status of `GET url` on `client`'s connection; `None` when it failed.
async fn h2_get(client: &mut h2::client::SendRequest<bytes::Bytes>, url: &str) -> Option<u16> {
    let mut ready = client.clone().ready().await.ok()?;
    let req = http::Request::get(url).body(()).ok()?;
    let (resp, _) = ready.send_request(req, true).ok()?;
    let resp = resp.await.ok()?;
    let status = resp.status().as_u16();
    let mut body = resp.into_body();
    while let Some(chunk) = body.data().await {
        let chunk = chunk.ok()?;
        let _ = body.flow_control().release_capacity(chunk.len());
    }
    Some(status)
}

#[test]
fn a_client_that_sends_only_the_preface_is_cut_off_at_the_header_timeout() {
    let node = Node::start("n");
    // header_read_timeout: 2 (the harness's); keep-alive far longer.
    let gw = h2_gateway(&node, "  keepalive_timeout: 120\n", "");
    let mut s = TcpStream::connect(("127.0.0.1", gw.port)).expect("connect");
    s.write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
        .expect("send the preface");
    s.set_read_timeout(Some(Duration::from_secs(15)))
        .expect("read timeout");
    let mut buf = [0u8; 4096];
    loop {
        match s.read(&mut buf) {
            Ok(0) => break, // closed by the gateway
            Ok(_) => continue,
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => break,
            Err(e) => panic!("the gateway kept a silent h2c connection open: {e}"),
        }
    }
}

/// A runtime for the raw HTTP/2 clients.
fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime")
}

#[test]
fn a_header_list_over_the_limit_is_refused() {
    let node = Node::start("n");
    let gw = h2_gateway(&node, "", "    max_header_list_size: 4096\n");
    let url = format!("http://127.0.0.1:{}/h2/a", gw.port);
    let big = format!("x-big: {}", "a".repeat(8000));
    let (_, out) = curl(&[
        "--http2-prior-knowledge",
        "-H",
        &big,
        "-o",
        "/dev/null",
        "-w",
        "%{http_code}",
        &url,
    ]);
    assert_ne!(out, "200", "a header list over the limit was served");
    assert_eq!(node.hits(), 0, "the node saw it");
    // Under the limit the same connection settings serve.
    let (_, out) = curl(&[
        "--http2-prior-knowledge",
        "-H",
        "x-small: a",
        "-o",
        "/dev/null",
        "-w",
        "%{http_code}",
        &url,
    ]);
    assert_eq!(out, "200");
}

#[test]
fn the_stream_limit_is_announced() {
    let node = Node::start("n");
    let gw = h2_gateway(&node, "", "    max_concurrent_streams: 7\n");
    let rt = runtime();
    rt.block_on(async {
        let (mut client, _conn) = h2_connect(gw.port).await;
        let url = format!("http://127.0.0.1:{}/h2/a", gw.port);
        assert_eq!(h2_get(&mut client, &url).await, Some(200));
        assert_eq!(client.current_max_send_streams(), 7);
    });
}

#[test]
fn rapid_reset_closes_the_attacker_while_others_are_served() {
    let node = Node::start("n");
    let gw = h2_gateway(&node, "", "");
    let port = gw.port;
    let rt = runtime();
    let attacker = rt.spawn(async move {
        let tcp = tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .expect("connect");
        // The client's own limit on locally reset streams must not stop it.
        let (client, conn) = h2::client::Builder::new()
            .max_concurrent_reset_streams(usize::MAX)
            .handshake::<_, bytes::Bytes>(tcp)
            .await
            .expect("h2 handshake");
        let conn = tokio::spawn(conn);
        let mut client = client;
        for _ in 0..100_000 {
            client = match client.ready().await {
                Ok(c) => c,
                Err(_) => break,
            };
            let req = http::Request::post(format!("http://127.0.0.1:{port}/h2/a"))
                .body(())
                .expect("request");
            match client.send_request(req, false) {
                Ok((_, mut stream)) => stream.send_reset(h2::Reason::CANCEL),
                Err(_) => break,
            }
            tokio::task::yield_now().await;
        }
        conn.await.expect("the connection task")
    });
    // Meanwhile another client is served.
    let url = format!("http://127.0.0.1:{port}/h2/a");
    for _ in 0..5 {
        let (_, out) = curl(&[
            "--http2-prior-knowledge",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            &url,
        ]);
        assert_eq!(out, "200", "a client was not served during the attack");
    }
    let ended =
        rt.block_on(async { tokio::time::timeout(Duration::from_secs(20), attacker).await });
    let result = ended
        .expect("the attacker's connection should be closed by the gateway")
        .expect("the attacker task");
    let e = result.expect_err("the gateway should end the attacker's connection with an error");
    // The GOAWAY, or the closed socket when the client's next write came first.
    assert!(
        e.reason() == Some(h2::Reason::ENHANCE_YOUR_CALM) || e.is_io(),
        "expected GOAWAY ENHANCE_YOUR_CALM, got {e:?}"
    );
}
