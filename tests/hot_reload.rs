//! End to end: edits of the standalone file serve without a restart; an
//! invalid edit keeps the last good config and the process keeps serving;
//! `--test-config` exits non-zero with reasons.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use radixgate_test_support::gateway::test_config;
use radixgate_test_support::{eventually, get, request, Gateway, Node};

const BIN: &str = env!("CARGO_BIN_EXE_radixgate");

fn routes(up: &Node, routes: &str) -> String {
    format!(
        "upstreams:\n  - id: u\n    nodes: {{\"{}\": 1}}\nroutes:\n{routes}#END\n",
        up.addr()
    )
}

#[test]
fn add_change_delete_without_restart() {
    let up = Node::start("u");
    let gw = Gateway::start_file(
        BIN,
        &routes(&up, "  - {id: one, uri: /one, upstream_id: u}\n"),
    );
    let p = gw.port;
    assert_eq!(get(p, "/one").status, 200);
    assert_eq!(get(p, "/two").status, 404);

    // Add a route: it serves without a restart, the old one keeps serving.
    gw.write_apisix(&routes(
        &up,
        "  - {id: one, uri: /one, upstream_id: u}\n  - {id: two, uri: /two, upstream_id: u}\n",
    ));
    assert!(
        eventually(10, || get(p, "/two").status == 200),
        "{}",
        gw.log()
    );
    assert_eq!(get(p, "/one").status, 200);

    // Change a route in place: its new uri serves, its old one is gone.
    gw.write_apisix(&routes(
        &up,
        "  - {id: one, uri: /uno, upstream_id: u}\n  - {id: two, uri: /two, upstream_id: u}\n",
    ));
    assert!(
        eventually(10, || get(p, "/uno").status == 200),
        "{}",
        gw.log()
    );
    assert_eq!(get(p, "/one").status, 404);

    // Delete a route.
    gw.write_apisix(&routes(&up, "  - {id: one, uri: /uno, upstream_id: u}\n"));
    assert!(
        eventually(10, || get(p, "/two").status == 404),
        "{}",
        gw.log()
    );
    assert_eq!(get(p, "/uno").status, 200);
}

#[test]
fn reloads_fail_no_request_in_flight() {
    let up = Node::start("u");
    let gw = Gateway::start_file(
        BIN,
        &routes(&up, "  - {id: one, uri: /one, upstream_id: u}\n"),
    );
    let p = gw.port;
    let stop = Arc::new(AtomicBool::new(false));
    let (ok, bad) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let clients: Vec<_> = (0..2)
        .map(|_| {
            let (stop, ok, bad) = (stop.clone(), ok.clone(), bad.clone());
            std::thread::spawn(move || {
                let mut failures = Vec::new();
                while !stop.load(Ordering::Relaxed) {
                    match request(p, "GET", "/one", &[]) {
                        Ok(r) if r.status == 200 => ok.fetch_add(1, Ordering::Relaxed),
                        other => {
                            failures.push(format!("{other:?}"));
                            bad.fetch_add(1, Ordering::Relaxed)
                        }
                    };
                }
                failures
            })
        })
        .collect();
    // Ten edits: routes come and go beside /one, and /one itself is rewritten.
    for i in 0..10 {
        let extra: String = (0..i)
            .map(|k| format!("  - {{id: r{k}, uri: /r{k}/*, upstream_id: u}}\n"))
            .collect();
        let one = format!("  - {{id: one, uri: /one, upstream_id: u, priority: {i}}}\n");
        gw.write_apisix(&routes(&up, &(one + &extra)));
        let last = format!("/r{}/x", i.max(1) - 1);
        assert!(
            eventually(10, || i == 0 || get(p, &last).status == 200),
            "{}",
            gw.log()
        );
    }
    stop.store(true, Ordering::Relaxed);
    let failures: Vec<String> = clients
        .into_iter()
        .flat_map(|c| c.join().expect("a client thread"))
        .collect();
    assert!(
        failures.is_empty(),
        "{} failed: {:?}",
        failures.len(),
        &failures[..failures.len().min(3)]
    );
    assert!(ok.load(Ordering::Relaxed) > 20, "too few requests: {ok:?}");
    assert_eq!(bad.load(Ordering::Relaxed), 0);
}

#[test]
fn invalid_edits_keep_the_last_good_config() {
    let up = Node::start("u");
    let mut gw = Gateway::start_file(
        BIN,
        &routes(&up, "  - {id: one, uri: /one, upstream_id: u}\n"),
    );
    let p = gw.port;
    assert_eq!(get(p, "/one").status, 200);

    // Route "one" turns invalid while a valid route is added in the same edit:
    // the edit is applied (two serves) and one keeps its last good version.
    gw.write_apisix(&routes(
        &up,
        "  - {id: one, uri: 5, upstream_id: u}\n  - {id: two, uri: /two, upstream_id: u}\n",
    ));
    assert!(
        eventually(10, || get(p, "/two").status == 200),
        "{}",
        gw.log()
    );
    assert_eq!(get(p, "/one").status, 200);
    let log = gw.log();
    assert!(
        log.contains("kind=route") && log.contains("id=one") && log.contains("field=uri"),
        "the log names kind, id and field:\n{log}"
    );

    // A dangling reference is refused too; the route keeps its last good version.
    gw.write_apisix(&routes(
        &up,
        "  - {id: one, uri: /one, upstream_id: u}\n  - {id: two, uri: /two, upstream_id: nope}\n  - {id: three, uri: /three, upstream_id: u}\n",
    ));
    assert!(
        eventually(10, || get(p, "/three").status == 200),
        "{}",
        gw.log()
    );
    assert_eq!(get(p, "/two").status, 200);
    assert!(gw
        .log()
        .contains("failed to fetch upstream info by upstream id [nope]"));

    // Broken YAML and a file without #END change nothing: each is read,
    // refused with the reason in the log, and the last good config serves.
    let refusals = |reason: &str| {
        gw.log()
            .lines()
            .filter(|l| l.contains("config file not loaded; keeping the last good config"))
            .filter(|l| l.contains("apisix.yaml: ") && l.contains(reason))
            .count()
    };
    let refused = |reason: &str, before: usize| {
        let seen = eventually(10, || refusals(reason) > before);
        assert!(seen, "no refusal naming {reason:?}:\n{}", gw.log());
    };
    let yaml = "did not find expected node content at line 3 column 1";
    gw.write_apisix("routes: [\n#END\n");
    refused(yaml, 0);
    let no_end = "no trailing \"#END\" line";
    let before = refusals(no_end);
    gw.write_apisix(
        &routes(&up, "  - {id: four, uri: /four, upstream_id: u}\n").replace("#END\n", ""),
    );
    refused(no_end, before);
    for path in ["/one", "/two", "/three"] {
        assert_eq!(get(p, path).status, 200, "{path}:\n{}", gw.log());
    }
    assert_eq!(get(p, "/four").status, 404);
    assert!(gw.alive());
}

#[test]
fn test_config_exit_codes() {
    let good = "upstreams:\n  - {id: u, nodes: {\"127.0.0.1:1\": 1}}\nroutes:\n  - {id: r, uri: /r, upstream_id: u}\n#END\n";
    let gw = Gateway::file(BIN, good).prepare();
    let (dir, config) = (&gw.dir, gw.dir.path("config.yaml"));
    let out = test_config(BIN, &config, dir.root());
    assert!(out.status.success(), "{out:?}");

    let bad = "routes:\n  - {id: r, uri: /r, upstream_id: missing}\n  - {id: s, uri: /s, upstream_id: u, colour: red}\n#END\n";
    std::fs::write(dir.path("apisix.yaml"), bad).expect("write apisix.yaml");
    let out = test_config(BIN, &config, dir.root());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{out:?}");
    assert!(
        err.contains(r#"invalid route "s": property "colour""#),
        "{err}"
    );
    assert!(
        err.contains(r#"invalid route "r": property "upstream_id""#),
        "{err}"
    );

    std::fs::write(dir.path("apisix.yaml"), "routes: []\n").expect("write apisix.yaml");
    let out = test_config(BIN, &config, dir.root());
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("#END"));

    std::fs::write(&config, "gateway:\n  listen: [nope]\n").expect("write config.yaml");
    let out = test_config(BIN, &config, dir.root());
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("gateway.listen[0]"));

    let out = test_config(BIN, &dir.path("missing.yaml"), dir.root());
    assert!(!out.status.success());
}
