//! End to end: a route `uri` with `:param` or `*param` segments means what
//! it means in APISIX (lua-resty-radixtree's regex built from the
//! segments): the text segments keep their regex meaning (`nodes/?`), and
//! among routes under one literal prefix the one whose whole pattern
//! matches serves, whatever order they were written in. A `uri` whose
//! regex does not compile is refused before it serves, naming the route.

use radixgate_test_support::gateway::test_config;
use radixgate_test_support::{get, Gateway, Node};

const BIN: &str = env!("CARGO_BIN_EXE_radixgate");

/// Which node served `path` on the gateway at `port`.
fn served_by(port: u16, path: &str) -> Option<String> {
    let r = get(port, path);
    match r.status {
        200 => r.echoed("upstream"),
        404 => None,
        s => panic!("GET {path}: unexpected status {s}: {r:?}"),
    }
}

#[test]
fn param_routes_under_one_prefix_serve_the_whole_match() {
    let long = Node::start("long");
    let medium = Node::start("medium");
    let short = Node::start("short");
    // Written longest first: the first route's literal prefix (`/api/`)
    // is shared by all three, and its pattern must match the whole path.
    let apisix = format!(
        r#"upstreams:
  - {{id: long, nodes: {{"{l}": 1}}}}
  - {{id: medium, nodes: {{"{m}": 1}}}}
  - {{id: short, nodes: {{"{s}": 1}}}}
routes:
  - {{id: long, uri: "/api/:version/test/api/projects/:project_id/clusters/:cluster_id/nodes/?", upstream_id: long}}
  - {{id: medium, uri: "/api/:version/test/api/projects/:project_id", upstream_id: medium}}
  - {{id: short, uri: "/api/:version/test/*subpath", upstream_id: short}}
  - {{id: dotted, uri: "/v/:id/v1.0", upstream_id: medium}}
#END
"#,
        l = long.addr(),
        m = medium.addr(),
        s = short.addr(),
    );
    let gw = Gateway::start_file(BIN, &apisix);
    let p = gw.port;
    let cases = [
        (
            "/api/v4/test/api/projects/saas/clusters/123/nodes/",
            Some("long"),
        ),
        // `/?` in the pattern: the trailing slash is optional.
        (
            "/api/v4/test/api/projects/saas/clusters/123/nodes",
            Some("long"),
        ),
        ("/api/v4/test/api", Some("short")),
        ("/api/v4/test/api/projects/saas", Some("medium")),
        ("/api/v4/test/api/projects/saas/extra", Some("short")),
        (
            "/api/v4/test/api/projects/saas/clusters/123/nodes/x",
            Some("short"),
        ),
        ("/api/v4/other", None),
        // `.` in a text segment after a param is a regex `.`, as in APISIX.
        ("/v/7/v1.0", Some("medium")),
        ("/v/7/v1X0", Some("medium")),
        ("/v/7/v10", None),
    ];
    for (path, want) in cases {
        assert_eq!(
            served_by(p, path).as_deref(),
            want,
            "GET {path}\n{}",
            gw.log()
        );
    }
}

#[test]
fn a_uri_whose_regex_does_not_compile_is_refused_with_its_route() {
    let good = "upstreams:\n  - {id: u, nodes: {\"127.0.0.1:1\": 1}}\nroutes:\n  \
                - {id: ok, uri: \"/n/:id/nodes/?\", upstream_id: u}\n#END\n";
    let gw = Gateway::file(BIN, good).prepare();
    let (dir, config) = (&gw.dir, gw.dir.path("config.yaml"));
    let out = test_config(BIN, &config, dir.root());
    assert!(out.status.success(), "{out:?}");

    let bad = good.replace(
        "#END\n",
        "  - {id: open, uri: \"/n/:id/(x\", upstream_id: u}\n#END\n",
    );
    std::fs::write(dir.path("apisix.yaml"), bad).expect("write apisix.yaml");
    let out = test_config(BIN, &config, dir.root());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{out:?}");
    assert!(
        err.contains(r#"invalid route "open": property "uri""#) && err.contains("(x"),
        "the error names the route, the field and the path: {err}"
    );
    assert!(!err.contains(r#"route "ok""#), "{err}");
}
