//! The mock request: a plain struct the test fills and inspects.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use abi_stable::std_types::{RNone, ROption, RSlice, RSome, RStr, Tuple2};

use crate::abi::{ClientAddr, RequestCtx};

/// A request (and, for response phases, its response) as plain data.
/// Header names compare case-insensitively, as in the gateway.
#[derive(Debug, Clone)]
pub struct MockRequest {
    /// Method.
    pub method: String,
    /// Path without the query.
    pub path: String,
    /// Raw query without `?`.
    pub query: String,
    /// Request header lines in order.
    pub headers: Vec<(String, String)>,
    /// Client address.
    pub client: SocketAddr,
    /// Matched route id.
    pub route_id: String,
    /// Route path parameters.
    pub params: Vec<(String, String)>,
    /// Consumer username set by an auth plugin.
    pub consumer: Option<String>,
    /// Per-request variables.
    pub vars: HashMap<String, String>,
    /// Response status (0: none yet).
    pub response_status: u16,
    /// Response header lines in order.
    pub response_headers: Vec<(String, String)>,
    /// The request body as the host read it (`None`: not read).
    pub body: Option<Vec<u8>>,
}

impl MockRequest {
    /// A `method` request for `uri` (`/path?query`) from 127.0.0.1:40000.
    pub fn new(method: &str, uri: &str) -> MockRequest {
        let (path, query) = uri.split_once('?').unwrap_or((uri, ""));
        MockRequest {
            method: method.into(),
            path: path.into(),
            query: query.into(),
            headers: Vec::new(),
            client: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 40000),
            route_id: String::new(),
            params: Vec::new(),
            consumer: None,
            vars: HashMap::new(),
            response_status: 0,
            response_headers: Vec::new(),
            body: None,
        }
    }

    /// This request with a header line appended.
    pub fn header(mut self, name: &str, value: &str) -> MockRequest {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// This request with a body, as the host reads it for a plugin that
    /// reads request bodies.
    pub fn body(mut self, body: &[u8]) -> MockRequest {
        self.body = Some(body.to_vec());
        self
    }

    /// The first value of request header `name`.
    pub fn header_value(&self, name: &str) -> Option<&str> {
        first(&self.headers, name)
    }

    /// The first value of response header `name`.
    pub fn response_header_value(&self, name: &str) -> Option<&str> {
        first(&self.response_headers, name)
    }
}

fn first<'a>(lines: &'a [(String, String)], name: &str) -> Option<&'a str> {
    lines
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

fn found(value: Option<&str>) -> ROption<RStr<'_>> {
    match value {
        Some(v) => RSome(RStr::from(v)),
        None => RNone,
    }
}

fn set(lines: &mut Vec<(String, String)>, name: RStr<'_>, value: RStr<'_>) {
    lines.retain(|(n, _)| !n.eq_ignore_ascii_case(name.as_str()));
    lines.push((name.to_string(), value.to_string()));
}

impl RequestCtx for MockRequest {
    fn method(&self) -> RStr<'_> {
        self.method.as_str().into()
    }
    fn path(&self) -> RStr<'_> {
        self.path.as_str().into()
    }
    fn query(&self) -> RStr<'_> {
        self.query.as_str().into()
    }
    fn query_arg(&self, name: RStr<'_>) -> ROption<RStr<'_>> {
        let value = self.query.split('&').find_map(|pair| {
            let (n, v) = pair.split_once('=').unwrap_or((pair, ""));
            (n == name.as_str()).then_some(v)
        });
        found(value)
    }
    fn header(&self, name: RStr<'_>) -> ROption<RStr<'_>> {
        found(first(&self.headers, name.as_str()))
    }
    fn header_count(&self) -> usize {
        self.headers.len()
    }
    fn header_at(&self, index: usize) -> ROption<Tuple2<RStr<'_>, RStr<'_>>> {
        match self.headers.get(index) {
            Some((n, v)) => RSome(Tuple2(n.as_str().into(), v.as_str().into())),
            None => RNone,
        }
    }
    fn add_header(&mut self, name: RStr<'_>, value: RStr<'_>) {
        self.headers.push((name.to_string(), value.to_string()));
    }
    fn set_header(&mut self, name: RStr<'_>, value: RStr<'_>) {
        set(&mut self.headers, name, value)
    }
    fn remove_header(&mut self, name: RStr<'_>) {
        self.headers
            .retain(|(n, _)| !n.eq_ignore_ascii_case(name.as_str()));
    }
    fn set_uri(&mut self, uri: RStr<'_>) {
        let (path, query) = uri.as_str().split_once('?').unwrap_or((uri.as_str(), ""));
        self.path = path.into();
        self.query = query.into();
    }
    fn set_method(&mut self, method: RStr<'_>) {
        self.method = method.to_string();
    }
    fn client_addr(&self) -> ClientAddr {
        let (ip, is_v4) = match self.client.ip() {
            IpAddr::V4(v4) => (v4.to_ipv6_mapped().octets(), true),
            IpAddr::V6(v6) => (v6.octets(), false),
        };
        ClientAddr {
            ip,
            is_v4,
            port: self.client.port(),
        }
    }
    fn route_id(&self) -> RStr<'_> {
        self.route_id.as_str().into()
    }
    fn route_param(&self, name: RStr<'_>) -> ROption<RStr<'_>> {
        let value = self.params.iter().find(|(n, _)| n == name.as_str());
        found(value.map(|(_, v)| v.as_str()))
    }
    fn consumer(&self) -> ROption<RStr<'_>> {
        found(self.consumer.as_deref())
    }
    fn set_consumer(&mut self, username: RStr<'_>) {
        self.consumer = Some(username.to_string());
    }
    fn var(&self, name: RStr<'_>) -> ROption<RStr<'_>> {
        found(self.vars.get(name.as_str()).map(String::as_str))
    }
    fn set_var(&mut self, name: RStr<'_>, value: RStr<'_>) {
        // As the gateway: `remote_addr` replaces the client's address.
        if name.as_str() == "remote_addr" {
            let text = value.as_str();
            let bare = text.strip_prefix('[').and_then(|t| t.strip_suffix(']'));
            if let Ok(addr) = text.parse::<SocketAddr>() {
                self.client = addr;
            } else if let Ok(ip) = bare.unwrap_or(text).parse::<IpAddr>() {
                self.client.set_ip(ip);
            }
            return;
        }
        self.vars.insert(name.to_string(), value.to_string());
    }
    fn response_status(&self) -> u16 {
        self.response_status
    }
    fn set_response_status(&mut self, status: u16) {
        self.response_status = status;
    }
    fn response_header(&self, name: RStr<'_>) -> ROption<RStr<'_>> {
        found(first(&self.response_headers, name.as_str()))
    }
    fn add_response_header(&mut self, name: RStr<'_>, value: RStr<'_>) {
        self.response_headers
            .push((name.to_string(), value.to_string()));
    }
    fn set_response_header(&mut self, name: RStr<'_>, value: RStr<'_>) {
        set(&mut self.response_headers, name, value)
    }
    fn remove_response_header(&mut self, name: RStr<'_>) {
        self.response_headers
            .retain(|(n, _)| !n.eq_ignore_ascii_case(name.as_str()));
    }
    fn request_body(&self) -> ROption<RSlice<'_, u8>> {
        match &self.body {
            Some(b) => RSome(RSlice::from_slice(b)),
            None => RNone,
        }
    }
}
