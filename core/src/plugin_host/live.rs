//! The plugin configs of the objects the gateway serves, by object, as the
//! snapshot builder last applied them: what a new version of a plugin is
//! checked against before it replaces the loaded one, and what instances
//! are built again from when it does.

use std::collections::BTreeMap;
use std::sync::Mutex;

use serde_json::Value;

use super::entry::PluginEntry;
use super::multi_auth;
use crate::config::{Id, Kind, Plugins};

/// Every served object's `plugins`, by kind and id. Written by the
/// snapshot builder as objects come and go; read by a reload.
#[derive(Debug, Default)]
pub struct LiveConfigs {
    by_object: Mutex<BTreeMap<(Kind, Id), Plugins>>,
}

impl LiveConfigs {
    /// Records object `kind`/`id`'s plugins (none: forgets the object).
    pub(crate) fn set(&self, kind: Kind, id: &Id, plugins: &Plugins) {
        let mut all = self.lock();
        if plugins.is_empty() {
            all.remove(&(kind, id.clone()));
        } else {
            all.insert((kind, id.clone()), plugins.clone());
        }
    }

    /// Forgets object `kind`/`id`.
    pub(crate) fn remove(&self, kind: Kind, id: &Id) {
        self.lock().remove(&(kind, id.clone()));
    }

    /// Forgets every object.
    pub(crate) fn clear(&self) {
        self.lock().clear();
    }

    /// The objects that configure any of the plugins `names`, with their
    /// plugins.
    pub(crate) fn users_of(&self, names: &[String]) -> Vec<(Kind, Id, Plugins)> {
        self.lock()
            .iter()
            .filter(|(_, plugins)| {
                names
                    .iter()
                    .any(|n| plugins.contains_key(n) || lists(plugins, n).next().is_some())
            })
            .map(|((kind, id), plugins)| (*kind, id.clone(), plugins.clone()))
            .collect()
    }

    /// Checks every live config of `entry`'s plugin against `entry`'s
    /// schemas (a consumer's or credential's against its consumer schema,
    /// when it has one; those a multi-auth lists against its route
    /// schema); the error names each object refused, with the field and
    /// reason: `route r1 (legacy: false was expected); ...`.
    pub fn check(&self, entry: &PluginEntry) -> Result<(), String> {
        let checked = |kind: &Kind, config: &Value| {
            let mut config = config.clone();
            if let Value::Object(map) = &mut config {
                map.remove("_meta");
            }
            match kind {
                Kind::Consumer | Kind::Credential if entry.consumer_schema.is_some() => {
                    entry.check_consumer_config(&config)
                }
                _ => entry.check_config(&config),
            }
        };
        let refused: Vec<String> = self
            .lock()
            .iter()
            .flat_map(|((kind, id), plugins)| {
                let own = plugins.get(&entry.name).map(|c| checked(kind, c));
                let listed = lists(plugins, &entry.name).map(|(i, c)| {
                    checked(&Kind::Route, c)
                        .map_err(|e| format!("{}.auth_plugins[{i}]: {e}", multi_auth::NAME))
                });
                own.into_iter()
                    .chain(listed)
                    .filter_map(|r| r.err())
                    .map(move |reason| format!("{kind} {id} ({reason})"))
                    .collect::<Vec<_>>()
            })
            .collect();
        match refused.is_empty() {
            true => Ok(()),
            false => Err(refused.join("; ")),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<(Kind, Id), Plugins>> {
        self.by_object.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The configs of plugin `name` that `plugins`' multi-auth lists, with
/// their places in `auth_plugins`.
fn lists<'a>(plugins: &'a Plugins, name: &'a str) -> impl Iterator<Item = (usize, &'a Value)> {
    let listed = plugins.get(multi_auth::NAME).map(multi_auth::listed);
    listed
        .into_iter()
        .flatten()
        .filter(move |(_, n, _)| *n == name)
        .map(|(i, _, c)| (i, c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plugin_a_multi_auth_lists_counts_as_used() {
        let live = LiveConfigs::default();
        let plugins: Plugins = serde_json::from_str(
            r#"{"multi-auth": {"auth_plugins": [{"basic-auth": {}}, {"key-auth": {"header": "k"}}]}}"#,
        )
        .expect("JSON");
        live.set(Kind::Route, &Id("r1".into()), &plugins);
        let users = |name: &str| {
            let found = live.users_of(&[name.to_string()]);
            found.into_iter().map(|(_, id, _)| id.0).collect::<Vec<_>>()
        };
        // An upgrade of key-auth rebuilds r1, whose multi-auth holds one.
        assert_eq!(users("key-auth"), ["r1"]);
        assert_eq!(users("multi-auth"), ["r1"]);
        assert!(users("jwt-auth").is_empty());
        let listed: Vec<_> = lists(&plugins, "key-auth").collect();
        assert_eq!(listed, [(1, &serde_json::json!({"header": "k"}))]);
    }
}
