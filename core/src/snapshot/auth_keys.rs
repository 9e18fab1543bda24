//! Who holds each key-auth key, as the gateway serves it. A consumer holds
//! its own key; a credential holds its key only while its consumer exists
//! (deleting a consumer revokes its credentials, however it was deleted).
//! A key is served for exactly one holder: when two consumers or
//! credentials claim the same key (written to etcd around the Admin API's
//! check), it is refused for all of them, and logged naming them, until
//! only one is left; the gateway never picks one.
//!
//! This module only decides; [`super::plugins`] writes the decisions to
//! the plugins' shared store.

use std::collections::{BTreeSet, HashMap, HashSet};

use crate::config::{Id, CREDENTIALS};

/// A change to what the shared store says about one key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Publish {
    /// `key` authenticates as `owner` (a username, or
    /// `<username>/credentials/<id>`).
    Set {
        /// The key-auth key.
        key: String,
        /// Its holder.
        owner: Id,
    },
    /// `key` authenticates nobody.
    Withdraw {
        /// The key-auth key.
        key: String,
    },
}

/// The keys objects configure and the holders served.
#[derive(Debug, Default)]
pub struct AuthKeys {
    /// The key each consumer or credential configures.
    wanted: HashMap<Id, String>,
    /// Everyone configuring each key, whether served or not.
    claims: HashMap<String, BTreeSet<Id>>,
    /// Consumers that exist, by username.
    consumers: HashSet<Id>,
    /// Credentials that configure a key, by their consumer's username.
    credentials: HashMap<Id, BTreeSet<Id>>,
    /// The holder each served key authenticates as.
    served: HashMap<String, Id>,
}

/// The consumer a credential id (`jack/credentials/c1`) belongs to; `None`
/// for a consumer's own id.
fn consumer_of(owner: &Id) -> Option<Id> {
    owner
        .0
        .split_once(CREDENTIALS)
        .map(|(user, _)| Id(user.to_owned()))
}

impl AuthKeys {
    /// Sets the key `owner` configures (`None`: none); what to publish.
    pub fn set_key(&mut self, owner: &Id, key: Option<&str>) -> Vec<Publish> {
        let mut out = Vec::new();
        let old = self.wanted.remove(owner);
        if old.as_deref() == key {
            if let Some(k) = old {
                self.wanted.insert(owner.clone(), k);
            }
            return out;
        }
        let user = consumer_of(owner);
        if let Some(old) = old {
            if let Some(set) = self.claims.get_mut(&old) {
                set.remove(owner);
                if set.is_empty() {
                    self.claims.remove(&old);
                }
            }
            if let Some(user) = &user {
                if let Some(set) = self.credentials.get_mut(user) {
                    set.remove(owner);
                    if set.is_empty() {
                        self.credentials.remove(user);
                    }
                }
            }
            self.refresh(&old, &mut out);
        }
        if let Some(key) = key {
            self.wanted.insert(owner.clone(), key.to_owned());
            self.claims
                .entry(key.to_owned())
                .or_default()
                .insert(owner.clone());
            if let Some(user) = user {
                self.credentials
                    .entry(user)
                    .or_default()
                    .insert(owner.clone());
            }
            self.refresh(key, &mut out);
        }
        out
    }

    /// Records whether consumer `username` exists; what to publish (its
    /// key and its credentials' keys follow it).
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
        let mut keys: BTreeSet<String> = self.wanted.get(username).cloned().into_iter().collect();
        for cred in self.credentials.get(username).into_iter().flatten() {
            keys.extend(self.wanted.get(cred).cloned());
        }
        for key in keys {
            self.refresh(&key, &mut out);
        }
        out
    }

    /// Forgets everything; withdraws every served key.
    pub fn clear(&mut self) -> Vec<Publish> {
        let out = self
            .served
            .drain()
            .map(|(key, _)| Publish::Withdraw { key })
            .collect();
        *self = AuthKeys::default();
        out
    }

    /// Whether `owner`'s key may be served: a consumer that exists, or a
    /// credential whose consumer exists.
    fn active(&self, owner: &Id) -> bool {
        match consumer_of(owner) {
            Some(user) => self.consumers.contains(&user),
            None => self.consumers.contains(owner),
        }
    }

    /// Decides `key` again after a change to its claims or their consumers.
    fn refresh(&mut self, key: &str, out: &mut Vec<Publish>) {
        let holders: Vec<&Id> = self
            .claims
            .get(key)
            .into_iter()
            .flatten()
            .filter(|o| self.active(o))
            .collect();
        let want = match holders.as_slice() {
            [one] => Some((*one).clone()),
            [] => None,
            many => {
                let names: Vec<&str> = many.iter().map(|o| o.0.as_str()).collect();
                // The key itself is a secret: only its holders are named.
                tracing::error!(
                    holders = %names.join(", "),
                    "one key-auth key is configured on more than one consumer or credential: \
                     it is refused for all of them until only one holds it"
                );
                None
            }
        };
        match want {
            Some(owner) if self.served.get(key) != Some(&owner) => {
                self.served.insert(key.to_owned(), owner.clone());
                out.push(Publish::Set {
                    key: key.to_owned(),
                    owner,
                });
            }
            Some(_) => {}
            None => {
                if self.served.remove(key).is_some() {
                    out.push(Publish::Withdraw {
                        key: key.to_owned(),
                    });
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(s: &str) -> Id {
        Id(s.to_owned())
    }

    fn set(key: &str, owner: &str) -> Publish {
        Publish::Set {
            key: key.into(),
            owner: id(owner),
        }
    }

    fn gone(key: &str) -> Publish {
        Publish::Withdraw { key: key.into() }
    }

    #[test]
    fn a_consumer_key_is_served_while_the_consumer_exists() {
        let mut k = AuthKeys::default();
        assert_eq!(k.set_key(&id("jack"), Some("k1")), vec![]);
        assert_eq!(k.set_consumer(&id("jack"), true), vec![set("k1", "jack")]);
        assert_eq!(
            k.set_key(&id("jack"), Some("k2")),
            vec![gone("k1"), set("k2", "jack")]
        );
        assert_eq!(k.set_key(&id("jack"), Some("k2")), vec![]);
        assert_eq!(k.set_consumer(&id("jack"), false), vec![gone("k2")]);
    }

    #[test]
    fn credentials_follow_their_consumer() {
        let mut k = AuthKeys::default();
        let cred = "jack/credentials/c1";
        // A credential without its consumer authenticates nobody.
        assert_eq!(k.set_key(&id(cred), Some("kc")), vec![]);
        assert_eq!(k.set_consumer(&id("jack"), true), vec![set("kc", cred)]);
        assert_eq!(k.set_consumer(&id("jack"), false), vec![gone("kc")]);
        assert_eq!(k.set_consumer(&id("jack"), true), vec![set("kc", cred)]);
        assert_eq!(k.set_key(&id(cred), None), vec![gone("kc")]);
        assert_eq!(k.set_consumer(&id("jack"), false), vec![]);
    }

    #[test]
    fn a_key_held_twice_is_served_for_neither_until_one_lets_go() {
        let mut k = AuthKeys::default();
        k.set_consumer(&id("jack"), true);
        k.set_consumer(&id("anna"), true);
        assert_eq!(
            k.set_key(&id("jack"), Some("same")),
            vec![set("same", "jack")]
        );
        assert_eq!(k.set_key(&id("anna"), Some("same")), vec![gone("same")]);
        // A third claim changes nothing: still refused.
        assert_eq!(k.set_key(&id("anna/credentials/c"), Some("same")), vec![]);
        assert_eq!(k.set_key(&id("anna/credentials/c"), None), vec![]);
        assert_eq!(k.set_key(&id("jack"), None), vec![set("same", "anna")]);
        assert_eq!(k.clear(), vec![gone("same")]);
    }

    #[test]
    fn a_claim_by_a_credential_without_consumer_does_not_collide() {
        let mut k = AuthKeys::default();
        k.set_consumer(&id("jack"), true);
        assert_eq!(k.set_key(&id("jack"), Some("k")), vec![set("k", "jack")]);
        assert_eq!(k.set_key(&id("ghost/credentials/c"), Some("k")), vec![]);
        assert_eq!(k.set_consumer(&id("ghost"), true), vec![gone("k")]);
        assert_eq!(k.set_consumer(&id("ghost"), false), vec![set("k", "jack")]);
    }
}
