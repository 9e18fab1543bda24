//! `udp-logger` (APISIX's plugin, priority 400): each request's log entry
//! ([`radixgate_log_entry`]) is handed to a batch processor of the host,
//! which sends each batch as one datagram of JSON (an array, or the bare
//! entry when `batch_max_size` is 1) to `host`:`port`. The log phase
//! returns at once; a send that fails is retried (`max_retry_count`) and
//! its lost entries counted, never delaying a request. As over UDP
//! anywhere, a datagram the sink never reads is not known to be lost.
//!
//! ```json
//! "udp-logger": {"host": "127.0.0.1", "port": 3000, "batch_max_size": 1, "name": "udp logger"}
//! ```

mod config;
#[cfg(test)]
mod tests;

use radixgate_log_entry::{fields::METADATA_SCHEMA, Logger};
use radixgate_plugin::{
    export_plugin, Batch, ConfigError, Ctx, Decision, Host, Phase, Phases, Plugin,
};

pub use config::{Config, SCHEMA};

/// One config's logger and batch processor.
pub struct UdpLogger {
    logger: Logger,
    batch: Batch,
}

impl Plugin for UdpLogger {
    const NAME: &'static str = "udp-logger";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const PRIORITY: i32 = 400;
    const PHASES: Phases = Phases::of(Phase::Rewrite).with(Phase::Log);
    const SCHEMA: &'static str = SCHEMA;
    const METADATA_SCHEMA: Option<&'static str> = Some(METADATA_SCHEMA);
    type Config = Config;

    fn new(config: Config, host: &Host) -> Result<Self, ConfigError> {
        let logger = Logger::new(&config.fields, host)?;
        let batch = host.batch(&config.batch_config()?).map_err(ConfigError)?;
        Ok(UdpLogger { logger, batch })
    }

    radixgate_log_entry::logger_phases!(logger);

    fn log(&self, ctx: &mut Ctx<'_>) -> Decision {
        // A full buffer drops the entry; the host counts it.
        self.batch.push(&self.logger.entry(ctx));
        Decision::Continue
    }
}

export_plugin!(UdpLogger);
