//! jwt-auth's documented examples: a credential's HS256 key (`jack-key`)
//! in the `Authorization` header, custom header, query and cookie names,
//! `hide_credentials`, an RS256 consumer, `key_claim_name`, an expired
//! token and one within `lifetime_grace_period`, the 401s with APISIX's
//! messages and `WWW-Authenticate: Bearer realm="jwt"`, and the two
//! forgeries (`alg: none`; HS256 keyed with the RS256 consumer's public
//! key) refused through the gateway.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use radixgate_test_support::Node;
use serde_json::{json, Value};

use super::{get, run, Check, Row};
use crate::harness;

const RSA: &str = include_str!("../../fixtures/jwt/rsa.pem");
const RSA_PUB: &str = include_str!("../../fixtures/jwt/rsa.pub");
const SECRET: &str = "jack-hs256-secret-that-is-very-long";

const ON_ROUTE: &str = "Use JWT for Consumer Authentication";
const WHERE: &str = "Carry JWT in Request Header, Query String, or Cookie";
const HIDE: &str = "hide_credentials";
const RS256: &str = "Use RS256 Algorithm";
const TIME: &str = "exp, nbf and lifetime_grace_period";
const FORGED: &str = "forged tokens";

/// Unix seconds now.
fn now() -> i64 {
    let since = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("a clock after 1970");
    since.as_secs() as i64
}

fn hs256(secret: &[u8], claims: Value) -> &'static str {
    let key = EncodingKey::from_secret(secret);
    leak(encode(&Header::new(Algorithm::HS256), &claims, &key).expect("signed"))
}

fn rs256(claims: Value) -> &'static str {
    let key = EncodingKey::from_rsa_pem(RSA.as_bytes()).expect("RSA key");
    leak(encode(&Header::new(Algorithm::RS256), &claims, &key).expect("signed"))
}

/// Rows are `'static`; tokens are made per run.
fn leak(s: String) -> &'static str {
    Box::leak(s.into_boxed_str())
}

fn header(name: &'static str, value: &'static str) -> &'static [(&'static str, &'static str)] {
    Box::leak(Box::new([(name, value)]))
}

/// A GET row with one request header.
fn with(
    doc: &'static str,
    path: &'static str,
    h: (&'static str, &'static str),
    status: u16,
) -> Row {
    Row {
        headers: header(h.0, h.1),
        ..get(doc, path, status)
    }
}

fn message(text: &'static str) -> &'static [Check] {
    let body = leak(format!(r#"{{"message":"{text}"}}"#));
    Box::leak(Box::new([
        Check::Body(body),
        Check::Header("WWW-Authenticate", r#"Bearer realm="jwt""#),
    ]))
}

fn rows() -> Vec<Row> {
    let t = now();
    let jack = hs256(
        SECRET.as_bytes(),
        json!({"key": "jack-key", "exp": t + 600, "nbf": t - 5}),
    );
    let bearer = leak(format!("Bearer {jack}"));
    let part = |v: Value| URL_SAFE_NO_PAD.encode(v.to_string());
    let none = leak(format!(
        "{}.{}.",
        part(json!({"alg": "none", "typ": "JWT"})),
        part(json!({"key": "jack-key"}))
    ));
    let confused = hs256(RSA_PUB.as_bytes(), json!({"key": "rsa-key"}));
    let consumer_is = |user: &'static str| -> &'static [Check] {
        Box::leak(Box::new([Check::SentOnly("x-consumer-username", user)]))
    };
    vec![
        Row {
            checks: Box::leak(Box::new([
                Check::SentOnly("x-consumer-username", "jack"),
                Check::SentOnly("x-credential-identifier", "cred-jack-jwt-auth"),
                Check::Sent("authorization", bearer),
            ])),
            ..with(ON_ROUTE, "/headers", ("Authorization", bearer), 200)
        },
        Row {
            checks: consumer_is("jack"),
            ..with(ON_ROUTE, "/headers", ("Authorization", jack), 200)
        },
        Row {
            checks: message("Missing JWT token in request"),
            ..get(ON_ROUTE, "/headers", 401)
        },
        Row {
            checks: message("JWT token invalid"),
            ..with(
                ON_ROUTE,
                "/headers",
                ("Authorization", "Bearer not.a.jwt"),
                401,
            )
        },
        Row {
            checks: message("failed to verify jwt"),
            ..with(
                ON_ROUTE,
                "/headers",
                (
                    "Authorization",
                    hs256(b"wrong-secret", json!({"key": "jack-key"})),
                ),
                401,
            )
        },
        Row {
            checks: message("Invalid user key in JWT token"),
            ..with(
                ON_ROUTE,
                "/headers",
                (
                    "Authorization",
                    hs256(SECRET.as_bytes(), json!({"key": "nobody"})),
                ),
                401,
            )
        },
        Row {
            checks: consumer_is("jack"),
            ..with(WHERE, "/where", ("jwt-auth-header", jack), 200)
        },
        Row {
            checks: consumer_is("jack"),
            ..get(WHERE, leak(format!("/where?jwt-query={jack}")), 200)
        },
        Row {
            checks: consumer_is("jack"),
            ..with(
                WHERE,
                "/where",
                ("Cookie", leak(format!("a=b; jwt-cookie={jack}"))),
                200,
            )
        },
        Row {
            checks: message("Missing JWT token in request"),
            ..with(WHERE, "/where", ("Authorization", bearer), 401)
        },
        Row {
            checks: Box::leak(Box::new([
                Check::NotSent("authorization"),
                Check::SentOnly("x-consumer-username", "jack"),
            ])),
            ..with(HIDE, "/hidden", ("Authorization", bearer), 200)
        },
        Row {
            checks: Box::leak(Box::new([Check::Sent("path", "/hidden?a=1")])),
            ..get(HIDE, leak(format!("/hidden?a=1&jwt={jack}")), 200)
        },
        Row {
            checks: consumer_is("rsa"),
            ..with(
                RS256,
                "/headers",
                ("Authorization", rs256(json!({"key": "rsa-key"}))),
                200,
            )
        },
        Row {
            checks: consumer_is("jack"),
            ..with(
                "key_claim_name",
                "/iss",
                (
                    "Authorization",
                    hs256(SECRET.as_bytes(), json!({"iss": "jack-key"})),
                ),
                200,
            )
        },
        Row {
            checks: message("failed to verify jwt"),
            ..with(
                TIME,
                "/headers",
                (
                    "Authorization",
                    hs256(SECRET.as_bytes(), json!({"key": "jack-key", "exp": t - 10})),
                ),
                401,
            )
        },
        Row {
            checks: message("failed to verify jwt"),
            ..with(
                TIME,
                "/headers",
                (
                    "Authorization",
                    hs256(
                        SECRET.as_bytes(),
                        json!({"key": "jack-key", "nbf": t + 600}),
                    ),
                ),
                401,
            )
        },
        Row {
            checks: consumer_is("late"),
            ..with(
                TIME,
                "/headers",
                (
                    "Authorization",
                    hs256(b"late-secret", json!({"key": "late-key", "exp": t - 10})),
                ),
                200,
            )
        },
        Row {
            checks: message("failed to verify jwt"),
            ..with(
                TIME,
                "/headers",
                (
                    "Authorization",
                    hs256(b"late-secret", json!({"key": "late-key", "exp": t - 600})),
                ),
                401,
            )
        },
        Row {
            checks: message("failed to verify jwt"),
            ..with(FORGED, "/headers", ("Authorization", none), 401)
        },
        Row {
            checks: message("failed to verify jwt"),
            ..with(FORGED, "/headers", ("Authorization", confused), 401)
        },
    ]
}

fn config(node: &str) -> String {
    let rsa_pub = serde_json::to_string(RSA_PUB).expect("JSON");
    format!(
        r#"upstreams:
  - {{id: u, nodes: {{"{node}": 1}}}}
consumers:
  - {{username: jack}}
  - {{id: jack/credentials/cred-jack-jwt-auth, plugins: {{jwt-auth: {{key: jack-key, secret: {SECRET}}}}}}}
  - {{username: rsa, plugins: {{jwt-auth: {{key: rsa-key, algorithm: RS256, public_key: {rsa_pub}}}}}}}
  - {{username: late, plugins: {{jwt-auth: {{key: late-key, secret: late-secret, lifetime_grace_period: 60}}}}}}
routes:
  - {{id: jwt-route, uri: /headers, upstream_id: u, plugins: {{jwt-auth: {{}}}}}}
  - {{id: where, uri: /where, upstream_id: u, plugins: {{jwt-auth: {{header: jwt-auth-header, query: jwt-query, cookie: jwt-cookie}}}}}}
  - {{id: hidden, uri: /hidden, upstream_id: u, plugins: {{jwt-auth: {{hide_credentials: true}}}}}}
  - {{id: iss, uri: /iss, upstream_id: u, plugins: {{jwt-auth: {{key_claim_name: iss}}}}}}
#END
"#
    )
}

#[test]
fn jwt_auth_doc_examples() {
    let up = Node::start("u");
    let gw = harness::start_with(&config(&up.addr()), &["jwt-auth"]);
    run(&gw, &rows());
}
