//! Plugin loading with real `.so` files: the plugin crates are built by
//! `cargo build` (same target directory) the first time a test needs them,
//! copied into a fresh plugin directory per test, and loaded by the host.

use std::collections::HashMap;
use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use radixgate::plugin_host::{
    GatewayServices, Outcome, Phase, Phases, PluginInstance, PluginRegistry, RequestState,
};
use serde_json::json;

/// The packages whose libraries the tests load.
const PACKAGES: [&str; 6] = [
    "radixgate-plugin-noop",
    "radixgate-plugin-template",
    "radixgate-plugin-test-panic",
    "radixgate-plugin-test-abi-bump",
    "radixgate-plugin-test-dup-name",
    "radix-router",
];

/// Builds [`PACKAGES`] once; library target name -> `.so` path.
fn libraries() -> &'static HashMap<String, PathBuf> {
    static BUILT: OnceLock<HashMap<String, PathBuf>> = OnceLock::new();
    BUILT.get_or_init(|| {
        let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let mut cmd = Command::new(cargo);
        cmd.current_dir(&workspace).args([
            "build",
            "--offline",
            "--message-format=json-render-diagnostics",
        ]);
        for p in PACKAGES {
            cmd.args(["-p", p]);
        }
        let out = cmd.output().expect("cargo runs");
        assert!(
            out.status.success(),
            "building the test plugins failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let mut libs = HashMap::new();
        for line in String::from_utf8_lossy(&out.stdout).lines() {
            let Ok(msg) = serde_json::from_str::<serde_json::Value>(line) else {
                continue;
            };
            if msg["reason"] != "compiler-artifact" {
                continue;
            }
            let name = msg["target"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            let files = msg["filenames"].as_array().cloned().unwrap_or_default();
            for f in files.iter().filter_map(|f| f.as_str()) {
                if f.ends_with(".so") {
                    libs.insert(name.clone(), PathBuf::from(f));
                }
            }
        }
        libs
    })
}

/// A fresh, empty plugin directory.
fn plugin_dir() -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "radixgate-plugins-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// Copies library `target` (`radixgate_plugin_noop`) into `dir`.
fn install(dir: &Path, target: &str) -> PathBuf {
    let src = libraries()
        .get(target)
        .unwrap_or_else(|| panic!("{target} was not built: {:?}", libraries().keys()));
    let dst = dir.join(format!("lib{target}.so"));
    std::fs::copy(src, &dst).expect("copy the library");
    dst
}

fn request(path: &str) -> RequestState {
    let client: SocketAddr = "192.0.2.7:5555".parse().expect("addr");
    RequestState::new(http::Method::GET, path, client)
}

#[test]
fn the_noop_plugin_loads_and_every_phase_runs() {
    let dir = plugin_dir();
    install(&dir, "radixgate_plugin_noop");
    let registry = PluginRegistry::new(None);
    let report = registry.load_dir(&dir);
    assert_eq!(report.loaded, ["noop"], "{:?}", report.refused);
    assert!(report.refused.is_empty());
    let entry = registry.get("noop").expect("registered");
    assert_eq!((entry.priority, entry.phases), (0, Phases::ALL));
    let host = GatewayServices::default();
    let noop = PluginInstance::build(&entry, &json!({}), host.handle()).expect("built");
    let mut state = request("/a?b=c");
    for phase in Phase::ALL {
        assert_eq!(noop.call(phase, &mut state), Outcome::Continue, "{phase:?}");
    }
    let (outcome, replaced) = noop.body_filter(&mut state, b"chunk", true);
    assert_eq!((outcome, replaced), (Outcome::Continue, None));
}

/// Log output captured from the current thread.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .map_err(|_| std::io::ErrorKind::Other)?
            .extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn a_panicking_plugin_fails_the_request_and_the_host_stays_up() {
    let dir = plugin_dir();
    install(&dir, "radixgate_plugin_test_panic");
    let registry = PluginRegistry::new(None);
    assert_eq!(registry.load_dir(&dir).loaded, ["test-panic"]);
    let entry = registry.get("test-panic").expect("registered");
    let host = GatewayServices::default();
    let plugin = PluginInstance::build(&entry, &json!({}), host.handle()).expect("built");

    let logs = Captured::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    let outcome = tracing::subscriber::with_default(subscriber, || {
        plugin.call(Phase::Access, &mut request("/boom"))
    });
    let Outcome::Fail(failure) = outcome else {
        panic!("expected a failure, got {outcome:?}");
    };
    assert_eq!(failure.plugin, "test-panic");
    assert!(failure.panicked);
    assert_eq!(failure.phase, Phase::Access);
    assert!(
        failure.message.contains("deliberate panic on /boom"),
        "{}",
        failure.message
    );
    // The SDK's hook in the library recorded where it panicked (and printed
    // no backtrace).
    assert!(
        failure
            .message
            .contains("(at tests/plugins/test-panic/src/lib.rs:"),
        "{}",
        failure.message
    );
    let text = String::from_utf8_lossy(&logs.0.lock().expect("logs")).to_string();
    assert!(
        text.contains("plugin test-panic failed in access"),
        "{text}"
    );

    // The same instance keeps serving: other phases work, access fails again.
    assert_eq!(
        plugin.call(Phase::Rewrite, &mut request("/")),
        Outcome::Continue
    );
    assert!(matches!(
        plugin.call(Phase::Access, &mut request("/")),
        Outcome::Fail(_)
    ));
}

#[test]
fn a_library_that_is_not_a_plugin_is_refused_with_its_path() {
    let dir = plugin_dir();
    let router = install(&dir, "radix_router");
    let junk = dir.join("junk.so");
    std::fs::write(&junk, b"not an ELF file").expect("write");
    let registry = PluginRegistry::new(None);
    let report = registry.load_dir(&dir);
    assert!(report.loaded.is_empty());
    assert_eq!(report.refused.len(), 2, "{:?}", report.refused);
    for (refusal, path) in report.refused.iter().zip([&junk, &router]) {
        assert_eq!(&refusal.path, path);
        assert!(
            refusal.reason.starts_with("not a radixgate plugin"),
            "{}",
            refusal.reason
        );
        assert!(refusal.to_string().contains(&path.display().to_string()));
    }
}

#[test]
fn a_plugin_built_for_another_abi_major_is_refused() {
    let dir = plugin_dir();
    let path = install(&dir, "radixgate_plugin_test_abi_bump");
    let report = PluginRegistry::new(None).load_dir(&dir);
    assert!(report.loaded.is_empty());
    assert_eq!(report.refused.len(), 1);
    assert_eq!(report.refused[0].path, path);
    let reason = &report.refused[0].reason;
    assert!(reason.contains("plugin ABI 2.0"), "{reason}");
    assert!(reason.contains("test-abi-bump"), "{reason}");
}

#[test]
fn a_second_plugin_with_the_same_name_is_refused() {
    let dir = plugin_dir();
    install(&dir, "radixgate_plugin_noop");
    let dup = install(&dir, "radixgate_plugin_test_dup_name");
    let registry = PluginRegistry::new(None);
    let report = registry.load_dir(&dir);
    assert_eq!(report.loaded, ["noop"]);
    assert_eq!(report.refused.len(), 1);
    assert_eq!(report.refused[0].path, dup);
    assert!(report.refused[0]
        .reason
        .contains("duplicate plugin name \"noop\""));
    let kept = registry.get("noop").expect("the first stays");
    assert!(kept.path.ends_with("libradixgate_plugin_noop.so"));
}

#[test]
fn only_enabled_plugins_are_registered_and_a_reload_adds_new_files() {
    let dir = plugin_dir();
    install(&dir, "radixgate_plugin_noop");
    let registry = PluginRegistry::new(Some(vec!["test-panic".into(), "template".into()]));
    let first = registry.load_dir(&dir);
    assert!(first.loaded.is_empty());
    assert_eq!(first.not_enabled, ["noop"]);
    install(&dir, "radixgate_plugin_test_panic");
    install(&dir, "radixgate_plugin_template");
    let second = registry.load_dir(&dir);
    assert_eq!(second.loaded, ["template", "test-panic"]);
    assert!(second.not_enabled.is_empty(), "a file is opened once");
    let names: Vec<String> = registry.all().iter().map(|e| e.name.clone()).collect();
    assert_eq!(names, ["template", "test-panic"], "by priority");
}

#[test]
fn configs_are_checked_by_schema_then_by_the_plugin() {
    let dir = plugin_dir();
    install(&dir, "radixgate_plugin_template");
    let registry = PluginRegistry::new(None);
    registry.load_dir(&dir);
    let entry = registry.get("template").expect("registered");
    assert_eq!(entry.priority, 1005);
    let host = GatewayServices::default();
    let build = |config| PluginInstance::build(&entry, &config, host.handle());

    let err = build(json!({"value": 5})).expect_err("schema");
    assert!(
        err.to_string()
            .starts_with("failed to check the configuration of plugin template err: value:"),
        "{err}"
    );
    let err = build(json!({})).expect_err("schema");
    assert!(err.reason.contains("value"), "{err}");
    let err = build(json!({"value": "a\nb"})).expect_err("constructor");
    assert_eq!(err.reason, "value: must not contain CR or LF");

    let plugin = build(json!({"value": "hi", "deny_prefix": "/private"})).expect("built");
    let mut state = request("/open");
    assert_eq!(plugin.call(Phase::Rewrite, &mut state), Outcome::Continue);
    assert_eq!(
        state.headers.get("x-template").map(|v| v.as_bytes()),
        Some(&b"hi"[..])
    );
    assert_eq!(plugin.call(Phase::Access, &mut state), Outcome::Continue);
    match plugin.call(Phase::Access, &mut request("/private/x")) {
        Outcome::Respond(reply) => {
            assert_eq!(reply.status, 403);
            assert_eq!(reply.body, b"denied by template\n");
        }
        other => panic!("expected a 403, got {other:?}"),
    }
}
