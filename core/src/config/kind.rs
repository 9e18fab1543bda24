//! The kinds of APISIX objects, each with the names it goes by: its key
//! segment (in a standalone file, under etcd's prefix and in Admin API
//! paths), its singular name (in messages and schema paths), its JSON
//! Schema, and the other objects it refers to.

use std::fmt;

use serde_json::Value;

/// A kind of APISIX object. This build serves those of [`Kind::SERVED`];
/// the others are known by name so that the Admin API can say so. (The
/// variants' order is the order of maps keyed by kind.)
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    /// `routes`: what to match and where to send it.
    Route,
    /// `services`: settings that routes share.
    Service,
    /// `upstreams`: node sets with a balancer.
    Upstream,
    /// `consumers`: who calls, keyed by `username`.
    Consumer,
    /// `consumer_groups`: plugins that consumers share.
    ConsumerGroup,
    /// `global_rules`: plugins that run for every request.
    GlobalRule,
    /// `plugin_configs`: plugins that routes share (`plugin_config_id`).
    PluginConfig,
    /// `plugin_metadata`: one plugin's process-wide settings, keyed by plugin name.
    PluginMetadata,
    /// `ssls`: certificates chosen by SNI.
    Ssl,
    /// `consumers/<username>/credentials`: one auth plugin's secret for a consumer.
    Credential,
    /// `protos`: protobuf definitions for gRPC transcoding (not served).
    Proto,
    /// `stream_routes`: L4 (TCP/UDP) routes (not served).
    StreamRoute,
    /// `secrets`: secret managers, under `secrets/<manager>/<id>` (not served).
    Secret,
}

impl Kind {
    /// The kinds this build decodes and serves, in the order a full set is
    /// applied (what an object names comes before it); deletes go in the
    /// reverse order.
    pub const SERVED: [Kind; 10] = [
        // Upstreams name client certificates (`tls.client_cert_id`).
        Kind::Ssl,
        Kind::Upstream,
        Kind::Service,
        Kind::PluginConfig,
        Kind::ConsumerGroup,
        Kind::Consumer,
        Kind::Credential,
        Kind::GlobalRule,
        Kind::PluginMetadata,
        Kind::Route,
    ];

    /// The Admin API's collections, in APISIX's order (credentials are
    /// reached through their consumer).
    pub const ADMIN: [Kind; 12] = [
        Kind::Route,
        Kind::Service,
        Kind::Upstream,
        Kind::Consumer,
        Kind::ConsumerGroup,
        Kind::GlobalRule,
        Kind::PluginConfig,
        Kind::PluginMetadata,
        Kind::Ssl,
        Kind::Proto,
        Kind::StreamRoute,
        Kind::Secret,
    ];

    /// Every kind, in the variants' order.
    pub const ALL: [Kind; 13] = [
        Kind::Route,
        Kind::Service,
        Kind::Upstream,
        Kind::Consumer,
        Kind::ConsumerGroup,
        Kind::GlobalRule,
        Kind::PluginConfig,
        Kind::PluginMetadata,
        Kind::Ssl,
        Kind::Credential,
        Kind::Proto,
        Kind::StreamRoute,
        Kind::Secret,
    ];

    /// The singular name, used in messages and by
    /// `GET /apisix/admin/schema/<name>` (`route`).
    pub fn name(self) -> &'static str {
        match self {
            Kind::Route => "route",
            Kind::Service => "service",
            Kind::Upstream => "upstream",
            Kind::Consumer => "consumer",
            Kind::ConsumerGroup => "consumer_group",
            Kind::GlobalRule => "global_rule",
            Kind::PluginConfig => "plugin_config",
            Kind::PluginMetadata => "plugin_metadata",
            Kind::Ssl => "ssl",
            Kind::Credential => "credential",
            Kind::Proto => "proto",
            Kind::StreamRoute => "stream_route",
            Kind::Secret => "secret",
        }
    }

    /// The key segment of this kind in a standalone file, under etcd's
    /// prefix and in Admin API paths (`routes`). Credentials have no
    /// top-level key: they sit under `consumers/<username>/credentials`
    /// (in a standalone file: under `consumers` with an id
    /// `<username>/credentials/<id>`).
    pub fn key(self) -> &'static str {
        match self {
            Kind::Route => "routes",
            Kind::Service => "services",
            Kind::Upstream => "upstreams",
            Kind::Consumer => "consumers",
            Kind::ConsumerGroup => "consumer_groups",
            Kind::GlobalRule => "global_rules",
            Kind::PluginConfig => "plugin_configs",
            Kind::PluginMetadata => "plugin_metadata",
            Kind::Ssl => "ssls",
            Kind::Credential => "credentials",
            Kind::Proto => "protos",
            Kind::StreamRoute => "stream_routes",
            Kind::Secret => "secrets",
        }
    }

    /// The kind whose key segment is `key` (`routes` -> `Route`).
    pub fn from_key(key: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.key() == key)
    }

    /// The kind whose singular name is `name` (`route` -> `Route`).
    pub fn from_name(name: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.name() == name)
    }

    /// Whether this build decodes and serves objects of this kind.
    pub fn is_served(self) -> bool {
        Kind::SERVED.contains(&self)
    }

    /// Where this kind comes in [`Kind::SERVED`]'s order (kinds not served
    /// come last).
    pub fn apply_rank(self) -> usize {
        Kind::SERVED
            .iter()
            .position(|k| *k == self)
            .unwrap_or(Kind::SERVED.len())
    }

    /// The JSON Schema (draft 7) of this kind, as
    /// `GET /apisix/admin/schema/<name>` serves it; `None` for kinds not
    /// served. Built once; lives for the process.
    pub fn schema(self) -> Option<&'static Value> {
        super::schema::schema_json(self)
    }

    /// The fields of this kind that name another object, with that
    /// object's kind (`upstream_id` -> upstream). The Admin API checks them
    /// before a write and before a delete.
    pub fn references(self) -> &'static [(&'static str, Kind)] {
        match self {
            Kind::Route => &[
                ("upstream_id", Kind::Upstream),
                ("service_id", Kind::Service),
                ("plugin_config_id", Kind::PluginConfig),
            ],
            Kind::Service | Kind::StreamRoute => &[("upstream_id", Kind::Upstream)],
            Kind::Consumer => &[("group_id", Kind::ConsumerGroup)],
            _ => &[],
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::Kind;

    #[test]
    fn names_and_keys_find_their_kind() {
        for (i, k) in Kind::ALL.into_iter().enumerate() {
            assert_eq!(k as usize, i, "ALL is in the variants' order");
            assert_eq!(Kind::from_key(k.key()), Some(k));
            assert_eq!(Kind::from_name(k.name()), Some(k));
            assert_eq!(k.schema().is_some(), k.is_served(), "{k}");
        }
        assert!(Kind::SERVED.iter().all(|k| Kind::ALL.contains(k)));
        assert!(!Kind::ADMIN.contains(&Kind::Credential));
        assert_eq!(Kind::from_key("credentials"), Some(Kind::Credential));
        assert_eq!(Kind::from_key("route"), None);
        assert!(Kind::Upstream.apply_rank() < Kind::Route.apply_rank());
        assert_eq!(Kind::Proto.apply_rank(), Kind::SERVED.len());
    }
}
