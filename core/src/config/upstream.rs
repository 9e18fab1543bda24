//! The APISIX `upstream` object (outer shape, as users write it) and its
//! parts shared with routes: nodes and timeouts.

use serde::de::{self, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};
use std::fmt;

use super::objects::Id;

/// An upstream: a set of nodes and how to reach them.
#[derive(Debug, Clone, PartialEq, Deserialize)]
// Unknown fields are refused by the kind's JSON Schema, checked before
// this type is decoded. So are bad `desc`, `labels`, `create_time` and
// `update_time` (and `name`): they stay in the stored JSON, not here.
pub struct UpstreamConf {
    /// The id (absent for an upstream written inline in a route or service).
    #[serde(default)]
    pub id: Option<Id>,
    /// The nodes: `{"host:port": weight}` or `[{host, port, weight, priority}]`.
    pub nodes: Nodes,
    /// The balancer (`type`): `roundrobin` (the default), `chash`,
    /// `least_conn`, `ewma`.
    #[serde(default, rename = "type")]
    pub balancer: BalancerType,
    /// For `chash`: where the key comes from (default `vars`).
    #[serde(default)]
    pub hash_on: HashOn,
    /// For `chash`: the variable, header or cookie name, or `$a$b` template.
    #[serde(default)]
    pub key: Option<String>,
    /// Other nodes to try after a failed try (default: usable nodes - 1):
    /// only when nothing of the request was sent, or its method is
    /// idempotent and it has no body.
    #[serde(default)]
    pub retries: Option<u32>,
    /// Time budget for all tries, seconds; 0 = no limit.
    #[serde(default)]
    pub retry_timeout: Option<f64>,
    /// Timeouts towards the nodes; a route's own `timeout` wins.
    #[serde(default)]
    pub timeout: Option<TimeoutConf>,
    /// Which `Host` the node sees: `pass` (the client's, the default),
    /// `node`, `rewrite`.
    #[serde(default)]
    pub pass_host: PassHostMode,
    /// The `Host` sent with `pass_host: rewrite`.
    #[serde(default)]
    pub upstream_host: Option<String>,
    /// The protocol towards the nodes (default `http`; this build dials
    /// `http` and `https` only, see `validate`).
    #[serde(default)]
    pub scheme: Scheme,
    /// Keep-alive pool limits for each node's idle connections.
    #[serde(default)]
    pub keepalive_pool: Option<KeepalivePool>,
    /// Health checks `{active, passive}`, read and checked by
    /// `upstream::health` when the upstream is built.
    #[serde(default)]
    pub checks: Option<serde_json::Value>,
    /// Client certificate and verification towards `https` nodes.
    #[serde(default)]
    pub tls: Option<UpstreamTls>,
}

/// An upstream's balancer (`type`), in APISIX's spelling.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
pub enum BalancerType {
    /// `roundrobin`: smooth weighted round robin (the default).
    #[default]
    #[serde(rename = "roundrobin")]
    RoundRobin,
    /// `chash`: consistent hashing on a key taken from the request.
    #[serde(rename = "chash")]
    Chash,
    /// `least_conn`: the node with the fewest requests in flight per weight.
    #[serde(rename = "least_conn")]
    LeastConn,
    /// `ewma`: the node with the lowest latency average (peak-EWMA).
    #[serde(rename = "ewma")]
    Ewma,
}

impl BalancerType {
    /// Every balancer, in the schema's order.
    pub const ALL: [BalancerType; 4] = [
        BalancerType::RoundRobin,
        BalancerType::Chash,
        BalancerType::LeastConn,
        BalancerType::Ewma,
    ];

    /// APISIX's spelling (`roundrobin`).
    pub fn as_str(self) -> &'static str {
        match self {
            BalancerType::RoundRobin => "roundrobin",
            BalancerType::Chash => "chash",
            BalancerType::LeastConn => "least_conn",
            BalancerType::Ewma => "ewma",
        }
    }
}

/// Where a `chash` upstream takes its key from (`hash_on`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HashOn {
    /// `vars`: a request variable named by `key` (the default).
    #[default]
    Vars,
    /// `header`: the request header named by `key`.
    Header,
    /// `cookie`: the cookie named by `key`.
    Cookie,
    /// `consumer`: the authenticated consumer's name (`key` unused).
    Consumer,
    /// `vars_combinations`: a `$a-$b` template over request variables.
    VarsCombinations,
}

impl HashOn {
    /// Every source, in the schema's order.
    pub const ALL: [HashOn; 5] = [
        HashOn::Vars,
        HashOn::Header,
        HashOn::Cookie,
        HashOn::Consumer,
        HashOn::VarsCombinations,
    ];

    /// APISIX's spelling (`vars_combinations`).
    pub fn as_str(self) -> &'static str {
        match self {
            HashOn::Vars => "vars",
            HashOn::Header => "header",
            HashOn::Cookie => "cookie",
            HashOn::Consumer => "consumer",
            HashOn::VarsCombinations => "vars_combinations",
        }
    }
}

/// Which `Host` header a node receives (`pass_host`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PassHostMode {
    /// `pass`: the client's own (the default).
    #[default]
    Pass,
    /// `node`: the chosen node's `host[:port]`.
    Node,
    /// `rewrite`: the upstream's `upstream_host`.
    Rewrite,
}

impl PassHostMode {
    /// Every mode, in the schema's order.
    pub const ALL: [PassHostMode; 3] = [
        PassHostMode::Pass,
        PassHostMode::Node,
        PassHostMode::Rewrite,
    ];

    /// APISIX's spelling (`rewrite`).
    pub fn as_str(self) -> &'static str {
        match self {
            PassHostMode::Pass => "pass",
            PassHostMode::Node => "node",
            PassHostMode::Rewrite => "rewrite",
        }
    }
}

/// The protocol towards an upstream's nodes (`scheme`): every value
/// APISIX's schema accepts; which of them this build dials is
/// `validate`'s business.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Scheme {
    /// `http`: plain HTTP/1.1 (the default).
    #[default]
    Http,
    /// `https`: HTTP/1.1 over TLS.
    Https,
    /// `grpc`: gRPC over cleartext HTTP/2.
    Grpc,
    /// `grpcs`: gRPC over TLS.
    Grpcs,
    /// `tcp`: a stream route's plain TCP.
    Tcp,
    /// `tls`: a stream route's TLS.
    Tls,
    /// `udp`: a stream route's UDP.
    Udp,
    /// `kafka`: the kafka-proxy plugin's brokers.
    Kafka,
}

impl Scheme {
    /// Every scheme, in the schema's order.
    pub const ALL: [Scheme; 8] = [
        Scheme::Http,
        Scheme::Https,
        Scheme::Grpc,
        Scheme::Grpcs,
        Scheme::Tcp,
        Scheme::Tls,
        Scheme::Udp,
        Scheme::Kafka,
    ];

    /// APISIX's spelling (`https`).
    pub fn as_str(self) -> &'static str {
        match self {
            Scheme::Http => "http",
            Scheme::Https => "https",
            Scheme::Grpc => "grpc",
            Scheme::Grpcs => "grpcs",
            Scheme::Tcp => "tcp",
            Scheme::Tls => "tls",
            Scheme::Udp => "udp",
            Scheme::Kafka => "kafka",
        }
    }
}

/// `tls {client_cert_id, client_cert, client_key, verify}` towards the nodes.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpstreamTls {
    /// An `ssl` object (of type `client`) holding the client certificate.
    #[serde(default)]
    pub client_cert_id: Option<Id>,
    /// PEM client certificate.
    #[serde(default)]
    pub client_cert: Option<String>,
    /// PEM client key.
    #[serde(default)]
    pub client_key: Option<String>,
    /// Verify the node's certificate (default false, as APISIX).
    #[serde(default)]
    pub verify: bool,
}

/// `keepalive_pool {size, idle_timeout, requests}`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeepalivePool {
    /// Idle connections kept per node.
    #[serde(default)]
    pub size: Option<u32>,
    /// Seconds an idle connection is kept.
    #[serde(default)]
    pub idle_timeout: Option<f64>,
    /// Requests on one connection before it is closed.
    #[serde(default)]
    pub requests: Option<u32>,
}

/// `timeout {connect, send, read}` in seconds.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TimeoutConf {
    /// Seconds to connect.
    pub connect: f64,
    /// Seconds to send the request.
    pub send: f64,
    /// Seconds to wait for the response.
    pub read: f64,
}

/// One node of an upstream.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeConf {
    /// Host name or IP address.
    pub host: String,
    /// Port; absent means the scheme's default (80 for http).
    #[serde(default)]
    pub port: Option<u16>,
    /// Share of the traffic; 0 takes none.
    pub weight: u32,
    /// Group: lower groups serve only when every higher one is down.
    #[serde(default)]
    pub priority: i32,
    /// Free-form data (service discovery).
    #[serde(default)]
    pub metadata: Option<serde_json::Value>,
}

/// The nodes of an upstream, in either of APISIX's two spellings,
/// normalised to a list.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Nodes(pub Vec<NodeConf>);

impl<'de> Deserialize<'de> for Nodes {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(NodesVisitor)
    }
}

struct NodesVisitor;

impl<'de> Visitor<'de> for NodesVisitor {
    type Value = Nodes;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(r#"a map {"host:port": weight} or a list of {host, port, weight, priority}"#)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Nodes, A::Error> {
        let mut nodes = Vec::new();
        while let Some((addr, weight)) = map.next_entry::<String, u32>()? {
            let (host, port) = split_host_port(&addr).map_err(de::Error::custom)?;
            nodes.push(NodeConf {
                host,
                port,
                weight,
                priority: 0,
                metadata: None,
            });
        }
        Ok(Nodes(nodes))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Nodes, A::Error> {
        let mut nodes = Vec::new();
        while let Some(n) = seq.next_element::<NodeConf>()? {
            nodes.push(n);
        }
        Ok(Nodes(nodes))
    }
}

/// Splits `host:port`, `host`, `[v6]:port` or `[v6]`.
pub fn split_host_port(addr: &str) -> Result<(String, Option<u16>), String> {
    let bad_port = |p: &str| format!("node {addr:?}: port {p:?} is not a number from 1 to 65535");
    if let Some(rest) = addr.strip_prefix('[') {
        let Some((host, after)) = rest.split_once(']') else {
            return Err(format!("node {addr:?}: missing ']'"));
        };
        return match after.strip_prefix(':') {
            None if after.is_empty() => Ok((host.to_owned(), None)),
            None => Err(format!("node {addr:?}: unexpected text after ']'")),
            Some(p) => match p.parse::<u16>() {
                Ok(port) if port > 0 => Ok((host.to_owned(), Some(port))),
                _ => Err(bad_port(p)),
            },
        };
    }
    match addr.rsplit_once(':') {
        // More than one ':' without brackets: a bare IPv6 address.
        Some((host, _)) if host.contains(':') => Ok((addr.to_owned(), None)),
        Some((host, p)) => match p.parse::<u16>() {
            Ok(port) if port > 0 => Ok((host.to_owned(), Some(port))),
            _ => Err(bad_port(p)),
        },
        None => Ok((addr.to_owned(), None)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_port_forms() {
        assert_eq!(
            split_host_port("127.0.0.1:80"),
            Ok(("127.0.0.1".into(), Some(80)))
        );
        assert_eq!(split_host_port("a.com"), Ok(("a.com".into(), None)));
        assert_eq!(
            split_host_port("[::1]:8080"),
            Ok(("::1".into(), Some(8080)))
        );
        assert_eq!(split_host_port("[::1]"), Ok(("::1".into(), None)));
        assert!(split_host_port("a.com:x").is_err());
        assert!(split_host_port("a.com:0").is_err());
        assert!(split_host_port("a.com:70000").is_err());
    }

    #[test]
    fn nodes_both_spellings() {
        let m: Nodes = serde_json::from_str(r#"{"10.0.0.1:80": 2, "b:81": 1}"#).unwrap();
        assert_eq!(m.0.len(), 2);
        assert_eq!(m.0[0].host, "10.0.0.1");
        assert_eq!(m.0[0].weight, 2);
        let l: Nodes =
            serde_json::from_str(r#"[{"host": "a", "port": 80, "weight": 3, "priority": -1}]"#)
                .unwrap();
        assert_eq!(
            (l.0[0].port, l.0[0].weight, l.0[0].priority),
            (Some(80), 3, -1)
        );
        assert!(serde_json::from_str::<Nodes>(r#""a:80""#).is_err());
        assert!(serde_json::from_str::<Nodes>(r#"[{"host": "a", "weight": 1, "x": 1}]"#).is_err());
    }

    /// Each enum spells its values as serde does, and has exactly the
    /// values the upstream schema allows, in its order.
    #[test]
    fn enums_spell_the_schema_s_values() {
        fn check<T>(field: &str, all: &[T], as_str: fn(&T) -> &'static str)
        where
            T: serde::de::DeserializeOwned + serde::Serialize + PartialEq + fmt::Debug,
        {
            let schema = crate::config::Kind::Upstream.schema().unwrap();
            let want: Vec<&str> = schema["properties"][field]["enum"]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(serde_json::Value::as_str)
                .collect();
            let got: Vec<&str> = all.iter().map(as_str).collect();
            assert_eq!(got, want, "{field}");
            for v in all {
                let text = serde_json::to_value(v).unwrap();
                assert_eq!(text, as_str(v), "{field}");
                assert_eq!(&serde_json::from_value::<T>(text).unwrap(), v, "{field}");
            }
        }
        check("type", &BalancerType::ALL, |v| v.as_str());
        check("hash_on", &HashOn::ALL, |v| v.as_str());
        check("pass_host", &PassHostMode::ALL, |v| v.as_str());
        check("scheme", &Scheme::ALL, |v| v.as_str());
    }
}
