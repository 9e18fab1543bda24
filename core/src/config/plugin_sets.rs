//! The APISIX objects that are sets of plugins: `global_rule`,
//! `plugin_config`, and a plugin's `plugin_metadata`, as typed values
//! (after their schema check). The snapshot builds their plugins into
//! chains; plugin metadata goes to the plugin through the host services.

use serde::Deserialize;

use super::objects::{Id, Plugins};

/// A global rule: plugins that run for every request.
#[derive(Debug, Clone, PartialEq, Deserialize)]
// Unknown fields are refused by the kind's JSON Schema, checked before
// this type is decoded. So are bad `desc`, `labels`, `create_time` and
// `update_time` (and `name`): they stay in the stored JSON, not here.
pub struct GlobalRuleConf {
    /// The id.
    pub id: Id,
    /// Plugins this build knows.
    #[serde(default)]
    pub plugins: Plugins,
}

/// A plugin config: plugins that routes share through `plugin_config_id`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
// Unknown fields are refused by the kind's JSON Schema, checked before
// this type is decoded. So are bad `desc`, `labels`, `create_time` and
// `update_time` (and `name`): they stay in the stored JSON, not here.
pub struct PluginConfigConf {
    /// The id.
    pub id: Id,
    /// Plugins this build knows.
    #[serde(default)]
    pub plugins: Plugins,
}

/// One plugin's process-wide settings; `id` is the plugin's name and the
/// rest belongs to that plugin's metadata schema.
#[derive(Debug, Clone, PartialEq)]
pub struct PluginMetadataConf {
    /// The plugin's name (`http-logger`).
    pub id: Id,
    /// Every other property, as written.
    pub config: serde_json::Map<String, serde_json::Value>,
}
