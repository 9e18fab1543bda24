//! Plugin loading with real `.so` files: the libraries `cargo build
//! --workspace` built, copied into a fresh plugin directory per test, and
//! loaded by the host; each phase call reaches the plugin (its edits to
//! the request, the response, the body and the metrics are seen), a panic
//! is the plugin's failure, and unfit libraries are refused.

use std::io::Write;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use radixgate::plugin_host::{
    render_metrics, GatewayServices, Phase, PhaseOutcome, Phases, PluginInstance, PluginRegistry,
    RequestState,
};
use radixgate_test_support::plugins::{install, install_file};
use radixgate_test_support::TempDir;
use serde_json::json;

fn request(path: &str) -> RequestState {
    let client: SocketAddr = "192.0.2.7:5555".parse().expect("addr");
    RequestState::new(http::Method::GET, path, client)
}

#[test]
fn the_noop_plugin_loads_with_every_phase() {
    let tmp = TempDir::new("plugins");
    let dir = tmp.root();
    install(dir, "noop");
    let registry = PluginRegistry::new(None);
    let report = registry.load_dir(dir);
    assert_eq!(report.loaded, ["noop"], "{:?}", report.refused);
    assert!(report.refused.is_empty());
    let entry = registry.get("noop").expect("registered");
    assert_eq!((entry.priority, entry.phases), (0, Phases::ALL));
    let host = GatewayServices::default();
    let noop = PluginInstance::build(&entry, &json!({}), host.handle()).expect("built");
    let mut state = request("/a?b=c");
    for phase in Phase::ALL {
        assert_eq!(
            noop.call(phase, &mut state),
            PhaseOutcome::Continue,
            "{phase:?}"
        );
    }
    let (outcome, replaced) = noop.body_filter(&mut state, b"chunk", true);
    assert_eq!((outcome, replaced), (PhaseOutcome::Continue, None));
}

#[test]
fn every_phase_call_reaches_the_plugin() {
    let tmp = TempDir::new("plugins");
    let dir = tmp.root();
    for name in ["test-order", "template", "response-rewrite", "prometheus"] {
        install(dir, name);
    }
    let registry = PluginRegistry::new(None);
    let report = registry.load_dir(dir);
    assert_eq!(report.loaded.len(), 4, "{:?}", report.refused);
    let host = GatewayServices::default();
    let build = |name: &str, config: serde_json::Value| {
        let entry = registry.get(name).expect("registered");
        PluginInstance::build(&entry, &config, host.handle()).expect("built")
    };
    let mut state = request("/open");

    // rewrite, before_proxy, header_filter: test-order's edits of the
    // request variables, the request headers and the response headers.
    let order = build("test-order", json!({"name": "a"}));
    assert_eq!(
        order.call(Phase::Rewrite, &mut state),
        PhaseOutcome::Continue
    );
    assert_eq!(state.vars.get("test_order"), Some("a"));
    for tries in ["1", "2"] {
        let outcome = order.call(Phase::BeforeProxy, &mut state);
        assert_eq!(outcome, PhaseOutcome::Continue);
        let header = state.headers.get("x-test-tries").map(|v| v.as_bytes());
        assert_eq!(header, Some(tries.as_bytes()), "before_proxy call {tries}");
    }
    state.response_status = 200;
    let outcome = order.call(Phase::HeaderFilter, &mut state);
    assert_eq!(outcome, PhaseOutcome::Continue);
    let header = state.response_headers.get("x-test-order");
    assert_eq!(header.map(|v| v.as_bytes()), Some(&b"a"[..]));

    // access: template answers for the prefix it denies.
    let template = build("template", json!({"value": "v", "deny_prefix": "/open"}));
    match template.call(Phase::Access, &mut state) {
        PhaseOutcome::Respond(reply) => assert_eq!(reply.status, 403),
        other => panic!("expected template's 403, got {other:?}"),
    }

    // body_filter: response-rewrite replaces the body at its last chunk.
    let rewrite = build("response-rewrite", json!({"body": "new body"}));
    assert_eq!(
        rewrite.call(Phase::HeaderFilter, &mut state),
        PhaseOutcome::Continue
    );
    let (outcome, replaced) = rewrite.body_filter(&mut state, b"old", true);
    assert_eq!(outcome, PhaseOutcome::Continue);
    assert_eq!(replaced.as_deref(), Some(&b"new body"[..]));

    // log: prometheus counts the request in the host's metrics.
    let prometheus = build("prometheus", json!({}));
    let counted = |text: &str| {
        text.lines()
            .filter(|l| l.starts_with("apisix_http_status{") && l.contains("code=\"200\""))
            .count()
    };
    assert_eq!(counted(&render_metrics(host.metrics())), 0);
    assert_eq!(
        prometheus.call(Phase::Log, &mut state),
        PhaseOutcome::Continue
    );
    let text = render_metrics(host.metrics());
    assert_eq!(counted(&text), 1, "{text}");
}

/// More label sets than prometheus keeps resolved series for on a thread
/// (16), from two instances, interleaved so that its entries are taken
/// over again and again: each series counts exactly its own requests, and
/// each latency histogram's buckets are cumulative with the bound a value
/// equals counting it.
#[test]
fn prometheus_counts_every_label_set_through_its_resolved_series() {
    let tmp = TempDir::new("plugins");
    install(tmp.root(), "prometheus");
    let registry = PluginRegistry::new(None);
    let report = registry.load_dir(tmp.root());
    assert_eq!(report.loaded, ["prometheus"], "{:?}", report.refused);
    let host = GatewayServices::default();
    let entry = registry.get("prometheus").expect("registered");
    let instances: Vec<_> = (0..2)
        .map(|_| PluginInstance::build(&entry, &json!({}), host.handle()).expect("built"))
        .collect();
    // Route r<i> gets i + 1 requests, sent round by round over the routes
    // still short of theirs, each by instance i % 2, each taking 100 ms.
    let routes = 20;
    for round in 0..routes {
        for i in round..routes {
            let mut state = request("/a");
            state.route_id = format!("r{i}");
            state.response_status = 200;
            state.vars.insert("request_time", "0.100");
            let outcome = instances[i % 2].call(Phase::Log, &mut state);
            assert_eq!(outcome, PhaseOutcome::Continue);
        }
    }
    let text = render_metrics(host.metrics());
    // The value of the series of `route` whose line holds every `part`.
    let value = |prefix: &str, route: usize, parts: &[&str]| -> Option<f64> {
        let route = format!("route=\"r{route}\"");
        text.lines()
            .find(|l| {
                l.starts_with(prefix) && l.contains(&route) && parts.iter().all(|p| l.contains(p))
            })
            .and_then(|l| l.rsplit(' ').next()?.parse().ok())
    };
    for i in 0..routes {
        let sent = Some((i + 1) as f64);
        assert_eq!(value("apisix_http_status{", i, &[]), sent, "r{i}\n{text}");
        let latency = "apisix_http_latency_bucket{";
        for (le, counted) in [
            ("50", Some(0.0)),
            ("100", sent),
            ("200", sent),
            ("+Inf", sent),
        ] {
            let parts = ["type=\"request\"", &format!("le=\"{le}\"")];
            assert_eq!(value(latency, i, &parts), counted, "r{i} le={le}\n{text}");
        }
    }
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
    let tmp = TempDir::new("plugins");
    let dir = tmp.root();
    install(dir, "test-panic");
    let registry = PluginRegistry::new(None);
    assert_eq!(registry.load_dir(dir).loaded, ["test-panic"]);
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
    let PhaseOutcome::Fail(failure) = outcome else {
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
        PhaseOutcome::Continue
    );
    assert!(matches!(
        plugin.call(Phase::Access, &mut request("/")),
        PhaseOutcome::Fail(_)
    ));
}

#[test]
fn a_library_that_is_not_a_plugin_is_refused_with_its_path() {
    let tmp = TempDir::new("plugins");
    let dir = tmp.root();
    let router = install_file(dir, "libradix_router.so");
    let junk = dir.join("junk.so");
    std::fs::write(&junk, b"not an ELF file").expect("write");
    let registry = PluginRegistry::new(None);
    let report = registry.load_dir(dir);
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
    let tmp = TempDir::new("plugins");
    let dir = tmp.root();
    let path = install(dir, "test-abi-bump");
    let report = PluginRegistry::new(None).load_dir(dir);
    assert!(report.loaded.is_empty());
    assert_eq!(report.refused.len(), 1);
    assert_eq!(report.refused[0].path, path);
    let reason = &report.refused[0].reason;
    assert!(reason.contains("plugin ABI 2.0"), "{reason}");
    assert!(reason.contains("test-abi-bump"), "{reason}");
}

#[test]
fn a_second_plugin_with_the_same_name_is_refused() {
    let tmp = TempDir::new("plugins");
    let dir = tmp.root();
    install(dir, "noop");
    let dup = install(dir, "test-dup-name");
    let registry = PluginRegistry::new(None);
    let report = registry.load_dir(dir);
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
    let tmp = TempDir::new("plugins");
    let dir = tmp.root();
    install(dir, "noop");
    let registry = PluginRegistry::new(Some(vec!["test-panic".into(), "template".into()]));
    let first = registry.load_dir(dir);
    assert!(first.loaded.is_empty());
    assert_eq!(first.not_enabled, ["noop"]);
    install(dir, "test-panic");
    install(dir, "template");
    let second = registry.load_dir(dir);
    assert_eq!(second.loaded, ["template", "test-panic"]);
    assert!(second.not_enabled.is_empty(), "a file is opened once");
    let names: Vec<String> = registry.all().iter().map(|e| e.name.clone()).collect();
    assert_eq!(names, ["template", "test-panic"], "by priority");
}

#[test]
fn configs_are_checked_by_schema_then_by_the_plugin() {
    let tmp = TempDir::new("plugins");
    let dir = tmp.root();
    install(dir, "template");
    let registry = PluginRegistry::new(None);
    registry.load_dir(dir);
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
    assert_eq!(
        plugin.call(Phase::Rewrite, &mut state),
        PhaseOutcome::Continue
    );
    assert_eq!(
        state.headers.get("x-template").map(|v| v.as_bytes()),
        Some(&b"hi"[..])
    );
    assert_eq!(
        plugin.call(Phase::Access, &mut state),
        PhaseOutcome::Continue
    );
    match plugin.call(Phase::Access, &mut request("/private/x")) {
        PhaseOutcome::Respond(reply) => {
            assert_eq!(reply.status, 403);
            assert_eq!(reply.body, b"denied by template\n");
        }
        other => panic!("expected a 403, got {other:?}"),
    }
}
