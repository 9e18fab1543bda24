//! TLS towards clients: the HTTPS listener's handshake, the `ssls`
//! objects made ready to serve and indexed by server name in each
//! snapshot, client certificates (mTLS), and what a handshake tells the
//! request variables (`ssl_server_name`, `ssl_client_*`).
//!
//! rustls with the ring provider: the same crypto stack as the upstream
//! client, and no cmake or C toolchain beyond what ring builds.
//! Certificates change with the snapshot: a handshake reads the live
//! snapshot's index once, so a new or edited `ssls` object serves the next
//! handshake, and an open connection keeps what it agreed on.

mod accept;
mod certs;
pub mod expiry;
mod index;
mod subject;
mod verify;

pub use accept::{handshake, publish_vars, TlsInfo, TlsListener};
pub use certs::SslRt;
pub use index::SniIndex;
