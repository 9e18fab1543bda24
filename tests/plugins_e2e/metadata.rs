//! plugin_metadata end to end: limit-count reads its quota header names
//! from its plugin_metadata; a change of that metadata, in the standalone
//! file or through the Admin API on etcd, renames the headers of a route
//! already serving, from the next request on, without an edit of the route.

use radixgate_test_support::etcd::Etcd;
use radixgate_test_support::{eventually, Gateway, Node, Response};

use crate::harness::{self, BIN};

/// The quota header names limit-count sent on `r`.
fn quota_headers(r: &Response) -> Vec<String> {
    let mut names: Vec<String> = r
        .headers
        .keys()
        .filter(|k| k.ends_with("-limit") || k.ends_with("-remaining") || k.ends_with("-reset"))
        .cloned()
        .collect();
    names.sort();
    names
}

fn names(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

/// The standalone file: a limited route and, when given, limit-count's
/// plugin_metadata naming its limit header.
fn apisix(node: &str, limit_header: Option<&str>) -> String {
    let metadata = limit_header
        .map(|h| format!("plugin_metadata:\n  - {{id: limit-count, limit_header: {h}}}\n"))
        .unwrap_or_default();
    format!(
        r#"upstreams:
  - {{id: u, nodes: {{"{node}": 1}}}}
routes:
  - {{id: limited, uri: /limited, upstream_id: u, plugins: {{limit-count: {{count: 100, time_window: 60}}}}}}
{metadata}#END
"#
    )
}

#[test]
fn plugin_metadata_in_the_file_renames_limit_count_headers() {
    let up = Node::start("u");
    let node = up.addr();
    let gw = harness::start_with(&apisix(&node, Some("X-Quota-Limit")), &["limit-count"]);
    let r = gw.get("/limited", &[]);
    assert_eq!(r.status, 200, "{r:?}\n{}", gw.log());
    let first = names(&[
        "x-quota-limit",
        "x-ratelimit-remaining",
        "x-ratelimit-reset",
    ]);
    assert_eq!(quota_headers(&r), first, "{r:?}");

    // Only the metadata changes: the route's next requests follow it.
    gw.write_apisix(&apisix(&node, Some("X-Other-Limit")));
    let second = names(&[
        "x-other-limit",
        "x-ratelimit-remaining",
        "x-ratelimit-reset",
    ]);
    let renamed = || quota_headers(&gw.get("/limited", &[])) == second;
    assert!(eventually(10, renamed), "{}", gw.log());

    // Without metadata: APISIX's names.
    gw.write_apisix(&apisix(&node, None));
    let default = names(&[
        "x-ratelimit-limit",
        "x-ratelimit-remaining",
        "x-ratelimit-reset",
    ]);
    let back = || quota_headers(&gw.get("/limited", &[])) == default;
    assert!(eventually(10, back), "{}", gw.log());
}

#[test]
fn plugin_metadata_through_the_admin_api_renames_limit_count_headers() {
    let e = Etcd::start();
    let gw = Gateway::etcd(BIN, &e.endpoints())
        .plugins(&["limit-count"])
        .start();
    let up = Node::start("u");
    let route = serde_json::json!({
        "uri": "/limited",
        "upstream": {"nodes": {up.addr().as_str(): 1}},
        "plugins": {"limit-count": {"count": 100, "time_window": 60}},
    });
    let (s, v) = gw.admin("PUT", "/apisix/admin/routes/1", Some(&route.to_string()));
    assert_eq!(s, 201, "{v}");
    let default = names(&[
        "x-ratelimit-limit",
        "x-ratelimit-remaining",
        "x-ratelimit-reset",
    ]);
    let served = || quota_headers(&gw.get("/limited", &[])) == default;
    assert!(eventually(10, served), "{}", gw.log());

    // Metadata written after the route: the route's next requests follow it.
    let metadata = r#"{"limit_header":"X-Quota-Limit","reset_header":"X-Quota-Reset"}"#;
    let (s, v) = gw.admin(
        "PUT",
        "/apisix/admin/plugin_metadata/limit-count",
        Some(metadata),
    );
    assert_eq!(s, 201, "{v}");
    let renamed = names(&["x-quota-limit", "x-quota-reset", "x-ratelimit-remaining"]);
    let changed = || quota_headers(&gw.get("/limited", &[])) == renamed;
    assert!(eventually(10, changed), "{}", gw.log());

    // Deleted: back to APISIX's names.
    let (s, v) = gw.admin("DELETE", "/apisix/admin/plugin_metadata/limit-count", None);
    assert_eq!(s, 200, "{v}");
    assert!(eventually(10, served), "{}", gw.log());
}
