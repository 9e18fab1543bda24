//! The APISIX `consumer`, `consumer_group` and `credential` objects as
//! typed values (after their schema check). Not used for proxying yet:
//! authentication comes with the plugin host (issue 5).

use serde::Deserialize;
use std::collections::BTreeMap;

use super::objects::{Id, Plugins};

/// A consumer: who calls, keyed by `username`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsumerConf {
    /// The consumer's key: `[a-zA-Z0-9_-]+`.
    pub username: String,
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
    /// The consumer group whose plugins apply too.
    #[serde(default)]
    pub group_id: Option<Id>,
    /// Plugins this build knows (auth plugins hold the consumer's credentials).
    #[serde(default)]
    pub plugins: Plugins,
}

/// A consumer group: plugins that its consumers share.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsumerGroupConf {
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

/// A credential: one auth plugin's secret for one consumer, stored under
/// `/consumers/<username>/credentials/<id>`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CredentialConf {
    /// The consumer it belongs to (from its key, not its body).
    #[serde(skip)]
    pub consumer: String,
    /// The credential's own id (unique within its consumer).
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
    /// The auth plugin (at most one), if this build knows it.
    #[serde(default)]
    pub plugins: Plugins,
}
