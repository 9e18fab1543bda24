//! Each kind's schema: valid objects pass, invalid ones fail with APISIX's
//! exact `error_msg`; the schemas compile; defaults are filled.

use serde_json::{json, Value};

use super::{fill_defaults, schema_json, validate};
use crate::config::Kind;

fn msg(kind: Kind, v: Value) -> String {
    match validate(kind, "1", &v) {
        Ok(()) => panic!("{kind} accepted: {v}"),
        Err(e) => e.error_msg().to_owned(),
    }
}

const CERT: &str = include_str!("../fixtures/test.crt");
const KEY: &str = include_str!("../fixtures/test.key");

#[test]
fn every_schema_compiles_and_is_draft7() {
    for kind in Kind::SERVED {
        let s = schema_json(kind).unwrap();
        assert_eq!(s["type"], "object", "{kind}");
        assert!(jsonschema::draft7::meta::is_valid(s), "{kind}");
        assert!(
            super::compiled(kind).unwrap().validator.is_ok(),
            "{kind}: {:?}",
            super::compiled(kind).unwrap().validator.as_ref().err()
        );
        if kind != Kind::PluginMetadata {
            assert_eq!(s["additionalProperties"], false, "{kind}");
        }
    }
}

#[test]
fn valid_objects_of_every_kind() {
    let cases = [
        (Kind::Route, json!({"id": 1, "uri": "/a", "upstream_id": 1})),
        (
            Kind::Route,
            json!({"uris": ["/a", "/b/*"], "hosts": ["a.com", "*.b.com"],
            "remote_addrs": ["10.0.0.0/8", "::1", "127.0.0.1"], "methods": ["GET", "PURGE"],
            "vars": [["arg_a", "==", "1"]], "priority": -3, "status": 0,
            "plugins": {"limit-count": {"count": 2}}, "plugin_config_id": "pc.1",
            "timeout": {"connect": 0.5, "send": 3, "read": 3}, "enable_websocket": true,
            "filter_func": "function(vars) return true end", "labels": {"env": "prod"},
            "name": "n", "desc": "d", "create_time": 1, "update_time": 2}),
        ),
        (Kind::Route, json!({"uri": "/", "plugin_config_id": 1})),
        (
            Kind::Service,
            json!({"id": "s", "upstream": {"nodes": {"a:80": 1}}, "hosts": ["a.com"]}),
        ),
        (Kind::Service, json!({"plugins": {}})),
        (
            Kind::Upstream,
            json!({"nodes": [{"host": "a", "port": 80, "weight": 1, "priority": -1,
            "metadata": {"z": 1}}], "type": "chash", "hash_on": "header", "key": "x-user",
            "retries": 0, "retry_timeout": 0, "pass_host": "rewrite", "upstream_host": "b.com",
            "scheme": "https", "keepalive_pool": {"size": 1, "idle_timeout": 0, "requests": 1},
            "tls": {"verify": true},
            "checks": {"active": {"type": "tcp", "http_path": "/h", "host": "a", "port": 1,
                "https_verify_certificate": false, "req_headers": ["A: b"],
                "healthy": {"interval": 1, "http_statuses": [200], "successes": 1},
                "unhealthy": {"interval": 2, "http_statuses": [500], "http_failures": 1,
                    "tcp_failures": 1, "timeouts": 1}},
                "passive": {"healthy": {"http_statuses": [200], "successes": 1},
                    "unhealthy": {"http_statuses": [502], "tcp_failures": 1, "timeouts": 1,
                        "http_failures": 1}}}}),
        ),
        (
            Kind::Upstream,
            json!({"service_name": "a", "discovery_type": "dns"}),
        ),
        (
            Kind::Consumer,
            json!({"username": "jack-1_x", "group_id": "g", "plugins": {"key-auth": {"key": "k"}}}),
        ),
        (Kind::ConsumerGroup, json!({"id": "g", "plugins": {}})),
        (
            Kind::GlobalRule,
            json!({"id": 1, "plugins": {"prometheus": {}}}),
        ),
        (
            Kind::PluginConfig,
            json!({"id": 1, "plugins": {}, "desc": "d", "labels": {"a": "b"}}),
        ),
        (
            Kind::PluginMetadata,
            json!({"id": "http-logger", "log_format": {"host": "$host"}}),
        ),
        (
            Kind::Ssl,
            json!({"id": 1, "cert": CERT, "key": KEY, "snis": ["test.com", "*.test.com"]}),
        ),
        (
            Kind::Ssl,
            json!({"cert": CERT, "key": KEY, "sni": "test.com", "client": {"ca": CERT, "depth": 2}}),
        ),
        (
            Kind::Ssl,
            json!({"type": "client", "cert": CERT, "key": KEY}),
        ),
        (
            Kind::Ssl,
            json!({"cert": "$env://CERT", "key": "$secret://vault/1/key", "snis": ["a.com"]}),
        ),
        (
            Kind::Credential,
            json!({"id": "c1", "plugins": {"key-auth": {"key": "k"}}}),
        ),
    ];
    for (kind, v) in cases {
        if let Err(e) = validate(kind, "1", &v) {
            panic!("{kind} refused: {v}\n{}", e.error_msg());
        }
    }
}

#[test]
fn invalid_objects_fail_with_apisix_wording() {
    let ok_up = json!({"nodes": {"a:80": 1}});
    let cases: Vec<(Kind, Value, &str)> = vec![
        (
            Kind::Route,
            json!({"uri": 5, "upstream_id": 1}),
            r#"property "uri" validation failed: wrong type: expected string, got number"#,
        ),
        (
            Kind::Route,
            json!({"uri": "/", "upstream_id": 1, "foo": 1}),
            "additional properties forbidden, found foo",
        ),
        (
            Kind::Route,
            json!({"upstream_id": 1}),
            "allOf 1 failed: value should match only one schema, but matches none",
        ),
        (
            Kind::Route,
            json!({"uri": "/", "uris": ["/b"], "upstream_id": 1}),
            "allOf 1 failed: value should match only one schema, but matches both schemas 1 and 2",
        ),
        (
            Kind::Route,
            json!({"uri": "/", "host": "a.com", "hosts": ["b.com"], "upstream_id": 1}),
            "allOf 2 failed: value should match only one schema, but matches both schemas 2 and 3",
        ),
        (
            Kind::Route,
            json!({"uri": "/"}),
            r#"object matches none of the required: ["plugins"] or ["upstream"] or ["upstream_id"] or ["service_id"] or ["plugin_config_id"] or ["script"]"#,
        ),
        (
            Kind::Route,
            json!({"uri": "/", "upstream_id": 1, "methods": ["GET", "FETCH"]}),
            r#"property "methods" validation failed: failed to validate item 2: matches none of the enum values"#,
        ),
        (
            Kind::Route,
            json!({"uri": "/", "upstream_id": 1, "methods": ["GET", "GET"]}),
            r#"property "methods" validation failed: expected unique items but items 1 and 2 are equal"#,
        ),
        (
            Kind::Route,
            json!({"uri": "/", "upstream_id": 1, "status": 2}),
            r#"property "status" validation failed: matches none of the enum values"#,
        ),
        (
            Kind::Route,
            json!({"uri": "/", "upstream_id": 1, "priority": 1.5}),
            r#"property "priority" validation failed: wrong type: expected integer, got number"#,
        ),
        (
            Kind::Route,
            json!({"uri": "", "upstream_id": 1}),
            r#"property "uri" validation failed: string too short, expected at least 1, got 0"#,
        ),
        (
            Kind::Route,
            json!({"uri": "/", "upstream_id": 1, "name": "é".repeat(257)}),
            r#"property "name" validation failed: string too long, expected at most 256, got 257"#,
        ),
        (
            Kind::Route,
            json!({"uri": "/", "upstream_id": "a b"}),
            r#"property "upstream_id" validation failed: failed to match pattern "^[a-zA-Z0-9-_.]+$" with "a b""#,
        ),
        (
            Kind::Route,
            json!({"uri": "/", "upstream_id": 0}),
            r#"property "upstream_id" validation failed: expected 0 to be at least 1"#,
        ),
        (
            Kind::Route,
            json!({"uri": "/", "upstream_id": true}),
            r#"property "upstream_id" validation failed: wrong type: expected one of string, integer, got boolean"#,
        ),
        (
            Kind::Route,
            json!({"uri": "/", "upstream_id": 1, "timeout": {"connect": 0, "send": 1, "read": 1}}),
            r#"property "timeout" validation failed: property "connect" validation failed: expected 0 to be greater than 0"#,
        ),
        (
            Kind::Route,
            json!({"uri": "/", "upstream_id": 1, "timeout": {"connect": 1, "send": 1}}),
            r#"property "timeout" validation failed: property "read" is required"#,
        ),
        (
            Kind::Route,
            json!({"uri": "/", "upstream_id": 1, "remote_addr": "300.1.1.1"}),
            r#"property "remote_addr" validation failed: object matches none of the required"#,
        ),
        (
            Kind::Route,
            json!({"uri": "/", "upstream_id": 1, "vars": {"a": 1}}),
            r#"property "vars" validation failed: wrong type: expected array, got table"#,
        ),
        (
            Kind::Route,
            json!({"uri": "/", "upstream_id": 1, "plugins": []}),
            r#"property "plugins" validation failed: wrong type: expected object, got table"#,
        ),
        (
            Kind::Route,
            json!({"uri": "/", "upstream": {"nodes": [{"host": "a", "port": 1, "weight": 1, "w": 2}]}}),
            r#"property "upstream" validation failed: property "nodes" validation failed: failed to validate item 1: additional properties forbidden, found w"#,
        ),
        (
            Kind::Route,
            json!({"uri": "/", "upstream": {"nodes": {"a:1": 1}, "pass_host": "rewrite"}}),
            "`upstream_host` can't be empty when `pass_host` is `rewrite`",
        ),
        (
            Kind::Upstream,
            json!({"nodes": {"a:1": -1}}),
            r#"property "nodes" validation failed: failed to validate a:1 (matching ".*"): expected -1 to be at least 0"#,
        ),
        (
            Kind::Upstream,
            json!({"nodes": "a:1"}),
            r#"property "nodes" validation failed: wrong type: expected one of object, array, got string"#,
        ),
        (
            Kind::Upstream,
            json!({}),
            "value should match only one schema, but matches none",
        ),
        (
            Kind::Upstream,
            json!({"nodes": [{"host": "a", "port": 70000, "weight": 1}]}),
            r#"property "nodes" validation failed: failed to validate item 1: property "port" validation failed: expected 70000 to be at most 65535"#,
        ),
        (
            Kind::Upstream,
            json!({"nodes": [{"port": 1, "weight": 1}]}),
            r#"property "nodes" validation failed: failed to validate item 1: property "host" is required"#,
        ),
        (
            Kind::Upstream,
            json!({"nodes": {}, "type": "random"}),
            r#"property "type" validation failed: matches none of the enum values"#,
        ),
        (
            Kind::Upstream,
            json!({"nodes": {}, "type": "chash"}),
            "missing key",
        ),
        (
            Kind::Upstream,
            json!({"nodes": {}, "retries": -1}),
            r#"property "retries" validation failed: expected -1 to be at least 0"#,
        ),
        (
            Kind::Upstream,
            json!({"nodes": {}, "keepalive_pool": {"size": 0}}),
            r#"property "keepalive_pool" validation failed: property "size" validation failed: expected 0 to be at least 1"#,
        ),
        (
            Kind::Upstream,
            json!({"nodes": {}, "checks": {"passive": {}}}),
            r#"property "checks" validation failed: property "active" is required"#,
        ),
        (
            Kind::Upstream,
            json!({"nodes": {}, "checks": {"active": {"healthy": {"successes": 255}}}}),
            r#"property "checks" validation failed: property "active" validation failed: property "healthy" validation failed: property "successes" validation failed: expected 255 to be at most 254"#,
        ),
        (
            Kind::Upstream,
            json!({"nodes": {}, "checks": {"active": {"type": "udp"}}}),
            r#"property "checks" validation failed: property "active" validation failed: property "type" validation failed: matches none of the enum values"#,
        ),
        (
            Kind::Upstream,
            json!({"nodes": {}, "tls": {"client_cert": CERT}}),
            r#"property "tls" validation failed: property "client_key" is required when "client_cert" is set"#,
        ),
        (
            Kind::Upstream,
            json!({"nodes": {}, "labels": {"a": "b c"}}),
            r#"property "labels" validation failed: failed to validate a (matching ".*"): failed to match pattern "^\\S+$" with "b c""#,
        ),
        (
            Kind::Service,
            json!({"upstream": ok_up, "uri": "/"}),
            "additional properties forbidden, found uri",
        ),
        (
            Kind::Consumer,
            json!({"plugins": {}}),
            r#"property "username" is required"#,
        ),
        (
            Kind::Consumer,
            json!({"username": "a b"}),
            r#"property "username" validation failed: failed to match pattern "^[a-zA-Z0-9_\\-]+$" with "a b""#,
        ),
        (
            Kind::Consumer,
            json!({"username": "a", "id": "a"}),
            "additional properties forbidden, found id",
        ),
        (
            Kind::ConsumerGroup,
            json!({"id": "g"}),
            r#"property "plugins" is required"#,
        ),
        (
            Kind::GlobalRule,
            json!({"id": 1, "plugins": 1}),
            r#"property "plugins" validation failed: wrong type: expected object, got number"#,
        ),
        (
            Kind::PluginConfig,
            json!({"id": 1}),
            r#"property "plugins" is required"#,
        ),
        (
            Kind::PluginMetadata,
            json!({"log_format": {}}),
            r#"property "id" is required"#,
        ),
        (
            Kind::Ssl,
            json!({"cert": CERT, "key": KEY}),
            "then clause did not match",
        ),
        (
            Kind::Ssl,
            json!({"cert": "short", "key": KEY, "snis": ["a.com"]}),
            r#"property "cert" validation failed: value should match only one schema, but matches none"#,
        ),
        (
            Kind::Ssl,
            json!({"cert": CERT, "key": KEY, "snis": ["a b"]}),
            r#"property "snis" validation failed: failed to validate item 1: failed to match pattern "^\\*?[0-9a-zA-Z-._]+$" with "a b""#,
        ),
        (
            Kind::Ssl,
            json!({"cert": CERT, "key": KEY, "snis": ["a.com"], "client": {"depth": 1}}),
            r#"property "client" validation failed: property "ca" is required"#,
        ),
        (
            Kind::Credential,
            json!({"id": "c", "plugins": {"key-auth": {}, "basic-auth": {}}}),
            r#"property "plugins" validation failed: expect object to have at most 1 properties"#,
        ),
    ];
    let mut failed = Vec::new();
    for (kind, v, want) in cases {
        let got = msg(kind, v.clone());
        let want = format!("invalid configuration: {want}");
        let want = if want.contains('`') || want.ends_with("missing key") {
            want.trim_start_matches("invalid configuration: ")
                .to_owned()
        } else {
            want
        };
        if got != want {
            failed.push(format!("{kind} {v}\n  got:  {got}\n  want: {want}"));
        }
    }
    assert!(failed.is_empty(), "{}", failed.join("\n"));
}

#[test]
fn errors_name_kind_id_and_field() {
    let e = validate(
        Kind::Route,
        "r7",
        &json!({"uri": "/", "upstream": {"nodes": [{"host": "a", "port": 0, "weight": 1}]}}),
    )
    .unwrap_err();
    assert_eq!((e.kind, e.id.as_str()), (Kind::Route, "r7"));
    assert_eq!(e.field, "upstream.nodes[0].port");
    assert_eq!(e.reason, "expected 0 to be at least 1");
    assert_eq!(
        e.to_string(),
        r#"invalid route "r7": property "upstream.nodes[0].port" validation failed: expected 0 to be at least 1"#
    );
    let e = validate(
        Kind::Route,
        "r7",
        &json!({"uri": "/", "upstream_id": 1, "x": 1}),
    )
    .unwrap_err();
    assert_eq!(
        (e.field.as_str(), e.reason.as_str()),
        ("x", "additional properties forbidden, found x")
    );
}

#[test]
fn defaults_are_filled_like_apisix_stores_them() {
    let mut r = json!({"uri": "/", "upstream": {"nodes": [{"host": "a", "port": 1, "weight": 1}],
        "keepalive_pool": {}, "checks": {"active": {}}}});
    fill_defaults(Kind::Route, &mut r);
    assert_eq!(
        (r["status"].clone(), r["priority"].clone()),
        (json!(1), json!(0))
    );
    let u = &r["upstream"];
    assert_eq!(
        (&u["type"], &u["hash_on"], &u["pass_host"], &u["scheme"]),
        (
            &json!("roundrobin"),
            &json!("vars"),
            &json!("pass"),
            &json!("http")
        )
    );
    assert_eq!(u["nodes"][0]["priority"], 0);
    assert_eq!(
        u["keepalive_pool"],
        json!({"size": 320, "idle_timeout": 60, "requests": 1000})
    );
    let active = &u["checks"]["active"];
    assert_eq!(
        (&active["type"], &active["http_path"], &active["timeout"]),
        (&json!("http"), &json!("/"), &json!(1))
    );
    assert_eq!(
        active["unhealthy"],
        json!(null),
        "absent sub-objects stay absent"
    );
    assert!(u.get("checks").and_then(|c| c.get("passive")).is_none());
    // Values given are kept.
    let mut r = json!({"uri": "/", "upstream_id": 1, "status": 0, "priority": 5});
    fill_defaults(Kind::Route, &mut r);
    assert_eq!(
        (r["status"].clone(), r["priority"].clone()),
        (json!(0), json!(5))
    );
    let mut s = json!({"cert": CERT, "key": KEY, "snis": ["a"], "client": {"ca": CERT}});
    fill_defaults(Kind::Ssl, &mut s);
    assert_eq!(
        (&s["type"], &s["status"], &s["client"]["depth"]),
        (&json!("server"), &json!(1), &json!(1))
    );
}
