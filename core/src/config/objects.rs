//! The APISIX `route` and `service` objects as typed values (what
//! `decode` produces after the schema check), the object id, and
//! [`Object`], one decoded object of any kind.

use serde::de::{self, Deserializer};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::fmt;

use super::consumer::{ConsumerConf, ConsumerGroupConf, CredentialConf};
use super::kind::Kind;
use super::plugin_sets::{GlobalRuleConf, PluginConfigConf, PluginMetadataConf};
use super::ssl::SslConf;
use super::upstream::{TimeoutConf, UpstreamConf};

/// Plugin name -> configuration, for the plugins the plugin host has
/// loaded (`decode` drops the others with a warning).
pub type Plugins = BTreeMap<String, serde_json::Value>;

/// An object id: 1-64 of `[a-zA-Z0-9-_.]`, or an integer >= 1 (kept as text).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Id(pub String);

impl fmt::Display for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Id {
    /// Checks the text form of an id.
    pub fn parse(s: &str) -> Result<Id, String> {
        let ok = !s.is_empty()
            && s.len() <= 64
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
        if ok {
            Ok(Id(s.to_owned()))
        } else {
            Err(format!(
                "{s:?} is not an id: expected 1-64 of [a-zA-Z0-9-_.] or an integer >= 1"
            ))
        }
    }
}

impl<'de> Deserialize<'de> for Id {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match serde_json::Value::deserialize(d)? {
            serde_json::Value::String(s) => Id::parse(&s).map_err(de::Error::custom),
            serde_json::Value::Number(n) => match n.as_u64() {
                Some(v) if v >= 1 => Ok(Id(v.to_string())),
                _ => Err(de::Error::custom(format!(
                    "{n} is not an id: expected an integer >= 1"
                ))),
            },
            other => Err(de::Error::custom(format!(
                "wrong type: expected string or integer, got {}",
                type_name(&other)
            ))),
        }
    }
}

fn type_name(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "boolean",
        serde_json::Value::Number(_) => "number",
        serde_json::Value::String(_) => "string",
        serde_json::Value::Array(_) => "array",
        serde_json::Value::Object(_) => "object",
    }
}

/// A route: what to match and where to send it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
// Unknown fields are refused by the kind's JSON Schema, checked before
// this type is decoded. So are bad `desc`, `labels`, `create_time` and
// `update_time`: they stay in the stored JSON, not here.
pub struct RouteConf {
    /// The id.
    #[serde(default)]
    pub id: Option<Id>,
    /// A name for people (<= 256 bytes); logs and metrics carry it.
    #[serde(default)]
    pub name: Option<String>,
    /// One path pattern (exactly one of `uri`, `uris`).
    #[serde(default)]
    pub uri: Option<String>,
    /// Several path patterns.
    #[serde(default)]
    pub uris: Option<Vec<String>>,
    /// One host pattern (at most one of `host`, `hosts`).
    #[serde(default)]
    pub host: Option<String>,
    /// Several host patterns.
    #[serde(default)]
    pub hosts: Option<Vec<String>>,
    /// One client address or CIDR.
    #[serde(default)]
    pub remote_addr: Option<String>,
    /// Several client addresses or CIDRs.
    #[serde(default)]
    pub remote_addrs: Option<Vec<String>>,
    /// Methods; empty or absent = any.
    #[serde(default)]
    pub methods: Option<Vec<String>>,
    /// A `vars` expression (`[["arg_name", "==", "json"]]`).
    #[serde(default)]
    pub vars: Option<serde_json::Value>,
    /// Order among routes with the same literal prefix (higher first).
    #[serde(default)]
    pub priority: i32,
    /// Plugins this build knows.
    #[serde(default)]
    pub plugins: Plugins,
    /// The plugin config whose plugins apply too.
    #[serde(default)]
    pub plugin_config_id: Option<Id>,
    /// An inline upstream (boxed: most objects have none, or give it up
    /// once it is built).
    #[serde(default)]
    pub upstream: Option<Box<UpstreamConf>>,
    /// A reference to an upstream.
    #[serde(default)]
    pub upstream_id: Option<Id>,
    /// A reference to a service.
    #[serde(default)]
    pub service_id: Option<Id>,
    /// Timeouts towards the nodes; wins over the upstream's.
    #[serde(default)]
    pub timeout: Option<TimeoutConf>,
    /// Pass WebSocket upgrades to the node.
    #[serde(default)]
    pub enable_websocket: Option<bool>,
    /// 1 = served, 0 = not served.
    #[serde(default = "one")]
    pub status: u8,
}

fn one() -> u8 {
    1
}

/// A service: an upstream and hosts that routes share.
#[derive(Debug, Clone, PartialEq, Deserialize)]
// Unknown fields are refused by the kind's JSON Schema, checked before
// this type is decoded. So are bad `desc`, `labels`, `create_time` and
// `update_time`: they stay in the stored JSON, not here.
pub struct ServiceConf {
    /// The id.
    #[serde(default)]
    pub id: Option<Id>,
    /// A name for people (<= 256 bytes); logs and metrics carry it.
    #[serde(default)]
    pub name: Option<String>,
    /// Plugins this build knows.
    #[serde(default)]
    pub plugins: Plugins,
    /// An inline upstream (boxed: most objects have none, or give it up
    /// once it is built).
    #[serde(default)]
    pub upstream: Option<Box<UpstreamConf>>,
    /// A reference to an upstream.
    #[serde(default)]
    pub upstream_id: Option<Id>,
    /// Pass WebSocket upgrades (for routes that do not say).
    #[serde(default)]
    pub enable_websocket: Option<bool>,
    /// Hosts for routes that set none.
    #[serde(default)]
    pub hosts: Option<Vec<String>>,
}

/// One decoded and checked object.
#[derive(Debug, Clone, PartialEq)]
pub enum Object {
    /// A route.
    Route(Box<RouteConf>),
    /// A service.
    Service(Box<ServiceConf>),
    /// An upstream.
    Upstream(Box<UpstreamConf>),
    /// A consumer.
    Consumer(Box<ConsumerConf>),
    /// A consumer group.
    ConsumerGroup(Box<ConsumerGroupConf>),
    /// A global rule.
    GlobalRule(Box<GlobalRuleConf>),
    /// A plugin config.
    PluginConfig(Box<PluginConfigConf>),
    /// A plugin's metadata.
    PluginMetadata(Box<PluginMetadataConf>),
    /// A certificate.
    Ssl(Box<SslConf>),
    /// A consumer's credential.
    Credential(Box<CredentialConf>),
}

impl Object {
    /// The object's kind.
    pub fn kind(&self) -> Kind {
        match self {
            Object::Route(_) => Kind::Route,
            Object::Service(_) => Kind::Service,
            Object::Upstream(_) => Kind::Upstream,
            Object::Consumer(_) => Kind::Consumer,
            Object::ConsumerGroup(_) => Kind::ConsumerGroup,
            Object::GlobalRule(_) => Kind::GlobalRule,
            Object::PluginConfig(_) => Kind::PluginConfig,
            Object::PluginMetadata(_) => Kind::PluginMetadata,
            Object::Ssl(_) => Kind::Ssl,
            Object::Credential(_) => Kind::Credential,
        }
    }
}
