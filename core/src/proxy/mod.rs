//! The proxy: hyper's HTTP/1.1 server on tokio, one worker thread each
//! with its own runtime (`workers`), every request taken through one
//! pipeline (`pipeline.rs`, where the steps are listed in order with the
//! module of each).

mod body_filter;
mod client_body;
mod exchange;
mod forward;
mod headers;
mod log;
mod path;
mod phase_run;
mod phases;
mod pipeline;
mod respond;
mod route;
mod server;
mod upgrade;
mod vars;
pub mod workers;

pub use client_body::ClientBody;
pub use exchange::WorkerContext;
pub use server::{serve, stopped, Limits};
