//! End to end: gRPC through the gateway, with a real gRPC server (etcd)
//! as the `scheme: grpc` node and real gRPC clients: etcd-client (tonic)
//! and a raw HTTP/2 client that reads trailers. Unary, server-streaming
//! and bidirectional calls pass through with their trailers (etcd has no
//! client-streaming call: that shape, and the client's trailers, go to a
//! raw HTTP/2 node); a call refused at the gateway gets a gRPC status a
//! client can read; the client's `grpc-timeout` bounds the wait on the
//! node; one multiplexed connection per node, over TLS for `grpcs`
//! (verified against `gateway.ssl_trusted_certificate` with `tls.verify`).

use std::time::Duration;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use radixgate_test_support::etcd::{self, Etcd};
use radixgate_test_support::{bad_upstream, free_port, Gateway, TempDir};
use tokio::task::{AbortHandle, JoinSet};

const BIN: &str = env!("CARGO_BIN_EXE_radixgate");

/// etcd's `host:port`.
fn etcd_addr(etcd: &Etcd) -> String {
    let e = etcd.endpoint();
    let addr = e.rsplit_once("://").map_or(e.as_str(), |(_, a)| a);
    addr.to_owned()
}

/// A gateway with h2c on, `routes` as its standalone file's routes, and
/// the key-auth and limit-count plugins; `extra` goes to `gateway:`.
fn gateway(routes: &str, extra: &str) -> Gateway {
    Gateway::file(BIN, &format!("routes:\n{routes}#END\n"))
        .gateway_yaml(&format!("{extra}  http2:\n    enable: true\n"))
        .plugins(&["key-auth", "limit-count"])
        .start()
}

/// An etcd-client (tonic) that reaches etcd through the gateway.
fn client_via(rt: &tokio::runtime::Runtime, gw: &Gateway) -> etcd_client::Client {
    let endpoint = format!("http://127.0.0.1:{}", gw.port);
    rt.block_on(etcd_client::Client::connect([endpoint], None))
        .expect("an etcd client through the gateway")
}

/// The gRPC status code's name of a failed call (`Unimplemented`).
fn code(e: etcd_client::Error) -> String {
    match e {
        etcd_client::Error::GRpcStatus(s) => format!("{:?}", s.code()),
        other => panic!("expected a gRPC status, got {other:?}"),
    }
}

#[test]
fn unary_and_streaming_calls_pass_through_with_trailers() {
    let etcd = Etcd::start();
    let node = etcd_addr(&etcd);
    let gw = gateway(
        &format!(
            "  - id: etcd\n    uris: [/etcdserverpb.KV/*, /etcdserverpb.Watch/*, /etcdserverpb.Maintenance/*]\n    upstream: {{scheme: grpc, nodes: {{\"{node}\": 1}}}}\n"
        ),
        "",
    );
    let rt = etcd::runtime();
    let mut via = client_via(&rt, &gw);
    let mut direct = etcd::client(&rt, &etcd.endpoints());
    rt.block_on(async {
        // Unary.
        via.put("k", "v", None)
            .await
            .expect("put through the gateway");
        let got = via.get("k", None).await.expect("get through the gateway");
        assert_eq!(got.kvs()[0].value(), b"v");
        let got = direct.get("k", None).await.expect("get from etcd");
        assert_eq!(got.kvs()[0].value(), b"v", "the put reached etcd");
        // Bidirectional: a watch through the gateway sees a put made on
        // etcd directly.
        let (_watcher, mut events) = via.watch("w", None).await.expect("a watch");
        direct.put("w", "1", None).await.expect("put on etcd");
        let resp = tokio::time::timeout(Duration::from_secs(10), events.message())
            .await
            .expect("a watch event within 10 s")
            .expect("a watch response")
            .expect("a watch message");
        assert_eq!(resp.events()[0].kv().map(|kv| kv.value()), Some(&b"1"[..]));
        // Server streaming: a snapshot of etcd's database, in chunks.
        let mut snapshot = via
            .maintenance_client()
            .snapshot()
            .await
            .expect("a snapshot stream");
        let mut bytes = 0;
        while let Some(chunk) = snapshot.message().await.expect("a snapshot chunk") {
            bytes += chunk.blob().len();
        }
        assert!(bytes > 0, "an empty snapshot");
    });
    // The node's trailers reach the client: a raw unary Range call.
    let reply = rt.block_on(raw_call(
        gw.port,
        "/etcdserverpb.KV/Range",
        // RangeRequest { key: "k" }
        &[0x0a, 0x01, b'k'],
        None,
    ));
    assert_eq!(reply.status, 200);
    assert_eq!(
        reply.header("content-type").as_deref(),
        Some("application/grpc")
    );
    assert!(reply.data_len > 0, "no response message");
    assert_eq!(
        reply.trailer("grpc-status").as_deref(),
        Some("0"),
        "trailers: {:?}",
        reply.trailers
    );
}

#[test]
fn calls_refused_at_the_gateway_get_grpc_statuses() {
    let etcd = Etcd::start();
    let node = etcd_addr(&etcd);
    let down = free_port();
    let hang = bad_upstream(true);
    let routes = format!(
        "  - {{id: kv, uri: /etcdserverpb.KV/*, upstream: {{scheme: grpc, nodes: {{\"{node}\": 1}}}}}}
  - {{id: down, uri: /etcdserverpb.Lease/*, upstream: {{scheme: grpc, nodes: {{\"127.0.0.1:{down}\": 1}}}}}}
  - {{id: slow, uri: /etcdserverpb.Maintenance/*, upstream: {{scheme: grpc, nodes: {{\"127.0.0.1:{hang}\": 1}}, timeout: {{connect: 2, send: 2, read: 1}}}}}}
  - {{id: auth, uri: /etcdserverpb.Auth/*, plugins: {{key-auth: {{}}}}, upstream: {{scheme: grpc, nodes: {{\"{node}\": 1}}}}}}
  - {{id: limited, uri: /etcdserverpb.Cluster/*, plugins: {{limit-count: {{count: 1, time_window: 60, rejected_code: 429}}}}, upstream: {{scheme: grpc, nodes: {{\"{node}\": 1}}}}}}
"
    );
    let gw = gateway(&routes, "");
    let rt = etcd::runtime();
    let mut via = client_via(&rt, &gw);
    rt.block_on(async {
        via.put("k", "v", None).await.expect("a routed call works");
        let e = via.lock("l", None).await.expect_err("no route for Lock");
        assert_eq!(code(e), "Unimplemented", "no route");
        let e = via.lease_grant(10, None).await.expect_err("node down");
        assert_eq!(code(e), "Unavailable", "node down");
        let e = via.status().await.expect_err("node silent");
        assert_eq!(
            code(e),
            "DeadlineExceeded",
            "node silent past the read timeout"
        );
        let e = via.user_list().await.expect_err("no API key");
        assert_eq!(code(e), "Unauthenticated", "key-auth refusal");
        via.member_list()
            .await
            .expect("the first call within the limit");
        let e = via.member_list().await.expect_err("over the limit");
        assert_eq!(code(e), "ResourceExhausted", "limit-count refusal");
    });
    // HTTP/1.1 clients that are not gRPC still get JSON.
    let (status, body) = gw.fetch("/etcdserverpb.Lock/Lock");
    assert_eq!(status, 404);
    assert!(body.contains("404 Route Not Found"), "{body}");
}

#[test]
fn grpc_timeout_bounds_the_wait_on_the_node() {
    let hang = bad_upstream(true);
    let gw = gateway(
        &format!(
            "  - {{id: slow, uri: /svc.Slow/*, upstream: {{scheme: grpc, nodes: {{\"127.0.0.1:{hang}\": 1}}}}}}\n"
        ),
        // The node's own timeouts are far longer than the call's deadline.
        "  upstream_read_timeout: 60\n",
    );
    let rt = etcd::runtime();
    let reply = rt
        .block_on(async {
            tokio::time::timeout(
                Duration::from_secs(15),
                raw_call(gw.port, "/svc.Slow/Call", &[], Some("1S")),
            )
            .await
        })
        .expect("the gateway should end the call at its 1 s deadline");
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("grpc-status").as_deref(), Some("4"));
    assert!(
        reply
            .header("grpc-message")
            .is_some_and(|m| m.contains("504")),
        "{:?}",
        reply.headers
    );
}

#[test]
fn one_multiplexed_connection_per_node_made_again_once_closed() {
    let etcd = Etcd::start();
    let rt = etcd::runtime();
    let relay = rt.block_on(Relay::start(etcd_addr(&etcd)));
    // One worker: one pool of connections to nodes.
    let gw = Gateway::file(
        BIN,
        &format!(
            "routes:\n  - {{id: kv, uri: /etcdserverpb.KV/*, upstream: {{scheme: grpc, nodes: {{\"127.0.0.1:{}\": 1}}}}}}\n#END\n",
            relay.port
        ),
    )
    .gateway_yaml("  http2:\n    enable: true\n")
    .workers(1)
    .start();
    let via = client_via(&rt, &gw);
    rt.block_on(async {
        let mut calls = JoinSet::new();
        for i in 0..20 {
            let mut c = via.clone();
            calls.spawn(async move { c.put(format!("k{i}"), "v", None).await.map(|_| ()) });
        }
        while let Some(r) = calls.join_next().await {
            r.expect("a call task").expect("a put through the gateway");
        }
        for i in 0..5 {
            let got = via.clone().get(format!("k{i}"), None).await.expect("get");
            assert_eq!(got.kvs()[0].value(), b"v");
        }
    });
    assert_eq!(
        relay.accepted(),
        1,
        "25 calls, 20 of them at once, should share one HTTP/2 connection"
    );
    // The node side closes it: the next calls go over a new one.
    relay.cut();
    let again = rt.block_on(async {
        for _ in 0..50 {
            if via.clone().get("k0", None).await.is_ok() {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        false
    });
    assert!(
        again,
        "no call succeeded after the node's connection closed"
    );
    assert_eq!(relay.accepted(), 2, "one new connection after the close");
}

#[test]
fn grpcs_nodes_are_reached_over_tls() {
    let tmp = TempDir::new("grpcs");
    let dir = tmp.root();
    let ck = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).expect("cert");
    let (cert, key) = (dir.join("etcd.pem"), dir.join("etcd-key.pem"));
    std::fs::write(&cert, ck.cert.pem()).expect("write cert");
    std::fs::write(&key, ck.signing_key.serialize_pem()).expect("write key");
    let etcd = Etcd::start_tls(cert, key);
    let node = etcd_addr(&etcd);
    let route = |scheme: &str| {
        format!("  - {{id: kv-{scheme}, uri: /etcdserverpb.KV/*, upstream: {{scheme: {scheme}, nodes: {{\"{node}\": 1}}}}}}\n")
    };
    let gw = gateway(&route("grpcs"), "");
    let rt = etcd::runtime();
    let mut via = client_via(&rt, &gw);
    rt.block_on(async {
        via.put("k", "tls", None).await.expect("put over grpcs");
        let got = via.get("k", None).await.expect("get over grpcs");
        assert_eq!(got.kvs()[0].value(), b"tls");
    });
    // The same node as plain h2c fails: the node speaks TLS only.
    let gw = gateway(&route("grpc"), "");
    let mut via = client_via(&rt, &gw);
    let e = rt
        .block_on(via.get("k", None))
        .expect_err("h2c to a TLS node");
    assert_eq!(code(e), "Unavailable");
}

#[test]
fn grpcs_verify_trusts_the_ssl_trusted_certificate() {
    let tmp = TempDir::new("grpcs-verify");
    let dir = tmp.root();
    let names = vec!["localhost".to_owned(), "127.0.0.1".to_owned()];
    let ck = rcgen::generate_simple_self_signed(names).expect("cert");
    let (cert, key) = (dir.join("etcd.pem"), dir.join("etcd-key.pem"));
    std::fs::write(&cert, ck.cert.pem()).expect("write cert");
    std::fs::write(&key, ck.signing_key.serialize_pem()).expect("write key");
    let etcd = Etcd::start_tls(cert.clone(), key);
    let route = format!(
        "  - {{id: kv, uri: /etcdserverpb.KV/*, upstream: {{scheme: grpcs, tls: {{verify: true}}, nodes: {{\"{}\": 1}}}}}}\n",
        etcd_addr(&etcd)
    );
    let rt = etcd::runtime();
    // Not among Mozilla's roots: the call fails at the gateway.
    let gw = gateway(&route, "");
    let mut via = client_via(&rt, &gw);
    let e = rt
        .block_on(via.get("k", None))
        .expect_err("a node the gateway cannot verify");
    assert_eq!(code(e), "Unavailable");
    // Trusted through gateway.ssl_trusted_certificate: verified and reached.
    let trust = format!("  ssl_trusted_certificate: \"{}\"\n", cert.display());
    let gw = gateway(&route, &trust);
    let mut via = client_via(&rt, &gw);
    rt.block_on(async {
        via.put("k", "verified", None)
            .await
            .expect("put over verified grpcs");
        let got = via.get("k", None).await.expect("get over verified grpcs");
        assert_eq!(got.kvs()[0].value(), b"verified");
    });
}

#[test]
fn client_streaming_calls_carry_trailers_both_ways() {
    let rt = etcd::runtime();
    // The node: a raw HTTP/2 server that answers each call once it has read
    // the client's whole stream, with the count of messages and whether the
    // client's trailers came, in its own trailers.
    let node_port = rt.block_on(stream_node());
    let gw = gateway(
        &format!(
            "  - {{id: up, uri: /svc.Up/*, upstream: {{scheme: grpc, nodes: {{\"127.0.0.1:{node_port}\": 1}}}}}}\n"
        ),
        "",
    );
    let trailers = rt.block_on(async {
        let tcp = tokio::net::TcpStream::connect(("127.0.0.1", gw.port))
            .await
            .expect("connect");
        let (client, conn) = h2::client::handshake(tcp).await.expect("h2 handshake");
        tokio::spawn(conn);
        let mut client = client.ready().await.expect("ready");
        let req = http::Request::post(format!("http://127.0.0.1:{}/svc.Up/Load", gw.port))
            .header("content-type", "application/grpc")
            .header("te", "trailers")
            .body(())
            .expect("request");
        let (resp, mut body) = client.send_request(req, false).expect("send");
        for i in 0..3u8 {
            // One gRPC message a DATA frame, a pause between them.
            body.send_data(Bytes::from(vec![0, 0, 0, 0, 1, i]), false)
                .expect("send a message");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let mut client_trailers = http::HeaderMap::new();
        client_trailers.insert("x-client-trailer", http::HeaderValue::from_static("yes"));
        body.send_trailers(client_trailers).expect("send trailers");
        let resp = resp.await.expect("a response");
        assert_eq!(resp.status(), 200);
        // The node's software is not passed on; the gateway names itself.
        let server = resp.headers().get_all("server").iter().collect::<Vec<_>>();
        assert_eq!(server, ["radixgate"], "{:?}", resp.headers());
        let mut body = resp.into_body();
        while let Some(chunk) = body.data().await {
            let chunk = chunk.expect("response data");
            let _ = body.flow_control().release_capacity(chunk.len());
        }
        body.trailers()
            .await
            .expect("trailers")
            .expect("the node's trailers")
    });
    let value = |k: &str| {
        trailers
            .get(k)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    assert_eq!(value("grpc-status").as_deref(), Some("0"), "{trailers:?}");
    assert_eq!(value("x-messages").as_deref(), Some("3"), "{trailers:?}");
    assert_eq!(
        value("x-client-trailer").as_deref(),
        Some("yes"),
        "the client's trailers should reach the node: {trailers:?}"
    );
}

/// A raw HTTP/2 (h2c) gRPC-shaped node on a loopback port (`Server:
/// h2-node/1.0`): for each call, reads the request body to its end, then
/// answers 200 with trailers `grpc-status: 0`, `x-messages` (the gRPC
/// messages read) and `x-client-trailer` (the client's trailer of that
/// name, or `none`).
async fn stream_node() -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind the node");
    let port = listener.local_addr().expect("the node's address").port();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            tokio::spawn(async move {
                let Ok(mut conn) = h2::server::handshake(tcp).await else {
                    return;
                };
                while let Some(Ok((req, mut respond))) = conn.accept().await {
                    tokio::spawn(async move {
                        let mut body = req.into_body();
                        let mut bytes = Vec::new();
                        while let Some(Ok(chunk)) = body.data().await {
                            let _ = body.flow_control().release_capacity(chunk.len());
                            bytes.extend_from_slice(&chunk);
                        }
                        let client = match body.trailers().await {
                            Ok(Some(t)) => t.get("x-client-trailer").cloned(),
                            _ => None,
                        };
                        let mut messages = 0;
                        let mut at = 0;
                        while at + 5 <= bytes.len() {
                            let len = u32::from_be_bytes([
                                bytes[at + 1],
                                bytes[at + 2],
                                bytes[at + 3],
                                bytes[at + 4],
                            ]) as usize;
                            at += 5 + len;
                            messages += 1;
                        }
                        let resp = http::Response::builder()
                            .header("content-type", "application/grpc")
                            .header("server", "h2-node/1.0")
                            .body(())
                            .expect("response");
                        let Ok(mut out) = respond.send_response(resp, false) else {
                            return;
                        };
                        let _ = out.send_data(Bytes::from_static(&[0, 0, 0, 0, 0]), false);
                        let mut t = http::HeaderMap::new();
                        t.insert("grpc-status", http::HeaderValue::from_static("0"));
                        t.insert("x-messages", http::HeaderValue::from(messages));
                        t.insert(
                            "x-client-trailer",
                            client.unwrap_or(http::HeaderValue::from_static("none")),
                        );
                        let _ = out.send_trailers(t);
                    });
                }
            });
        }
    });
    port
}

/// A TCP relay to a node that counts the connections it accepts and can
/// cut them all.
struct Relay {
    port: u16,
    accepted: Arc<AtomicUsize>,
    conns: Arc<Mutex<Vec<AbortHandle>>>,
}

impl Relay {
    async fn start(node: String) -> Relay {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the relay");
        let port = listener.local_addr().expect("the relay's address").port();
        let accepted = Arc::new(AtomicUsize::new(0));
        let conns = Arc::new(Mutex::new(Vec::new()));
        let (count, held) = (accepted.clone(), conns.clone());
        tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                count.fetch_add(1, Ordering::SeqCst);
                let node = node.clone();
                let task = tokio::spawn(async move {
                    if let Ok(mut up) = tokio::net::TcpStream::connect(node).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut up).await;
                    }
                });
                held.lock().expect("relay lock").push(task.abort_handle());
            }
        });
        Relay {
            port,
            accepted,
            conns,
        }
    }

    fn accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }

    /// Closes every relayed connection.
    fn cut(&self) {
        for c in self.conns.lock().expect("relay lock").drain(..) {
            c.abort();
        }
    }
}

/// What a raw gRPC call got back.
struct Reply {
    status: u16,
    headers: http::HeaderMap,
    data_len: usize,
    trailers: Option<http::HeaderMap>,
}

impl Reply {
    fn header(&self, name: &str) -> Option<String> {
        let v = self.headers.get(name)?;
        Some(v.to_str().ok()?.to_owned())
    }

    fn trailer(&self, name: &str) -> Option<String> {
        let v = self.trailers.as_ref()?.get(name)?;
        Some(v.to_str().ok()?.to_owned())
    }
}

/// One unary gRPC call to `path` over a raw h2c connection to the
/// gateway: `message` framed as gRPC does (uncompressed, length-prefixed),
/// `grpc-timeout` when given; the response head, body length and trailers.
async fn raw_call(port: u16, path: &str, message: &[u8], deadline: Option<&str>) -> Reply {
    let tcp = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .expect("connect");
    let (client, conn) = h2::client::handshake(tcp).await.expect("h2 handshake");
    tokio::spawn(conn);
    let mut client = client.ready().await.expect("ready");
    let mut req = http::Request::post(format!("http://127.0.0.1:{port}{path}"))
        .header("content-type", "application/grpc")
        .header("te", "trailers");
    if let Some(d) = deadline {
        req = req.header("grpc-timeout", d);
    }
    let (resp, mut body) = client
        .send_request(req.body(()).expect("request"), false)
        .expect("send");
    let mut frame = vec![0u8];
    frame.extend_from_slice(&(message.len() as u32).to_be_bytes());
    frame.extend_from_slice(message);
    body.send_data(Bytes::from(frame), true)
        .expect("send the message");
    let resp = resp.await.expect("a response");
    let (parts, mut body) = resp.into_parts();
    let mut data_len = 0;
    while let Some(chunk) = body.data().await {
        let chunk = chunk.expect("response data");
        data_len += chunk.len();
        let _ = body.flow_control().release_capacity(chunk.len());
    }
    let trailers = body.trailers().await.expect("trailers");
    Reply {
        status: parts.status.as_u16(),
        headers: parts.headers,
        data_len,
        trailers,
    }
}

/// A gRPC call's log reads its request headers as the client sent them:
/// an HTTP/2 node's request takes them along, so the log reads a copy,
/// made before the gateway's `X-Forwarded-*` were added for the node.
#[test]
fn a_grpc_calls_log_has_its_request_headers() {
    let etcd = Etcd::start();
    let node = etcd_addr(&etcd);
    let dir = TempDir::new("grpc-log");
    let path = dir.path("calls.log");
    let routes = format!(
        "  - {{id: kv, uri: /etcdserverpb.KV/*, plugins: {{file-logger: {{path: \"{}\"}}}}, \
         upstream: {{scheme: grpc, nodes: {{\"{node}\": 1}}}}}}\n",
        path.display()
    );
    let gw = Gateway::file(BIN, &format!("routes:\n{routes}#END\n"))
        .gateway_yaml("  http2:\n    enable: true\n")
        .plugins(&["file-logger"])
        .start();
    let rt = etcd::runtime();
    let mut via = client_via(&rt, &gw);
    rt.block_on(async { via.put("k", "v", None).await.expect("a routed call works") });
    let logged = || std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        radixgate_test_support::eventually(10, || !logged().is_empty()),
        "{}",
        gw.log()
    );
    let entry: serde_json::Value = serde_json::from_str(logged().trim()).expect("a JSON line");
    let headers = &entry["request"]["headers"];
    assert_eq!(headers["content-type"], "application/grpc", "{entry}");
    let agent = headers["user-agent"].as_str().unwrap_or("");
    assert!(agent.starts_with("tonic/"), "{entry}");
    assert!(headers.get("x-forwarded-for").is_none(), "{entry}");
}
