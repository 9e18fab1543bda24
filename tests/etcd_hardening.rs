//! The gateway against a real etcd that changes under it: an Admin API
//! write after etcd let the client's auth token expire; a reconnection
//! that finds another cluster (same address, same revisions) is read in
//! full; a prefix read in pages; the snapshot file readable by its owner
//! only.

use std::os::unix::fs::PermissionsExt as _;
use std::time::Duration;

use radixgate_test_support::etcd::{client, runtime, Etcd};
use radixgate_test_support::{eventually, Gateway, Node, Request};
use serde_json::json;

const BIN: &str = env!("CARGO_BIN_EXE_radixgate");

fn route(uri: &str, node: &Node) -> String {
    json!({"uri": uri, "upstream": {"nodes": {node.addr(): 1}}}).to_string()
}

/// A new auth token of `user` from etcd's JSON API on `port`.
fn token(port: u16, user: &str, password: &str) -> String {
    let body = json!({"name": user, "password": password}).to_string();
    let r = Request::new("POST", "/v3/auth/authenticate")
        .json(&body)
        .send(port)
        .expect("etcd answers");
    r.json()["token"]
        .as_str()
        .unwrap_or_else(|| panic!("no token: {}", r.body))
        .to_owned()
}

/// Whether etcd still takes `token` (a read with it is not refused).
fn token_valid(port: u16, token: &str) -> bool {
    let r = Request::new("POST", "/v3/kv/range")
        .header("Authorization", token)
        .json(r#"{"key":"YQ=="}"#)
        .send(port)
        .expect("etcd answers");
    !r.body.contains("invalid auth token")
}

#[test]
fn an_admin_write_succeeds_after_the_auth_token_expired() {
    // Simple tokens expire after 1 s unused (checked every second).
    let e = Etcd::start_with_args(&["--auth-token-ttl", "1", "--bcrypt-cost", "4"]);
    let rt = runtime();
    let mut c = client(&rt, &e.endpoints());
    rt.block_on(async {
        c.user_add("root", "secret", None).await?;
        c.user_grant_role("root", "root").await?;
        c.auth_enable().await
    })
    .expect("turn etcd authentication on");
    let section = format!(
        "etcd:\n  endpoints: [\"{}\"]\n  timeout: 2\n  user: root\n  password: secret\n",
        e.endpoint()
    );
    let gw = Gateway::etcd_yaml(BIN, &section).start();
    let node = Node::start_named("n");
    let (s, v) = gw.admin("PUT", "/apisix/admin/routes/1", Some(&route("/one", &node)));
    assert_eq!(s, 201, "{v}\n{}", gw.log());

    // Tokens issued after the Admin API's last call expire no earlier than
    // its own: once one of them is gone, so is the Admin API's. Each probe
    // uses a token of its own once (a use extends a token's life).
    let port = e.members[0].client_port;
    let probes: Vec<String> = (0..50).map(|_| token(port, "root", "secret")).collect();
    let expired = probes.iter().any(|t| {
        let gone = !token_valid(port, t);
        if !gone {
            std::thread::sleep(Duration::from_millis(150));
        }
        gone
    });
    assert!(expired, "etcd did not expire its tokens");

    let (s, v) = gw.admin("PUT", "/apisix/admin/routes/2", Some(&route("/two", &node)));
    assert_eq!(
        s,
        201,
        "the write after the token expired: {v}\n{}",
        gw.log()
    );
    assert!(gw.log().contains("authenticating again"), "{}", gw.log());
    assert!(
        eventually(10, || gw.fetch("/two") == (200, "n".into())),
        "{}",
        gw.log()
    );
}

#[test]
fn another_cluster_after_a_reconnect_is_read_in_full() {
    let mut e = Etcd::start();
    let node = Node::start_named("n");
    let mut gw = Gateway::etcd(BIN, &e.endpoints()).start();
    let (s, v) = gw.admin("PUT", "/apisix/admin/routes/a", Some(&route("/a", &node)));
    assert_eq!(s, 201, "{v}");
    let applied = v["modifiedIndex"].as_i64().expect("a revision");
    assert!(eventually(10, || gw.fetch("/a").0 == 200), "{}", gw.log());

    // While the gateway is stopped, another cluster takes etcd's address:
    // its revisions reach past what the gateway applied, its keys differ.
    gw.signal("STOP");
    e.stop(0);
    e.members[0].wipe();
    e.members[0].extra_args.extend([
        "--initial-cluster-token".to_owned(),
        "another-cluster".to_owned(),
    ]);
    e.restart(0);
    let rt = runtime();
    let mut c = client(&rt, &e.endpoints());
    rt.block_on(c.put("/apisix/routes/b", route("/b", &node), None))
        .expect("put route b");
    for i in 0..applied + 3 {
        rt.block_on(c.put(format!("/elsewhere/{i}"), "x", None))
            .expect("put a key outside the prefix");
    }
    gw.signal("CONT");

    assert!(
        eventually(15, || gw.fetch("/b").0 == 200 && gw.fetch("/a").0 == 404),
        "the new cluster's routes were not read in full:\n{}",
        gw.log()
    );
    assert!(gw.log().contains("another cluster"), "{}", gw.log());
    assert!(gw.alive());
}

#[test]
fn a_prefix_larger_than_a_page_is_read_in_full_in_growing_pages() {
    let e = Etcd::start();
    let node = Node::start_named("n");
    let rt = runtime();
    let mut c = client(&rt, &e.endpoints());
    for i in 0..30 {
        rt.block_on(c.put(
            format!("/apisix/routes/r{i}"),
            route(&format!("/r{i}"), &node),
            None,
        ))
        .expect("put a route");
    }
    let section = format!(
        "etcd:\n  endpoints: [\"{}\"]\n  timeout: 2\n  read_page_size: 2\n",
        e.endpoint()
    );
    let gw = Gateway::etcd_yaml(BIN, &section).start();
    assert!(
        eventually(10, || (0..30).all(|i| gw.fetch(&format!("/r{i}")).0 == 200)),
        "{}",
        gw.log()
    );
    // 30 keys, 2 in the first page, then 8, then 32: three pages (in pages
    // of 2 it took 15, and etcd counts the rest of the range for each).
    assert!(gw.log().contains("pages=3 "), "{}", gw.log());
}

#[test]
fn the_snapshot_file_is_readable_by_its_owner_only() {
    let e = Etcd::start();
    let node = Node::start_named("n");
    let gw = Gateway::etcd(BIN, &e.endpoints()).start();
    let consumer = r#"{"username":"jack","desc":"holds secrets"}"#;
    let (s, v) = gw.admin("PUT", "/apisix/admin/consumers", Some(consumer));
    assert_eq!(s, 201, "{v}");
    let (s, v) = gw.admin("PUT", "/apisix/admin/routes/1", Some(&route("/one", &node)));
    assert_eq!(s, 201, "{v}");
    let path = gw.dir.path("etcd-snapshot.json");
    assert!(
        eventually(10, || std::fs::read_to_string(&path).is_ok_and(|t| t
            .contains("/apisix/routes/1")
            && t.contains("holds secrets"))),
        "{}",
        gw.log()
    );
    let mode = std::fs::metadata(&path)
        .expect("the snapshot file")
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o600, "the snapshot file's mode is {mode:o}");
    // No temp file is left beside it.
    let names: Vec<String> = std::fs::read_dir(gw.dir.root())
        .expect("the gateway's dir")
        .flatten()
        .map(|f| f.file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("snapshot"))
        .collect();
    assert_eq!(names, ["etcd-snapshot.json"], "{names:?}");
}
