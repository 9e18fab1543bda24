//! Finding the consumer a jwt-auth key belongs to, through the host's
//! published `consumer:jwt-auth:<key>` keys (the shared convention is in
//! `radixgate_plugin_auth_common`).

use radixgate_plugin::serde::de::DeserializeOwned;
use radixgate_plugin::Host;
pub use radixgate_plugin_auth_common::{anonymous, attach, consumer_key, Holder};

/// The plugin whose keys these are.
const PLUGIN: &str = "jwt-auth";

/// The store key under which the host publishes `key`'s holder.
pub fn credential_key(key: &str) -> String {
    radixgate_plugin_auth_common::credential_key(PLUGIN, key)
}

/// The holder of `key` and its config of the plugin, if one holds it.
pub fn holder_of<C: DeserializeOwned>(host: &Host, key: &str) -> Option<(Holder, C)> {
    radixgate_plugin_auth_common::holder_of(host, PLUGIN, key)
}
