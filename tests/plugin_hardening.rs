//! What the host checks before and while loading a plugin file, with real
//! `.so` files in a fresh plugin directory per test: the panic strategy a
//! plugin records, owner and write bits of the directory and files, a
//! refused file tried again once it changed, and code loaded from a
//! private copy (overwriting the file in the plugin directory touches
//! nothing the host runs); last, `plugins.allow_insecure_dir` through the
//! real gateway.

use std::net::SocketAddr;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use radixgate::plugin_host::{
    GatewayServices, Phase, PhaseOutcome, PluginInstance, PluginRegistry, RequestState,
};
use radixgate_test_support::plugins::{install, library};
use radixgate_test_support::TempDir;
use serde_json::json;

fn chmod(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .unwrap_or_else(|e| panic!("chmod {}: {e}", path.display()));
}

fn request(path: &str) -> RequestState {
    let client: SocketAddr = "192.0.2.7:5555".parse().expect("addr");
    RequestState::new(http::Method::GET, path, client)
}

#[test]
fn a_plugin_built_with_panic_abort_is_refused() {
    let tmp = TempDir::new("plugins");
    let path = install(tmp.root(), "test-panic-abort");
    install(tmp.root(), "noop");
    let report = PluginRegistry::new(None).load_dir(tmp.root());
    assert_eq!(report.loaded, ["noop"], "{:?}", report.refused);
    assert_eq!(report.refused.len(), 1, "{:?}", report.refused);
    assert_eq!(report.refused[0].path, path);
    let reason = &report.refused[0].reason;
    assert!(
        reason.contains("plugin \"test-panic-abort\" was built with panic = \"abort\""),
        "{reason}"
    );
    assert!(
        reason.contains("rebuild it with panic = \"unwind\""),
        "{reason}"
    );
}

#[test]
fn a_refused_file_is_tried_again_once_it_changed() {
    let tmp = TempDir::new("plugins");
    let lib = library("noop");
    let path = tmp.path("libradixgate_plugin_noop.so");
    // Half a copy: what a reload may meet while `cp` is still writing.
    let bytes = std::fs::read(&lib).expect("the noop library");
    std::fs::write(&path, &bytes[..bytes.len() / 2]).expect("write half");
    let registry = PluginRegistry::new(None);
    let first = registry.load_dir(tmp.root());
    assert!(first.loaded.is_empty());
    assert_eq!(first.refused.len(), 1, "{:?}", first.refused);
    assert!(
        first.refused[0]
            .reason
            .starts_with("not a radixgate plugin"),
        "{}",
        first.refused[0].reason
    );
    // The reason names the file in the plugin dir, not its private copy.
    assert!(
        !first.refused[0].reason.contains("radixgate.plugins."),
        "{}",
        first.refused[0].reason
    );
    // Unchanged: not opened again (each opening maps the file once more).
    let second = registry.load_dir(tmp.root());
    assert!(second.refused.is_empty(), "{:?}", second.refused);
    assert!(second.loaded.is_empty());
    // The copy completes: the next reload loads it.
    std::fs::write(&path, &bytes).expect("write it all");
    let third = registry.load_dir(tmp.root());
    assert_eq!(third.loaded, ["noop"], "{:?}", third.refused);
    assert_eq!(
        registry.get("noop").expect("registered").path,
        path,
        "the entry names the file in the plugin dir"
    );
}

#[test]
fn a_directory_or_file_others_may_write_is_refused_unless_allowed() {
    let tmp = TempDir::new("plugins");
    let dir = tmp.root();
    let noop = install(dir, "noop");
    let registry = PluginRegistry::new(None);

    chmod(dir, 0o777);
    let report = registry.load_dir(dir);
    assert!(report.loaded.is_empty());
    assert_eq!(report.refused.len(), 1, "{:?}", report.refused);
    assert_eq!(report.refused[0].path, dir);
    assert!(
        report.refused[0]
            .reason
            .starts_with("the plugin directory is writable by its group and others (mode 777)"),
        "{}",
        report.refused[0].reason
    );

    chmod(dir, 0o755);
    chmod(&noop, 0o664);
    let report = registry.load_dir(dir);
    assert!(report.loaded.is_empty());
    assert_eq!(report.refused.len(), 1, "{:?}", report.refused);
    assert_eq!(report.refused[0].path, noop);
    assert!(
        report.refused[0]
            .reason
            .starts_with("the file is writable by its group (mode 664)"),
        "{}",
        report.refused[0].reason
    );
    // A file refused before it was opened is tried at every reload.
    chmod(&noop, 0o644);
    assert_eq!(registry.load_dir(dir).loaded, ["noop"]);

    // plugins.allow_insecure_dir: loaded all the same.
    let lax = TempDir::new("plugins");
    let test_panic = install(lax.root(), "test-panic");
    chmod(lax.root(), 0o777);
    chmod(&test_panic, 0o666);
    let report = PluginRegistry::new(None)
        .allow_insecure_dir(true)
        .load_dir(lax.root());
    assert_eq!(report.loaded, ["test-panic"], "{:?}", report.refused);
}

#[test]
fn a_file_of_another_owner_is_refused() {
    use std::os::unix::fs::MetadataExt;
    let tmp = TempDir::new("plugins");
    let noop = install(tmp.root(), "noop");
    let me = std::fs::metadata(tmp.root()).expect("the temp dir").uid();
    // Only root may give a file away; the rule itself is unit-tested in
    // the host (files.rs).
    if me != 0 {
        eprintln!("not root: the owner check is covered by the host's unit test only");
        return;
    }
    std::os::unix::fs::chown(&noop, Some(65534), None).expect("chown to nobody");
    let report = PluginRegistry::new(None).load_dir(tmp.root());
    assert!(report.loaded.is_empty());
    assert_eq!(report.refused.len(), 1, "{:?}", report.refused);
    assert!(
        report.refused[0]
            .reason
            .starts_with("the file is owned by uid 65534, not by the gateway's user (uid 0)"),
        "{}",
        report.refused[0].reason
    );
}

#[test]
fn overwriting_a_loaded_library_touches_nothing_the_host_runs() {
    let tmp = TempDir::new("plugins");
    let path = install(tmp.root(), "test-version-a");
    let registry = PluginRegistry::new(None);
    assert_eq!(registry.load_dir(tmp.root()).loaded, ["test-version"]);
    let entry = registry.get("test-version").expect("registered");
    let services = GatewayServices::default();
    let plugin = PluginInstance::build(&entry, &json!({}), services.handle()).expect("built");
    let version = |plugin: &PluginInstance| {
        let mut state = request("/");
        state.response_status = 200;
        assert_eq!(
            plugin.call(Phase::HeaderFilter, &mut state),
            PhaseOutcome::Continue
        );
        state
            .response_headers
            .get("x-test-version")
            .map(|v| v.to_str().unwrap_or("?").to_string())
    };
    assert_eq!(version(&plugin).as_deref(), Some("a"));
    // A `cp` of another build over the file, caught halfway: the file now
    // ends long before the code the instance runs. Had the host mapped
    // this file, the calls below would fault (SIGBUS).
    let other = std::fs::read(library("test-version-b")).expect("version b");
    std::fs::write(&path, &other[..4096]).expect("overwrite");
    assert_eq!(version(&plugin).as_deref(), Some("a"));
    let again = PluginInstance::build(&entry, &json!({}), services.handle()).expect("built");
    assert_eq!(version(&again).as_deref(), Some("a"));
    // Once the copy completes, a reload upgrades the plugin.
    std::fs::write(&path, &other).expect("the whole file");
    let report = registry.load_dir(tmp.root());
    assert_eq!(report.upgraded.len(), 1, "{:?}", report.refused);
    let upgraded = registry.get("test-version").expect("registered");
    assert_eq!(upgraded.version, "2.0.0");
    let new = PluginInstance::build(&upgraded, &json!({}), services.handle()).expect("built");
    assert_eq!(version(&new).as_deref(), Some("b"));
    assert_eq!(
        version(&plugin).as_deref(),
        Some("a"),
        "the old one lives on"
    );
}

#[test]
fn no_library_the_host_opened_is_ever_unmapped() {
    use radixgate_test_support::plugins::install_file;
    let tmp = TempDir::new("plugins");
    // A library that is no plugin (no abi_stable header), beside one that is.
    install_file(tmp.root(), "libradix_router.so");
    install(tmp.root(), "template");
    let report = PluginRegistry::new(None).load_dir(tmp.root());
    assert_eq!(report.loaded, ["template"], "{:?}", report.refused);
    assert_eq!(report.refused.len(), 1, "{:?}", report.refused);
    // Both stay mapped from their private copies (removed from disk with
    // the private dir: the mappings outlive the files).
    let maps = std::fs::read_to_string("/proc/self/maps").expect("maps");
    for lib in ["libradix_router.so", "libradixgate_plugin_template.so"] {
        assert!(
            maps.lines()
                .any(|l| l.contains("/radixgate.plugins.") && l.contains(lib)),
            "{lib} is not mapped from a private copy:\n{maps}"
        );
    }
}

#[test]
fn the_gateway_refuses_a_plugin_dir_others_may_write_unless_its_config_allows() {
    use radixgate_test_support::{get, Gateway, Node};
    const BIN: &str = env!("CARGO_BIN_EXE_radixgate");
    let up = Node::start("u");
    let apisix = format!(
        "upstreams:\n  - {{id: u, nodes: {{\"{}\": 1}}}}\nroutes:\n  \
         - {{id: v, uri: /v, upstream_id: u, plugins: {{test-version: {{}}}}}}\n#END\n",
        up.addr()
    );
    for allow in [false, true] {
        let mut gw = Gateway::file(BIN, &apisix)
            .plugins(&["test-version-a"])
            .plugins_yaml(&format!("  allow_insecure_dir: {allow}\n"))
            .prepare();
        chmod(&gw.plugin_dir(), 0o777);
        gw.start_process();
        let r = get(gw.port, "/v");
        // Refused, the plugin is unknown, and so is the route naming it:
        // never served without it.
        let want = if allow { 200 } else { 404 };
        assert_eq!(r.status, want, "{}", gw.log());
        let plugin_ran = r.header("x-test-version") == Some("a");
        assert_eq!(
            plugin_ran,
            allow,
            "allow_insecure_dir: {allow}\n{}",
            gw.log()
        );
        if !allow {
            assert!(
                gw.log()
                    .contains("the plugin directory is writable by its group and others"),
                "{}",
                gw.log()
            );
        }
    }
}
