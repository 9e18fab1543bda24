//! Upgrading a plugin in place, through the real gateway: a new build of a
//! loaded plugin (`test-version` 1.0.0 -> 2.0.0: `tests/plugins/test-version-a`
//! and `-b`, one name, `x-test-version: a` or `b` on every response) copied
//! over the loaded file replaces it on reload, under load, with no failed
//! request; a request in flight finishes on the old code; a version whose
//! schema refuses a live config is refused whole; a panic in a plugin's
//! `Drop` costs nothing; only the admin role may reload.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use radixgate_test_support::plugins::{file_name, install, library};
use radixgate_test_support::{eventually, get, request, Gateway, Node, Response, ADMIN_KEY};
use serde_json::{json, Value};

const BIN: &str = env!("CARGO_BIN_EXE_radixgate");

fn apisix(up: &Node, routes: &str) -> String {
    format!(
        "upstreams:\n  - {{id: u, nodes: {{\"{}\": 1}}}}\nroutes:\n{routes}#END\n",
        up.addr()
    )
}

fn version(r: &Response) -> Option<&str> {
    r.header("x-test-version")
}

/// `PUT /apisix/admin/plugins/reload` with `key`: (status, JSON body).
fn reload(gw: &Gateway, key: &str) -> (u16, Value) {
    let r = request(
        gw.admin_port(),
        "PUT",
        "/apisix/admin/plugins/reload",
        &[("X-API-KEY", key)],
    )
    .expect("the Admin API answers");
    (
        r.status,
        serde_json::from_str(&r.body).unwrap_or(Value::Null),
    )
}

#[test]
fn an_upgrade_under_load_fails_no_request_and_requests_in_flight_finish_on_the_old_code() {
    let up = Node::start("u");
    let routes = "  - {id: v, uri: /v, upstream_id: u, plugins: {test-version: {}}}\n  \
                  - {id: hold, uri: /hold, upstream_id: u, plugins: {test-version: {hold: true}}}\n  \
                  - {id: release, uri: /release, upstream_id: u, plugins: {test-version: {release: true}}}\n";
    let gw = Gateway::file(BIN, &apisix(&up, routes))
        .plugins(&["test-version-a"])
        .admin()
        .start();
    let p = gw.port;
    assert_eq!(version(&get(p, "/v")), Some("a"));

    let stop = Arc::new(AtomicBool::new(false));
    let seen_b = Arc::new(AtomicUsize::new(0));
    let clients: Vec<_> = (0..2)
        .map(|_| {
            let (stop, seen_b) = (stop.clone(), seen_b.clone());
            std::thread::spawn(move || {
                let (mut ok, mut failures) = (0usize, Vec::new());
                while !stop.load(Ordering::Relaxed) {
                    match request(p, "GET", "/v", &[]) {
                        Ok(r) if r.status == 200 && version(&r) == Some("a") => ok += 1,
                        Ok(r) if r.status == 200 && version(&r) == Some("b") => {
                            ok += 1;
                            seen_b.fetch_add(1, Ordering::Relaxed);
                        }
                        other => failures.push(format!("{other:?}")),
                    }
                }
                (ok, failures)
            })
        })
        .collect();
    // A request in flight on 1.0.0: held in its access phase.
    let held = std::thread::spawn(move || request(p, "GET", "/hold", &[]));
    assert!(
        eventually(5, || gw.log().contains("a holding /hold")),
        "{}",
        gw.log()
    );

    // `cp` of 2.0.0 over the loaded file, caught halfway: nothing the
    // gateway runs is mapped from that file, and a reload refuses it.
    let loaded = gw.plugin_dir().join(file_name("test-version-a"));
    let new = std::fs::read(library("test-version-b")).expect("version b");
    std::fs::write(&loaded, &new[..new.len() / 3]).expect("overwrite a third");
    let (status, body) = reload(&gw, ADMIN_KEY);
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["upgraded"], json!([]), "{body}");
    let reason = body["refused"][0]["reason"].as_str().unwrap_or("");
    assert!(reason.contains("the file is cut short"), "{body}");
    assert_eq!(version(&get(p, "/v")), Some("a"));

    // The copy completes: the next reload upgrades the plugin.
    std::fs::write(&loaded, &new).expect("overwrite");
    let (status, body) = reload(&gw, ADMIN_KEY);
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["upgraded"],
        json!([{"name": "test-version", "from": "1.0.0", "to": "2.0.0"}]),
        "{body}"
    );
    assert_eq!(body["refused"], json!([]), "{body}");
    assert!(
        eventually(10, || seen_b.load(Ordering::Relaxed) >= 20),
        "{}",
        gw.log()
    );
    // The held request still waits in 1.0.0's code; a request of 2.0.0
    // releases it, and it finishes on 1.0.0's instance.
    assert!(!held.is_finished(), "the held request ended early");
    let released = get(p, "/release");
    assert_eq!((released.status, version(&released)), (200, Some("b")));
    let held = held
        .join()
        .expect("the held client")
        .expect("the held request");
    assert_eq!((held.status, version(&held)), (200, Some("a")), "{held:?}");

    stop.store(true, Ordering::Relaxed);
    let mut ok = 0;
    let mut failures = Vec::new();
    for c in clients {
        let (n, f) = c.join().expect("a client");
        ok += n;
        failures.extend(f);
    }
    assert!(
        failures.is_empty(),
        "{} failed: {:?}\n{}",
        failures.len(),
        &failures[..failures.len().min(3)],
        gw.log()
    );
    assert!(ok > 40, "too few requests: {ok}");
}

#[test]
fn a_new_version_refusing_a_live_config_is_refused_whole_and_the_old_one_stays() {
    let up = Node::start("u");
    let routes = |legacy: bool| {
        format!(
            "  - {{id: legacy, uri: /legacy, upstream_id: u, plugins: {{test-version: {{legacy: {legacy}}}}}}}\n  \
             - {{id: plain, uri: /plain, upstream_id: u, plugins: {{test-version: {{}}}}}}\n  \
             - {{id: probe, uri: /probe-{legacy}, upstream_id: u}}\n"
        )
    };
    let gw = Gateway::file(BIN, &apisix(&up, &routes(true)))
        .plugins(&["test-version-a"])
        .admin()
        .start();
    let p = gw.port;
    install(&gw.plugin_dir(), "test-version-b");
    let (status, body) = reload(&gw, ADMIN_KEY);
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["upgraded"], json!([]), "{body}");
    // plugins.dir is `plugins`, relative to the gateway's working dir.
    let b = format!("plugins/{}", file_name("test-version-b"));
    assert_eq!(body["refused"][0]["path"], json!(b), "{body}");
    let reason = body["refused"][0]["reason"].as_str().unwrap_or("");
    assert!(
        reason.starts_with(
            "version 2.0.0 of plugin \"test-version\" refuses configs in use: \
             route legacy (legacy: "
        ),
        "{reason}"
    );
    assert!(reason.ends_with("; version 1.0.0 stays"), "{reason}");
    assert!(!reason.contains("route plain"), "{reason}");
    for path in ["/legacy", "/plain"] {
        assert_eq!(version(&get(p, path)), Some("a"), "{path}");
    }

    // Once no object needs what 2.0.0 refuses, the file, changed, loads
    // on the next reload (SIGHUP this time).
    gw.write_apisix(&apisix(&up, &routes(false)));
    assert!(eventually(10, || get(p, "/probe-false").status == 200));
    install(&gw.plugin_dir(), "test-version-b");
    gw.signal("HUP");
    assert!(
        eventually(10, || ["/legacy", "/plain"].iter().all(|path| version(
            &get(p, path)
        ) == Some(
            "b"
        ))),
        "{}",
        gw.log()
    );
}

#[test]
fn a_panic_in_a_plugins_drop_does_not_take_the_gateway_down() {
    let up = Node::start("u");
    let route = |config: &str, extra: &str| {
        apisix(
            &up,
            &format!(
                "  - {{id: d, uri: /d, upstream_id: u, plugins: {{test-version: {config}}}}}\n{extra}"
            ),
        )
    };
    let mut gw = Gateway::file(BIN, &route("{panic_on_drop: true}", ""))
        .plugins(&["test-version-a"])
        .start();
    let p = gw.port;
    assert_eq!(version(&get(p, "/d")), Some("a"));
    // A new config replaces the instance; the old one goes when the last
    // snapshot holding it does (here at once: no request holds it).
    gw.write_apisix(&route("{}", "  - {id: e, uri: /e, upstream_id: u}\n"));
    assert!(eventually(10, || get(p, "/e").status == 200));
    assert!(
        eventually(10, || gw.log().contains(
            "panicked while being dropped: test-version a: deliberate panic in drop"
        )),
        "{}",
        gw.log()
    );
    assert!(gw.alive(), "{}", gw.log());
    // The builder goes on publishing.
    gw.write_apisix(&route("{}", "  - {id: f, uri: /f, upstream_id: u}\n"));
    assert!(
        eventually(10, || get(p, "/f").status == 200),
        "{}",
        gw.log()
    );
    assert_eq!(version(&get(p, "/d")), Some("a"));
}

#[test]
fn only_the_admin_role_may_reload_plugins() {
    let up = Node::start("u");
    let keys = "  keys:\n    - {name: ops, key: admin-secret-1, role: admin}\n    \
                - {name: ro, key: viewer-secret-1, role: viewer}\n";
    let gw = Gateway::file(BIN, &apisix(&up, "  - {id: r, uri: /r, upstream_id: u}\n"))
        .plugins(&[])
        .admin_yaml(keys)
        .start();
    install(&gw.plugin_dir(), "noop");
    let (status, body) = reload(&gw, "viewer-secret-1");
    assert_eq!(status, 401, "{body}");
    assert!(body["error_msg"].is_string(), "{body}");
    let list = request(
        gw.admin_port(),
        "GET",
        "/apisix/admin/plugins/list",
        &[("X-API-KEY", "viewer-secret-1")],
    )
    .expect("the Admin API answers");
    assert_eq!(
        (list.status, list.body.as_str()),
        (200, "[]"),
        "nothing loaded"
    );
    let (status, body) = reload(&gw, "admin-secret-1");
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["loaded"], json!(["noop"]), "{body}");
}

#[test]
fn an_upgrade_reaches_routes_read_from_etcd() {
    use radixgate_test_support::etcd::{client, runtime, Etcd};
    let e = Etcd::start();
    let rt = runtime();
    let mut c = client(&rt, &e.endpoints());
    let up = Node::start("u");
    let node = up.addr();
    let route = json!({
        "id": "v", "uri": "/v",
        "upstream": {"nodes": {node.as_str(): 1}},
        "plugins": {"test-version": {}},
    });
    rt.block_on(c.put("/apisix/routes/v", route.to_string(), None))
        .expect("put route");
    let gw = Gateway::etcd(BIN, &e.endpoints())
        .plugins(&["test-version-a"])
        .start();
    let p = gw.port;
    assert!(
        eventually(10, || version(&get(p, "/v")) == Some("a")),
        "{}",
        gw.log()
    );
    // etcd's objects are unchanged: only the upgrade builds new instances.
    std::fs::copy(
        library("test-version-b"),
        gw.plugin_dir().join(file_name("test-version-a")),
    )
    .expect("copy version b over version a");
    let (status, body) = reload(&gw, ADMIN_KEY);
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["upgraded"][0]["to"], json!("2.0.0"), "{body}");
    assert!(
        eventually(10, || version(&get(p, "/v")) == Some("b")),
        "{}",
        gw.log()
    );
}
