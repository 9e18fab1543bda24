//! The SNI index a snapshot carries: which `ssls` object serves a server
//! name (exact names first, then `*.example.com` wildcards one label
//! deep, as APISIX matches them), and the `type: client` objects by id
//! for the upstream client.

use std::collections::HashMap;
use std::sync::Arc;

use super::certs::SslRt;
use crate::config::SslType;

/// Server certificates by name and client certificates by id. Built by
/// the snapshot builder when an `ssls` object changes, shared by every
/// snapshot until the next such change.
#[derive(Debug, Default)]
pub struct SniIndex {
    exact: HashMap<String, Arc<SslRt>>,
    /// By the part after `*.`.
    wildcard: HashMap<String, Arc<SslRt>>,
    clients: HashMap<String, Arc<SslRt>>,
    /// Every object indexed (server and client), in id order.
    all: Vec<Arc<SslRt>>,
}

impl SniIndex {
    /// The index of `ssls` (in id order: when two objects claim one name,
    /// the first keeps it and the other is logged). Objects with
    /// `status: 0` are left out.
    pub fn build<'a>(ssls: impl IntoIterator<Item = &'a Arc<SslRt>>) -> SniIndex {
        let mut index = SniIndex::default();
        for ssl in ssls {
            if !ssl.enabled {
                continue;
            }
            index.all.push(ssl.clone());
            if ssl.ssl_type == SslType::Client {
                index.clients.insert(ssl.id.clone(), ssl.clone());
                continue;
            }
            for name in &ssl.names {
                let (map, key) = match name.strip_prefix("*.") {
                    Some(rest) => (&mut index.wildcard, rest),
                    None => (&mut index.exact, name.as_str()),
                };
                if let Some(first) = map.get(key) {
                    tracing::warn!(kind = "ssl", id = %ssl.id, sni = %name, served_by = %first.id,
                        "server name claimed by two ssls objects; the first keeps it");
                    continue;
                }
                map.insert(key.to_owned(), ssl.clone());
            }
        }
        index
    }

    /// The object serving `name` (lower case): its exact name, else a
    /// wildcard covering its first label.
    pub fn lookup(&self, name: &str) -> Option<&Arc<SslRt>> {
        self.exact.get(name).or_else(|| {
            let (_, parent) = name.split_once('.')?;
            self.wildcard.get(parent)
        })
    }

    /// The `type: client` object `id` (for an upstream's `tls.client_cert_id`).
    pub fn client(&self, id: &str) -> Option<&Arc<SslRt>> {
        self.clients.get(id)
    }

    /// Every object indexed (`status: 1`, server and client), in id order.
    pub fn all(&self) -> &[Arc<SslRt>] {
        &self.all
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ssl(id: &str, names: &[&str], kind: SslType, enabled: bool) -> Arc<SslRt> {
        Arc::new(SslRt {
            id: id.into(),
            ssl_type: kind,
            enabled,
            names: names.iter().map(|n| n.to_string()).collect(),
            keys: Vec::new(),
            pem: Default::default(),
            client: None,
            protocols: None,
            not_after: 0,
            expiry_warned: Default::default(),
            server: Default::default(),
        })
    }

    #[test]
    fn exact_then_wildcard_one_label_deep() {
        let all = [
            ssl("1", &["*.example.com"], SslType::Server, true),
            ssl("2", &["api.example.com"], SslType::Server, true),
            ssl("3", &["off.test"], SslType::Server, false),
            ssl("4", &["client.test"], SslType::Client, true),
        ];
        let index = SniIndex::build(&all);
        let id = |n: &str| index.lookup(n).map(|s| s.id.clone());
        assert_eq!(id("api.example.com").as_deref(), Some("2"));
        assert_eq!(id("www.example.com").as_deref(), Some("1"));
        // One label deep only, and not the bare parent.
        assert_eq!(id("a.b.example.com"), None);
        assert_eq!(id("example.com"), None);
        // status 0 is not served; a client certificate is not a server's.
        assert_eq!(id("off.test"), None);
        assert_eq!(id("client.test"), None);
        assert!(index.client("4").is_some());
    }
}
