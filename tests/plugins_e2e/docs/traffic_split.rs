//! traffic-split's documented examples through the gateway: a canary
//! release (3:1 between an inline upstream and the route's own), a split
//! onto a stored upstream, blue-green by header (`match`), an inline
//! upstream whose failing node its health checks eject (active and
//! passive); an upstream the
//! plugin names that does not exist answers 502, logged; and the Admin API
//! refuses an unknown `upstream_id` or a bad inline upstream, naming the
//! field.

use radixgate_test_support::etcd::{client, runtime, Etcd};
use radixgate_test_support::{eventually, Gateway, Node};

use crate::harness;

/// Active checks every second on `/health`; one failure ejects.
const ACTIVE: &str = "{active: {type: http, http_path: /health, timeout: 1, healthy: {interval: 1, successes: 1}, unhealthy: {interval: 1, http_failures: 1}}}";

fn config(route: &str, canary: &str, bad: &str, good: &str, failing: &str) -> String {
    format!(
        r#"upstreams:
  - {{id: route, nodes: {{"{route}": 1}}}}
  - {{id: canary, nodes: {{"{canary}": 1}}}}
routes:
  - id: canary-release
    uri: /canary
    upstream_id: route
    plugins:
      traffic-split:
        rules:
          - weighted_upstreams:
              - {{upstream: {{name: upstream_A, type: roundrobin, nodes: {{"{canary}": 1}}}}, weight: 3}}
              - {{weight: 1}}
  - id: stored
    uri: /stored
    upstream_id: route
    plugins:
      traffic-split:
        rules:
          - weighted_upstreams: [{{upstream_id: canary, weight: 1}}, {{weight: 1}}]
  - id: blue-green
    uri: /blue-green
    upstream_id: route
    plugins:
      traffic-split:
        rules:
          - match: [{{vars: [[http_release, "==", new_release]]}}]
            weighted_upstreams: [{{upstream: {{nodes: {{"{canary}": 1}}}}}}]
  - id: missing
    uri: /missing
    upstream_id: route
    plugins:
      traffic-split:
        rules:
          - weighted_upstreams: [{{upstream_id: nope}}]
  - id: checked
    uri: /checked
    upstream_id: route
    plugins:
      traffic-split:
        rules:
          - weighted_upstreams:
              - upstream: {{nodes: {{"{bad}": 1, "{good}": 1}}, checks: {ACTIVE}}}
  - id: passive
    uri: /passive
    upstream_id: route
    plugins:
      traffic-split:
        rules:
          - weighted_upstreams:
              - upstream:
                  nodes: {{"{failing}": 1, "{good}": 1}}
                  retries: 0
                  checks:
                    active: {{http_path: /health, healthy: {{interval: 1, successes: 10}}}}
                    passive: {{unhealthy: {{http_statuses: [500], http_failures: 2}}}}
#END
"#
    )
}

/// The nodes (`x-upstream`) that served `n` GETs of `path` with `headers`.
fn served(
    gw: &radixgate_test_support::Gateway,
    path: &str,
    headers: &[(&str, &str)],
    n: usize,
) -> Vec<String> {
    (0..n)
        .map(|_| {
            let r = gw.get(path, headers);
            assert_eq!(r.status, 200, "{path}: {r:?}\n{}", gw.log());
            r.header("x-upstream").unwrap_or_default().to_owned()
        })
        .collect()
}

fn count(names: &[String], name: &str) -> usize {
    names.iter().filter(|n| *n == name).count()
}

#[test]
fn traffic_split_doc_examples() {
    let (route, canary) = (Node::start_named("route"), Node::start_named("canary"));
    let (bad, good) = (Node::start_named("bad"), Node::start_named("good"));
    let failing = Node::start_named("failing");
    failing.set_status(500);
    let gw = harness::start_with(
        &config(
            &route.addr(),
            &canary.addr(),
            &bad.addr(),
            &good.addr(),
            &failing.addr(),
        ),
        &["traffic-split"],
    );

    // Canary release: 3:1 over 1000 requests.
    let names = served(&gw, "/canary", &[], 1000);
    let to_canary = count(&names, "canary");
    assert!(
        (710..=790).contains(&to_canary) && to_canary + count(&names, "route") == 1000,
        "{to_canary} of 1000 to the canary at 3:1"
    );

    // A stored upstream beside the route's: 1:1.
    let names = served(&gw, "/stored", &[], 200);
    let to_canary = count(&names, "canary");
    assert!((90..=110).contains(&to_canary), "{to_canary} of 200 at 1:1");

    // Blue-green: the header sends every request to the new release, its
    // absence every request to the route's upstream.
    let new = served(&gw, "/blue-green", &[("release", "new_release")], 20);
    assert_eq!(count(&new, "canary"), 20, "{new:?}");
    let old = served(&gw, "/blue-green", &[], 20);
    assert_eq!(count(&old, "route"), 20, "{old:?}");

    // An upstream that does not exist: 502, logged.
    let r = gw.get("/missing", &[]);
    assert_eq!(r.status, 502, "{r:?}");
    assert!(
        eventually(2, || gw.log().contains("upstream_id=nope")),
        "the missing upstream is not logged:\n{}",
        gw.log()
    );

    // The inline upstream keeps its health checks: a node failing them
    // gets no more traffic.
    let first = served(&gw, "/checked", &[], 10);
    assert!(
        count(&first, "bad") > 0 && count(&first, "good") > 0,
        "{first:?}"
    );
    assert!(
        eventually(5, || bad.probes() > 0),
        "no probe reached the inline upstream's node"
    );
    bad.set_health(500);
    assert!(
        eventually(6, || count(&served(&gw, "/checked", &[], 10), "good") == 10),
        "the node failing its check still served:\n{}",
        gw.log()
    );

    // Passive checks: a node answering 500s is ejected after two; active
    // probes would restore it only after 10 s, longer than this test.
    let statuses: Vec<(u16, String)> = (0..30)
        .map(|_| {
            let r = gw.get("/passive", &[]);
            (
                r.status,
                r.header("x-upstream").unwrap_or_default().to_owned(),
            )
        })
        .collect();
    assert!(
        statuses[20..].iter().all(|(s, n)| *s == 200 && n == "good"),
        "{statuses:?}"
    );
    assert!(
        (2..=6).contains(&failing.hits()),
        "the failing node got {}",
        failing.hits()
    );
}

#[test]
fn the_admin_api_refuses_unknown_upstream_ids_and_bad_inline_upstreams() {
    let e = Etcd::start();
    let node = Node::start_named("n");
    let gw = Gateway::etcd(harness::BIN, &e.endpoints())
        .plugins(&["traffic-split"])
        .start();
    let admin = gw.admin_port();
    let up = format!(r#"{{"nodes":{{"{}":1}}}}"#, node.addr());
    let (status, body) = gw.admin("PUT", "/apisix/admin/upstreams/u", Some(&up));
    assert!(status == 200 || status == 201, "{status} {body}");
    let route = |split: &str| {
        format!(
            r#"{{"uri":"/t","upstream_id":"u","plugins":{{"traffic-split":{{"rules":[{{"weighted_upstreams":[{split}]}}]}}}}}}"#
        )
    };
    let refused = [
        (
            r#"{"upstream_id":"ghost"}"#,
            "plugins.traffic-split.rules[0].weighted_upstreams[0].upstream_id",
            "failed to fetch upstream info by upstream id [ghost]",
        ),
        (
            r#"{"upstream":{"nodes":{"127.0.0.1:80":1},"type":"nope"}}"#,
            "plugins.traffic-split.rules[0].weighted_upstreams[0].upstream.type",
            "",
        ),
        (r#"{"upstream_id":"u","weight":"x"}"#, "weight", ""),
    ];
    for (split, field, why) in refused {
        let (status, body) = harness::post(admin, "/apisix/admin/routes", &route(split));
        assert_eq!(status, 400, "{split}: {body}");
        assert!(
            body.contains(field) && body.contains(why),
            "{split}: {body}"
        );
    }
    // On a global rule: refused (the proxy takes split upstreams from the
    // route's chain only).
    let rule =
        r#"{"plugins":{"traffic-split":{"rules":[{"weighted_upstreams":[{"upstream_id":"u"}]}]}}}"#;
    let (status, body) = gw.admin("PUT", "/apisix/admin/global_rules/g", Some(rule));
    assert_eq!(status, 400, "{body}");
    assert!(
        body.to_string()
            .contains("traffic-split on a global_rule is not supported"),
        "{body}"
    );
    // A good one is taken and served: 1:1 between `u` and the inline upstream.
    let other = Node::start_named("inline");
    let good = route(&format!(
        r#"{{"upstream_id":"u"}},{{"upstream":{{"nodes":{{"{}":1}}}}}}"#,
        other.addr()
    ));
    let (status, body) = harness::post(admin, "/apisix/admin/routes", &good);
    assert!(status == 200 || status == 201, "{status} {body}");
    assert!(
        eventually(10, || gw.get("/t", &[]).status == 200),
        "{}",
        gw.log()
    );
    let names = served(&gw, "/t", &[], 20);
    assert_eq!(
        (count(&names, "n"), count(&names, "inline")),
        (10, 10),
        "{names:?}"
    );

    // Written to etcd behind the Admin API's back: a route naming an
    // upstream that does not exist yet answers 502; once the upstream is
    // created the route uses it, without an edit of its own.
    let rt = runtime();
    let mut c = client(&rt, &e.endpoints());
    let late = r#"{"id":"late","uri":"/late","upstream_id":"u","plugins":{"traffic-split":{"rules":[{"weighted_upstreams":[{"upstream_id":"later"}]}]}}}"#;
    rt.block_on(c.put("/apisix/routes/late", late, None))
        .expect("put the route");
    assert!(
        eventually(10, || gw.get("/late", &[]).status == 502),
        "{}",
        gw.log()
    );
    let later = Node::start_named("later");
    let up = format!(r#"{{"nodes":{{"{}":1}}}}"#, later.addr());
    let (status, body) = gw.admin("PUT", "/apisix/admin/upstreams/later", Some(&up));
    assert!(status == 200 || status == 201, "{status} {body}");
    assert!(
        eventually(10, || gw.get("/late", &[]).header("x-upstream")
            == Some("later")),
        "the route did not take the upstream created after it:\n{}",
        gw.log()
    );
}
