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

use super::{serve, Limits, Shared};
use crate::snapshot::Live;
use crate::upstream::UpstreamClient;

/// What every worker needs.
#[derive(Debug, Clone)]
pub struct WorkerSpec {
    /// Addresses to listen on (each worker binds each one).
    pub listen: Vec<SocketAddr>,
    /// Limits on clients.
    pub limits: Limits,
    /// Time to connect to a node.
    pub connect_timeout: Duration,
    /// Time budget for a node's response head when route and upstream set none.
    pub default_timeout: Duration,
    /// The current snapshot.
    pub live: Live,
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
/// or the first error. The workers run until the process exits.
pub fn start(count: usize, spec: &WorkerSpec) -> Result<(), WorkerError> {
    let mut ready = Vec::with_capacity(count);
    for worker in 0..count.max(1) {
        let (tx, rx) = std::sync::mpsc::channel();
        let spec = spec.clone();
        std::thread::Builder::new()
            .name(format!("worker-{worker}"))
            .spawn(move || run(worker, spec, tx))
            .map_err(|source| WorkerError::Start { worker, source })?;
        ready.push((worker, rx));
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
    Ok(())
}

fn run(worker: usize, spec: WorkerSpec, ready: std::sync::mpsc::Sender<Result<(), WorkerError>>) {
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
        for &addr in &spec.listen {
            match bind(addr) {
                Ok(l) => listeners.push(l),
                Err(source) => {
                    let _ = ready.send(Err(WorkerError::Listen { addr, source }));
                    return;
                }
            }
        }
        let shared = Arc::new(Shared {
            live: spec.live,
            client: UpstreamClient::new(spec.connect_timeout),
            default_timeout: spec.default_timeout,
        });
        for l in listeners {
            tokio::spawn(serve(l, shared.clone(), spec.limits));
        }
        let _ = ready.send(Ok(()));
        std::future::pending::<()>().await;
    });
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
