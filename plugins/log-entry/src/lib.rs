//! The log entry APISIX's loggers write (its `log-util`), for radixgate's
//! logger plugins (`http-logger`, `file-logger`, `tcp-logger`, `udp-logger`,
//! `syslog`): a library, not a plugin.
//!
//! - [`Fields`]: the config fields every logger shares (`log_format`,
//!   `include_req_body`, `include_resp_body` and their `_expr`s), checked
//!   once when the instance is built.
//! - [`body`]: the request and response bodies of the default entry
//!   (`include_req_body`, `include_resp_body`), within their limits.
//! - [`Logger`]: builds one request's entry in the log phase: the default
//!   entry ([`full`]) or, with a `log_format` on the config or in the
//!   plugin's metadata, the custom one ([`format`]).
//! - [`BatchFields`]: the batch-processor fields of the loggers that send
//!   through the host's batch processor (tcp-logger, udp-logger, syslog).
//! - [`timing`]: the request's start, marked in the rewrite phase, from
//!   which the log phase computes `latency` and `start_time`.
//!
//! What the host does not hand to plugins is not invented: see [`full`]
//! for the fields that differ from APISIX's and why.

pub mod batch;
pub mod body;
pub mod fields;
pub mod format;
pub mod full;
pub mod logger;
pub mod timing;

pub use batch::BatchFields;
pub use fields::Fields;
pub use format::LogFormat;
pub use logger::Logger;

#[cfg(test)]
mod tests;
