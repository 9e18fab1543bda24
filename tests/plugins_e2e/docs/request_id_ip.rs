//! request-id's documented examples (the id in the response and to the
//! node, a custom `header_name`, `include_in_response: false`, the
//! `nanoid` and `range_id` algorithms, a client's own id kept) and
//! ip-restriction's (`whitelist` / `blacklist` of addresses and CIDRs,
//! `message`, `response_code`).

use radixgate_test_support::Node;

use super::{get, run, send, sent, Check, Row};
use crate::harness;

fn uuid_v4(v: &str) -> bool {
    let parts: Vec<&str> = v.split('-').collect();
    let lens: Vec<usize> = parts.iter().map(|p| p.len()).collect();
    lens == [8, 4, 4, 4, 12]
        && v.bytes()
            .all(|b| b == b'-' || b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        && parts[2].starts_with('4')
}

fn nanoid(v: &str) -> bool {
    v.len() == 21
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

fn range_id(v: &str) -> bool {
    v.len() == 8 && v.bytes().all(|b| b"abc123".contains(&b))
}

const NOT_ALLOWED: &str = r#"{"message":"Your IP address is not allowed"}"#;

const ROWS: &[Row] = &[
    Row {
        checks: &[Check::HeaderIs("X-Request-Id", "a UUID v4", uuid_v4)],
        ..get("Attach Request ID to Default Response Header", "/rid", 200)
    },
    Row {
        checks: &[
            Check::HeaderIs("X-Req-Identifier", "a UUID v4", uuid_v4),
            Check::NoHeader("X-Request-Id"),
        ],
        ..get("Attach Request ID to Custom Header", "/custom", 200)
    },
    Row {
        checks: &[Check::NoHeader("X-Request-Id")],
        ..get("Hide Request ID in Response Header", "/hidden", 200)
    },
    Row {
        checks: &[Check::HeaderIs(
            "X-Request-Id",
            "a nanoid (21 URL-safe chars)",
            nanoid,
        )],
        ..get("Use nanoid Algorithm", "/nanoid", 200)
    },
    Row {
        checks: &[Check::HeaderIs(
            "X-Request-Id",
            "8 chars of abc123",
            range_id,
        )],
        ..get("Use range_id Algorithm", "/range", 200)
    },
    Row {
        headers: &[("X-Request-Id", "my-own-id")],
        checks: &[
            Check::Header("X-Request-Id", "my-own-id"),
            Check::SentOnly("x-request-id", "my-own-id"),
        ],
        ..get("a request with an id keeps it", "/rid", 200)
    },
    Row {
        checks: &[Check::BodyHas(NOT_ALLOWED)],
        ..get("Restrict Access by Whitelisting", "/wl-out", 403)
    },
    get("whitelist: 127.0.0.0/8 holds the client", "/wl-in", 200),
    Row {
        checks: &[Check::BodyHas(r#"{"message":"Access denied"}"#)],
        ..get(
            "Restrict Access by Blacklisting, with a message",
            "/bl-in",
            403,
        )
    },
    get("blacklist: the client is not listed", "/bl-out", 200),
    Row {
        checks: &[Check::BodyHas(NOT_ALLOWED)],
        ..get("response_code: 404", "/code", 404)
    },
];

fn config(node: &str) -> String {
    format!(
        r#"upstreams:
  - {{id: u, nodes: {{"{node}": 1}}}}
routes:
  - {{id: rid, uri: /rid, upstream_id: u, plugins: {{request-id: {{}}}}}}
  - {{id: custom, uri: /custom, upstream_id: u, plugins: {{request-id: {{header_name: X-Req-Identifier}}}}}}
  - {{id: hidden, uri: /hidden, upstream_id: u, plugins: {{request-id: {{include_in_response: false}}}}}}
  - {{id: nanoid, uri: /nanoid, upstream_id: u, plugins: {{request-id: {{algorithm: nanoid}}}}}}
  - id: range
    uri: /range
    upstream_id: u
    plugins:
      request-id: {{algorithm: range_id, range_id: {{char_set: "abc123", length: 8}}}}
  - {{id: wl-out, uri: /wl-out, upstream_id: u, plugins: {{ip-restriction: {{whitelist: ["192.168.0.1/24", "fe80::/64"]}}}}}}
  - {{id: wl-in, uri: /wl-in, upstream_id: u, plugins: {{ip-restriction: {{whitelist: ["10.0.0.1", "127.0.0.0/8"]}}}}}}
  - id: bl-in
    uri: /bl-in
    upstream_id: u
    plugins:
      ip-restriction: {{blacklist: ["127.0.0.1"], message: "Access denied"}}
  - {{id: bl-out, uri: /bl-out, upstream_id: u, plugins: {{ip-restriction: {{blacklist: ["10.0.0.0/8", "::1"]}}}}}}
  - {{id: code, uri: /code, upstream_id: u, plugins: {{ip-restriction: {{whitelist: ["10.0.0.0/8"], response_code: 404}}}}}}
#END
"#
    )
}

#[test]
fn request_id_and_ip_restriction_doc_examples() {
    let up = Node::start("u");
    let gw = harness::start_with(&config(&up.addr()), &["request-id", "ip-restriction"]);
    run(&gw, ROWS);
    // The node gets the id the client gets, a new one per request; with
    // include_in_response false it still gets one.
    let ids: Vec<(String, Vec<String>)> = (0..2)
        .map(|_| {
            let r = send(&gw, &get("the same id both ways", "/rid", 200));
            let id = r.header("x-request-id").expect("an id").to_owned();
            (id, sent(&r, "x-request-id"))
        })
        .collect();
    for (id, at_node) in &ids {
        assert_eq!(at_node, std::slice::from_ref(id), "the node got another id");
    }
    assert_ne!(ids[0].0, ids[1].0, "two requests, one id");
    let r = send(&gw, &get("hidden", "/hidden", 200));
    let at_node = sent(&r, "x-request-id");
    assert!(at_node.len() == 1 && uuid_v4(&at_node[0]), "{at_node:?}");
    // Refused requests never reach the node: 6 request-id rows, 2 let
    // through by ip-restriction, 3 more here.
    assert_eq!(up.hits(), 6 + 2 + 3, "a refused request reached the node");
}
