//! The plugin path's cost per request: `cargo bench -p radixgate --bench
//! plugin_path`.
//!
//! key-auth, limit-count and prometheus (release builds, loaded by the
//! host from `.so` files), each alone and the three as one chain, called
//! through [`PluginInstance::call`] on a [`RequestState`] in every phase
//! they have, in the order the proxy calls them for one request: rewrite,
//! access, header_filter, then log. The request carries `apikey` of a
//! consumer published in the shared store as the gateway publishes it,
//! and what the proxy sets before the response phases (node, response
//! status and headers); `request_time`, which the proxy sets right before
//! log, is set there, inside the timing (a few ns). Building the request
//! state and dropping it are not timed. One figure per line: ns per
//! request. The host allocates with mimalloc, as in the gateway binary.

use std::net::SocketAddr;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use radixgate::plugin_host::{
    GatewayServices, Phase, PhaseOutcome, PluginInstance, PluginRegistry, RequestState,
};
use serde_json::json;

#[path = "release_plugins.rs"]
mod release_plugins;

/// The gateway binary's allocator, so that the host's side allocates as in
/// the gateway (the plugins use the system's, as there).
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The plugins measured, with their configs, in the chain's order
/// (priority: key-auth 2500, limit-count 1002, prometheus 500).
const PLUGINS: [&str; 3] = ["key-auth", "limit-count", "prometheus"];

fn config(plugin: &str) -> serde_json::Value {
    match plugin {
        // Never rejects within the run: every request counts on one key.
        "limit-count" => json!({"count": 1_000_000_000, "time_window": 60}),
        _ => json!({}),
    }
}

/// One request as the proxy hands it to plugins.
fn request() -> RequestState {
    let client: SocketAddr = "127.0.0.1:40000".parse().expect("addr");
    let mut state = RequestState::new(http::Method::GET, "/bench?x=1", client);
    let headers = [
        ("host", "bench.local"),
        ("user-agent", "wrk"),
        ("accept", "*/*"),
        ("apikey", "auth-one"),
    ];
    for (name, value) in headers {
        state
            .headers
            .insert(name, http::HeaderValue::from_static(value));
    }
    state.route_id = "r1".into();
    for (name, value) in [
        ("request_length", "120"),
        ("server_protocol", "HTTP/1.1"),
        ("matched_uri", "/bench"),
        ("matched_host", ""),
        ("upstream_response_time", "0.001"),
    ] {
        state.vars.insert(name, value);
    }
    state.node = Some("127.0.0.1:1980".parse().expect("authority"));
    state.response_status = 200;
    for (name, value) in [("content-type", "text/plain"), ("content-length", "1234")] {
        let value = http::HeaderValue::from_static(value);
        state.response_headers.insert(name, value);
    }
    state
}

/// Runs `chain`'s phases on `state` as the proxy does for one request.
fn serve(chain: &[&PluginInstance], mut state: RequestState) -> RequestState {
    for phase in [Phase::Rewrite, Phase::Access, Phase::HeaderFilter] {
        for plugin in chain {
            assert_eq!(plugin.call(phase, &mut state), PhaseOutcome::Continue);
        }
    }
    state.vars.insert("request_time", "0.002");
    for plugin in chain {
        assert_eq!(plugin.call(Phase::Log, &mut state), PhaseOutcome::Continue);
    }
    state
}

fn plugin_path(c: &mut Criterion) {
    let dir = std::env::temp_dir().join(format!("radixgate-bench-path-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let packages = PLUGINS.map(|p| format!("radixgate-plugin-{p}"));
    let libraries = release_plugins::release_plugins(&packages.each_ref().map(String::as_str));
    for (plugin, lib) in PLUGINS.iter().zip(&libraries) {
        std::fs::copy(lib, dir.join(format!("lib{plugin}.so"))).expect("copy");
    }
    let registry = PluginRegistry::new(None);
    let report = registry.load_dir(&dir);
    assert_eq!(report.refused.len(), 0, "{:?}", report.refused);

    let services = GatewayServices::default();
    // As the gateway publishes consumer jack's key-auth key.
    let store = services.store();
    store.publish("consumer:key-auth:auth-one", Some("jack"));
    store.publish("consumer:name:jack", Some("jack"));
    let instances: Vec<PluginInstance> = PLUGINS
        .iter()
        .map(|name| {
            let entry = registry.get(name).expect("loaded");
            PluginInstance::build(&entry, &config(name), services.handle()).expect("built")
        })
        .collect();

    let mut group = c.benchmark_group("plugin_path");
    group
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sample_size(30);
    let chains = PLUGINS
        .iter()
        .zip(&instances)
        .map(|(name, i)| (*name, vec![i]))
        .chain([("chain", instances.iter().collect())]);
    for (name, chain) in chains {
        group.bench_function(name, |b| {
            b.iter_batched(request, |state| serve(&chain, state), BatchSize::SmallInput)
        });
    }
    group.finish();
    let _ = std::fs::remove_dir_all(&dir);
}

criterion_group!(benches, plugin_path);
criterion_main!(benches);
