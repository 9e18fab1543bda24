//! response-rewrite against the SDK's mock host.

use radixgate_plugin::abi::PhaseResult;
use radixgate_plugin::mock::{MockHost, MockInstance, MockRequest};

use super::config::decode_base64;
use super::ResponseRewrite;

fn instance(config: &str) -> Result<MockInstance, String> {
    MockInstance::new::<ResponseRewrite>(config, &MockHost::new())
}

/// A request whose upstream answered `status` with a Content-Length.
fn answered(status: u16) -> MockRequest {
    let mut req = MockRequest::new("GET", "/a");
    req.response_status = status;
    req.response_headers
        .push(("Content-Length".into(), "11".into()));
    req.response_headers.push(("X-Old".into(), "1".into()));
    req
}

/// Runs the body through body_filter in `chunks`; returns what was sent.
fn body_of(plugin: &MockInstance, req: &mut MockRequest, chunks: &[&str]) -> String {
    let mut out = Vec::new();
    for (i, c) in chunks.iter().enumerate() {
        let (result, sent) = plugin.body_filter(req, c.as_bytes(), i + 1 == chunks.len());
        assert_eq!(result, PhaseResult::Continue);
        out.extend(sent);
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[test]
fn status_headers_and_body() {
    let plugin = instance(
        r#"{"status_code":201,"body":"{\"ok\":true}",
            "headers":{"add":["X-Add: $remote_addr"],"set":{"X-Set":"v","X-N":3},"remove":["X-Old"]}}"#,
    )
    .expect("valid");
    let mut req = answered(200);
    assert_eq!(plugin.header_filter(&mut req), PhaseResult::Continue);
    assert_eq!(req.response_status, 201);
    assert_eq!(req.response_header_value("Content-Length"), None);
    assert_eq!(req.response_header_value("X-Add"), Some("127.0.0.1"));
    assert_eq!(req.response_header_value("X-Set"), Some("v"));
    assert_eq!(req.response_header_value("X-N"), Some("3"));
    assert_eq!(req.response_header_value("X-Old"), None);
    assert_eq!(
        body_of(&plugin, &mut req, &["hello ", "world"]),
        r#"{"ok":true}"#
    );
}

#[test]
fn old_flat_headers_and_base64_body() {
    let plugin = instance(r#"{"headers":{"X-Flat":"1"},"body":"aGVsbG8=","body_base64":true}"#)
        .expect("valid");
    let mut req = answered(200);
    assert_eq!(plugin.header_filter(&mut req), PhaseResult::Continue);
    assert_eq!(req.response_header_value("X-Flat"), Some("1"));
    assert_eq!(body_of(&plugin, &mut req, &["x"]), "hello");
}

#[test]
fn filters_once_global_and_across_chunks() {
    let plugin = instance(
        r#"{"filters":[{"regex":"(\\w+)@example\\.com","replace":"$1@hidden","scope":"global"},
                       {"regex":"HELLO","replace":"bye","options":"ijo"}]}"#,
    )
    .expect("valid");
    let mut req = answered(200);
    assert_eq!(plugin.header_filter(&mut req), PhaseResult::Continue);
    let body = body_of(
        &plugin,
        &mut req,
        &["hello a@exa", "mple.com, b@example.com hello"],
    );
    assert_eq!(body, "bye a@hidden, b@hidden hello");
}

#[test]
fn vars_condition_gates_everything() {
    let plugin = instance(
        r#"{"vars":[["status","==",500],["uri","~~","^/a"]],"status_code":200,"body":"masked"}"#,
    )
    .expect("valid");
    let mut ok = answered(200);
    assert_eq!(plugin.header_filter(&mut ok), PhaseResult::Continue);
    assert_eq!(ok.response_status, 200);
    assert_eq!(body_of(&plugin, &mut ok, &["original"]), "original");

    let mut failed = answered(500);
    assert_eq!(plugin.header_filter(&mut failed), PhaseResult::Continue);
    assert_eq!(failed.response_status, 200);
    assert_eq!(body_of(&plugin, &mut failed, &["boom"]), "masked");

    let any = instance(
        r#"{"vars":[["OR",["status","in",[502,"503"]],["http_x_debug","!","==","1"]]],"status_code":299}"#,
    )
    .expect("valid");
    let mut req = answered(503).header("X-Debug", "1");
    assert_eq!(any.header_filter(&mut req), PhaseResult::Continue);
    assert_eq!(req.response_status, 299);
    let mut req = answered(200).header("X-Debug", "1");
    assert_eq!(any.header_filter(&mut req), PhaseResult::Continue);
    assert_eq!(req.response_status, 200);
}

#[test]
fn base64_decoder() {
    assert_eq!(
        decode_base64("aGVsbG8gd29ybGQ=").as_deref(),
        Some(&b"hello world"[..])
    );
    assert_eq!(decode_base64("YQ").as_deref(), Some(&b"a"[..]));
    assert_eq!(decode_base64("a$=="), None);
    assert_eq!(decode_base64("a"), None);
}

#[test]
fn bad_configs_name_the_field() {
    let cases = [
        (r#"{"status_code":100}"#, "status_code:"),
        (
            r#"{"body":"a","filters":[{"regex":"a","replace":"b"}]}"#,
            "filters:",
        ),
        (r#"{"body":"%%%","body_base64":true}"#, "body:"),
        (
            r#"{"filters":[{"regex":"(","replace":"b"}]}"#,
            "filters[0].regex:",
        ),
        (
            r#"{"filters":[{"regex":"a","replace":"b","scope":"all"}]}"#,
            "filters[0].scope:",
        ),
        (
            r#"{"filters":[{"regex":"a","replace":"b","options":"q"}]}"#,
            "filters[0].options:",
        ),
        (r#"{"filters":[{"regex":"a"}]}"#, "filters[0]"),
        (r#"{"headers":{"add":["no-colon"]}}"#, "headers.add[0]:"),
        (r#"{"headers":{"set":{"X":true}}}"#, "headers.set.X:"),
        (r#"{"vars":[["status","??",1]]}"#, "vars[0]:"),
        (r#"{"vars":[["status",">","x"]]}"#, "vars[0]:"),
        (r#"{"vars":"status"}"#, "vars:"),
    ];
    for (config, field) in cases {
        let err = instance(config).err().expect(config);
        assert!(err.starts_with(field), "{config}: {err}");
    }
}

#[test]
fn a_body_past_max_body_size_goes_out_unchanged() {
    let plugin = instance(
        r#"{"max_body_size":16,"filters":[{"regex":"a","replace":"b","scope":"global"}]}"#,
    )
    .expect("valid");
    let mut req = answered(200);
    assert_eq!(plugin.header_filter(&mut req), PhaseResult::Continue);
    let (_, first) = plugin.body_filter(&mut req, b"aaaaaaaaaa", false);
    assert!(first.is_empty(), "held");
    // 20 bytes: past the bound, what was held goes with this chunk.
    let (_, second) = plugin.body_filter(&mut req, b"aaaaaaaaaa", false);
    assert_eq!(second, b"aaaaaaaaaaaaaaaaaaaa");
    let (_, rest) = plugin.body_filter(&mut req, b"aaa", true);
    assert_eq!(rest, b"aaa");
}

#[test]
fn a_filtered_body_that_would_grow_past_the_bound_goes_out_unchanged() {
    let plugin = instance(
        r#"{"max_body_size":64,"filters":[{"regex":"a","replace":"0123456789","scope":"global"}]}"#,
    )
    .expect("valid");
    let mut req = answered(200);
    assert_eq!(plugin.header_filter(&mut req), PhaseResult::Continue);
    assert_eq!(body_of(&plugin, &mut req, &["aaaa", "aaaa"]), "aaaaaaaa");
    let mut req = answered(200);
    assert_eq!(plugin.header_filter(&mut req), PhaseResult::Continue);
    assert_eq!(
        body_of(&plugin, &mut req, &["a-", "a"]),
        "0123456789-0123456789"
    );
}

#[test]
fn holding_a_body_in_small_chunks_is_linear() {
    // 2 MiB in 1 KiB chunks: copying what is held on every chunk would be
    // gigabytes; holding appends each chunk once.
    let plugin = instance(r#"{"filters":[{"regex":"needle","replace":"pin"}]}"#).expect("valid");
    let mut req = answered(200);
    assert_eq!(plugin.header_filter(&mut req), PhaseResult::Continue);
    let chunk = vec![b'x'; 1024];
    let start = std::time::Instant::now();
    for _ in 0..2047 {
        let (_, out) = plugin.body_filter(&mut req, &chunk, false);
        assert!(out.is_empty());
    }
    let (_, out) = plugin.body_filter(&mut req, b"needle", true);
    assert_eq!(out.len(), 2047 * 1024 + 3);
    assert!(out.ends_with(b"xpin"));
    let took = start.elapsed();
    assert!(took < std::time::Duration::from_secs(5), "{took:?}");
}
