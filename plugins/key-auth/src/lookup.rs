//! Finding the consumer a key belongs to.
//!
//! The plugin ABI (1.0) has no consumer lookup service. Until it has one,
//! the host publishes consumers in its shared store (no expiry), written
//! when consumers and credentials are loaded and removed when they go:
//!
//! - `consumer:key-auth:<key>` -> the id of the object holding the key: the
//!   consumer's username, or `<username>/credentials/<id>` for a credential;
//! - `consumer:name:<username>` -> the username, for every consumer.
//!
//! This module is the one place in the plugin that knows its own key's
//! plain form; the rest of the convention is `radixgate_plugin_auth_common`'s.

use std::cell::RefCell;

use radixgate_plugin::Host;
pub use radixgate_plugin_auth_common::{
    anonymous, attach, consumer_key, decode_query_value, query_without, Holder,
};

/// Prefix of the store keys that map a key-auth key to its consumer.
pub const CREDENTIAL_PREFIX: &str = "consumer:key-auth:";

/// The store key under which the host publishes `key`'s consumer.
pub fn credential_key(key: &str) -> String {
    let mut k = String::with_capacity(CREDENTIAL_PREFIX.len() + key.len());
    k.push_str(CREDENTIAL_PREFIX);
    k.push_str(key);
    k
}

thread_local! {
    /// The store key being looked up, reused by every request on the thread.
    static STORE_KEY: RefCell<String> = const { RefCell::new(String::new()) };
}

/// The consumer (and credential) whose key is `key`, if any.
pub fn consumer_for(host: &Host, key: &str) -> Option<Holder> {
    let owner = STORE_KEY.with_borrow_mut(|k| {
        k.clear();
        k.push_str(CREDENTIAL_PREFIX);
        k.push_str(key);
        host.get(k)
    });
    owner
        .filter(|owner| !owner.is_empty())
        .map(|owner| Holder::parse(&owner))
}
