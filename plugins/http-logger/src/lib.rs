//! `http-logger` (APISIX's plugin, priority 410): each request's log entry
//! ([`radixgate_log_entry`]) is handed to a batch processor of the host,
//! which POSTs the batches to `uri` as JSON arrays; the log phase returns
//! at once, and a sink that is down is retried (`max_retry_count`) and its
//! lost entries counted, never delaying a request.
//!
//! ```json
//! "http-logger": {"uri": "http://127.0.0.1:9000/logs", "batch_max_size": 100,
//!                 "auth_header": "Bearer t0k3n", "log_format": {"host": "$host"}}
//! ```
//!
//! As APISIX: `concat_method: "new_line"` sends the entries one a line
//! (`text/plain`), and with `batch_max_size` 1 each entry goes as the bare
//! object rather than an array.

mod config;
#[cfg(test)]
mod tests;

use radixgate_log_entry::{fields::METADATA_SCHEMA, Logger};
use radixgate_plugin::{
    export_plugin, Batch, ConfigError, Ctx, Decision, Host, Phase, Phases, Plugin,
};

pub use config::{Config, SCHEMA};

/// One config's logger and batch processor.
pub struct HttpLogger {
    logger: Logger,
    batch: Batch,
}

impl Plugin for HttpLogger {
    const NAME: &'static str = "http-logger";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const PRIORITY: i32 = 410;
    const PHASES: Phases = Phases::of(Phase::Rewrite).with(Phase::Log);
    const SCHEMA: &'static str = SCHEMA;
    const METADATA_SCHEMA: Option<&'static str> = Some(METADATA_SCHEMA);
    type Config = Config;

    fn new(config: Config, host: &Host) -> Result<Self, ConfigError> {
        let logger = Logger::new(&config.fields, host)?;
        let batch = host.batch(&config.batch_config()).map_err(ConfigError)?;
        Ok(HttpLogger { logger, batch })
    }

    radixgate_log_entry::logger_phases!(logger);

    fn log(&self, ctx: &mut Ctx<'_>) -> Decision {
        // A full buffer drops the entry; the host counts it.
        self.batch.push(&self.logger.entry(ctx));
        Decision::Continue
    }
}

export_plugin!(HttpLogger);
