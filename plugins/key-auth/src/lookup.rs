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

use std::cell::Cell;

use radixgate_plugin::Host;
pub use radixgate_plugin_auth_common::{
    anonymous, attach, attach_owner, consumer_key, decode_query_value, query_without, Holder,
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
    /// The store key being looked up, reused by every request on the thread
    /// (taken out while in use).
    static STORE_KEY: Cell<String> = const { Cell::new(String::new()) };
}

/// The store key under which the host publishes a key's owner, written
/// into the thread's buffer (given back when dropped), so that no request
/// allocates one.
pub struct StoreKey(String);

impl StoreKey {
    /// The store key of `key`.
    pub fn of(key: &str) -> StoreKey {
        let mut buf = STORE_KEY.take();
        buf.clear();
        buf.push_str(CREDENTIAL_PREFIX);
        buf.push_str(key);
        StoreKey(buf)
    }

    /// The store key.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Drop for StoreKey {
    fn drop(&mut self) {
        STORE_KEY.set(std::mem::take(&mut self.0));
    }
}

/// `f` of the owner published under `store_key` (the consumer's username,
/// or `<username>/credentials/<id>`), if any; read into a buffer of the
/// thread, without an allocation.
pub fn with_owner<R>(host: &Host, store_key: &str, f: impl FnOnce(&str) -> R) -> Option<R> {
    host.get_with(store_key, |owner| (!owner.is_empty()).then(|| f(owner)))
        .flatten()
}
