//! `gateway.access_log_format`: literal text and nginx variables (`$name`
//! or `${name}`), parsed once at start into parts that a request renders
//! without looking a name up. A variable with no value, or a name this
//! gateway does not know, is written `-`, as nginx writes an empty one.

use http::HeaderName;

/// APISIX's default access-log format (its `conf/config-default.yaml`,
/// `nginx_config.http.access_log_format`).
pub const APISIX_FORMAT: &str = "$remote_addr - $remote_user [$time_local] $http_host \
\"$request\" $status $body_bytes_sent $request_time \"$http_referer\" \"$http_user_agent\" \
$upstream_addr $upstream_status $upstream_response_time \
\"$upstream_scheme://$upstream_host$upstream_uri\"";

/// A parsed format.
#[derive(Debug, Clone, PartialEq)]
pub struct Format {
    /// The parts, in order.
    pub parts: Vec<Part>,
    /// The request headers the format reads (`http_*`, `cookie_*`,
    /// `remote_user`), captured when a request arrives; [`Var::Header`]
    /// indexes this list.
    pub headers: Vec<HeaderName>,
    /// Names no variable answers to (each written `-`).
    pub unknown: Vec<String>,
}

/// One part of a line.
#[derive(Debug, Clone, PartialEq)]
pub enum Part {
    /// Text written as it is.
    Text(String),
    /// A variable, written escaped.
    Var(Var),
}

/// The variables a line can name.
#[derive(Debug, Clone, PartialEq)]
pub enum Var {
    /// `remote_addr`: the client (as real-ip left it).
    RemoteAddr,
    /// `remote_port`.
    RemotePort,
    /// `remote_user`: the user of a Basic `Authorization` header (its slot).
    RemoteUser(usize),
    /// `time_local`: `02/Dec/2026:12:33:33 +0000` (UTC).
    TimeLocal,
    /// `time_iso8601`: `2026-12-02T12:33:33+00:00` (UTC).
    TimeIso8601,
    /// `msec`: Unix seconds with milliseconds.
    Msec,
    /// `request`: `GET /path?q HTTP/1.1`.
    Request,
    /// `request_method`.
    Method,
    /// `request_uri`: path and query as sent.
    RequestUri,
    /// `uri`: the path as sent.
    Uri,
    /// `args`, `query_string`.
    Args,
    /// `arg_<name>`: one query argument.
    Arg(String),
    /// `server_protocol`: `HTTP/1.1`.
    Protocol,
    /// `scheme`: `http` or `https`.
    Scheme,
    /// `host`: the host named, without port.
    Host,
    /// `server_addr`.
    ServerAddr,
    /// `server_port`.
    ServerPort,
    /// `status`: the response status.
    Status,
    /// `body_bytes_sent`: the response body's length (see the module
    /// docs of `access_log`).
    BodyBytesSent,
    /// `request_time`: seconds, with milliseconds, from the request's
    /// arrival to its response head.
    RequestTime,
    /// `upstream_addr`: the node tried last.
    UpstreamAddr,
    /// `upstream_status`: the status the node answered.
    UpstreamStatus,
    /// `upstream_response_time`: seconds from sending to the node's head.
    UpstreamResponseTime,
    /// `upstream_scheme`: `http`, `https`, `grpc` or `grpcs`.
    UpstreamScheme,
    /// `upstream_host`: the `Host` the node got.
    UpstreamHost,
    /// `upstream_uri`: the path and query the node got.
    UpstreamUri,
    /// `route_id`: the matched route.
    RouteId,
    /// `http_<name>`: a request header (its slot).
    Header(usize),
    /// `cookie_<name>`: one cookie of the `Cookie` header (its slot).
    Cookie(usize, String),
    /// A name no variable answers to: `-`.
    Unknown,
}

impl Format {
    /// Parses `text`; an error names the problem (a `${` never closed, an
    /// empty name).
    pub fn parse(text: &str) -> Result<Format, String> {
        let mut f = Format {
            parts: Vec::new(),
            headers: Vec::new(),
            unknown: Vec::new(),
        };
        let mut literal = String::new();
        let mut rest = text;
        while let Some(at) = rest.find('$') {
            literal.push_str(&rest[..at]);
            rest = &rest[at + 1..];
            let name;
            if let Some(braced) = rest.strip_prefix('{') {
                let end = braced
                    .find('}')
                    .ok_or_else(|| format!("\"${{\" at byte {at} is never closed"))?;
                name = &braced[..end];
                rest = &braced[end + 1..];
            } else {
                let end = rest
                    .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .unwrap_or(rest.len());
                name = &rest[..end];
                rest = &rest[end..];
            }
            if name.is_empty() {
                // A lone `$` is text, as nginx reads it.
                literal.push('$');
                continue;
            }
            if !literal.is_empty() {
                f.parts.push(Part::Text(std::mem::take(&mut literal)));
            }
            let var = f.var(name);
            f.parts.push(Part::Var(var));
        }
        literal.push_str(rest);
        if !literal.is_empty() {
            f.parts.push(Part::Text(literal));
        }
        Ok(f)
    }

    /// The variable `name` names (`Unknown`, remembered, when none).
    fn var(&mut self, name: &str) -> Var {
        let name_lc = name.to_ascii_lowercase();
        let v = match name_lc.as_str() {
            "remote_addr" => Var::RemoteAddr,
            "remote_port" => Var::RemotePort,
            "remote_user" => Var::RemoteUser(self.slot(http::header::AUTHORIZATION)),
            "time_local" => Var::TimeLocal,
            "time_iso8601" => Var::TimeIso8601,
            "msec" => Var::Msec,
            "request" => Var::Request,
            "request_method" => Var::Method,
            "request_uri" => Var::RequestUri,
            "uri" | "document_uri" => Var::Uri,
            "args" | "query_string" => Var::Args,
            "server_protocol" => Var::Protocol,
            "scheme" => Var::Scheme,
            "host" => Var::Host,
            "server_addr" => Var::ServerAddr,
            "server_port" => Var::ServerPort,
            "status" => Var::Status,
            "body_bytes_sent" => Var::BodyBytesSent,
            "request_time" => Var::RequestTime,
            "upstream_addr" => Var::UpstreamAddr,
            "upstream_status" => Var::UpstreamStatus,
            "upstream_response_time" => Var::UpstreamResponseTime,
            "upstream_scheme" => Var::UpstreamScheme,
            "upstream_host" => Var::UpstreamHost,
            "upstream_uri" => Var::UpstreamUri,
            "route_id" => Var::RouteId,
            n => {
                if let Some(h) = n.strip_prefix("http_") {
                    match HeaderName::from_bytes(h.replace('_', "-").as_bytes()) {
                        Ok(h) => Var::Header(self.slot(h)),
                        Err(_) => Var::Unknown,
                    }
                } else if n.starts_with("cookie_") {
                    // Cookie and argument names keep their case.
                    Var::Cookie(self.slot(http::header::COOKIE), name[7..].to_owned())
                } else if n.starts_with("arg_") {
                    Var::Arg(name[4..].to_owned())
                } else {
                    Var::Unknown
                }
            }
        };
        if v == Var::Unknown && !self.unknown.iter().any(|u| u == name) {
            self.unknown.push(name.to_owned());
        }
        v
    }

    /// The slot of request header `h` (added when new).
    fn slot(&mut self, h: HeaderName) -> usize {
        match self.headers.iter().position(|x| *x == h) {
            Some(i) => i,
            None => {
                self.headers.push(h);
                self.headers.len() - 1
            }
        }
    }
}
