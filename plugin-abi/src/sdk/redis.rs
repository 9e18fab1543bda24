//! Redis as a waiting phase uses it: where a command goes
//! ([`RedisTarget`]: one server, or a Redis Cluster by its seed nodes) and
//! what comes back ([`RedisReply`]); [`Host::redis`] sends one command
//! over the host's pooled connections.
//!
//! A fixed-window counter, as limit-count keeps it in Redis (one `EVAL`,
//! so that the count and the window's expiry are set together; in a
//! cluster the script's keys must share a slot, which one key does):
//!
//! ```
//! use std::time::Duration;
//! use radixgate_plugin::{serde, ConfigError, Ctx, Decision, Host, Phase, Phases, Plugin, RedisTarget};
//!
//! /// `count` requests per `window` seconds per path, counted in Redis.
//! struct Quota { host: Host, redis: RedisTarget, count: i64, window: u64 }
//!
//! #[derive(serde::Deserialize)]
//! #[serde(crate = "radixgate_plugin::serde")]
//! struct Config { redis: String, count: i64, window: u64 }
//!
//! /// Takes one from the window's budget: the count left, the window's TTL.
//! const TAKE: &str = "local ttl = redis.call('ttl', KEYS[1]) \
//!     if ttl < 0 then redis.call('set', KEYS[1], ARGV[1] - 1, 'EX', ARGV[2]) \
//!     return {ARGV[1] - 1, tonumber(ARGV[2])} end \
//!     return {redis.call('incrby', KEYS[1], -1), ttl}";
//!
//! impl Plugin for Quota {
//!     const NAME: &'static str = "quota";
//!     const VERSION: &'static str = "0.1.0";
//!     const PRIORITY: i32 = 1002;
//!     const PHASES: Phases = Phases::of(Phase::Access);
//!     type Config = Config;
//!
//!     fn new(c: Config, host: &Host) -> Result<Self, ConfigError> {
//!         let redis = RedisTarget::server(&c.redis).timeout(Duration::from_millis(500));
//!         Ok(Quota { host: host.clone(), redis, count: c.count, window: c.window })
//!     }
//!
//!     fn access(&self, ctx: &mut Ctx<'_>) -> Decision {
//!         let key = format!("quota:{}", ctx.path());
//!         let (count, window) = (self.count.to_string(), self.window.to_string());
//!         let (host, redis) = (self.host.clone(), self.redis.clone());
//!         // The future owns what it uses; the phase suspends at each await.
//!         Decision::wait_then(
//!             async move { host.redis(&redis, ["EVAL", TAKE, "1", &key, &count, &window]).await },
//!             // Back on the request: decide with the reply.
//!             |ctx, reply| {
//!                 let left = reply.and_then(|r| r.into_result()).map(|r| {
//!                     r.as_array().and_then(|a| a.first()).and_then(|n| n.as_int())
//!                 });
//!                 match left {
//!                     Ok(Some(n)) if n >= 0 => {
//!                         ctx.set_header("x-quota-remaining", &n.to_string());
//!                         Decision::Continue
//!                     }
//!                     Ok(Some(_)) => Decision::respond(429, "quota used up"),
//!                     Ok(None) => Decision::Error("quota: an unexpected reply".into()),
//!                     // Redis down or slow: fail open, as limit-count's allow_degradation.
//!                     Err(_) => Decision::Continue,
//!                 }
//!             },
//!         )
//!     }
//! }
//!
//! // Its async path, tested without a gateway: the mock host answers the command.
//! use radixgate_plugin::abi::PhaseResult;
//! use radixgate_plugin::mock::{MockHost, MockInstance, MockRequest};
//! use radixgate_plugin::RedisReply;
//!
//! let host = MockHost::new();
//! host.on_redis_reply(|args| {
//!     assert_eq!(args[0], b"EVAL");
//!     assert_eq!(args[3], b"quota:/a");
//!     RedisReply::Array(vec![RedisReply::Int(-1), RedisReply::Int(42)])
//! });
//! let quota = MockInstance::new::<Quota>(r#"{"redis":"127.0.0.1:6379","count":5,"window":60}"#, &host)?;
//! let answer = quota.access(&mut MockRequest::new("GET", "/a"));
//! assert!(matches!(answer, PhaseResult::Respond(r) if r.status == 429));
//! host.on_redis_reply(|_| RedisReply::Array(vec![RedisReply::Int(4), RedisReply::Int(60)]));
//! let mut req = MockRequest::new("GET", "/a");
//! assert_eq!(quota.access(&mut req), PhaseResult::Continue);
//! assert_eq!(req.header_value("x-quota-remaining"), Some("4"));
//! # Ok::<(), String>(())
//! ```
//!
//! [`Host::redis`]: super::Host::redis

use std::time::Duration;

use abi_stable::std_types::{RNone, ROption, RSome, RString, RVec};

use super::ops::millis;
use crate::abi::RedisCall;

/// Where Redis commands go: one server, or a Redis Cluster by its seeds.
/// Build it once (in [`Plugin::new`](crate::Plugin::new)) and keep it: the
/// host keeps one connection per target (nodes, cluster, database, user,
/// password) on each worker, made by the first command.
#[derive(Debug, Clone, PartialEq)]
pub struct RedisTarget {
    /// `host:port` of the server, or of the cluster's seed nodes (an IPv6
    /// address in brackets: `[::1]:6379`); `rediss://host:port` over TLS
    /// ([`RedisTarget::tls`]).
    pub nodes: Vec<String>,
    /// Whether `nodes` are seeds of a Redis Cluster: each command goes to
    /// the master of its key's slot (`MOVED` and `ASK` followed).
    pub cluster: bool,
    /// The database (single server only; a cluster has only 0).
    pub database: u32,
    /// ACL user name, if any (`AUTH user password`).
    pub username: Option<String>,
    /// Password, if any.
    pub password: Option<String>,
    /// A command's budget, connecting included (`None`: the host's
    /// default, 1 s).
    pub timeout: Option<Duration>,
}

impl RedisTarget {
    /// One server at `host:port`, database 0, no credentials.
    pub fn server(addr: &str) -> RedisTarget {
        RedisTarget {
            nodes: vec![addr.to_owned()],
            cluster: false,
            database: 0,
            username: None,
            password: None,
            timeout: None,
        }
    }

    /// One server at `host` and `port` (APISIX's `redis_host` and
    /// `redis_port`; an IPv6 address is bracketed here).
    pub fn host_port(host: &str, port: u16) -> RedisTarget {
        if host.contains(':') && !host.starts_with('[') {
            RedisTarget::server(&format!("[{host}]:{port}"))
        } else {
            RedisTarget::server(&format!("{host}:{port}"))
        }
    }

    /// A Redis Cluster reached through `seeds` (`host:port` each; APISIX's
    /// `redis_cluster_nodes`). One reachable seed is enough: the others
    /// are learnt from it.
    pub fn cluster<S: AsRef<str>>(seeds: &[S]) -> RedisTarget {
        RedisTarget {
            nodes: seeds.iter().map(|s| s.as_ref().to_owned()).collect(),
            cluster: true,
            ..RedisTarget::server("")
        }
    }

    /// This target with database `db` (`SELECT`; single server only).
    pub fn database(mut self, db: u32) -> RedisTarget {
        self.database = db;
        self
    }

    /// This target authenticating with `password` (and the ACL user
    /// `username`, unless `None`: the default user).
    pub fn auth(mut self, username: Option<&str>, password: &str) -> RedisTarget {
        self.username = username.map(str::to_owned);
        self.password = Some(password.to_owned());
        self
    }

    /// This target over TLS (APISIX's `redis_ssl`, ABI 1.3), the server's
    /// certificate checked against the Mozilla roots when `verify`
    /// (`redis_ssl_verify`), not checked otherwise. Each node is sent as
    /// `rediss://host:port` (`#insecure` without `verify`); a host older
    /// than 1.3 refuses such a node rather than connect in clear.
    pub fn tls(mut self, verify: bool) -> RedisTarget {
        let suffix = if verify { "" } else { "#insecure" };
        for node in &mut self.nodes {
            let addr = node.strip_prefix("rediss://").unwrap_or(node);
            let addr = addr.strip_suffix("#insecure").unwrap_or(addr);
            *node = format!("rediss://{addr}{suffix}");
        }
        self
    }

    /// This target with a budget for each command, connecting included.
    pub fn timeout(mut self, timeout: Duration) -> RedisTarget {
        self.timeout = Some(timeout);
        self
    }

    pub(crate) fn call<I>(&self, args: I) -> RedisCall
    where
        I: IntoIterator,
        I::Item: AsRef<[u8]>,
    {
        let text = |s: &Option<String>| -> ROption<RString> {
            match s {
                Some(s) => RSome(RString::from(s.as_str())),
                None => RNone,
            }
        };
        RedisCall {
            nodes: self
                .nodes
                .iter()
                .map(|n| RString::from(n.as_str()))
                .collect(),
            cluster: self.cluster,
            database: self.database,
            username: text(&self.username),
            password: text(&self.password),
            args: args
                .into_iter()
                .map(|a| RVec::from(a.as_ref().to_vec()))
                .collect(),
            timeout_ms: self.timeout.map_or(0, millis),
        }
    }
}

/// A Redis reply (RESP2's types; the host maps RESP3 replies onto them:
/// maps and sets as arrays, booleans as 0/1, doubles as bulk strings).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RedisReply {
    /// No value (`nil`).
    Nil,
    /// An integer.
    Int(i64),
    /// A bulk string.
    Bulk(Vec<u8>),
    /// A status reply (`OK`).
    Status(String),
    /// An error reply (`ERR ...`): the server refused the command.
    Error(String),
    /// An array of replies.
    Array(Vec<RedisReply>),
}

impl RedisReply {
    /// The reply as an integer: an integer, or a bulk or status string
    /// holding one (`GET` of a counter).
    pub fn as_int(&self) -> Option<i64> {
        match self {
            RedisReply::Int(n) => Some(*n),
            RedisReply::Bulk(b) => std::str::from_utf8(b).ok()?.parse().ok(),
            RedisReply::Status(s) => s.parse().ok(),
            _ => None,
        }
    }

    /// The bytes of a bulk string or status reply.
    pub fn as_bytes(&self) -> Option<&[u8]> {
        match self {
            RedisReply::Bulk(b) => Some(b),
            RedisReply::Status(s) => Some(s.as_bytes()),
            _ => None,
        }
    }

    /// A bulk string or status reply as UTF-8 text.
    pub fn as_str(&self) -> Option<&str> {
        std::str::from_utf8(self.as_bytes()?).ok()
    }

    /// The items of an array reply (a script's `{a, b}`, `MGET`'s values).
    pub fn as_array(&self) -> Option<&[RedisReply]> {
        match self {
            RedisReply::Array(items) => Some(items),
            _ => None,
        }
    }

    /// Whether the reply is `nil` (a missing key).
    pub fn is_nil(&self) -> bool {
        matches!(self, RedisReply::Nil)
    }

    /// The reply, or the server's error reply as an error (`ERR ...`,
    /// `NOSCRIPT ...`), so that one `?` or `and_then` handles both the
    /// command's failure and its refusal.
    pub fn into_result(self) -> Result<RedisReply, String> {
        match self {
            RedisReply::Error(e) => Err(format!("Redis answered: {e}")),
            reply => Ok(reply),
        }
    }

    /// Parses one RESP2 reply from the start of `bytes`; the reply and
    /// the bytes it took.
    pub fn parse(bytes: &[u8]) -> Option<(RedisReply, usize)> {
        let line_end = bytes.windows(2).position(|w| w == b"\r\n")?;
        let line = std::str::from_utf8(bytes.get(1..line_end)?).ok()?;
        let rest = line_end + 2;
        match bytes.first()? {
            b'+' => Some((RedisReply::Status(line.to_owned()), rest)),
            b'-' => Some((RedisReply::Error(line.to_owned()), rest)),
            b':' => Some((RedisReply::Int(line.parse().ok()?), rest)),
            b'$' => {
                let len: i64 = line.parse().ok()?;
                let Ok(len) = usize::try_from(len) else {
                    return Some((RedisReply::Nil, rest));
                };
                let end = rest.checked_add(len)?;
                let body = bytes.get(rest..end)?;
                (bytes.get(end..end.checked_add(2)?)? == b"\r\n").then_some(())?;
                Some((RedisReply::Bulk(body.to_vec()), end + 2))
            }
            b'*' => {
                let count: i64 = line.parse().ok()?;
                let Ok(count) = usize::try_from(count) else {
                    return Some((RedisReply::Nil, rest));
                };
                let mut items = Vec::with_capacity(count.min(1024));
                let mut at = rest;
                for _ in 0..count {
                    let (item, used) = RedisReply::parse(bytes.get(at..)?)?;
                    items.push(item);
                    at += used;
                }
                Some((RedisReply::Array(items), at))
            }
            _ => None,
        }
    }

    /// The reply in RESP2, as the host hands it over.
    pub fn encode(&self, out: &mut Vec<u8>) {
        match self {
            RedisReply::Nil => out.extend_from_slice(b"$-1\r\n"),
            RedisReply::Int(n) => out.extend_from_slice(format!(":{n}\r\n").as_bytes()),
            RedisReply::Bulk(b) => {
                out.extend_from_slice(format!("${}\r\n", b.len()).as_bytes());
                out.extend_from_slice(b);
                out.extend_from_slice(b"\r\n");
            }
            RedisReply::Status(s) => out.extend_from_slice(format!("+{s}\r\n").as_bytes()),
            RedisReply::Error(s) => out.extend_from_slice(format!("-{s}\r\n").as_bytes()),
            RedisReply::Array(items) => {
                out.extend_from_slice(format!("*{}\r\n", items.len()).as_bytes());
                for item in items {
                    item.encode(out);
                }
            }
        }
    }

    /// The reply in RESP2 (what [`encode`](RedisReply::encode) appends).
    pub fn to_resp(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.encode(&mut out);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_round_trip_and_read_as_their_types() {
        let reply = RedisReply::Array(vec![
            RedisReply::Int(-3),
            RedisReply::Bulk(b"12".to_vec()),
            RedisReply::Nil,
            RedisReply::Status("OK".into()),
            RedisReply::Array(vec![]),
        ]);
        let resp = reply.to_resp();
        assert_eq!(RedisReply::parse(&resp), Some((reply.clone(), resp.len())));
        let items = reply.as_array().expect("an array");
        assert_eq!(items[0].as_int(), Some(-3));
        assert_eq!(items[1].as_int(), Some(12));
        assert_eq!(items[1].as_str(), Some("12"));
        assert!(items[2].is_nil() && items[2].as_bytes().is_none());
        assert_eq!(items[3].as_str(), Some("OK"));
        let refused = RedisReply::parse(b"-NOSCRIPT No matching script\r\n").map(|(r, _)| r);
        let refused = refused.expect("an error reply").into_result();
        assert_eq!(
            refused,
            Err("Redis answered: NOSCRIPT No matching script".to_owned())
        );
    }

    #[test]
    fn cut_or_malformed_replies_are_none() {
        for bad in [
            &b""[..],
            b":12",
            b":x\r\n",
            b"$5\r\nab\r\n",
            b"$2\r\nabcd",
            b"*2\r\n:1\r\n",
            b"?\r\n",
        ] {
            assert_eq!(
                RedisReply::parse(bad),
                None,
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
        assert_eq!(RedisReply::parse(b"$-1\r\n"), Some((RedisReply::Nil, 5)));
        assert_eq!(RedisReply::parse(b"*-1\r\n"), Some((RedisReply::Nil, 5)));
    }

    #[test]
    fn targets_carry_their_settings_into_the_call() {
        let t = RedisTarget::host_port("::1", 6380)
            .database(2)
            .auth(Some("u"), "p")
            .timeout(Duration::from_millis(250));
        let call = t.call(["INCR", "k"]);
        assert_eq!(call.nodes.as_slice(), [RString::from("[::1]:6380")]);
        assert!(!call.cluster);
        assert_eq!((call.database, call.timeout_ms), (2, 250));
        assert_eq!(call.username, RSome(RString::from("u")));
        assert_eq!(call.password, RSome(RString::from("p")));
        let args: Vec<&[u8]> = call.args.iter().map(|a| a.as_slice()).collect();
        assert_eq!(args, [&b"INCR"[..], b"k"]);
        let seeds = vec!["10.0.0.1:7000".to_owned(), "10.0.0.2:7000".to_owned()];
        let call = RedisTarget::cluster(&seeds).call([b"GET".to_vec()]);
        assert!(call.cluster);
        assert_eq!(call.nodes.len(), 2);
        assert_eq!(call.timeout_ms, 0, "the host's default");
        assert_eq!(RedisTarget::host_port("r", 1).nodes, ["r:1"]);
    }
}
