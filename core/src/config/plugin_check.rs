//! The hook through which `decode` learns which plugins exist and checks
//! their configs: the plugin host installs a [`PluginCatalog`] at start;
//! without one every plugin is unknown.
//!
//! Fail closed, as APISIX: an object naming a plugin the catalog does not
//! know is refused whole (`unknown plugin [<name>]`), never served
//! without it (a route without its jwt-auth or limit-req would be open).
//! A known plugin's config is checked against the plugin's schema (`_meta`
//! is the host's, checked here, not by the plugin); a config that fails
//! refuses the object with APISIX's `failed to check the configuration of
//! plugin <name> err: <reason>`. A refused object keeps its last good
//! version; the sources decode refused objects again when the catalog
//! learns new plugins.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use serde_json::Value;

use super::error::ObjectError;
use super::kind::Kind;

/// What the config module asks about plugins.
pub trait PluginCatalog: Send + Sync {
    /// `None` when no plugin is called `name`; otherwise the check of
    /// `config` (without `_meta`) as found on an object of `kind`
    /// (consumers and credentials use the consumer schema).
    fn check(&self, kind: Kind, name: &str, config: &Value) -> Option<Result<(), String>>;

    /// The fields of plugin `name`'s config on an object of `kind` that
    /// are stored encrypted: its schema's `encrypt_fields`, as in APISIX
    /// (dotted paths); none by default.
    fn encrypt_fields(&self, kind: Kind, name: &str) -> Vec<String> {
        let _ = (kind, name);
        Vec::new()
    }
}

/// [`PluginCatalog::encrypt_fields`] of the installed catalog.
pub fn encrypt_fields(kind: Kind, name: &str) -> Vec<String> {
    catalog().map_or_else(Vec::new, |c| c.encrypt_fields(kind, name))
}

// Global: every decode (file, etcd, Admin API threads) reads it; passing it would touch them all.
static CATALOG: RwLock<Option<Arc<dyn PluginCatalog>>> = RwLock::new(None);

/// Installs the process's plugin catalog (the plugin host, at start).
pub fn set_plugin_catalog(catalog: Arc<dyn PluginCatalog>) {
    *CATALOG.write().unwrap_or_else(|e| e.into_inner()) = Some(catalog);
}

/// Bumped each time the catalog learns new plugins (a reload that loaded
/// some): sources then decode their raw objects again, so an object that
/// named a plugin unknown at the time gains it without an edit.
// Global, as the catalog it counts: the sources' threads poll it.
static GENERATION: AtomicU64 = AtomicU64::new(0);

/// Says that the installed catalog now knows more plugins.
pub fn plugin_catalog_grew() {
    GENERATION.fetch_add(1, Ordering::Release);
}

/// How many times the catalog grew (see [`plugin_catalog_grew`]).
pub fn plugin_catalog_generation() -> u64 {
    GENERATION.load(Ordering::Acquire)
}

fn catalog() -> Option<Arc<dyn PluginCatalog>> {
    CATALOG.read().unwrap_or_else(|e| e.into_inner()).clone()
}

/// Checks `_meta`: an object with `disable` (bool), `priority` (integer),
/// `filter` (array), `error_response` (string or object).
fn check_meta(meta: &Value) -> Result<(), String> {
    let Value::Object(m) = meta else {
        return Err("_meta: wrong type: expected object".into());
    };
    for (k, v) in m {
        let ok = match k.as_str() {
            "disable" => v.is_boolean(),
            "priority" => v.is_i64(),
            "filter" => v.is_array(),
            "error_response" => v.is_string() || v.is_object(),
            _ => return Err(format!("_meta: unknown property {k:?}")),
        };
        if !ok {
            return Err(format!("_meta.{k}: wrong type"));
        }
    }
    if let Some(f) = m.get("filter") {
        radix_router::Expr::parse(f).map_err(|e| format!("_meta.filter: {e}"))?;
    }
    Ok(())
}

/// The first plugin of `value.plugins` that the installed catalog does not
/// know (every plugin, without a catalog): the object is refused with
/// `unknown plugin [<name>]`.
pub fn unknown_plugin(kind: Kind, value: &Value) -> Option<String> {
    let Some(Value::Object(plugins)) = value.get("plugins") else {
        return None;
    };
    let catalog = catalog();
    plugins
        .keys()
        .find(|name| {
            catalog.as_ref().is_none_or(|c| {
                c.check(kind, name, &Value::Object(Default::default()))
                    .is_none()
            })
        })
        .cloned()
}

/// Checks every plugin of `value.plugins`: an unknown one refuses the
/// object (`unknown plugin [<name>]`), as does a config its plugin's
/// schema or `_meta`'s refuses. Errors name kind, id and plugin.
pub(super) fn check_plugins(kind: Kind, id: &str, value: &Value) -> Result<(), ObjectError> {
    let Some(Value::Object(plugins)) = value.get("plugins") else {
        return Ok(());
    };
    let catalog = catalog();
    for (name, config) in plugins {
        let refuse =
            |reason: String| ObjectError::plain(kind, id, format!("plugins.{name}"), reason);
        let known = catalog.as_ref().and_then(|c| {
            let mut bare = config.clone();
            let meta = bare.as_object_mut().and_then(|o| o.remove("_meta"));
            let checked = c.check(kind, name, &bare)?;
            Some(checked.and_then(|()| meta.as_ref().map_or(Ok(()), check_meta)))
        });
        match known {
            None => return Err(refuse(format!("unknown plugin [{name}]"))),
            Some(Err(reason)) => {
                return Err(refuse(format!(
                    "failed to check the configuration of plugin {name} err: {reason}"
                )))
            }
            Some(Ok(())) => {}
        }
    }
    Ok(())
}

/// Installs, for unit tests, a catalog that knows the plugins this repo
/// ships (any config of theirs passes) and no other.
#[cfg(test)]
pub fn install_test_catalog() {
    struct Shipped;
    impl PluginCatalog for Shipped {
        fn check(&self, _: Kind, name: &str, _: &Value) -> Option<Result<(), String>> {
            const NAMES: [&str; 9] = [
                "key-auth",
                "limit-count",
                "cors",
                "prometheus",
                "proxy-rewrite",
                "response-rewrite",
                "request-id",
                "ip-restriction",
                "http-logger",
            ];
            NAMES.contains(&name).then_some(Ok(()))
        }
    }
    set_plugin_catalog(Arc::new(Shipped));
}

#[cfg(test)]
mod tests {
    use super::check_meta;
    use serde_json::json;

    #[test]
    fn meta_is_checked_field_by_field() {
        let ok = json!({"disable": false, "priority": 5, "filter": [["arg_x", "==", "1"]],
            "error_response": {"msg": "no"}});
        assert_eq!(check_meta(&ok), Ok(()));
        let e = |v| check_meta(&v).unwrap_err();
        assert_eq!(e(json!(1)), "_meta: wrong type: expected object");
        assert_eq!(e(json!({"disable": "yes"})), "_meta.disable: wrong type");
        assert_eq!(
            e(json!({"colour": 1})),
            "_meta: unknown property \"colour\""
        );
        assert!(e(json!({"filter": [["arg_x", "~~~", "1"]]})).starts_with("_meta.filter: "));
    }
}
