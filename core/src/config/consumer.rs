//! The APISIX `consumer`, `consumer_group` and `credential` objects as
//! typed values (after their schema check). An auth plugin's config on a
//! consumer or credential is the secret it looks up; the other plugins run
//! once an auth plugin names the consumer.

use serde::Deserialize;

use super::objects::{Id, Plugins};

/// A consumer: who calls, keyed by `username`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
// Unknown fields are refused by the kind's JSON Schema, checked before
// this type is decoded. So are bad `desc`, `labels`, `create_time` and
// `update_time` (and `name`): they stay in the stored JSON, not here.
pub struct ConsumerConf {
    /// The consumer's key: `[a-zA-Z0-9_-]+`.
    pub username: String,
    /// The consumer group whose plugins apply too.
    #[serde(default)]
    pub group_id: Option<Id>,
    /// Plugins this build knows (auth plugins hold the consumer's credentials).
    #[serde(default)]
    pub plugins: Plugins,
}

/// A consumer group: plugins that its consumers share.
#[derive(Debug, Clone, PartialEq, Deserialize)]
// Unknown fields are refused by the kind's JSON Schema, checked before
// this type is decoded. So are bad `desc`, `labels`, `create_time` and
// `update_time` (and `name`): they stay in the stored JSON, not here.
pub struct ConsumerGroupConf {
    /// The id.
    pub id: Id,
    /// Plugins this build knows.
    #[serde(default)]
    pub plugins: Plugins,
}

/// A credential: one auth plugin's secret for one consumer, stored under
/// `/consumers/<username>/credentials/<id>`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
// Unknown fields are refused by the kind's JSON Schema, checked before
// this type is decoded. So are bad `desc`, `labels`, `create_time` and
// `update_time` (and `name`): they stay in the stored JSON, not here.
pub struct CredentialConf {
    /// The consumer it belongs to (from its key, not its body).
    #[serde(skip)]
    pub consumer: String,
    /// The credential's own id (unique within its consumer).
    pub id: Id,
    /// The auth plugin (at most one), if this build knows it.
    #[serde(default)]
    pub plugins: Plugins,
}
