//! The host's side of the request context: the request (and response) a
//! plugin reads and edits, built by the proxy once per request.

use std::cell::RefCell;
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
    pub vars: SharedVars,
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
            vars: SharedVars::default(),
            response_status: 0,
            response_headers: HeaderMap::new(),
        }
    }
}

/// The variables plugins share during one request: a handful per request,
/// so a list searched in order (no hashing, no allocation until the first
/// one is set); setting a name again replaces its value in place.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SharedVars {
    pairs: Vec<(String, String)>,
}

impl SharedVars {
    /// The value of `name`, if set.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Sets `name` to `value` (reusing the old value's buffer).
    pub fn insert(&mut self, name: &str, value: &str) {
        match self.pairs.iter_mut().find(|(n, _)| n == name) {
            Some((_, v)) => {
                v.clear();
                v.push_str(value);
            }
            None => {
                if self.pairs.capacity() == 0 {
                    self.pairs.reserve_exact(4);
                }
                self.pairs.push((name.to_string(), value.to_string()));
            }
        }
    }

    /// Every variable (name, value), in the order first set.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.pairs.iter().map(|(n, v)| (n.as_str(), v.as_str()))
    }

    /// The number of variables set.
    pub fn len(&self) -> usize {
        self.pairs.len()
    }

    /// True when none is set.
    pub fn is_empty(&self) -> bool {
        self.pairs.is_empty()
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

/// How many header names a worker thread keeps parsed.
const NAME_CACHE: usize = 32;

thread_local! {
    /// Header names plugins set recently, parsed: a name that is not one
    /// of the standard ones costs a parse and an allocation per call
    /// otherwise (limit-count sets three per request).
    static NAMES: RefCell<Vec<HeaderName>> = const { RefCell::new(Vec::new()) };
}

/// `name` as a header name (any case), if valid.
fn header_name(name: &str) -> Option<HeaderName> {
    let cached = NAMES.try_with(|names| {
        let names = names.borrow();
        names
            .iter()
            .find(|n| n.as_str().eq_ignore_ascii_case(name))
            .cloned()
    });
    if let Ok(Some(n)) = cached {
        // Same bytes but for case, and the cached one is valid.
        return Some(n);
    }
    let parsed = HeaderName::from_bytes(name.as_bytes()).ok()?;
    let _ = NAMES.try_with(|names| {
        let mut names = names.borrow_mut();
        if names.len() >= NAME_CACHE {
            names.remove(0);
        }
        names.push(parsed.clone());
    });
    Some(parsed)
}

/// A header name and value a plugin gave, if both are valid.
fn header(name: RStr<'_>, value: RStr<'_>) -> Option<(HeaderName, HeaderValue)> {
    let parsed = header_name(name.as_str()).zip(HeaderValue::from_str(value.as_str()).ok());
    if parsed.is_none() {
        tracing::warn!(name = %name.as_str(), "a plugin set an invalid header; dropped");
    }
    parsed
}

fn remove(map: &mut HeaderMap, name: RStr<'_>) {
    if let Some(name) = header_name(name.as_str()) {
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
        text(self.vars.get(name.as_str()))
    }
    fn set_var(&mut self, name: RStr<'_>, value: RStr<'_>) {
        self.vars.insert(name.as_str(), value.as_str());
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

#[cfg(test)]
mod tests {
    use super::SharedVars;

    #[test]
    fn shared_vars_set_replace_and_read() {
        let mut vars = SharedVars::default();
        assert_eq!(vars.get("a"), None);
        vars.insert("a", "1");
        vars.insert("ab", "2");
        vars.insert("a", "3");
        assert_eq!(
            (vars.get("a"), vars.get("ab"), vars.len()),
            (Some("3"), Some("2"), 2)
        );
        let all: Vec<_> = vars.iter().collect();
        assert_eq!(all, [("a", "3"), ("ab", "2")]);
    }
}
