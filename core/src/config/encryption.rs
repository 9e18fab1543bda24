//! APISIX's field encryption (`data_encryption:`), so that radixgate and
//! APISIX can share one etcd both ways: the fields a plugin's schema lists
//! in `encrypt_fields` (key-auth's `key`, basic-auth's `password`...) and
//! the private keys of `ssls` are stored AES-128-CBC encrypted (PKCS#7
//! padding; key and IV both the keyring entry's 16 bytes), base64-encoded.
//! Writes use the keyring's first entry; reads try each entry in turn, so a
//! keyring can be rotated by putting the new key first.
//!
//! Only values that can be ciphertext (base64 of whole AES blocks) are
//! decrypted: one that no entry decrypts refuses its object, naming the
//! field. Another value is plaintext, kept as it is (written before
//! encryption was on, or by a tool that does not encrypt), as APISIX keeps
//! it.

use aes::cipher::{block_padding::Pkcs7, BlockDecryptMut, BlockEncryptMut, KeyIvInit};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use serde::Deserialize;
use serde_json::Value;

type Encryptor = cbc::Encryptor<aes::Aes128>;
type Decryptor = cbc::Decryptor<aes::Aes128>;

/// The `data_encryption:` section of `config.yaml`, with APISIX's defaults.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataEncryption {
    /// Whether plugin fields and TLS keys are encrypted in etcd (the
    /// standalone file is never encrypted, as in APISIX).
    #[serde(default = "yes")]
    pub enable_encrypt_fields: bool,
    /// The keys, 16 characters each; the first encrypts.
    #[serde(default = "default_keyring")]
    pub keyring: Vec<String>,
}

impl Default for DataEncryption {
    fn default() -> Self {
        DataEncryption {
            enable_encrypt_fields: true,
            keyring: default_keyring(),
        }
    }
}

fn yes() -> bool {
    true
}

/// APISIX's default keyring.
fn default_keyring() -> Vec<String> {
    vec!["qeddd145sfvddff3".into(), "edd1c9f0985e76a2".into()]
}

/// The keys fields are encrypted and decrypted with.
#[derive(Clone, PartialEq, Eq)]
pub struct Keyring {
    keys: Vec<[u8; 16]>,
}

impl std::fmt::Debug for Keyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the keys themselves.
        write!(f, "Keyring({} keys)", self.keys.len())
    }
}

impl Keyring {
    /// The keyring of `section`, when encryption is on; an entry that is
    /// not 16 bytes is an error naming it by position.
    pub fn from_section(section: &DataEncryption) -> Result<Option<Keyring>, String> {
        if !section.enable_encrypt_fields {
            return Ok(None);
        }
        let mut keys = Vec::with_capacity(section.keyring.len());
        for (i, k) in section.keyring.iter().enumerate() {
            let key: [u8; 16] = k.as_bytes().try_into().map_err(|_| {
                format!(
                    "data_encryption.keyring[{i}]: must be 16 bytes, is {}",
                    k.len()
                )
            })?;
            keys.push(key);
        }
        Ok((!keys.is_empty()).then_some(Keyring { keys }))
    }

    /// `plain` encrypted with the first key, base64-encoded.
    pub fn encrypt(&self, plain: &str) -> String {
        let key = &self.keys[0];
        let sealed = Encryptor::new(key.into(), key.into())
            .encrypt_padded_vec_mut::<Pkcs7>(plain.as_bytes());
        B64.encode(sealed)
    }

    /// What `stored` holds: its plaintext when it is ciphertext a key
    /// decrypts; `Ok(None)` when it cannot be ciphertext (plaintext as
    /// stored); an error when it looks like ciphertext no key decrypts.
    pub fn decrypt(&self, stored: &str) -> Result<Option<String>, &'static str> {
        let Ok(sealed) = B64.decode(stored) else {
            return Ok(None);
        };
        if sealed.is_empty() || sealed.len() % 16 != 0 {
            return Ok(None);
        }
        for key in &self.keys {
            let Ok(plain) =
                Decryptor::new(key.into(), key.into()).decrypt_padded_vec_mut::<Pkcs7>(&sealed)
            else {
                continue;
            };
            if let Ok(text) = String::from_utf8(plain) {
                return Ok(Some(text));
            }
        }
        Err("no key of data_encryption.keyring decrypts it")
    }
}

/// Applies `f` to the string at each of `paths` (dotted, as APISIX's
/// `encrypt_fields`: `key`, `auth.password`, through arrays of objects) in
/// `config`; the first error, with the path.
pub fn each_field(
    config: &mut Value,
    paths: &[String],
    f: &mut dyn FnMut(&mut String) -> Result<(), String>,
) -> Result<(), String> {
    for path in paths {
        visit(config, path, f).map_err(|e| format!("{path}: {e}"))?;
    }
    Ok(())
}

fn visit(
    value: &mut Value,
    path: &str,
    f: &mut dyn FnMut(&mut String) -> Result<(), String>,
) -> Result<(), String> {
    let (head, rest) = match path.split_once('.') {
        Some((head, rest)) => (head, Some(rest)),
        None => (path, None),
    };
    let Some(field) = value.as_object_mut().and_then(|o| o.get_mut(head)) else {
        return Ok(());
    };
    match (rest, field) {
        (None, Value::String(s)) => f(s),
        (None, _) => Ok(()),
        (Some(rest), Value::Array(items)) => {
            for item in items {
                visit(item, rest, f)?;
            }
            Ok(())
        }
        (Some(rest), inner) => visit(inner, rest, f),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ring(keys: &[&str]) -> Keyring {
        let section = DataEncryption {
            enable_encrypt_fields: true,
            keyring: keys.iter().map(|k| (*k).to_owned()).collect(),
        };
        Keyring::from_section(&section)
            .expect("16-byte keys")
            .expect("encryption on")
    }

    #[test]
    fn round_trip_and_rotation() {
        let old = ring(&["edd1c9f0985e76a2"]);
        let sealed = old.encrypt("auth-one");
        assert_ne!(sealed, "auth-one");
        assert_eq!(old.decrypt(&sealed), Ok(Some("auth-one".into())));
        // A new key first: what the old one sealed still opens.
        let rotated = ring(&["qeddd145sfvddff3", "edd1c9f0985e76a2"]);
        assert_eq!(rotated.decrypt(&sealed), Ok(Some("auth-one".into())));
        assert_ne!(rotated.encrypt("auth-one"), sealed);
        // Without the key that sealed it: refused.
        let other = ring(&["qeddd145sfvddff3"]);
        assert!(other.decrypt(&sealed).is_err());
    }

    #[test]
    fn plaintext_stays_plaintext() {
        let r = ring(&["edd1c9f0985e76a2"]);
        for plain in ["bar", "auth-two", "", "-----BEGIN PRIVATE KEY-----"] {
            assert_eq!(r.decrypt(plain), Ok(None), "{plain}");
        }
    }

    #[test]
    fn keys_must_be_16_bytes_and_off_means_none() {
        let bad = DataEncryption {
            enable_encrypt_fields: true,
            keyring: vec!["short".into()],
        };
        assert!(Keyring::from_section(&bad)
            .expect_err("a 5-byte key")
            .contains("keyring[0]"));
        let off = DataEncryption {
            enable_encrypt_fields: false,
            ..DataEncryption::default()
        };
        assert_eq!(Keyring::from_section(&off), Ok(None));
    }

    #[test]
    fn dotted_paths_reach_nested_fields_and_arrays() {
        let mut v = serde_json::json!({"key": "a", "auth": {"password": "b"},
            "brokers": [{"sasl": {"password": "c"}}, {"sasl": {"password": "d"}}]});
        let paths =
            ["key", "auth.password", "brokers.sasl.password", "missing.x"].map(String::from);
        each_field(&mut v, &paths, &mut |s| {
            s.make_ascii_uppercase();
            Ok(())
        })
        .expect("no error");
        assert_eq!(
            v,
            serde_json::json!({"key": "A", "auth": {"password": "B"},
                "brokers": [{"sasl": {"password": "C"}}, {"sasl": {"password": "D"}}]})
        );
    }
}
