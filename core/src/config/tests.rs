//! Parsing errors: each names kind, id, field and what was expected.

use super::*;
use serde_json::json;

fn route_err(v: serde_json::Value) -> ObjectError {
    match decode(Kind::Route, &v, "#0") {
        Ok(o) => panic!("accepted: {o:?}"),
        Err(e) => e,
    }
}

#[test]
fn good_route_decodes() {
    let v = json!({"id": 1, "uri": "/a/*", "methods": ["GET"], "priority": 3,
        "upstream": {"nodes": {"127.0.0.1:80": 1}, "pass_host": "node"}});
    let (id, obj) = decode(Kind::Route, &v, "#0").unwrap();
    assert_eq!(id.0, "1");
    let Object::Route(r) = obj else { panic!() };
    assert_eq!((r.priority, r.status), (3, 1));
    assert_eq!(r.upstream.unwrap().nodes.0[0].port, Some(80));
}

#[test]
fn route_errors_name_kind_id_field() {
    let cases = [
        (
            json!({"id": "r1", "uri": 5, "upstream_id": 1}),
            "uri",
            "expected a string",
        ),
        (
            json!({"id": "r1", "uri": "/", "upstream_id": 1, "foo": 1}),
            "foo",
            "additional properties",
        ),
        (json!({"id": "r1", "upstream_id": 1}), "uri", "required"),
        (
            json!({"id": "r1", "uri": "/", "uris": ["/b"], "upstream_id": 1}),
            "uris",
            "only one",
        ),
        (json!({"id": "r1", "uri": "/"}), "upstream", "required"),
        (
            json!({"id": "r1", "uri": "/", "upstream_id": 1, "methods": ["FETCH"]}),
            "methods[0]",
            "FETCH",
        ),
        (
            json!({"id": "r1", "uri": "/", "upstream_id": 1, "status": 2}),
            "status",
            "expected 0",
        ),
        (
            json!({"id": "r1", "uri": "x", "upstream_id": 1}),
            "uri",
            "start with",
        ),
        (
            json!({"id": "r1", "uri": "/", "upstream": {"nodes": {"a:x": 1}}}),
            "upstream.nodes",
            "port",
        ),
        (
            json!({"id": "r1", "uri": "/", "upstream": {"nodes": [{"host": "a", "port": 1, "weight": 1, "w": 2}]}}),
            "upstream.nodes[0].w",
            "additional properties",
        ),
        (
            json!({"id": "r1", "uri": "/", "upstream": {"nodes": {}, "type": "random"}}),
            "upstream.type",
            "not one of",
        ),
        (
            json!({"id": "r1", "uri": "/", "upstream": {"nodes": {}, "type": "chash"}}),
            "upstream.key",
            "required",
        ),
        (
            json!({"id": "r1", "uri": "/", "upstream": {"nodes": {}, "pass_host": "rewrite"}}),
            "upstream.upstream_host",
            "required",
        ),
        (
            json!({"id": "r1", "uri": "/", "upstream_id": 1, "timeout": {"connect": 0, "send": 1, "read": 1}}),
            "timeout.connect",
            "seconds",
        ),
        (
            json!({"id": "r1", "uri": "/", "upstream_id": 1, "plugins": {"key-auth": {}}}),
            "plugins",
            "not supported",
        ),
        (
            json!({"id": "a b", "uri": "/", "upstream_id": 1}),
            "id",
            "not an id",
        ),
        (json!({"uri": "/", "upstream_id": 1}), "id", "required"),
    ];
    for (v, field, reason) in cases {
        let e = route_err(v.clone());
        assert_eq!(e.kind, Kind::Route, "{v}");
        assert_eq!(e.field, field, "{v}: {e}");
        assert!(e.reason.contains(reason), "{v}: {e}");
        assert!(e.to_string().starts_with("invalid route"), "{e}");
    }
    assert_eq!(route_err(json!({"id": 7, "uri": 1})).id, "7");
    assert_eq!(route_err(json!({"uri": 1})).id, "#0");
}

#[test]
fn upstream_and_service_errors() {
    let e = decode(
        Kind::Upstream,
        &json!({"id": "u", "nodes": {"a:1": -1}}),
        "#0",
    )
    .unwrap_err();
    assert_eq!(
        (e.kind, e.id.as_str(), e.field.as_str()),
        (Kind::Upstream, "u", "nodes.a:1")
    );
    let e = decode(Kind::Upstream, &json!({"id": "u"}), "#0").unwrap_err();
    assert!(e.reason.contains("nodes"), "{e}");
    let e = decode(
        Kind::Service,
        &json!({"id": "s", "upstream_id": 1, "upstream": {"nodes": {}}}),
        "#0",
    )
    .unwrap_err();
    assert_eq!((e.kind, e.field.as_str()), (Kind::Service, "upstream_id"));
}

#[test]
fn gateway_config_defaults_and_errors() {
    let c = GatewayConfig::parse("# nothing\n", "c.yaml").unwrap();
    assert_eq!(c.gateway.listen[0].to_string(), "0.0.0.0:9080");
    assert_eq!(c.config.file.to_str(), Some("conf/apisix.yaml"));
    let bad = [
        ("gateway: {listen: [nope]}", "gateway.listen[0]"),
        ("gateway: {lissten: []}", "gateway.lissten"),
        ("gateway: {listen: []}", "gateway.listen"),
        ("config: {provider: consul}", "config.provider"),
        (
            "gateway: {header_read_timeout: -1}",
            "gateway.header_read_timeout",
        ),
    ];
    for (text, field) in bad {
        match GatewayConfig::parse(text, "c.yaml") {
            Err(FileError::Setting { field: f, .. }) => assert_eq!(f, field, "{text}"),
            other => panic!("{text}: {other:?}"),
        }
    }
    assert!(matches!(
        GatewayConfig::parse("gateway: [", "c.yaml"),
        Err(FileError::Syntax { .. })
    ));
}
