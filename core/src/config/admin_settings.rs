//! The `admin:` section of `config.yaml`: whether the Admin API listens,
//! where, who may reach it, and the keys it accepts with their roles.

use std::net::{IpAddr, SocketAddr};

use ipnet::IpNet;
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
    /// Client addresses (CIDR or bare IPs) the Admin API answers;
    /// default loopback only. Others get 403 whatever key they send.
    #[serde(default = "default_allow_admin")]
    pub allow_admin: Vec<String>,
    /// Whether a key is also accepted in the query string (`?api_key=`);
    /// off by default: query strings end up in logs.
    #[serde(default)]
    pub allow_query_key: bool,
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
            allow_admin: default_allow_admin(),
            allow_query_key: false,
        }
    }
}

fn default_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 9180))
}

/// APISIX's default (`127.0.0.0/24`) and the IPv6 loopback.
fn default_allow_admin() -> Vec<String> {
    vec!["127.0.0.0/24".into(), "::1".into()]
}

/// `text` as a network: CIDR (`10.0.0.0/8`) or one address (`::1`).
fn parse_net(text: &str) -> Option<IpNet> {
    text.parse::<IpNet>()
        .ok()
        .or_else(|| text.parse::<IpAddr>().ok().map(IpNet::from))
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
        for (i, net) in self.allow_admin.iter().enumerate() {
            if parse_net(net).is_none() {
                return Err((
                    format!("admin.allow_admin[{i}]"),
                    format!("{net:?} is not a CIDR (10.0.0.0/8) or an IP address"),
                ));
            }
        }
        Ok(())
    }

    /// The networks of `allow_admin` (an entry that does not parse, which
    /// [`AdminSection::check`] refuses, allows nothing).
    pub fn allowed_networks(&self) -> Vec<IpNet> {
        self.allow_admin
            .iter()
            .filter_map(|n| parse_net(n))
            .collect()
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allow_admin_takes_cidrs_and_bare_addresses() {
        let mut s = AdminSection::default();
        let nets = s.allowed_networks();
        assert_eq!(nets.len(), 2);
        assert!(nets[0].contains(&"127.0.0.9".parse::<IpAddr>().unwrap()));
        assert!(nets[1].contains(&"::1".parse::<IpAddr>().unwrap()));
        s.allow_admin = vec!["10.0.0.0/8".into(), "192.168.1.7".into()];
        assert_eq!(s.check(), Ok(()));
        s.allow_admin.push("10.0.0.300/8".into());
        assert_eq!(
            s.check().map_err(|(f, _)| f),
            Err("admin.allow_admin[2]".to_owned())
        );
    }
}
