//! Consumers, credentials and their key-auth keys against a real etcd,
//! through the real key-auth plugin: deleting a consumer revokes its
//! credentials at once; a credential needs its consumer; a key already
//! taken is refused at write time (APISIX's `duplicate key found with
//! consumer`); a key two objects still claim through etcd is served for
//! neither, and the log names both; a flood of client-made keys in the
//! shared store does not evict a consumer's key.

use std::time::{Duration, Instant};

use radixgate_test_support::etcd::{client, runtime, Etcd};
use radixgate_test_support::{eventually, request, Gateway, Node, Response};
use serde_json::json;

const BIN: &str = env!("CARGO_BIN_EXE_radixgate");

/// A gateway with key-auth on etcd, and route `/auth` guarded by it.
fn gateway(e: &Etcd, node: &Node) -> Gateway {
    let gw = Gateway::etcd(BIN, &e.endpoints())
        .plugins(&["key-auth"])
        .start();
    let route = json!({
        "uri": "/auth",
        "upstream": {"nodes": {node.addr(): 1}},
        "plugins": {"key-auth": {}},
    });
    let (s, v) = gw.admin("PUT", "/apisix/admin/routes/auth", Some(&route.to_string()));
    assert_eq!(s, 201, "{v}");
    gw
}

/// `GET /auth` with `apikey: key`.
fn with_key(gw: &Gateway, key: &str) -> Response {
    gw.get("/auth", &[("apikey", key)])
}

/// Whether `key` authenticates as `user` (the node sees the consumer).
fn serves_as(gw: &Gateway, key: &str, user: &str) -> bool {
    let r = with_key(gw, key);
    r.status == 200 && r.echoed("x-consumer-username").as_deref() == Some(user)
}

fn consumer(user: &str, key: &str) -> String {
    json!({"username": user, "plugins": {"key-auth": {"key": key}}}).to_string()
}

fn credential(key: &str) -> String {
    json!({"plugins": {"key-auth": {"key": key}}}).to_string()
}

/// Polls `f` until it holds or `limit` passes.
fn within(limit: Duration, mut f: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    loop {
        if f() {
            return true;
        }
        if Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn deleting_a_consumer_revokes_its_credentials_within_a_second() {
    let e = Etcd::start();
    let node = Node::start("n");
    let gw = gateway(&e, &node);
    let (s, v) = gw.admin(
        "PUT",
        "/apisix/admin/consumers",
        Some(&consumer("jack", "jack-own")),
    );
    assert_eq!(s, 201, "{v}");
    let path = "/apisix/admin/consumers/jack/credentials/c1";
    let (s, v) = gw.admin("PUT", path, Some(&credential("jack-cred")));
    assert_eq!(s, 201, "{v}");
    assert!(
        eventually(10, || serves_as(&gw, "jack-own", "jack")
            && serves_as(&gw, "jack-cred", "jack")),
        "{}",
        gw.log()
    );

    let (s, v) = gw.admin("DELETE", "/apisix/admin/consumers/jack", None);
    assert_eq!(s, 200, "{v}");
    let revoked = within(Duration::from_secs(1), || {
        with_key(&gw, "jack-own").status == 401 && with_key(&gw, "jack-cred").status == 401
    });
    assert!(
        revoked,
        "still served a second after the delete:\n{}",
        gw.log()
    );
    // The credentials went with the consumer, in the same write.
    let (s, v) = gw.admin("GET", "/apisix/admin/consumers/jack/credentials/c1", None);
    assert_eq!(s, 404, "{v}");
}

#[test]
fn a_credential_needs_its_consumer() {
    let e = Etcd::start();
    let node = Node::start("n");
    let gw = gateway(&e, &node);
    let (s, v) = gw.admin(
        "PUT",
        "/apisix/admin/consumers/ghost/credentials/c1",
        Some(&credential("ghost-key")),
    );
    assert_eq!(s, 400, "{v}");
    assert_eq!(
        v["error_msg"],
        "failed to fetch consumer info by consumer id [ghost], response code: 404"
    );
    let (s, _) = gw.admin("GET", "/apisix/admin/consumers/ghost/credentials/c1", None);
    assert_eq!(s, 404, "nothing was written");

    // Written around the Admin API: not served while its consumer is
    // missing, served once it exists, revoked when it goes again.
    let rt = runtime();
    let mut c = client(&rt, &e.endpoints());
    let key = "/apisix/consumers/ghost/credentials/c1";
    rt.block_on(c.put(key, credential("ghost-key"), None))
        .expect("put the credential");
    rt.block_on(c.put("/apisix/consumers/ghost", r#"{"username":"ghost"}"#, None))
        .expect("put the consumer");
    assert!(
        eventually(10, || serves_as(&gw, "ghost-key", "ghost")),
        "{}",
        gw.log()
    );
    rt.block_on(c.delete("/apisix/consumers/ghost", None))
        .expect("delete the consumer");
    assert!(
        within(Duration::from_secs(1), || with_key(&gw, "ghost-key").status
            == 401),
        "a credential without its consumer is still served:\n{}",
        gw.log()
    );
}

#[test]
fn a_taken_key_is_refused_at_write_time() {
    let e = Etcd::start();
    let node = Node::start("n");
    let gw = gateway(&e, &node);
    let (s, v) = gw.admin(
        "PUT",
        "/apisix/admin/consumers",
        Some(&consumer("jack", "taken")),
    );
    assert_eq!(s, 201, "{v}");
    // Writing jack again with his own key is no duplicate.
    let (s, v) = gw.admin(
        "PUT",
        "/apisix/admin/consumers",
        Some(&consumer("jack", "taken")),
    );
    assert_eq!(s, 200, "{v}");
    let (s, v) = gw.admin(
        "PUT",
        "/apisix/admin/consumers",
        Some(&consumer("anna", "taken")),
    );
    assert_eq!(
        (s, v["error_msg"].as_str()),
        (400, Some("duplicate key found with consumer: jack"))
    );
    let (s, v) = gw.admin(
        "PUT",
        "/apisix/admin/consumers",
        Some(&consumer("anna", "free")),
    );
    assert_eq!(s, 201, "{v}");
    let (s, v) = gw.admin(
        "PUT",
        "/apisix/admin/consumers/anna/credentials/c1",
        Some(&credential("taken")),
    );
    assert_eq!(
        (s, v["error_msg"].as_str()),
        (400, Some("duplicate key found with consumer: jack"))
    );
    // A key on a credential is taken as well.
    let (s, v) = gw.admin(
        "PUT",
        "/apisix/admin/consumers/anna/credentials/c2",
        Some(&credential("anna-cred")),
    );
    assert_eq!(s, 201, "{v}");
    let (s, v) = gw.admin(
        "PATCH",
        "/apisix/admin/consumers/jack",
        Some(r#"{"plugins":{"key-auth":{"key":"anna-cred"}}}"#),
    );
    assert_eq!(
        (s, v["error_msg"].as_str()),
        (400, Some("duplicate key found with consumer: anna"))
    );
    assert!(
        eventually(10, || serves_as(&gw, "taken", "jack")
            && serves_as(&gw, "anna-cred", "anna")),
        "{}",
        gw.log()
    );
}

#[test]
fn a_key_claimed_twice_through_etcd_is_served_for_neither() {
    let e = Etcd::start();
    let node = Node::start("n");
    let gw = gateway(&e, &node);
    let rt = runtime();
    let mut c = client(&rt, &e.endpoints());
    rt.block_on(c.put("/apisix/consumers/jack", consumer("jack", "same"), None))
        .expect("put jack");
    assert!(
        eventually(10, || serves_as(&gw, "same", "jack")),
        "{}",
        gw.log()
    );

    // anna takes the same key around the Admin API's check.
    rt.block_on(c.put("/apisix/consumers/anna", consumer("anna", "same"), None))
        .expect("put anna");
    assert!(
        eventually(10, || with_key(&gw, "same").status == 401),
        "a key held twice is still served:\n{}",
        gw.log()
    );
    assert!(
        gw.log()
            .lines()
            .any(|l| l.contains("more than one consumer") && l.contains("anna, jack")),
        "no log line naming both holders:\n{}",
        gw.log()
    );
    // Once anna lets go, jack's key is his again.
    rt.block_on(c.delete("/apisix/consumers/anna", None))
        .expect("delete anna");
    assert!(
        eventually(10, || serves_as(&gw, "same", "jack")),
        "{}",
        gw.log()
    );
}

#[test]
fn a_flood_of_client_keys_does_not_evict_a_consumer() {
    let e = Etcd::start();
    let node = Node::start("n");
    // A store of 16 entries, and a route that counts by a header clients
    // choose: each new value is a new key in the store.
    let gw = Gateway::etcd(BIN, &e.endpoints())
        .plugins(&["key-auth", "limit-count", "prometheus"])
        .plugins_yaml("  store:\n    max_entries: 16\n")
        .start();
    let guarded = json!({
        "uri": "/auth",
        "upstream": {"nodes": {node.addr(): 1}},
        "plugins": {"key-auth": {}},
    });
    let (s, v) = gw.admin(
        "PUT",
        "/apisix/admin/routes/auth",
        Some(&guarded.to_string()),
    );
    assert_eq!(s, 201, "{v}");
    let counted = json!({
        "uri": "/flood",
        "upstream": {"nodes": {node.addr(): 1}},
        "plugins": {"limit-count": {"count": 100, "time_window": 60, "key": "http_x_client"}},
    });
    let (s, v) = gw.admin(
        "PUT",
        "/apisix/admin/routes/flood",
        Some(&counted.to_string()),
    );
    assert_eq!(s, 201, "{v}");
    let (s, v) = gw.admin(
        "PUT",
        "/apisix/admin/consumers",
        Some(&consumer("jack", "jack-key")),
    );
    assert_eq!(s, 201, "{v}");
    assert!(eventually(10, || serves_as(&gw, "jack-key", "jack")));
    for i in 0..200 {
        let r = gw.get("/flood", &[("x-client", &format!("c{i}"))]);
        assert_eq!(r.status, 200);
    }
    let metrics = request(gw.metrics_port(), "GET", "/apisix/prometheus/metrics", &[])
        .map(|r| r.body)
        .unwrap_or_default();
    assert!(
        metrics.contains("radixgate_shared_store_evictions_total")
            && !metrics.contains("radixgate_shared_store_evictions_total 0\n"),
        "the flood evicted nothing: {metrics}"
    );
    assert!(
        serves_as(&gw, "jack-key", "jack"),
        "the flood logged jack out"
    );
}
