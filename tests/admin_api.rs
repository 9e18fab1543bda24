//! The Admin API against a real etcd: every verb, APISIX's shapes and
//! status codes, and every error; PATCH's compare-and-set under concurrent
//! writers; the list filters `name`, `label` and `uri`.

use std::collections::HashMap;
use std::sync::{Arc, Barrier};
use std::time::Duration;

use radixgate_test_support::etcd::Etcd;
use radixgate_test_support::{eventually, Gateway, Node, Request, ADMIN_KEY as KEY};
use serde_json::json;

const BIN: &str = env!("CARGO_BIN_EXE_radixgate");

/// One exchange with the Admin API on `port`, with an optional JSON body:
/// (status, lower-cased headers, body).
fn http(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> std::io::Result<(u16, HashMap<String, String>, String)> {
    let mut req = Request::new(method, path)
        .headers(headers)
        .timeout(Duration::from_secs(30));
    if let Some(body) = body {
        req = req.json(body);
    }
    req.send(port).map(|r| (r.status, r.headers, r.body))
}

fn route(up: &str) -> String {
    json!({"uri": "/a", "upstream_id": up}).to_string()
}

#[test]
fn every_verb_with_apisix_shapes() {
    let e = Etcd::start();
    let gw = Gateway::etcd(BIN, &e.endpoints()).start();
    let up_one = Node::start_named("one");
    let node = up_one.addr();
    let up = json!({"nodes": {node.as_str(): 1}}).to_string();

    // PUT creates (201), then replaces (200), keeping create_time.
    let (s, v) = gw.admin("PUT", "/apisix/admin/upstreams/u1", Some(&up));
    assert_eq!(s, 201, "{v}");
    assert_eq!(v["key"], "/apisix/upstreams/u1");
    assert_eq!(v["value"]["id"], "u1");
    assert!(v["value"]["create_time"].is_u64() && v["value"]["update_time"].is_u64());
    let created = v["value"]["create_time"].clone();
    let (s, v) = gw.admin("PUT", "/apisix/admin/upstreams/u1", Some(&up));
    assert_eq!((s, &v["value"]["create_time"]), (200, &created));

    // GET one: key, value, createdIndex, modifiedIndex; X-API-VERSION: v3.
    let (s, h, body) = http(
        gw.admin_port(),
        "GET",
        "/apisix/admin/upstreams/u1",
        &[("X-API-KEY", KEY)],
        None,
    )
    .expect("the Admin API answers");
    let v: serde_json::Value = serde_json::from_str(&body).expect("a JSON body");
    assert_eq!(s, 200);
    assert!(h.iter().any(|(k, val)| k == "x-api-version" && val == "v3"));
    let created = v["createdIndex"].as_i64().expect("createdIndex");
    let modified = v["modifiedIndex"].as_i64().expect("modifiedIndex");
    assert!(created < modified, "{v}");

    // PUT a route: the next request through the gateway is served by it.
    let (s, v) = gw.admin("PUT", "/apisix/admin/routes/1", Some(&route("u1")));
    assert_eq!(s, 201, "{v}");
    assert!(
        eventually(10, || gw.fetch("/a") == (200, "one".into())),
        "{}",
        gw.log()
    );

    // POST: id from the etcd revision, 20 digits.
    let (s, v) = gw.admin(
        "POST",
        "/apisix/admin/routes",
        Some(&json!({"uri": "/p", "upstream_id": "u1"}).to_string()),
    );
    assert_eq!(s, 201, "{v}");
    let id = v["value"]["id"]
        .as_str()
        .expect("a generated id")
        .to_owned();
    assert_eq!(id.len(), 20);
    assert!(id.bytes().all(|b| b.is_ascii_digit()));
    assert_eq!(v["key"], format!("/apisix/routes/{id}"));

    // List with paging.
    let (s, v) = gw.admin("GET", "/apisix/admin/routes", None);
    assert_eq!((s, v["total"].as_u64()), (200, Some(2)), "{v}");
    assert_eq!(v["list"].as_array().map(Vec::len), Some(2));
    let (_, v) = gw.admin("GET", "/apisix/admin/routes?page=2&page_size=10", None);
    assert_eq!(
        (v["total"].as_u64(), v["list"].as_array().map(Vec::len)),
        (Some(2), Some(0))
    );
    let (_, v) = gw.admin("GET", "/apisix/admin/routes?uri=/p", None);
    assert_eq!(v["total"], 1);

    // PATCH merges (null deletes, arrays replaced), sub-path PATCH sets.
    let (s, v) = gw.admin(
        "PATCH",
        "/apisix/admin/routes/1",
        Some(r#"{"desc":"x","methods":["GET"],"name":"n"}"#),
    );
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        (v["value"]["desc"].as_str(), v["value"]["uri"].as_str()),
        (Some("x"), Some("/a"))
    );
    let (_, v) = gw.admin(
        "PATCH",
        "/apisix/admin/routes/1",
        Some(r#"{"desc":null,"methods":["POST","GET"]}"#),
    );
    assert!(v["value"].get("desc").is_none());
    assert_eq!(v["value"]["methods"], json!(["POST", "GET"]));
    let (s, v) = gw.admin(
        "PATCH",
        "/apisix/admin/routes/1/methods",
        Some(r#"["GET"]"#),
    );
    assert_eq!((s, &v["value"]["methods"]), (200, &json!(["GET"])), "{v}");
    let (s, _) = gw.admin("PATCH", "/apisix/admin/routes/9", Some("{}"));
    assert_eq!(s, 404);

    // DELETE refused while referenced, then forced; deleted object is 404.
    let (s, v) = gw.admin("DELETE", "/apisix/admin/upstreams/u1", None);
    assert_eq!(s, 400);
    let msg = v["error_msg"].as_str().unwrap_or_default();
    assert!(
        msg.starts_with("can not delete this upstream, route [")
            && msg.ends_with("] is still using it now"),
        "{msg}"
    );
    let (s, v) = gw.admin("DELETE", "/apisix/admin/routes/1", None);
    assert_eq!(
        (s, v["deleted"].as_str(), v["key"].as_str()),
        (200, Some("1"), Some("/apisix/routes/1"))
    );
    assert!(eventually(10, || gw.fetch("/a").0 == 404));
    let (s, v) = gw.admin("GET", "/apisix/admin/routes/1", None);
    assert_eq!(s, 404);
    assert!(v["error_msg"]
        .as_str()
        .unwrap_or_default()
        .contains("not found"));
    let (s, _) = gw.admin("DELETE", "/apisix/admin/routes/1", None);
    assert_eq!(s, 404);
    let (s, _) = gw.admin("DELETE", "/apisix/admin/upstreams/u1?force=true", None);
    assert_eq!(s, 200);

    // ttl: the object goes when its lease expires.
    let (s, v) = gw.admin("PUT", "/apisix/admin/upstreams/t?ttl=1", Some(&up));
    assert_eq!(s, 201, "{v}");
    assert!(eventually(15, || gw
        .admin("GET", "/apisix/admin/upstreams/t", None)
        .0
        == 404));
}

#[test]
fn bad_input_is_refused_and_nothing_is_written() {
    let e = Etcd::start();
    let gw = Gateway::etcd(BIN, &e.endpoints()).start();
    let put = |path: &str, body: &str| gw.admin("PUT", path, Some(body));

    // Reference to a missing upstream.
    let (s, v) = put("/apisix/admin/routes/1", &route("nope"));
    assert_eq!(s, 400);
    assert_eq!(
        v["error_msg"],
        "failed to fetch upstream info by upstream id [nope], response code: 404"
    );
    // Schema: wrong type, unknown field; the field is named.
    let (s, v) = put(
        "/apisix/admin/routes/1",
        r#"{"uri":3,"upstream":{"nodes":{"127.0.0.1:1":1}}}"#,
    );
    assert_eq!(s, 400);
    assert!(
        v["error_msg"]
            .as_str()
            .unwrap_or_default()
            .contains("\"uri\""),
        "{v}"
    );
    let (s, v) = put(
        "/apisix/admin/upstreams/u",
        r#"{"nodes":{"127.0.0.1:1":1},"bogus":1}"#,
    );
    assert_eq!(s, 400);
    assert!(
        v["error_msg"]
            .as_str()
            .unwrap_or_default()
            .contains("bogus"),
        "{v}"
    );
    // Not JSON, not an object, body id differs, id with bad characters.
    assert_eq!(put("/apisix/admin/upstreams/u", "{nope").0, 400);
    assert_eq!(put("/apisix/admin/upstreams/u", "[1]").0, 400);
    assert_eq!(
        put("/apisix/admin/upstreams/u", r#"{"id":"v","nodes":{}}"#).0,
        400
    );
    assert_eq!(
        put("/apisix/admin/upstreams/a%20b", r#"{"nodes":{}}"#).0,
        400
    );
    // Too large.
    let big = format!(r#"{{"desc":"{}","nodes":{{}}}}"#, "x".repeat(1600 * 1024));
    assert_eq!(put("/apisix/admin/upstreams/u", &big).0, 413);
    // Unknown kind, wrong method, a kind this build does not serve.
    assert_eq!(put("/apisix/admin/nothings/1", "{}").0, 404);
    assert_eq!(gw.admin("HEAD", "/apisix/admin/routes", None).0, 405);
    assert_eq!(
        gw.admin("POST", "/apisix/admin/routes/1", Some("{}")).0,
        405
    );
    assert_eq!(put("/apisix/admin/protos/1", r#"{"content":"x"}"#).0, 400);
    // Nothing was written.
    let (s, v) = gw.admin("GET", "/apisix/admin/upstreams", None);
    assert_eq!((s, v["total"].as_u64()), (200, Some(0)), "{v}");
    let (s, v) = gw.admin("GET", "/apisix/admin/routes", None);
    assert_eq!((s, v["total"].as_u64()), (200, Some(0)), "{v}");
}

#[test]
fn keys_and_roles() {
    let e = Etcd::start();
    // With allow_query_key, as APISIX: the key may come as ?api_key=.
    let extra = "  allow_query_key: true\n  keys:\n    - {name: ops, key: admin-secret-1, role: admin}\n    - {name: ro, key: viewer-secret-1, role: viewer}\n";
    let gw = Gateway::etcd(BIN, &e.endpoints()).admin_yaml(extra).start();
    let call = |method: &str, path: &str, h: &[(&str, &str)], body: Option<&str>| {
        let (s, _, b) =
            http(gw.admin_port(), method, path, h, body).expect("the Admin API answers");
        (
            s,
            serde_json::from_str::<serde_json::Value>(&b).unwrap_or_default(),
        )
    };
    let (s, v) = call("GET", "/apisix/admin/routes", &[], None);
    assert_eq!(s, 401);
    assert_eq!(
        v,
        json!({"error_msg": "failed to check token", "description": "missing apikey"})
    );
    let (s, v) = call(
        "GET",
        "/apisix/admin/routes",
        &[("X-API-KEY", "wrong-key-1")],
        None,
    );
    assert_eq!((s, v["description"].as_str()), (401, Some("wrong apikey")));
    // The default key is not in force once keys are set.
    assert_eq!(
        call("GET", "/apisix/admin/routes", &[("X-API-KEY", KEY)], None).0,
        401
    );
    assert_eq!(
        call(
            "GET",
            "/apisix/admin/routes?api_key=viewer-secret-1",
            &[],
            None
        )
        .0,
        200
    );
    let up = r#"{"nodes":{"127.0.0.1:1":1}}"#;
    assert_eq!(
        call(
            "PUT",
            "/apisix/admin/upstreams/1",
            &[("X-API-KEY", "viewer-secret-1")],
            Some(up)
        )
        .0,
        401
    );
    assert_eq!(
        call(
            "PUT",
            "/apisix/admin/upstreams/1",
            &[("X-API-KEY", "admin-secret-1")],
            Some(up)
        )
        .0,
        201
    );
}

#[test]
fn etcd_down_is_503_and_standalone_is_read_only() {
    let mut e = Etcd::start();
    let gw = Gateway::etcd(BIN, &e.endpoints()).start();
    e.stop(0);
    let (s, v) = gw.admin("GET", "/apisix/admin/routes", None);
    assert_eq!(s, 503, "{v}");
    assert_eq!(
        gw.admin("PUT", "/apisix/admin/upstreams/1", Some(r#"{"nodes":{}}"#))
            .0,
        503
    );
    drop(gw);

    // Standalone: GET serves the file's objects, writes are refused.
    let standalone = Gateway::file(
        BIN,
        "upstreams:\n  - {id: u, nodes: {\"127.0.0.1:1\": 1}}\nroutes:\n  - {id: 1, uri: /a, upstream_id: u}\n#END\n",
    )
    .workers(1)
    .admin()
    .start();
    let admin = standalone.admin_port();
    assert!(eventually(20, || http(admin, "GET", "/", &[], None).is_ok()));
    let (s, _, b) = http(
        admin,
        "GET",
        "/apisix/admin/routes/1",
        &[("X-API-KEY", KEY)],
        None,
    )
    .expect("the Admin API answers");
    assert_eq!(s, 200, "{b}");
    assert!(b.contains("\"uri\":\"/a\""), "{b}");
    let (s, _, b) = http(
        admin,
        "PUT",
        "/apisix/admin/routes/2",
        &[("X-API-KEY", KEY)],
        Some("{}"),
    )
    .expect("the Admin API answers");
    assert_eq!(s, 405);
    assert!(b.contains("read-only in standalone mode"), "{b}");
    let body = r#"{"uri":"/v","upstream_id":"u"}"#;
    let validate = "/apisix/admin/schema/validate/route";
    let (s, _, b) = http(admin, "POST", validate, &[("X-API-KEY", KEY)], Some(body))
        .expect("the Admin API answers");
    assert_eq!(
        s, 200,
        "validation writes nothing: allowed in standalone mode: {b}"
    );
    drop(standalone);
}

#[test]
fn schemas_consumers_and_credentials() {
    let e = Etcd::start();
    let gw = Gateway::etcd(BIN, &e.endpoints()).start();
    let (s, v) = gw.admin("GET", "/apisix/admin/schema/route", None);
    assert_eq!(s, 200, "{v}");
    assert!(v["properties"]["uri"].is_object(), "{v}");
    assert_eq!(gw.admin("GET", "/apisix/admin/schema/nothing", None).0, 404);

    // Validate without writing.
    let ok = r#"{"uri":"/v","upstream":{"nodes":{"127.0.0.1:1":1}}}"#;
    let (s, v) = gw.admin("POST", "/apisix/admin/schema/validate/route", Some(ok));
    assert_eq!(s, 200, "{v}");
    let (s, v) = gw.admin(
        "POST",
        "/apisix/admin/schema/validate/routes",
        Some(r#"{"uri":1}"#),
    );
    assert_eq!(s, 400, "{v}");
    assert_eq!(gw.admin("GET", "/apisix/admin/routes", None).1["total"], 0);
    let (s, v) = gw.admin("GET", "/apisix/admin/plugins/list", None);
    assert_eq!((s, v), (200, json!([])));

    // A consumer is written with its username in the body.
    let (s, v) = gw.admin(
        "PUT",
        "/apisix/admin/consumers",
        Some(r#"{"username":"jack"}"#),
    );
    assert_eq!(s, 201, "{v}");
    assert_eq!(v["key"], "/apisix/consumers/jack");
    let (s, v) = gw.admin("GET", "/apisix/admin/consumers/jack", None);
    assert_eq!(
        (s, v["value"]["username"].as_str()),
        (200, Some("jack")),
        "{v}"
    );
    let (s, v) = gw.admin(
        "PUT",
        "/apisix/admin/consumers/jack/credentials/k1",
        Some(r#"{"plugins":{}}"#),
    );
    assert_eq!(s, 201, "{v}");
    assert_eq!(v["key"], "/apisix/consumers/jack/credentials/k1");
    let (s, v) = gw.admin("GET", "/apisix/admin/consumers/jack/credentials", None);
    assert_eq!((s, v["total"].as_u64()), (200, Some(1)), "{v}");
    // Listing consumers does not list their credentials.
    let (_, v) = gw.admin("GET", "/apisix/admin/consumers", None);
    assert_eq!(v["total"], 1, "{v}");
    let (s, _) = gw.admin(
        "DELETE",
        "/apisix/admin/consumers/jack/credentials/k1",
        None,
    );
    assert_eq!(s, 200);
}

/// (total, ids in the page) of `GET /apisix/admin/routes?<query>`.
fn listed(gw: &Gateway, query: &str) -> (u64, Vec<String>) {
    let (s, v) = gw.admin("GET", &format!("/apisix/admin/routes?{query}"), None);
    assert_eq!(s, 200, "?{query}: {v}");
    let mut ids: Vec<String> = v["list"]
        .as_array()
        .unwrap_or_else(|| panic!("?{query}: no list in {v}"))
        .iter()
        .map(|item| item["value"]["id"].as_str().unwrap_or("?").to_owned())
        .collect();
    ids.sort();
    (v["total"].as_u64().unwrap_or(u64::MAX), ids)
}

#[test]
fn list_filters_name_label_and_uri() {
    let e = Etcd::start();
    let gw = Gateway::etcd(BIN, &e.endpoints()).start();
    let routes = [
        json!({"id": "1", "uri": "/api/users", "name": "users-api", "labels": {"env": "prod", "team": "a"}}),
        json!({"id": "2", "uris": ["/web", "/api/orders"], "name": "orders-api", "labels": {"env": "dev"}}),
        json!({"id": "3", "uri": "/web/home", "name": "web-home", "labels": {"team": "a"}}),
        json!({"id": "4", "uri": "/static"}),
    ];
    for mut r in routes {
        r["upstream"] = json!({"nodes": {"127.0.0.1:1": 1}});
        let (s, v) = gw.admin("PUT", "/apisix/admin/routes", Some(&r.to_string()));
        assert_eq!(s, 201, "{v}");
    }
    let ids = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    // name: a substring of the name; objects without one never match.
    assert_eq!(listed(&gw, "name=api"), (2, ids(&["1", "2"])));
    assert_eq!(listed(&gw, "name=home"), (1, ids(&["3"])));
    assert_eq!(listed(&gw, "name=nothing"), (0, ids(&[])));
    // label: a key (any value), or key:value.
    assert_eq!(listed(&gw, "label=env"), (2, ids(&["1", "2"])));
    assert_eq!(listed(&gw, "label=env:prod"), (1, ids(&["1"])));
    assert_eq!(listed(&gw, "label=team:a"), (2, ids(&["1", "3"])));
    assert_eq!(listed(&gw, "label=team:b"), (0, ids(&[])));
    // uri: a substring of `uri` or of any of `uris`, as APISIX.
    assert_eq!(listed(&gw, "uri=/api"), (2, ids(&["1", "2"])));
    assert_eq!(listed(&gw, "uri=/web"), (2, ids(&["2", "3"])));
    // Filters together must all hold; total counts what they let through,
    // the page shows its part of it.
    assert_eq!(listed(&gw, "name=api&label=env:dev"), (1, ids(&["2"])));
    assert_eq!(listed(&gw, "label=team&uri=/web"), (1, ids(&["3"])));
    assert_eq!(listed(&gw, "name=api&page=2&page_size=10"), (2, ids(&[])));
    assert_eq!(listed(&gw, ""), (4, ids(&["1", "2", "3", "4"])));
}

#[test]
fn concurrent_patches_lose_no_acknowledged_change() {
    let e = Etcd::start();
    let gw = Gateway::etcd(BIN, &e.endpoints()).start();
    let route = r#"{"uri":"/c","upstream":{"nodes":{"127.0.0.1:1":1}},"labels":{"base":"0"}}"#;
    let (s, v) = gw.admin("PUT", "/apisix/admin/routes/1", Some(route));
    assert_eq!(s, 201, "{v}");
    // Writers PATCH one label each, all at once, on the same route: each
    // PATCH reads the route, merges, and writes only if the route has not
    // changed since it read it (else it reads again, a few times).
    const WRITERS: usize = 8;
    const ROUNDS: usize = 3;
    let start = Arc::new(Barrier::new(WRITERS));
    let port = gw.admin_port();
    let writers: Vec<_> = (0..WRITERS)
        .map(|w| {
            let start = start.clone();
            std::thread::spawn(move || {
                start.wait();
                (0..ROUNDS)
                    .map(|r| {
                        let label = format!("w{w}r{r}");
                        let body = json!({"labels": {label.as_str(): "v"}}).to_string();
                        let answer = Request::new("PATCH", "/apisix/admin/routes/1")
                            .header("X-API-KEY", KEY)
                            .json(&body)
                            .timeout(Duration::from_secs(30))
                            .send(port)
                            .expect("the Admin API answers a PATCH");
                        (label, answer.status, answer.body)
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let answers: Vec<(String, u16, String)> = writers
        .into_iter()
        .flat_map(|w| w.join().expect("a writer thread"))
        .collect();
    let (s, v) = gw.admin("GET", "/apisix/admin/routes/1", None);
    assert_eq!(s, 200, "{v}");
    let labels = v["value"]["labels"]
        .as_object()
        .unwrap_or_else(|| panic!("labels in {v}"));
    // A PATCH answered 200 is in the route; one answered 409 (the route
    // kept changing) wrote nothing.
    let mut acknowledged = 0;
    for (label, status, body) in &answers {
        match status {
            200 => {
                acknowledged += 1;
                assert!(
                    labels.contains_key(label),
                    "PATCH {label} answered 200, its label is lost: {labels:?}"
                );
            }
            409 => {
                assert!(
                    !labels.contains_key(label),
                    "{label} answered 409: {labels:?}"
                );
                assert!(body.contains("changed"), "{body}");
            }
            other => panic!("PATCH {label}: {other} {body}"),
        }
    }
    assert!(acknowledged > 0, "{answers:?}");
    assert_eq!(labels.len(), 1 + acknowledged, "{labels:?}\n{answers:?}");
    assert_eq!(labels.get("base"), Some(&json!("0")));
}
