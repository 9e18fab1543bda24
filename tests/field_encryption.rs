//! APISIX's field encryption against a real etcd: a consumer written in
//! APISIX's encrypted form (AES-128-CBC, key and IV the keyring entry,
//! base64; computed here from the algorithm) authenticates; the Admin API
//! stores what it writes encrypted and answers it decrypted; a value no key
//! of the keyring opens is refused, naming the object and field.

use aes::cipher::{block_padding::Pkcs7, BlockDecryptMut, BlockEncryptMut, KeyIvInit};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use radixgate_test_support::etcd::{client, runtime, Etcd};
use radixgate_test_support::{eventually, request, Gateway, Node, ADMIN_KEY};

const BIN: &str = env!("CARGO_BIN_EXE_radixgate");
/// The second key of APISIX's default keyring.
const KEY: &[u8; 16] = b"edd1c9f0985e76a2";

fn seal(key: &[u8; 16], plain: &str) -> String {
    let sealed = cbc::Encryptor::<aes::Aes128>::new(key.into(), key.into())
        .encrypt_padded_vec_mut::<Pkcs7>(plain.as_bytes());
    B64.encode(sealed)
}

fn open(key: &[u8; 16], sealed: &str) -> Option<String> {
    let bytes = B64.decode(sealed).ok()?;
    let plain = cbc::Decryptor::<aes::Aes128>::new(key.into(), key.into())
        .decrypt_padded_vec_mut::<Pkcs7>(&bytes)
        .ok()?;
    String::from_utf8(plain).ok()
}

#[test]
fn apisix_encrypted_credentials_authenticate_and_admin_writes_are_sealed() {
    let e = Etcd::start();
    let rt = runtime();
    let mut c = client(&rt, &e.endpoints());
    let node = Node::start("n");
    let route = serde_json::json!({"id": "r", "uri": "/r", "plugins": {"key-auth": {}},
        "upstream": {"nodes": {node.addr(): 1}}});
    let jack = serde_json::json!({"username": "jack",
        "plugins": {"key-auth": {"key": seal(KEY, "jack-key")}}});
    // Sealed with a key the gateway's keyring does not hold.
    let bob = serde_json::json!({"username": "bob",
        "plugins": {"key-auth": {"key": seal(b"0123456789abcdef", "bob-key")}}});
    for (key, value) in [
        ("/apisix/routes/r", route),
        ("/apisix/consumers/jack", jack),
        ("/apisix/consumers/bob", bob),
    ] {
        rt.block_on(c.put(key, value.to_string(), None))
            .expect("put into etcd");
    }
    let gw = Gateway::etcd(BIN, &e.endpoints())
        .plugins(&["key-auth"])
        .start();
    let call = |key: &str| {
        request(gw.port, "GET", "/r", &[("apikey", key)])
            .expect("the gateway answers")
            .status
    };
    assert!(eventually(10, || call("jack-key") == 200), "{}", gw.log());
    // The stored text itself is no key.
    assert_eq!(call(&seal(KEY, "jack-key")), 401);
    // A value no key of the keyring opens refuses its consumer, named.
    assert_eq!(call("bob-key"), 401);
    assert!(
        gw.log().lines().any(|l| l.contains("consumers/bob")
            && l.contains("plugins.key-auth")
            && l.contains("keyring")),
        "{}",
        gw.log()
    );

    // The Admin API seals what it stores, with the keyring's first key,
    // and answers it opened, as APISIX does.
    let admin_key = [("X-API-KEY", ADMIN_KEY)];
    let body = r#"{"username":"ann","plugins":{"key-auth":{"key":"ann-key"}}}"#;
    let r = radixgate_test_support::Request::new("PUT", "/apisix/admin/consumers")
        .headers(&admin_key)
        .json(body)
        .send(gw.admin_port())
        .expect("the Admin API answers");
    assert_eq!(r.status, 201, "{r:?}");
    let got = rt
        .block_on(c.get("/apisix/consumers/ann", None))
        .expect("get from etcd");
    let stored: serde_json::Value =
        serde_json::from_slice(got.kvs()[0].value()).expect("JSON in etcd");
    let sealed = stored["plugins"]["key-auth"]["key"]
        .as_str()
        .expect("a string key");
    assert_ne!(sealed, "ann-key");
    assert_eq!(
        open(b"qeddd145sfvddff3", sealed).as_deref(),
        Some("ann-key")
    );
    let shown = request(
        gw.admin_port(),
        "GET",
        "/apisix/admin/consumers/ann",
        &admin_key,
    )
    .expect("the Admin API answers")
    .json();
    assert_eq!(shown["value"]["plugins"]["key-auth"]["key"], "ann-key");
    assert!(eventually(10, || call("ann-key") == 200), "{}", gw.log());
}
