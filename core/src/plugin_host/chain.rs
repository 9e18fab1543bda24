//! Plugins as objects configure them, and the chains a request runs: the
//! plugin host the gateway shares ([`PluginHost`]: registry + services),
//! one configured plugin with its `_meta` ([`ConfiguredPlugin`]), and a chain
//! sorted by priority ([`Chain`]). Built when a config is loaded, never
//! per request.

use std::sync::Arc;

use radix_router::Expr;
use radixgate_plugin::{Phase, Phases};
use serde_json::Value;

use super::instance::{InstanceError, PluginInstance};
use super::registry::PluginRegistry;
use super::services::GatewayServices;
use crate::config::{Kind, PluginCatalog};

/// The gateway's plugins: what is loaded and the services instances use.
pub struct PluginHost {
    /// The loaded plugins.
    pub registry: Arc<PluginRegistry>,
    /// The host services every instance is built with.
    pub services: GatewayServices,
    /// The plugin directory (`plugins.dir`).
    pub dir: std::path::PathBuf,
    /// Told the names of the plugins a reload upgraded, to build new
    /// instances for the objects using them (the snapshot builder).
    pub(super) on_upgrade: std::sync::OnceLock<UpgradeHook>,
}

/// What a reload calls with the names of the plugins it upgraded.
pub type UpgradeHook = Box<dyn Fn(Vec<String>) + Send + Sync>;

impl std::fmt::Debug for PluginHost {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PluginHost").finish_non_exhaustive()
    }
}

impl PluginCatalog for PluginHost {
    fn check(&self, kind: Kind, name: &str, config: &Value) -> Option<Result<(), String>> {
        let entry = self.registry.get(name)?;
        Some(match kind {
            Kind::Consumer | Kind::Credential if entry.consumer_schema.is_some() => {
                entry.check_consumer_config(config)
            }
            _ => entry.check_config(config).and_then(|()| match name {
                super::multi_auth::NAME => super::multi_auth::check(&self.registry, config),
                _ => Ok(()),
            }),
        })
    }

    fn encrypt_fields(&self, kind: Kind, name: &str) -> Vec<String> {
        let Some(entry) = self.registry.get(name) else {
            return Vec::new();
        };
        let listed = |schema: Option<&Value>| -> Option<Vec<String>> {
            let fields = schema?.get("encrypt_fields")?.as_array()?;
            Some(
                fields
                    .iter()
                    .filter_map(|f| f.as_str().map(str::to_owned))
                    .collect(),
            )
        };
        let consumer = matches!(kind, Kind::Consumer | Kind::Credential)
            .then(|| listed(entry.consumer_schema.as_ref()))
            .flatten();
        consumer
            .or_else(|| listed(Some(&entry.route_schema)))
            .unwrap_or_default()
    }
}

/// One plugin as one object configures it: its instance and `_meta`.
#[derive(Debug)]
pub struct ConfiguredPlugin {
    /// The plugin's name.
    pub name: String,
    /// The run order within a phase (`_meta.priority`, else the plugin's).
    pub priority: i32,
    /// `_meta.disable`: configured but not run.
    pub disabled: bool,
    /// `_meta.filter`: run only when it holds for the request.
    pub filter: Option<Expr>,
    /// `_meta.error_response`: the body of this plugin's own error answers.
    pub error_response: Option<Vec<u8>>,
    /// The instance (built from the config without `_meta`).
    pub instance: PluginInstance,
    /// The auth plugins a `multi-auth` lists, in order, which the phase
    /// runner tries in its place; empty for every other plugin.
    pub alternatives: Vec<Arc<ConfiguredPlugin>>,
    /// Whether the instance (or one of its alternatives) reads the request
    /// body: the host reads it before the first phase.
    pub reads_body: bool,
}

impl ConfiguredPlugin {
    /// Builds plugin `name` from `config` (as checked by `decode`);
    /// `Ok(None)` when no such plugin is loaded.
    pub fn build(
        host: &PluginHost,
        name: &str,
        config: &Value,
    ) -> Result<Option<ConfiguredPlugin>, InstanceError> {
        let Some(entry) = host.registry.get(name) else {
            return Ok(None);
        };
        let refuse = |reason: String| InstanceError {
            plugin: name.to_string(),
            reason,
        };
        let mut bare = config.clone();
        let meta = bare
            .as_object_mut()
            .and_then(|o| o.remove("_meta"))
            .unwrap_or(Value::Null);
        let filter = match meta.get("filter") {
            Some(f) => Some(Expr::parse(f).map_err(|e| refuse(format!("_meta.filter: {e}")))?),
            None => None,
        };
        let error_response = match meta.get("error_response") {
            Some(Value::String(s)) => Some(s.clone().into_bytes()),
            Some(other) => Some(other.to_string().into_bytes()),
            None => None,
        };
        let instance = PluginInstance::build(&entry, &bare, host.services.handle())?;
        let alternatives = match name {
            super::multi_auth::NAME => super::multi_auth::build(host, &bare).map_err(refuse)?,
            _ => Vec::new(),
        };
        let reads_body = instance.reads_request_body() || alternatives.iter().any(|a| a.reads_body);
        Ok(Some(ConfiguredPlugin {
            name: name.to_string(),
            priority: meta
                .get("priority")
                .and_then(Value::as_i64)
                .and_then(|p| i32::try_from(p).ok())
                .unwrap_or(entry.priority),
            disabled: meta.get("disable").and_then(Value::as_bool) == Some(true),
            filter,
            error_response,
            instance,
            alternatives,
            reads_body,
        }))
    }
}

/// Plugins in run order (higher priority first), none disabled.
#[derive(Debug)]
pub struct Chain {
    /// The plugins, in run order.
    pub entries: Vec<Arc<ConfiguredPlugin>>,
    /// Every phase some plugin of the chain implements.
    pub phases: Phases,
    /// Whether some plugin of the chain declares `prefer_route`.
    pub prefer_route: bool,
    /// Whether some instance of the chain reads the request body.
    pub reads_body: bool,
    /// Whether some instance of the chain observes the response body.
    pub observes_body: bool,
}

impl Chain {
    /// The chain of `plugins` sorted by priority (then name); `None` when
    /// nothing is left to run.
    pub fn new(plugins: impl IntoIterator<Item = Arc<ConfiguredPlugin>>) -> Option<Arc<Chain>> {
        let mut entries: Vec<_> = plugins.into_iter().filter(|c| !c.disabled).collect();
        if entries.is_empty() {
            return None;
        }
        entries.sort_by(|a, b| b.priority.cmp(&a.priority).then(a.name.cmp(&b.name)));
        let phases = entries.iter().fold(Phases::NONE, |acc, c| {
            Phases(acc.0 | c.instance.entry().phases.0)
        });
        let prefer_route = entries.iter().any(|c| c.instance.entry().prefer_route);
        let reads_body = entries.iter().any(|c| c.reads_body);
        let observes_body = entries.iter().any(|c| c.instance.observes_response_body());
        Some(Arc::new(Chain {
            entries,
            phases,
            prefer_route,
            reads_body,
            observes_body,
        }))
    }

    /// The global rules' chain for a request whose route runs `route`:
    /// as APISIX's `run_policy = "prefer_route"`, a plugin declaring it
    /// that the route runs too is left out of the global chain (a new chain
    /// only then; otherwise `global` itself).
    pub fn for_route(global: Option<Arc<Chain>>, route: Option<&Chain>) -> Option<Arc<Chain>> {
        let (Some(g), Some(r)) = (&global, route) else {
            return global;
        };
        let preferred = |c: &ConfiguredPlugin| {
            c.instance.entry().prefer_route && r.entries.iter().any(|e| e.name == c.name)
        };
        if !g.prefer_route || !g.entries.iter().any(|c| preferred(c)) {
            return global;
        }
        Chain::new(g.entries.iter().filter(|c| !preferred(c)).cloned())
    }

    /// Whether some plugin of the chain implements `phase`.
    pub fn has(&self, phase: Phase) -> bool {
        self.phases.contains(phase)
    }
}

#[cfg(test)]
impl ConfiguredPlugin {
    /// Plugin `P`, compiled into the test binary, configured with `config`
    /// as if loaded from a library (for tests of the request path).
    pub(crate) fn in_process<P: radixgate_plugin::Plugin>(
        config: &Value,
        services: &GatewayServices,
    ) -> Arc<ConfiguredPlugin> {
        use radixgate_plugin::abi::{ABI_MAJOR, ABI_MINOR};
        let root = radixgate_plugin::root_module::<P>(ABI_MAJOR, ABI_MINOR);
        let entry = super::entry::PluginEntry::from_root(std::path::Path::new("(test)"), root)
            .expect("a test plugin's declarations");
        let instance = PluginInstance::build(&Arc::new(entry), config, services.handle())
            .expect("a test plugin's config");
        Arc::new(ConfiguredPlugin {
            name: P::NAME.to_string(),
            priority: P::PRIORITY,
            disabled: false,
            filter: None,
            error_response: None,
            reads_body: instance.reads_request_body(),
            instance,
            alternatives: Vec::new(),
        })
    }
}
