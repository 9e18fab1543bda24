//! Wiring: config file -> source -> snapshot builder -> proxy listeners.
//! Also the checks behind `--test-config`.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;

use crate::admin;
use crate::config::{seconds, GatewayConfig, Provider};
use crate::proxy::workers::{self, WorkerError, WorkerSpec};
use crate::proxy::Limits;
use crate::snapshot::{Live, Snapshot, SnapshotBuilder};
use crate::source::etcd::EtcdSource;
use crate::source::{ConfigSource, FileSource, SourceEvent};

/// Why the gateway could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The async runtime could not be built.
    #[error("cannot start the runtime: {0}")]
    Runtime(std::io::Error),
    /// A worker could not start or bind its addresses.
    #[error(transparent)]
    Workers(#[from] WorkerError),
    /// The config source or builder thread could not be started.
    #[error("cannot start the config source: {0}")]
    Source(std::io::Error),
    /// The Admin API could not bind its address.
    #[error("cannot start the Admin API: {0}")]
    Admin(std::io::Error),
    /// The first configuration never arrived.
    #[error("the config source sent nothing within {0:?}")]
    NoConfig(Duration),
    /// The TLS listener's certificate files or session ticket key failed.
    #[error("cannot set up gateway.tls: {0}")]
    Tls(String),
    /// `gateway.ssl_trusted_certificate` could not be read or holds no CA.
    #[error("gateway.ssl_trusted_certificate: {0}")]
    Trust(String),
    /// The access log's file could not be opened.
    #[error("cannot start gateway.access_log: {0}")]
    AccessLog(String),
}

/// The file source that `config` names.
pub fn file_source(config: &GatewayConfig) -> FileSource {
    FileSource::new(
        config.config.file.clone(),
        Duration::from_millis(config.config.watch_interval_ms),
    )
}

/// Checks `config.yaml` at `path` and the standalone file it names: the
/// file, every object, and every reference between objects. Returns a
/// summary line when all is well, else every problem found.
pub fn test_config(path: &Path) -> Result<String, Vec<String>> {
    let config = GatewayConfig::load(path).map_err(|e| vec![e.to_string()])?;
    if let Some(file) = &config.gateway.ssl_trusted_certificate {
        crate::upstream::trust::read_cas(file)
            .map_err(|e| vec![StartError::Trust(e).to_string()])?;
    }
    if config.config.provider == Provider::Etcd {
        // Objects live in etcd; the watch checks each one as it arrives.
        return Ok(format!(
            "{}: ok; objects come from etcd {:?} under {}",
            path.display(),
            config.etcd.endpoints,
            config.etcd.prefix
        ));
    }
    // Plugins first: objects are checked against their schemas.
    let plugins = crate::plugin_host::PluginHost::start(&config.plugins);
    let parsed = file_source(&config)
        .read()
        .map_err(|e| vec![e.to_string()])?;
    let mut problems: Vec<String> = parsed.errors.iter().map(ToString::to_string).collect();
    let items: Vec<_> = parsed.items.into_iter().map(|(item, _)| item).collect();
    let count = items.len();
    let live: Live = Arc::new(ArcSwap::from_pointee(Snapshot::empty()));
    let mut builder = SnapshotBuilder::new(live.clone());
    if let Some(host) = plugins {
        builder.set_plugin_host(host);
    }
    problems.extend(
        builder
            .apply(SourceEvent::Full(items))
            .iter()
            .map(ToString::to_string),
    );
    if problems.is_empty() {
        Ok(format!(
            "{}: ok; {}: {count} objects, {} routes served",
            path.display(),
            config.config.file.display(),
            live.load().len()
        ))
    } else {
        Err(problems)
    }
}

/// Runs the gateway until SIGINT or SIGTERM.
pub fn run(config: GatewayConfig) -> Result<(), StartError> {
    let g = &config.gateway;
    // Before any upstream is built: their verifying configs share the roots.
    if let Some(file) = &g.ssl_trusted_certificate {
        let added = crate::upstream::trust::trust_file(file).map_err(StartError::Trust)?;
        tracing::info!(file = %file.display(), certificates = added, "trusting CA certificates for upstream tls.verify");
    }
    let access = g
        .access_log_settings()
        .map_err(|(_, e)| StartError::AccessLog(e))?;
    crate::access_log::start(access).map_err(StartError::AccessLog)?;
    let live: Live = Arc::new(ArcSwap::from_pointee(Snapshot::empty()));
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let mut builder = SnapshotBuilder::new(live.clone());
    // Plugins load before any object is decoded: decoding checks each
    // plugin's config against the loaded plugin's schema.
    let plugins = crate::plugin_host::PluginHost::start(&config.plugins);
    if let Some(host) = &plugins {
        if config.config.provider == Provider::Yaml {
            crate::plugin_host::reload_on_sighup(host.clone());
        }
        host.start_exporter(&config.plugins, client_limits(&config));
        builder.set_plugin_host(host.clone());
        // An upgraded plugin's users get new instances with the next
        // snapshot; requests in flight finish on the instances they hold.
        let upgrades = tx.clone();
        host.on_upgrade(move |names| {
            let _ = upgrades.send(SourceEvent::PluginsUpgraded(names));
        });
    }
    std::thread::Builder::new()
        .name("config-builder".into())
        .spawn(move || {
            while let Some(event) = rx.blocking_recv() {
                // Returning freed pages walks the heap: worth it after a
                // large load, not after each small change.
                let large = match &event {
                    SourceEvent::Changes(changes) => changes.len() >= crate::source::LARGE_LOAD,
                    SourceEvent::Full(_) | SourceEvent::PluginsUpgraded(_) => true,
                };
                builder.apply(event);
                if large {
                    crate::source::release_freed_memory();
                }
                let _ = ready_tx.send(());
            }
        })
        .map_err(StartError::Source)?;
    // Fields in etcd are encrypted (APISIX's data_encryption); never in the
    // standalone file. The keyring was checked when config.yaml was read.
    if config.config.provider == Provider::Etcd {
        crate::config::set_keyring(
            crate::config::Keyring::from_section(&config.data_encryption)
                .ok()
                .flatten(),
        );
    }
    let source: Box<dyn ConfigSource> = match config.config.provider {
        Provider::Etcd => Box::new(EtcdSource::new(config.etcd.clone())),
        Provider::Yaml => Box::new(file_source(&config)),
    };
    source.start(tx).map_err(StartError::Source)?;
    if config.admin.enabled(config.config.provider) {
        let backend = match config.config.provider {
            Provider::Etcd => admin::Backend::Etcd(config.etcd.clone()),
            Provider::Yaml => admin::Backend::File(config.config.file.clone()),
        };
        admin::start(&config.admin, backend, plugins, client_limits(&config))
            .map_err(StartError::Admin)?;
    }
    let wait = Duration::from_secs(30);
    ready_rx
        .recv_timeout(wait)
        .map_err(|_| StartError::NoConfig(wait))?;

    let connect = seconds(g.upstream_connect_timeout).unwrap_or(Duration::from_secs(60));
    let read = seconds(g.upstream_read_timeout).unwrap_or(Duration::from_secs(60));
    let spec = WorkerSpec {
        listen: g.listen.clone(),
        limits: client_limits(&config),
        connect_timeout: connect,
        default_timeout: connect + read,
        live,
        shutdown_timeout: seconds(g.shutdown_timeout).unwrap_or(Duration::from_secs(30)),
        max_uri_size: g.max_uri_size,
        trusted: g
            .trusted_addresses
            .iter()
            .filter_map(|a| radix_router::AddrRule::parse(a).ok())
            .collect(),
        https_port: config
            .plugins
            .redirect
            .https_port
            .or_else(|| g.tls.as_ref()?.listen.first().map(|a| a.port())),
        tls: match &g.tls {
            Some(section) => Some(Arc::new(
                crate::tls::TlsListener::new(section).map_err(StartError::Tls)?,
            )),
            None => None,
        },
    };
    let count = match g.worker_threads {
        0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
        n => n,
    };
    let workers = workers::start(count, &spec)?;
    // This thread only waits for the signal to stop.
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(StartError::Runtime)?
        .block_on(shutdown_signal());
    tracing::info!("stopping: no new connections; finishing requests in flight");
    workers.shutdown();
    tracing::info!("stopped");
    Ok(())
}

/// The client limits `gateway:` sets (checked when config.yaml was read).
fn client_limits(config: &GatewayConfig) -> Limits {
    let g = &config.gateway;
    let secs = |v: f64, default: u64| seconds(v).unwrap_or(Duration::from_secs(default));
    Limits {
        header_timeout: secs(g.header_read_timeout, 60),
        max_header_size: g.max_header_size,
        max_body_size: g.client_max_body_size,
        body_timeout: secs(g.client_body_timeout, 60),
        send_timeout: secs(g.send_timeout, 10),
        keepalive_timeout: seconds(g.keepalive_timeout),
        keepalive_requests: g.keepalive_requests,
        max_connections: g.max_connections,
        http2: g.http2,
        http1_server: g.http1_server,
    }
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
