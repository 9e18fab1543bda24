//! Plugins end to end: real `.so` files built by cargo, copied into a
//! plugin directory, loaded by the real gateway binary, configured on
//! routes and global rules in the standalone file, and run on real
//! requests to a real upstream.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::sync::OnceLock;
use std::thread;
use std::time::{Duration, Instant};

use common::{free_port, request, Resp, TempDir, Upstream};

/// The plugin packages the tests load.
const PACKAGES: [&str; 8] = [
    "radixgate-plugin-template",
    "radixgate-plugin-test-panic",
    "radixgate-plugin-test-order",
    "radixgate-plugin-noop",
    "radixgate-plugin-request-id",
    "radixgate-plugin-ip-restriction",
    "radixgate-plugin-key-auth",
    "radixgate-plugin-limit-count",
];

/// Builds [`PACKAGES`] once; the `.so` files built.
fn libraries() -> &'static Vec<PathBuf> {
    static BUILT: OnceLock<Vec<PathBuf>> = OnceLock::new();
    BUILT.get_or_init(|| {
        let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let mut cmd = Command::new(cargo);
        cmd.current_dir(&workspace)
            .args(["build", "--offline", "--message-format=json"]);
        for p in PACKAGES {
            cmd.args(["-p", p]);
        }
        let out = cmd.output().expect("cargo runs");
        assert!(
            out.status.success(),
            "building the plugins failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let mut libs = Vec::new();
        for line in String::from_utf8_lossy(&out.stdout).lines() {
            let Ok(msg) = serde_json::from_str::<serde_json::Value>(line) else {
                continue;
            };
            let files = msg["filenames"].as_array().cloned().unwrap_or_default();
            let plugin = msg["target"]["name"]
                .as_str()
                .is_some_and(|n| n.starts_with("radixgate_plugin_"));
            for f in files.iter().filter_map(|f| f.as_str()) {
                if plugin && f.ends_with(".so") {
                    libs.push(PathBuf::from(f));
                }
            }
        }
        libs
    })
}

/// The gateway with a plugin directory; killed on drop.
struct PluginGateway {
    port: u16,
    dir: TempDir,
    child: Child,
}

fn config_yaml(port: u16) -> String {
    format!(
        "gateway:\n  listen: [\"127.0.0.1:{port}\"]\n  worker_threads: 2\n  log_level: info\n  upstream_connect_timeout: 2\n  upstream_read_timeout: 5\nconfig:\n  provider: yaml\n  file: apisix.yaml\n  watch_interval_ms: 100\nplugins:\n  dir: plugins\nadmin:\n  enable: true\n  listen: 127.0.0.1:{}\n",
        free_port()
    )
}

/// Copies the built library of `package` (`test-order`) into `dir`.
fn install(dir: &Path, package: &str) {
    let file = format!("libradixgate_plugin_{}.so", package.replace('-', "_"));
    let lib = libraries()
        .iter()
        .find(|l| l.file_name().is_some_and(|n| n == file.as_str()))
        .expect("plugin built");
    std::fs::copy(lib, dir.join(&file)).expect("copy plugin");
}

/// A temp dir with `config.yaml`, `apisix.yaml` and every test plugin.
fn prepare(apisix: &str) -> (TempDir, u16) {
    let dir = TempDir::new("plugins-e2e");
    let port = free_port();
    std::fs::write(dir.path("config.yaml"), config_yaml(port)).expect("config");
    std::fs::write(dir.path("apisix.yaml"), apisix).expect("apisix.yaml");
    let plugins = dir.path("plugins");
    std::fs::create_dir_all(&plugins).expect("plugin dir");
    for lib in libraries() {
        let name = lib.file_name().expect("file name");
        std::fs::copy(lib, plugins.join(name)).expect("copy plugin");
    }
    // A test that installs test-order itself starts without it.
    if apisix.contains("# late: test-order") {
        let _ = std::fs::remove_file(plugins.join("libradixgate_plugin_test_order.so"));
    }
    (dir, port)
}

impl PluginGateway {
    fn start(apisix: &str) -> PluginGateway {
        let (dir, port) = prepare(apisix);
        let log = std::fs::File::create(dir.path("gateway.log")).expect("log");
        let child = Command::new(env!("CARGO_BIN_EXE_radixgate"))
            .args(["--config", "config.yaml"])
            .current_dir(&dir.0)
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("spawn radixgate");
        let mut gw = PluginGateway { port, dir, child };
        let deadline = Instant::now() + Duration::from_secs(20);
        while request(port, "GET", "/healthz", &[]).is_err() {
            if let Ok(Some(s)) = gw.child.try_wait() {
                panic!("radixgate exited ({s}):\n{}", gw.log());
            }
            assert!(Instant::now() < deadline, "no start:\n{}", gw.log());
            thread::sleep(Duration::from_millis(50));
        }
        gw
    }

    fn get(&self, path: &str, headers: &[(&str, &str)]) -> Resp {
        request(self.port, "GET", path, headers).expect("gateway reachable")
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path("gateway.log")).unwrap_or_default()
    }
}

impl Drop for PluginGateway {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn header(r: &Resp, name: &str) -> Option<String> {
    r.headers.get(name).cloned()
}

#[test]
fn chains_run_in_priority_order_with_global_rules_and_meta() {
    let up = Upstream::start("u");
    let node = up.node();
    let gw = PluginGateway::start(&format!(
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
    // An unknown plugin is skipped with a warning; the route serves.
    let r = gw.get("/unknown", &[]);
    assert_eq!(r.status, 200);
    let log = gw.log();
    assert!(
        log.contains("unknown plugin dropped") && log.contains("no-such-plugin"),
        "{log}"
    );
}

#[test]
fn a_panicking_plugin_fails_its_request_only() {
    let up = Upstream::start("u");
    let node = up.node();
    let gw = PluginGateway::start(&format!(
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
    let (dir, _) = prepare(
        "upstreams:\n  - {id: u, nodes: {\"127.0.0.1:1\": 1}}\nroutes:\n  - {id: bad, uri: /bad, upstream_id: u, plugins: {template: {header: X}}}\n#END\n",
    );
    let out = common::test_config(&dir.path("config.yaml"), &dir.0);
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
    let up = Upstream::start("u");
    let node = up.node();
    let gw = PluginGateway::start(&format!(
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
    let up = Upstream::start("u");
    let node = up.node();
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
    let gw = PluginGateway::start(&file("{value: one}"));
    let r = gw.get("/denied", &[]);
    assert_eq!((r.status, r.body.as_str()), (403, "go away"));
    assert_eq!(
        gw.get("/t", &[]).echoed("x-template").as_deref(),
        Some("one")
    );
    // A config its plugin's schema refuses: logged, the last good version serves.
    std::fs::write(gw.dir.path("apisix.yaml"), file("{header: X-Other}")).expect("write");
    assert!(common::eventually(10, || gw.log().contains(
        "failed to check the configuration of plugin template err:"
    )));
    assert_eq!(
        gw.get("/t", &[]).echoed("x-template").as_deref(),
        Some("one")
    );
    // A good edit applies.
    std::fs::write(gw.dir.path("apisix.yaml"), file("{value: two}")).expect("write");
    assert!(common::eventually(10, || gw
        .get("/t", &[])
        .echoed("x-template")
        .as_deref()
        == Some("two")));
}

#[test]
fn sighup_loads_new_plugins_and_the_admin_api_lists_them() {
    let up = Upstream::start("u");
    let node = up.node();
    let file = |name: &str| {
        format!(
            "# late: test-order\nupstreams:\n  - {{id: u, nodes: {{\"{node}\": 1}}}}\nroutes:\n  - {{id: late, name: {name}, uri: /late, upstream_id: u, plugins: {{test-order: {{name: late}}}}}}\n#END\n"
        )
    };
    let gw = PluginGateway::start(&file("a"));
    let admin = std::fs::read_to_string(gw.dir.path("config.yaml"))
        .expect("config")
        .lines()
        .find_map(|l| {
            l.trim()
                .strip_prefix("listen: 127.0.0.1:")
                .map(str::to_owned)
        })
        .and_then(|p| p.parse::<u16>().ok())
        .expect("admin port");
    let key = [("X-API-KEY", "edd1c9f034335f136f87ad84b625c8f1")];
    let list = || request(admin, "GET", "/apisix/admin/plugins/list", &key).expect("admin");
    assert!(common::eventually(10, || list().status == 200));
    assert!(!list().body.contains("test-order"), "{:?}", list());
    assert!(list().body.contains("template"));
    // Not loaded yet: the route serves without it.
    assert_eq!(header(&gw.get("/late", &[]), "x-test-order"), None);
    install(&gw.dir.path("plugins"), "test-order");
    let hup = Command::new("kill")
        .args(["-HUP", &gw.child.id().to_string()])
        .status()
        .expect("kill");
    assert!(hup.success());
    assert!(common::eventually(10, || list()
        .body
        .contains("test-order")));
    // Objects read from now on may use it.
    std::fs::write(gw.dir.path("apisix.yaml"), file("b")).expect("write");
    assert!(common::eventually(10, || header(
        &gw.get("/late", &[]),
        "x-test-order"
    )
    .as_deref()
        == Some("late")));
    // The Admin API reload: nothing new to load.
    let r = request(admin, "PUT", "/apisix/admin/plugins/reload", &key).expect("admin");
    assert_eq!(r.status, 200, "{r:?}");
    assert!(r.body.contains(r#""loaded":[]"#), "{}", r.body);
}
