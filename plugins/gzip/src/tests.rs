//! gzip against the SDK's mock host: which responses it compresses, and
//! that the chunks it hands on decode to the body.

use std::io::Read;

use radixgate_plugin::abi::PhaseResult;
use radixgate_plugin::mock::{MockHost, MockInstance, MockRequest};

use super::{accepts_gzip, Gzip};

fn instance(config: &str) -> Result<MockInstance, String> {
    MockInstance::new::<Gzip>(config, &MockHost::new())
}

/// A request accepting gzip (or not) with a response of `status`,
/// `content_type` and `length` (none: unknown).
fn request(
    accept: Option<&str>,
    status: u16,
    content_type: Option<&str>,
    length: Option<&str>,
) -> MockRequest {
    let mut req = MockRequest::new("GET", "/");
    if let Some(a) = accept {
        req = req.header("Accept-Encoding", a);
    }
    req.response_status = status;
    if let Some(t) = content_type {
        req.response_headers.push(("Content-Type".into(), t.into()));
    }
    if let Some(l) = length {
        req.response_headers
            .push(("Content-Length".into(), l.into()));
    }
    req
}

fn compresses(plugin: &MockInstance, mut req: MockRequest) -> bool {
    assert_eq!(plugin.header_filter(&mut req), PhaseResult::Continue);
    req.response_header_value("Content-Encoding") == Some("gzip")
}

#[test]
fn which_responses_are_compressed() {
    let html = instance("{}").expect("valid");
    let json = instance(r#"{"types":["application/json"],"min_length":100}"#).expect("valid");
    let any = instance(r#"{"types":"*"}"#).expect("valid");
    let gz = Some("gzip, deflate");
    let cases = [
        (
            &html,
            request(gz, 200, Some("text/html; charset=utf-8"), Some("20")),
            true,
        ),
        (&html, request(gz, 200, Some("text/html"), None), true),
        (&html, request(gz, 404, Some("text/html"), None), true),
        // Too short, wrong type, no type, another status, already encoded.
        (
            &html,
            request(gz, 200, Some("text/html"), Some("19")),
            false,
        ),
        (&html, request(gz, 200, Some("text/plain"), None), false),
        (&html, request(gz, 200, None, None), false),
        (&html, request(gz, 500, Some("text/html"), None), false),
        (
            &json,
            request(gz, 200, Some("application/json"), Some("99")),
            false,
        ),
        (
            &json,
            request(gz, 200, Some("application/json"), Some("100")),
            true,
        ),
        (&any, request(gz, 200, Some("image/png"), None), true),
        // The client does not accept it.
        (&html, request(None, 200, Some("text/html"), None), false),
        (
            &html,
            request(Some("br"), 200, Some("text/html"), None),
            false,
        ),
        (
            &html,
            request(Some("gzip;q=0"), 200, Some("text/html"), None),
            false,
        ),
    ];
    for (i, (plugin, req, want)) in cases.into_iter().enumerate() {
        assert_eq!(compresses(plugin, req), want, "case {i}");
    }
    // HTTP/1.0 clients: only with http_version 1.0.
    let old = || {
        let mut r = request(gz, 200, Some("text/html"), None);
        r.vars.insert("server_protocol".into(), "HTTP/1.0".into());
        r
    };
    assert!(!compresses(&html, old()));
    let ten = instance(r#"{"http_version":1.0}"#).expect("valid");
    assert!(compresses(&ten, old()));
    let mut encoded = request(gz, 200, Some("text/html"), None);
    encoded
        .response_headers
        .push(("Content-Encoding".into(), "br".into()));
    assert!(!compresses(&html, encoded));
    assert!(accepts_gzip("deflate, GZIP;q=0.5") && !accepts_gzip("x-gzip"));
}

#[test]
fn chunks_decode_to_the_body_and_the_compressor_goes() {
    let plugin = instance(r#"{"comp_level":9,"vary":true}"#).expect("valid");
    let mut req = request(Some("gzip"), 200, Some("text/html"), None);
    plugin.header_filter(&mut req);
    assert_eq!(req.response_header_value("Vary"), Some("Accept-Encoding"));
    let chunks: Vec<Vec<u8>> = (0..50)
        .map(|i| format!("<p>line {i} of a page that compresses well</p>\n").into_bytes())
        .collect();
    let mut wire = Vec::new();
    for (i, c) in chunks.iter().enumerate() {
        let (result, out) = plugin.body_filter(&mut req, c, i == chunks.len() - 1);
        assert_eq!(result, PhaseResult::Continue);
        wire.extend(out);
    }
    let mut decoded = Vec::new();
    flate2::read::GzDecoder::new(&wire[..])
        .read_to_end(&mut decoded)
        .expect("a gzip stream");
    assert_eq!(decoded, chunks.concat());
    assert!(
        wire.len() < decoded.len() / 3,
        "{} of {}",
        wire.len(),
        decoded.len()
    );
    plugin.log(&mut req);
}

#[test]
fn bad_configs_name_the_field() {
    for (config, want) in [
        (r#"{"comp_level":10}"#, "comp_level"),
        (r#"{"min_length":0}"#, "min_length"),
        (r#"{"types":[]}"#, "types"),
        (r#"{"types":"text/html"}"#, "types"),
        (r#"{"http_version":2}"#, "http_version"),
    ] {
        match instance(config) {
            Ok(_) => panic!("{config} accepted"),
            Err(e) => assert!(e.contains(want), "{config}: {e}"),
        }
    }
}
