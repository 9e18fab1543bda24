//! The default entry, as APISIX's `get_full_log` builds it:
//!
//! ```json
//! {"request": {"url", "uri", "method", "headers", "querystring", "size"},
//!  "response": {"status", "headers", "size"},
//!  "server": {"hostname", "version"}, "upstream", "service_id",
//!  "route_id", "consumer": {"username"}, "client_ip", "start_time",
//!  "latency", "upstream_latency", "apisix_latency"}
//! ```
//!
//! Where the host hands plugins less than nginx hands APISIX, this says so:
//!
//! - `request.url` is `http://` + the `Host` header + the request URI (the
//!   plugin sees no scheme or server port);
//! - `request.size` and `response.size` are computed from what the plugin
//!   sees (request line, headers and `Content-Length`; status line,
//!   headers of [`RESPONSE_HEADERS`] and `Content-Length`), not the bytes
//!   counted on the wire;
//! - `response.headers` holds the headers of [`RESPONSE_HEADERS`] present
//!   (the plugin ABI reads a response header by name only);
//! - `latency` is timed from the first logger's rewrite phase
//!   ([`crate::timing`]) unless the host sets `request_time`;
//!   `upstream_latency` is the host's `upstream_response_time` (from
//!   sending to the node until its response head), absent when no node
//!   answered, and `apisix_latency` is `latency` less it (at least 0), as
//!   APISIX's `latency_details_in_ms` computes them.

use radixgate_plugin::serde_json::{json, Map, Value};
use radixgate_plugin::vars::VarName;
use radixgate_plugin::{Ctx, Host};

use crate::timing;

/// The response headers the entry reads by name.
pub const RESPONSE_HEADERS: [&str; 20] = [
    "content-type",
    "content-length",
    "content-encoding",
    "transfer-encoding",
    "connection",
    "date",
    "server",
    "cache-control",
    "etag",
    "expires",
    "last-modified",
    "location",
    "set-cookie",
    "vary",
    "retry-after",
    "www-authenticate",
    "access-control-allow-origin",
    "x-request-id",
    "x-ratelimit-remaining",
    "x-ratelimit-limit",
];

/// What the entry says of the gateway (`server`), found once.
#[derive(Debug, Clone)]
pub struct Server {
    hostname: String,
    version: String,
}

impl Server {
    /// The machine's host name (`/proc/sys/kernel/hostname`, else
    /// `HOSTNAME`, else `unknown`) and this build's version.
    pub fn detect() -> Server {
        let hostname = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .ok()
            .map(|h| h.trim().to_owned())
            .filter(|h| !h.is_empty())
            .or_else(|| std::env::var("HOSTNAME").ok())
            .unwrap_or_else(|| "unknown".to_owned());
        Server {
            hostname,
            version: env!("CARGO_PKG_VERSION").to_owned(),
        }
    }
}

/// This request's default entry.
pub fn entry(ctx: &Ctx<'_>, host: &Host, server: &Server) -> Value {
    let request_uri = match ctx.query() {
        "" => ctx.path().to_owned(),
        q => format!("{}?{q}", ctx.path()),
    };
    let host_header = ctx.header("host").unwrap_or_default();
    let t = timing::read(ctx, host);
    let latency = seconds_var(ctx, "request_time").map_or(t.latency_ms, |s| s * 1000.0);
    let upstream_latency = seconds_var(ctx, "upstream_response_time").map(|s| s * 1000.0);
    let apisix_latency = upstream_latency.map_or(latency, |u| (latency - u).max(0.0));
    let route_id = ctx.route_id();
    let mut entry = json!({
        "request": {
            "url": format!("http://{host_header}{request_uri}"),
            "uri": request_uri,
            "method": ctx.method(),
            "headers": headers(ctx.headers()),
            "querystring": querystring(ctx.query()),
            "size": request_size(ctx, &request_uri),
        },
        "response": response(ctx),
        "server": {"hostname": server.hostname, "version": server.version},
        "client_ip": ctx.client_addr().ip().to_string(),
        "start_time": t.start_ms,
        "latency": latency,
        "apisix_latency": apisix_latency,
    });
    let Value::Object(map) = &mut entry else {
        return entry;
    };
    if let Some(u) = upstream_latency {
        map.insert("upstream_latency".into(), u.into());
    }
    if let Some(upstream) = ctx.var("upstream_addr") {
        map.insert("upstream".into(), upstream.into());
    }
    if route_id.is_empty() {
        // APISIX's `var.host`: the Host header without its port, lowercased.
        let host_name = VarName::Host.resolve(ctx).unwrap_or_default();
        map.insert("service_id".into(), host_name.into_owned().into());
    } else {
        map.insert("route_id".into(), route_id.into());
        let service = ctx.var("service_id").unwrap_or_default();
        map.insert("service_id".into(), service.into());
    }
    if let Some(consumer) = ctx.consumer() {
        map.insert("consumer".into(), json!({ "username": consumer }));
    }
    entry
}

/// Variable `name` read as seconds (nginx writes `0.012`).
fn seconds_var(ctx: &Ctx<'_>, name: &str) -> Option<f64> {
    ctx.var(name)?
        .trim()
        .parse::<f64>()
        .ok()
        .filter(|s| s.is_finite() && *s >= 0.0)
}

/// Headers as `ngx.req.get_headers()` gives them: lowercase names, a
/// name given more than once holding an array of its values.
fn headers<'h>(pairs: impl Iterator<Item = (&'h str, &'h str)>) -> Value {
    let mut map = Map::new();
    for (name, value) in pairs {
        add(
            &mut map,
            name.to_ascii_lowercase(),
            Value::String(value.into()),
        );
    }
    Value::Object(map)
}

fn add(map: &mut Map<String, Value>, key: String, value: Value) {
    match map.get_mut(&key) {
        None => {
            map.insert(key, value);
        }
        Some(Value::Array(list)) => list.push(value),
        Some(first) => {
            let first = first.take();
            map.insert(key, Value::Array(vec![first, value]));
        }
    }
}

/// The query as `ngx.req.get_uri_args()`: decoded names and values, a
/// name without `=` as `true`, a repeated name as an array.
pub fn querystring(query: &str) -> Value {
    let mut map = Map::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (name, value) = match pair.split_once('=') {
            Some((n, v)) => (unescape(n), Value::String(unescape(v))),
            None => (unescape(pair), Value::Bool(true)),
        };
        if !name.is_empty() {
            add(&mut map, name, value);
        }
    }
    Value::Object(map)
}

/// Percent-decoding with `+` as a space (`ngx.unescape_uri`); a `%` not
/// followed by two hex digits stays as it is.
fn unescape(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push((h * 16 + l) as u8);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn content_length(value: Option<&str>) -> usize {
    value.and_then(|v| v.trim().parse().ok()).unwrap_or(0)
}

/// `METHOD uri HTTP/1.1\r\n`, each `name: value\r\n`, `\r\n`, the body.
fn request_size(ctx: &Ctx<'_>, request_uri: &str) -> usize {
    let line = ctx.method().len() + request_uri.len() + 11;
    let head: usize = ctx.headers().map(|(n, v)| n.len() + v.len() + 4).sum();
    line + head + 2 + content_length(ctx.header("content-length"))
}

fn response(ctx: &Ctx<'_>) -> Value {
    let mut map = Map::new();
    let mut head = 0;
    for name in RESPONSE_HEADERS {
        if let Some(value) = ctx.response_header(name) {
            head += name.len() + value.len() + 4;
            map.insert(name.into(), value.into());
        }
    }
    // `HTTP/1.1 200 OK\r\n` (a reason phrase counted as two bytes).
    let size = 17 + head + 2 + content_length(ctx.response_header("content-length"));
    json!({"status": ctx.response_status(), "headers": map, "size": size})
}
