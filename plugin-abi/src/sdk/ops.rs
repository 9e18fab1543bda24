//! The host operations a waiting phase awaits, as a plugin writes them:
//! an outbound HTTP request and its response, a Redis target and reply.

use std::time::Duration;

use abi_stable::std_types::{RNone, ROption, RSome, RString, RVec, Tuple2};

use crate::abi::{HttpAnswer, HttpCall, RedisCall};

/// An outbound HTTP(S) request, sent by the host's client.
#[derive(Debug, Clone, PartialEq)]
pub struct HttpRequest {
    /// The method.
    pub method: String,
    /// An absolute `http://` or `https://` URL.
    pub url: String,
    /// Header lines, in order.
    pub headers: Vec<(String, String)>,
    /// The body (empty: none).
    pub body: Vec<u8>,
    /// The whole exchange's budget (`None`: the host's default).
    pub timeout: Option<Duration>,
    /// Whether an `https` server's certificate is verified (default true).
    pub verify_tls: bool,
}

impl HttpRequest {
    /// A request with `method` to `url`, no headers, no body.
    pub fn new(method: &str, url: &str) -> HttpRequest {
        HttpRequest {
            method: method.to_owned(),
            url: url.to_owned(),
            headers: Vec::new(),
            body: Vec::new(),
            timeout: None,
            verify_tls: true,
        }
    }

    /// A `GET` of `url`.
    pub fn get(url: &str) -> HttpRequest {
        HttpRequest::new("GET", url)
    }

    /// A `POST` of `body` to `url`.
    pub fn post(url: &str, body: impl Into<Vec<u8>>) -> HttpRequest {
        HttpRequest::new("POST", url).body(body)
    }

    /// This request with a header line appended.
    pub fn header(mut self, name: &str, value: &str) -> HttpRequest {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    /// This request with `body`.
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> HttpRequest {
        self.body = body.into();
        self
    }

    /// This request with a budget for the whole exchange.
    pub fn timeout(mut self, timeout: Duration) -> HttpRequest {
        self.timeout = Some(timeout);
        self
    }

    /// This request with certificate verification on or off.
    pub fn verify_tls(mut self, verify: bool) -> HttpRequest {
        self.verify_tls = verify;
        self
    }

    pub(crate) fn into_call(self) -> HttpCall {
        HttpCall {
            method: self.method.into(),
            url: self.url.into(),
            headers: self
                .headers
                .into_iter()
                .map(|(n, v)| Tuple2(RString::from(n), RString::from(v)))
                .collect(),
            body: RVec::from(self.body),
            timeout_ms: self.timeout.map_or(0, millis),
            verify_tls: self.verify_tls,
        }
    }
}

/// The response to an [`HttpRequest`].
#[derive(Debug, Clone, PartialEq, Default)]
pub struct HttpResponse {
    /// The status.
    pub status: u16,
    /// Header lines, in order.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

impl HttpResponse {
    /// The first value of header `name` (any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub(crate) fn from_answer(answer: HttpAnswer) -> HttpResponse {
        HttpResponse {
            status: answer.status,
            headers: answer
                .headers
                .into_iter()
                .map(|pair| (pair.0.into_string(), pair.1.into_string()))
                .collect(),
            body: answer.body.into_vec(),
        }
    }
}

/// Where Redis commands go: one server, or a Redis Cluster by its seeds.
#[derive(Debug, Clone, PartialEq)]
pub struct RedisTarget {
    /// `host:port` of the server, or of the cluster's seed nodes.
    pub nodes: Vec<String>,
    /// Whether `nodes` are seeds of a Redis Cluster.
    pub cluster: bool,
    /// The database (single server only).
    pub database: u32,
    /// ACL user name, if any.
    pub username: Option<String>,
    /// Password, if any.
    pub password: Option<String>,
    /// A command's budget, connecting included (`None`: the host's default).
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

    /// A Redis Cluster reached through `seeds` (`host:port` each).
    pub fn cluster(seeds: &[&str]) -> RedisTarget {
        RedisTarget {
            nodes: seeds.iter().map(|s| (*s).to_owned()).collect(),
            cluster: true,
            ..RedisTarget::server("")
        }
    }

    pub(crate) fn call(&self, args: &[&[u8]]) -> RedisCall {
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
            args: args.iter().map(|a| RVec::from(a.to_vec())).collect(),
            timeout_ms: self.timeout.map_or(0, millis),
        }
    }
}

/// A Redis reply.
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
    /// holding one.
    pub fn as_int(&self) -> Option<i64> {
        match self {
            RedisReply::Int(n) => Some(*n),
            RedisReply::Bulk(b) => std::str::from_utf8(b).ok()?.parse().ok(),
            RedisReply::Status(s) => s.parse().ok(),
            _ => None,
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
                let body = bytes.get(rest..rest.checked_add(len)?)?;
                Some((RedisReply::Bulk(body.to_vec()), rest + len + 2))
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
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX).max(1)
}
