//! End to end: HTTP/2 on the TLS port, chosen by ALPN. curl offering h2
//! gets HTTP/2 and its request reaches an HTTP/1.1 node; a client offering
//! only http/1.1 gets HTTP/1.1; a gRPC client (etcd-client, tonic) calls a
//! `scheme: grpc` node through the TLS port. The `redirect` plugin's
//! `http_to_https` lets a request that came over TLS through and answers
//! 301 on the plain port.

use std::path::PathBuf;

use radixgate_test_support::etcd::{self, Etcd};
use radixgate_test_support::tls::{curl, ssl_yaml, write, Ca};
use radixgate_test_support::{free_port, Gateway, Node, TempDir};

const BIN: &str = env!("CARGO_BIN_EXE_radixgate");

/// A gateway with a TLS port serving `api.test` (a certificate from its
/// own test CA), `routes` as its standalone file's routes and `plugins`
/// loaded.
struct Tls {
    gw: Gateway,
    port: u16,
    ca: PathBuf,
    _dir: TempDir,
}

fn start(routes: &str, plugins: &[&str]) -> Tls {
    let ca = Ca::new("test CA");
    let leaf = ca.server(&["api.test"], "api");
    let apisix = format!(
        "routes:\n{routes}ssls:\n{}#END\n",
        ssl_yaml("1", &["api.test"], &leaf, "")
    );
    let port = free_port();
    let gw = Gateway::file(BIN, &apisix)
        .gateway_yaml(&format!("  tls:\n    listen: [\"127.0.0.1:{port}\"]\n"))
        .plugins(plugins)
        .start();
    let dir = TempDir::new("tls-http2");
    let ca = write(dir.path("").as_path(), "ca.pem", &ca.pem);
    Tls {
        gw,
        port,
        ca,
        _dir: dir,
    }
}

/// Route `id` for `uri` to `node`, with `extra` YAML lines after it.
fn route(id: &str, uri: &str, node: &Node, extra: &str) -> String {
    format!(
        "  - id: \"{id}\"\n    uri: {uri}\n    upstream: {{nodes: {{\"{}\": 1}}, type: roundrobin}}\n{extra}",
        node.addr()
    )
}

/// What curl saw of one request.
struct Seen {
    /// curl's exit code (0: a response came).
    code: i32,
    status: String,
    /// `%{http_version}`: `2`, `1.1`.
    version: String,
    /// The body, then curl's stderr.
    body: String,
}

/// `https://api.test:<port><path>` through curl, trusting the test CA,
/// with `extra` arguments (`--http2`, `--http1.1`).
fn https(t: &Tls, path: &str, extra: &[&str]) -> Seen {
    let resolve = format!("api.test:{}:127.0.0.1", t.port);
    let url = format!("https://api.test:{}{path}", t.port);
    let cacert = t.ca.to_str().expect("utf-8 path");
    let mut args = vec![
        "--resolve",
        &resolve,
        "--cacert",
        cacert,
        "-w",
        "\n%{http_code} %{http_version}",
    ];
    args.extend_from_slice(extra);
    args.push(&url);
    let out = curl(&args);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (body, last) = text.rsplit_once('\n').unwrap_or(("", &text));
    let (status, version) = last.split_once(' ').unwrap_or((last, ""));
    Seen {
        code: out.status.code().unwrap_or(-1),
        status: status.to_owned(),
        version: version.to_owned(),
        body: format!("{body}{}", String::from_utf8_lossy(&out.stderr)),
    }
}

#[test]
fn h2_by_alpn_is_served_and_proxied_to_an_http1_node() {
    let node = Node::start("n");
    let t = start(&route("1", "/*", &node, ""), &[]);
    let seen = https(&t, "/get?a=1", &["--http2"]);
    assert_eq!(
        (seen.code, seen.status.as_str(), seen.version.as_str()),
        (0, "200", "2"),
        "{}",
        seen.body
    );
    assert!(seen.body.contains("upstream=n"), "{}", seen.body);
    assert!(seen.body.contains("path=/get?a=1"), "{}", seen.body);
    assert!(seen.body.contains("host: api.test"), "{}", seen.body);
    assert!(
        seen.body.contains("x-forwarded-proto: https"),
        "{}",
        seen.body
    );
    drop(t.gw);
}

#[test]
fn a_client_offering_only_http1_gets_http1() {
    let node = Node::start("n");
    let t = start(&route("1", "/*", &node, ""), &[]);
    let seen = https(&t, "/get", &["--http1.1"]);
    assert_eq!(
        (seen.code, seen.status.as_str(), seen.version.as_str()),
        (0, "200", "1.1"),
        "{}",
        seen.body
    );
    assert!(seen.body.contains("upstream=n"), "{}", seen.body);
}

#[test]
fn a_grpc_client_calls_through_the_tls_port() {
    let etcd = Etcd::start();
    let e = etcd.endpoint();
    let node = e.rsplit_once("://").map_or(e.as_str(), |(_, a)| a);
    let t = start(
        &format!(
            "  - id: kv\n    uri: /etcdserverpb.KV/*\n    upstream: {{scheme: grpc, nodes: {{\"{node}\": 1}}}}\n"
        ),
        &[],
    );
    let ca = std::fs::read_to_string(&t.ca).expect("read the CA");
    let tls = etcd_client::TlsOptions::new()
        .ca_certificate(etcd_client::Certificate::from_pem(ca))
        .domain_name("api.test");
    let options = etcd_client::ConnectOptions::new().with_tls(tls);
    let endpoint = format!("https://127.0.0.1:{}", t.port);
    let rt = etcd::runtime();
    rt.block_on(async {
        let mut via = etcd_client::Client::connect([endpoint], Some(options))
            .await
            .expect("an etcd client over TLS through the gateway");
        via.put("k", "over tls", None)
            .await
            .expect("put through the TLS port");
        let got = via.get("k", None).await.expect("get through the TLS port");
        assert_eq!(got.kvs()[0].value(), b"over tls");
    });
}

#[test]
fn http_to_https_lets_tls_requests_through_and_redirects_plain_ones() {
    let node = Node::start("n");
    let t = start(
        &route(
            "1",
            "/*",
            &node,
            "    plugins: {redirect: {http_to_https: true}}\n",
        ),
        &["redirect"],
    );
    for version in ["--http2", "--http1.1"] {
        let seen = https(&t, "/hello?a=1", &[version]);
        assert_eq!(
            (seen.code, seen.status.as_str()),
            (0, "200"),
            "{}",
            seen.body
        );
        assert!(seen.body.contains("upstream=n"), "{}", seen.body);
    }
    let plain = t.gw.get("/hello?a=1", &[("Host", "api.test")]);
    assert_eq!(plain.status, 301, "{}", plain.body);
    // The Location names the TLS listener's port (not 443 here).
    assert_eq!(
        plain.header("location"),
        Some(format!("https://api.test:{}/hello?a=1", t.port).as_str()),
        "{}",
        plain.body
    );
}
