//! The APISIX `consumer`, `consumer_group` and `credential` objects as
//! typed values (after their schema check); `snapshot/plugins.rs` builds
//! their plugins and publishes their key-auth keys.

use serde::Deserialize;

use super::objects::{Id, Meta, Plugins};

/// A consumer: who calls, keyed by `username`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
// Unknown fields are refused by the kind's JSON Schema, checked
// before this type is decoded (serde cannot deny them beside `flatten`).
pub struct ConsumerConf {
    /// The consumer's key: `[a-zA-Z0-9_-]+`.
    pub username: String,
    /// `name`, `desc`, `labels`, `create_time`, `update_time`.
    #[serde(flatten)]
    pub meta: Meta,
    /// The consumer group whose plugins apply too.
    #[serde(default)]
    pub group_id: Option<Id>,
    /// Plugins this build knows (auth plugins hold the consumer's credentials).
    #[serde(default)]
    pub plugins: Plugins,
}

/// A consumer group: plugins that its consumers share.
#[derive(Debug, Clone, PartialEq, Deserialize)]
// Unknown fields are refused by the kind's JSON Schema, checked
// before this type is decoded (serde cannot deny them beside `flatten`).
pub struct ConsumerGroupConf {
    /// The id.
    pub id: Id,
    /// `name`, `desc`, `labels`, `create_time`, `update_time`.
    #[serde(flatten)]
    pub meta: Meta,
    /// Plugins this build knows.
    #[serde(default)]
    pub plugins: Plugins,
}

/// A credential: one auth plugin's secret for one consumer, stored under
/// `/consumers/<username>/credentials/<id>`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
// Unknown fields are refused by the kind's JSON Schema, checked
// before this type is decoded (serde cannot deny them beside `flatten`).
pub struct CredentialConf {
    /// The consumer it belongs to (from its key, not its body).
    #[serde(skip)]
    pub consumer: String,
    /// The credential's own id (unique within its consumer).
    pub id: Id,
    /// `name`, `desc`, `labels`, `create_time`, `update_time`.
    #[serde(flatten)]
    pub meta: Meta,
    /// The auth plugin (at most one), if this build knows it.
    #[serde(default)]
    pub plugins: Plugins,
}
