//! `syslog` (APISIX's plugin, priority 401): each request's log entry
//! ([`radixgate_log_entry`]) is framed as an RFC 5424 message, as APISIX
//! frames it (facility SYSLOG, severity INFO: `<46>1`, then the time in UTC
//! with milliseconds, the request's host, `apisix`, the process id, no
//! message id or structured data, the entry's JSON, `\n`), and handed to a
//! batch processor of the host, which sends a batch's messages one after
//! the other over a TCP connection of its own (`sock_type: tcp`, the
//! default; TLS when `tls`) or as one datagram (`udp`). The log phase
//! returns at once; a sink that is down is retried and its lost entries
//! counted, never delaying a request.
//!
//! ```json
//! "syslog": {"host": "127.0.0.1", "port": 5044, "sock_type": "udp", "batch_max_size": 1}
//! ```
//!
//! Differs from APISIX: `flush_limit`, `drop_limit` and `pool_size` (of
//! its socket library) are accepted and not used; the batch processor's
//! `batch_max_size` and `max_pending_entries` bound what is held instead,
//! and each batch has a connection of its own.

mod config;
mod rfc5424;
#[cfg(test)]
mod tests;

use radixgate_log_entry::{fields::METADATA_SCHEMA, Logger};
use radixgate_plugin::vars::VarName;
use radixgate_plugin::{
    export_plugin, Batch, ConfigError, Ctx, Decision, Host, Phase, Phases, Plugin,
};

pub use config::{Config, SCHEMA};

/// One config's logger and batch processor.
pub struct Syslog {
    logger: Logger,
    batch: Batch,
    host: Host,
    pid: u32,
}

impl Plugin for Syslog {
    const NAME: &'static str = "syslog";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const PRIORITY: i32 = 401;
    const PHASES: Phases = Phases::of(Phase::Rewrite).with(Phase::Log);
    const SCHEMA: &'static str = SCHEMA;
    const METADATA_SCHEMA: Option<&'static str> = Some(METADATA_SCHEMA);
    type Config = Config;

    fn new(config: Config, host: &Host) -> Result<Self, ConfigError> {
        let logger = Logger::new(&config.fields, host)?;
        let batch = host.batch(&config.batch_config()?).map_err(ConfigError)?;
        Ok(Syslog {
            logger,
            batch,
            host: host.clone(),
            pid: std::process::id(),
        })
    }

    radixgate_log_entry::logger_phases!(logger);

    fn log(&self, ctx: &mut Ctx<'_>) -> Decision {
        let entry = self.logger.entry(ctx).to_string();
        let hostname = VarName::parse("host").resolve(ctx);
        let frame = rfc5424::frame(
            self.host.now_unix_ms(),
            hostname.as_deref().unwrap_or(""),
            self.pid,
            &entry,
        );
        // Raw text (the batch config's `concat: raw`); a full buffer drops
        // it, which the host counts.
        self.batch.push_json(&frame);
        Decision::Continue
    }
}

export_plugin!(Syslog);
