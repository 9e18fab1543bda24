//! The host's side of the request context: the request (and response) a
//! plugin reads and edits, built by the proxy once per request.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use abi_stable::std_types::{RNone, ROption, RSome, RStr, Tuple2};
use http::header::{HeaderName, HeaderValue};
use http::{HeaderMap, Method};
use radixgate_plugin::abi::{ClientAddr, RequestCtx};

/// One request as plugins see it. Plugins' reads borrow from it; their
/// edits change it in place (an invalid header name or value from a plugin
/// is dropped with a warning). The proxy moves the request's parts in and
/// takes them back out; nothing is copied per phase call.
#[derive(Debug)]
pub struct RequestState {
    /// Method sent upstream.
    pub method: Method,
    /// Path sent upstream, without the query.
    pub path: String,
    /// Raw query without `?` (empty when none).
    pub query: String,
    /// Request headers sent upstream.
    pub headers: HeaderMap,
    /// The client's address.
    pub client: SocketAddr,
    /// The matched route's id (empty when none matched).
    pub route_id: String,
    /// Route path parameters (name, value).
    pub params: Vec<(String, String)>,
    /// The consumer an auth plugin identified.
    pub consumer: Option<String>,
    /// Variables shared between plugins for this request.
    pub vars: HashMap<String, String>,
    /// Response status (0 until a response exists).
    pub response_status: u16,
    /// Response headers sent to the client.
    pub response_headers: HeaderMap,
}

impl RequestState {
    /// A state for `method` `uri` (`/path?query`) from `client`, with no
    /// headers, route or response yet.
    pub fn new(method: Method, uri: &str, client: SocketAddr) -> RequestState {
        let (path, query) = uri.split_once('?').unwrap_or((uri, ""));
        RequestState {
            method,
            path: path.to_string(),
            query: query.to_string(),
            headers: HeaderMap::new(),
            client,
            route_id: String::new(),
            params: Vec::new(),
            consumer: None,
            vars: HashMap::new(),
            response_status: 0,
            response_headers: HeaderMap::new(),
        }
    }
}

impl Default for RequestState {
    fn default() -> RequestState {
        let client = SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0);
        RequestState::new(Method::GET, "/", client)
    }
}

/// The first value of `name` as text; absent when not valid visible ASCII.
fn first<'a>(map: &'a HeaderMap, name: RStr<'_>) -> ROption<RStr<'a>> {
    match map.get(name.as_str()).and_then(|v| v.to_str().ok()) {
        Some(v) => RSome(RStr::from(v)),
        None => RNone,
    }
}

/// A header name and value a plugin gave, if both are valid.
fn header(name: RStr<'_>, value: RStr<'_>) -> Option<(HeaderName, HeaderValue)> {
    let parsed = HeaderName::from_bytes(name.as_str().as_bytes())
        .ok()
        .zip(HeaderValue::from_str(value.as_str()).ok());
    if parsed.is_none() {
        tracing::warn!(name = %name.as_str(), "a plugin set an invalid header; dropped");
    }
    parsed
}

fn remove(map: &mut HeaderMap, name: RStr<'_>) {
    if let Ok(name) = HeaderName::from_bytes(name.as_str().as_bytes()) {
        map.remove(name);
    }
}

fn text(value: Option<&str>) -> ROption<RStr<'_>> {
    value.map(RStr::from).into()
}

impl RequestCtx for RequestState {
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
        text(self.query.split('&').find_map(|pair| {
            let (n, v) = pair.split_once('=').unwrap_or((pair, ""));
            (n == name.as_str()).then_some(v)
        }))
    }
    fn header(&self, name: RStr<'_>) -> ROption<RStr<'_>> {
        first(&self.headers, name)
    }
    fn header_count(&self) -> usize {
        self.headers.len()
    }
    fn header_at(&self, index: usize) -> ROption<Tuple2<RStr<'_>, RStr<'_>>> {
        match self.headers.iter().nth(index) {
            Some((n, v)) => RSome(Tuple2(
                n.as_str().into(),
                v.to_str().unwrap_or_default().into(),
            )),
            None => RNone,
        }
    }
    fn add_header(&mut self, name: RStr<'_>, value: RStr<'_>) {
        if let Some((n, v)) = header(name, value) {
            self.headers.append(n, v);
        }
    }
    fn set_header(&mut self, name: RStr<'_>, value: RStr<'_>) {
        if let Some((n, v)) = header(name, value) {
            self.headers.insert(n, v);
        }
    }
    fn remove_header(&mut self, name: RStr<'_>) {
        remove(&mut self.headers, name)
    }
    fn set_uri(&mut self, uri: RStr<'_>) {
        let uri = uri.as_str();
        if !uri.starts_with('/') || uri.parse::<http::uri::PathAndQuery>().is_err() {
            tracing::warn!(uri, "a plugin set an invalid uri; ignored");
            return;
        }
        let (path, query) = uri.split_once('?').unwrap_or((uri, ""));
        self.path = path.to_string();
        self.query = query.to_string();
    }
    fn set_method(&mut self, method: RStr<'_>) {
        match Method::from_bytes(method.as_str().as_bytes()) {
            Ok(m) => self.method = m,
            Err(_) => {
                tracing::warn!(method = %method.as_str(), "a plugin set an invalid method; ignored")
            }
        }
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
        let found = self.params.iter().find(|(n, _)| n == name.as_str());
        text(found.map(|(_, v)| v.as_str()))
    }
    fn consumer(&self) -> ROption<RStr<'_>> {
        text(self.consumer.as_deref())
    }
    fn set_consumer(&mut self, username: RStr<'_>) {
        self.consumer = Some(username.to_string());
    }
    fn var(&self, name: RStr<'_>) -> ROption<RStr<'_>> {
        text(self.vars.get(name.as_str()).map(String::as_str))
    }
    fn set_var(&mut self, name: RStr<'_>, value: RStr<'_>) {
        self.vars.insert(name.to_string(), value.to_string());
    }
    fn response_status(&self) -> u16 {
        self.response_status
    }
    fn set_response_status(&mut self, status: u16) {
        if (100..=999).contains(&status) {
            self.response_status = status;
        }
    }
    fn response_header(&self, name: RStr<'_>) -> ROption<RStr<'_>> {
        first(&self.response_headers, name)
    }
    fn add_response_header(&mut self, name: RStr<'_>, value: RStr<'_>) {
        if let Some((n, v)) = header(name, value) {
            self.response_headers.append(n, v);
        }
    }
    fn set_response_header(&mut self, name: RStr<'_>, value: RStr<'_>) {
        if let Some((n, v)) = header(name, value) {
            self.response_headers.insert(n, v);
        }
    }
    fn remove_response_header(&mut self, name: RStr<'_>) {
        remove(&mut self.response_headers, name)
    }
}
