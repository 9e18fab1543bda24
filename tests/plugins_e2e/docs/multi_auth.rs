//! multi-auth's documented example ("Allow Different Authentications on
//! the Same Route"), with a jwt-auth consumer beside the docs' basic-auth
//! and key-auth ones: each consumer passes with its own credential, the
//! first listed plugin that names a consumer wins, the others' 401s are
//! dropped, and a request no listed plugin accepts gets APISIX's 401
//! `{"message":"Authorization Failed"}`. The consumer named brings its own
//! plugins (limit-count), a listed plugin may wait on the host before it
//! decides (`test-wait-auth`), and configs the host cannot run are refused
//! naming the entry.

use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use radixgate_test_support::Node;
use serde_json::json;

use super::{get, run, Check, Row};
use crate::harness::{self, post};

const DOC: &str = "Allow Different Authentications on the Same Route";
const SECRET: &str = "consumer3-hs256-secret-that-is-long";
const FAILED: Check = Check::Body(r#"{"message":"Authorization Failed"}"#);

type Headers = &'static [(&'static str, &'static str)];

/// `-u consumer1:consumer1_pwd`.
const BASIC: (&str, &str) = ("Authorization", "Basic Y29uc3VtZXIxOmNvbnN1bWVyMV9wd2Q=");
/// `-u consumer1:wrong`.
const BAD_BASIC: (&str, &str) = ("Authorization", "Basic Y29uc3VtZXIxOndyb25n");
const KEY: (&str, &str) = ("apikey", "consumer2_pwd");

/// A GET row with these request headers.
fn with(doc: &'static str, path: &'static str, headers: Headers, status: u16) -> Row {
    Row {
        headers,
        ..get(doc, path, status)
    }
}

fn leak<T: ?Sized>(b: Box<T>) -> &'static T {
    Box::leak(b)
}

fn rows() -> Vec<Row> {
    let claims = json!({"key": "consumer3-key"});
    let token = encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(SECRET.as_bytes()),
    )
    .expect("signed");
    let bearer: &'static str = leak(format!("Bearer {token}").into_boxed_str());
    let consumer = |user: &'static str| -> &'static [Check] {
        leak(Box::new([Check::SentOnly("x-consumer-username", user)]))
    };
    vec![
        Row {
            checks: &[
                Check::SentOnly("x-consumer-username", "consumer1"),
                Check::SentOnly("x-credential-identifier", "cred-consumer1-basic-auth"),
                Check::Sent("authorization", BASIC.1),
            ],
            ..with(DOC, "/anything", leak(Box::new([BASIC])), 200)
        },
        // key-auth's hide_credentials: the key does not reach the node.
        Row {
            checks: &[
                Check::SentOnly("x-consumer-username", "consumer2"),
                Check::NotSent("apikey"),
            ],
            ..with(DOC, "/anything", leak(Box::new([KEY])), 200)
        },
        Row {
            checks: &[
                Check::SentOnly("x-consumer-username", "consumer2"),
                Check::Sent("path", "/anything?a=1"),
            ],
            ..get(DOC, "/anything?apikey=consumer2_pwd&a=1", 200)
        },
        Row {
            checks: consumer("consumer3"),
            ..with(
                "a jwt-auth consumer",
                "/anything",
                leak(Box::new([("Authorization", bearer)])),
                200,
            )
        },
        // Neither basic-auth's nor key-auth's nor jwt-auth's 401 shows.
        Row {
            checks: &[FAILED, Check::NoHeader("WWW-Authenticate")],
            ..get(DOC, "/anything", 401)
        },
        Row {
            checks: &[FAILED],
            ..with(
                "a wrong password, no key",
                "/anything",
                leak(Box::new([BAD_BASIC])),
                401,
            )
        },
        Row {
            checks: &[FAILED],
            ..with("a wrong key", "/anything", &[("apikey", "nope")], 401)
        },
        // basic-auth refuses, key-auth accepts: the request passes.
        Row {
            checks: consumer("consumer2"),
            ..with(
                "a wrong password and a good key",
                "/anything",
                leak(Box::new([BAD_BASIC, KEY])),
                200,
            )
        },
        // Both would pass: the first listed wins.
        Row {
            checks: consumer("consumer1"),
            ..with(
                "basic-auth listed first",
                "/anything",
                leak(Box::new([BASIC, KEY])),
                200,
            )
        },
        Row {
            checks: &[
                Check::SentOnly("x-consumer-username", "consumer2"),
                Check::Sent("authorization", BASIC.1),
            ],
            ..with(
                "key-auth listed first",
                "/reversed",
                leak(Box::new([BASIC, KEY])),
                200,
            )
        },
        // The consumer named brings its plugins: limited's limit-count.
        Row {
            checks: consumer("limited"),
            ..with(
                "the consumer's own plugins",
                "/anything",
                &[("apikey", "limited-key")],
                200,
            )
        },
        with(
            "the consumer's own plugins",
            "/anything",
            &[("apikey", "limited-key")],
            429,
        ),
        // A listed plugin that waits on the host before it decides: the
        // phase resumes with its decision, and the next plugin after a
        // refusal.
        Row {
            checks: &[Check::SentOnly("x-wait-auth", "w")],
            ..with(
                "a listed plugin that waits",
                "/waiting",
                &[("x-wait-user", "w")],
                200,
            )
        },
        Row {
            checks: &[
                Check::SentOnly("x-consumer-username", "consumer2"),
                Check::NotSent("x-wait-auth"),
            ],
            ..with(
                "a listed plugin that waits, then refuses",
                "/waiting",
                leak(Box::new([KEY])),
                200,
            )
        },
        Row {
            checks: &[FAILED],
            ..get("a listed plugin that waits, then refuses", "/waiting", 401)
        },
        Row {
            checks: &[Check::SentOnly("x-wait-auth", "w")],
            ..with(
                "a plugin that waits after one that refuses",
                "/waiting-last",
                &[("x-wait-user", "w")],
                200,
            )
        },
        // A config listing a plugin that is not an auth plugin is refused
        // when the file loads: the route is absent.
        get("a config the host refuses", "/refused", 404),
    ]
}

fn config(node: &str) -> String {
    format!(
        r#"upstreams:
  - {{id: u, nodes: {{"{node}": 1}}}}
consumers:
  - {{username: consumer1}}
  - {{id: consumer1/credentials/cred-consumer1-basic-auth, plugins: {{basic-auth: {{username: consumer1, password: consumer1_pwd}}}}}}
  - {{username: consumer2}}
  - {{id: consumer2/credentials/cred-consumer2-key-auth, plugins: {{key-auth: {{key: consumer2_pwd}}}}}}
  - {{username: consumer3, plugins: {{jwt-auth: {{key: consumer3-key, secret: {SECRET}}}}}}}
  - {{username: consumer4, plugins: {{hmac-auth: {{key_id: consumer4-key, secret_key: consumer4-secret}}}}}}
  - {{username: limited, plugins: {{key-auth: {{key: limited-key}}, limit-count: {{count: 1, time_window: 60, rejected_code: 429}}}}}}
routes:
  - id: multi-auth-route
    uri: /anything
    upstream_id: u
    plugins:
      multi-auth:
        auth_plugins:
          - basic-auth: {{}}
          - key-auth: {{hide_credentials: true, header: apikey, query: apikey}}
          - jwt-auth: {{}}
  - id: reversed
    uri: /reversed
    upstream_id: u
    plugins:
      multi-auth: {{auth_plugins: [{{key-auth: {{}}}}, {{basic-auth: {{}}}}]}}
  - id: waiting
    uri: /waiting
    upstream_id: u
    plugins:
      multi-auth: {{auth_plugins: [{{test-wait-auth: {{sleep_ms: 50}}}}, {{key-auth: {{}}}}]}}
  - id: waiting-last
    uri: /waiting-last
    upstream_id: u
    plugins:
      multi-auth: {{auth_plugins: [{{key-auth: {{}}}}, {{test-wait-auth: {{sleep_ms: 50}}}}]}}
  - id: signed-body
    uri: /signed-body
    upstream_id: u
    plugins:
      multi-auth: {{auth_plugins: [{{key-auth: {{}}}}, {{hmac-auth: {{validate_request_body: true}}}}]}}
  - id: refused
    uri: /refused
    upstream_id: u
    plugins:
      multi-auth: {{auth_plugins: [{{key-auth: {{}}}}, {{limit-count: {{count: 1, time_window: 60}}}}]}}
#END
"#
    )
}

const PLUGINS: [&str; 7] = [
    "multi-auth",
    "basic-auth",
    "key-auth",
    "jwt-auth",
    "limit-count",
    "test-wait-auth",
    "hmac-auth",
];

#[test]
fn multi_auth_doc_examples() {
    let up = Node::start("u");
    let gw = harness::start_with(&config(&up.addr()), &PLUGINS);
    run(&gw, &rows());
    assert!(
        gw.log()
            .contains("auth_plugins[1]: limit-count plugin is not supported"),
        "{}",
        gw.log()
    );
}

/// A listed plugin that reads the request body (hmac-auth with
/// `validate_request_body`) makes the gateway read it for the route, as
/// when it is on the route itself: a body signed with its `Digest` passes
/// and reaches the node, a body that differs does not.
#[test]
fn multi_auth_reads_the_body_for_a_listed_plugin_that_reads_it() {
    use base64::engine::general_purpose::STANDARD;
    use base64::Engine;
    let up = Node::start("u");
    let gw = harness::start_with(&config(&up.addr()), &PLUGINS);
    let post = |body: &str| {
        let date = httpdate::fmt_http_date(std::time::SystemTime::now());
        let text = format!("consumer4-key\nPOST /signed-body\ndate: {date}\n");
        let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, b"consumer4-secret");
        let sig = STANDARD.encode(ring::hmac::sign(&key, text.as_bytes()).as_ref());
        let digest = ring::digest::digest(&ring::digest::SHA256, b"signed body");
        radixgate_test_support::Request::new("POST", "/signed-body")
            .header("Date", &date)
            .header(
                "Authorization",
                &format!(
                    r#"Signature keyId="consumer4-key",algorithm="hmac-sha256",headers="@request-target date",signature="{sig}""#
                ),
            )
            .header("Digest", &format!("SHA-256={}", STANDARD.encode(digest.as_ref())))
            .body(body)
            .send(gw.port)
            .expect("an answer")
    };
    let r = post("signed body");
    assert_eq!(r.status, 200, "{r:?}\n{}", gw.log());
    assert_eq!(r.echoed("body").as_deref(), Some("signed body"));
    assert_eq!(
        r.echoed("x-consumer-username").as_deref(),
        Some("consumer4")
    );
    let r = post("another body");
    assert_eq!(
        (r.status, r.body.as_str()),
        (401, r#"{"message":"Authorization Failed"}"#)
    );
}

/// The Admin API checks each listed plugin's config against that plugin's
/// schema and refuses what multi-auth cannot run, naming the entry.
#[test]
fn multi_auth_configs_are_checked_entry_by_entry() {
    let gw = harness::start_with("routes: []\n#END\n", &PLUGINS);
    let admin = gw.admin_port();
    let cases = [
        (r#"[{"key-auth":{}}]"#, "has less than 2 items"),
        (
            r#"[{"key-auth":{}},{"limit-count":{"count":1,"time_window":60}}]"#,
            "auth_plugins[1]: limit-count plugin is not supported",
        ),
        (
            r#"[{"basic-auth":{}},{"key-auth":{"header":5}}]"#,
            "auth_plugins[1].key-auth: header",
        ),
        (
            r#"[{"basic-auth":{}},{"nope":{}}]"#,
            "auth_plugins[1]: unknown plugin [nope]",
        ),
        (
            r#"[{"basic-auth":{}},{"multi-auth":{"auth_plugins":[]}}]"#,
            "auth_plugins[1]: multi-auth plugin is not supported",
        ),
    ];
    let route = |list: &str| {
        format!(
            r#"{{"uri":"/x","upstream":{{"nodes":{{"127.0.0.1:1":1}}}},"plugins":{{"multi-auth":{{"auth_plugins":{list}}}}}}}"#
        )
    };
    let mut failed = Vec::new();
    for (list, want) in cases {
        let (status, body) = post(admin, "/apisix/admin/schema/validate/routes", &route(list));
        let prefix = "failed to check the configuration of plugin multi-auth err:";
        if status != 400 || !body.contains(prefix) || !body.contains(want) {
            failed.push(format!("{list}: {status} {body}, want 400 with {want:?}"));
        }
    }
    let good = r#"[{"basic-auth":{}},{"key-auth":{"header":"apikey"}}]"#;
    let (status, body) = post(admin, "/apisix/admin/schema/validate/routes", &route(good));
    if status != 200 {
        failed.push(format!("{good}: {status} {body}, want 200"));
    }
    assert!(failed.is_empty(), "{}", failed.join("\n"));
}
