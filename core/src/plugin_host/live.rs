//! The plugin configs of the objects the gateway serves, by object, as the
//! snapshot builder last applied them: what a new version of a plugin is
//! checked against before it replaces the loaded one, and what instances
//! are built again from when it does.

use std::collections::BTreeMap;
use std::sync::Mutex;

use serde_json::Value;

use super::entry::PluginEntry;
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
            .filter(|(_, plugins)| names.iter().any(|n| plugins.contains_key(n)))
            .map(|((kind, id), plugins)| (*kind, id.clone(), plugins.clone()))
            .collect()
    }

    /// Checks every live config of `entry`'s plugin against `entry`'s
    /// schemas (a consumer's or credential's against its consumer schema,
    /// when it has one); the error names each object refused, with the
    /// field and reason: `route r1 (legacy: false was expected); ...`.
    pub fn check(&self, entry: &PluginEntry) -> Result<(), String> {
        let refused: Vec<String> = self
            .lock()
            .iter()
            .filter_map(|((kind, id), plugins)| {
                let mut config = plugins.get(&entry.name)?.clone();
                if let Value::Object(map) = &mut config {
                    map.remove("_meta");
                }
                let checked = match kind {
                    Kind::Consumer | Kind::Credential if entry.consumer_schema.is_some() => {
                        entry.check_consumer_config(&config)
                    }
                    _ => entry.check_config(&config),
                };
                checked
                    .err()
                    .map(|reason| format!("{kind} {id} ({reason})"))
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
