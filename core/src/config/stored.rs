//! Objects as they are stored (in etcd, in the standalone file) turned
//! into what [`decode`](super::decode) checks, and back: the fields a
//! plugin's schema lists in `encrypt_fields` and `ssls`' private keys are
//! decrypted with the keyring (etcd only, as in APISIX), and `$env://NAME`
//! references in plugin configs and `ssls` are resolved from the
//! environment. A value that cannot be opened refuses its object, naming
//! the field.

use std::sync::{Arc, RwLock};

use serde_json::Value;

use super::encryption::{each_field, Keyring};
use super::error::ObjectError;
use super::kind::Kind;
use super::plugin_check::encrypt_fields;

// Global: set once at start from config.yaml; every source thread and the
// Admin API read it, as they read the plugin catalog.
static KEYRING: RwLock<Option<Arc<Keyring>>> = RwLock::new(None);

/// Installs the keyring that stored fields are encrypted with (`None`:
/// encryption off).
pub fn set_keyring(keyring: Option<Keyring>) {
    *KEYRING.write().unwrap_or_else(|e| e.into_inner()) = keyring.map(Arc::new);
}

/// The installed keyring, when encryption is on.
pub fn keyring() -> Option<Arc<Keyring>> {
    KEYRING.read().unwrap_or_else(|e| e.into_inner()).clone()
}

/// Where a stored object comes from: etcd values may hold encrypted
/// fields, the standalone file never does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Store {
    /// etcd (written by radixgate's or APISIX's Admin API).
    Etcd,
    /// The standalone file.
    File,
}

/// Opens `value`, object `kind`/`id` as stored in `store`: decrypts its
/// encrypted fields (etcd) and resolves its `$env://` references.
pub fn open(kind: Kind, id: &str, value: &mut Value, store: Store) -> Result<(), ObjectError> {
    let keyring = (store == Store::Etcd).then(keyring).flatten();
    let refuse = |field: String, reason: String| ObjectError::plain(kind, id, field, reason);
    if kind == Kind::Ssl {
        for (name, pem) in ssl_pems(value) {
            if let (Some(ring), true) = (&keyring, name.starts_with("key")) {
                if !pem.starts_with("---") {
                    match ring.decrypt(pem) {
                        Ok(Some(plain)) => *pem = plain,
                        Ok(None) => {}
                        Err(e) => return Err(refuse(name, e.to_owned())),
                    }
                }
            }
            resolve_env(pem).map_err(|e| refuse(name, e))?;
        }
        return Ok(());
    }
    let Some(Value::Object(plugins)) = value.get_mut("plugins") else {
        return Ok(());
    };
    for (name, config) in plugins.iter_mut() {
        if let Some(ring) = &keyring {
            let paths = encrypt_fields(kind, name);
            each_field(config, &paths, &mut |s| {
                if let Some(plain) = ring.decrypt(s).map_err(str::to_owned)? {
                    *s = plain;
                }
                Ok(())
            })
            .map_err(|e| refuse(format!("plugins.{name}"), e))?;
        }
        env_in(config).map_err(|e| refuse(format!("plugins.{name}"), e))?;
    }
    Ok(())
}

/// Seals `value`, object `kind` about to be stored in etcd: encrypts its
/// plugins' `encrypt_fields` and an `ssls`' private keys with the keyring's
/// first key (nothing when encryption is off). References stay as written.
pub fn seal(kind: Kind, value: &mut Value) {
    let Some(ring) = keyring() else {
        return;
    };
    let mut encrypt = |s: &mut String| {
        if !s.to_ascii_lowercase().starts_with("$env://") {
            *s = ring.encrypt(s);
        }
        Ok(())
    };
    if kind == Kind::Ssl {
        for (name, pem) in ssl_pems(value) {
            if name.starts_with("key") && pem.starts_with("---") {
                let _ = encrypt(pem);
            }
        }
        return;
    }
    if let Some(Value::Object(plugins)) = value.get_mut("plugins") {
        for (name, config) in plugins.iter_mut() {
            let _ = each_field(config, &encrypt_fields(kind, name), &mut encrypt);
        }
    }
}

/// Opens `value` as the Admin API shows a stored object: decrypted, as
/// APISIX answers (references stay as written); a field no key opens is
/// left as stored.
pub fn reveal(kind: Kind, value: &mut Value) {
    let Some(ring) = keyring() else {
        return;
    };
    let mut decrypt = |s: &mut String| {
        if let Ok(Some(plain)) = ring.decrypt(s) {
            *s = plain;
        }
        Ok(())
    };
    if kind == Kind::Ssl {
        for (name, pem) in ssl_pems(value) {
            if name.starts_with("key") && !pem.starts_with("---") {
                let _ = decrypt(pem);
            }
        }
        return;
    }
    if let Some(Value::Object(plugins)) = value.get_mut("plugins") {
        for (name, config) in plugins.iter_mut() {
            let _ = each_field(config, &encrypt_fields(kind, name), &mut decrypt);
        }
    }
}

/// An `ssls` object's PEM strings, by field name (`cert`, `key`,
/// `certs[1]`, `keys[0]`).
fn ssl_pems(value: &mut Value) -> Vec<(String, &mut String)> {
    let Some(obj) = value.as_object_mut() else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (name, field) in obj.iter_mut() {
        match (name.as_str(), field) {
            ("cert" | "key", Value::String(s)) => out.push((name.clone(), s)),
            ("certs" | "keys", Value::Array(items)) => {
                for (i, item) in items.iter_mut().enumerate() {
                    if let Value::String(s) = item {
                        out.push((format!("{name}[{i}]"), s));
                    }
                }
            }
            _ => {}
        }
    }
    out
}

/// Resolves every `$env://` reference among the strings of `value`.
fn env_in(value: &mut Value) -> Result<(), String> {
    match value {
        Value::String(s) => resolve_env(s),
        Value::Array(items) => items.iter_mut().try_for_each(env_in),
        Value::Object(map) => map
            .iter_mut()
            .try_for_each(|(k, v)| env_in(v).map_err(|e| format!("{k}: {e}"))),
        _ => Ok(()),
    }
}

/// Replaces `$env://NAME` (any case of `$env://`) with the value of
/// environment variable `NAME`; an unset variable is an error, and so is a
/// `$secret://` reference (no secret manager here: refused, not sent on
/// as a literal).
fn resolve_env(s: &mut String) -> Result<(), String> {
    const PREFIX: &str = "$env://";
    const SECRET: &str = "$secret://";
    if s.len() >= SECRET.len() && s[..SECRET.len()].eq_ignore_ascii_case(SECRET) {
        return Err(format!(
            "{s:?}: $secret:// references need a secret manager, which this gateway does not support"
        ));
    }
    if s.len() < PREFIX.len() || !s[..PREFIX.len()].eq_ignore_ascii_case(PREFIX) {
        return Ok(());
    }
    let name = &s[PREFIX.len()..];
    match std::env::var(name) {
        Ok(v) => {
            *s = v;
            Ok(())
        }
        Err(_) => Err(format!("environment variable {name:?} is not set")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_references_resolve_or_refuse() {
        std::env::set_var("RADIXGATE_TEST_SECRET", "s3cret");
        let mut v = serde_json::json!({"plugins": {"key-auth": {"key": "$ENV://RADIXGATE_TEST_SECRET",
            "list": ["$env://RADIXGATE_TEST_SECRET", 1]}}});
        open(Kind::Consumer, "jack", &mut v, Store::File).expect("resolves");
        assert_eq!(v["plugins"]["key-auth"]["key"], "s3cret");
        assert_eq!(v["plugins"]["key-auth"]["list"][0], "s3cret");
        let mut v =
            serde_json::json!({"plugins": {"key-auth": {"key": "$env://RADIXGATE_TEST_UNSET"}}});
        let e = open(Kind::Consumer, "jack", &mut v, Store::File).expect_err("unset");
        assert_eq!(
            (e.field.as_str(), e.id.as_str()),
            ("plugins.key-auth", "jack")
        );
        assert!(e.to_string().contains("RADIXGATE_TEST_UNSET"), "{e}");
    }
}
