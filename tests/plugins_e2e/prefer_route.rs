//! A plugin on both a global rule and a route: APISIX runs both
//! instances, except for a plugin declaring `run_policy = "prefer_route"`,
//! whose global rule's instance is skipped when the request's route (with
//! its service and plugin_config) runs it too.

use radixgate_test_support::Node;

use crate::harness::{self, header};

#[test]
fn a_prefer_route_plugin_runs_once_where_the_route_has_it() {
    let up = Node::start("u");
    let node = up.addr();
    let gw = harness::start(&format!(
        r#"upstreams:
  - {{id: u, nodes: {{"{node}": 1}}}}
global_rules:
  - {{id: g, plugins: {{test-prefer-route: {{name: g}}, test-order: {{name: g}}}}}}
services:
  - {{id: s, upstream_id: u, plugins: {{test-prefer-route: {{name: s}}}}}}
routes:
  - {{id: own, uri: /own, upstream_id: u, plugins: {{test-prefer-route: {{name: r}}, test-order: {{name: r}}}}}}
  - {{id: svc, uri: /svc, service_id: s}}
  - {{id: none, uri: /none, upstream_id: u}}
  - {{id: off, uri: /off, upstream_id: u, plugins: {{test-prefer-route: {{name: r, _meta: {{disable: true}}}}}}}}
#END
"#
    ));
    let r = gw.get("/own", &[]);
    assert_eq!(r.status, 200, "{r:?}\n{}", gw.log());
    // prefer_route: only the route's instance; test-order (no policy): both.
    assert_eq!(
        r.echoed("x-prefer-route").as_deref(),
        Some("r"),
        "{}",
        r.body
    );
    assert_eq!(header(&r, "x-test-order").as_deref(), Some("g,r"));
    // The service's instance counts as the route's.
    let r = gw.get("/svc", &[]);
    assert_eq!(
        r.echoed("x-prefer-route").as_deref(),
        Some("s"),
        "{}",
        r.body
    );
    // Without it on the route, or disabled there, the global rule's runs.
    let r = gw.get("/none", &[]);
    assert_eq!(
        r.echoed("x-prefer-route").as_deref(),
        Some("g"),
        "{}",
        r.body
    );
    let r = gw.get("/off", &[]);
    assert_eq!(
        r.echoed("x-prefer-route").as_deref(),
        Some("g"),
        "{}",
        r.body
    );
}
