//! radixgate: an API gateway with Apache APISIX's data model.
//!
//! A request's way: [`proxy`] accepts it, loads the current [`snapshot`]
//! once, matches it with the radix router, picks a node with the
//! [`upstream`] balancer and forwards it over a pooled keep-alive client.
//! A change's way: a [`source`] (the standalone file or etcd) emits changed
//! objects from [`config`]; the snapshot builder applies them to the router
//! in place and swaps the new snapshot in atomically.

pub mod admin;
pub mod app;
pub mod config;
pub mod plugin_host;
pub mod proxy;
pub mod snapshot;
pub mod source;
pub mod upstream;

/// Every thread allocates from its own mimalloc heap (cheaper than glibc
/// malloc on the proxy's hot path, measured with perf).
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;
