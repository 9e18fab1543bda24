//! basic-auth, jwt-auth and hmac-auth consumers against a real etcd,
//! through the real plugins: a second consumer with a basic-auth username
//! already taken is refused by the Admin API (APISIX's `duplicate key found
//! with consumer`); the password is stored sealed in etcd yet the gateway
//! authenticates with it, and a changed password applies at once; a
//! credential's username authenticates only while its consumer exists.

use radixgate_test_support::etcd::{client, runtime, Etcd};
use radixgate_test_support::{eventually, Gateway, Node};
use serde_json::json;

const BIN: &str = env!("CARGO_BIN_EXE_radixgate");

/// `Basic` and the base64 of `user:password` (RFC 4648, padded).
fn basic(user: &str, password: &str) -> String {
    const ABC: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let bytes = format!("{user}:{password}").into_bytes();
    let mut out = String::from("Basic ");
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ABC[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// A gateway on etcd with basic-auth on route `/basic`.
fn gateway(e: &Etcd, node: &Node) -> Gateway {
    let gw = Gateway::etcd(BIN, &e.endpoints())
        .plugins(&["basic-auth"])
        .start();
    let route = json!({
        "uri": "/basic",
        "upstream": {"nodes": {node.addr(): 1}},
        "plugins": {"basic-auth": {}},
    });
    let (s, v) = gw.admin(
        "PUT",
        "/apisix/admin/routes/basic",
        Some(&route.to_string()),
    );
    assert_eq!(s, 201, "{v}");
    gw
}

/// Who `user:password` authenticates as on `/basic` (`None`: a 401).
fn who(gw: &Gateway, user: &str, password: &str) -> Option<String> {
    let r = gw.get("/basic", &[("Authorization", &basic(user, password))]);
    match r.status {
        200 => r.echoed("x-consumer-username"),
        401 => None,
        other => panic!("status {other}: {r:?}"),
    }
}

fn consumer(user: &str, basic_user: &str, password: &str) -> String {
    json!({"username": user, "plugins": {"basic-auth": {"username": basic_user, "password": password}}})
        .to_string()
}

#[test]
fn a_taken_basic_auth_username_is_refused_and_passwords_are_stored_sealed() {
    let e = Etcd::start();
    let node = Node::start("n");
    let gw = gateway(&e, &node);
    let put = |body: String| gw.admin("PUT", "/apisix/admin/consumers", Some(&body));
    let (s, v) = put(consumer("jack", "jack-user", "pw-1"));
    assert_eq!(s, 201, "{v}");
    // A second consumer with jack's username is refused, as in APISIX.
    let (s, v) = put(consumer("anna", "jack-user", "other"));
    assert_eq!(
        (s, v["error_msg"].as_str()),
        (400, Some("duplicate key found with consumer: jack")),
        "{v}"
    );
    // So is a credential of another consumer holding it.
    let (s, v) = put(consumer("anna", "anna-user", "pw-a"));
    assert_eq!(s, 201, "{v}");
    let cred = json!({"plugins": {"basic-auth": {"username": "jack-user", "password": "x"}}});
    let (s, v) = gw.admin(
        "PUT",
        "/apisix/admin/consumers/anna/credentials/c1",
        Some(&cred.to_string()),
    );
    assert_eq!(
        (s, v["error_msg"].as_str()),
        (400, Some("duplicate key found with consumer: jack")),
        "{v}"
    );
    assert!(
        eventually(10, || who(&gw, "jack-user", "pw-1").as_deref()
            == Some("jack")),
        "{}",
        gw.log()
    );
    assert_eq!(who(&gw, "jack-user", "other"), None);
    assert_eq!(who(&gw, "anna-user", "pw-a").as_deref(), Some("anna"));

    // etcd holds the password sealed (encrypt_fields), never as written;
    // the gateway opened it to authenticate above.
    let rt = runtime();
    let mut c = client(&rt, &e.endpoints());
    let stored = rt
        .block_on(c.get("/apisix/consumers/jack", None))
        .expect("get jack");
    let stored = String::from_utf8_lossy(stored.kvs()[0].value()).into_owned();
    assert!(
        stored.contains("jack-user") && !stored.contains("pw-1"),
        "{stored}"
    );

    // A new password applies at once, under the same username.
    let (s, v) = put(consumer("jack", "jack-user", "pw-2"));
    assert_eq!(s, 200, "{v}");
    assert!(
        eventually(10, || who(&gw, "jack-user", "pw-2").as_deref()
            == Some("jack")),
        "{}",
        gw.log()
    );
    assert_eq!(who(&gw, "jack-user", "pw-1"), None);

    // A credential's username goes with its consumer.
    let cred = json!({"plugins": {"basic-auth": {"username": "anna-cred", "password": "pw-c"}}});
    let (s, v) = gw.admin(
        "PUT",
        "/apisix/admin/consumers/anna/credentials/c2",
        Some(&cred.to_string()),
    );
    assert_eq!(s, 201, "{v}");
    assert!(eventually(10, || who(&gw, "anna-cred", "pw-c").as_deref()
        == Some("anna")));
    let (s, v) = gw.admin("DELETE", "/apisix/admin/consumers/anna", None);
    assert_eq!(s, 200, "{v}");
    assert!(
        eventually(10, || who(&gw, "anna-cred", "pw-c").is_none()),
        "{}",
        gw.log()
    );
}
