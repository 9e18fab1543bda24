//! Plugin call cost: `cargo bench -p radixgate --bench plugin`.
//!
//! One phase call of the `noop` plugin through the ABI, as the proxy makes
//! it: [`PluginInstance::call`] on a [`RequestState`] (context vtable built,
//! instance vtable call, the SDK's panic guard, the nonexhaustive result
//! checked and mapped). Target: < 100 ns per call (docs/performance.md). The plugin
//! is built with `cargo build --release -p radixgate-plugin-noop` first, so
//! it is optimized like a real deployment's.

use std::hint::black_box;
use std::net::SocketAddr;

use criterion::{criterion_group, criterion_main, Criterion};
use radixgate::plugin_host::{
    GatewayServices, Phase, PhaseOutcome, PluginInstance, PluginRegistry, RequestState,
};

#[path = "release_plugins.rs"]
mod release_plugins;

fn plugin_calls(c: &mut Criterion) {
    let dir = std::env::temp_dir().join(format!("radixgate-bench-plugins-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let [noop] = &release_plugins::release_plugins(&["radixgate-plugin-noop"])[..] else {
        unreachable!("one package asked, one library")
    };
    std::fs::copy(noop, dir.join("libnoop.so")).expect("copy");
    let registry = PluginRegistry::new(None);
    let report = registry.load_dir(&dir);
    assert_eq!(report.loaded, ["noop"], "{:?}", report.refused);
    let entry = registry.get("noop").expect("noop");
    let host = GatewayServices::default();
    let noop = PluginInstance::build(&entry, &serde_json::json!({}), host.handle()).expect("built");
    let client: SocketAddr = "127.0.0.1:40000".parse().expect("addr");
    let mut state = RequestState::new(http::Method::GET, "/bench?x=1", client);

    let mut group = c.benchmark_group("noop_plugin");
    for phase in [
        Phase::Rewrite,
        Phase::Access,
        Phase::HeaderFilter,
        Phase::Log,
    ] {
        group.bench_function(phase.name(), |b| {
            b.iter(|| {
                let outcome = noop.call(black_box(phase), &mut state);
                assert_eq!(outcome, PhaseOutcome::Continue);
            })
        });
    }
    group.bench_function("body_filter", |b| {
        b.iter(|| {
            let (outcome, replaced) = noop.body_filter(&mut state, black_box(b"chunk"), false);
            assert!(outcome == PhaseOutcome::Continue && replaced.is_none());
        })
    });
    group.finish();
    let _ = std::fs::remove_dir_all(&dir);
}

criterion_group!(benches, plugin_calls);
criterion_main!(benches);
