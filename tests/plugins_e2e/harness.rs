//! The harness of `plugins_e2e`: a gateway on a standalone file with the
//! plugins cargo built in its plugin directory and the Admin API on, and
//! the Admin API checks several tests share.

use radixgate_test_support::http::{request, Request, Response};
use radixgate_test_support::{plugins, Gateway, ADMIN_KEY};

/// The gateway binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_radixgate");

/// A gateway on `apisix` with `plugins` in its plugin directory and the
/// Admin API on, not started.
pub fn prepare_with(apisix: &str, plugins: &[&str]) -> Gateway {
    Gateway::file(BIN, apisix)
        .plugins(plugins)
        .admin()
        .prepare()
}

/// A gateway on `apisix` with every plugin that loads
/// ([`plugins::loadable`]) and the Admin API, started.
pub fn start(apisix: &str) -> Gateway {
    start_with(apisix, &plugins::loadable())
}

/// The same with only `plugins`.
pub fn start_with(apisix: &str, plugins: &[&str]) -> Gateway {
    let mut gw = prepare_with(apisix, plugins);
    gw.start_process();
    gw
}

/// POSTs `body` (JSON) with the default admin key; (status, body).
pub fn post(port: u16, path: &str, body: &str) -> (u16, String) {
    let r = Request::new("POST", path)
        .header("X-API-KEY", ADMIN_KEY)
        .json(body)
        .send(port)
        .expect("the Admin API answers");
    (r.status, r.body)
}

/// Header `name` of `r`.
pub fn header(r: &Response, name: &str) -> Option<String> {
    r.headers.get(name).cloned()
}

/// `GET /apisix/admin/plugins/list` is a JSON array of names; `GET
/// /apisix/admin/schema/plugins/<name>` answers key-auth's route and
/// consumer schemas, and 404 naming an unknown plugin.
pub fn check_plugin_list_and_schemas(admin: u16) {
    let key = [("X-API-KEY", ADMIN_KEY)];
    // The plugin list is a JSON array of names, as APISIX's.
    let names: Vec<String> = serde_json::from_str(
        &request(admin, "GET", "/apisix/admin/plugins/list", &key)
            .expect("admin")
            .body,
    )
    .expect("a JSON array of names");
    assert!(names.iter().any(|n| n == "key-auth"), "{names:?}");
    // A plugin's schemas; an unknown plugin is a 404 naming it.
    let schema = |q: &str| {
        request(
            admin,
            "GET",
            &format!("/apisix/admin/schema/plugins/{q}"),
            &key,
        )
        .expect("admin")
    };
    let r = schema("key-auth");
    assert_eq!(r.status, 200, "{r:?}");
    let v: serde_json::Value = serde_json::from_str(&r.body).expect("JSON");
    assert_eq!(v["properties"]["header"]["default"], "apikey", "{v}");
    let r = schema("key-auth?schema_type=consumer");
    let v: serde_json::Value = serde_json::from_str(&r.body).expect("JSON");
    assert_eq!(
        (r.status, &v["required"]),
        (200, &serde_json::json!(["key"])),
        "{v}"
    );
    let r = schema("nope");
    assert_eq!(r.status, 404, "{r:?}");
    assert!(
        r.body.contains("error_msg") && r.body.contains("nope"),
        "{}",
        r.body
    );
}
