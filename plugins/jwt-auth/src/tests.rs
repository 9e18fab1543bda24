//! jwt-auth against the SDK's mock host: where the token is read, every
//! algorithm, the time claims and their grace period, APISIX's 401s, and
//! the two classic forgeries (`alg: none`, and a token signed with another
//! algorithm than the consumer's: HS256 keyed with an RS256 consumer's
//! public key).

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use radixgate_plugin::abi::{HostServices, PhaseResult};
use radixgate_plugin::mock::{MockHost, MockInstance, MockRequest};
use radixgate_plugin::serde_json::{json, Value};

use super::lookup::{consumer_key, credential_key};
use super::JwtAuth;

const RSA: &str = include_str!("../../../tests/fixtures/jwt/rsa.pem");
const RSA_PUB: &str = include_str!("../../../tests/fixtures/jwt/rsa.pub");
const EC: &str = include_str!("../../../tests/fixtures/jwt/ec.pem");
const EC_PUB: &str = include_str!("../../../tests/fixtures/jwt/ec.pub");
const EC384: &str = include_str!("../../../tests/fixtures/jwt/ec384.pem");
const EC384_PUB: &str = include_str!("../../../tests/fixtures/jwt/ec384.pub");
const ED: &str = include_str!("../../../tests/fixtures/jwt/ed.pem");
const ED_PUB: &str = include_str!("../../../tests/fixtures/jwt/ed.pub");

/// The mock host's clock (the system's), in unix seconds.
fn now() -> i64 {
    let since = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("a clock after 1970");
    since.as_secs() as i64
}

/// A host whose consumers hold jwt-auth keys: `<alg>-key` for each
/// algorithm (consumer `<alg>`), plus `b64-key` (a base64 secret), `grace`
/// (60 s of grace) and a credential `cred-key` of jack's.
fn host() -> MockHost {
    let host = MockHost::new();
    let publish = |key: &str, owner: &str, conf: Value| {
        let value = json!({"owner": owner, "conf": conf}).to_string();
        host.store_set(
            credential_key(key).as_str().into(),
            value.as_str().into(),
            0,
        );
    };
    for alg in ["HS256", "HS384", "HS512"] {
        publish(
            &format!("{alg}-key"),
            alg,
            json!({"key": format!("{alg}-key"), "secret": "my-secret", "algorithm": alg}),
        );
    }
    for (alg, public) in [
        ("RS256", RSA_PUB),
        ("RS512", RSA_PUB),
        ("PS256", RSA_PUB),
        ("ES256", EC_PUB),
        ("ES384", EC384_PUB),
        ("EdDSA", ED_PUB),
    ] {
        publish(
            &format!("{alg}-key"),
            alg,
            json!({"key": format!("{alg}-key"), "public_key": public, "algorithm": alg}),
        );
    }
    publish(
        "b64-key",
        "b64",
        json!({"key": "b64-key", "secret": STANDARD.encode(b"\x00raw\xffbytes"), "base64_secret": true}),
    );
    publish(
        "grace",
        "grace",
        json!({"key": "grace", "secret": "my-secret", "lifetime_grace_period": 60}),
    );
    publish(
        "cred-key",
        "jack/credentials/c1",
        json!({"key": "cred-key", "secret": "my-secret"}),
    );
    host.store_set(consumer_key("guest").as_str().into(), "guest".into(), 0);
    host
}

fn instance(config: &str) -> MockInstance {
    MockInstance::new::<JwtAuth>(config, &host()).expect("valid config")
}

/// A token of `claims` signed with `alg` and `key` (PEM, or a secret).
fn sign(alg: Algorithm, key: &[u8], claims: Value) -> String {
    let key = match alg {
        Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512 => EncodingKey::from_secret(key),
        Algorithm::ES256 | Algorithm::ES384 => EncodingKey::from_ec_pem(key).expect("EC key"),
        Algorithm::EdDSA => EncodingKey::from_ed_pem(key).expect("Ed25519 key"),
        _ => EncodingKey::from_rsa_pem(key).expect("RSA key"),
    };
    encode(&Header::new(alg), &claims, &key).expect("a signed token")
}

fn hs256(claims: Value) -> String {
    sign(Algorithm::HS256, b"my-secret", claims)
}

fn bearer(token: &str) -> MockRequest {
    MockRequest::new("GET", "/a").header("Authorization", &format!("Bearer {token}"))
}

/// The status and body a request gets (200 for `Continue`).
fn outcome(plugin: &MockInstance, req: &mut MockRequest) -> (u16, String) {
    match plugin.rewrite(req) {
        PhaseResult::Continue => (200, req.consumer.clone().unwrap_or_default()),
        PhaseResult::Respond(r) => (r.status, String::from_utf8_lossy(&r.body).into_owned()),
        other => panic!("unexpected {other:?}"),
    }
}

fn refused(message: &str) -> (u16, String) {
    (401, format!(r#"{{"message":"{message}"}}"#))
}

#[test]
fn every_algorithm_with_its_consumers_key() {
    let plugin = instance("{}");
    let exp = now() + 60;
    let cases: [(Algorithm, &[u8]); 9] = [
        (Algorithm::HS256, b"my-secret"),
        (Algorithm::HS384, b"my-secret"),
        (Algorithm::HS512, b"my-secret"),
        (Algorithm::RS256, RSA.as_bytes()),
        (Algorithm::RS512, RSA.as_bytes()),
        (Algorithm::PS256, RSA.as_bytes()),
        (Algorithm::ES256, EC.as_bytes()),
        (Algorithm::ES384, EC384.as_bytes()),
        (Algorithm::EdDSA, ED.as_bytes()),
    ];
    for (alg, key) in cases {
        let name = format!("{alg:?}");
        let token = sign(alg, key, json!({"key": format!("{name}-key"), "exp": exp}));
        let mut req = bearer(&token);
        assert_eq!(outcome(&plugin, &mut req), (200, name.clone()), "{name}");
        assert_eq!(req.header_value("X-Consumer-Username"), Some(name.as_str()));
    }
    // base64_secret: the decoded bytes are the key.
    let token = sign(
        Algorithm::HS256,
        b"\x00raw\xffbytes",
        json!({"key": "b64-key"}),
    );
    assert_eq!(outcome(&plugin, &mut bearer(&token)), (200, "b64".into()));
    // A credential's key names its consumer and the credential.
    let mut req = bearer(&hs256(json!({"key": "cred-key"})));
    assert_eq!(outcome(&plugin, &mut req), (200, "jack".into()));
    assert_eq!(req.header_value("X-Credential-Identifier"), Some("c1"));
}

#[test]
fn alg_none_and_another_algorithm_than_the_consumers_are_refused() {
    let plugin = instance("{}");
    let part = |v: Value| URL_SAFE_NO_PAD.encode(v.to_string());
    let payload = part(json!({"key": "HS256-key"}));
    for alg in ["none", "None", "NONE"] {
        let unsigned = format!("{}.{payload}.", part(json!({"alg": alg, "typ": "JWT"})));
        assert_eq!(
            outcome(&plugin, &mut bearer(&unsigned)),
            refused("failed to verify jwt"),
            "{alg}"
        );
    }
    // HS256 keyed with the RS256 consumer's public key (which an attacker
    // knows): refused, the consumer's algorithm is RS256.
    let forged = sign(
        Algorithm::HS256,
        RSA_PUB.as_bytes(),
        json!({"key": "RS256-key"}),
    );
    assert_eq!(
        outcome(&plugin, &mut bearer(&forged)),
        refused("failed to verify jwt")
    );
    // The right secret with another HMAC than the consumer's.
    let other = sign(Algorithm::HS512, b"my-secret", json!({"key": "HS256-key"}));
    assert_eq!(
        outcome(&plugin, &mut bearer(&other)),
        refused("failed to verify jwt")
    );
    // RS512 with the right key, for an RS256 consumer.
    let other = sign(
        Algorithm::RS512,
        RSA.as_bytes(),
        json!({"key": "RS256-key"}),
    );
    assert_eq!(
        outcome(&plugin, &mut bearer(&other)),
        refused("failed to verify jwt")
    );
}

#[test]
fn apisix_messages_and_the_realm() {
    let plugin = instance(r#"{"realm":"gate"}"#);
    let mut req = MockRequest::new("GET", "/a");
    match plugin.rewrite(&mut req) {
        PhaseResult::Respond(r) => {
            assert_eq!(r.status, 401);
            let challenge = r
                .headers
                .iter()
                .find(|h| h.0.as_str() == "WWW-Authenticate");
            assert_eq!(
                challenge.map(|h| h.1.as_str()),
                Some(r#"Bearer realm="gate""#)
            );
        }
        other => panic!("unexpected {other:?}"),
    }
    let cases = [
        ("not-a-token", "JWT token invalid"),
        ("a.b.c", "JWT token invalid"),
        (&"x".repeat(100_000), "JWT token invalid"),
        (
            &hs256(json!({"sub": "nobody"})),
            "missing user key in JWT token",
        ),
        (
            &hs256(json!({"key": "nobody"})),
            "Invalid user key in JWT token",
        ),
        (&hs256(json!({"key": 7})), "Invalid user key in JWT token"),
        (
            &sign(Algorithm::HS256, b"wrong", json!({"key": "HS256-key"})),
            "failed to verify jwt",
        ),
    ];
    for (token, message) in cases {
        assert_eq!(
            outcome(&plugin, &mut bearer(token)),
            refused(message),
            "{message}"
        );
    }
    assert_eq!(
        outcome(&plugin, &mut MockRequest::new("GET", "/a")),
        refused("Missing JWT token in request")
    );
}

#[test]
fn exp_and_nbf_with_the_grace_period() {
    let plugin = instance("{}");
    let t = now();
    let check = |claims: Value| outcome(&plugin, &mut bearer(&hs256(claims)));
    assert_eq!(
        check(json!({"key": "HS256-key", "exp": t - 5})),
        refused("failed to verify jwt")
    );
    assert_eq!(
        check(json!({"key": "HS256-key", "nbf": t + 30})),
        refused("failed to verify jwt")
    );
    assert_eq!(
        check(json!({"key": "HS256-key", "exp": "soon"})),
        refused("failed to verify jwt")
    );
    assert_eq!(
        check(json!({"key": "HS256-key", "exp": t + 30, "nbf": t - 1})).0,
        200
    );
    // 60 s of grace: 30 s late or early passes, 90 s does not.
    assert_eq!(check(json!({"key": "grace", "exp": t - 30})).0, 200);
    assert_eq!(check(json!({"key": "grace", "nbf": t + 30})).0, 200);
    assert_eq!(
        check(json!({"key": "grace", "exp": t - 90})),
        refused("failed to verify jwt")
    );
    // Only the claims listed are checked.
    let plugin = instance(r#"{"claims_to_verify":["nbf"]}"#);
    let expired = hs256(json!({"key": "HS256-key", "exp": t - 5}));
    assert_eq!(outcome(&plugin, &mut bearer(&expired)).0, 200);
}

#[test]
fn header_query_cookie_and_hide_credentials() {
    let token = hs256(json!({"key": "HS256-key"}));
    let plugin = instance(r#"{"hide_credentials":true}"#);
    // The header, without Bearer too.
    let mut req = MockRequest::new("GET", "/a").header("Authorization", &token);
    assert_eq!(outcome(&plugin, &mut req).0, 200);
    assert_eq!(req.header_value("Authorization"), None);
    // The query argument, removed from the query.
    let mut req = MockRequest::new("GET", &format!("/a?x=1&jwt={token}&y=2"));
    assert_eq!(outcome(&plugin, &mut req).0, 200);
    assert_eq!(req.query, "x=1&y=2");
    // The cookie, removed from the others.
    let mut req = MockRequest::new("GET", "/a").header("Cookie", &format!("a=1; jwt={token}; b=2"));
    assert_eq!(outcome(&plugin, &mut req).0, 200);
    assert_eq!(req.header_value("Cookie"), Some("a=1; b=2"));
    // Custom names; the defaults are then not read.
    let plugin = instance(r#"{"header":"X-Token","query":"t","cookie":"c"}"#);
    let mut req = MockRequest::new("GET", "/a").header("X-Token", &token);
    assert_eq!(outcome(&plugin, &mut req).0, 200);
    let mut req = MockRequest::new("GET", &format!("/a?t={token}"));
    assert_eq!(outcome(&plugin, &mut req).0, 200);
    let mut req = MockRequest::new("GET", "/a").header("Cookie", &format!("c={token}"));
    assert_eq!(outcome(&plugin, &mut req).0, 200);
    let mut req = bearer(&token);
    assert_eq!(
        outcome(&plugin, &mut req),
        refused("Missing JWT token in request")
    );
}

#[test]
fn key_claim_name_anonymous_consumer_and_store_in_ctx() {
    let plugin = instance(r#"{"key_claim_name":"iss","store_in_ctx":true}"#);
    let mut req = bearer(&hs256(json!({"iss": "HS256-key", "role": "admin"})));
    assert_eq!(outcome(&plugin, &mut req).0, 200);
    let payload: Value = serde_json(req.vars.get("jwt_auth_payload").expect("payload stored"));
    assert_eq!(payload["role"], "admin");

    let plugin = instance(r#"{"anonymous_consumer":"guest"}"#);
    let mut req = bearer("garbage");
    assert_eq!(outcome(&plugin, &mut req), (200, "guest".into()));
    let plugin = instance(r#"{"anonymous_consumer":"ghost"}"#);
    assert_eq!(
        outcome(&plugin, &mut MockRequest::new("GET", "/a")),
        refused("Invalid user authorization")
    );
}

fn serde_json(text: &str) -> Value {
    radixgate_plugin::serde_json::from_str(text).expect("JSON")
}
