//! The access log's writer: one thread owning the file (or stdout), fed
//! whole lines over a bounded queue, so that no worker ever waits on the
//! disk.
//!
//! - A line the queue cannot take is dropped and counted ([`dropped`]),
//!   and so is a line whose write failed.
//! - Lines waiting together are written in one `write_all` on a file
//!   opened for appending (created when missing); the thread polls the
//!   queue (every 2 to 50 ms), so that a worker's send is a few atomic
//!   operations and never a wake-up.
//! - On SIGUSR1 (logrotate's `postrotate kill -USR1`) the file is opened
//!   again by its path; the old one is kept when that fails.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender, TryRecvError, TrySendError};
use std::time::{Duration, Instant};

/// Where lines go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// The process's standard output.
    Stdout,
    /// A file, appended to.
    File(PathBuf),
}

/// Bytes gathered at most before they are written.
const FLUSH_AT: usize = 64 * 1024;

/// How long the gateway's start waits for the file to open: a FIFO with
/// no reader yet blocks its opening, and the gateway starts regardless.
const OPEN_WAIT: Duration = Duration::from_secs(2);

/// The writer's shortest and longest sleep between two looks at the
/// queue: a line waits at most [`POLL_MAX`] to be written (10000 lines
/// at 100k requests a second fill the queue in 100 ms).
const POLL_MIN: Duration = Duration::from_millis(2);
const POLL_MAX: Duration = Duration::from_millis(50);

/// How often a failed write is logged at most.
const COMPLAIN_EVERY: Duration = Duration::from_secs(1);

static DROPPED: AtomicU64 = AtomicU64::new(0);
static REOPEN: AtomicBool = AtomicBool::new(false);

/// Access lines dropped: the queue was full, or the write failed.
pub fn dropped() -> u64 {
    DROPPED.load(Ordering::Relaxed)
}

/// The workers' end of the queue.
#[derive(Debug)]
pub struct Writer {
    lines: SyncSender<String>,
}

impl Writer {
    /// Starts the writer thread of `target` with a queue of `queue` lines.
    /// An error when the thread cannot start or the file cannot be opened
    /// (a file whose opening still waits after [`OPEN_WAIT`] is left to
    /// the thread).
    pub fn start(target: Target, queue: usize) -> Result<Writer, String> {
        let (lines, rx) = mpsc::sync_channel(queue);
        let (opened_tx, opened_rx) = mpsc::channel();
        std::thread::Builder::new()
            .name("access-log".into())
            .spawn(move || {
                let out = match Out::open(&target) {
                    Ok(out) => {
                        let _ = opened_tx.send(Ok(()));
                        out
                    }
                    Err(e) => {
                        let _ = opened_tx.send(Err(e));
                        return;
                    }
                };
                Sink {
                    target,
                    out,
                    pending: Vec::new(),
                    complained: None,
                }
                .run(&rx);
            })
            .map_err(|e| format!("cannot start the access log's thread: {e}"))?;
        match opened_rx.recv_timeout(OPEN_WAIT) {
            Ok(Err(e)) => Err(e),
            Err(RecvTimeoutError::Disconnected) => {
                Err("the access log's thread ended at once".to_owned())
            }
            Ok(Ok(())) => Ok(Writer { lines }),
            Err(RecvTimeoutError::Timeout) => {
                tracing::warn!(
                    "the access log's file is still being opened (a FIFO without reader?); \
                     lines are queued meanwhile"
                );
                Ok(Writer { lines })
            }
        }
    }

    /// Queues `line` (ending in `\n`); never waits. A full queue drops it
    /// (counted).
    pub fn send(&self, line: String) {
        if let Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) =
            self.lines.try_send(line)
        {
            DROPPED.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Asks the thread to open the file again (SIGUSR1), at its next look
    /// at the queue.
    pub fn reopen(&self) {
        REOPEN.store(true, Ordering::Release);
    }
}

/// The open output.
enum Out {
    Stdout,
    File(File),
}

impl Out {
    fn open(target: &Target) -> Result<Out, String> {
        match target {
            Target::Stdout => Ok(Out::Stdout),
            Target::File(path) => OpenOptions::new()
                .append(true)
                .create(true)
                .open(path)
                .map(Out::File)
                .map_err(|e| format!("cannot open the access log {}: {e}", path.display())),
        }
    }

    fn write_all(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        match self {
            Out::Stdout => {
                let mut out = std::io::stdout().lock();
                out.write_all(bytes)?;
                out.flush()
            }
            Out::File(f) => f.write_all(bytes),
        }
    }
}

/// The thread's end.
struct Sink {
    target: Target,
    out: Out,
    pending: Vec<u8>,
    complained: Option<Instant>,
}

impl Sink {
    /// Polls the queue rather than waiting on it, so that a worker's send
    /// never has to wake this thread (no system call per line): what is
    /// queued is written, then the thread sleeps [`POLL_MIN`], doubling
    /// while nothing comes, up to [`POLL_MAX`].
    fn run(&mut self, rx: &Receiver<String>) {
        let mut nap = POLL_MIN;
        loop {
            let mut got = false;
            loop {
                match rx.try_recv() {
                    Ok(line) => {
                        got = true;
                        self.pending.extend_from_slice(line.as_bytes());
                        if self.pending.len() >= FLUSH_AT {
                            self.flush();
                        }
                    }
                    Err(TryRecvError::Empty) => break,
                    Err(TryRecvError::Disconnected) => {
                        self.flush();
                        return;
                    }
                }
            }
            self.reopen_if_asked();
            self.flush();
            nap = if got {
                POLL_MIN
            } else {
                (nap * 2).min(POLL_MAX)
            };
            std::thread::sleep(nap);
        }
    }

    fn reopen_if_asked(&mut self) {
        if !REOPEN.swap(false, Ordering::AcqRel) || self.target == Target::Stdout {
            return;
        }
        match Out::open(&self.target) {
            Ok(out) => {
                self.flush();
                self.out = out;
                tracing::info!("access log reopened (SIGUSR1)");
            }
            Err(e) => tracing::error!("{e}; writing on to the file held open"),
        }
    }

    fn flush(&mut self) {
        if self.pending.is_empty() {
            return;
        }
        if let Err(e) = self.out.write_all(&self.pending) {
            let lost = self.pending.iter().filter(|&&b| b == b'\n').count();
            DROPPED.fetch_add(lost as u64, Ordering::Relaxed);
            let now = Instant::now();
            if self
                .complained
                .is_none_or(|t| now.duration_since(t) >= COMPLAIN_EVERY)
            {
                self.complained = Some(now);
                tracing::error!("cannot write the access log: {e}; {lost} lines dropped");
            }
        }
        self.pending.clear();
    }
}

/// Opens the access log again on each SIGUSR1 (a thread of its own
/// waits for the signal; the handler is in place when this returns).
/// Without it, SIGUSR1 would end the process.
pub fn reopen_on_sigusr1(writer: Option<&'static Writer>) {
    use tokio::signal::unix::{signal, SignalKind};
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            tracing::warn!("cannot listen for SIGUSR1: {e}");
            return;
        }
    };
    let usr1 = {
        let _in = rt.enter();
        signal(SignalKind::user_defined1())
    };
    let mut usr1 = match usr1 {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!("cannot listen for SIGUSR1: {e}");
            return;
        }
    };
    let started = std::thread::Builder::new()
        .name("access-log-signal".into())
        .spawn(move || {
            rt.block_on(async {
                while usr1.recv().await.is_some() {
                    if let Some(w) = writer {
                        w.reopen();
                    }
                }
            });
        });
    if let Err(e) = started {
        tracing::warn!("cannot listen for SIGUSR1: {e}");
    }
}
