//! Checks before writing a consumer or a credential, as APISIX 3.x makes
//! them: a credential's consumer must exist, and an auth key (key-auth's
//! `key`, ...) may be held by one consumer or credential only
//! (`duplicate key found with consumer: jack`). Each check gives the
//! [`Guard`]s the write carries, so that etcd refuses it if what was
//! checked changed in between.

use serde_json::Value;

use super::check::Refusal;
use super::store::{AdminStore, Guard};
use crate::config::{Kind, CREDENTIALS};

/// The auth plugins whose consumer config names one consumer, and the
/// field that does (APISIX's `plugin_key_map`).
pub const KEY_FIELDS: [(&str, &str); 4] = [
    ("key-auth", "key"),
    ("basic-auth", "username"),
    ("jwt-auth", "key"),
    ("hmac-auth", "key_id"),
];

/// The auth keys `value` holds: (plugin, key value).
fn keys_of(value: &Value) -> Vec<(&'static str, &Value)> {
    let Some(plugins) = value.get("plugins") else {
        return Vec::new();
    };
    KEY_FIELDS
        .iter()
        .filter_map(|(plugin, field)| {
            let key = plugins.get(*plugin)?.get(*field)?;
            (!key.is_null()).then_some((*plugin, key))
        })
        .collect()
}

/// The username an etcd key under `<prefix>/consumers/` belongs to
/// (`jack` for `.../consumers/jack` and `.../consumers/jack/credentials/c1`).
fn username_of<'k>(consumers_dir: &str, key: &'k str) -> Option<&'k str> {
    let rest = key.strip_prefix(consumers_dir)?.strip_prefix('/')?;
    Some(rest.split('/').next().unwrap_or(rest))
}

/// Checks consumer or credential `value`, to be written at `key`, against
/// the others; the guards its write must carry.
pub async fn check(
    store: &AdminStore,
    kind: Kind,
    key: &str,
    value: &Value,
) -> Result<Vec<Guard>, Refusal> {
    let consumers = format!("{}/{}", store.prefix(), Kind::Consumer.key());
    let mut guards = Vec::new();
    if kind == Kind::Credential {
        // `<prefix>/consumers/<username>/credentials/<id>`.
        let consumer_key = key
            .split_once(CREDENTIALS)
            .map_or(key, |(consumer, _)| consumer);
        if store.get(consumer_key).await?.is_none() {
            let user = username_of(&consumers, key).unwrap_or("");
            return Err(Refusal::Invalid(format!(
                "failed to fetch consumer info by consumer id [{user}], response code: 404"
            )));
        }
        guards.push(Guard::Exists(consumer_key.to_owned()));
    }
    let mine = keys_of(value);
    if mine.is_empty() {
        return Ok(guards);
    }
    let tree = store.tree(&consumers).await?;
    for other in &tree.kvs {
        if other.key == key {
            continue;
        }
        // Stored values have their encrypted fields sealed; compare the
        // keys as written.
        let other_kind = if other.key.contains(CREDENTIALS) {
            Kind::Credential
        } else {
            Kind::Consumer
        };
        let mut held = other.value.clone();
        crate::config::reveal(other_kind, &mut held);
        let taken = keys_of(&held).into_iter().any(|held| mine.contains(&held));
        if taken {
            let owner = username_of(&consumers, &other.key).unwrap_or("");
            return Err(Refusal::Invalid(format!(
                "duplicate key found with consumer: {owner}"
            )));
        }
    }
    guards.push(Guard::Unchanged {
        prefix: format!("{consumers}/"),
        since: tree.revision,
    });
    Ok(guards)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn auth_keys_are_found_by_plugin_and_field() {
        let v = json!({"plugins": {"key-auth": {"key": "k1"}, "basic-auth": {"username": "u", "password": "p"}, "cors": {}}});
        assert_eq!(
            keys_of(&v),
            vec![("key-auth", &json!("k1")), ("basic-auth", &json!("u"))]
        );
        assert!(keys_of(&json!({"username": "jack"})).is_empty());
        // The same value under another plugin is another key.
        let other = json!({"plugins": {"jwt-auth": {"key": "k1"}}});
        assert!(!keys_of(&other)
            .into_iter()
            .any(|held| keys_of(&v).contains(&held)));
    }

    #[test]
    fn keys_name_their_consumer() {
        let dir = "/apisix/consumers";
        assert_eq!(username_of(dir, "/apisix/consumers/jack"), Some("jack"));
        assert_eq!(
            username_of(dir, "/apisix/consumers/jack/credentials/c1"),
            Some("jack")
        );
        assert_eq!(username_of(dir, "/apisix/routes/1"), None);
    }
}
