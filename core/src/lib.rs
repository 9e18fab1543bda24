//! radixgate: an API gateway with Apache APISIX's data model.
//!
//! The library is what the `radixgate` binary runs ([`app::run`],
//! [`app::test_config`], [`GatewayConfig`]) and what tests and benches use
//! to load and call plugins without a gateway ([`plugin_host`]); the rest
//! is private. Inside: `proxy` (the request pipeline), `snapshot` (what a
//! request runs on, swapped in atomically), `upstream` (nodes, balancers,
//! health checks, the client to nodes), `source` (the standalone file and
//! etcd), `config` (settings and objects), `admin` (the Admin API). See
//! `docs/architecture.md` for a request's way and a change's way.

mod access_log;
mod admin;
mod allocator;
pub mod app;
mod config;
#[doc(hidden)]
pub mod fuzzing;
pub mod plugin_host;
mod proxy;
mod snapshot;
mod source;
mod stats;
mod tls;
mod upstream;

pub use allocator::{no_transparent_huge_pages, GatewayAllocator};
pub use config::GatewayConfig;

// mimalloc: the gateway binary's allocator ([`GatewayAllocator`], set in
// `main.rs`), linked here for `source::release_freed_memory`. The library
// sets none: tests and benches linking it choose their own
// (`tests/plugin_no_alloc.rs` counts at malloc).
