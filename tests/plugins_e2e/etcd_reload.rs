//! A plugin loaded after start reaches objects already read from etcd: a
//! route that named the then-unknown plugin is refused (never served
//! without it), and served with it once a reload loads it, without an
//! edit (refused values are decoded again).

use radixgate_test_support::etcd::{client, runtime, Etcd};
use radixgate_test_support::{eventually, plugins, request, Gateway, Node, ADMIN_KEY};

use crate::harness::{header, BIN};

#[test]
fn a_plugin_loaded_later_reaches_routes_already_in_etcd() {
    let e = Etcd::start();
    let rt = runtime();
    let mut c = client(&rt, &e.endpoints());
    let up = Node::start_named("late");
    let node = up.addr();
    let route = serde_json::json!({
        "id": "late", "uri": "/late",
        "upstream": {"nodes": {node.as_str(): 1}},
        "plugins": {"test-order": {"name": "late"}},
    });
    // Written straight into etcd: the Admin API refuses an unknown plugin.
    rt.block_on(c.put("/apisix/routes/late", route.to_string(), None))
        .expect("put route");
    // An empty plugin directory.
    let gw = Gateway::etcd(BIN, &e.endpoints()).plugins(&[]).start();
    let late = || request(gw.port, "GET", "/late", &[]).expect("gateway");
    // Refused while the plugin is unknown: not served without it.
    assert!(
        eventually(10, || gw.log().contains("unknown plugin [test-order]")),
        "{}",
        gw.log()
    );
    assert_eq!(late().status, 404);
    plugins::install(&gw.plugin_dir(), "test-order");
    let key = [("X-API-KEY", ADMIN_KEY)];
    let r = request(gw.admin_port(), "PUT", "/apisix/admin/plugins/reload", &key).expect("admin");
    assert_eq!(r.status, 200, "{r:?}");
    assert!(r.body.contains("test-order"), "{}", r.body);
    assert!(
        eventually(10, || header(&late(), "x-test-order").as_deref()
            == Some("late")),
        "{}",
        gw.log()
    );
}
