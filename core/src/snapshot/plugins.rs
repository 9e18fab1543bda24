//! Plugin instances per object and the chains routes run, as docs/plugins.md
//! says: a route's own plugins, then its plugin_config's for the names the
//! route lacks, then its service's for the names both lack; global rules
//! as their own chain, run before the route's and also when no route
//! matched. Instances are built once per object when it is loaded; a
//! route's chain shares them.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use serde_json::Value;

use super::auth_keys::{key_of, AuthKeys, Publish, KEY_FIELDS};
use super::IdMap;
use crate::config::{Id, Kind, Object, ObjectError, Plugins};
use crate::plugin_host::{Chain, ConfiguredPlugin, PluginHost};

/// The built plugins of one object, by name.
type PluginSet = BTreeMap<String, Arc<ConfiguredPlugin>>;

/// Instances of every object's plugins, and the host that builds them.
#[derive(Debug, Default)]
pub struct PluginSets {
    host: Option<Arc<PluginHost>>,
    sets: IdMap<(Kind, Id), PluginSet>,
    /// Auth keys: who configures which, and who is served.
    keys: AuthKeys,
    /// Each consumer's group, by username.
    groups: IdMap<Id, Option<Id>>,
    /// Ids of the global rules that have plugins (their chain is built
    /// from these without looking at every object's).
    globals: std::collections::BTreeSet<Id>,
}

/// Consumers' plugin chains by username (consumer > consumer_group).
pub type ConsumerChains = HashMap<String, Arc<Chain>>;

/// Consumers' group ids by username, for those that have a group.
pub type ConsumerGroups = HashMap<String, String>;

impl PluginSets {
    /// Sets the host that builds instances (none: objects' plugins are ignored).
    pub fn set_host(&mut self, host: Arc<PluginHost>) {
        self.host = Some(host);
    }

    /// Forgets every object's plugins (a full reload); the host stays.
    pub fn clear(&mut self) {
        self.sets.clear();
        self.globals.clear();
        if let Some(host) = &self.host {
            host.registry.live().clear();
        }
        let withdrawn = self.keys.clear();
        self.apply_keys(withdrawn);
        for user in self.groups.keys() {
            self.publish_consumer(user, false);
        }
        self.groups.clear();
    }

    /// Builds the plugins of object `kind`/`id` and keeps them in place of
    /// its previous ones; on error nothing changes (the last good version stays).
    pub fn put(&mut self, kind: Kind, id: &Id, plugins: &Plugins) -> Result<(), ObjectError> {
        let key = (kind, id.clone());
        let Some(host) = &self.host else {
            // Without a plugin host every plugin is unknown: refused.
            return match plugins.keys().next() {
                Some(name) => Err(ObjectError::plain(
                    kind,
                    &id.0,
                    format!("plugins.{name}"),
                    format!("unknown plugin [{name}]"),
                )),
                None => Ok(()),
            };
        };
        if plugins.is_empty() {
            self.sets.remove(&key);
            if kind == Kind::GlobalRule {
                self.globals.remove(id);
            }
            host.registry.live().remove(kind, id);
            return Ok(());
        }
        let mut set = PluginSet::new();
        for (name, config) in plugins {
            // A consumer's auth config is credentials, not an instance.
            if matches!(kind, Kind::Consumer | Kind::Credential)
                && host
                    .registry
                    .get(name)
                    .is_some_and(|e| e.consumer_schema.is_some())
            {
                continue;
            }
            match ConfiguredPlugin::build(host, name, config) {
                Ok(Some(c)) => {
                    set.insert(name.clone(), Arc::new(c));
                }
                // Decoding refuses an unknown plugin already; should one
                // come here all the same, the object is refused: never
                // served without a plugin it names.
                Ok(None) => {
                    return Err(ObjectError::plain(
                        kind,
                        &id.0,
                        format!("plugins.{name}"),
                        format!("unknown plugin [{name}]"),
                    ))
                }
                Err(e) => {
                    return Err(ObjectError::plain(
                        kind,
                        &id.0,
                        format!("plugins.{name}"),
                        e.to_string(),
                    ))
                }
            }
        }
        self.sets.insert(key, set);
        if kind == Kind::GlobalRule {
            self.globals.insert(id.clone());
        }
        host.registry.live().set(kind, id, plugins);
        Ok(())
    }

    /// Builds the plugins of every object that configures one of `names`
    /// again, from its live config (a reload upgraded them: the registry
    /// now holds their new versions); returns the objects rebuilt. An object
    /// whose plugins fail to build keeps its old instances; its error is
    /// pushed on `errors`.
    pub fn rebuild(&mut self, names: &[String], errors: &mut Vec<ObjectError>) -> Vec<(Kind, Id)> {
        let Some(host) = self.host.clone() else {
            return Vec::new();
        };
        let mut rebuilt = Vec::new();
        for (kind, id, plugins) in host.registry.live().users_of(names) {
            match self.put(kind, &id, &plugins) {
                Ok(()) => rebuilt.push((kind, id)),
                Err(e) => errors.push(e),
            }
        }
        rebuilt
    }

    /// Forgets object `kind`/`id`'s plugins.
    pub fn remove(&mut self, kind: Kind, id: &Id) {
        self.sets.remove(&(kind, id.clone()));
        if kind == Kind::GlobalRule {
            self.globals.remove(id);
        }
        if let Some(host) = &self.host {
            host.registry.live().remove(kind, id);
        }
        if kind == Kind::Consumer {
            self.groups.remove(id);
            self.publish_consumer(id, false);
            let changes = self.keys.set_consumer(id, false);
            self.apply_keys(changes);
        }
    }

    /// Records consumer `username` and its group.
    pub fn set_group(&mut self, username: &Id, group: Option<&Id>) {
        self.groups.insert(username.clone(), group.cloned());
        self.publish_consumer(username, true);
        let changes = self.keys.set_consumer(username, true);
        self.apply_keys(changes);
    }

    /// Publishes (or withdraws) that consumer `username` exists, as
    /// `consumer:name:<username>` -> `username` in the shared store (how
    /// key-auth finds its anonymous consumer).
    fn publish_consumer(&self, username: &Id, exists: bool) {
        let Some(host) = &self.host else {
            return;
        };
        let key = format!("consumer:name:{username}");
        let value = exists.then_some(username.0.as_str());
        host.services.store().publish(&key, value);
    }

    /// The chains of consumers that have plugins (their own, then their
    /// group's for names they lack); `None` when no consumer has any.
    pub fn consumer_chains(&self) -> Option<Arc<ConsumerChains>> {
        let mut all = ConsumerChains::new();
        for (user, group) in &self.groups {
            let mut merged: PluginSet = PluginSet::new();
            let layers = [
                self.get(Kind::Consumer, Some(user)),
                self.get(Kind::ConsumerGroup, group.as_ref()),
            ];
            for set in layers.into_iter().flatten() {
                for (name, c) in set {
                    merged.entry(name.clone()).or_insert_with(|| c.clone());
                }
            }
            if let Some(chain) = Chain::new(merged.into_values()) {
                all.insert(user.0.clone(), chain);
            }
        }
        (!all.is_empty()).then(|| Arc::new(all))
    }

    /// The group of each consumer that has one; `None` when none has.
    pub fn consumer_groups(&self) -> Option<Arc<ConsumerGroups>> {
        let all: ConsumerGroups = self
            .groups
            .iter()
            .filter_map(|(user, group)| Some((user.0.clone(), group.as_ref()?.0.clone())))
            .collect();
        (!all.is_empty()).then(|| Arc::new(all))
    }

    fn get(&self, kind: Kind, id: Option<&Id>) -> Option<&PluginSet> {
        self.sets.get(&(kind, id?.clone()))
    }

    /// The merged chain of a route: its own plugins win, its plugin_config
    /// fills in the names it lacks, then its service.
    pub fn route_chain(
        &self,
        route: &Id,
        plugin_config: Option<&Id>,
        service: Option<&Id>,
    ) -> Option<Arc<Chain>> {
        let mut merged: PluginSet = PluginSet::new();
        let layers = [
            self.get(Kind::Route, Some(route)),
            self.get(Kind::PluginConfig, plugin_config),
            self.get(Kind::Service, service),
        ];
        for set in layers.into_iter().flatten() {
            for (name, c) in set {
                merged.entry(name.clone()).or_insert_with(|| c.clone());
            }
        }
        Chain::new(merged.into_values())
    }

    /// The global rules' chain: every rule's plugins as their own
    /// instances, sorted by priority.
    pub fn global_chain(&self) -> Option<Arc<Chain>> {
        // `globals` is ordered by id.
        let sets = self
            .globals
            .iter()
            .filter_map(|id| self.get(Kind::GlobalRule, Some(id)));
        Chain::new(sets.flat_map(|set| set.values().cloned()))
    }

    /// Sets the auth keys of object `owner` (a consumer, whose id is its
    /// username, or a credential, `<username>/credentials/<id>`) for every
    /// auth plugin of [`KEY_FIELDS`]; `None` withdraws them. A key is
    /// published in the shared store while exactly one consumer, or
    /// credential of an existing consumer, holds it ([`super::auth_keys`]):
    ///
    /// - `consumer:key-auth:<key>` -> the holder's id (key-auth's lookup);
    /// - `consumer:<plugin>:<key>` -> `{"owner": "<id>", "conf": {...}}`
    ///   for basic-auth (`username`), jwt-auth (`key`) and hmac-auth
    ///   (`key_id`): the holder and its config of the plugin, its
    ///   encrypted fields opened (sources decrypt them on load).
    pub fn publish_key(&mut self, owner: &Id, plugins: Option<&Plugins>) {
        for (plugin, field) in KEY_FIELDS {
            let changes = self
                .keys
                .set_key(plugin, owner, key_of(plugins, plugin, field));
            self.apply_keys(changes);
        }
    }

    /// Writes key decisions to the shared store.
    fn apply_keys(&self, changes: Vec<Publish>) {
        let Some(host) = &self.host else {
            return;
        };
        let store = host.services.store();
        for change in changes {
            match change {
                Publish::Set {
                    plugin: "key-auth",
                    key,
                    owner,
                    ..
                } => store.publish(&format!("consumer:key-auth:{key}"), Some(&owner.0)),
                Publish::Set {
                    plugin,
                    key,
                    owner,
                    conf,
                } => {
                    let value = format!(r#"{{"owner":{},"conf":{conf}}}"#, Value::String(owner.0));
                    store.publish(&format!("consumer:{plugin}:{key}"), Some(&value))
                }
                Publish::Withdraw { plugin, key } => {
                    store.publish(&format!("consumer:{plugin}:{key}"), None)
                }
            }
        }
    }

    /// Sets (`Some`) or removes plugin `name`'s plugin_metadata.
    pub fn set_metadata(&self, name: &Id, metadata: Option<&serde_json::Map<String, Value>>) {
        if let Some(host) = &self.host {
            let json = metadata.map(|m| Value::Object(m.clone()).to_string());
            host.services.set_metadata(&name.0, json);
        }
    }
}

/// The plugins an object configures, for the kinds that have any.
pub fn plugins_of(object: &Object) -> Option<&Plugins> {
    match object {
        Object::Route(o) => Some(&o.plugins),
        Object::Service(o) => Some(&o.plugins),
        Object::Consumer(o) => Some(&o.plugins),
        Object::ConsumerGroup(o) => Some(&o.plugins),
        Object::GlobalRule(o) => Some(&o.plugins),
        Object::PluginConfig(o) => Some(&o.plugins),
        Object::Credential(o) => Some(&o.plugins),
        _ => None,
    }
}
