//! Starting the plugin host from `conf/config.yaml`'s `plugins:` section:
//! load the directory, install the host as the config module's plugin
//! catalog, and reload on demand (SIGHUP in standalone mode, the Admin
//! API), upgrading plugins in place.

use std::sync::{Arc, OnceLock};

use serde_json::{json, Value};

use super::chain::PluginHost;
use super::exporter::DEFAULT_EXPORT_ADDR;
use super::registry::{LoadReport, PluginRegistry};
use super::services::GatewayServices;
use crate::config::{set_plugin_catalog, PluginsSection};

impl PluginHost {
    /// The host `section` asks for, its directory loaded and installed as
    /// the config module's catalog; `None` when `plugins.dir` is not set.
    pub fn start(section: &PluginsSection) -> Option<Arc<PluginHost>> {
        let dir = section.dir.as_ref()?;
        let registry = PluginRegistry::new(section.enabled.clone())
            .allow_insecure_dir(section.allow_insecure_dir);
        if section.allow_insecure_dir {
            tracing::warn!(dir = %dir.display(),
                "plugins.allow_insecure_dir: plugin files others may write are loaded");
        }
        let services = GatewayServices::new(section.store);
        if let Some(bounds) = &section.prometheus.default_buckets {
            services
                .metrics()
                .set_buckets(super::exporter::LATENCY_METRIC, bounds.clone());
        }
        let host = Arc::new(PluginHost {
            registry: Arc::new(registry),
            services,
            dir: dir.clone(),
            on_upgrade: OnceLock::new(),
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

    /// Serves plugin metrics when a `prometheus` plugin is loaded, under
    /// the client `limits`.
    pub fn start_exporter(&self, section: &PluginsSection, limits: crate::proxy::Limits) {
        if self.registry.get("prometheus").is_none() {
            return;
        }
        let addr = section
            .export_addr
            .or_else(|| DEFAULT_EXPORT_ADDR.parse().ok());
        if let Some(addr) = addr {
            let path = section.prometheus.export_uri().to_owned();
            super::exporter::start(addr, path, self.services.clone(), limits);
        }
    }

    /// Calls `hook` with the names of the plugins each reload upgrades
    /// (set once, by the gateway's wiring: the snapshot builder then builds
    /// new instances for every object that uses them).
    pub fn on_upgrade(&self, hook: impl Fn(Vec<String>) + Send + Sync + 'static) {
        if self.on_upgrade.set(Box::new(hook)).is_err() {
            tracing::warn!("the plugin upgrade hook was set twice; the first stays");
        }
    }

    /// Loads files of the plugin directory new or changed since the last
    /// scan (libraries are never unloaded); a new version of a loaded
    /// plugin replaces it, and the objects using it get new instances.
    pub fn reload(&self) -> LoadReport {
        let dir = &self.dir;
        let report = self.registry.load_dir(dir);
        let upgraded: Vec<String> = report.upgraded.iter().map(|u| u.name.clone()).collect();
        tracing::info!(dir = %dir.display(), loaded = ?report.loaded, upgraded = ?upgraded,
            refused = report.refused.len(), "plugin directory reloaded");
        if !upgraded.is_empty() {
            if let Some(hook) = self.on_upgrade.get() {
                hook(upgraded.clone());
            }
        }
        if !report.loaded.is_empty() || !upgraded.is_empty() {
            // Sources decode their objects again (config/plugin_check.rs):
            // an object refused or stripped before may now pass.
            crate::config::plugin_catalog_grew();
        }
        report
    }
}

/// `GET /apisix/admin/plugins/list`: the names of the plugins `host` has
/// loaded, highest priority first (empty without a plugin host).
pub fn admin_list(host: Option<&PluginHost>) -> Value {
    let names = host
        .map(|h| h.registry.all().iter().map(|e| json!(e.name)).collect())
        .unwrap_or_default();
    Value::Array(names)
}

/// `GET /apisix/admin/schema/plugins/<name>[?schema_type=consumer|metadata]`:
/// the config schema of plugin `name` of `host` (a plugin without a consumer schema answers
/// its route schema for `consumer`, as APISIX falls back); `Err` names an
/// unknown plugin, or one without a metadata schema.
pub fn admin_schema(
    host: Option<&PluginHost>,
    name: &str,
    schema_type: &str,
) -> Result<Value, String> {
    let entry = host
        .and_then(|h| h.registry.get(name))
        .ok_or_else(|| format!("plugin [{name}] not found"))?;
    Ok(match schema_type {
        "consumer" => entry
            .consumer_schema
            .clone()
            .unwrap_or_else(|| entry.route_schema.clone()),
        "metadata" => entry
            .metadata_schema
            .clone()
            .ok_or_else(|| format!("plugin [{name}] has no metadata schema"))?,
        _ => entry.route_schema.clone(),
    })
}

/// `PUT /apisix/admin/plugins/reload` (admin role only): loads new and
/// changed files of `host`'s plugin directory; says what was loaded, what
/// was upgraded (name, from, to) and what was refused, and why.
pub fn admin_reload(host: Option<&PluginHost>) -> Value {
    let Some(host) = host else {
        return json!({"loaded": [], "refused": [], "error_msg": "no plugins.dir configured"});
    };
    let report = host.reload();
    let refused: Vec<Value> = report
        .refused
        .iter()
        .map(|e| json!({"path": e.path.display().to_string(), "reason": e.reason}))
        .collect();
    let upgraded: Vec<Value> = report
        .upgraded
        .iter()
        .map(|u| json!({"name": u.name, "from": u.from, "to": u.to}))
        .collect();
    json!({"loaded": report.loaded, "upgraded": upgraded, "refused": refused})
}

/// Reloads the plugin directory into `host` on each SIGHUP, on a thread
/// of its own.
pub fn reload_on_sighup(host: Arc<PluginHost>) {
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
                        host.reload();
                    }
                });
            });
        if let Err(e) = spawned {
            tracing::warn!(error = %e, "cannot start the plugin reload thread");
        }
    }
}
