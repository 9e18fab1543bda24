//! hmac-auth against the SDK's mock host.

use radixgate_plugin::abi::{HostServices, PhaseResult};
use radixgate_plugin::mock::{MockHost, MockInstance, MockRequest};

use super::lookup::{consumer_key, credential_key};
use super::signature::{sign, Fields};
use super::HmacAuth;

/// A host where consumer `john` holds key id `john-key` (secret `s3cret`).
fn host() -> MockHost {
    let host = MockHost::new();
    let value = r#"{"owner":"john","conf":{"key_id":"john-key","secret_key":"s3cret"}}"#;
    host.store_set(credential_key("john-key").as_str().into(), value.into(), 0);
    host.store_set(consumer_key("guest").as_str().into(), "guest".into(), 0);
    host
}

fn instance(config: &str) -> MockInstance {
    MockInstance::new::<HmacAuth>(config, &host()).expect("valid config")
}

fn now_date(offset: i64) -> String {
    let at = std::time::SystemTime::now()
        .checked_add(std::time::Duration::from_secs(offset.max(0) as u64))
        .and_then(|t| t.checked_sub(std::time::Duration::from_secs((-offset).max(0) as u64)))
        .expect("a time");
    httpdate::fmt_http_date(at)
}

/// A GET /a?x=1 signed over `@request-target` and `date` with `secret`.
fn signed(alg: &str, secret: &str, date: &str) -> MockRequest {
    let text = format!("john-key\nGET /a?x=1\ndate: {date}\n");
    let sig = sign(alg, secret.as_bytes(), &text).expect("an algorithm");
    let auth = format!(
        r#"Signature keyId="john-key",algorithm="{alg}",headers="@request-target date",signature="{sig}""#
    );
    MockRequest::new("GET", "/a?x=1")
        .header("Date", date)
        .header("Authorization", &auth)
}

fn outcome(plugin: &MockInstance, mut req: MockRequest) -> (u16, String) {
    match plugin.rewrite(&mut req) {
        PhaseResult::Continue => (200, req.consumer.clone().unwrap_or_default()),
        PhaseResult::Respond(r) => (r.status, String::from_utf8_lossy(&r.body).into_owned()),
        other => panic!("unexpected {other:?}"),
    }
}

const NOT_VALIDATED: &str = r#"{"message":"client request can't be validated"}"#;

#[test]
fn a_valid_signature_names_the_consumer_with_every_algorithm() {
    let plugin = instance("{}");
    for alg in ["hmac-sha1", "hmac-sha256", "hmac-sha512"] {
        assert_eq!(
            outcome(&plugin, signed(alg, "s3cret", &now_date(0))),
            (200, "john".into()),
            "{alg}"
        );
    }
}

#[test]
fn bad_signatures_keys_dates_and_headers_get_401s() {
    let plugin = instance(
        r#"{"allowed_algorithms":["hmac-sha256"],"clock_skew":60,"signed_headers":["date"]}"#,
    );
    let date = now_date(0);
    assert_eq!(
        outcome(&plugin, signed("hmac-sha256", "s3cret", &date)).0,
        200
    );
    let cases = [
        signed("hmac-sha256", "wrong", &date),
        signed("hmac-sha512", "s3cret", &date),
        signed("hmac-sha256", "s3cret", &now_date(-120)),
        signed("hmac-sha256", "s3cret", &now_date(120)),
        signed("hmac-sha256", "s3cret", "yesterday"),
        // The signed path is not the one requested.
        {
            let mut r = signed("hmac-sha256", "s3cret", &date);
            r.path = "/b".into();
            r
        },
    ];
    for req in cases {
        assert_eq!(outcome(&plugin, req), (401, NOT_VALIDATED.into()));
    }
    // An unknown keyId, and a signature not covering `date`.
    let auth = |fields: &str| {
        MockRequest::new("GET", "/a")
            .header("Date", &date)
            .header("Authorization", fields)
    };
    let sig = sign("hmac-sha256", b"s3cret", "john-key\n").expect("sig");
    for fields in [
        format!(
            r#"Signature keyId="nobody",algorithm="hmac-sha256",headers="date",signature="{sig}""#
        ),
        format!(r#"Signature keyId="john-key",algorithm="hmac-sha256",signature="{sig}""#),
        r#"Signature keyId="john-key",algorithm="hmac-sha256",signature="%%%""#.to_string(),
        r#"Signature algorithm="hmac-sha256""#.to_string(),
    ] {
        assert_eq!(
            outcome(&plugin, auth(&fields)),
            (401, NOT_VALIDATED.into()),
            "{fields}"
        );
    }
    assert_eq!(
        outcome(&plugin, MockRequest::new("GET", "/a")),
        (
            401,
            r#"{"message":"client request can't be validated: missing Authorization header"}"#
                .into()
        )
    );
    assert_eq!(
        outcome(&plugin, auth(&format!("Basic {}", "x".repeat(100_000)))),
        (
            401,
            r#"{"message":"client request can't be validated: Authorization header does not start with 'Signature'"}"#
                .into()
        )
    );
}

#[test]
fn hide_credentials_and_anonymous() {
    let plugin = instance(r#"{"hide_credentials":true}"#);
    let mut req = signed("hmac-sha256", "s3cret", &now_date(0));
    assert_eq!(plugin.rewrite(&mut req), PhaseResult::Continue);
    assert_eq!(req.header_value("Authorization"), None);
    let plugin = instance(r#"{"anonymous_consumer":"guest"}"#);
    assert_eq!(
        outcome(&plugin, MockRequest::new("GET", "/a")),
        (200, "guest".into())
    );
}

#[test]
fn validate_request_body_checks_the_digest_of_the_body() {
    let plugin = instance(r#"{"validate_request_body":true}"#);
    assert!(plugin.reads_request_body());
    assert!(!instance("{}").reads_request_body());
    let body = br#"{"name": "world"}"#;
    // APISIX's documented digest of this body.
    let digest = "SHA-256=78qzJuLwSpZ8HacsTdFCQJWxzPMOf8bYctRk2ySLpS8=";
    assert_eq!(super::signature::body_digest(body), digest);
    let request = |digest: Option<&str>, body: Option<&[u8]>| {
        let mut req = signed("hmac-sha256", "s3cret", &now_date(0));
        if let Some(d) = digest {
            req = req.header("Digest", d);
        }
        match body {
            Some(b) => req.body(b),
            None => req,
        }
    };
    let refused = (401, NOT_VALIDATED.to_string());
    assert_eq!(
        outcome(&plugin, request(Some(digest), Some(body))),
        (200, "john".into())
    );
    let other = super::signature::body_digest(b"something else");
    assert_eq!(outcome(&plugin, request(Some(&other), Some(body))), refused);
    assert_eq!(outcome(&plugin, request(None, Some(body))), refused);
    // Fail closed when the host did not read the body.
    assert_eq!(outcome(&plugin, request(Some(digest), None)), refused);
    // Without the option the digest is not looked at.
    assert_eq!(
        outcome(&instance("{}"), request(None, Some(body))),
        (200, "john".into())
    );
}

#[test]
fn the_authorization_fields_are_read_as_apisix_reads_them() {
    let f = Fields::parse(
        r#"Signature keyId="k",algorithm="hmac-sha1", headers="a b",signature="c2ln",x="y""#,
    )
    .expect("fields");
    assert_eq!(f.key_id.as_deref(), Some("k"));
    assert_eq!(f.algorithm.as_deref(), Some("hmac-sha1"));
    assert_eq!(f.headers, Some(vec!["a".to_string(), "b".to_string()]));
    assert_eq!(f.signature.as_deref(), Some("c2ln"));
    assert!(Fields::parse("Bearer x").is_err());
}
