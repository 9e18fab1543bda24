//! The demo `make run` serves, as the README shows it: `--test-config`
//! accepts the shipped `conf/`; then the gateway on a copy of `conf/` (its
//! ports free ones, its `plugins.dir` a temp dir holding the plugins `make
//! run` installs, copied from what cargo built) with the demo upstream the
//! Makefile starts (python3's http.server serving `conf/demo/`, moved to a
//! free port) answers the README's three requests, writes their access
//! lines to `logs/access.log` and counts them in the prometheus scrape.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use radixgate_test_support::gateway::test_config;
use radixgate_test_support::{eventually, free_port, get, plugins, target, Gateway};
use serde_norway::Value;

const BIN: &str = env!("CARGO_BIN_EXE_radixgate");

/// The repository's root.
fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .canonicalize()
        .expect("the repository root")
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

/// The plugins `make run` installs: each `plugins/<name>` that is a
/// member of the workspace and builds a `cdylib`.
fn make_run_plugins(root: &Path) -> Vec<String> {
    let members = read(&root.join("Cargo.toml"));
    let mut names: Vec<String> = std::fs::read_dir(root.join("plugins"))
        .expect("the plugins/ dir")
        .filter_map(Result::ok)
        .filter(|e| e.path().is_dir())
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| members.contains(&format!("\"plugins/{n}\"")))
        .filter(|n| read(&root.join("plugins").join(n).join("Cargo.toml")).contains("cdylib"))
        .collect();
    names.sort();
    names
}

/// The port of the demo upstream the Makefile's `run` target starts
/// (`python3 -m http.server <port> ...`).
fn makefile_demo_port(root: &Path) -> u16 {
    let makefile = read(&root.join("Makefile"));
    let (_, rest) = makefile
        .split_once("-m http.server ")
        .expect("the Makefile's run target starts python3's http.server");
    rest.split_whitespace()
        .next()
        .and_then(|p| p.parse().ok())
        .expect("http.server's port in the Makefile")
}

/// python3's http.server serving `dir` on `port`, killed on drop.
struct FileServer(Child);

impl FileServer {
    fn start(port: u16, dir: &Path) -> FileServer {
        let child = Command::new("python3")
            .args([
                "-m",
                "http.server",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
            ])
            .arg("--directory")
            .arg(dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("python3 runs (the demo upstream of `make run`)");
        FileServer(child)
    }
}

impl Drop for FileServer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Sets `section.key` of a YAML mapping to `value`.
fn set(doc: &mut Value, section: &str, key: &str, value: Value) {
    let section = doc
        .get_mut(section)
        .and_then(Value::as_mapping_mut)
        .unwrap_or_else(|| panic!("conf/config.yaml has a {section}: section"));
    section.insert(Value::from(key), value);
}

/// Copies the plugins `make run` installs into `dir`.
fn install_make_run_plugins(root: &Path, dir: &Path) {
    std::fs::create_dir_all(dir).expect("create the plugin dir");
    let names = make_run_plugins(root);
    assert!(names.iter().any(|n| n == "request-id"), "{names:?}");
    for name in &names {
        let lib = target::artifact(&plugins::file_name(name));
        std::fs::copy(&lib, dir.join(plugins::file_name(name))).expect("copy a plugin");
    }
}

#[test]
fn test_config_accepts_the_shipped_conf() {
    let root = repo();
    // conf/config.yaml with its plugin dir filled as `make run` fills it:
    // a route naming a plugin that is not loaded is refused.
    let dir = radixgate_test_support::TempDir::new("demo-check");
    let plugin_dir = dir.path("plugins");
    install_make_run_plugins(&root, &plugin_dir);
    let mut config: Value =
        serde_norway::from_str(&read(&root.join("conf/config.yaml"))).expect("config YAML");
    let plugins_dir = Value::from(plugin_dir.display().to_string());
    set(&mut config, "plugins", "dir", plugins_dir);
    let copy = dir.path("config.yaml");
    let text = serde_norway::to_string(&config).expect("config YAML out");
    std::fs::write(&copy, text).expect("write config.yaml");
    let out = test_config(BIN, &copy, &root);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("config.yaml: ok") && stdout.contains("1 routes served"),
        "{stdout}"
    );
}

#[test]
fn the_demo_answers_as_the_readme_shows() {
    let root = repo();
    let mut gw = Gateway::file(BIN, "").prepare();
    let dir = gw.dir.root().to_path_buf();

    // The plugins `make run` installs, into the gateway's own plugin dir.
    let plugin_dir = gw.plugin_dir();
    install_make_run_plugins(&root, &plugin_dir);

    // conf/config.yaml with free ports and that plugin dir; the standalone
    // file stays conf/apisix.yaml under the working dir, as for `make run`.
    let mut config: Value =
        serde_norway::from_str(&read(&root.join("conf/config.yaml"))).expect("config YAML");
    let listen = Value::Sequence(vec![Value::from(format!("127.0.0.1:{}", gw.port))]);
    set(&mut config, "gateway", "listen", listen);
    let plugins_dir = Value::from(plugin_dir.display().to_string());
    set(&mut config, "plugins", "dir", plugins_dir);
    let metrics_port = free_port();
    let metrics = Value::from(format!("127.0.0.1:{metrics_port}"));
    set(&mut config, "plugins", "export_addr", metrics);
    let admin = Value::from(format!("127.0.0.1:{}", free_port()));
    set(&mut config, "admin", "listen", admin);
    let config = serde_norway::to_string(&config).expect("config YAML out");
    std::fs::write(dir.join("config.yaml"), config).expect("write config.yaml");

    // The demo upstream, where the Makefile starts it and apisix.yaml
    // points, moved to a free port.
    let shipped = read(&root.join("conf/apisix.yaml"));
    let demo = format!("127.0.0.1:{}", makefile_demo_port(&root));
    assert!(shipped.contains(&format!("\"{demo}\"")), "{shipped}");
    let port = free_port();
    let apisix = shipped.replace(&demo, &format!("127.0.0.1:{port}"));
    std::fs::create_dir_all(dir.join("conf")).expect("create conf/");
    // `make run` makes logs/ for the access log.
    std::fs::create_dir_all(dir.join("logs")).expect("create logs/");
    std::fs::write(dir.join("conf/apisix.yaml"), apisix).expect("write conf/apisix.yaml");
    // python3 takes a while to start: the gateway starts meanwhile.
    let _upstream = FileServer::start(port, &root.join("conf/demo"));
    gw.start_process();
    let hello = read(&root.join("conf/demo/demo/hello.txt"));
    assert!(
        eventually(20, || radixgate_test_support::request(
            port,
            "GET",
            "/demo/hello.txt",
            &[]
        )
        .is_ok_and(|r| r.status == 200)),
        "the demo upstream did not start"
    );

    // curl -i http://127.0.0.1:9080/demo/hello.txt
    let r = get(gw.port, "/demo/hello.txt");
    assert_eq!(r.status, 200, "{r:?}\n{}", gw.log());
    assert_eq!(r.body, hello);
    assert_eq!(r.header("content-type"), Some("text/plain"), "{r:?}");
    let length = hello.len().to_string();
    assert_eq!(r.header("content-length"), Some(length.as_str()), "{r:?}");
    let id = r.header("x-request-id").unwrap_or_default();
    assert!(
        id.len() == 36 && id.matches('-').count() == 4,
        "a UUID in X-Request-Id: {r:?}"
    );

    // curl -i http://127.0.0.1:9080/nothing-here
    let r = get(gw.port, "/nothing-here");
    assert_eq!(r.status, 404, "{r:?}");
    assert_eq!(r.header("content-type"), Some("application/json"), "{r:?}");
    assert_eq!(r.body, r#"{"error_msg":"404 Route Not Found"}"#);

    // curl -i http://127.0.0.1:9080/healthz
    let r = get(gw.port, "/healthz");
    assert_eq!(
        (r.status, r.body.as_str()),
        (200, r#"{"status":"ok"}"#),
        "{r:?}"
    );
    assert!(
        gw.log().contains("plugin loaded plugin=request-id"),
        "{}",
        gw.log()
    );

    // tail -n 3 logs/access.log: APISIX's format.
    let access = dir.join("logs/access.log");
    let line_of = |needle: &str| {
        std::fs::read_to_string(&access)
            .unwrap_or_default()
            .lines()
            .find(|l| l.contains(needle))
            .map(str::to_owned)
    };
    assert!(
        eventually(5, || line_of("/nothing-here").is_some()),
        "no access line in {}:\n{}",
        access.display(),
        gw.log()
    );
    let hello_line = line_of("\"GET /demo/hello.txt HTTP/1.1\" 200").unwrap_or_default();
    let node = format!(" 127.0.0.1:{port} 200 ");
    assert!(
        hello_line.starts_with("127.0.0.1 - - [") && hello_line.contains(&node),
        "{hello_line:?}"
    );

    // curl -s http://127.0.0.1:9091/apisix/prometheus/metrics
    let scrape = || get(metrics_port, "/apisix/prometheus/metrics").body;
    let counted = |text: &str| {
        text.lines()
            .any(|l| l.starts_with("apisix_http_status{code=\"200\",route=\"demo\""))
    };
    assert!(eventually(5, || counted(&scrape())), "{}", scrape());
}
