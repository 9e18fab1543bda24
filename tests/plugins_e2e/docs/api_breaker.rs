//! api-breaker's documented example through the gateway (502 after three
//! 500/503 answers, closed again by one 200), with the state every worker
//! shares, APISIX's doubling break times, `break_response_body` and
//! `break_response_headers`; and a config outside APISIX's schema refused
//! at load naming the field.

use std::thread;
use std::time::Duration;

use radixgate_test_support::{eventually, Node};

use super::{body, get, run, Check, Row};
use crate::harness;

/// A pause that lets a request's log phase run before the next request
/// (sequencing, not a timing check).
const LOG_PHASE: Duration = Duration::from_millis(250);

fn config(node: &str) -> String {
    format!(
        r#"upstreams:
  - {{id: u, nodes: {{"{node}": 1}}}}
routes:
  - id: "1"
    uri: /hello
    upstream_id: u
    plugins:
      api-breaker:
        break_response_code: 502
        unhealthy: {{http_statuses: [500, 503], failures: 3}}
        healthy: {{http_statuses: [200], successes: 1}}
  - id: body
    uri: /body
    upstream_id: u
    plugins:
      api-breaker:
        break_response_code: 599
        break_response_body: "{{\"message\":\"breaker open\"}}"
        break_response_headers: [{{key: Content-Type, value: application/json}}, {{key: X-Client, value: "$remote_addr"}}]
  - {{id: bad, uri: /bad, upstream_id: u, plugins: {{api-breaker: {{break_response_code: 502, unhealthy: {{failures: 0}}}}}}}}
#END
"#
    )
}

#[test]
fn api_breaker_doc_example_with_doubling_breaks() {
    let up = Node::start("u");
    let gw = harness::start_with(&config(&up.addr()), &["api-breaker"]);
    // The log phase counts a request after its answer is handed over: a
    // request the node answers leaves it time to run before the next.
    let counted = || {
        let status = gw.get("/hello", &[]).status;
        thread::sleep(LOG_PHASE);
        status
    };
    // The breaker's own answers count for nothing: no pause.
    let probe = || gw.get("/hello", &[]).status;
    up.set_status_of("/hello", 500);
    // Three failures pass through, then the breaker answers for the node;
    // each request is a new connection, spread over both workers.
    assert_eq!([counted(), counted(), counted()], [500; 3]);
    let broken: Vec<u16> = (0..10).map(|_| probe()).collect();
    assert_eq!(broken, [502; 10], "{}", gw.log());
    assert_eq!(
        up.hits(),
        3,
        "a request reached the node while the breaker was open"
    );
    // Open 2 s the first time: then a request reaches the node again.
    // That is failure 4: the break becomes 2^ceil(4 / 3) = 4 s from the
    // last opening (APISIX's arithmetic), so it is open again at once.
    assert!(
        eventually(10, || counted() == 500),
        "the breaker never closed"
    );
    assert_eq!(up.hits(), 4);
    assert_eq!(
        probe(),
        502,
        "the break did not double after the next failure"
    );
    // One success (successes: 1) closes it and clears the count: two
    // failures after it do not open it.
    up.set_status_of("/hello", 200);
    assert!(
        eventually(10, || counted() == 200),
        "the breaker never closed"
    );
    up.set_status_of("/hello", 500);
    assert_eq!([counted(), counted(), counted()], [500; 3]);
}

#[test]
fn api_breaker_response_body_and_headers() {
    let up = Node::start("u");
    let gw = harness::start_with(&config(&up.addr()), &["api-breaker"]);
    up.set_status_of("/body", 500);
    for _ in 0..3 {
        assert_eq!(gw.get("/body", &[]).status, 500);
        thread::sleep(LOG_PHASE);
    }
    run(
        &gw,
        &[
            Row {
                checks: &[
                    Check::Body(r#"{"message":"breaker open"}"#),
                    Check::Header("content-type", "application/json"),
                    Check::Header("x-client", "127.0.0.1"),
                ],
                ..get(
                    "break_response_body and break_response_headers",
                    "/body",
                    599,
                )
            },
            get("unhealthy.failures 0 refuses its route", "/bad", 404),
        ],
    );
    let r = gw.get("/body", &[]);
    assert_eq!((r.status, body(&r).contains("breaker open")), (599, true));
    let log = gw.log();
    assert!(
        log.contains("api-breaker err: unhealthy.failures: 0 is less than the minimum of 1"),
        "the bad config is not named in the log:\n{log}"
    );
}
