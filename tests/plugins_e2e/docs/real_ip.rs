//! real-ip's documented example through the gateway (`arg_realip` with
//! its port, read back by response-rewrite as `$remote_addr` and
//! `$remote_port`), `http_x_forwarded_for` with and without `recursive`,
//! an untrusted client not believed; the address found feeding later
//! plugins (ip-restriction, proxy-rewrite), `_meta.filter`s, the
//! `X-Real-IP` and `X-Forwarded-For` the node gets, and the access log;
//! and a `trusted_addresses` entry that is not an address refused at load.

use radixgate_test_support::{Gateway, Node};

use super::{get, run, Check, Row};
use crate::harness;

type Headers = &'static [(&'static str, &'static str)];

/// A GET row with these headers, answered `status`.
const fn row(
    doc: &'static str,
    path: &'static str,
    headers: Headers,
    status: u16,
    checks: &'static [Check],
) -> Row {
    Row {
        headers,
        checks,
        ..get(doc, path, status)
    }
}

const ROWS: &[Row] = &[
    row(
        "Example usage: the address and port in arg_realip",
        "/index.html?realip=1.2.3.4:9080",
        &[],
        200,
        &[
            Check::Header("remote_addr", "1.2.3.4"),
            Check::Header("remote_port", "9080"),
        ],
    ),
    row(
        "X-Forwarded-For: its last address",
        "/xff",
        &[("X-Forwarded-For", "1.1.1.1, 2.2.2.2")],
        200,
        &[
            Check::SentOnly("x-client", "2.2.2.2"),
            Check::SentOnly("x-real-ip", "2.2.2.2"),
            Check::SentOnly("x-forwarded-for", "1.1.1.1, 2.2.2.2, 2.2.2.2"),
        ],
    ),
    row(
        "recursive: the last address not trusted",
        "/recursive",
        &[("X-Forwarded-For", "1.1.1.1, 3.3.3.3, 2.2.2.2")],
        200,
        &[Check::SentOnly("x-client", "3.3.3.3")],
    ),
    row(
        "ip-restriction after real-ip allows the real address",
        "/restricted",
        &[("X-Client-IP", "10.1.2.3")],
        200,
        &[
            Check::SentOnly("x-real-ip", "10.1.2.3"),
            Check::SentOnly("x-forwarded-for", "10.1.2.3"),
        ],
    ),
    row(
        "ip-restriction after real-ip refuses the real address",
        "/restricted",
        &[("X-Client-IP", "8.8.8.8")],
        403,
        &[],
    ),
    row("no address: the connection's", "/restricted", &[], 403, &[]),
    row(
        "a client outside trusted_addresses is not believed",
        "/untrusted",
        &[("X-Client-IP", "10.1.2.3")],
        200,
        &[Check::SentOnly("x-client", "127.0.0.1")],
    ),
    row(
        "a _meta.filter on remote_addr after real-ip reads the real address",
        "/filtered",
        &[("X-Client-IP", "10.9.9.9")],
        403,
        &[],
    ),
    row(
        "a _meta.filter on remote_addr: another address",
        "/filtered",
        &[("X-Client-IP", "10.9.9.8")],
        200,
        &[],
    ),
    get(
        "a trusted_addresses entry that is not an address refuses its route",
        "/bad",
        404,
    ),
];

fn config(node: &str) -> String {
    format!(
        r#"upstreams:
  - {{id: u, nodes: {{"{node}": 1}}}}
routes:
  - id: "1"
    uri: /index.html
    upstream_id: u
    plugins:
      real-ip: {{source: arg_realip, trusted_addresses: [127.0.0.0/24]}}
      response-rewrite: {{headers: {{remote_addr: "$remote_addr", remote_port: "$remote_port"}}}}
  - id: xff
    uri: /xff
    upstream_id: u
    plugins:
      real-ip: {{source: http_x_forwarded_for, trusted_addresses: [127.0.0.0/24]}}
      proxy-rewrite: {{headers: {{set: {{X-Client: "$remote_addr"}}}}}}
  - id: recursive
    uri: /recursive
    upstream_id: u
    plugins:
      real-ip: {{source: http_x_forwarded_for, trusted_addresses: [127.0.0.0/24, 2.2.2.2], recursive: true}}
      proxy-rewrite: {{headers: {{set: {{X-Client: "$remote_addr"}}}}}}
  - id: restricted
    uri: /restricted
    upstream_id: u
    plugins:
      real-ip: {{source: http_x_client_ip}}
      ip-restriction: {{whitelist: [10.0.0.0/8]}}
  - id: untrusted
    uri: /untrusted
    upstream_id: u
    plugins:
      real-ip: {{source: http_x_client_ip, trusted_addresses: [10.0.0.0/8]}}
      proxy-rewrite: {{headers: {{set: {{X-Client: "$remote_addr"}}}}}}
  - id: filtered
    uri: /filtered
    upstream_id: u
    plugins:
      real-ip: {{source: http_x_client_ip}}
      fault-injection: {{abort: {{http_status: 403}}, _meta: {{filter: [[remote_addr, "==", 10.9.9.9]]}}}}
  - {{id: bad, uri: /bad, upstream_id: u, plugins: {{real-ip: {{source: http_x_forwarded_for, trusted_addresses: [nope]}}}}}}
#END
"#
    )
}

#[test]
fn real_ip_doc_examples() {
    let up = Node::start("u");
    // The gateway keeps X-Forwarded-For only from its own trusted addresses.
    let gw = Gateway::file(harness::BIN, &config(&up.addr()))
        .plugins(&[
            "real-ip",
            "response-rewrite",
            "proxy-rewrite",
            "ip-restriction",
            "fault-injection",
        ])
        .gateway_yaml("  trusted_addresses: [127.0.0.1]\n")
        .start();
    run(&gw, ROWS);
    // The access line (APISIX's format, on stdout) starts with $remote_addr;
    // its writer thread writes it a little after the response.
    let named = || {
        gw.log().lines().any(|l| {
            l.starts_with("10.1.2.3 - - [") && l.contains("\"GET /restricted HTTP/1.1\" 200 ")
        })
    };
    assert!(
        radixgate_test_support::eventually(10, named),
        "the access log does not name the real client:\n{}",
        gw.log()
    );
    let log = gw.log();
    assert!(
        log.contains("trusted_addresses[0]: invalid ip address: nope"),
        "the bad trusted_addresses entry is not named in the log:\n{log}"
    );
}
