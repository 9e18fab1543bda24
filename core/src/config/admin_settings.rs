//! The `admin:` section of `config.yaml`: whether the Admin API listens,
//! where, and the keys it accepts with their roles.

use std::net::SocketAddr;

use serde::Deserialize;

use super::gateway::Provider;

/// APISIX's well-known default admin key. Accepted only from loopback.
pub const DEFAULT_KEY: &str = "edd1c9f034335f136f87ad84b625c8f1";

/// `admin:` the Admin API.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdminSection {
    /// Whether it listens; default: on with `config.provider: etcd`, off
    /// with `yaml` (where it serves GET only).
    #[serde(default)]
    pub enable: Option<bool>,
    /// Where it listens.
    #[serde(default = "default_listen")]
    pub listen: SocketAddr,
    /// Accepted keys; none given = APISIX's default key (loopback only).
    #[serde(default)]
    pub keys: Vec<AdminKey>,
}

/// One accepted key.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdminKey {
    /// Who holds it (for logs).
    #[serde(default)]
    pub name: String,
    /// The secret, sent in `X-API-KEY` or `?api_key=`.
    pub key: String,
    /// What it may do.
    #[serde(default)]
    pub role: Role,
}

/// What a key may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Every verb.
    #[default]
    Admin,
    /// GET only.
    Viewer,
}

impl Default for AdminSection {
    fn default() -> Self {
        AdminSection {
            enable: None,
            listen: default_listen(),
            keys: Vec::new(),
        }
    }
}

fn default_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 9180))
}

impl AdminSection {
    /// Checks the section; `(field, reason)` on the first problem.
    pub fn check(&self) -> Result<(), (String, String)> {
        for (i, k) in self.keys.iter().enumerate() {
            if k.key.len() < 8 || k.key.bytes().any(|b| !b.is_ascii_graphic()) {
                return Err((
                    format!("admin.keys[{i}].key"),
                    "expected at least 8 printable characters, no spaces".into(),
                ));
            }
        }
        Ok(())
    }

    /// The keys in force: the configured ones, else the default admin key.
    pub fn effective_keys(&self) -> Vec<AdminKey> {
        if self.keys.is_empty() {
            vec![AdminKey {
                name: "default".into(),
                key: DEFAULT_KEY.into(),
                role: Role::Admin,
            }]
        } else {
            self.keys.clone()
        }
    }

    /// Whether the Admin API listens under `provider`.
    pub fn enabled(&self, provider: Provider) -> bool {
        self.enable.unwrap_or(provider == Provider::Etcd)
    }
}
