//! Helpers for radixgate's tests, one module a concern:
//!
//! - [`ports`]: loopback ports for child processes;
//! - [`temp`]: temp dirs removed on drop;
//! - [`wait`]: polling until a condition holds;
//! - [`http`]: the raw HTTP/1.1 client (one request a connection, or kept alive);
//! - [`node`]: upstream nodes the test steers;
//! - [`gateway`]: the `radixgate` binary on a standalone file or on etcd;
//! - [`etcd`]: real etcd members and clusters;
//! - [`redis`]: real `redis-server` processes and Redis Clusters;
//! - [`tls`] (feature `tls`): test CAs and certificates, curl and
//!   `openssl s_client` against a TLS port;
//! - [`plugins`] and [`target`]: the plugin libraries and binaries cargo
//!   built, found in the target dir (tests never build them).
//!
//! The crate depends on no crate of the workspace: core's and the router's
//! tests use it as a dev-dependency.

#![warn(missing_docs)]

pub mod etcd;
pub mod gateway;
pub mod http;
pub mod node;
pub mod plugins;
pub mod ports;
pub mod redis;
pub mod target;
pub mod temp;
#[cfg(feature = "tls")]
pub mod tls;
pub mod wait;

pub use gateway::{Gateway, ADMIN_KEY};
pub use http::{get, request, Connection, Request, Response};
pub use node::{bad_upstream, Node};
pub use ports::free_port;
pub use temp::TempDir;
pub use wait::eventually;
