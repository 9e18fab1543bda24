//! Redis commands for plugins ([`HostOp::Redis`]), to one server or a
//! Redis Cluster, in clear or over TLS (a node `rediss://host:port`), with
//! the `redis` crate. Each worker thread keeps one
//! multiplexed connection per target (nodes, cluster or not, database,
//! user, password), made on first use and shared by every request on that
//! worker; a connection that broke or timed out is dropped and the next
//! command connects again. The reply goes back RESP-encoded; a Redis error
//! reply is a reply, not a failure.
//!
//! [`HostOp::Redis`]: radixgate_plugin::abi::HostOp::Redis

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use radixgate_plugin::abi::RedisCall;
use radixgate_plugin::RedisReply;
use redis::aio::{ConnectionLike, MultiplexedConnection};
use redis::cluster::ClusterClient;
use redis::cluster_async::ClusterConnection;
use redis::{
    AsyncConnectionConfig, Client, ConnectionAddr, ConnectionInfo, ErrorKind, IntoConnectionInfo,
    RedisConnectionInfo, RedisError, Value,
};
use tokio::sync::OnceCell;

/// A command's budget, connecting included, when the call gives none.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(1);

/// Which connections are interchangeable.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Target {
    nodes: Vec<String>,
    cluster: bool,
    database: u32,
    username: Option<String>,
    password: Option<String>,
}

/// A connection to a server or a cluster; cloning shares it.
#[derive(Clone)]
enum Conn {
    Single(MultiplexedConnection),
    Cluster(ClusterConnection),
}

/// A target's connection on this thread, made once by whichever command
/// comes first.
type Slot = Arc<OnceCell<Conn>>;

thread_local! {
    /// This thread's connections, by target.
    static CONNS: RefCell<HashMap<Target, Slot>> = RefCell::new(HashMap::new());
}

/// Runs `call` within its budget; the RESP-encoded reply (an error reply
/// included), or why the command could not be run, naming the target.
pub async fn run(call: &RedisCall) -> Result<Vec<u8>, String> {
    let budget = match call.timeout_ms {
        0 => DEFAULT_TIMEOUT,
        ms => Duration::from_millis(ms),
    };
    let target = Target {
        nodes: call.nodes.iter().map(|n| n.to_string()).collect(),
        cluster: call.cluster,
        database: call.database,
        username: call.username.as_ref().map(|u| u.to_string()).into_option(),
        password: call.password.as_ref().map(|p| p.to_string()).into_option(),
    };
    let what = format!(
        "Redis{} {}",
        if target.cluster { " Cluster" } else { "" },
        target.nodes.join(",")
    );
    let Some(name) = call.args.first() else {
        return Err(format!("{what}: no command"));
    };
    let mut cmd = redis::cmd(&String::from_utf8_lossy(name));
    for arg in call.args.iter().skip(1) {
        cmd.arg(arg.as_slice());
    }
    let slot = CONNS.with(|c| c.borrow_mut().entry(target.clone()).or_default().clone());
    let outcome = tokio::time::timeout(budget, async {
        let conn = slot
            .get_or_try_init(|| connect(&target, budget))
            .await?
            .clone();
        let reply = match conn {
            Conn::Single(mut c) => c.req_packed_command(&cmd).await,
            Conn::Cluster(mut c) => c.req_packed_command(&cmd).await,
        };
        reply.map_err(Failure::Redis)
    })
    .await;
    let failure = match outcome {
        Ok(Ok(value)) => return Ok(encode(value)),
        Ok(Err(Failure::Redis(e))) if is_reply(&e) => return Ok(error_reply(&e)),
        Ok(Err(Failure::Redis(e))) => e.to_string(),
        Ok(Err(Failure::Connect(e))) => e,
        Err(_) => format!("no reply within {budget:?}"),
    };
    // A connection that failed or went silent is not used again.
    CONNS.with(|c| {
        let mut conns = c.borrow_mut();
        if conns.get(&target).is_some_and(|s| Arc::ptr_eq(s, &slot)) {
            conns.remove(&target);
        }
    });
    Err(format!("{what}: {failure}"))
}

/// Why a command did not get a reply.
enum Failure {
    /// No connection could be made.
    Connect(String),
    /// The connection or the command failed.
    Redis(RedisError),
}

/// Connects to `target`.
async fn connect(target: &Target, budget: Duration) -> Result<Conn, Failure> {
    let connect_failed = |e: RedisError| Failure::Connect(format!("connecting: {e}"));
    let infos = target
        .nodes
        .iter()
        .map(|node| info(node, target))
        .collect::<Result<Vec<_>, _>>()
        .map_err(Failure::Connect)?;
    if target.cluster {
        let mut builder = ClusterClient::builder(infos)
            .connection_timeout(budget)
            .response_timeout(budget);
        if let Some(user) = &target.username {
            builder = builder.username(user);
        }
        if let Some(password) = &target.password {
            builder = builder.password(password);
        }
        let client = builder.build().map_err(connect_failed)?;
        let conn = client
            .get_async_connection()
            .await
            .map_err(connect_failed)?;
        return Ok(Conn::Cluster(conn));
    }
    let [info] = <[ConnectionInfo; 1]>::try_from(infos)
        .map_err(|_| Failure::Connect("a single server takes exactly one node".to_owned()))?;
    let client = Client::open(info).map_err(connect_failed)?;
    let config = AsyncConnectionConfig::new()
        .set_connection_timeout(Some(budget))
        .set_response_timeout(None);
    let conn = client
        .get_multiplexed_async_connection_with_config(&config)
        .await
        .map_err(connect_failed)?;
    Ok(Conn::Single(conn))
}

/// The connection info of `node` for `target`: `host:port` in clear, or
/// over TLS `rediss://host:port` (the server's certificate verified
/// against the Mozilla roots, as the host's HTTP client does) or
/// `rediss://host:port#insecure` (not verified: APISIX's
/// `redis_ssl_verify: false`).
fn info(node: &str, target: &Target) -> Result<ConnectionInfo, String> {
    let (tls, addr) = match node.strip_prefix("rediss://") {
        Some(rest) => match rest.strip_suffix("#insecure") {
            Some(addr) => (Some(true), addr),
            None => (Some(false), rest),
        },
        None => (None, node),
    };
    let (host, port) = addr
        .rsplit_once(':')
        .and_then(|(h, p)| Some((h, p.parse::<u16>().ok()?)))
        .ok_or_else(|| format!("node {node:?} is not host:port"))?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let mut settings = RedisConnectionInfo::default().set_db(i64::from(target.database));
    if let Some(user) = &target.username {
        settings = settings.set_username(user);
    }
    if let Some(password) = &target.password {
        settings = settings.set_password(password);
    }
    let addr = match tls {
        None => ConnectionAddr::Tcp(host.to_owned(), port),
        Some(insecure) => ConnectionAddr::TcpTls {
            host: host.to_owned(),
            port,
            insecure,
            tls_params: None,
        },
    };
    let info = addr
        .into_connection_info()
        .map_err(|e| format!("node {node:?}: {e}"))?;
    Ok(info.set_redis_settings(settings))
}

/// Whether `e` is the server's error reply to the command (which the
/// plugin gets as a reply).
fn is_reply(e: &RedisError) -> bool {
    matches!(e.kind(), ErrorKind::Server(_) | ErrorKind::Extension)
}

/// The server's error reply `e`, RESP-encoded.
fn error_reply(e: &RedisError) -> Vec<u8> {
    let text = match (e.code(), e.detail()) {
        (Some(code), Some(detail)) => format!("{code} {detail}"),
        (Some(code), None) => code.to_owned(),
        _ => e.to_string(),
    };
    let mut out = Vec::new();
    RedisReply::Error(one_line(&text)).encode(&mut out);
    out
}

/// `text` on one line (RESP simple strings end at the first CRLF).
fn one_line(text: &str) -> String {
    text.replace(['\r', '\n'], " ")
}

/// `value` RESP2-encoded, as the SDK parses it.
fn encode(value: Value) -> Vec<u8> {
    let mut out = Vec::new();
    reply(value).encode(&mut out);
    out
}

/// `value` as the SDK's reply (RESP3 types as RESP2 would carry them).
fn reply(value: Value) -> RedisReply {
    match value {
        Value::Nil => RedisReply::Nil,
        Value::Int(n) => RedisReply::Int(n),
        Value::BulkString(b) => RedisReply::Bulk(b),
        Value::Array(items) | Value::Set(items) => {
            RedisReply::Array(items.into_iter().map(reply).collect())
        }
        Value::Push { data, .. } => RedisReply::Array(data.into_iter().map(reply).collect()),
        Value::SimpleString(s) => RedisReply::Status(one_line(&s)),
        Value::Okay => RedisReply::Status("OK".to_owned()),
        Value::Map(pairs) => RedisReply::Array(
            pairs
                .into_iter()
                .flat_map(|(k, v)| [reply(k), reply(v)])
                .collect(),
        ),
        Value::Attribute { data, .. } => reply(*data),
        Value::Double(d) => RedisReply::Bulk(d.to_string().into_bytes()),
        Value::Boolean(b) => RedisReply::Int(i64::from(b)),
        Value::VerbatimString { text, .. } => RedisReply::Bulk(text.into_bytes()),
        Value::BigNumber(digits) => RedisReply::Bulk(digits),
        Value::ServerError(e) => RedisReply::Error(one_line(&match e.details() {
            Some(details) => format!("{} {details}", e.code()),
            None => e.code().to_owned(),
        })),
        #[allow(unreachable_patterns)]
        _ => RedisReply::Error("ERR a reply this gateway cannot pass on".to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_are_resp2_as_the_sdk_parses_them() {
        let resp = |v: Value| String::from_utf8(encode(v)).expect("text");
        assert_eq!(resp(Value::Int(7)), ":7\r\n");
        assert_eq!(resp(Value::Nil), "$-1\r\n");
        assert_eq!(resp(Value::Okay), "+OK\r\n");
        assert_eq!(
            resp(Value::Array(vec![
                Value::BulkString(b"a".to_vec()),
                Value::Int(1)
            ])),
            "*2\r\n$1\r\na\r\n:1\r\n"
        );
        assert_eq!(
            resp(Value::Map(vec![(
                Value::SimpleString("k".into()),
                Value::Boolean(true)
            )])),
            "*2\r\n+k\r\n:1\r\n"
        );
        let parsed = RedisReply::parse(&encode(Value::Double(1.5))).map(|(r, _)| r);
        assert_eq!(parsed, Some(RedisReply::Bulk(b"1.5".to_vec())));
    }

    #[test]
    fn nodes_must_be_host_and_port() {
        let target = Target {
            nodes: Vec::new(),
            cluster: false,
            database: 0,
            username: None,
            password: None,
        };
        assert!(info("127.0.0.1:6379", &target).is_ok());
        assert!(info("[::1]:6379", &target).is_ok());
        let e = info("localhost", &target).expect_err("refused");
        assert!(e.contains("\"localhost\" is not host:port"), "{e}");
        // TLS, verified or not.
        let tls = |node: &str| info(node, &target).map(|i| i.addr().clone());
        assert!(matches!(
            tls("rediss://127.0.0.1:6380"),
            Ok(ConnectionAddr::TcpTls {
                insecure: false,
                port: 6380,
                ..
            })
        ));
        assert!(matches!(
            tls("rediss://[::1]:6380#insecure"),
            Ok(ConnectionAddr::TcpTls { insecure: true, .. })
        ));
        assert!(matches!(tls("127.0.0.1:6379"), Ok(ConnectionAddr::Tcp(..))));
        assert!(tls("rediss://h").is_err());
    }
}
