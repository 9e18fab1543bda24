//! The real `radixgate` binary as a child process: a temp dir with its
//! `config.yaml` (and the standalone file, a plugin directory), free
//! loopback ports, the log captured in `gateway.log`, the process killed
//! when the [`Gateway`] is dropped.
//!
//! [`Gateway::file`] serves a standalone `apisix.yaml`, [`Gateway::etcd`]
//! reads etcd and runs the Admin API; [`GatewayBuilder`] adds plugins, the
//! Admin API and settings, then starts it or only writes its files.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use crate::http::{Request, Response};
use crate::plugins;
use crate::ports::free_port;
use crate::temp::TempDir;

/// APISIX's default admin key, which the gateway accepts from loopback.
pub const ADMIN_KEY: &str = "edd1c9f034335f136f87ad84b625c8f1";

/// What a gateway is to be started with; see [`Gateway::file`] and
/// [`Gateway::etcd`].
#[must_use = "a builder does nothing until `start` or `prepare`"]
pub struct GatewayBuilder {
    bin: PathBuf,
    /// The `config:` section and what follows it (`etcd:`).
    source: String,
    apisix: Option<String>,
    workers: usize,
    log_level: String,
    /// Lines of the `admin:` section after `enable` and `listen`.
    admin: Option<String>,
    /// Libraries copied into `plugins/`, when the gateway has plugins.
    plugins: Option<Vec<PathBuf>>,
    enabled: Option<Vec<String>>,
    /// Lines added to the `gateway:` section.
    gateway: String,
    /// Lines added to the `plugins:` section.
    plugins_yaml: String,
    /// Environment variables of the process, beside the test's own.
    env: Vec<(String, String)>,
}

impl GatewayBuilder {
    fn new(bin: impl AsRef<Path>, source: String) -> GatewayBuilder {
        GatewayBuilder {
            bin: bin.as_ref().to_path_buf(),
            source,
            apisix: None,
            workers: 2,
            log_level: "info".into(),
            admin: None,
            plugins: None,
            enabled: None,
            gateway: String::new(),
            plugins_yaml: String::new(),
            env: Vec::new(),
        }
    }

    /// Sets the environment variable `name` of the gateway's process.
    pub fn env(mut self, name: &str, value: &str) -> GatewayBuilder {
        self.env.push((name.to_owned(), value.to_owned()));
        self
    }

    /// Adds `lines` (YAML indented by two spaces, each ending in a newline)
    /// to the `gateway:` section; a key set here wins over the builder's
    /// own (`header_read_timeout: 2`, ...).
    pub fn gateway_yaml(mut self, lines: &str) -> GatewayBuilder {
        self.gateway.push_str(lines);
        self
    }

    /// `gateway.worker_threads` (2 unless set).
    pub fn workers(mut self, n: usize) -> GatewayBuilder {
        self.workers = n;
        self
    }

    /// `gateway.log_level` (`info` unless set).
    pub fn log_level(mut self, level: &str) -> GatewayBuilder {
        self.log_level = level.to_owned();
        self
    }

    /// Turns the Admin API on, on a port of its own.
    pub fn admin(self) -> GatewayBuilder {
        self.admin_yaml("")
    }

    /// Turns the Admin API on with `lines` (YAML indented by two spaces,
    /// each ending in a newline) added to its `admin:` section.
    pub fn admin_yaml(mut self, lines: &str) -> GatewayBuilder {
        self.admin = Some(lines.to_owned());
        self
    }

    /// A plugin directory (`plugins/` in the gateway's dir) holding the
    /// libraries of the named plugins (see [`plugins::PLUGINS`]), and a
    /// metrics listener of its own; no names makes an empty directory.
    pub fn plugins(mut self, names: &[&str]) -> GatewayBuilder {
        let libs = self.plugins.get_or_insert_with(Vec::new);
        libs.extend(names.iter().map(|name| plugins::library(name)));
        self
    }

    /// Adds any plugin library file to the plugin directory.
    pub fn plugin_file(mut self, lib: &Path) -> GatewayBuilder {
        self.plugins
            .get_or_insert_with(Vec::new)
            .push(lib.to_path_buf());
        self
    }

    /// `plugins.enabled`: only these names are registered.
    pub fn enabled_plugins(mut self, names: &[&str]) -> GatewayBuilder {
        self.enabled = Some(names.iter().map(|n| n.to_string()).collect());
        self
    }

    /// Adds `lines` (YAML indented by two spaces, each ending in a newline)
    /// to the `plugins:` section (written when the gateway has plugins).
    pub fn plugins_yaml(mut self, lines: &str) -> GatewayBuilder {
        self.plugins_yaml.push_str(lines);
        self
    }

    /// Writes the gateway's dir (config, standalone file, plugins) without
    /// starting the process; [`Gateway::start_process`] starts it.
    pub fn prepare(self) -> Gateway {
        let dir = TempDir::new("gw");
        let port = free_port();
        let admin_port = self.admin.as_ref().map(|_| free_port());
        let metrics_port = self.plugins.as_ref().map(|_| free_port());
        let config = self.config_yaml(port, admin_port, metrics_port);
        std::fs::write(dir.path("config.yaml"), config).expect("write the gateway's config.yaml");
        if let Some(apisix) = &self.apisix {
            std::fs::write(dir.path("apisix.yaml"), apisix).expect("write apisix.yaml");
        }
        if let Some(libs) = &self.plugins {
            let plugin_dir = dir.path("plugins");
            std::fs::create_dir_all(&plugin_dir).expect("create the plugin dir");
            // Writable by its owner only, whatever the umask: the gateway
            // refuses a plugin dir or file others may write.
            plugins::owner_writable(&plugin_dir);
            for lib in libs {
                let name = lib.file_name().expect("a library file name");
                std::fs::copy(lib, plugin_dir.join(name)).unwrap_or_else(|e| {
                    panic!("cannot copy {} into the plugin dir: {e}", lib.display())
                });
                plugins::owner_writable(&plugin_dir.join(name));
            }
        }
        Gateway {
            port,
            admin_port,
            metrics_port,
            dir,
            bin: self.bin,
            env: self.env,
            child: None,
        }
    }

    /// Writes the gateway's dir, starts the process and waits until it
    /// answers (and its Admin API, when on); panics with its log otherwise.
    pub fn start(self) -> Gateway {
        let mut gw = self.prepare();
        gw.start_process();
        gw
    }

    fn config_yaml(&self, port: u16, admin: Option<u16>, metrics: Option<u16>) -> String {
        let mut own = String::new();
        for line in [
            "header_read_timeout: 2",
            "upstream_connect_timeout: 2",
            "upstream_read_timeout: 5",
        ] {
            let key = line.split(':').next().unwrap_or_default();
            if !self.gateway.contains(&format!("  {key}:")) {
                let _ = writeln!(own, "  {line}");
            }
        }
        let mut c = format!(
            "gateway:\n  listen: [\"127.0.0.1:{port}\"]\n  worker_threads: {}\n  log_level: {}\n{own}{}{}",
            self.workers, self.log_level, self.gateway, self.source
        );
        if let Some(metrics) = metrics {
            c.push_str("plugins:\n  dir: plugins\n");
            if let Some(names) = &self.enabled {
                let _ = writeln!(c, "  enabled: [{}]", names.join(", "));
            }
            let _ = writeln!(c, "  export_addr: 127.0.0.1:{metrics}");
            c.push_str(&self.plugins_yaml);
        }
        if let (Some(admin), Some(lines)) = (admin, &self.admin) {
            let _ = write!(
                c,
                "admin:\n  enable: true\n  listen: \"127.0.0.1:{admin}\"\n{lines}"
            );
        }
        c
    }
}

/// A radixgate process and its dir (`config.yaml`, `gateway.log`, what it
/// writes), which outlive restarts of the process; killed on drop.
pub struct Gateway {
    /// The proxy's loopback port.
    pub port: u16,
    admin_port: Option<u16>,
    metrics_port: Option<u16>,
    /// The gateway's working dir.
    pub dir: TempDir,
    bin: PathBuf,
    env: Vec<(String, String)>,
    child: Option<Child>,
}

impl Gateway {
    /// A gateway of binary `bin` on the standalone file `apisix` (watched
    /// every 100 ms).
    pub fn file(bin: impl AsRef<Path>, apisix: &str) -> GatewayBuilder {
        let source = "config:\n  provider: yaml\n  file: apisix.yaml\n  watch_interval_ms: 100\n";
        let mut b = GatewayBuilder::new(bin, source.into());
        b.apisix = Some(apisix.to_owned());
        b
    }

    /// [`Gateway::file`] with its defaults, started.
    pub fn start_file(bin: impl AsRef<Path>, apisix: &str) -> Gateway {
        Gateway::file(bin, apisix).start()
    }

    /// A gateway of binary `bin` on etcd at `endpoints` (2 s timeout), with
    /// its Admin API.
    pub fn etcd(bin: impl AsRef<Path>, endpoints: &[String]) -> GatewayBuilder {
        let eps: Vec<String> = endpoints.iter().map(|e| format!("\"{e}\"")).collect();
        let section = format!("etcd:\n  endpoints: [{}]\n  timeout: 2\n", eps.join(", "));
        Gateway::etcd_yaml(bin, &section)
    }

    /// A gateway on etcd whose `etcd:` section is `section` (YAML), with
    /// its Admin API.
    pub fn etcd_yaml(bin: impl AsRef<Path>, section: &str) -> GatewayBuilder {
        GatewayBuilder::new(bin, format!("config:\n  provider: etcd\n{section}")).admin()
    }

    /// The Admin API's port; panics when it is off.
    pub fn admin_port(&self) -> u16 {
        self.admin_port
            .expect("this gateway has no Admin API (GatewayBuilder::admin)")
    }

    /// The plugins' metrics listener port; panics when there are no plugins.
    pub fn metrics_port(&self) -> u16 {
        self.metrics_port
            .expect("this gateway has no plugins (GatewayBuilder::plugins)")
    }

    /// The plugin directory the gateway loads from.
    pub fn plugin_dir(&self) -> PathBuf {
        self.dir.path("plugins")
    }

    /// Starts the process (again: same ports and dir, the log appended) and
    /// waits until it answers; panics with its log when it exits or does
    /// not answer within 40 s.
    pub fn start_process(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.path("gateway.log"))
            .expect("open gateway.log");
        let child = Command::new(&self.bin)
            .arg("--config")
            .arg(self.dir.path("config.yaml"))
            .current_dir(self.dir.root())
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("share gateway.log with stderr"))
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", self.bin.display()));
        self.child = Some(child);
        let answers =
            |port: u16, path: &str| Request::get(path).send(port).is_ok_and(|r| r.status != 0);
        let deadline = Instant::now() + Duration::from_secs(40);
        loop {
            if answers(self.port, "/healthz") && self.admin_port.is_none_or(|p| answers(p, "/")) {
                return;
            }
            if let Some(Ok(Some(status))) = self.child.as_mut().map(Child::try_wait) {
                panic!("radixgate exited early ({status}):\n{}", self.log());
            }
            assert!(
                Instant::now() < deadline,
                "radixgate did not start:\n{}",
                self.log()
            );
            thread::sleep(Duration::from_millis(50));
        }
    }

    /// Kills the process (SIGKILL); the dir stays.
    pub fn stop_process(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Replaces the standalone file.
    pub fn write_apisix(&self, text: &str) {
        std::fs::write(self.dir.path("apisix.yaml"), text).expect("write apisix.yaml");
    }

    /// The process id; panics when it is not running.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("the gateway process runs").id()
    }

    /// Sends `signal` (`TERM`, `HUP`) to the gateway's own process.
    pub fn signal(&self, signal: &str) {
        let pid = self.pid();
        let ok = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(pid.to_string())
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "kill -{signal} {pid} failed");
    }

    /// Sends SIGTERM to the gateway.
    pub fn terminate(&self) {
        self.signal("TERM");
    }

    /// Waits up to `secs` for the process to exit; its status, or `None`.
    pub fn wait_exit(&mut self, secs: u64) -> Option<ExitStatus> {
        let deadline = Instant::now() + Duration::from_secs(secs);
        while Instant::now() < deadline {
            if let Some(Ok(Some(status))) = self.child.as_mut().map(Child::try_wait) {
                return Some(status);
            }
            thread::sleep(Duration::from_millis(20));
        }
        None
    }

    /// Whether the process is running.
    pub fn alive(&mut self) -> bool {
        matches!(self.child.as_mut().map(Child::try_wait), Some(Ok(None)))
    }

    /// What the gateway logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path("gateway.log")).unwrap_or_default()
    }

    /// `GET path` with `headers` through the proxy; panics when it does not
    /// answer.
    pub fn get(&self, path: &str, headers: &[(&str, &str)]) -> Response {
        Request::get(path)
            .headers(headers)
            .send(self.port)
            .unwrap_or_else(|e| panic!("GET {path}: the gateway did not answer: {e}"))
    }

    /// `GET path` through the proxy: (status, body), `(0, "")` when it did
    /// not answer.
    pub fn fetch(&self, path: &str) -> (u16, String) {
        match Request::get(path)
            .timeout(Duration::from_secs(30))
            .send(self.port)
        {
            Ok(r) => (r.status, r.body),
            Err(_) => (0, String::new()),
        }
    }

    /// An Admin API call with [`ADMIN_KEY`] and an optional JSON body:
    /// (status, the body as JSON or as a JSON string).
    pub fn admin(&self, method: &str, path: &str, body: Option<&str>) -> (u16, serde_json::Value) {
        let r = self.admin_request(method, path, body);
        (r.status, r.json())
    }

    /// The same call, the whole response; panics when the API does not answer.
    pub fn admin_request(&self, method: &str, path: &str, body: Option<&str>) -> Response {
        let mut req = Request::new(method, path)
            .header("X-API-KEY", ADMIN_KEY)
            .timeout(Duration::from_secs(30));
        if let Some(body) = body {
            req = req.json(body);
        }
        req.send(self.admin_port())
            .unwrap_or_else(|e| panic!("{method} {path}: the Admin API did not answer: {e}"))
    }

    /// Runs `radixgate --test-config` on this gateway's config.yaml.
    pub fn test_config(&self) -> Output {
        test_config(&self.bin, &self.dir.path("config.yaml"), self.dir.root())
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        self.stop_process();
    }
}

/// Runs `bin --test-config --config <config>` in `cwd`.
pub fn test_config(bin: impl AsRef<Path>, config: &Path, cwd: &Path) -> Output {
    Command::new(bin.as_ref())
        .arg("--test-config")
        .arg("--config")
        .arg(config)
        .current_dir(cwd)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {} --test-config: {e}", bin.as_ref().display()))
}
