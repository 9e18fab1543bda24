//! consumer-restriction's documented examples through the gateway, behind
//! key-auth: a whitelist of consumer names, methods per consumer
//! (`allowed_by_methods`), a consumer restricted to one service (the
//! plugin on the consumer, merged in once key-auth names it), a blacklist
//! of consumer groups with `rejected_msg`, a route id; and the 401 when
//! the request has no value of the type (no consumer, no service, no
//! group). The consumer's own consumer-restriction replaces the route's.

use radixgate_test_support::Node;

use super::{get, run, Check, Row};
use crate::harness;

type Headers = &'static [(&'static str, &'static str)];

const fn with(doc: &'static str, path: &'static str, headers: Headers, status: u16) -> Row {
    Row {
        headers,
        ..get(doc, path, status)
    }
}

const JOHN: Headers = &[("apikey", "john-key")];
const JANE: Headers = &[("apikey", "jane-key")];
const SVC: Headers = &[("apikey", "svc-key")];
const LONER: Headers = &[("apikey", "loner-key")];
const BY_NAME: &str = "Restrict Access by Consumers";
const BY_METHOD: &str = "Restrict Access by Consumers and HTTP Methods";
const BY_SERVICE: &str = "Restrict Access by Service IDs";
const BY_GROUP: &str = "type consumer_group_id";
const FORBIDDEN: &[Check] = &[Check::Body(
    r#"{"message":"The consumer_name is forbidden."}"#,
)];

const ROWS: &[Row] = &[
    with(BY_NAME, "/anything", JOHN, 200),
    Row {
        checks: FORBIDDEN,
        ..with(BY_NAME, "/anything", JANE, 403)
    },
    Row {
        checks: &[Check::Body(
            r#"{"message":"The request is rejected, please check the consumer_name for this request"}"#,
        )],
        ..get("no consumer", "/noauth", 401)
    },
    Row {
        method: "POST",
        ..with(BY_METHOD, "/method", JOHN, 200)
    },
    Row {
        checks: FORBIDDEN,
        ..with(BY_METHOD, "/method", JOHN, 403)
    },
    with(BY_METHOD, "/method", JANE, 200),
    Row {
        method: "POST",
        checks: FORBIDDEN,
        ..with(BY_METHOD, "/method", JANE, 403)
    },
    with(BY_SERVICE, "/srv-1", SVC, 200),
    Row {
        checks: &[Check::Body(r#"{"message":"The service_id is forbidden."}"#)],
        ..with(BY_SERVICE, "/srv-2", SVC, 403)
    },
    Row {
        checks: &[Check::Body(
            r#"{"message":"The request is rejected, please check the service_id for this request"}"#,
        )],
        ..with("a route without a service", "/anything", SVC, 401)
    },
    with(BY_GROUP, "/group", JOHN, 200),
    Row {
        checks: &[Check::Body(r#"{"message":"silver may not"}"#)],
        ..with(BY_GROUP, "/group", JANE, 403)
    },
    Row {
        checks: &[Check::Body(
            r#"{"message":"The request is rejected, please check the consumer_group_id for this request"}"#,
        )],
        ..with("a consumer without a group", "/group", LONER, 401)
    },
    Row {
        checks: &[Check::Body(r#"{"message":"The route_id is forbidden."}"#)],
        ..get("type route_id", "/route", 403)
    },
];

fn config(node: &str) -> String {
    format!(
        r#"upstreams:
  - {{id: u, nodes: {{"{node}": 1}}}}
services:
  - {{id: srv-1, upstream_id: u}}
  - {{id: srv-2, upstream_id: u}}
consumer_groups:
  - {{id: gold, plugins: {{}}}}
  - {{id: silver, plugins: {{}}}}
consumers:
  - {{username: JohnDoe, group_id: gold, plugins: {{key-auth: {{key: john-key}}}}}}
  - {{username: JaneDoe, group_id: silver, plugins: {{key-auth: {{key: jane-key}}}}}}
  - {{username: loner, plugins: {{key-auth: {{key: loner-key}}}}}}
  - {{username: svc-user, plugins: {{key-auth: {{key: svc-key}}, consumer-restriction: {{type: service_id, whitelist: [srv-1]}}}}}}
routes:
  - {{id: by-name, uri: /anything, upstream_id: u, plugins: {{key-auth: {{}}, consumer-restriction: {{whitelist: [JohnDoe, svc-user]}}}}}}
  - {{id: no-auth, uri: /noauth, upstream_id: u, plugins: {{consumer-restriction: {{whitelist: [JohnDoe]}}}}}}
  - id: by-method
    uri: /method
    upstream_id: u
    plugins:
      key-auth: {{}}
      consumer-restriction: {{allowed_by_methods: [{{user: JohnDoe, methods: [POST]}}, {{user: JaneDoe, methods: [GET]}}]}}
  - {{id: srv1-route, uri: /srv-1, service_id: srv-1, plugins: {{key-auth: {{}}}}}}
  - {{id: srv2-route, uri: /srv-2, service_id: srv-2, plugins: {{key-auth: {{}}}}}}
  - {{id: by-group, uri: /group, upstream_id: u, plugins: {{key-auth: {{}}, consumer-restriction: {{type: consumer_group_id, blacklist: [silver], rejected_msg: silver may not}}}}}}
  - {{id: by-route, uri: /route, upstream_id: u, plugins: {{consumer-restriction: {{type: route_id, blacklist: [by-route]}}}}}}
#END
"#
    )
}

#[test]
fn consumer_restriction_doc_examples() {
    let up = Node::start("u");
    let plugins = ["key-auth", "consumer-restriction"];
    let gw = harness::start_with(&config(&up.addr()), &plugins);
    run(&gw, ROWS);
}
