//! End to end: edits of the standalone file serve without a restart; an
//! invalid edit keeps the last good config and the process keeps serving;
//! `--test-config` exits non-zero with reasons.

mod common;

use common::{config_yaml, eventually, free_port, get, test_config, Gateway, TempDir, Upstream};

fn routes(up: &Upstream, routes: &str) -> String {
    format!(
        "upstreams:\n  - id: u\n    nodes: {{\"{}\": 1}}\nroutes:\n{routes}#END\n",
        up.node()
    )
}

#[test]
fn add_change_delete_without_restart() {
    let up = Upstream::start("u");
    let gw = Gateway::start(&routes(&up, "  - {id: one, uri: /one, upstream_id: u}\n"));
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
fn invalid_edits_keep_the_last_good_config() {
    let up = Upstream::start("u");
    let mut gw = Gateway::start(&routes(&up, "  - {id: one, uri: /one, upstream_id: u}\n"));
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
    assert!(gw.log().contains("upstream nope not found"));

    // Broken YAML and a file without #END change nothing.
    gw.write_apisix("routes: [\n#END\n");
    std::thread::sleep(std::time::Duration::from_millis(600));
    gw.write_apisix(
        &routes(&up, "  - {id: four, uri: /four, upstream_id: u}\n").replace("#END\n", ""),
    );
    std::thread::sleep(std::time::Duration::from_millis(600));
    for path in ["/one", "/two", "/three"] {
        assert_eq!(get(p, path).status, 200, "{path}:\n{}", gw.log());
    }
    assert_eq!(get(p, "/four").status, 404);
    assert!(gw.alive());
    assert!(gw.log().contains("#END"));
}

#[test]
fn test_config_exit_codes() {
    let dir = TempDir::new("tc");
    let config = dir.path("config.yaml");
    std::fs::write(&config, config_yaml(free_port())).unwrap();

    let good = "upstreams:\n  - {id: u, nodes: {\"127.0.0.1:1\": 1}}\nroutes:\n  - {id: r, uri: /r, upstream_id: u}\n#END\n";
    std::fs::write(dir.path("apisix.yaml"), good).unwrap();
    let out = test_config(&config, &dir.0);
    assert!(out.status.success(), "{out:?}");

    let bad = "routes:\n  - {id: r, uri: /r, upstream_id: missing}\n  - {id: s, uri: /s, upstream_id: u, colour: red}\n#END\n";
    std::fs::write(dir.path("apisix.yaml"), bad).unwrap();
    let out = test_config(&config, &dir.0);
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

    std::fs::write(dir.path("apisix.yaml"), "routes: []\n").unwrap();
    let out = test_config(&config, &dir.0);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("#END"));

    std::fs::write(&config, "gateway:\n  listen: [nope]\n").unwrap();
    let out = test_config(&config, &dir.0);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("gateway.listen[0]"));

    let out = test_config(&dir.path("missing.yaml"), &dir.0);
    assert!(!out.status.success());
}
