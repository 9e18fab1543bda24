//! redirect's documented examples through the gateway: `uri` with and
//! without variables and `ret_code`, `http_to_https` (301, and 308 for a
//! POST), `regex_uri` (a match redirects, anything else goes upstream),
//! `encode_uri` and `append_query_string`; and a `regex_uri` that does
//! not compile refused at load, naming the field. Behind a trusted proxy
//! that says the request came over HTTPS, `http_to_https` lets it through.

use radixgate_test_support::{free_port, request, Gateway, Node};

use super::{get, run, Check, Row};
use crate::harness;

/// A GET row answered `status` with this `Location`.
const fn moved(
    doc: &'static str,
    path: &'static str,
    status: u16,
    checks: &'static [Check],
) -> Row {
    Row {
        checks,
        ..get(doc, path, status)
    }
}

const ENABLE: &str = "Enable Plugin";
const HTTPS: &str = "redirect HTTP to HTTPS";
const REGEX: &str = "regex_uri";

const ROWS: &[Row] = &[
    moved(
        ENABLE,
        "/test/index.html",
        301,
        &[Check::Header("location", "/test/default.html")],
    ),
    moved(
        "Nginx variables in the new URI",
        "/test",
        301,
        &[Check::Header("location", "/test/index.html")],
    ),
    moved(
        HTTPS,
        "/hello?a=1",
        301,
        &[Check::Header("location", "https://localhost/hello?a=1")],
    ),
    Row {
        method: "POST",
        checks: &[Check::Header("location", "https://localhost/hello")],
        ..get(HTTPS, "/hello", 308)
    },
    Row {
        headers: &[("X-Forwarded-Proto", "https")],
        checks: &[Check::Header("location", "https://localhost/hello")],
        ..get(
            "http_to_https: X-Forwarded-Proto from an untrusted client is ignored",
            "/hello",
            301,
        )
    },
    moved(
        REGEX,
        "/iresty/a/b/c",
        302,
        &[Check::Header("location", "/a-b-c")],
    ),
    Row {
        checks: &[
            Check::Sent("path", "/iresty/nomatch"),
            Check::NoHeader("location"),
        ],
        ..get("regex_uri: no match goes upstream", "/iresty/nomatch", 200)
    },
    moved(
        "encode_uri",
        "/encode",
        302,
        &[Check::Header("location", "/a%20b/%C3%BC")],
    ),
    moved(
        "append_query_string",
        "/append?x=1&y=2",
        302,
        &[Check::Header("location", "/new?q=0&x=1&y=2")],
    ),
    get(
        "a regex_uri that does not compile refuses its route",
        "/bad",
        404,
    ),
];

fn config(node: &str) -> String {
    format!(
        r#"upstreams:
  - {{id: u, nodes: {{"{node}": 1}}}}
routes:
  - {{id: "1", uri: /test/index.html, upstream_id: u, plugins: {{redirect: {{uri: /test/default.html, ret_code: 301}}}}}}
  - {{id: vars, uri: /test, upstream_id: u, plugins: {{redirect: {{uri: "$uri/index.html", ret_code: 301}}}}}}
  - {{id: https, uri: /hello, upstream_id: u, plugins: {{redirect: {{http_to_https: true}}}}}}
  - {{id: regex, uri: /iresty/*, upstream_id: u, plugins: {{redirect: {{regex_uri: ["^/iresty/(.*)/(.*)/(.*)", "/$1-$2-$3"]}}}}}}
  - {{id: encode, uri: /encode, upstream_id: u, plugins: {{redirect: {{uri: "/a b/ü", encode_uri: true}}}}}}
  - {{id: append, uri: /append, upstream_id: u, plugins: {{redirect: {{uri: "/new?q=0", append_query_string: true}}}}}}
  - {{id: bad, uri: /bad, upstream_id: u, plugins: {{redirect: {{regex_uri: ["^/(.*", "/$1"]}}}}}}
#END
"#
    )
}

#[test]
fn redirect_doc_examples() {
    let up = Node::start("u");
    let gw = harness::start_with(&config(&up.addr()), &["redirect"]);
    run(&gw, ROWS);
    let log = gw.log();
    assert!(
        log.contains("regex_uri: invalid regex_uri (^/(.*, /$1)"),
        "the bad regex_uri is not named in the log:\n{log}"
    );
}

/// The proxy in front (a trusted address) terminated TLS and says so in
/// `X-Forwarded-Proto`: no redirect; `http` there still redirects.
#[test]
fn http_to_https_believes_a_trusted_proxy() {
    let up = Node::start("u");
    let gw = Gateway::file(harness::BIN, &config(&up.addr()))
        .plugins(&["redirect"])
        .gateway_yaml("  trusted_addresses: [127.0.0.1]\n")
        .start();
    run(
        &gw,
        &[
            Row {
                headers: &[("X-Forwarded-Proto", "https")],
                checks: &[Check::Sent("path", "/hello"), Check::NoHeader("location")],
                ..get(
                    "http_to_https: a request that came over HTTPS goes on",
                    "/hello",
                    200,
                )
            },
            Row {
                headers: &[("X-Forwarded-Proto", "http")],
                checks: &[Check::Header("location", "https://localhost/hello")],
                ..get(HTTPS, "/hello", 301)
            },
        ],
    );
}

/// With the TLS listener on a port other than 443, `http_to_https`'s
/// `Location` names that port (as APISIX takes the first
/// `apisix.ssl.listen` port).
#[test]
fn http_to_https_names_the_tls_listener_s_port() {
    let up = Node::start("u");
    let port = free_port();
    let gw = Gateway::file(harness::BIN, &config(&up.addr()))
        .plugins(&["redirect"])
        .gateway_yaml(&format!("  tls:\n    listen: [\"127.0.0.1:{port}\"]\n"))
        .start();
    let resp = request(gw.port, "GET", "/hello?a=1", &[("Host", "localhost:9080")])
        .expect("the gateway answers");
    assert_eq!(resp.status, 301, "{resp:?}");
    assert_eq!(
        resp.header("location"),
        Some(format!("https://localhost:{port}/hello?a=1").as_str()),
        "{resp:?}"
    );
}

/// `plugins.redirect.https_port` (APISIX's `plugin_attr.redirect`) wins
/// over the TLS listener's port: 443 (a proxy in front maps it to the
/// listener) names no port; another names that one.
#[test]
fn plugins_redirect_https_port_overrides_the_listener_s() {
    let up = Node::start("u");
    for (attr, want) in [
        ("443", "https://localhost/hello"),
        ("8443", "https://localhost:8443/hello"),
    ] {
        let gw = Gateway::file(harness::BIN, &config(&up.addr()))
            .plugins(&["redirect"])
            .plugins_yaml(&format!("  redirect:\n    https_port: {attr}\n"))
            .gateway_yaml(&format!(
                "  tls:\n    listen: [\"127.0.0.1:{}\"]\n",
                free_port()
            ))
            .start();
        let resp = request(gw.port, "GET", "/hello", &[]).expect("the gateway answers");
        assert_eq!(resp.status, 301, "{resp:?}");
        assert_eq!(
            resp.header("location"),
            Some(want),
            "https_port {attr}: {resp:?}"
        );
    }
}
