//! proxy-rewrite against the SDK's mock host.

use radixgate_plugin::abi::PhaseResult;
use radixgate_plugin::mock::{MockHost, MockInstance, MockRequest};

use super::uri::{replacement_syntax, safe_encode, upstream_uri};
use super::ProxyRewrite;

fn instance(config: &str) -> Result<MockInstance, String> {
    MockInstance::new::<ProxyRewrite>(config, &MockHost::new())
}

fn rewritten(config: &str, req: MockRequest) -> MockRequest {
    let plugin = instance(config).expect("valid config");
    let mut req = req;
    assert_eq!(plugin.rewrite(&mut req), PhaseResult::Continue);
    req
}

#[test]
fn uri_with_vars_keeps_the_query() {
    let req = rewritten(
        r#"{"uri":"/v2/$arg_name/$http_x_id"}"#,
        MockRequest::new("GET", "/a?name=bob").header("X-Id", "7"),
    );
    assert_eq!(
        (req.path.as_str(), req.query.as_str()),
        ("/v2/bob/7", "name=bob")
    );
    let req = rewritten(r#"{"uri":"/b?x=1"}"#, MockRequest::new("GET", "/a?y=2"));
    assert_eq!((req.path.as_str(), req.query.as_str()), ("/b", "x=1&y=2"));
}

#[test]
fn regex_uri_first_matching_pair_with_captures() {
    let config = r#"{"regex_uri":["^/nope/(.*)","/x/$1","^/api/(\\w+)/(.*)","/$2/$1a"],
        "headers":{"set":{"X-Resource":"$1"}}}"#;
    let req = rewritten(config, MockRequest::new("GET", "/api/users/42?q=1"));
    assert_eq!(req.path, "/42/usersa");
    assert_eq!(req.query, "q=1");
    assert_eq!(req.header_value("X-Resource"), Some("users"));
    // No match: the path stays.
    let req = rewritten(config, MockRequest::new("GET", "/other"));
    assert_eq!(req.path, "/other");
}

#[test]
fn uri_wins_over_regex_uri() {
    let req = rewritten(
        r#"{"uri":"/fixed","regex_uri":["^/(.*)","/r/$1"]}"#,
        MockRequest::new("GET", "/a"),
    );
    assert_eq!(req.path, "/fixed");
}

#[test]
fn host_and_method() {
    let req = rewritten(
        r#"{"host":"example.com:8080","method":"POST"}"#,
        MockRequest::new("GET", "/a").header("Host", "client.com"),
    );
    assert_eq!(req.header_value("host"), Some("example.com:8080"));
    assert_eq!(req.method, "POST");
    assert_eq!(req.path, "/a");
}

#[test]
fn header_operations_add_set_remove() {
    let req = rewritten(
        r#"{"headers":{"add":{"X-Add":"a","X-Num":5},"set":{"X-Set":"$remote_addr","X-Gone":""},"remove":["X-Del"]}}"#,
        MockRequest::new("GET", "/")
            .header("X-Add", "old")
            .header("X-Set", "old")
            .header("X-Gone", "old")
            .header("X-Del", "old"),
    );
    let adds: Vec<&str> = req
        .headers
        .iter()
        .filter(|h| h.0.eq_ignore_ascii_case("x-add"))
        .map(|h| h.1.as_str())
        .collect();
    assert_eq!(adds, ["old", "a"]);
    assert_eq!(req.header_value("X-Num"), Some("5"));
    assert_eq!(req.header_value("X-Set"), Some("127.0.0.1"));
    assert_eq!(req.header_value("X-Gone"), None);
    assert_eq!(req.header_value("X-Del"), None);
}

#[test]
fn old_flat_headers_form_sets() {
    let req = rewritten(
        r#"{"headers":{"X-Api":"v1","X-Empty":""}}"#,
        MockRequest::new("GET", "/")
            .header("X-Api", "v0")
            .header("X-Empty", "x"),
    );
    assert_eq!(req.header_value("X-Api"), Some("v1"));
    assert_eq!(req.header_value("X-Empty"), None);
}

#[test]
fn uri_helpers() {
    assert_eq!(replacement_syntax("/$1a/${2}/$$/$x"), "/${1}a/${2}/$$/$$x");
    assert_eq!(safe_encode("/a b/ü%20"), "/a%20b/%C3%BC%20");
    assert_eq!(upstream_uri("/a b", "", true), "/a b");
    assert_eq!(upstream_uri("/a", "q=1", false), "/a?q=1");
}

#[test]
fn bad_configs_name_the_field() {
    let cases = [
        (r#"{"uri":"nope"}"#, "uri:"),
        (r#"{"method":"FETCH"}"#, "method:"),
        (r#"{"host":"a b"}"#, "host:"),
        (r#"{"regex_uri":["^/a"]}"#, "regex_uri:"),
        (r#"{"regex_uri":["(","/"]}"#, "regex_uri[0]:"),
        (r#"{"headers":{"set":{"X A":"1"}}}"#, "headers.set.X A:"),
        (r#"{"headers":{"add":{"X":"a\nb"}}}"#, "headers.add.X:"),
        (r#"{"headers":{"remove":[7]}}"#, "headers.remove[0]:"),
        (r#"{"headers":{"X-Ok":true}}"#, "headers.X-Ok:"),
        (r#"{"headers":{}}"#, "headers:"),
        (r#"{"scheme":"https"}"#, "scheme"),
    ];
    for (config, field) in cases {
        let err = instance(config).err().expect(config);
        assert!(err.contains(field), "{config}: {err}");
    }
}

#[test]
fn meta_is_accepted() {
    let req = rewritten(
        r#"{"uri":"/m","_meta":{"disable":false}}"#,
        MockRequest::new("GET", "/a"),
    );
    assert_eq!(req.path, "/m");
}
