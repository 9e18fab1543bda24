//! The APISIX `route` and `service` objects (outer shape, as users write
//! them), the object id, and decoding one object from JSON with errors
//! that name kind, id and field.

use serde::de::{self, Deserializer};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::fmt;

use super::error::{split_serde, Kind, ObjectError};
use super::upstream::{Timeout, UpstreamConf};
use super::validate;

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
#[serde(deny_unknown_fields)]
pub struct RouteConf {
    /// The id.
    #[serde(default)]
    pub id: Option<Id>,
    /// A name for people (<= 256 bytes).
    #[serde(default)]
    pub name: Option<String>,
    /// A description for people.
    #[serde(default)]
    pub desc: Option<String>,
    /// Labels for people and filters.
    #[serde(default)]
    pub labels: Option<BTreeMap<String, String>>,
    /// Set by the Admin API.
    #[serde(default)]
    pub create_time: Option<u64>,
    /// Set by the Admin API.
    #[serde(default)]
    pub update_time: Option<u64>,
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
    /// Plugins (refused by this build: it has no plugin host yet).
    #[serde(default)]
    pub plugins: Option<serde_json::Map<String, serde_json::Value>>,
    /// A plugin config (refused by this build).
    #[serde(default)]
    pub plugin_config_id: Option<Id>,
    /// An inline upstream.
    #[serde(default)]
    pub upstream: Option<UpstreamConf>,
    /// A reference to an upstream.
    #[serde(default)]
    pub upstream_id: Option<Id>,
    /// A reference to a service.
    #[serde(default)]
    pub service_id: Option<Id>,
    /// Timeouts towards the nodes; wins over the upstream's.
    #[serde(default)]
    pub timeout: Option<Timeout>,
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
#[serde(deny_unknown_fields)]
pub struct ServiceConf {
    /// The id.
    #[serde(default)]
    pub id: Option<Id>,
    /// A name for people.
    #[serde(default)]
    pub name: Option<String>,
    /// A description for people.
    #[serde(default)]
    pub desc: Option<String>,
    /// Labels for people and filters.
    #[serde(default)]
    pub labels: Option<BTreeMap<String, String>>,
    /// Set by the Admin API.
    #[serde(default)]
    pub create_time: Option<u64>,
    /// Set by the Admin API.
    #[serde(default)]
    pub update_time: Option<u64>,
    /// Plugins (refused by this build).
    #[serde(default)]
    pub plugins: Option<serde_json::Map<String, serde_json::Value>>,
    /// An inline upstream.
    #[serde(default)]
    pub upstream: Option<UpstreamConf>,
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
}

impl Object {
    /// The object's kind.
    pub fn kind(&self) -> Kind {
        match self {
            Object::Route(_) => Kind::Route,
            Object::Service(_) => Kind::Service,
            Object::Upstream(_) => Kind::Upstream,
        }
    }
}

/// Decodes and checks one object of `kind` from its JSON form. `fallback_id`
/// names it in errors when it has no readable id (`#3`: its position).
pub fn decode(
    kind: Kind,
    value: &serde_json::Value,
    fallback_id: &str,
) -> Result<(Id, Object), ObjectError> {
    let id_text = match value.get("id") {
        Some(serde_json::Value::String(s)) => s.clone(),
        Some(serde_json::Value::Number(n)) => n.to_string(),
        _ => fallback_id.to_owned(),
    };
    let err = |(field, reason): (String, String)| ObjectError::new(kind, &id_text, field, reason);
    let obj = match kind {
        Kind::Route => serde_path_to_error::deserialize(value).map(|o| Object::Route(Box::new(o))),
        Kind::Service => {
            serde_path_to_error::deserialize(value).map(|o| Object::Service(Box::new(o)))
        }
        Kind::Upstream => {
            serde_path_to_error::deserialize(value).map(|o| Object::Upstream(Box::new(o)))
        }
    }
    .map_err(|e| err(split_serde(&e)))?;
    let id = match &obj {
        Object::Route(r) => r.id.clone(),
        Object::Service(s) => s.id.clone(),
        Object::Upstream(u) => u.id.clone(),
    }
    .ok_or_else(|| err(("id".into(), "required: every object needs an id".into())))?;
    match &obj {
        Object::Route(r) => validate::route(r),
        Object::Service(s) => validate::service(s),
        Object::Upstream(u) => validate::upstream(u, ""),
    }
    .map_err(err)?;
    Ok((id, obj))
}
