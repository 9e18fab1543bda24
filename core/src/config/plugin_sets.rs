//! The APISIX objects that are sets of plugins: `global_rule`,
//! `plugin_config`, and a plugin's `plugin_metadata`, as typed values
//! (after their schema check). Not used for proxying yet (issue 5).

use serde::Deserialize;
use std::collections::BTreeMap;

use super::objects::{Id, Plugins};

/// A global rule: plugins that run for every request.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GlobalRuleConf {
    /// The id.
    pub id: Id,
    /// A name for people.
    #[serde(default)]
    pub name: Option<String>,
    /// A description for people.
    #[serde(default)]
    pub desc: Option<String>,
    /// Labels for people and filters.
    #[serde(default)]
    pub labels: Option<BTreeMap<String, String>>,
    /// Set by the Admin API.
    #[serde(default)]
    pub create_time: Option<u64>,
    /// Set by the Admin API.
    #[serde(default)]
    pub update_time: Option<u64>,
    /// Plugins this build knows.
    #[serde(default)]
    pub plugins: Plugins,
}

/// A plugin config: plugins that routes share through `plugin_config_id`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PluginConfigConf {
    /// The id.
    pub id: Id,
    /// A name for people.
    #[serde(default)]
    pub name: Option<String>,
    /// A description for people.
    #[serde(default)]
    pub desc: Option<String>,
    /// Labels for people and filters.
    #[serde(default)]
    pub labels: Option<BTreeMap<String, String>>,
    /// Set by the Admin API.
    #[serde(default)]
    pub create_time: Option<u64>,
    /// Set by the Admin API.
    #[serde(default)]
    pub update_time: Option<u64>,
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
