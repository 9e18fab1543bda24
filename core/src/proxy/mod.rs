//! The proxy: hyper's HTTP/1.1 and HTTP/2 server on tokio, one worker thread each
//! with its own runtime (`workers`), every request taken through one
//! pipeline (`pipeline.rs`, where the steps are listed in order with the
//! module of each).

mod arrival;
mod body_filter;
mod boxed;
mod client_body;
mod client_io;
mod exchange;
mod forward;
mod framing;
mod grpc;
pub(crate) mod h1;
mod h2_server;
mod headers;
mod log;
pub(crate) mod path;
mod phase_run;
mod phases;
mod pipeline;
mod respond;
mod route;
mod server;
mod upgrade;
mod vars;
pub mod workers;

pub use client_body::{ClientBody, ClientBodyError};
pub use client_io::{ClientIo, ConnCap};
pub use exchange::WorkerContext;
pub use log::log_phases_dropped;
pub use server::{idle, serve, stopped, Limits, Protocol};
