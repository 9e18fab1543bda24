//! Worker threads: one current-thread tokio runtime per worker, each with
//! its own listening sockets (`SO_REUSEPORT`: the kernel spreads new
//! connections over the workers) and its own upstream pool, so that no
//! request crosses threads and no pool lock is shared. The live snapshot is
//! the one thing all workers read.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, TcpSocket};
use tokio::sync::{mpsc, watch};

use super::{serve, Limits, WorkerContext};
use crate::snapshot::Live;
use crate::tls::TlsListener;
use crate::upstream::{Timeouts, UpstreamClient};

/// What every worker needs.
#[derive(Debug, Clone)]
pub struct WorkerSpec {
    /// Addresses to listen on (each worker binds each one).
    pub listen: Vec<SocketAddr>,
    /// Limits on clients.
    pub limits: Limits,
    /// Time to connect to a node.
    pub connect_timeout: Duration,
    /// Time to connect plus time to read a node's response head, when
    /// route and upstream set no `timeout` (the read part also bounds the
    /// send and each wait between body chunks).
    pub default_timeout: Duration,
    /// The current snapshot.
    pub live: Live,
    /// How long connections may take to finish after the stop signal.
    pub shutdown_timeout: Duration,
    /// Longest request target; longer gets 414.
    pub max_uri_size: usize,
    /// Clients whose `X-Forwarded-*` and `X-Real-IP` are believed.
    pub trusted: Vec<radix_router::AddrRule>,
    /// The HTTPS listener (`gateway.tls`), if any.
    pub tls: Option<Arc<TlsListener>>,
    /// The port redirect's `http_to_https` names
    /// (`plugins.redirect.https_port`, else the TLS listener's first).
    pub https_port: Option<u16>,
}

/// The running workers.
#[derive(Debug)]
pub struct Workers {
    stop: watch::Sender<bool>,
    done: Vec<std::sync::mpsc::Receiver<()>>,
    grace: Duration,
}

impl Workers {
    /// Stops accepting, lets requests in flight finish (at most the
    /// shutdown timeout), and returns when every worker is done.
    pub fn shutdown(self) {
        let _ = self.stop.send(true);
        let deadline = std::time::Instant::now() + self.grace + Duration::from_secs(1);
        for done in self.done {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            let _ = done.recv_timeout(left);
        }
    }
}

/// Why a worker could not start.
#[derive(Debug, thiserror::Error)]
pub enum WorkerError {
    /// The worker's thread or runtime could not be created.
    #[error("cannot start worker {worker}: {source}")]
    Start {
        /// Which worker.
        worker: usize,
        /// Why.
        source: io::Error,
    },
    /// An address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: io::Error,
    },
}

/// Starts `count` workers; returns once every one listens on every address,
/// or the first error. The workers run until [`Workers::shutdown`].
pub fn start(count: usize, spec: &WorkerSpec) -> Result<Workers, WorkerError> {
    let (stop, stop_rx) = watch::channel(false);
    let mut ready = Vec::with_capacity(count);
    let mut done = Vec::with_capacity(count);
    for worker in 0..count.max(1) {
        let (tx, rx) = std::sync::mpsc::channel();
        let (done_tx, done_rx) = std::sync::mpsc::channel();
        let (spec, stop_rx) = (spec.clone(), stop_rx.clone());
        std::thread::Builder::new()
            .name(format!("worker-{worker}"))
            .spawn(move || run(worker, spec, tx, stop_rx, done_tx))
            .map_err(|source| WorkerError::Start { worker, source })?;
        ready.push((worker, rx));
        done.push(done_rx);
    }
    for (worker, rx) in ready {
        match rx.recv() {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return Err(e),
            Err(_) => {
                return Err(WorkerError::Start {
                    worker,
                    source: io::Error::other("worker stopped while starting"),
                })
            }
        }
    }
    for addr in &spec.listen {
        tracing::info!(%addr, workers = count.max(1), "proxy listening");
    }
    for addr in spec.tls.iter().flat_map(|t| &t.listen) {
        tracing::info!(%addr, workers = count.max(1), "proxy listening (TLS)");
    }
    Ok(Workers {
        stop,
        done,
        grace: spec.shutdown_timeout,
    })
}

fn run(
    worker: usize,
    spec: WorkerSpec,
    ready: std::sync::mpsc::Sender<Result<(), WorkerError>>,
    mut stop: watch::Receiver<bool>,
    done: std::sync::mpsc::Sender<()>,
) {
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(source) => {
            let _ = ready.send(Err(WorkerError::Start { worker, source }));
            return;
        }
    };
    rt.block_on(async move {
        let mut listeners = Vec::with_capacity(spec.listen.len());
        let tls_addrs = spec
            .tls
            .iter()
            .flat_map(|t| t.listen.iter().map(|a| (*a, Some(t.clone()))));
        let addrs = spec.listen.iter().map(|a| (*a, None)).chain(tls_addrs);
        for (addr, tls) in addrs {
            match bind(addr) {
                Ok(l) => listeners.push((l, tls)),
                Err(source) => {
                    let _ = ready.send(Err(WorkerError::Listen { addr, source }));
                    return;
                }
            }
        }
        let read = spec.default_timeout.saturating_sub(spec.connect_timeout);
        let context = Arc::new(WorkerContext {
            live: spec.live,
            client: UpstreamClient::new(),
            default_timeouts: Timeouts {
                connect: spec.connect_timeout,
                send: read,
                read,
            },
            max_uri_size: spec.max_uri_size,
            limits: spec.limits,
            trusted: spec.trusted,
            https_port: spec.https_port.map(|p| Arc::from(p.to_string())),
            stopping: tokio::sync::Notify::new(),
        });
        let (alive, mut all_done) = mpsc::channel::<()>(1);
        for (l, tls) in listeners {
            let task = serve(
                l,
                context.clone(),
                spec.limits,
                tls,
                stop.clone(),
                alive.clone(),
            );
            tokio::spawn(task);
        }
        drop(alive);
        let _ = ready.send(Ok(()));
        super::stopped(&mut stop).await;
        context.stopping.notify_waiters();
        // Every connection holds a sender: `recv` yields `None` when all ended.
        let drained = tokio::time::timeout(spec.shutdown_timeout, all_done.recv()).await;
        if drained.is_err() {
            tracing::warn!(worker, "connections still open after the shutdown timeout");
        }
    });
    let _ = done.send(());
}

/// A listening socket that other workers of this process may bind too.
fn bind(addr: SocketAddr) -> io::Result<TcpListener> {
    let socket = match addr {
        SocketAddr::V4(_) => TcpSocket::new_v4()?,
        SocketAddr::V6(_) => TcpSocket::new_v6()?,
    };
    socket.set_reuseaddr(true)?;
    #[cfg(unix)]
    socket.set_reuseport(true)?;
    socket.set_nodelay(true)?;
    socket.bind(addr)?;
    socket.listen(1024)
}
