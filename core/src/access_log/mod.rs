//! The access log (`gateway.access_log`, `gateway.access_log_format`,
//! `gateway.access_log_buffer`): one line per request in an nginx format
//! (APISIX's by default), written to a file or stdout by a thread of its
//! own.
//!
//! A request captures what the format reads of it when it arrives
//! ([`begin`]); its line is made when its response head is handed over
//! ([`record`]) and queued for the writer; a full queue drops the line
//! (counted in `radixgate_access_log_dropped_total`). Times are the
//! response head's: `request_time` runs from arrival to it, and
//! `body_bytes_sent` is the body's length when the head knows it
//! (`Content-Length`, else 0). SIGUSR1 reopens the file (logrotate).

mod format;
mod line;
mod writer;

use std::sync::OnceLock;

use http::Request;

pub use format::{Format, APISIX_FORMAT};
pub use line::{AccessLine, Facts};
pub use writer::{dropped, Target};

use writer::Writer;

/// The access log of the process: its format and writer.
#[derive(Debug)]
struct AccessLog {
    format: Format,
    writer: Writer,
}

static LOG: OnceLock<AccessLog> = OnceLock::new();

/// The settings of the access log, as `config.yaml` gives them.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// Where lines go; `None`: `off`.
    pub target: Option<Target>,
    /// The format.
    pub format: Format,
    /// Lines waiting for the writer at most.
    pub buffer: usize,
}

impl Settings {
    /// Reads `gateway.access_log` (a path, `stdout` or `off`) and
    /// `gateway.access_log_format`; an error names the field.
    pub fn parse(path: &str, format: &str, buffer: usize) -> Result<Settings, (String, String)> {
        let target = match path.trim() {
            "off" => None,
            "stdout" => Some(Target::Stdout),
            "" => {
                return Err((
                    "gateway.access_log".into(),
                    "expected a file path, stdout or off".into(),
                ))
            }
            p => Some(Target::File(p.into())),
        };
        let format =
            Format::parse(format).map_err(|e| ("gateway.access_log_format".to_owned(), e))?;
        if buffer == 0 {
            return Err((
                "gateway.access_log_buffer".into(),
                "expected at least 1 line".into(),
            ));
        }
        Ok(Settings {
            target,
            format,
            buffer,
        })
    }
}

/// Starts the access log of the process as `settings` say (once; a second
/// call changes nothing), and listens for SIGUSR1 to reopen it. An error
/// when its file cannot be opened.
pub fn start(settings: Settings) -> Result<(), String> {
    if !settings.format.unknown.is_empty() {
        tracing::warn!(
            "gateway.access_log_format: no variable is named {}; logged as \"-\"",
            settings.format.unknown.join(", ")
        );
    }
    let Some(target) = settings.target else {
        writer::reopen_on_sigusr1(None);
        return Ok(());
    };
    let writer = Writer::start(target, settings.buffer)?;
    let _ = LOG.set(AccessLog {
        format: settings.format,
        writer,
    });
    writer::reopen_on_sigusr1(LOG.get().map(|l| &l.writer));
    Ok(())
}

/// What the access line keeps of `req`, arriving now; `None` when the
/// access log is off.
pub fn begin<B>(req: &Request<B>) -> Option<AccessLine> {
    let log = LOG.get()?;
    Some(AccessLine::new(
        &log.format,
        req.method(),
        req.uri(),
        req.version(),
        req.headers(),
    ))
}

/// Queues the line of the request `facts` describe.
pub fn record(facts: &Facts<'_>) {
    if let Some(log) = LOG.get() {
        let mut out = String::with_capacity(256);
        line::render(&log.format, facts, &mut out);
        log.writer.send(out);
    }
}
