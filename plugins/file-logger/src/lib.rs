//! `file-logger` (APISIX's plugin, priority 399): each request's log entry
//! ([`radixgate_log_entry`]) as one JSON line appended to `path`, for
//! requests `match` holds for (a vars expression; none: every request).
//!
//! ```json
//! "file-logger": {"path": "logs/file.log", "match": [["status", ">=", 500]]}
//! ```
//!
//! The log phase never writes: it hands the line to the instance's writer
//! thread ([`writer`]) over a bounded queue, and a line the queue cannot
//! take is dropped and counted. Logrotate: APISIX reopens its files on
//! SIGUSR1, which the host does not pass on to plugins (and a plugin
//! taking the signal for itself would take it from the gateway); the
//! writer instead reopens `path` when the file there is no longer the one
//! it holds open (another inode, or none), checked at most once a second,
//! so a renamed file is let go within a second of the next line.

mod config;
#[cfg(test)]
mod tests;
pub mod writer;

use radixgate_log_entry::{fields::METADATA_SCHEMA, Logger};
use radixgate_plugin::{export_plugin, ConfigError, Ctx, Decision, Host, Phase, Phases, Plugin};
use radixgate_plugin_vars_expr::Expr;

pub use config::{Config, SCHEMA};
use writer::Writer;

/// One config's logger and its file's writer.
pub struct FileLogger {
    logger: Logger,
    matches: Option<Expr>,
    writer: Writer,
}

impl Plugin for FileLogger {
    const NAME: &'static str = "file-logger";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const PRIORITY: i32 = 399;
    const PHASES: Phases = Phases::of(Phase::Rewrite).with(Phase::Log);
    const SCHEMA: &'static str = SCHEMA;
    const METADATA_SCHEMA: Option<&'static str> = Some(METADATA_SCHEMA);
    type Config = Config;

    fn new(config: Config, host: &Host) -> Result<Self, ConfigError> {
        let logger = Logger::new(&config.fields, host)?;
        let matches = config
            .r#match
            .as_ref()
            .map(|m| radixgate_plugin_vars_expr::parse(m, "match"))
            .transpose()?;
        if config.path.trim().is_empty() {
            return Err(ConfigError::field("path", "must not be empty"));
        }
        let writer = Writer::start(config.path.into(), host.clone())
            .map_err(|e| ConfigError::field("path", e))?;
        Ok(FileLogger {
            logger,
            matches,
            writer,
        })
    }

    radixgate_log_entry::logger_phases!(logger);

    fn log(&self, ctx: &mut Ctx<'_>) -> Decision {
        if self.matches.as_ref().is_some_and(|m| !m.eval(ctx)) {
            return Decision::Continue;
        }
        let mut line = self.logger.entry(ctx).to_string();
        line.push('\n');
        self.writer.send(line);
        Decision::Continue
    }
}

export_plugin!(FileLogger);
