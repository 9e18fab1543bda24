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
//! This module is the one place that knows that convention.

use std::cell::RefCell;

use radixgate_plugin::Host;

/// Prefix of the store keys that map a key-auth key to its consumer.
pub const CREDENTIAL_PREFIX: &str = "consumer:key-auth:";

/// Prefix of the store keys that say a consumer exists.
pub const CONSUMER_PREFIX: &str = "consumer:name:";

/// What holds a key: a consumer, through its own config or a credential.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder {
    /// The consumer's username.
    pub username: String,
    /// The credential's id, when a credential holds the key.
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

/// The store key under which the host says consumer `username` exists.
pub fn consumer_key(username: &str) -> String {
    format!("{CONSUMER_PREFIX}{username}")
}

/// Whether consumer `username` exists.
pub fn consumer_exists(host: &Host, username: &str) -> bool {
    host.get(&consumer_key(username))
        .is_some_and(|name| !name.is_empty())
}

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

/// Percent-decodes a query value (`+` is a space), as APISIX's uri args;
/// invalid escapes are kept as they are.
pub fn decode_query_value(raw: &str) -> String {
    if !raw.bytes().any(|b| b == b'%' || b == b'+') {
        return raw.to_string();
    }
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = |b: u8| (b as char).to_digit(16);
                match (
                    bytes.get(i + 1).copied().and_then(hex),
                    bytes.get(i + 2).copied().and_then(hex),
                ) {
                    (Some(h), Some(l)) => {
                        out.push((h * 16 + l) as u8);
                        i += 3;
                        continue;
                    }
                    _ => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `query` without the arguments named `name`.
pub fn query_without(query: &str, name: &str) -> String {
    query
        .split('&')
        .filter(|pair| !pair.is_empty() && pair.split_once('=').map_or(*pair, |p| p.0) != name)
        .collect::<Vec<_>>()
        .join("&")
}
