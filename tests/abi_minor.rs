//! Plugin ABI minors: plugins built against older minors are loaded by
//! this gateway and run on real requests. `test-abi-1-0` exports 1.0's
//! root module (without the `prefer_route` field 1.1 appended): the host
//! falls back to 1.0's meaning for the field it lacks, so on a global rule
//! and a route both instances run. `test-abi-1-2` exports 1.2's root
//! module, instance and request context (without 1.3's request body).

use radixgate_test_support::{plugins, target, Gateway, Node};

const BIN: &str = env!("CARGO_BIN_EXE_radixgate");

#[test]
fn a_1_0_plugin_loads_runs_its_phases_and_falls_back_for_1_1_fields() {
    let up = Node::start("u");
    let node = up.addr();
    let lib = target::artifact(&plugins::file_name("test-abi-1-0"));
    let gw = Gateway::file(
        BIN,
        &format!(
            r#"upstreams:
  - {{id: u, nodes: {{"{node}": 1}}}}
global_rules:
  - {{id: g, plugins: {{test-abi-1-0: {{name: g}}}}}}
routes:
  - {{id: both, uri: /both, upstream_id: u, plugins: {{test-abi-1-0: {{name: r}}}}}}
  - {{id: global, uri: /global, upstream_id: u}}
#END
"#
        ),
    )
    .plugin_file(&lib)
    .admin()
    .start();

    // Loaded, not refused: the Admin API lists it.
    let (s, list) = gw.admin("GET", "/apisix/admin/plugins/list", None);
    assert_eq!(
        (s, list),
        (200, serde_json::json!(["test-abi-1-0"])),
        "{}",
        gw.log()
    );

    // rewrite ran for each instance (the upstream got the header), then
    // header_filter (the response carries it). prefer_route, absent in
    // 1.0, reads as false: the global rule's instance runs too, first.
    let r = gw.get("/both", &[]);
    assert_eq!(r.status, 200, "{r:?}\n{}", gw.log());
    assert_eq!(r.echoed("x-abi-1-0").as_deref(), Some("g,r"), "{}", r.body);
    assert_eq!(r.header("x-abi-1-0"), Some("g,r"), "{r:?}");

    // A route without it: the global rule's instance alone.
    let r = gw.get("/global", &[]);
    assert_eq!(r.echoed("x-abi-1-0").as_deref(), Some("g"), "{}", r.body);
    assert_eq!(r.header("x-abi-1-0"), Some("g"), "{r:?}");
    assert!(!gw.log().contains("plugin refused"), "{}", gw.log());
}

/// A plugin built against ABI 1.2 (`test-abi-1-2`: 1.2's root module,
/// instance vtable without `reads_request_body`, on 1.2's request context
/// without `request_body`) loads on this 1.3 gateway and runs its phases;
/// the host reads it as reading no body, so a body streams to the node as
/// it came.
#[test]
fn a_1_2_plugin_loads_and_runs_on_a_1_3_gateway() {
    let up = Node::start("u");
    let node = up.addr();
    let lib = target::artifact(&plugins::file_name("test-abi-1-2"));
    let gw = Gateway::file(
        BIN,
        &format!(
            r#"upstreams:
  - {{id: u, nodes: {{"{node}": 1}}}}
global_rules:
  - {{id: g, plugins: {{test-abi-1-2: {{name: g}}}}}}
routes:
  - {{id: both, uri: /both, upstream_id: u, plugins: {{test-abi-1-2: {{name: r}}}}}}
#END
"#
        ),
    )
    .plugin_file(&lib)
    .admin()
    .start();
    let (s, list) = gw.admin("GET", "/apisix/admin/plugins/list", None);
    assert_eq!(
        (s, list),
        (200, serde_json::json!(["test-abi-1-2"])),
        "{}",
        gw.log()
    );
    let r = radixgate_test_support::Request::new("POST", "/both")
        .body("hello")
        .send(gw.port)
        .expect("an answer");
    assert_eq!(r.status, 200, "{r:?}\n{}", gw.log());
    assert_eq!(r.echoed("x-abi-1-2").as_deref(), Some("g,r"), "{}", r.body);
    assert_eq!(r.echoed("body").as_deref(), Some("hello"), "{}", r.body);
    assert_eq!(r.header("x-abi-1-2"), Some("g,r"), "{r:?}");
    assert!(!gw.log().contains("plugin refused"), "{}", gw.log());
}
