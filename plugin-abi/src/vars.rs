//! APISIX's request variables (`remote_addr`, `http_<name>`, `arg_<name>`,
//! ...) read from the request context, and `$var` templates over them.
//!
//! Names are parsed once, when the config is loaded; resolving one borrows
//! from the request where it can. A name that is not built in is looked up
//! among the request's shared variables (`Ctx::var`).

use std::borrow::Cow;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::Ctx;

/// One variable name, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VarName {
    /// `remote_addr`: the client's IP address.
    RemoteAddr,
    /// `remote_port`: the client's port.
    RemotePort,
    /// `uri`: the request path.
    Uri,
    /// `request_uri`: path and query.
    RequestUri,
    /// `args` / `query_string`: the raw query.
    Args,
    /// `request_method`.
    Method,
    /// `host`: the Host header without its port, lowercased.
    Host,
    /// `route_id`: the matched route.
    RouteId,
    /// `consumer_name`: the consumer an auth plugin set.
    ConsumerName,
    /// `http_<name>`: a request header (`_` read as `-`).
    Header(String),
    /// `arg_<name>`: a query argument.
    Arg(String),
    /// Anything else: a shared request variable.
    Other(String),
}

impl VarName {
    /// Parses a variable name (without `$`).
    pub fn parse(name: &str) -> VarName {
        match name {
            "remote_addr" => VarName::RemoteAddr,
            "remote_port" => VarName::RemotePort,
            "uri" => VarName::Uri,
            "request_uri" => VarName::RequestUri,
            "args" | "query_string" => VarName::Args,
            "request_method" => VarName::Method,
            "host" => VarName::Host,
            "route_id" => VarName::RouteId,
            "consumer_name" => VarName::ConsumerName,
            _ => {
                if let Some(h) = name.strip_prefix("http_") {
                    VarName::Header(h.replace('_', "-").to_ascii_lowercase())
                } else if let Some(a) = name.strip_prefix("arg_") {
                    VarName::Arg(a.to_string())
                } else {
                    VarName::Other(name.to_string())
                }
            }
        }
    }

    /// The variable's value for this request (`None` when unset).
    pub fn resolve<'c>(&self, ctx: &'c Ctx<'_>) -> Option<Cow<'c, str>> {
        let borrowed = match self {
            VarName::RemoteAddr => return Some(Cow::Owned(ctx.client_addr().ip().to_string())),
            VarName::RemotePort => return Some(Cow::Owned(ctx.client_addr().port().to_string())),
            VarName::RequestUri => {
                let (path, query) = (ctx.path(), ctx.query());
                if query.is_empty() {
                    path
                } else {
                    return Some(Cow::Owned(format!("{path}?{query}")));
                }
            }
            VarName::Host => {
                let host = ctx.header("host")?;
                let host = match host.find(']') {
                    Some(end) if host.starts_with('[') => &host[..=end],
                    _ => host.split(':').next().unwrap_or(host),
                };
                return Some(Cow::Owned(host.to_ascii_lowercase()));
            }
            VarName::Uri => ctx.path(),
            VarName::Args => ctx.query(),
            VarName::Method => ctx.method(),
            VarName::RouteId => ctx.route_id(),
            VarName::ConsumerName => ctx.consumer()?,
            VarName::Header(name) => ctx.header(name)?,
            VarName::Arg(name) => ctx.query_arg(name)?,
            VarName::Other(name) => ctx.var(name)?,
        };
        Some(Cow::Borrowed(borrowed))
    }
}

/// One piece of a template.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Text(String),
    Var(VarName),
    /// `$1`..`$9`: a capture of a regex match, when the caller has one.
    Capture(usize),
}

/// A string with `$name` / `${name}` references (APISIX's `resolve_var`);
/// `\$` is a literal dollar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    parts: Vec<Part>,
}

fn is_word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

impl Template {
    /// Parses `text` once.
    pub fn parse(text: &str) -> Template {
        let bytes = text.as_bytes();
        let mut parts = Vec::new();
        let mut lit = String::new();
        let mut i = 0;
        while i < bytes.len() {
            let c = bytes[i];
            if c == b'\\' && bytes.get(i + 1) == Some(&b'$') {
                lit.push('$');
                i += 2;
                continue;
            }
            if c == b'$' {
                let braced = bytes.get(i + 1) == Some(&b'{');
                let start = if braced { i + 2 } else { i + 1 };
                let mut end = start;
                while end < bytes.len() && is_word(bytes[end]) {
                    end += 1;
                }
                let closed = !braced || bytes.get(end) == Some(&b'}');
                if end > start && closed {
                    if !lit.is_empty() {
                        parts.push(Part::Text(std::mem::take(&mut lit)));
                    }
                    let name = &text[start..end];
                    parts.push(match name.parse::<usize>() {
                        Ok(n) => Part::Capture(n),
                        Err(_) => Part::Var(VarName::parse(name)),
                    });
                    i = if braced { end + 1 } else { end };
                    continue;
                }
            }
            let ch_len = text[i..].chars().next().map_or(1, char::len_utf8);
            lit.push_str(&text[i..i + ch_len]);
            i += ch_len;
        }
        if !lit.is_empty() {
            parts.push(Part::Text(lit));
        }
        Template { parts }
    }

    /// True when the template holds no reference (render is a copy).
    pub fn is_static(&self) -> bool {
        self.parts.iter().all(|p| matches!(p, Part::Text(_)))
    }

    /// Renders the template: unset variables become empty. Returns the text
    /// and how many references had a value.
    pub fn render(&self, ctx: &Ctx<'_>, captures: &[Option<&str>]) -> (String, usize) {
        let mut out = String::new();
        let mut resolved = 0;
        for part in &self.parts {
            match part {
                Part::Text(t) => out.push_str(t),
                Part::Var(v) => {
                    if let Some(value) = v.resolve(ctx) {
                        out.push_str(&value);
                        resolved += 1;
                    }
                }
                Part::Capture(n) => {
                    if let Some(Some(value)) = captures.get(*n) {
                        out.push_str(value);
                        resolved += 1;
                    }
                }
            }
        }
        (out, resolved)
    }
}

/// Numbers [`instance_var`]'s names within this library.
static INSTANCE_VARS: AtomicU64 = AtomicU64::new(0);

/// A request variable name no other plugin instance in the process uses,
/// `<prefix>.<library>.<n>`: where an instance keeps per-request state
/// (a key into its own table) that another instance on the same request
/// (the same plugin on a global rule and a route, or a library shared by
/// several plugins) must not read. Each plugin library holds its own copy
/// of the counter, so the name also carries that copy's address.
pub fn instance_var(prefix: &str) -> String {
    let library = &INSTANCE_VARS as *const AtomicU64 as usize;
    let n = INSTANCE_VARS.fetch_add(1, Ordering::Relaxed);
    format!("{prefix}.{library:x}.{n}")
}
