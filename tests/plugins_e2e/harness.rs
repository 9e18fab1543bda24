//! The harness of `plugins_e2e`: the plugin crates built once by cargo,
//! a temp dir with config.yaml (plugins.dir, the Admin API on), the
//! standalone file and the plugins, the gateway binary on a free loopback
//! port (killed on drop), and small HTTP helpers.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::sync::OnceLock;
use std::thread;
use std::time::{Duration, Instant};

use crate::common::{free_port, request, Resp, TempDir};

/// The plugin packages the tests load.
pub const PACKAGES: [&str; 13] = [
    "radixgate-plugin-template",
    "radixgate-plugin-test-panic",
    "radixgate-plugin-test-order",
    "radixgate-plugin-test-prefer-route",
    "radixgate-plugin-noop",
    "radixgate-plugin-request-id",
    "radixgate-plugin-ip-restriction",
    "radixgate-plugin-key-auth",
    "radixgate-plugin-limit-count",
    "radixgate-plugin-cors",
    "radixgate-plugin-proxy-rewrite",
    "radixgate-plugin-response-rewrite",
    "radixgate-plugin-prometheus",
];

/// Builds [`PACKAGES`] once; the `.so` files built.
pub fn libraries() -> &'static Vec<PathBuf> {
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
pub struct PluginGateway {
    pub port: u16,
    pub dir: TempDir,
    pub child: Child,
}

pub fn config_yaml(port: u16) -> String {
    format!(
        "gateway:\n  listen: [\"127.0.0.1:{port}\"]\n  worker_threads: 2\n  log_level: info\n  upstream_connect_timeout: 2\n  upstream_read_timeout: 5\nconfig:\n  provider: yaml\n  file: apisix.yaml\n  watch_interval_ms: 100\nplugins:\n  dir: plugins\n  export_addr: 127.0.0.1:{}\nadmin:\n  enable: true\n  listen: 127.0.0.1:{}\n",
        free_port(),
        free_port()
    )
}

/// Copies the built library of `package` (`test-order`) into `dir`.
pub fn install(dir: &Path, package: &str) {
    let file = format!("libradixgate_plugin_{}.so", package.replace('-', "_"));
    let lib = libraries()
        .iter()
        .find(|l| l.file_name().is_some_and(|n| n == file.as_str()))
        .expect("plugin built");
    std::fs::copy(lib, dir.join(&file)).expect("copy plugin");
}

/// A temp dir with `config.yaml`, `apisix.yaml` and every test plugin.
pub fn prepare(apisix: &str) -> (TempDir, u16) {
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
    pub fn start(apisix: &str) -> PluginGateway {
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

    pub fn get(&self, path: &str, headers: &[(&str, &str)]) -> Resp {
        request(self.port, "GET", path, headers).expect("gateway reachable")
    }

    /// The port of the `<key>: 127.0.0.1:<port>` line of config.yaml
    /// (`listen` for the Admin API, `export_addr` for metrics).
    pub fn config_port(&self, key: &str) -> u16 {
        let prefix = format!("{key}: 127.0.0.1:");
        std::fs::read_to_string(self.dir.path("config.yaml"))
            .expect("config")
            .lines()
            .find_map(|l| l.trim().strip_prefix(prefix.as_str()).map(str::to_owned))
            .and_then(|p| p.parse().ok())
            .expect("port in config.yaml")
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path("gateway.log")).unwrap_or_default()
    }
}

impl Drop for PluginGateway {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// POSTs `body` (JSON) with the default admin key; (status, body).
pub fn post(port: u16, path: &str, body: &str) -> (u16, String) {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).expect("admin");
    s.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let req = format!(
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nX-API-KEY: edd1c9f034335f136f87ad84b625c8f1\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).expect("send");
    let mut raw = String::new();
    let _ = s.read_to_string(&mut raw);
    let status = raw
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = raw.split_once("\r\n\r\n").map_or("", |p| p.1).to_owned();
    (status, body)
}

pub fn header(r: &Resp, name: &str) -> Option<String> {
    r.headers.get(name).cloned()
}

/// `GET /apisix/admin/plugins/list` is a JSON array of names; `GET
/// /apisix/admin/schema/plugins/<name>` answers key-auth's route and
/// consumer schemas, and 404 naming an unknown plugin.
pub fn check_plugin_list_and_schemas(admin: u16) {
    let key = [("X-API-KEY", "edd1c9f034335f136f87ad84b625c8f1")];
    // The plugin list is a JSON array of names, as APISIX's.
    let names: Vec<String> = serde_json::from_str(
        &request(admin, "GET", "/apisix/admin/plugins/list", &key)
            .expect("admin")
            .body,
    )
    .expect("a JSON array of names");
    assert!(names.iter().any(|n| n == "key-auth"), "{names:?}");
    // A plugin's schemas; an unknown plugin is a 404 naming it.
    let schema = |q: &str| {
        request(
            admin,
            "GET",
            &format!("/apisix/admin/schema/plugins/{q}"),
            &key,
        )
        .expect("admin")
    };
    let r = schema("key-auth");
    assert_eq!(r.status, 200, "{r:?}");
    let v: serde_json::Value = serde_json::from_str(&r.body).expect("JSON");
    assert_eq!(v["properties"]["header"]["default"], "apikey", "{v}");
    let r = schema("key-auth?schema_type=consumer");
    let v: serde_json::Value = serde_json::from_str(&r.body).expect("JSON");
    assert_eq!(
        (r.status, &v["required"]),
        (200, &serde_json::json!(["key"])),
        "{v}"
    );
    let r = schema("nope");
    assert_eq!(r.status, 404, "{r:?}");
    assert!(
        r.body.contains("error_msg") && r.body.contains("nope"),
        "{}",
        r.body
    );
}
