//! Plugins end to end: real `.so` files built by cargo, copied into a
//! plugin directory, loaded by the real gateway binary, configured on
//! routes and global rules in the standalone file, and run on real
//! requests to a real upstream.

mod docs;
mod etcd_reload;
mod harness;
mod metadata;
mod prefer_route;

use radixgate_test_support::{eventually, free_port, plugins, request, Node, ADMIN_KEY};

use harness::{header, post};

#[test]
fn chains_run_in_priority_order_with_global_rules_and_meta() {
    let up = Node::start("u");
    let node = up.addr();
    let gw = harness::start(&format!(
        r#"upstreams:
  - {{id: u, nodes: {{"{node}": 1}}}}
global_rules:
  - {{id: g, plugins: {{test-order: {{name: g}}}}}}
plugin_configs:
  - {{id: pc, plugins: {{test-order: {{name: from-pc}}, template: {{value: pc}}}}}}
routes:
  - id: ordered
    uri: /ordered
    upstream_id: u
    plugins:
      template: {{value: v}}
      test-order: {{name: o, watch: x-template}}
  - id: first
    uri: /first
    upstream_id: u
    plugins:
      template: {{value: v}}
      test-order: {{name: o, watch: x-template, _meta: {{priority: 2000}}}}
  - id: merged
    uri: /merged
    upstream_id: u
    plugin_config_id: pc
    plugins:
      test-order: {{name: route}}
  - id: disabled
    uri: /disabled
    upstream_id: u
    plugins:
      test-order: {{name: d, _meta: {{disable: true}}}}
  - id: filtered
    uri: /filtered
    upstream_id: u
    plugins:
      test-order: {{name: f, _meta: {{filter: [["arg_x", "==", "1"]]}}}}
  - id: unknown
    uri: /unknown
    upstream_id: u
    plugins:
      no-such-plugin: {{}}
#END
"#
    ));
    // template (1005) runs before test-order (1000), after the global rule.
    let r = gw.get("/ordered", &[]);
    assert_eq!(r.status, 200, "{r:?}\n{}", gw.log());
    assert_eq!(r.echoed("x-template").as_deref(), Some("v"));
    assert_eq!(header(&r, "x-test-order").as_deref(), Some("g,o+"));
    // _meta.priority 2000 puts test-order before template.
    let r = gw.get("/first", &[]);
    assert_eq!(header(&r, "x-test-order").as_deref(), Some("g,o"));
    // The route's test-order wins over the plugin_config's; its template fills in.
    let r = gw.get("/merged", &[]);
    assert_eq!(header(&r, "x-test-order").as_deref(), Some("g,route"));
    assert_eq!(r.echoed("x-template").as_deref(), Some("pc"));
    // Global rules run when no route matches.
    let r = gw.get("/nowhere", &[]);
    assert_eq!(r.status, 404);
    assert_eq!(header(&r, "x-test-order").as_deref(), Some("g"));
    // _meta.disable and _meta.filter.
    let r = gw.get("/disabled", &[]);
    assert_eq!(header(&r, "x-test-order").as_deref(), Some("g"));
    let r = gw.get("/filtered?x=1", &[]);
    assert_eq!(header(&r, "x-test-order").as_deref(), Some("g,f"));
    let r = gw.get("/filtered?x=2", &[]);
    assert_eq!(header(&r, "x-test-order").as_deref(), Some("g"));
    // A route naming a plugin that is not loaded is refused, not served
    // without it; the log names the route and the plugin.
    let r = gw.get("/unknown", &[]);
    assert_eq!(
        (r.status, r.body.as_str()),
        (404, r#"{"error_msg":"404 Route Not Found"}"#)
    );
    let log = gw.log();
    assert!(
        log.lines()
            .any(|l| l.contains("unknown plugin [no-such-plugin]")
                && l.contains("route")
                && l.contains("unknown")),
        "{log}"
    );
}

#[test]
fn a_panicking_plugin_fails_its_request_only() {
    let up = Node::start("u");
    let node = up.addr();
    let gw = harness::start(&format!(
        r#"upstreams:
  - {{id: u, nodes: {{"{node}": 1}}}}
routes:
  - {{id: boom, uri: /boom, upstream_id: u, plugins: {{test-panic: {{}}}}}}
  - {{id: fine, uri: /fine, upstream_id: u, plugins: {{noop: {{}}}}}}
#END
"#
    ));
    let r = gw.get("/boom", &[]);
    assert_eq!(r.status, 500, "{r:?}");
    let r = gw.get("/fine", &[]);
    assert_eq!(r.status, 200, "{r:?}");
    let r = gw.get("/boom", &[]);
    assert_eq!(r.status, 500);
    let log = gw.log();
    assert!(log.contains("plugin test-panic failed in access"), "{log}");
}

#[test]
fn a_config_that_fails_a_plugin_schema_is_refused_with_the_message() {
    let gw = harness::prepare_with(
        "upstreams:\n  - {id: u, nodes: {\"127.0.0.1:1\": 1}}\nroutes:\n  - {id: bad, uri: /bad, upstream_id: u, plugins: {template: {header: X}}}\n#END\n",
        &plugins::loadable(),
    );
    let out = gw.test_config();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!out.status.success(), "{text}");
    assert!(
        text.contains("failed to check the configuration of plugin template err:"),
        "{text}"
    );
}

#[test]
fn the_first_plugins_work_through_the_gateway() {
    let up = Node::start("u");
    let node = up.addr();
    let gw = harness::start(&format!(
        r#"upstreams:
  - {{id: u, nodes: {{"{node}": 1}}}}
consumer_groups:
  - {{id: g1, plugins: {{test-order: {{name: grp}}, template: {{value: grp}}}}}}
consumers:
  - {{username: jack, group_id: g1, plugins: {{key-auth: {{key: secret-1}}, test-order: {{name: jack}}}}}}
  - {{username: anna, plugins: {{key-auth: {{key: secret-2}}}}}}
routes:
  - {{id: rid, uri: /rid, upstream_id: u, plugins: {{request-id: {{}}}}}}
  - {{id: deny, uri: /deny, upstream_id: u, plugins: {{ip-restriction: {{blacklist: ["127.0.0.0/8"]}}}}}}
  - {{id: auth, uri: /auth, upstream_id: u, plugins: {{key-auth: {{}}, test-order: {{name: r}}}}}}
  - {{id: limited, uri: /limited, upstream_id: u, plugins: {{limit-count: {{count: 2, time_window: 60}}}}}}
#END
"#
    ));
    let r = gw.get("/rid", &[]);
    assert_eq!(r.status, 200);
    let id = header(&r, "x-request-id").expect("request id in the response");
    assert_eq!(r.echoed("x-request-id"), Some(id));
    assert_eq!(gw.get("/deny", &[]).status, 403);
    assert_eq!(gw.get("/auth", &[]).status, 401);
    assert_eq!(gw.get("/auth", &[("apikey", "wrong")]).status, 401);
    // Consumer > consumer_group > route, merged once key-auth names jack.
    let r = gw.get("/auth", &[("apikey", "secret-1")]);
    assert_eq!(r.status, 200, "{r:?}\n{}", gw.log());
    assert_eq!(header(&r, "x-test-order").as_deref(), Some("r,jack"));
    assert_eq!(r.echoed("x-template").as_deref(), Some("grp"));
    let r = gw.get("/auth", &[("apikey", "secret-2")]);
    assert_eq!(r.status, 200);
    assert_eq!(header(&r, "x-test-order").as_deref(), Some("r"));
    let r = gw.get("/limited", &[]);
    assert_eq!(r.status, 200);
    assert_eq!(header(&r, "x-ratelimit-limit").as_deref(), Some("2"));
    assert_eq!(header(&r, "x-ratelimit-remaining").as_deref(), Some("1"));
    assert_eq!(gw.get("/limited", &[]).status, 200);
    let r = gw.get("/limited", &[]);
    assert_eq!(r.status, 503);
    assert_eq!(header(&r, "x-ratelimit-remaining").as_deref(), Some("0"));
}

#[test]
fn error_response_and_a_bad_edit_keeping_the_last_good_route() {
    let up = Node::start("u");
    let node = up.addr();
    let file = |template: &str| {
        format!(
            r#"upstreams:
  - {{id: u, nodes: {{"{node}": 1}}}}
routes:
  - id: denied
    uri: /denied
    upstream_id: u
    plugins:
      ip-restriction: {{whitelist: ["10.0.0.1"], _meta: {{error_response: "go away"}}}}
  - {{id: t, uri: /t, upstream_id: u, plugins: {{template: {template}}}}}
#END
"#
        )
    };
    let gw = harness::start(&file("{value: one}"));
    let r = gw.get("/denied", &[]);
    assert_eq!((r.status, r.body.as_str()), (403, "go away"));
    assert_eq!(
        gw.get("/t", &[]).echoed("x-template").as_deref(),
        Some("one")
    );
    // A config its plugin's schema refuses: logged, the last good version serves.
    std::fs::write(gw.dir.path("apisix.yaml"), file("{header: X-Other}")).expect("write");
    assert!(eventually(10, || gw.log().contains(
        "failed to check the configuration of plugin template err:"
    )));
    assert_eq!(
        gw.get("/t", &[]).echoed("x-template").as_deref(),
        Some("one")
    );
    // A good edit applies.
    std::fs::write(gw.dir.path("apisix.yaml"), file("{value: two}")).expect("write");
    assert!(eventually(10, || gw
        .get("/t", &[])
        .echoed("x-template")
        .as_deref()
        == Some("two")));
}

#[test]
fn sighup_loads_new_plugins_and_the_admin_api_lists_them() {
    let up = Node::start("u");
    let node = up.addr();
    let file = |name: &str| {
        format!(
            "upstreams:\n  - {{id: u, nodes: {{\"{node}\": 1}}}}\nroutes:\n  - {{id: late, name: {name}, uri: /late, upstream_id: u, plugins: {{test-order: {{name: late}}}}}}\n#END\n"
        )
    };
    // Every plugin but test-order, installed later.
    let mut early = plugins::loadable();
    early.retain(|p| *p != "test-order");
    let gw = harness::start_with(&file("a"), &early);
    let admin = gw.admin_port();
    let key = [("X-API-KEY", ADMIN_KEY)];
    let list = || request(admin, "GET", "/apisix/admin/plugins/list", &key).expect("admin");
    assert!(eventually(10, || list().status == 200));
    assert!(!list().body.contains("test-order"), "{:?}", list());
    assert!(list().body.contains("template"));
    // Not loaded yet: the route serves without it.
    assert_eq!(header(&gw.get("/late", &[]), "x-test-order"), None);
    plugins::install(&gw.plugin_dir(), "test-order");
    gw.signal("HUP");
    assert!(eventually(10, || list().body.contains("test-order")));
    // The route read before the reload (its plugin dropped then) gains it
    // without an edit: the file is decoded again.
    assert!(eventually(10, || header(
        &gw.get("/late", &[]),
        "x-test-order"
    )
    .as_deref()
        == Some("late")));
    // Objects read from now on may use it too.
    std::fs::write(gw.dir.path("apisix.yaml"), file("b")).expect("write");
    assert!(eventually(10, || header(
        &gw.get("/late", &[]),
        "x-test-order"
    )
    .as_deref()
        == Some("late")));
    // The Admin API refuses an unknown plugin and a config its schema refuses.
    let validate = "/apisix/admin/schema/validate/routes";
    let (status, body) = post(
        admin,
        validate,
        r#"{"uri":"/x","upstream_id":"u","plugins":{"nope":{}}}"#,
    );
    assert_eq!(
        (status, body.contains("unknown plugin [nope]")),
        (400, true),
        "{body}"
    );
    let bad = r#"{"uri":"/x","upstream_id":"u","plugins":{"template":{}}}"#;
    let (status, body) = post(admin, validate, bad);
    assert_eq!(status, 400, "{body}");
    assert!(
        body.contains("failed to check the configuration of plugin template err:"),
        "{body}"
    );
    // The plugin list and plugin schemas, in APISIX's shapes.
    harness::check_plugin_list_and_schemas(admin);
    // The Admin API reload: nothing new to load.
    let r = request(admin, "PUT", "/apisix/admin/plugins/reload", &key).expect("admin");
    assert_eq!(r.status, 200, "{r:?}");
    assert!(r.body.contains(r#""loaded":[]"#), "{}", r.body);
}

#[test]
fn rewrites_cors_and_prometheus_work_through_the_gateway() {
    let up = Node::start("u");
    let node = up.addr();
    let gw = harness::start(&format!(
        r#"upstreams:
  - {{id: u, nodes: {{"{node}": 1}}}}
routes:
  - id: pr
    uri: /pr
    upstream_id: u
    plugins:
      proxy-rewrite: {{uri: /rewritten, headers: {{set: {{X-Pr: one}}}}}}
  - id: rr
    uri: /rr
    upstream_id: u
    plugins:
      response-rewrite: {{body: "replaced body", headers: {{set: {{X-Rr: two}}}}}}
      prometheus: {{}}
  - {{id: cors, uri: /cors, upstream_id: u, plugins: {{cors: {{allow_origins: "http://a.com"}}}}}}
#END
"#
    ));
    let r = gw.get("/pr", &[]);
    assert_eq!(r.status, 200, "{r:?}\n{}", gw.log());
    assert_eq!(
        r.echoed("path").as_deref(),
        Some("/rewritten"),
        "{}",
        r.body
    );
    assert_eq!(r.echoed("x-pr").as_deref(), Some("one"));
    // response-rewrite: headers in header_filter, the body in body_filter.
    let r = gw.get("/rr", &[]);
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(header(&r, "x-rr").as_deref(), Some("two"));
    // (Chunked now: the length changed; the test client does not decode.)
    assert!(r.body.contains("\r\nreplaced body\r\n"), "{}", r.body);
    assert!(!r.body.contains("path="), "{}", r.body);
    // cors: the preflight is answered, a request from the origin gets the header.
    let pre = [
        ("Origin", "http://a.com"),
        ("Access-Control-Request-Method", "GET"),
    ];
    let r = request(gw.port, "OPTIONS", "/cors", &pre).expect("gateway");
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(
        header(&r, "access-control-allow-origin").as_deref(),
        Some("http://a.com")
    );
    let r = gw.get("/cors", &[("Origin", "http://a.com")]);
    assert_eq!(
        header(&r, "access-control-allow-origin").as_deref(),
        Some("http://a.com")
    );
    // prometheus: its metrics are served on their own listener.
    let metrics = gw.metrics_port();
    let scrape = || request(metrics, "GET", "/apisix/prometheus/metrics", &[]);
    assert!(eventually(10, || scrape().is_ok_and(
        |m| m.status == 200 && m.body.contains("apisix_http_status{")
    )));
    let body = scrape().expect("metrics").body;
    assert!(body.contains("node=\"127.0.0.1\""), "{body}");
    let log = gw.log();
    assert!(!log.contains("failed in"), "{log}");
}

#[test]
fn before_proxy_runs_after_the_node_is_chosen_and_again_on_a_retry() {
    let up = Node::start("u");
    let dead = free_port();
    let gw = harness::start(&format!(
        r#"upstreams:
  - id: u
    retries: 1
    nodes:
      - {{host: 127.0.0.1, port: {dead}, weight: 1, priority: 1}}
      - {{host: 127.0.0.1, port: {port}, weight: 1, priority: 0}}
routes:
  - {{id: r, uri: /r, upstream_id: u, plugins: {{test-order: {{name: r}}}}}}
  - {{id: m, uri: /m, upstream_id: u, plugins: {{test-order: {{name: m, proxy_uri: "/moved?x=1", proxy_method: PUT}}}}}}
#END
"#,
        port = up.port
    ));
    let r = gw.get("/r", &[]);
    assert_eq!(r.status, 200, "{r:?}\n{}", gw.log());
    assert_eq!(r.echoed("x-test-tries").as_deref(), Some("2"), "{}", r.body);
    // before_proxy's URI and method edits reach the node, on the retry too.
    let r = gw.get("/m", &[]);
    assert_eq!(r.status, 200, "{r:?}\n{}", gw.log());
    assert_eq!(r.echoed("x-test-tries").as_deref(), Some("2"), "{}", r.body);
    assert_eq!(r.echoed("method").as_deref(), Some("PUT"), "{}", r.body);
    assert_eq!(
        r.echoed("path").as_deref(),
        Some("/moved?x=1"),
        "{}",
        r.body
    );
}
