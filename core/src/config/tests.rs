//! Decoding objects: errors name kind, id, field and what was expected
//! (APISIX's wording); plugins dropped, defaults filled, every kind loads.

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
    // Expectations follow APISIX's wording (the schema's messages) where
    // it differs from this module's earlier text.
    let cases = [
        (
            json!({"id": "r1", "uri": 5, "upstream_id": 1}),
            "uri",
            "wrong type: expected string, got number",
        ),
        (
            json!({"id": "r1", "uri": "/", "upstream_id": 1, "foo": 1}),
            "foo",
            "additional properties forbidden, found foo",
        ),
        (
            json!({"id": "r1", "upstream_id": 1}),
            "",
            "value should match only one schema, but matches none",
        ),
        (
            json!({"id": "r1", "uri": "/", "uris": ["/b"], "upstream_id": 1}),
            "",
            "value should match only one schema, but matches both schemas 1 and 2",
        ),
        (
            json!({"id": "r1", "uri": "/"}),
            "",
            "object matches none of the required",
        ),
        (
            json!({"id": "r1", "uri": "/", "upstream_id": 1, "methods": ["FETCH"]}),
            "methods[0]",
            "matches none of the enum values",
        ),
        (
            json!({"id": "r1", "uri": "/", "upstream_id": 1, "status": 2}),
            "status",
            "matches none of the enum values",
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
            "additional properties forbidden, found w",
        ),
        (
            json!({"id": "r1", "uri": "/", "upstream": {"nodes": {}, "type": "random"}}),
            "upstream.type",
            "matches none of the enum values",
        ),
        (
            json!({"id": "r1", "uri": "/", "upstream": {"nodes": {}, "type": "chash"}}),
            "upstream.key",
            "missing key",
        ),
        (
            json!({"id": "r1", "uri": "/", "upstream": {"nodes": {}, "pass_host": "rewrite"}}),
            "upstream.upstream_host",
            "`upstream_host` can't be empty when `pass_host` is `rewrite`",
        ),
        (
            json!({"id": "r1", "uri": "/", "upstream_id": 1, "timeout": {"connect": 0, "send": 1, "read": 1}}),
            "timeout.connect",
            "expected 0 to be greater than 0",
        ),
        (
            json!({"id": "r1", "uri": "/", "upstream_id": 1, "timeout": {"connect": 1e6, "send": 1, "read": 1}}),
            "timeout.connect",
            "seconds",
        ),
        (
            json!({"id": "a b", "uri": "/", "upstream_id": 1}),
            "id",
            r#"failed to match pattern "^[a-zA-Z0-9-_.]+$" with "a b""#,
        ),
        (json!({"uri": "/", "upstream_id": 1}), "id", "required"),
        (
            json!({"id": "r1", "uri": "/", "upstream_id": 1, "filter_func": "function(vars) return true end"}),
            "filter_func",
            "not supported",
        ),
        (
            json!({"id": "r1", "uri": "/", "upstream": {"service_name": "a", "discovery_type": "dns"}}),
            "upstream.discovery_type",
            "service discovery is not supported",
        ),
        (
            json!({"id": "r1", "uri": "/", "upstream": {"nodes": {}, "scheme": "kafka"}}),
            "upstream.scheme",
            "not supported",
        ),
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
    // The Admin API's text is APISIX's, with the whole property chain.
    assert_eq!(
        route_err(json!({"id": 1, "uri": "/", "upstream": {"nodes": {"a:1": -1}}})).error_msg(),
        r#"invalid configuration: property "upstream" validation failed: property "nodes" validation failed: failed to validate a:1 (matching ".*"): expected -1 to be at least 0"#
    );
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
    assert_eq!(
        e.error_msg(),
        "invalid configuration: value should match only one schema, but matches none"
    );
    let e = decode(
        Kind::Service,
        &json!({"id": "s", "upstream_id": 1, "upstream": {"nodes": {}}}),
        "#0",
    )
    .unwrap_err();
    assert_eq!((e.kind, e.field.as_str()), (Kind::Service, "upstream_id"));
}

#[test]
fn an_unknown_plugin_refuses_the_object() {
    super::install_test_catalog();
    let v = json!({"id": "r1", "uri": "/", "upstream_id": 1,
        "plugins": {"key-auth": {}, "limit-count": {"count": 1}}});
    let (_, obj) = decode(Kind::Route, &v, "#0").expect("known plugins");
    let Object::Route(r) = obj else { panic!() };
    assert_eq!(r.plugins.len(), 2);
    assert_eq!(r.upstream_id, Some(Id("1".into())));
    let v = json!({"id": "r1", "uri": "/", "upstream_id": 1,
        "plugins": {"key-auth": {}, "jwt-auth": {}}});
    let e = decode(Kind::Route, &v, "#0").expect_err("jwt-auth is not loaded");
    assert_eq!(
        (e.kind, e.id.as_str(), e.field.as_str()),
        (Kind::Route, "r1", "plugins.jwt-auth")
    );
    assert!(e.to_string().contains("unknown plugin [jwt-auth]"), "{e}");
    for (kind, v) in [
        (Kind::Service, json!({"id": 1, "plugins": {"cors": {}}})),
        (
            Kind::GlobalRule,
            json!({"id": 1, "plugins": {"prometheus": {}}}),
        ),
        (
            Kind::PluginConfig,
            json!({"id": 1, "plugins": {"cors": {}}}),
        ),
        (
            Kind::ConsumerGroup,
            json!({"id": 1, "plugins": {"cors": {}}}),
        ),
        (
            Kind::Consumer,
            json!({"username": "u", "plugins": {"key-auth": {"key": "k"}}}),
        ),
    ] {
        assert!(decode(kind, &v, "#0").is_ok(), "{kind}: {v}");
    }
}

#[test]
fn defaults_reach_the_typed_values() {
    let (_, obj) = decode(
        Kind::Upstream,
        &json!({"id": 1, "nodes": [{"host": "a", "port": 80, "weight": 1}], "keepalive_pool": {}}),
        "#0",
    )
    .unwrap();
    let Object::Upstream(u) = obj else { panic!() };
    assert_eq!(
        (u.balancer, u.hash_on, u.pass_host, u.scheme),
        (
            BalancerType::RoundRobin,
            HashOn::Vars,
            PassHostMode::Pass,
            Scheme::Http
        )
    );
    let pool = u.keepalive_pool.unwrap();
    assert_eq!(
        (pool.size, pool.idle_timeout, pool.requests),
        (Some(320), Some(60.0), Some(1000))
    );
    let (_, obj) = decode(
        Kind::Route,
        &json!({"id": 1, "uri": "/", "service_id": 1}),
        "#0",
    )
    .unwrap();
    let Object::Route(r) = obj else { panic!() };
    assert_eq!((r.priority, r.status), (0, 1));
}

#[test]
fn ids_of_consumers_credentials_and_metadata() {
    super::install_test_catalog();
    let (id, _) = decode(Kind::Consumer, &json!({"username": "jack"}), "#0").unwrap();
    assert_eq!(id.0, "jack");
    let (id, obj) = decode(
        Kind::Credential,
        &json!({"id": "jack/credentials/k1", "plugins": {"key-auth": {"key": "x"}}}),
        "#0",
    )
    .unwrap();
    assert_eq!(id.0, "jack/credentials/k1");
    let Object::Credential(c) = obj else { panic!() };
    assert_eq!((c.consumer.as_str(), c.id.0.as_str()), ("jack", "k1"));
    let e = decode(Kind::Credential, &json!({"id": "k1"}), "#0").unwrap_err();
    assert_eq!(e.field, "id");
    // From etcd: the key says whose it is; the body holds its own id or none.
    for body in [json!({"id": "k1"}), json!({})] {
        let (id, _) = decode(Kind::Credential, &body, "jack/credentials/k1").unwrap();
        assert_eq!(id.0, "jack/credentials/k1");
    }
    assert!(decode(
        Kind::Credential,
        &json!({"id": "k2"}),
        "jack/credentials/k1"
    )
    .is_err());
    // A consumer whose id repeats its username (added by a source) loads.
    let (id, _) = decode(
        Kind::Consumer,
        &json!({"username": "jack", "id": "jack"}),
        "#0",
    )
    .unwrap();
    assert_eq!(id.0, "jack");
    assert!(decode(
        Kind::Consumer,
        &json!({"username": "jack", "id": "x"}),
        "#0"
    )
    .is_err());
    let (id, obj) = decode(
        Kind::PluginMetadata,
        &json!({"id": "http-logger", "log_format": {"host": "$host"}}),
        "#0",
    )
    .unwrap();
    assert_eq!(id.0, "http-logger");
    let Object::PluginMetadata(m) = obj else {
        panic!()
    };
    assert_eq!(m.config["log_format"]["host"], "$host");
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

#[test]
fn provider_is_read_with_its_own_message() {
    let c = GatewayConfig::parse("config: {provider: etcd}", "c.yaml").unwrap();
    assert_eq!(c.config.provider, Provider::Etcd);
    assert_eq!(
        GatewayConfig::parse("", "c.yaml").unwrap().config.provider,
        Provider::Yaml
    );
    let e = GatewayConfig::parse("config: {provider: consul}", "c.yaml").unwrap_err();
    assert_eq!(
        e.to_string(),
        r#"c.yaml: setting "config.provider": "consul" is not one of yaml, etcd"#
    );
}
