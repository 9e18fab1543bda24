//! limit-count's documented examples: a quota per remote address, per
//! `$remote_addr $consumer_name`, per header variable and per constant key;
//! routes sharing a quota through a service and through `group`;
//! `rejected_code`, `rejected_msg`, `show_limit_quota_header`; quotas on
//! consumers (a regular one and key-auth's anonymous consumer); and the
//! window resetting.

use radixgate_test_support::eventually;
use radixgate_test_support::Node;

use super::{get, run, send, Check, Row};
use crate::harness;

const QUOTA_1_LEFT_0: &[Check] = &[
    Check::Header("X-RateLimit-Limit", "1"),
    Check::Header("X-RateLimit-Remaining", "0"),
    Check::HeaderIs("X-RateLimit-Reset", "1..=30 s", reset_within_30),
];

fn reset_within_30(v: &str) -> bool {
    v.parse::<u64>().is_ok_and(|s| (1..=30).contains(&s))
}

type Headers = &'static [(&'static str, &'static str)];

const JANE: Headers = &[("apikey", "jane-key")];
const JACK: Headers = &[("apikey", "jack-key")];
const JOHN: Headers = &[("apikey", "john-key")];
const ALICE: Headers = &[("X-User", "alice")];
const BOB: Headers = &[("X-User", "bob")];

/// A GET row with these request headers.
const fn with(doc: &'static str, path: &'static str, headers: Headers, status: u16) -> Row {
    Row {
        headers,
        ..get(doc, path, status)
    }
}

const REMOTE: &str = "Apply Rate Limiting by Remote Address";
const COMBINED: &str = "Rate Limiting by Remote Address and Consumer Name";
const SHARED: &str = "Share Quota among Routes (a service)";
const GROUP: &str = "group: routes of the same group share the counter";
const APART: &str = "no group: identical configs on two routes count apart";
const ANONYMOUS: &str = "Rate Limit with Anonymous Consumer";
const MSG: &str = "rejected_msg, show_limit_quota_header: false";

const ROWS: &[Row] = &[
    Row {
        checks: QUOTA_1_LEFT_0,
        ..get(REMOTE, "/get", 200)
    },
    Row {
        checks: QUOTA_1_LEFT_0,
        ..get(REMOTE, "/get", 429)
    },
    with(COMBINED, "/combined", JANE, 200),
    with(COMBINED, "/combined", JANE, 429),
    with(COMBINED, "/combined", JACK, 200),
    with(COMBINED, "/combined", JACK, 429),
    with(COMBINED, "/combined", &[], 401),
    Row {
        checks: &[Check::Sent("path", "/get")],
        ..get(SHARED, "/get1", 200)
    },
    get(SHARED, "/get2", 429),
    get(GROUP, "/group-a", 200),
    get(GROUP, "/group-b", 429),
    get(GROUP, "/group-a", 429),
    get(APART, "/apart-a", 200),
    get(APART, "/apart-b", 200),
    get(APART, "/apart-a", 503),
    with("key: http_x_user", "/by-user", ALICE, 200),
    with("key: http_x_user", "/by-user", ALICE, 503),
    with("key: http_x_user", "/by-user", BOB, 200),
    // Every request comes from 127.0.0.1: these two show that the constant
    // key counts, not that it differs from remote_addr.
    get("key_type: constant", "/constant?x=1", 200),
    get("key_type: constant", "/constant?x=2", 503),
    with(ANONYMOUS, "/anything", JOHN, 200),
    with(ANONYMOUS, "/anything", JOHN, 200),
    Row {
        checks: &[
            Check::Header("X-RateLimit-Limit", "3"),
            Check::Header("X-RateLimit-Remaining", "0"),
        ],
        ..with(ANONYMOUS, "/anything", JOHN, 200)
    },
    with(ANONYMOUS, "/anything", JOHN, 429),
    with(ANONYMOUS, "/anything", JOHN, 429),
    Row {
        checks: &[Check::Header("X-RateLimit-Limit", "1")],
        ..get(ANONYMOUS, "/anything", 200)
    },
    get(ANONYMOUS, "/anything", 429),
    get(ANONYMOUS, "/anything", 429),
    Row {
        checks: &[
            Check::NoHeader("X-RateLimit-Limit"),
            Check::NoHeader("X-RateLimit-Remaining"),
            Check::NoHeader("X-RateLimit-Reset"),
        ],
        ..get(MSG, "/msg", 200)
    },
    Row {
        checks: &[
            Check::BodyHas(r#"{"error_msg":"Requests are too frequent, please try again later."}"#),
            Check::NoHeader("X-RateLimit-Remaining"),
        ],
        ..get(MSG, "/msg", 503)
    },
];

fn config(node: &str) -> String {
    let lc = |extra: &str| format!("limit-count: {{count: 1, time_window: 30{extra}}}");
    let reject = ", rejected_code: 429";
    format!(
        r#"upstreams:
  - {{id: u, nodes: {{"{node}": 1}}}}
services:
  - {{id: limit-count-service, upstream_id: u, plugins: {{{shared}}}}}
consumers:
  - {{username: jane}}
  - {{id: jane/credentials/cred-jane-key-auth, plugins: {{key-auth: {{key: jane-key}}}}}}
  - {{username: jack}}
  - {{id: jack/credentials/cred-jack-key-auth, plugins: {{key-auth: {{key: jack-key}}}}}}
  - {{username: john, plugins: {{limit-count: {{count: 3, time_window: 30, rejected_code: 429}}}}}}
  - {{id: john/credentials/cred-john-key-auth, plugins: {{key-auth: {{key: john-key}}}}}}
  - {{username: anonymous, plugins: {{{anonymous}}}}}
routes:
  - {{id: limit-count-route, uri: /get, upstream_id: u, plugins: {{{remote}}}}}
  - id: combined
    uri: /combined
    upstream_id: u
    plugins:
      key-auth: {{}}
      {combined}
  - {{id: limit-count-route-1, uri: /get1, service_id: limit-count-service, plugins: {{proxy-rewrite: {{uri: /get}}}}}}
  - {{id: limit-count-route-2, uri: /get2, service_id: limit-count-service, plugins: {{proxy-rewrite: {{uri: /get}}}}}}
  - {{id: group-a, uri: /group-a, upstream_id: u, plugins: {{{group}}}}}
  - {{id: group-b, uri: /group-b, upstream_id: u, plugins: {{{group}}}}}
  - {{id: apart-a, uri: /apart-a, upstream_id: u, plugins: {{{apart}}}}}
  - {{id: apart-b, uri: /apart-b, upstream_id: u, plugins: {{{apart}}}}}
  - {{id: by-user, uri: /by-user, upstream_id: u, plugins: {{{by_user}}}}}
  - {{id: constant, uri: /constant, upstream_id: u, plugins: {{{constant}}}}}
  - {{id: key-auth-route, uri: /anything, upstream_id: u, plugins: {{key-auth: {{anonymous_consumer: anonymous}}}}}}
  - {{id: msg, uri: /msg, upstream_id: u, plugins: {{{msg}}}}}
  - {{id: reset, uri: /reset, upstream_id: u, plugins: {{limit-count: {{count: 1, time_window: 2}}}}}}
#END
"#,
        shared = lc(&format!("{reject}, group: srv1")),
        anonymous = lc(reject),
        remote = lc(&format!("{reject}, key_type: var, key: remote_addr")),
        combined = lc(&format!(
            r#"{reject}, key_type: var_combination, key: "$remote_addr $consumer_name""#
        )),
        group = lc(&format!("{reject}, group: shared-group")),
        apart = lc(""),
        by_user = lc(", key: http_x_user"),
        constant = lc(", key_type: constant, key: everyone"),
        msg = lc(
            r#", rejected_msg: "Requests are too frequent, please try again later.", show_limit_quota_header: false"#
        ),
    )
}

#[test]
fn limit_count_doc_examples() {
    let up = Node::start("u");
    let plugins = ["limit-count", "key-auth", "proxy-rewrite"];
    let gw = harness::start_with(&config(&up.addr()), &plugins);
    run(&gw, ROWS);

    // The window resets: within it the second request is refused; once
    // X-RateLimit-Reset seconds have passed the quota is whole again.
    let reset = get("time_window: the window resets", "/reset", 200);
    let first = send(&gw, &reset);
    assert_eq!(first.status, 200, "{first:?}");
    let secs: u64 = first
        .header("x-ratelimit-reset")
        .and_then(|v| v.parse().ok())
        .expect("X-RateLimit-Reset on the first request");
    assert!((1..=2).contains(&secs), "reset in {secs} s of a 2 s window");
    let second = send(&gw, &reset);
    assert_eq!(second.status, 503, "{second:?}");
    assert!(
        eventually(5, || send(&gw, &reset).status == 200),
        "the quota never came back:\n{}",
        gw.log()
    );
}
