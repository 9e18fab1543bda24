//! fault-injection's documented examples through the gateway: `abort`
//! with a body, `abort` and `delay` chosen by `vars`, `percentage`, a
//! body and headers with variables; a `vars` expression that does not
//! compile refused at load naming the field; and a `delay` that holds no
//! worker: a one-worker gateway serves another request while one waits.

use std::thread;
use std::time::Duration;

use radixgate_test_support::{Gateway, Node, Request};

use super::{body, get, run, Check, Row};
use crate::harness;

const ENABLE: &str = "Enable Plugin";
const CRITERIA: &str = "Fault injection with criteria matching";

const ROWS: &[Row] = &[
    Row {
        checks: &[Check::Body("Fault Injection!")],
        ..get(ENABLE, "/hello", 200)
    },
    Row {
        checks: &[Check::Sent("path", "/criteria?name=allen")],
        ..get(CRITERIA, "/criteria?name=allen", 200)
    },
    Row {
        checks: &[
            Check::Body("Fault Injection!\n"),
            Check::NotSent("path"),
            Check::Header("content-type", "text/plain; charset=utf-8"),
        ],
        ..get(CRITERIA, "/criteria?name=jack", 403)
    },
    Row {
        headers: &[("X-Who", "tester")],
        checks: &[
            Check::Body("client addr: 127.0.0.1, who: tester\n"),
            Check::Header("x-fault", "/vars"),
        ],
        ..get("abort.body and abort.headers with variables", "/vars", 503)
    },
    Row {
        checks: &[Check::Sent("path", "/never")],
        ..get("percentage 0 aborts nothing", "/never", 200)
    },
    get(
        "a vars expression that does not compile refuses its route",
        "/bad",
        404,
    ),
];

fn config(node: &str) -> String {
    format!(
        r#"upstreams:
  - {{id: u, nodes: {{"{node}": 1}}}}
routes:
  - {{id: "1", uri: /hello, upstream_id: u, plugins: {{fault-injection: {{abort: {{http_status: 200, body: "Fault Injection!"}}}}}}}}
  - id: criteria
    uri: /criteria
    upstream_id: u
    plugins:
      fault-injection:
        abort: {{http_status: 403, body: "Fault Injection!\n", vars: [[[arg_name, "==", jack]]]}}
  - id: vars
    uri: /vars
    upstream_id: u
    plugins:
      fault-injection:
        abort: {{http_status: 503, body: "client addr: $remote_addr, who: $http_x_who\n", headers: {{X-Fault: "$uri"}}}}
  - {{id: never, uri: /never, upstream_id: u, plugins: {{fault-injection: {{abort: {{http_status: 500, percentage: 0}}}}}}}}
  - {{id: half, uri: /half, upstream_id: u, plugins: {{fault-injection: {{abort: {{http_status: 500, percentage: 50}}}}}}}}
  - {{id: bad, uri: /bad, upstream_id: u, plugins: {{fault-injection: {{abort: {{http_status: 500, vars: [[[arg_a, "~~", "("]]]}}}}}}}}
  - {{id: delay, uri: /delay, upstream_id: u, plugins: {{fault-injection: {{delay: {{duration: 2}}}}}}}}
  - {{id: both, uri: /both, upstream_id: u, plugins: {{fault-injection: {{abort: {{http_status: 403, body: "Fault Injection!\n", vars: [[[arg_name, "==", jack]]]}}, delay: {{duration: 0.2, vars: [[[http_age, "==", "18"]]]}}}}}}}}
#END
"#
    )
}

/// [`config`] with route `/fast` to another node, `fast`.
fn with_fast(node: &str, fast: &str) -> String {
    config(node).replace(
        "#END",
        &format!("  - {{id: fast, uri: /fast, upstream: {{nodes: {{\"{fast}\": 1}}}}}}\n#END"),
    )
}

#[test]
fn fault_injection_doc_examples() {
    let up = Node::start("u");
    let gw = harness::start_with(&config(&up.addr()), &["fault-injection"]);
    run(&gw, ROWS);
    // percentage 50: some of 200 requests aborted, some not (each side
    // misses with odds below 1e-50).
    let aborted = (0..200)
        .filter(|_| gw.get("/half", &[]).status == 500)
        .count();
    assert!(
        (1..200).contains(&aborted),
        "{aborted} of 200 aborted at 50%"
    );
    let log = gw.log();
    assert!(
        log.contains("abort.vars[0][0]: failed to validate the 'vars' expression"),
        "the bad vars expression is not named in the log:\n{log}"
    );
}

/// A delayed request waits on the host's timer: a one-worker gateway
/// answers another request while it waits, then lets it through to the
/// node (with `abort` after the delay when both apply).
#[test]
fn a_delay_holds_no_worker() {
    let (up, other) = (Node::start("u"), Node::start("fast"));
    let gw = Gateway::file(harness::BIN, &with_fast(&up.addr(), &other.addr()))
        .plugins(&["fault-injection"])
        .workers(1)
        .start();
    let port = gw.port;
    let delayed = thread::spawn(move || Request::new("GET", "/delay").send(port));
    // Sequencing only: let the delayed request reach the gateway first.
    thread::sleep(Duration::from_millis(300));
    let fast = gw.get("/fast", &[]);
    assert_eq!(fast.status, 200, "{fast:?}");
    assert_eq!(
        up.hits(),
        0,
        "the request delayed 2 s reached its node before the worker answered another request"
    );
    let delayed = delayed
        .join()
        .expect("the client thread")
        .expect("an answer");
    assert_eq!(delayed.status, 200, "{delayed:?}");
    assert!(body(&delayed).contains("path=/delay"), "{delayed:?}");
    let both = gw.get("/both?name=jack", &[("Age", "18")]);
    assert_eq!(
        (both.status, body(&both).as_str()),
        (403, "Fault Injection!\n"),
        "{both:?}"
    );
}
