//! The writer of one file-logger instance: a thread owning the file,
//! fed lines over a bounded queue, so that no worker thread ever waits on
//! the disk.
//!
//! - The file is opened for appending (created when missing) at the first
//!   line, and reopened when the file at `path` is no longer the one held
//!   open (another device or inode, or no file: logrotate renamed it),
//!   checked at most once a [`CHECK_EVERY`].
//! - A line the queue cannot take ([`QUEUE`] lines wait at most), or one
//!   that could not be written (the file cannot be opened or written), is
//!   dropped and counted in `radixgate_file_logger_dropped_total{path,
//!   reason}` (`queue_full`, `not_written`); a failure is logged with the
//!   path and the cause, at most once a [`CHECK_EVERY`].
//! - Lines are gathered in a buffer written whenever the queue is empty
//!   or it holds [`FLUSH_AT`] bytes, always whole lines in one `write_all`
//!   on a file opened with `O_APPEND`, so that two instances logging to
//!   one path do not cut each other's lines. Dropping the [`Writer`] (the instance is replaced or removed)
//!   lets the thread write what is queued and end.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::time::{Duration, Instant};

use radixgate_plugin::{Host, LogLevel, MetricId};

/// Lines waiting for the writer at most.
pub const QUEUE: usize = 10_000;

/// How often the file at `path` is compared with the one held open.
pub const CHECK_EVERY: Duration = Duration::from_secs(1);

/// Bytes gathered at most before they are written.
pub const FLUSH_AT: usize = 64 * 1024;

const DROPPED: &str = "radixgate_file_logger_dropped_total";

/// The log phase's end of the queue.
pub struct Writer {
    lines: SyncSender<String>,
    counter: Option<MetricId>,
    host: Host,
    path: String,
}

impl Writer {
    /// Starts the writer thread of `path`; an error when the thread cannot
    /// be started.
    pub fn start(path: PathBuf, host: Host) -> Result<Writer, String> {
        let (lines, queue) = mpsc::sync_channel(QUEUE);
        let counter = host
            .register_counter(
                DROPPED,
                "Log lines file-logger dropped, by file and reason.",
                &["path", "reason"],
            )
            .ok();
        let shown = path.display().to_string();
        let mut file = Sink {
            path,
            host: host.clone(),
            counter,
            open: None,
            checked: None,
            complained: None,
        };
        std::thread::Builder::new()
            .name("file-logger".into())
            .spawn(move || file.run(queue))
            .map_err(|e| format!("cannot start the writer thread: {e}"))?;
        Ok(Writer {
            lines,
            counter,
            host,
            path: shown,
        })
    }

    /// Queues `line` (ending in `\n`); never waits. A full queue drops it.
    pub fn send(&self, line: String) {
        if let Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) =
            self.lines.try_send(line)
        {
            count(&self.host, self.counter, &self.path, "queue_full");
        }
    }
}

fn count(host: &Host, counter: Option<MetricId>, path: &str, reason: &str) {
    if let Some(id) = counter {
        host.counter_add(id, &[path.into(), reason.into()], 1);
    }
}

/// A file open for appending, with its device and inode and the lines
/// not written yet.
struct Open {
    file: File,
    id: (u64, u64),
    pending: Vec<u8>,
}

impl Open {
    fn push(&mut self, line: &str) -> std::io::Result<()> {
        if !self.pending.is_empty() && self.pending.len() + line.len() > FLUSH_AT {
            self.flush()?;
        }
        self.pending.extend_from_slice(line.as_bytes());
        Ok(())
    }

    /// Writes what is pending (dropped, when the write fails).
    fn flush(&mut self) -> std::io::Result<()> {
        let written = self.file.write_all(&self.pending);
        self.pending.clear();
        written
    }

    fn lines_pending(&self) -> usize {
        self.pending.iter().filter(|&&b| b == b'\n').count()
    }
}

/// The thread's end: the file and when it was last checked.
struct Sink {
    path: PathBuf,
    host: Host,
    counter: Option<MetricId>,
    /// The file held open.
    open: Option<Open>,
    checked: Option<Instant>,
    complained: Option<Instant>,
}

impl Sink {
    fn run(&mut self, queue: Receiver<String>) {
        loop {
            match queue.recv_timeout(CHECK_EVERY) {
                Ok(line) => {
                    self.write(&line);
                    while let Ok(line) = queue.try_recv() {
                        self.write(&line);
                    }
                    self.flush();
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => {
                    self.flush();
                    return;
                }
            }
        }
    }

    fn write(&mut self, line: &str) {
        self.check();
        let Some(open) = &mut self.open else {
            let message = format!(
                "cannot write to {}: the file is not open",
                self.path.display()
            );
            self.fail(&message, 1);
            return;
        };
        let lost = open.lines_pending() + 1;
        if let Err(e) = open.push(line) {
            self.lost(&e, lost);
        }
    }

    fn flush(&mut self) {
        if let Some(open) = &mut self.open {
            let lost = open.lines_pending();
            if let Err(e) = open.flush() {
                self.lost(&e, lost);
            }
        }
    }

    /// A write failed: the file is let go (opened again at the next line)
    /// and the lines it held are counted.
    fn lost(&mut self, e: &std::io::Error, lines: usize) {
        self.open = None;
        self.checked = None;
        let message = format!("cannot write to {}: {e}", self.path.display());
        self.fail(&message, lines);
    }

    /// Opens the file, or reopens it when `path` names another one, at
    /// most once a [`CHECK_EVERY`] (at once when none is open and none
    /// was tried yet).
    fn check(&mut self) {
        let now = Instant::now();
        if self
            .checked
            .is_some_and(|t| now.duration_since(t) < CHECK_EVERY)
        {
            return;
        }
        self.checked = Some(now);
        let current = std::fs::metadata(&self.path)
            .ok()
            .map(|m| (m.dev(), m.ino()));
        if let (Some(open), Some(now_there)) = (&self.open, current) {
            if open.id == now_there {
                return;
            }
        }
        self.flush();
        self.open = None;
        let opened = OpenOptions::new()
            .append(true)
            .create(true)
            .open(&self.path)
            .and_then(|f| Ok((f.metadata()?, f)));
        match opened {
            Ok((meta, file)) => {
                self.open = Some(Open {
                    file,
                    id: (meta.dev(), meta.ino()),
                    pending: Vec::new(),
                });
            }
            Err(e) => {
                let message = format!("cannot open {} for appending: {e}", self.path.display());
                self.fail(&message, 0);
            }
        }
    }

    /// Counts `lines` lost and logs why, at most once a [`CHECK_EVERY`].
    fn fail(&mut self, message: &str, lines: usize) {
        if let Some(id) = self.counter.filter(|_| lines > 0) {
            let path = self.path.display().to_string();
            let labels = [path.as_str().into(), "not_written".into()];
            self.host.counter_add(id, &labels, lines as u64);
        }
        let now = Instant::now();
        if self
            .complained
            .is_none_or(|t| now.duration_since(t) >= CHECK_EVERY)
        {
            self.complained = Some(now);
            self.host
                .log(LogLevel::Error, &format!("{message}; the line is dropped"));
        }
    }
}
