//! APISIX's redis fields of a limit plugin's config, read into the Redis
//! target its counters live in: `policy: redis` (one server: `redis_host`,
//! `redis_port`, `redis_database`, `redis_username`, `redis_password`,
//! `redis_timeout`) or `redis-cluster` (`redis_cluster_nodes`,
//! `redis_cluster_name`, with the same credentials and timeout).
//!
//! `redis_ssl` (`redis_cluster_ssl` for a cluster) connects over TLS (ABI
//! 1.3), the certificates checked against the Mozilla roots with
//! `redis_ssl_verify` (`redis_cluster_ssl_verify`; APISIX's default is not
//! to check).

use std::time::Duration;

use radixgate_plugin::serde::{Deserialize, Serialize};
use radixgate_plugin::{ConfigError, RedisTarget};

/// The redis fields as written (flattened into each plugin's config).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(crate = "radixgate_plugin::serde")]
pub struct RedisFields {
    /// The server's host (`policy: redis`).
    #[serde(default)]
    pub redis_host: Option<String>,
    /// The server's port (default 6379).
    #[serde(default)]
    pub redis_port: Option<u16>,
    /// ACL user.
    #[serde(default)]
    pub redis_username: Option<String>,
    /// Password (an empty one means none, as in APISIX).
    #[serde(default)]
    pub redis_password: Option<String>,
    /// Database (single server only; default 0).
    #[serde(default)]
    pub redis_database: Option<u32>,
    /// Milliseconds for one command, connecting included (default 1000).
    #[serde(default)]
    pub redis_timeout: Option<u64>,
    /// TLS to the server.
    #[serde(default)]
    pub redis_ssl: bool,
    /// Check the server's certificate (with `redis_ssl`; default false).
    #[serde(default)]
    pub redis_ssl_verify: bool,
    /// The cluster's seed nodes (`policy: redis-cluster`).
    #[serde(default)]
    pub redis_cluster_nodes: Option<Vec<String>>,
    /// The cluster's name (APISIX names its connection pool with it).
    #[serde(default)]
    pub redis_cluster_name: Option<String>,
    /// TLS to the cluster.
    #[serde(default)]
    pub redis_cluster_ssl: bool,
    /// Check the cluster's certificates (with `redis_cluster_ssl`).
    #[serde(default)]
    pub redis_cluster_ssl_verify: bool,
}

/// Where a config's counters live.
#[derive(Debug, Clone, PartialEq)]
pub enum Policy {
    /// The host's shared store: this gateway alone.
    Local,
    /// Redis, one server or a cluster: every gateway using it.
    Redis(RedisTarget),
}

impl Policy {
    /// The policy `policy` (`local`, `redis`, `redis-cluster`) with the
    /// fields `fields`; an error names the field and the problem. An
    /// address is refused only when it cannot be parsed: an unreachable
    /// Redis is a runtime condition (`allow_degradation`).
    pub fn new(policy: &str, fields: &RedisFields) -> Result<Policy, ConfigError> {
        let target = match policy {
            "local" => return Ok(Policy::Local),
            "redis" => {
                let host = fields.redis_host.as_deref().ok_or_else(|| {
                    ConfigError::field("redis_host", "is required with policy \"redis\"")
                })?;
                check_host("redis_host", host)?;
                let port = fields.redis_port.unwrap_or(6379);
                if port == 0 {
                    return Err(ConfigError::field("redis_port", "must be 1 or more"));
                }
                let target =
                    RedisTarget::host_port(host, port).database(fields.redis_database.unwrap_or(0));
                match fields.redis_ssl {
                    true => target.tls(fields.redis_ssl_verify),
                    false => target,
                }
            }
            "redis-cluster" => {
                let nodes = fields.redis_cluster_nodes.as_deref().unwrap_or_default();
                if nodes.is_empty() {
                    return Err(ConfigError::field(
                        "redis_cluster_nodes",
                        "is required with policy \"redis-cluster\" (one host:port at least)",
                    ));
                }
                if fields.redis_cluster_name.is_none() {
                    return Err(ConfigError::field(
                        "redis_cluster_name",
                        "is required with policy \"redis-cluster\"",
                    ));
                }
                for node in nodes {
                    check_node(node)?;
                }
                match fields.redis_cluster_ssl {
                    true => RedisTarget::cluster(nodes).tls(fields.redis_cluster_ssl_verify),
                    false => RedisTarget::cluster(nodes),
                }
            }
            other => {
                return Err(ConfigError::field(
                    "policy",
                    format!("\"{other}\" is not one of \"local\", \"redis\", \"redis-cluster\""),
                ))
            }
        };
        let target = match fields.redis_password.as_deref() {
            Some(password) if !password.is_empty() => {
                target.auth(fields.redis_username.as_deref(), password)
            }
            _ => target,
        };
        let timeout = fields.redis_timeout.unwrap_or(1000);
        if timeout == 0 {
            return Err(ConfigError::field("redis_timeout", "must be 1 or more"));
        }
        Ok(Policy::Redis(
            target.timeout(Duration::from_millis(timeout)),
        ))
    }
}

/// A digest of a config that every gateway computes alike (FNV-1a over its
/// JSON form): counters in Redis are shared by every gateway, so a config
/// is told apart by its content (with the route's id), not by an instance
/// number of one process; a changed config starts afresh.
pub fn config_digest<T: Serialize>(config: &T) -> u64 {
    let json = radixgate_plugin::serde_json::to_vec(config).unwrap_or_default();
    json.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// A host name or address: no spaces, slashes or port.
fn check_host(field: &str, host: &str) -> Result<(), ConfigError> {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let ipv6 = bare.parse::<std::net::Ipv6Addr>().is_ok();
    let name_ok = !bare.is_empty()
        && bare
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'));
    if ipv6 || name_ok {
        Ok(())
    } else {
        Err(ConfigError::field(
            field,
            format!("\"{host}\" is not a host name or an IP address"),
        ))
    }
}

/// A cluster node: `host:port`, the host as [`check_host`] wants it.
fn check_node(node: &str) -> Result<(), ConfigError> {
    let bad = || {
        ConfigError::field(
            "redis_cluster_nodes",
            format!("\"{node}\" is not host:port"),
        )
    };
    let (host, port) = node.rsplit_once(':').ok_or_else(bad)?;
    match port.parse::<u16>() {
        Ok(p) if p > 0 => {}
        _ => return Err(bad()),
    }
    check_host("redis_cluster_nodes", host).map_err(|_| bad())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(json: &str) -> RedisFields {
        radixgate_plugin::serde_json::from_str(json).expect("fields")
    }

    #[test]
    fn servers_and_clusters_with_their_fields() {
        let server = Policy::new(
            "redis",
            &fields(
                r#"{"redis_host":"10.0.0.1","redis_port":6380,"redis_database":2,
                "redis_username":"u","redis_password":"p","redis_timeout":250}"#,
            ),
        );
        let Ok(Policy::Redis(target)) = server else {
            panic!("{server:?}")
        };
        assert_eq!(target.nodes, ["10.0.0.1:6380"]);
        assert_eq!((target.database, target.cluster), (2, false));
        assert_eq!(target.username.as_deref(), Some("u"));
        assert_eq!(target.password.as_deref(), Some("p"));
        assert_eq!(target.timeout, Some(Duration::from_millis(250)));

        let cluster = Policy::new(
            "redis-cluster",
            &fields(
                r#"{"redis_cluster_nodes":["127.0.0.1:7000","[::1]:7001"],
                "redis_cluster_name":"c","redis_password":""}"#,
            ),
        );
        let Ok(Policy::Redis(target)) = cluster else {
            panic!("{cluster:?}")
        };
        assert!(target.cluster);
        assert_eq!(target.password, None, "an empty password is none");
        assert_eq!(target.timeout, Some(Duration::from_secs(1)));
        assert!(matches!(
            Policy::new("local", &RedisFields::default()),
            Ok(Policy::Local)
        ));
    }

    #[test]
    fn redis_ssl_connects_over_tls_verified_or_not() {
        let target = |json: &str| match Policy::new("redis", &fields(json)) {
            Ok(Policy::Redis(t)) => t.nodes,
            other => panic!("{json}: {other:?}"),
        };
        assert_eq!(
            target(r#"{"redis_host":"h","redis_port":6380,"redis_ssl":true}"#),
            ["rediss://h:6380#insecure"]
        );
        assert_eq!(
            target(r#"{"redis_host":"h","redis_ssl":true,"redis_ssl_verify":true}"#),
            ["rediss://h:6379"]
        );
        // redis_ssl_verify alone asks for nothing.
        assert_eq!(
            target(r#"{"redis_host":"h","redis_ssl_verify":true}"#),
            ["h:6379"]
        );
        let cluster = Policy::new(
            "redis-cluster",
            &fields(
                r#"{"redis_cluster_nodes":["a:1","b:2"],"redis_cluster_name":"c",
                "redis_cluster_ssl":true}"#,
            ),
        );
        let Ok(Policy::Redis(target)) = cluster else {
            panic!("{cluster:?}")
        };
        assert_eq!(
            target.nodes,
            ["rediss://a:1#insecure", "rediss://b:2#insecure"]
        );
    }

    #[test]
    fn bad_fields_are_named() {
        let cases = [
            ("redis", r#"{}"#, "redis_host: is required"),
            ("redis", r#"{"redis_host":"a b"}"#, "redis_host: \"a b\""),
            (
                "redis",
                r#"{"redis_host":"h","redis_timeout":0}"#,
                "redis_timeout:",
            ),
            (
                "redis-cluster",
                r#"{"redis_cluster_name":"c"}"#,
                "redis_cluster_nodes: is",
            ),
            (
                "redis-cluster",
                r#"{"redis_cluster_nodes":["h:1"]}"#,
                "redis_cluster_name: is required",
            ),
            (
                "redis-cluster",
                r#"{"redis_cluster_nodes":["nope"],"redis_cluster_name":"c"}"#,
                "redis_cluster_nodes: \"nope\" is not host:port",
            ),
            ("memcached", r#"{}"#, "policy: \"memcached\""),
        ];
        for (policy, json, want) in cases {
            let err = Policy::new(policy, &fields(json)).expect_err(json);
            assert!(err.to_string().contains(want), "{json}: {err}");
        }
    }
}
