//! Finding the consumer a hmac-auth key_id belongs to, and naming it
//! to the node.
//!
//! The host publishes consumers in its shared store (no expiry, not
//! writable by plugins), written when consumers and credentials load and
//! removed when they go:
//!
//! - `consumer:hmac-auth:<key_id>` -> `{"owner": "<id>", "conf":
//!   {"key_id": ..., "secret_key": ...}}`, where the owner is the
//!   consumer's username or `<username>/credentials/<id>` for a
//!   credential, published while exactly one of them holds the key_id;
//! - `consumer:name:<username>` -> the username, for every consumer.
//!
//! This module is the one place in this plugin that knows that convention.

use radixgate_plugin::serde::de::DeserializeOwned;
use radixgate_plugin::serde::Deserialize;
use radixgate_plugin::{serde_json, Ctx, Host};

/// The plugin's store keys: `consumer:hmac-auth:<key_id>`.
pub const CREDENTIAL_PREFIX: &str = "consumer:hmac-auth:";

/// The store keys saying a consumer exists: `consumer:name:<username>`.
pub const CONSUMER_PREFIX: &str = "consumer:name:";

/// APISIX's request headers naming the consumer to the node.
const CONSUMER_HEADERS: [&str; 3] = [
    "X-Consumer-Username",
    "X-Credential-Identifier",
    "X-Consumer-Custom-Id",
];

/// What holds a key_id: a consumer, through its own config or a credential.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder {
    /// The consumer's username.
    pub username: String,
    /// The credential's id, when a credential holds it.
    pub credential: Option<String>,
}

impl Holder {
    /// The holder named by a published owner id (`jack` or
    /// `jack/credentials/cred-1`).
    pub fn parse(owner: &str) -> Holder {
        match owner.split_once("/credentials/") {
            Some((username, id)) => Holder {
                username: username.to_string(),
                credential: Some(id.to_string()),
            },
            None => Holder {
                username: owner.to_string(),
                credential: None,
            },
        }
    }
}

/// What the host publishes per key_id: the holder and its config.
#[derive(Deserialize)]
#[serde(crate = "radixgate_plugin::serde")]
struct Published<C> {
    owner: String,
    conf: C,
}

/// The store key under which the host publishes `key_id`'s holder.
pub fn credential_key(key_id: &str) -> String {
    format!("{CREDENTIAL_PREFIX}{key_id}")
}

/// The store key under which the host says consumer `username` exists.
pub fn consumer_key(username: &str) -> String {
    format!("{CONSUMER_PREFIX}{username}")
}

/// The holder of `key_id` and its config of the plugin, if one holds it.
pub fn holder_of<C: DeserializeOwned>(host: &Host, key_id: &str) -> Option<(Holder, C)> {
    let value = host.get(&credential_key(key_id))?;
    let published: Published<C> = serde_json::from_str(&value).ok()?;
    Some((Holder::parse(&published.owner), published.conf))
}

/// Whether consumer `username` exists.
pub fn consumer_exists(host: &Host, username: &str) -> bool {
    host.get(&consumer_key(username))
        .is_some_and(|name| !name.is_empty())
}

/// Sets the request's consumer and names it to the node, replacing what
/// the client sent in those headers (as APISIX's `attach_consumer`).
pub fn attach(ctx: &mut Ctx<'_>, holder: &Holder) {
    ctx.set_consumer(&holder.username);
    for name in CONSUMER_HEADERS {
        ctx.remove_header(name);
    }
    ctx.set_header(CONSUMER_HEADERS[0], &holder.username);
    if let Some(id) = &holder.credential {
        ctx.set_header(CONSUMER_HEADERS[1], id);
    }
}
