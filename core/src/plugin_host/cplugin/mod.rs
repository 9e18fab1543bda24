//! C plugins: libraries built from C (or C++, Zig, ...) against
//! `include/radixgate_plugin.h` alone, loaded from the plugin directory
//! beside the Rust plugins.
//!
//! - [`probe`] tells a C plugin by its exported `radixgate_plugin_c_v1`
//!   and checks its declaration (version and size fields, texts, phases, a
//!   function for each declared phase); the entry it makes then gets every
//!   check a Rust plugin's gets (a unique name, schemas that compile, the
//!   enabled list, configs checked against its schema).
//! - An instance is a plugin ABI instance object like a Rust plugin's, so
//!   the host calls its phases, and drives its suspended phases, the same
//!   way; each phase is a call of the plugin's C function with the host's
//!   function table (`rg_host`) and the request (`rg_request`).
//! - Every host function C calls runs behind a panic barrier, and every
//!   call into C behind another, so no unwind crosses either way.

mod abi;
mod call;
mod declare;
mod ffi;
mod host_decision;
mod host_request;
mod host_services;
mod instance;
mod operations;
mod resume;
mod table;

#[cfg(test)]
mod layout_tests;

#[cfg(test)]
mod host_tests;

pub use declare::{probe, Probe};
