//! multi-auth's share of the host: a plugin cannot call another, so the
//! host checks and builds the auth plugins a `multi-auth` config lists
//! (`auth_plugins: [{"<name>": {conf}}, ...]`) and the phase runner
//! (`proxy/phase_run.rs`) runs their rewrite in order until one names a
//! consumer. The `multi-auth` plugin itself only answers the 401 when none
//! does.

use std::sync::Arc;

use radixgate_plugin::Phase;
use serde_json::Value;

use super::chain::{ConfiguredPlugin, PluginHost};
use super::instance::InstanceError;
use super::registry::PluginRegistry;

/// The plugin whose config lists auth plugins for the host to run.
pub const NAME: &str = "multi-auth";

/// The entries of a multi-auth `config`'s `auth_plugins`, each with its
/// place: `(i, plugin name, its config)`. Entries of another shape are
/// skipped (the schema refuses them).
pub fn listed(config: &Value) -> impl Iterator<Item = (usize, &str, &Value)> {
    let entries = config.get("auth_plugins").and_then(Value::as_array);
    entries
        .into_iter()
        .flatten()
        .enumerate()
        .filter_map(|(i, e)| {
            let (name, conf) = e.as_object()?.iter().next()?;
            Some((i, name.as_str(), conf))
        })
}

/// Checks what the multi-auth plugin's schema cannot: each listed plugin
/// is loaded, is an auth plugin (it has a consumer schema and a rewrite
/// phase; APISIX's `type = 'auth'`) and its config passes its schema. The
/// error names the entry: `auth_plugins[1].key-auth: header: ...`.
pub fn check(registry: &PluginRegistry, config: &Value) -> Result<(), String> {
    for (i, name, conf) in listed(config) {
        let Some(entry) = registry.get(name) else {
            return Err(format!("auth_plugins[{i}]: unknown plugin [{name}]"));
        };
        let auth = entry.consumer_schema.is_some() && entry.phases.contains(Phase::Rewrite);
        if !auth || name == NAME {
            return Err(format!("auth_plugins[{i}]: {name} plugin is not supported"));
        }
        entry
            .check_config(conf)
            .map_err(|e| format!("auth_plugins[{i}].{name}: {e}"))?;
    }
    Ok(())
}

/// Builds the listed auth plugins of a multi-auth `config`, in order (each
/// with its own `_meta`); the error names the entry as [`check`] does.
pub fn build(host: &PluginHost, config: &Value) -> Result<Vec<Arc<ConfiguredPlugin>>, String> {
    check(&host.registry, config)?;
    let mut built = Vec::new();
    for (i, name, conf) in listed(config) {
        match ConfiguredPlugin::build(host, name, conf) {
            Ok(Some(c)) => built.push(Arc::new(c)),
            Ok(None) => return Err(format!("auth_plugins[{i}]: unknown plugin [{name}]")),
            Err(InstanceError { reason, .. }) => {
                return Err(format!("auth_plugins[{i}].{name}: {reason}"))
            }
        }
    }
    Ok(built)
}
