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
use std::path::{Path, PathBuf};
use std::process::Command;

use criterion::{criterion_group, criterion_main, Criterion};
use radixgate::plugin_host::{
    GatewayServices, Phase, PhaseOutcome, PluginInstance, PluginRegistry, RequestState,
};

/// Builds the noop plugin in release mode; the path of its `.so`.
fn noop_library() -> PathBuf {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .current_dir(&workspace)
        .args(["build", "--release", "--offline", "--message-format=json"])
        .args(["-p", "radixgate-plugin-noop"])
        .output()
        .expect("cargo runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|m| m["target"]["name"] == "radixgate_plugin_noop")
        .flat_map(|m| m["filenames"].as_array().cloned().unwrap_or_default())
        .filter_map(|f| f.as_str().map(PathBuf::from))
        .find(|f| f.extension().is_some_and(|e| e == "so"))
        .expect("the noop plugin's .so")
}

fn plugin_calls(c: &mut Criterion) {
    let dir = std::env::temp_dir().join(format!("radixgate-bench-plugins-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    std::fs::copy(noop_library(), dir.join("libnoop.so")).expect("copy");
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
