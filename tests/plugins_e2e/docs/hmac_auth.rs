//! hmac-auth's documented examples through the gateway: a request signed
//! with `hmac-sha256` over `@request-target` and `date` (the docs' Python
//! client), a wrong secret, a stale date beyond `clock_skew`, an unknown
//! `keyId`, `signed_headers` the signature must cover, `hide_credentials`,
//! and "Enable Body Validation": `validate_request_body` checks the body
//! the gateway read against the `Digest` header, and the node still gets
//! the body.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use radixgate_test_support::{Node, Request, Response};
use ring::hmac;

use super::{get, run, Check, Row};
use crate::harness;

const SIGN: &str = "Implement HMAC Authentication on a Route";
const SKEW: &str = "clock_skew";
const SIGNED: &str = "signed_headers";
const NOT_VALIDATED: &[Check] = &[Check::Body(
    r#"{"message":"client request can't be validated"}"#,
)];

fn leak(s: String) -> &'static str {
    Box::leak(s.into_boxed_str())
}

/// `Date` and `Authorization` of `GET path` signed by `key_id` with
/// `secret` over `headers` (`@request-target`, `date`, `x-custom-a`), at
/// `offset` seconds from now.
fn signed(
    key_id: &str,
    secret: &str,
    path: &str,
    headers: &str,
    offset: i64,
) -> &'static [(&'static str, &'static str)] {
    let now = std::time::SystemTime::now();
    let step = std::time::Duration::from_secs(offset.unsigned_abs());
    let at = if offset < 0 { now - step } else { now + step };
    let date = httpdate::fmt_http_date(at);
    let mut text = format!("{key_id}\n");
    for h in headers.split(' ') {
        match h {
            "@request-target" => text.push_str(&format!("GET {path}\n")),
            "date" => text.push_str(&format!("date: {date}\n")),
            "x-custom-a" => text.push_str("x-custom-a: test\n"),
            other => panic!("no value for {other}"),
        }
    }
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret.as_bytes());
    let sig = STANDARD.encode(hmac::sign(&key, text.as_bytes()).as_ref());
    let auth = format!(
        r#"Signature keyId="{key_id}",algorithm="hmac-sha256",headers="{headers}",signature="{sig}""#
    );
    Box::leak(Box::new([
        ("Date", leak(date)),
        ("x-custom-a", "test"),
        ("Authorization", leak(auth)),
    ]))
}

fn row(
    doc: &'static str,
    path: &'static str,
    headers: &'static [(&'static str, &'static str)],
    status: u16,
    checks: &'static [Check],
) -> Row {
    Row {
        headers,
        checks,
        ..get(doc, path, status)
    }
}

fn rows() -> Vec<Row> {
    let ok = "@request-target date";
    vec![
        row(
            SIGN,
            "/get",
            signed("john-key", "john-secret-key", "/get", ok, 0),
            200,
            &[
                Check::SentOnly("x-consumer-username", "john"),
                Check::SentOnly("x-credential-identifier", "cred-john-hmac-auth"),
            ],
        ),
        row(
            SIGN,
            "/get",
            signed("john-key", "wrong", "/get", ok, 0),
            401,
            NOT_VALIDATED,
        ),
        row(
            SIGN,
            "/get",
            signed("nobody", "john-secret-key", "/get", ok, 0),
            401,
            NOT_VALIDATED,
        ),
        row(
            SIGN,
            "/get",
            signed("john-key", "john-secret-key", "/other", ok, 0),
            401,
            NOT_VALIDATED,
        ),
        row(
            SIGN,
            "/get",
            &[],
            401,
            &[Check::Body(
                r#"{"message":"client request can't be validated: missing Authorization header"}"#,
            )],
        ),
        row(
            SKEW,
            "/get",
            signed("john-key", "john-secret-key", "/get", ok, -400),
            401,
            NOT_VALIDATED,
        ),
        row(
            SKEW,
            "/get",
            signed("john-key", "john-secret-key", "/get", ok, -100),
            200,
            &[],
        ),
        row(
            SIGNED,
            "/signed",
            signed("john-key", "john-secret-key", "/signed", ok, 0),
            401,
            NOT_VALIDATED,
        ),
        row(
            SIGNED,
            "/signed",
            signed(
                "john-key",
                "john-secret-key",
                "/signed",
                "@request-target date x-custom-a",
                0,
            ),
            200,
            &[],
        ),
        row(
            "hide_credentials",
            "/hidden",
            signed("john-key", "john-secret-key", "/hidden", ok, 0),
            200,
            &[
                Check::NotSent("authorization"),
                Check::SentOnly("x-consumer-username", "john"),
            ],
        ),
        row(
            "validate_request_body without a Digest",
            "/body",
            signed("john-key", "john-secret-key", "/body", ok, 0),
            401,
            NOT_VALIDATED,
        ),
    ]
}

fn config(node: &str) -> String {
    format!(
        r#"upstreams:
  - {{id: u, nodes: {{"{node}": 1}}}}
consumers:
  - {{username: john}}
  - {{id: john/credentials/cred-john-hmac-auth, plugins: {{hmac-auth: {{key_id: john-key, secret_key: john-secret-key}}}}}}
routes:
  - {{id: hmac-auth-route, uri: /get, upstream_id: u, plugins: {{hmac-auth: {{}}}}}}
  - {{id: signed, uri: /signed, upstream_id: u, plugins: {{hmac-auth: {{signed_headers: [date, x-custom-a]}}}}}}
  - {{id: hidden, uri: /hidden, upstream_id: u, plugins: {{hmac-auth: {{hide_credentials: true}}}}}}
  - {{id: body, uri: /body, upstream_id: u, plugins: {{hmac-auth: {{validate_request_body: true}}}}}}
#END
"#
    )
}

#[test]
fn hmac_auth_doc_examples() {
    let up = Node::start("u");
    let gw = harness::start_with(&config(&up.addr()), &["hmac-auth"]);
    run(&gw, &rows());
}

/// `POST /body` with `body`, signed by john over `@request-target` and
/// `date`, with `Digest: digest` when given.
fn post_body(gw: &radixgate_test_support::Gateway, body: &[u8], digest: Option<&str>) -> Response {
    let date = httpdate::fmt_http_date(std::time::SystemTime::now());
    let text = format!("john-key\nPOST /body\ndate: {date}\n");
    let key = hmac::Key::new(hmac::HMAC_SHA256, b"john-secret-key");
    let sig = STANDARD.encode(hmac::sign(&key, text.as_bytes()).as_ref());
    let auth = format!(
        r#"Signature keyId="john-key",algorithm="hmac-sha256",headers="@request-target date",signature="{sig}""#
    );
    let mut req = Request::new("POST", "/body")
        .header("Date", &date)
        .header("Authorization", &auth)
        .timeout(std::time::Duration::from_secs(30))
        .body(body.to_vec());
    if let Some(d) = digest {
        req = req.header("Digest", d);
    }
    req.send(gw.port).expect("the gateway answers")
}

/// APISIX's "Enable Body Validation": the right digest passes and the node
/// gets the same body; a wrong or missing one is 401; a body past what the
/// gateway holds for plugins is 413 (client_max_body_size unset: 8 MiB).
#[test]
fn hmac_auth_validates_the_request_body() {
    let up = Node::start("u");
    let gw = harness::start_with(&config(&up.addr()), &["hmac-auth"]);
    let body = br#"{"name": "world"}"#;
    // The docs' digest of that body.
    let digest = "SHA-256=78qzJuLwSpZ8HacsTdFCQJWxzPMOf8bYctRk2ySLpS8=";
    let r = post_body(&gw, body, Some(digest));
    assert_eq!(r.status, 200, "{r:?}\n{}", gw.log());
    assert_eq!(
        r.echoed("body").as_deref(),
        Some(r#"{"name": "world"}"#),
        "{r:?}"
    );
    assert_eq!(r.echoed("x-consumer-username").as_deref(), Some("john"));
    let wrong = "SHA-256=Ug2s7TfXpVgoLm8YV2tF0yMrL4kVeRf9WfJYU2v8x6c=";
    for (what, d) in [("a wrong digest", Some(wrong)), ("no digest", None)] {
        let r = post_body(&gw, body, d);
        assert_eq!(
            (r.status, r.body.as_str()),
            (401, r#"{"message":"client request can't be validated"}"#),
            "{what}"
        );
    }
    // The digest of another body does not pass for this one.
    let r = post_body(&gw, b"{}", Some(digest));
    assert_eq!(r.status, 401, "{r:?}");
    // 9 MiB with its Content-Length: no client_max_body_size refuses it on
    // arrival, but the gateway holds at most 8 MiB for a plugin.
    let big = vec![b'x'; 9 << 20];
    let r = post_body(&gw, &big, Some(digest));
    assert_eq!(r.status, 413, "{}", r.body);
    // The gateway goes on serving.
    assert_eq!(post_body(&gw, body, Some(digest)).status, 200);
    // A chunked body (no Content-Length) is read and forwarded alike.
    let date = httpdate::fmt_http_date(std::time::SystemTime::now());
    let text = format!("john-key\nPOST /body\ndate: {date}\n");
    let key = hmac::Key::new(hmac::HMAC_SHA256, b"john-secret-key");
    let sig = STANDARD.encode(hmac::sign(&key, text.as_bytes()).as_ref());
    let out = std::process::Command::new("curl")
        .args(["-s", "-i", "-X", "POST", "--data-binary", r#"{"name": "world"}"#])
        .args(["-H", "Transfer-Encoding: chunked", "-H", &format!("Date: {date}")])
        .args(["-H", &format!("Digest: {digest}")])
        .args(["-H", &format!(
            r#"Authorization: Signature keyId="john-key",algorithm="hmac-sha256",headers="@request-target date",signature="{sig}""#
        )])
        .arg(format!("http://127.0.0.1:{}/body", gw.port))
        .output()
        .expect("curl runs");
    let answer = String::from_utf8_lossy(&out.stdout);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}\n{}", gw.log());
    assert!(answer.contains(r#"body={"name": "world"}"#), "{answer}");
}
