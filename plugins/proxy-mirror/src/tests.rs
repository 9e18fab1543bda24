//! proxy-mirror against the SDK's mock host: the URL it mirrors to and
//! the request it sends from the log phase.

use radixgate_plugin::abi::{HostOp, PhaseResult};
use radixgate_plugin::mock::{MockHost, MockInstance, MockRequest};

use super::ProxyMirror;

fn instance(config: &str, host: &MockHost) -> Result<MockInstance, String> {
    MockInstance::new::<ProxyMirror>(config, host)
}

/// A mirror call: method, URL, header lines, body.
type Call = (String, String, Vec<(String, String)>, Vec<u8>);

/// The mirror calls the host was asked for.
fn calls(host: &MockHost) -> Vec<Call> {
    host.ops()
        .into_iter()
        .filter_map(|op| match op {
            HostOp::Http(call) => Some((
                call.method.to_string(),
                call.url.to_string(),
                call.headers
                    .iter()
                    .map(|t| (t.0.to_string(), t.1.to_string()))
                    .collect(),
                call.body.to_vec(),
            )),
            _ => None,
        })
        .collect()
}

#[test]
fn urls_follow_path_and_concat_mode() {
    let cases = [
        (
            r#"{"host":"http://127.0.0.1:9797"}"#,
            "/a/b?x=1",
            "http://127.0.0.1:9797/a/b?x=1",
        ),
        (
            r#"{"host":"http://m","path":"/mirror"}"#,
            "/a?x=1",
            "http://m/mirror?x=1",
        ),
        (
            r#"{"host":"http://m","path":"/mirror"}"#,
            "/a",
            "http://m/mirror",
        ),
        (
            r#"{"host":"https://[::1]:8443","path":"/mirror","path_concat_mode":"prefix"}"#,
            "/a?x=1",
            "https://[::1]:8443/mirror/a?x=1",
        ),
    ];
    for (config, uri, want) in cases {
        let host = MockHost::new();
        let plugin = instance(config, &host).expect("valid");
        let mut req = MockRequest::new("GET", uri).header("X-Trace", "7");
        assert_eq!(plugin.rewrite(&mut req), PhaseResult::Continue);
        assert_eq!(
            req.vars.get("upstream_mirror_uri").map(String::as_str),
            Some(want),
            "{config}"
        );
        assert_eq!(plugin.log(&mut req), PhaseResult::Continue);
        let sent = calls(&host);
        assert_eq!(sent.len(), 1, "{config}: {sent:?}");
        assert_eq!((sent[0].0.as_str(), sent[0].1.as_str()), ("GET", want));
        assert!(
            sent[0].2.contains(&("X-Trace".into(), "7".into())),
            "{sent:?}"
        );
    }
}

#[test]
fn the_copy_carries_the_request_body() {
    let host = MockHost::new();
    let plugin = instance(r#"{"host":"http://m"}"#, &host).expect("valid");
    assert!(plugin.reads_request_body());
    let mut post = MockRequest::new("POST", "/a")
        .header("Content-Length", "3")
        .body(b"abc");
    plugin.rewrite(&mut post);
    assert_eq!(plugin.log(&mut post), PhaseResult::Continue);
    let sent = calls(&host);
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(
        (sent[0].0.as_str(), sent[0].3.as_slice()),
        ("POST", &b"abc"[..])
    );
}

#[test]
fn a_body_the_host_did_not_hand_and_an_unsampled_request_are_not_mirrored() {
    let host = MockHost::new();
    let plugin = instance(r#"{"host":"http://m"}"#, &host).expect("valid");
    let mut post = MockRequest::new("POST", "/a").header("Content-Length", "3");
    plugin.rewrite(&mut post);
    plugin.log(&mut post);
    assert!(calls(&host).is_empty());
    // A tiny ratio mirrors (almost) nothing of 1000 requests.
    let plugin = instance(r#"{"host":"http://m","sample_ratio":0.00001}"#, &host).expect("valid");
    let mirrored = (0..1000)
        .filter(|_| {
            let mut req = MockRequest::new("GET", "/");
            plugin.rewrite(&mut req);
            req.vars.contains_key("upstream_mirror_uri")
        })
        .count();
    assert!(mirrored < 5, "{mirrored}");
}

#[test]
fn bad_configs_name_the_field() {
    for (config, want) in [
        (r#"{"host":"grpc://m:1"}"#, "host"),
        (
            r#"{"host":"http://m","path_concat_mode":"append"}"#,
            "path_concat_mode",
        ),
        (r#"{"host":"http://m","sample_ratio":2}"#, "sample_ratio"),
    ] {
        match instance(config, &MockHost::new()) {
            Ok(_) => panic!("{config} accepted"),
            Err(e) => assert!(e.contains(want), "{config}: {e}"),
        }
    }
}
