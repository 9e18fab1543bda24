//! C plugins (`include/radixgate_plugin.h`): real libraries built by `cc`
//! and `c++` from their sources and the header alone (`make c-plugins`),
//! loaded by the host beside Rust plugins. The examples answer through the
//! real gateway, a C phase waits on the gateway's timer and resumes, and
//! each bad plugin or config is refused at load with its file or its
//! message while the gateway and the other plugins go on.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use radixgate::plugin_host::{GatewayServices, PluginInstance, PluginRegistry, RequestState};
use radixgate_test_support::plugins::install_file;
use radixgate_test_support::{eventually, plugins, Gateway, Node, TempDir};
use serde_json::json;

const BIN: &str = env!("CARGO_BIN_EXE_radixgate");

/// A gateway with `plugins` in front of `node`, serving `routes` (YAML
/// list items).
fn gateway(node: &Node, plugins: &[&str], routes: &str) -> Gateway {
    let apisix = format!(
        "upstreams:\n  - {{id: u, nodes: {{\"{}\": 1}}}}\nroutes:\n{routes}#END\n",
        node.addr()
    );
    Gateway::file(BIN, &apisix)
        .workers(1)
        .plugins(plugins)
        .start()
}

/// The registry after loading a fresh directory holding `names`.
fn registry_of(names: &[&str]) -> (PluginRegistry, TempDir, Vec<std::path::PathBuf>) {
    let tmp = TempDir::new("cplugins");
    let paths = names
        .iter()
        .map(|n| {
            let lib = plugins::library(n);
            install_file(
                tmp.root(),
                &lib.file_name().expect("a file").to_string_lossy(),
            )
        })
        .collect();
    (PluginRegistry::new(None), tmp, paths)
}

/// Loads `names` into a fresh registry: the loaded names and refusals
/// (path, reason).
fn load(names: &[&str]) -> (Vec<String>, Vec<(String, String)>) {
    let (registry, tmp, _) = registry_of(names);
    let report = registry.load_dir(tmp.root());
    let refused = report
        .refused
        .iter()
        .map(|e| (file(&e.path), e.reason.clone()))
        .collect();
    (report.loaded, refused)
}

fn file(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

#[test]
fn the_c_example_answers_through_the_gateway_beside_a_rust_plugin() {
    let node = Node::start("n");
    let gw = gateway(
        &node,
        &["c-example", "request-id"],
        "  - {id: c, uri: /c, upstream_id: u, plugins: {request-id: {}, \
         c-example: {header: X-From-C, value: hi, block_header: X-Block}}}\n",
    );
    let first = gw.get("/c", &[]);
    assert_eq!(first.status, 200, "{first:?}\n{}", gw.log());
    // header_filter set the response header; access counted in the store
    // and told the node; the Rust plugin ran in the same chain.
    assert_eq!(first.header("x-from-c"), Some("hi"), "{first:?}");
    assert_eq!(
        first.echoed("x-c-count").as_deref(),
        Some("1"),
        "{}",
        first.body
    );
    assert!(first.header("x-request-id").is_some(), "{first:?}");
    let second = gw.get("/c", &[]);
    assert_eq!(
        second.echoed("x-c-count").as_deref(),
        Some("2"),
        "{}",
        second.body
    );
    // access answers for itself, and the request goes no further.
    let hits = node.hits();
    let blocked = gw.get("/c", &[("X-Block", "1")]);
    assert_eq!(blocked.status, 403, "{blocked:?}");
    assert_eq!(blocked.body, r#"{"error_msg":"blocked by c-example"}"#);
    assert_eq!(blocked.header("content-type"), Some("application/json"));
    assert_eq!(
        blocked.header("x-from-c"),
        Some("hi"),
        "header_filter runs on it"
    );
    assert_eq!(node.hits(), hits);
    assert!(
        gw.log().contains("plugin loaded plugin=c-example"),
        "{}",
        gw.log()
    );
}

#[test]
fn the_cpp_example_answers_through_the_gateway() {
    let node = Node::start("n");
    let gw = gateway(
        &node,
        &["cpp-example"],
        "  - {id: cpp, uri: /cpp, upstream_id: u, plugins: {cpp-example: {trailer: from C++}}}\n",
    );
    let r = gw.get("/cpp", &[]);
    assert_eq!(r.status, 200, "{r:?}\n{}", gw.log());
    assert_eq!(r.echoed("x-cpp-example").as_deref(), Some("GET /cpp"));
    assert_eq!(r.header("x-cpp-example"), Some("yes"), "{r:?}");
    // The last chunk of the node's echo (chunked now: the length changed)
    // carries the trailer.
    assert!(r.body.contains("body=\nfrom C++\n"), "{:?}", r.body);
}

#[test]
fn a_c_phase_that_sleeps_resumes_without_holding_the_worker() {
    let node = Node::start("n");
    let gw = gateway(
        &node,
        &["c-example"],
        "  - {id: slow, uri: /slow, upstream_id: u, plugins: {c-example: {sleep_ms: 1500}}}\n  \
         - {id: bare, uri: /bare, upstream_id: u}\n",
    );
    let port = gw.port;
    let (done, slow) = mpsc::channel();
    let started = Instant::now();
    thread::spawn(move || {
        let _ = done.send((radixgate_test_support::get(port, "/slow"), Instant::now()));
    });
    // The one worker serves a bare route, request after request, well into
    // the C phase's wait (which began a few ms after `started`): a worker
    // held by the waiting phase would answer none of them before it ends.
    let mut bare_done = started;
    while bare_done - started < Duration::from_millis(300) {
        let bare = gw.get("/bare", &[]);
        assert_eq!(bare.status, 200, "{bare:?}");
        bare_done = Instant::now();
    }
    assert!(
        bare_done - started < Duration::from_millis(1000),
        "the bare route waited for the sleeping phase ({:?})",
        bare_done - started
    );
    let (r, at) = slow
        .recv_timeout(Duration::from_secs(10))
        .expect("the slow request ends");
    assert_eq!(r.status, 200, "{r:?}\n{}", gw.log());
    // Resumed: the resume function edited the request the node got.
    assert_eq!(r.echoed("x-c-slept").as_deref(), Some("1500"), "{}", r.body);
    assert!(at - started >= Duration::from_millis(1500));
}

#[test]
fn a_waiting_c_phase_cut_off_by_the_route_timeout_frees_its_state() {
    let node = Node::start("n");
    let gw = gateway(
        &node,
        &["c-example"],
        "  - {id: stuck, uri: /stuck, upstream_id: u, timeout: {connect: 1, send: 1, read: 1}, \
         plugins: {c-example: {sleep_ms: 30000}}}\n  - {id: bare, uri: /bare, upstream_id: u}\n",
    );
    let started = Instant::now();
    let r = gw.get("/stuck", &[]);
    assert_eq!(r.status, 500, "{r:?}");
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(node.hits(), 0);
    // The plugin's state_drop ran (it logs) and the gateway goes on.
    assert!(
        eventually(5, || gw.log().contains("a sleep of 30000 ms was abandoned")),
        "{}",
        gw.log()
    );
    assert!(gw.log().contains("did not decide access within 1s"));
    assert_eq!(gw.get("/bare", &[]).status, 200);
}

#[test]
fn a_config_the_c_plugin_refuses_is_refused_with_its_message() {
    let (registry, tmp, _) = registry_of(&["c-example"]);
    registry.load_dir(tmp.root());
    let entry = registry.get("c-example").expect("c-example loads");
    let host = GatewayServices::default();
    let refused = PluginInstance::build(&entry, &json!({"header": "bad name"}), host.handle())
        .expect_err("a header name with a space is refused");
    assert_eq!(
        refused.to_string(),
        "failed to check the configuration of plugin c-example err: \
         header: \"bad name\" is not an HTTP header name"
    );
    // The schema still comes first.
    let schema = PluginInstance::build(&entry, &json!({"sleep_ms": -1}), host.handle())
        .expect_err("refused by the schema");
    assert!(schema.reason.starts_with("sleep_ms:"), "{schema}");
    // A good config still builds, and runs.
    let fine = PluginInstance::build(&entry, &json!({}), host.handle()).expect("built");
    let client: SocketAddr = "192.0.2.1:1000".parse().expect("an address");
    let mut request = RequestState::new(http::Method::GET, "/x", client);
    let outcome = fine.call(radixgate::plugin_host::Phase::Access, &mut request);
    assert_eq!(outcome, radixgate::plugin_host::PhaseOutcome::Continue);

    // Through the gateway: the route is refused with the plugin's message
    // in the log; the other route, with the same plugin, serves.
    let node = Node::start("n");
    let gw = gateway(
        &node,
        &["c-example"],
        "  - {id: bad, uri: /bad, upstream_id: u, plugins: {c-example: {block_header: \"a:b\"}}}\n  \
         - {id: good, uri: /good, upstream_id: u, plugins: {c-example: {}}}\n",
    );
    let good = gw.get("/good", &[]);
    assert_eq!(good.status, 200, "{good:?}\n{}", gw.log());
    assert_eq!(good.header("x-c-example"), Some("hello from C"));
    assert_eq!(gw.get("/bad", &[]).status, 404);
    let log = gw.log();
    assert!(
        log.contains("block_header: \\\"a:b\\\" is not an HTTP header name")
            || log.contains("block_header: \"a:b\" is not an HTTP header name"),
        "{log}"
    );
}

#[test]
fn c_plugins_with_a_wrong_version_or_size_are_refused_with_their_file() {
    let (loaded, refused) = load(&["test-c-version", "c-example", "test-c-size"]);
    assert_eq!(loaded, ["c-example"]);
    assert_eq!(refused.len(), 2, "{refused:?}");
    let (size, version) = (&refused[0], &refused[1]);
    assert_eq!(size.0, "libradixgate_plugin_test_c_size.so");
    assert!(
        size.1.contains("rg_plugin size is") && size.1.contains("set size to sizeof(rg_plugin)"),
        "{}",
        size.1
    );
    assert_eq!(version.0, "libradixgate_plugin_test_c_version.so");
    assert!(
        version
            .1
            .contains("C plugin ABI version 99; this gateway speaks version 1"),
        "{}",
        version.1
    );
}

#[test]
fn a_null_function_for_a_declared_phase_is_refused() {
    let (loaded, refused) = load(&["test-c-null-phase", "c-example"]);
    assert_eq!(loaded, ["c-example"]);
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert_eq!(refused[0].0, "libradixgate_plugin_test_c_null_phase.so");
    assert_eq!(
        refused[0].1,
        "C plugin \"test-c-null-phase\": declares the header_filter phase but its \
         header_filter function is NULL"
    );
}

#[test]
fn a_c_plugin_whose_schema_does_not_compile_is_refused() {
    let (loaded, refused) = load(&["test-c-schema"]);
    assert!(loaded.is_empty());
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert!(
        refused[0]
            .1
            .starts_with("plugin \"test-c-schema\": its route config schema is not JSON"),
        "{}",
        refused[0].1
    );
}

#[test]
fn a_c_plugin_gets_the_name_and_enabled_checks_of_a_rust_plugin() {
    // Files load in name order: c-example first, then the C plugin that
    // declares the same name; a Rust plugin's name is taken the same way.
    let (loaded, refused) = load(&["c-example", "test-c-dup-name"]);
    assert_eq!(loaded, ["c-example"]);
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert_eq!(refused[0].0, "libradixgate_plugin_test_c_dup_name.so");
    assert!(
        refused[0]
            .1
            .starts_with("duplicate plugin name \"c-example\""),
        "{}",
        refused[0].1
    );
    // A C plugin the enabled list does not name is not registered.
    let tmp = TempDir::new("cplugins");
    install_file(tmp.root(), &plugins::file_name("c-example"));
    install_file(tmp.root(), &plugins::file_name("noop"));
    let registry = PluginRegistry::new(Some(vec!["noop".into()]));
    let report = registry.load_dir(tmp.root());
    assert_eq!(
        (report.loaded, report.not_enabled),
        (vec!["noop".to_string()], vec!["c-example".to_string()])
    );
}

#[test]
fn bad_c_plugins_are_logged_with_their_file_and_the_gateway_serves_with_the_others() {
    let node = Node::start("n");
    let gw = gateway(
        &node,
        &[
            "test-c-version",
            "test-c-size",
            "test-c-null-phase",
            "test-c-schema",
            "c-example",
            "noop",
        ],
        "  - {id: c, uri: /c, upstream_id: u, plugins: {c-example: {}, noop: {}}}\n",
    );
    let r = gw.get("/c", &[]);
    assert_eq!(r.status, 200, "{r:?}\n{}", gw.log());
    assert_eq!(r.header("x-c-example"), Some("hello from C"));
    let log = gw.log();
    for (lib, reason) in [
        ("test_c_version", "C plugin ABI version 99"),
        ("test_c_size", "rg_plugin size is"),
        ("test_c_null_phase", "its header_filter function is NULL"),
        ("test_c_schema", "its route config schema is not JSON"),
    ] {
        let lib = format!("libradixgate_plugin_{lib}.so");
        assert!(
            log.lines()
                .any(|l| l.contains("plugin refused") && l.contains(&lib) && l.contains(reason)),
            "no log line refusing {lib} ({reason}):\n{log}"
        );
    }
}
