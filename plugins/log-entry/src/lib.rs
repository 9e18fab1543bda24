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

#[doc(hidden)]
pub use radixgate_plugin as __plugin;

/// The phase methods every logger's `Plugin` impl shares, for its
/// [`Logger`] in field `$logger`: `rewrite` marks the request's start,
/// the request body is read with `include_req_body`, and the response body
/// is observed (never replaced) with `include_resp_body`.
#[macro_export]
macro_rules! logger_phases {
    ($logger:ident) => {
        fn rewrite(&self, ctx: &mut $crate::__plugin::Ctx<'_>) -> $crate::__plugin::Decision {
            self.$logger.mark(ctx);
            $crate::__plugin::Decision::Continue
        }

        fn reads_request_body(&self) -> bool {
            self.$logger.reads_request_body()
        }

        fn observes_response_body(&self) -> bool {
            self.$logger.observes_response_body()
        }

        fn body_filter(
            &self,
            ctx: &mut $crate::__plugin::Ctx<'_>,
            chunk: &mut $crate::__plugin::Chunk<'_>,
        ) -> $crate::__plugin::Decision {
            self.$logger.observe(ctx, chunk.data());
            $crate::__plugin::Decision::Continue
        }
    };
}

#[cfg(test)]
mod tests;
