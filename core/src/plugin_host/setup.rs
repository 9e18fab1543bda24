//! Starting the plugin host from `conf/config.yaml`'s `plugins:` section:
//! load the directory, install the host as the config module's plugin
//! catalog, and reload on demand (SIGHUP in standalone mode).

use std::path::PathBuf;
use std::sync::Arc;

use super::chain::PluginHost;
use super::registry::{LoadReport, PluginRegistry};
use super::services::GatewayServices;
use crate::config::{set_plugin_catalog, PluginsSection};

impl PluginHost {
    /// The host `section` asks for, its directory loaded and installed as
    /// the config module's catalog; `None` when `plugins.dir` is not set.
    pub fn start(section: &PluginsSection) -> Option<Arc<PluginHost>> {
        let dir = section.dir.as_ref()?;
        let host = Arc::new(PluginHost {
            registry: Arc::new(PluginRegistry::new(section.enabled.clone())),
            services: GatewayServices::default(),
        });
        let report = host.registry.load_dir(dir);
        tracing::info!(
            dir = %dir.display(),
            loaded = ?report.loaded,
            refused = report.refused.len(),
            "plugins loaded"
        );
        set_plugin_catalog(host.clone());
        Some(host)
    }

    /// Loads files of `dir` not loaded before (libraries are never unloaded).
    pub fn reload(&self, dir: &std::path::Path) -> LoadReport {
        let report = self.registry.load_dir(dir);
        tracing::info!(dir = %dir.display(), loaded = ?report.loaded,
            refused = report.refused.len(), "plugin directory reloaded");
        report
    }
}

/// Reloads `dir` into `host` on each SIGHUP, on a thread of its own.
pub fn reload_on_sighup(host: Arc<PluginHost>, dir: PathBuf) {
    #[cfg(unix)]
    {
        let spawned = std::thread::Builder::new()
            .name("plugin-reload".into())
            .spawn(move || {
                let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                else {
                    return;
                };
                rt.block_on(async move {
                    use tokio::signal::unix::{signal, SignalKind};
                    let Ok(mut hup) = signal(SignalKind::hangup()) else {
                        tracing::warn!("cannot listen for SIGHUP; plugin reload by signal is off");
                        return;
                    };
                    while hup.recv().await.is_some() {
                        host.reload(&dir);
                    }
                });
            });
        if let Err(e) = spawned {
            tracing::warn!(error = %e, "cannot start the plugin reload thread");
        }
    }
}
