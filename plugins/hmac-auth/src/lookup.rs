//! Finding the consumer a hmac-auth key_id belongs to, through the host's
//! published `consumer:hmac-auth:<key_id>` keys (the shared convention is in
//! `radixgate_plugin_auth_common`).

use radixgate_plugin::serde::de::DeserializeOwned;
use radixgate_plugin::Host;
pub use radixgate_plugin_auth_common::{anonymous, attach, consumer_key, Holder};

/// The plugin whose keys these are.
const PLUGIN: &str = "hmac-auth";

/// The store key under which the host publishes `key_id`'s holder.
pub fn credential_key(key_id: &str) -> String {
    radixgate_plugin_auth_common::credential_key(PLUGIN, key_id)
}

/// The holder of `key_id` and its config of the plugin, if one holds it.
pub fn holder_of<C: DeserializeOwned>(host: &Host, key_id: &str) -> Option<(Holder, C)> {
    radixgate_plugin_auth_common::holder_of(host, PLUGIN, key_id)
}
