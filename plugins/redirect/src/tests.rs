//! redirect against the SDK's mock host.

use radixgate_plugin::abi::PhaseResult;
use radixgate_plugin::mock::{MockHost, MockInstance, MockRequest};

use super::location::encode;
use super::Redirect;

fn instance(config: &str) -> Result<MockInstance, String> {
    MockInstance::new::<Redirect>(config, &MockHost::new())
}

/// The (status, Location) `config` answers `req` with; `None` when the
/// request goes on.
fn answer(config: &str, mut req: MockRequest) -> Option<(u16, String)> {
    match instance(config).expect("valid config").rewrite(&mut req) {
        PhaseResult::Continue => None,
        PhaseResult::Respond(r) => {
            let location = r
                .headers
                .iter()
                .find(|h| h.0.as_str().eq_ignore_ascii_case("location"))
                .map(|h| h.1.to_string())
                .expect("a Location header");
            Some((r.status, location))
        }
        other => panic!("unexpected {other:?}"),
    }
}

fn get(uri: &str) -> MockRequest {
    MockRequest::new("GET", uri).header("Host", "example.com:9080")
}

#[test]
fn uri_with_variables_and_the_default_code() {
    let cases = [
        (
            r#"{"uri":"/test/default.html","ret_code":301}"#,
            "/test/index.html",
            301,
            "/test/default.html",
        ),
        (
            r#"{"uri":"$uri/index.html"}"#,
            "/test",
            302,
            "/test/index.html",
        ),
        (r#"{"uri":"${uri}x/$arg_a"}"#, "/p?a=1", 302, "/px/1"),
        // An unknown variable is empty, as in APISIX.
        (r#"{"uri":"/a$nope/b"}"#, "/", 302, "/a/b"),
        (r#"{"uri":"/\\$lit"}"#, "/", 302, "/$lit"),
        (
            r#"{"uri":"https://example.com/foo/bar"}"#,
            "/",
            302,
            "https://example.com/foo/bar",
        ),
    ];
    for (config, path, code, location) in cases {
        assert_eq!(
            answer(config, get(path)),
            Some((code, location.to_string())),
            "{config} {path}"
        );
    }
}

#[test]
fn regex_uri_redirects_only_what_matches() {
    let config = r#"{"regex_uri":["^/iresty/(.*)/(.*)/(.*)","/$1-$2-$3"]}"#;
    assert_eq!(
        answer(config, get("/iresty/a/b/c")),
        Some((302, "/a-b-c".into()))
    );
    assert_eq!(answer(config, get("/other")), None);
}

#[test]
fn http_to_https_keeps_the_request_uri() {
    let config = r#"{"http_to_https":true}"#;
    assert_eq!(
        answer(config, get("/hello?x=1")),
        Some((301, "https://example.com/hello?x=1".into()))
    );
    let post = MockRequest::new("POST", "/hello").header("Host", "example.com");
    assert_eq!(
        answer(config, post),
        Some((308, "https://example.com/hello".into()))
    );
    // false alone is accepted and redirects nothing, as in APISIX.
    assert_eq!(answer(r#"{"http_to_https":false}"#, get("/hello")), None);
    // Already HTTPS behind a proxy that terminated TLS: no redirect.
    let proxied = get("/hello").header("X-Forwarded-Proto", "https");
    assert_eq!(answer(config, proxied), None);
}

#[test]
fn http_to_https_names_the_gateway_s_https_port_unless_443() {
    let config = r#"{"http_to_https":true}"#;
    let on = |port: &str| {
        let mut req = MockRequest::new("GET", "/hello?x=1").header("Host", "example.com:9080");
        req.vars.insert("gateway_https_port".into(), port.into());
        answer(config, req)
    };
    assert_eq!(
        on("9443"),
        Some((301, "https://example.com:9443/hello?x=1".into()))
    );
    assert_eq!(
        on("443"),
        Some((301, "https://example.com/hello?x=1".into()))
    );
}

#[test]
fn encode_uri_and_append_query_string() {
    let config = r#"{"uri":"/a b/%/ü?x=1 2","encode_uri":true}"#;
    assert_eq!(
        answer(config, get("/")),
        Some((302, "/a%20b/%25/%C3%BC?x=1 2".into()))
    );
    let config = r#"{"uri":"/new","append_query_string":true}"#;
    assert_eq!(
        answer(config, get("/old?a=1")),
        Some((302, "/new?a=1".into()))
    );
    assert_eq!(answer(config, get("/old")), Some((302, "/new".into())));
    let config = r#"{"uri":"/new?b=2","append_query_string":true}"#;
    assert_eq!(
        answer(config, get("/old?a=1")),
        Some((302, "/new?b=2&a=1".into()))
    );
    assert_eq!(encode("/plain/path"), "/plain/path");
}

#[test]
fn bad_configs_name_the_field() {
    let cases = [
        (
            r#"{"regex_uri":["^/(.*","/$1"]}"#,
            "regex_uri: invalid regex_uri (^/(.*, /$1)",
        ),
        (
            r#"{"http_to_https":true,"append_query_string":true}"#,
            "append_query_string: only one of",
        ),
        (r#"{"uri":"/a","ret_code":1000}"#, "ret_code:"),
        (
            r#"{"ret_code":301}"#,
            "uri: one of uri, regex_uri and http_to_https",
        ),
    ];
    for (config, want) in cases {
        let err = instance(config)
            .err()
            .unwrap_or_else(|| panic!("{config} accepted"));
        assert!(err.starts_with(want), "{config}: {err}");
    }
}
