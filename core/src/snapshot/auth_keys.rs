//! Who holds each auth key, as the gateway serves it: key-auth's `key`,
//! basic-auth's `username`, jwt-auth's `key`, hmac-auth's `key_id` (the
//! Admin API's [`KEY_FIELDS`]), each plugin's keys apart. A consumer holds
//! its own key; a credential holds its key only while its consumer exists
//! (deleting a consumer revokes its credentials, however it was deleted).
//! A key is served for exactly one holder: when two consumers or
//! credentials claim the same key of one plugin (written to etcd around the
//! Admin API's check), it is refused for all of them, and logged naming
//! them, until only one is left; the gateway never picks one.
//!
//! What is served for a key is its holder and the holder's config for that
//! plugin (basic-auth needs the password, jwt-auth the secret...), so a
//! changed config is published again even when its key stays.
//!
//! This module only decides; [`super::plugins`] writes the decisions to
//! the plugins' shared store.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

pub use crate::admin::owners::KEY_FIELDS;
use crate::config::{Id, Plugins, CREDENTIALS};

/// A change to what the shared store says about one key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Publish {
    /// `key` of `plugin` authenticates as `owner` (a username, or
    /// `<username>/credentials/<id>`), whose config for the plugin is
    /// `conf` (compact JSON).
    Set {
        /// The auth plugin.
        plugin: &'static str,
        /// The key.
        key: String,
        /// Its holder.
        owner: Id,
        /// The holder's config of the plugin.
        conf: String,
    },
    /// `key` of `plugin` authenticates nobody.
    Withdraw {
        /// The auth plugin.
        plugin: &'static str,
        /// The key.
        key: String,
    },
}

/// One plugin's keys: who configures which, and who is served.
#[derive(Debug, Default)]
struct Table {
    /// The key (and config) each consumer or credential configures.
    wanted: HashMap<Id, (String, String)>,
    /// Everyone configuring each key, whether served or not.
    claims: HashMap<String, BTreeSet<Id>>,
    /// Credentials that configure a key, by their consumer's username.
    credentials: HashMap<Id, BTreeSet<Id>>,
    /// The holder (and its config) each served key authenticates as.
    served: HashMap<String, (Id, String)>,
}

/// The keys objects configure and the holders served, for every auth plugin.
#[derive(Debug, Default)]
pub struct AuthKeys {
    tables: BTreeMap<&'static str, Table>,
    /// Consumers that exist, by username.
    consumers: HashSet<Id>,
}

/// The consumer a credential id (`jack/credentials/c1`) belongs to; `None`
/// for a consumer's own id.
fn consumer_of(owner: &Id) -> Option<Id> {
    owner
        .0
        .split_once(CREDENTIALS)
        .map(|(user, _)| Id(user.to_owned()))
}

/// The key and config `plugins` holds for `plugin`, whose key field is `field`.
pub fn key_of(plugins: Option<&Plugins>, plugin: &str, field: &str) -> Option<(String, String)> {
    let conf = plugins?.get(plugin)?;
    let key = conf.get(field)?.as_str()?;
    Some((key.to_owned(), conf.to_string()))
}

impl AuthKeys {
    /// Sets the key and config `owner` configures for `plugin` (`None`:
    /// none); what to publish.
    pub fn set_key(
        &mut self,
        plugin: &'static str,
        owner: &Id,
        wanted: Option<(String, String)>,
    ) -> Vec<Publish> {
        let mut out = Vec::new();
        let consumers = &self.consumers;
        let table = self.tables.entry(plugin).or_default();
        let old = table.wanted.remove(owner);
        if old == wanted {
            if let Some(w) = old {
                table.wanted.insert(owner.clone(), w);
            }
            return out;
        }
        // The same key with another config: published again in place,
        // never withdrawn in between.
        if let (Some((old_key, _)), Some((key, conf))) = (&old, &wanted) {
            if old_key == key {
                table
                    .wanted
                    .insert(owner.clone(), (key.clone(), conf.clone()));
                table.refresh(plugin, consumers, key, &mut out);
                return out;
            }
        }
        let user = consumer_of(owner);
        if let Some((old_key, _)) = old {
            if let Some(set) = table.claims.get_mut(&old_key) {
                set.remove(owner);
                if set.is_empty() {
                    table.claims.remove(&old_key);
                }
            }
            if let Some(user) = &user {
                if let Some(set) = table.credentials.get_mut(user) {
                    set.remove(owner);
                    if set.is_empty() {
                        table.credentials.remove(user);
                    }
                }
            }
            table.refresh(plugin, consumers, &old_key, &mut out);
        }
        if let Some((key, conf)) = wanted {
            table.wanted.insert(owner.clone(), (key.clone(), conf));
            table
                .claims
                .entry(key.clone())
                .or_default()
                .insert(owner.clone());
            if let Some(user) = user {
                table
                    .credentials
                    .entry(user)
                    .or_default()
                    .insert(owner.clone());
            }
            table.refresh(plugin, consumers, &key, &mut out);
        }
        out
    }

    /// Records whether consumer `username` exists; what to publish (its
    /// keys and its credentials' keys follow it).
    pub fn set_consumer(&mut self, username: &Id, exists: bool) -> Vec<Publish> {
        let changed = if exists {
            self.consumers.insert(username.clone())
        } else {
            self.consumers.remove(username)
        };
        let mut out = Vec::new();
        if !changed {
            return out;
        }
        let consumers = &self.consumers;
        for (plugin, table) in &mut self.tables {
            let mut keys: BTreeSet<String> = table
                .wanted
                .get(username)
                .map(|w| w.0.clone())
                .into_iter()
                .collect();
            for cred in table.credentials.get(username).into_iter().flatten() {
                keys.extend(table.wanted.get(cred).map(|w| w.0.clone()));
            }
            for key in keys {
                table.refresh(plugin, consumers, &key, &mut out);
            }
        }
        out
    }

    /// Forgets everything; withdraws every served key.
    pub fn clear(&mut self) -> Vec<Publish> {
        let mut out = Vec::new();
        for (plugin, table) in &mut self.tables {
            out.extend(
                table
                    .served
                    .drain()
                    .map(|(key, _)| Publish::Withdraw { plugin, key }),
            );
        }
        *self = AuthKeys::default();
        out
    }
}

impl Table {
    /// Decides `key` again after a change to its claims or their consumers.
    fn refresh(
        &mut self,
        plugin: &'static str,
        consumers: &HashSet<Id>,
        key: &str,
        out: &mut Vec<Publish>,
    ) {
        // Whether `owner`'s key may be served: a consumer that exists, or
        // a credential whose consumer exists.
        let active = |owner: &Id| match consumer_of(owner) {
            Some(user) => consumers.contains(&user),
            None => consumers.contains(owner),
        };
        let holders: Vec<&Id> = self
            .claims
            .get(key)
            .into_iter()
            .flatten()
            .filter(|o| active(o))
            .collect();
        let want = match holders.as_slice() {
            [one] => self
                .wanted
                .get(*one)
                .map(|(_, conf)| ((*one).clone(), conf.clone())),
            [] => None,
            many => {
                let names: Vec<&str> = many.iter().map(|o| o.0.as_str()).collect();
                // The key itself is a secret: only its holders are named.
                tracing::error!(
                    plugin,
                    holders = %names.join(", "),
                    "one auth key is configured on more than one consumer or credential: \
                     it is refused for all of them until only one holds it"
                );
                None
            }
        };
        match want {
            Some(held) if self.served.get(key) != Some(&held) => {
                self.served.insert(key.to_owned(), held.clone());
                out.push(Publish::Set {
                    plugin,
                    key: key.to_owned(),
                    owner: held.0,
                    conf: held.1,
                });
            }
            Some(_) => {}
            None => {
                if self.served.remove(key).is_some() {
                    out.push(Publish::Withdraw {
                        plugin,
                        key: key.to_owned(),
                    });
                }
            }
        }
    }
}

#[cfg(test)]
mod tests;
