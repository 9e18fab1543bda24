//! A plugin loaded after start reaches objects already read from etcd:
//! a route that named the then-unknown plugin gains it on reload, without
//! an edit (the objects are decoded again).

use crate::common::request;
use crate::etcd::{client, eventually, runtime, upstream, Etcd, EtcdGateway, KEY};
use crate::harness::{header, install};

#[test]
fn a_plugin_loaded_later_reaches_routes_already_in_etcd() {
    let e = Etcd::start();
    let rt = runtime();
    let mut c = client(&rt, &e.endpoints());
    let node = format!("127.0.0.1:{}", upstream("late"));
    let route = serde_json::json!({
        "id": "late", "uri": "/late",
        "upstream": {"nodes": {node.as_str(): 1}},
        "plugins": {"test-order": {"name": "late"}},
    });
    // Written straight into etcd: the Admin API refuses an unknown plugin.
    rt.block_on(c.put("/apisix/routes/late", route.to_string(), None))
        .expect("put route");
    let plugins = crate::common::TempDir::new("etcd-plugins");
    std::fs::create_dir_all(&plugins.0).expect("plugin dir");
    let extra = format!(
        "plugins:\n  dir: {}\n  export_addr: 127.0.0.1:{}\n",
        plugins.0.display(),
        crate::common::free_port()
    );
    let gw = EtcdGateway::start_with(&e.endpoints(), &extra);
    let late = || request(gw.port, "GET", "/late", &[]).expect("gateway");
    // Served without the plugin it does not know yet.
    assert!(eventually(10, || late().status == 200), "{}", gw.log());
    assert_eq!(header(&late(), "x-test-order"), None);
    install(&plugins.0, "test-order");
    let key = [("X-API-KEY", KEY)];
    let r = request(gw.admin_port, "PUT", "/apisix/admin/plugins/reload", &key).expect("admin");
    assert_eq!(r.status, 200, "{r:?}");
    assert!(r.body.contains("test-order"), "{}", r.body);
    assert!(
        eventually(10, || header(&late(), "x-test-order").as_deref()
            == Some("late")),
        "{}",
        gw.log()
    );
}
