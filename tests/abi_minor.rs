//! Plugin ABI minors: a plugin built against ABI 1.0 (the test plugin
//! `test-abi-1-0`, whose library exports 1.0's root module, without the
//! `prefer_route` field 1.1 appended) is loaded by this 1.1 gateway, its
//! phases run on real requests, and the host falls back to 1.0's meaning
//! for the field it lacks: the plugin does not prefer the route, so on a
//! global rule and a route both instances run.

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
