//! Who may use the Admin API: the client address must be in
//! `admin.allow_admin` (else 403, whatever the key), and the request must
//! carry a known key in `X-API-KEY` (or `?api_key=` when
//! `admin.allow_query_key` is on). Keys are compared in constant time; the
//! default key is accepted from loopback only. An IPv4-mapped IPv6
//! address (`::ffff:127.0.0.1`, a `[::]` listener's IPv4 client) counts as
//! its IPv4 address.

use std::collections::HashMap;
use std::net::IpAddr;

use http::StatusCode;
use ipnet::IpNet;
use subtle::ConstantTimeEq;

use super::verbs::{error, AdminReply};
use crate::config::{AdminKey, AdminSection, Role, DEFAULT_KEY};

/// The access rules of one Admin API listener.
pub struct Access {
    keys: Vec<AdminKey>,
    allowed: Vec<IpNet>,
    query_key: bool,
}

impl Access {
    /// The rules `section` sets.
    pub fn new(section: &AdminSection) -> Access {
        Access {
            keys: section.effective_keys(),
            allowed: section.allowed_networks(),
            query_key: section.allow_query_key,
        }
    }

    /// Whether the default key is among the accepted ones.
    pub fn uses_default_key(&self) -> bool {
        self.keys.iter().any(|k| k.key == DEFAULT_KEY)
    }

    /// Whether `peer` is in `allow_admin`; the 403 reply otherwise.
    pub fn admit(&self, peer: IpAddr) -> Result<(), AdminReply> {
        let peer = peer.to_canonical();
        if self.allowed.iter().any(|net| net.contains(&peer)) {
            return Ok(());
        }
        tracing::warn!(%peer, "Admin API request refused: the client address is not in admin.allow_admin");
        Err(error(
            StatusCode::FORBIDDEN,
            format!("the client address {peer} is not allowed (admin.allow_admin)"),
        ))
    }

    /// The role of the key the request carries, or the 401 reply.
    pub fn authorize(
        &self,
        headers: &http::HeaderMap,
        q: &HashMap<String, String>,
        peer: IpAddr,
    ) -> Result<Role, AdminReply> {
        let unauthorized = |d: &str| {
            (
                StatusCode::UNAUTHORIZED,
                serde_json::json!({"error_msg": "failed to check token", "description": d}),
            )
        };
        let header = headers.get("x-api-key").map(|v| v.as_bytes());
        let given = match (header, q.get("api_key")) {
            (Some(h), _) => h,
            (None, Some(_)) if !self.query_key => {
                return Err(unauthorized(
                    "the api_key query argument is not accepted (admin.allow_query_key is off): send the key in X-API-KEY",
                ))
            }
            (None, Some(k)) => k.as_bytes(),
            (None, None) => return Err(unauthorized("missing apikey")),
        };
        if given.is_empty() {
            return Err(unauthorized("missing apikey"));
        }
        let Some(key) = self.find(given) else {
            return Err(unauthorized("wrong apikey"));
        };
        if key.key == DEFAULT_KEY && !peer.to_canonical().is_loopback() {
            tracing::warn!(%peer, "the default admin key was refused from a non-loopback address");
            return Err(unauthorized("wrong apikey"));
        }
        Ok(key.role)
    }

    /// The key equal to `given`. Every key is compared, each in constant
    /// time, so the time taken says nothing about which bytes matched.
    fn find(&self, given: &[u8]) -> Option<&AdminKey> {
        let mut found = None;
        for k in &self.keys {
            let same: bool = k.key.as_bytes().ct_eq(given).into();
            if same && found.is_none() {
                found = Some(k);
            }
        }
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn role(
        access: &Access,
        key: Option<&str>,
        query: Option<&str>,
        peer: &str,
    ) -> Result<Role, String> {
        let mut h = http::HeaderMap::new();
        if let Some(k) = key {
            h.insert("x-api-key", HeaderValue::from_str(k).unwrap());
        }
        let mut q = HashMap::new();
        if let Some(k) = query {
            q.insert("api_key".to_owned(), k.to_owned());
        }
        access
            .authorize(&h, &q, peer.parse().unwrap())
            .map_err(|(_, v)| v["description"].as_str().unwrap_or("").to_owned())
    }

    #[test]
    fn the_default_key_works_from_loopback_only() {
        let access = Access::new(&AdminSection::default());
        for peer in ["127.0.0.1", "127.0.0.2", "::1", "::ffff:127.0.0.1"] {
            assert_eq!(
                role(&access, Some(DEFAULT_KEY), None, peer),
                Ok(Role::Admin),
                "{peer}"
            );
        }
        for peer in ["10.0.0.7", "::ffff:10.0.0.7", "2001:db8::1"] {
            assert_eq!(
                role(&access, Some(DEFAULT_KEY), None, peer),
                Err("wrong apikey".into()),
                "{peer}"
            );
        }
        assert_eq!(
            role(&access, None, None, "127.0.0.1"),
            Err("missing apikey".into())
        );
    }

    #[test]
    fn configured_keys_work_from_anywhere_with_their_role() {
        let section = AdminSection {
            keys: vec![AdminKey {
                name: "ro".into(),
                key: "viewer-secret".into(),
                role: Role::Viewer,
            }],
            ..AdminSection::default()
        };
        let access = Access::new(&section);
        assert_eq!(
            role(&access, Some("viewer-secret"), None, "10.0.0.7"),
            Ok(Role::Viewer)
        );
        assert_eq!(
            role(&access, Some("viewer-secreT"), None, "10.0.0.7"),
            Err("wrong apikey".into())
        );
        assert_eq!(
            role(&access, Some("viewer-secret-and-more"), None, "10.0.0.7"),
            Err("wrong apikey".into())
        );
        assert_eq!(
            role(&access, Some(DEFAULT_KEY), None, "127.0.0.1"),
            Err("wrong apikey".into())
        );
    }

    #[test]
    fn the_query_key_needs_allow_query_key() {
        let mut section = AdminSection::default();
        let off = Access::new(&section);
        let refused = role(&off, None, Some(DEFAULT_KEY), "127.0.0.1").unwrap_err();
        assert!(refused.contains("admin.allow_query_key"), "{refused}");
        section.allow_query_key = true;
        let on = Access::new(&section);
        assert_eq!(
            role(&on, None, Some(DEFAULT_KEY), "127.0.0.1"),
            Ok(Role::Admin)
        );
    }

    #[test]
    fn allow_admin_admits_mapped_addresses_as_ipv4() {
        let access = Access::new(&AdminSection::default());
        for peer in ["127.0.0.1", "127.0.0.200", "::1", "::ffff:127.0.0.1"] {
            assert!(access.admit(peer.parse().unwrap()).is_ok(), "{peer}");
        }
        for peer in ["127.0.1.1", "10.0.0.7", "::ffff:10.0.0.7", "::2"] {
            let (status, _) = access.admit(peer.parse().unwrap()).unwrap_err();
            assert_eq!(status, StatusCode::FORBIDDEN, "{peer}");
        }
        let none = Access::new(&AdminSection {
            allow_admin: Vec::new(),
            ..AdminSection::default()
        });
        assert!(none.admit("127.0.0.1".parse().unwrap()).is_err());
    }
}
