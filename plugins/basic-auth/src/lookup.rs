//! Finding the consumer a basic-auth username belongs to, through the host's
//! published `consumer:basic-auth:<username>` keys (the shared convention is in
//! `radixgate_plugin_auth_common`).

use radixgate_plugin::serde::de::DeserializeOwned;
use radixgate_plugin::Host;
pub use radixgate_plugin_auth_common::{anonymous, attach, consumer_key, Holder};

/// The plugin whose keys these are.
const PLUGIN: &str = "basic-auth";

/// The store key under which the host publishes `username`'s holder.
pub fn credential_key(username: &str) -> String {
    radixgate_plugin_auth_common::credential_key(PLUGIN, username)
}

/// The holder of `username` and its config of the plugin, if one holds it.
pub fn holder_of<C: DeserializeOwned>(host: &Host, username: &str) -> Option<(Holder, C)> {
    radixgate_plugin_auth_common::holder_of(host, PLUGIN, username)
}
