//! Request variables for `vars` expressions, read lazily and without
//! copying: nginx's names (`uri`, `request_uri`, `host`, `remote_addr`,
//! `arg_*`, `http_*`, `cookie_*`, `scheme`, and on the TLS listener
//! `ssl_server_name`, `ssl_client_verify`, `ssl_client_s_dn`,
//! `ssl_client_serial`, ...).

use std::cell::OnceCell;
use std::net::SocketAddr;

use http::{HeaderMap, Method, Uri};
use radix_router::{Var, Vars};

use crate::tls::TlsInfo;

/// The variables of one request. Built per request; nothing is computed
/// until a route with `vars` asks.
#[derive(Debug)]
pub struct RequestVars<'a> {
    method: &'a Method,
    uri: &'a Uri,
    headers: &'a HeaderMap,
    origin: Origin<'a>,
    texts: OnceCell<Texts>,
}

/// Where a request came from and which host it named: what its variables
/// read besides its head.
#[derive(Debug, Clone, Copy)]
pub struct Origin<'a> {
    /// The request's host without port.
    pub host: &'a [u8],
    /// The client.
    pub remote: SocketAddr,
    /// The address the client connected to.
    pub local: SocketAddr,
    /// The connection's TLS facts (`None`: plain HTTP).
    pub tls: Option<&'a TlsInfo>,
}

/// Variables that exist only as numbers or addresses, turned to text once.
#[derive(Debug)]
struct Texts {
    remote_addr: String,
    remote_port: String,
    server_addr: String,
    server_port: String,
}

impl<'a> RequestVars<'a> {
    /// The variables of the request `method` `uri` with `headers`, as it
    /// came from `origin`.
    pub fn new(
        method: &'a Method,
        uri: &'a Uri,
        headers: &'a HeaderMap,
        origin: Origin<'a>,
    ) -> Self {
        RequestVars {
            method,
            uri,
            headers,
            origin,
            texts: OnceCell::new(),
        }
    }

    fn texts(&self) -> &Texts {
        let Origin { remote, local, .. } = self.origin;
        self.texts.get_or_init(|| Texts {
            remote_addr: remote.ip().to_string(),
            remote_port: remote.port().to_string(),
            server_addr: local.ip().to_string(),
            server_port: local.port().to_string(),
        })
    }
}

fn text(s: &str) -> Option<Var<'_>> {
    Some(Var::Str(s.as_bytes()))
}

impl Vars for RequestVars<'_> {
    fn var(&self, name: &str) -> Option<Var<'_>> {
        match name {
            "uri" => text(self.uri.path()),
            "request_uri" => text(self.uri.path_and_query().map_or("/", |p| p.as_str())),
            "args" | "query_string" => self.uri.query().and_then(text),
            "is_args" => text(if self.uri.query().is_some() { "?" } else { "" }),
            "host" => Some(Var::Str(self.origin.host)),
            "request_method" => text(self.method.as_str()),
            "scheme" => text(if self.origin.tls.is_some() {
                "https"
            } else {
                "http"
            }),
            "https" => text(if self.origin.tls.is_some() { "on" } else { "" }),
            "ssl_server_name" => self.origin.tls?.server_name.as_deref().and_then(text),
            "ssl_client_verify" => text(&self.origin.tls?.client_verify),
            "ssl_client_s_dn" => self.origin.tls?.client_s_dn.as_deref().and_then(text),
            "ssl_client_serial" => self.origin.tls?.client_serial.as_deref().and_then(text),
            "remote_addr" => text(&self.texts().remote_addr),
            "remote_port" => text(&self.texts().remote_port),
            "server_addr" => text(&self.texts().server_addr),
            "server_port" => text(&self.texts().server_port),
            _ => {
                if let Some(arg) = name.strip_prefix("arg_") {
                    query_arg(self.uri.query()?, arg).map(Var::Str)
                } else if let Some(h) = name.strip_prefix("http_") {
                    let header: String = h
                        .chars()
                        .map(|c| {
                            if c == '_' {
                                '-'
                            } else {
                                c.to_ascii_lowercase()
                            }
                        })
                        .collect();
                    self.headers
                        .get(header.as_str())
                        .map(|v| Var::Str(v.as_bytes()))
                } else if let Some(c) = name.strip_prefix("cookie_") {
                    cookie(self.headers, c).map(Var::Str)
                } else {
                    None
                }
            }
        }
    }
}

/// The raw (not decoded) value of `name` in a query string, like nginx's
/// `$arg_name`: the first occurrence, names compared without case.
pub fn query_arg<'q>(query: &'q str, name: &str) -> Option<&'q [u8]> {
    query.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        k.eq_ignore_ascii_case(name).then_some(v.as_bytes())
    })
}

/// The value of cookie `name` from the `Cookie` headers.
pub fn cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h [u8]> {
    headers
        .get_all(http::header::COOKIE)
        .iter()
        .flat_map(|v| v.as_bytes().split(|&b| b == b';'))
        .find_map(|pair| {
            let pair = pair.trim_ascii();
            let eq = pair.iter().position(|&b| b == b'=')?;
            (pair[..eq].trim_ascii() == name.as_bytes()).then(|| pair[eq + 1..].trim_ascii())
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_nginx_names() {
        let method = Method::GET;
        let uri: Uri = "/a/b?x=1&Name=json&flag".parse().unwrap();
        let mut headers = HeaderMap::new();
        headers.insert("x-user-id", "42".parse().unwrap());
        headers.insert("cookie", "a=1; sid = abc ;b=2".parse().unwrap());
        let remote = "10.1.2.3:5555".parse().unwrap();
        let local = "127.0.0.1:9080".parse().unwrap();
        let origin = Origin {
            host: b"foo.com",
            remote,
            local,
            tls: None,
        };
        let v = RequestVars::new(&method, &uri, &headers, origin);
        let s = |n: &str| match v.var(n) {
            Some(Var::Str(b)) => Some(String::from_utf8_lossy(b).into_owned()),
            _ => None,
        };
        assert_eq!(s("uri").as_deref(), Some("/a/b"));
        assert_eq!(s("request_uri").as_deref(), Some("/a/b?x=1&Name=json&flag"));
        assert_eq!(s("arg_name").as_deref(), Some("json"));
        assert_eq!(s("arg_flag").as_deref(), Some(""));
        assert_eq!(s("arg_none"), None);
        assert_eq!(s("http_x_user_id").as_deref(), Some("42"));
        assert_eq!(s("cookie_sid").as_deref(), Some("abc"));
        assert_eq!(s("cookie_b").as_deref(), Some("2"));
        assert_eq!(s("remote_addr").as_deref(), Some("10.1.2.3"));
        assert_eq!(s("server_port").as_deref(), Some("9080"));
        assert_eq!(s("host").as_deref(), Some("foo.com"));
        assert_eq!(s("nonsense"), None);
    }
}
