//! The host's side of the request context: the request (and response) a
//! plugin reads and edits, built by the proxy once per request.

use std::cell::RefCell;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use abi_stable::std_types::{RNone, ROption, RSlice, RSome, RStr, Tuple2};
use http::header::{HeaderName, HeaderValue};
use http::uri::Authority;
use http::{HeaderMap, Method};
use radixgate_plugin::abi::{ClientAddr, RequestCtx};

use super::inline_text::InlineText;
use super::shared_vars::SharedVars;

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
    /// The consumer an auth plugin identified (a name of up to 30 bytes
    /// kept without an allocation).
    pub consumer: Option<InlineText>,
    /// The matched route's service (request variable `service_id`).
    pub service_id: Option<String>,
    /// The matched route's `name` (request variable `route_name`).
    pub route_name: Option<std::sync::Arc<str>>,
    /// Its service's `name` (request variable `service_name`).
    pub service_name: Option<std::sync::Arc<str>>,
    /// The consumer's group, once the consumer is known (request variable
    /// `consumer_group_id`).
    pub consumer_group_id: Option<String>,
    /// Variables shared between plugins for this request.
    pub vars: SharedVars,
    /// The node the request was sent to (last tried), once chosen: nginx's
    /// `upstream_addr`, `balancer_ip` and `balancer_port` read from it.
    pub node: Option<Authority>,
    /// Response status (0 until a response exists).
    pub response_status: u16,
    /// Response headers sent to the client.
    pub response_headers: HeaderMap,
    /// The request body, when an instance of the request's chains reads it
    /// (read whole before the first phase; the node gets the same bytes).
    pub body: Option<bytes::Bytes>,
    /// The plugins whose header_filter gave the response a
    /// `Content-Encoding` it did not have: they encode the body, so their
    /// body filters run after every other (as nginx's gzip filter runs
    /// after every Lua body filter). Empty on most requests.
    pub encoders: Vec<String>,
    /// The gateway's HTTPS port (request variable `gateway_https_port`:
    /// redirect's `http_to_https`); `None` when it has none.
    pub https_port: Option<std::sync::Arc<str>>,
    /// What the header edits of the plugin that runs did to framing, for
    /// the host to act on once its call returns.
    pub framing: FramingEdits,
}

/// A plugin's header edits that touch how bodies are framed. Framing is
/// the host's alone: an edit that sets `Content-Length` or
/// `Transfer-Encoding` is dropped (removing them is fine) and noted here,
/// so that the host names the plugin in a warning; giving the response a
/// `Content-Encoding` it had not had is noted too.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct FramingEdits {
    /// An edit setting a request framing header was dropped.
    pub refused_request: bool,
    /// An edit setting a response framing header was dropped.
    pub refused_response: bool,
    /// The response got a `Content-Encoding` while it had none.
    pub encoded: bool,
}

/// Whether `name` is a header only the host sets (`Content-Length`,
/// `Transfer-Encoding`).
pub fn is_framing(name: &HeaderName) -> bool {
    name == http::header::CONTENT_LENGTH || name == http::header::TRANSFER_ENCODING
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
            service_id: None,
            route_name: None,
            service_name: None,
            consumer_group_id: None,
            vars: SharedVars::default(),
            node: None,
            response_status: 0,
            response_headers: HeaderMap::new(),
            body: None,
            encoders: Vec::new(),
            https_port: None,
            framing: FramingEdits::default(),
        }
    }

    /// A plugin's header `name: value` for the response (`response`) or
    /// the request, parsed; `None` when invalid or a framing header (noted
    /// as refused). A response's first `Content-Encoding` is noted.
    fn plugin_edit(
        &mut self,
        response: bool,
        name: RStr<'_>,
        value: RStr<'_>,
    ) -> Option<(HeaderName, HeaderValue)> {
        let (n, v) = header(name, value)?;
        if is_framing(&n) {
            if response {
                self.framing.refused_response = true;
            } else {
                self.framing.refused_request = true;
            }
            return None;
        }
        if response
            && n == http::header::CONTENT_ENCODING
            && !self
                .response_headers
                .contains_key(http::header::CONTENT_ENCODING)
        {
            self.framing.encoded = true;
        }
        Some((n, v))
    }
}

impl Default for RequestState {
    fn default() -> RequestState {
        let client = SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0);
        RequestState::new(Method::GET, "/", client)
    }
}

/// Header maps with at most this many names are searched by text, name
/// by name: cheaper than lower-casing and hashing the name asked for, as
/// a request holds a handful of headers and plugins mostly ask for ones
/// it does not hold.
const SCAN: usize = 16;

/// The first value of `name` (any case) in `map`.
fn lookup<'a>(map: &'a HeaderMap, name: &str) -> Option<&'a HeaderValue> {
    if map.keys_len() > SCAN {
        return map.get(name);
    }
    // A map yields each name's first value before its others.
    map.iter()
        .find(|(n, _)| n.as_str().eq_ignore_ascii_case(name))
        .map(|(_, v)| v)
}

/// The first value of `name` as text; absent when not valid visible ASCII.
fn first<'a>(map: &'a HeaderMap, name: RStr<'_>) -> ROption<RStr<'a>> {
    match lookup(map, name.as_str()).and_then(|v| v.to_str().ok()) {
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

/// A short header value's bytes, kept in the value's own allocation.
struct Short {
    len: u8,
    bytes: [u8; SHORT],
}

/// Longest value kept as [`Short`].
const SHORT: usize = 30;

impl AsRef<[u8]> for Short {
    fn as_ref(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }
}

/// `value` as a header value, if valid. A short one is built so that a
/// clone (the log phase keeps a copy of the response headers) only counts
/// a reference: `HeaderValue::from_str` makes a value whose first clone
/// allocates.
fn header_value(value: &str) -> Option<HeaderValue> {
    let Ok(len) = u8::try_from(value.len()) else {
        return HeaderValue::from_str(value).ok();
    };
    if usize::from(len) > SHORT {
        return HeaderValue::from_str(value).ok();
    }
    let mut short = Short {
        len,
        bytes: [0; SHORT],
    };
    short.bytes[..value.len()].copy_from_slice(value.as_bytes());
    HeaderValue::from_maybe_shared(bytes::Bytes::from_owner(short)).ok()
}

/// A header name and value a plugin gave, if both are valid.
fn header(name: RStr<'_>, value: RStr<'_>) -> Option<(HeaderName, HeaderValue)> {
    let parsed = header_name(name.as_str()).zip(header_value(value.as_str()));
    if parsed.is_none() {
        tracing::warn!(name = %name.as_str(), "a plugin set an invalid header; dropped");
    }
    parsed
}

/// Removes every `name` header (any case); an invalid name names none.
/// Looked up as text: no parsed name is needed to find one, and most
/// requests hold none of the names plugins remove.
fn remove(map: &mut HeaderMap, name: RStr<'_>) {
    let name = name.as_str();
    if map.keys_len() > SCAN {
        map.remove(name);
        return;
    }
    let held = map
        .keys()
        .find(|n| n.as_str().eq_ignore_ascii_case(name))
        .cloned();
    if let Some(held) = held {
        map.remove(held);
    }
}

fn text(value: Option<&str>) -> ROption<RStr<'_>> {
    value.map(RStr::from).into()
}

/// The request variable through which a plugin (real-ip) names the
/// client's real address: not stored as a variable, it replaces the
/// client's address for later plugins, filters, the log phase, the
/// access log and the node's `X-Real-IP` and `X-Forwarded-For`.
const CLIENT_VAR: &str = "remote_addr";

impl RequestState {
    /// Replaces the client's address with `text`: `ip` (the port stays),
    /// `ip:port` or `[ipv6]:port`. Anything else is dropped with a
    /// warning.
    fn set_client(&mut self, text: &str) {
        if let Ok(addr) = text.parse::<SocketAddr>() {
            self.client = addr;
            return;
        }
        let bare = text
            .strip_prefix('[')
            .and_then(|t| t.strip_suffix(']'))
            .unwrap_or(text);
        match bare.parse::<IpAddr>() {
            Ok(ip) => self.client.set_ip(ip),
            Err(_) => tracing::warn!(
                value = text,
                "a plugin set remote_addr to what is not an IP address; ignored"
            ),
        }
    }

    /// The variables of the node the request went to, when it has one.
    fn node_var(&self, name: &str) -> Option<&str> {
        let node = self.node.as_ref()?;
        match name {
            "upstream_addr" => Some(node.as_str()),
            "balancer_ip" => Some(node.host().trim_start_matches('[').trim_end_matches(']')),
            // Borrowed from the authority (its port is after the last `:`).
            "balancer_port" => node
                .port()
                .and(node.as_str().rsplit_once(':'))
                .map(|(_, p)| p),
            _ => None,
        }
    }
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
        if let Some((n, v)) = self.plugin_edit(false, name, value) {
            self.headers.append(n, v);
        }
    }
    fn set_header(&mut self, name: RStr<'_>, value: RStr<'_>) {
        if let Some((n, v)) = self.plugin_edit(false, name, value) {
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
        self.consumer = Some(InlineText::new(username.as_str()));
    }
    fn var(&self, name: RStr<'_>) -> ROption<RStr<'_>> {
        let name = name.as_str();
        // What the gateway knows of the request's route and consumer: not
        // a plugin's to override (consumer-restriction decides on them).
        let known = match name {
            "service_id" => Some(self.service_id.as_deref()),
            "route_name" => Some(self.route_name.as_deref()),
            "service_name" => Some(self.service_name.as_deref()),
            "consumer_group_id" => Some(self.consumer_group_id.as_deref()),
            "gateway_https_port" => Some(self.https_port.as_deref()),
            _ => None,
        };
        match known {
            Some(value) => text(value),
            None => text(self.vars.get(name).or_else(|| self.node_var(name))),
        }
    }
    fn set_var(&mut self, name: RStr<'_>, value: RStr<'_>) {
        if name.as_str() == CLIENT_VAR {
            self.set_client(value.as_str());
            return;
        }
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
        if let Some((n, v)) = self.plugin_edit(true, name, value) {
            self.response_headers.append(n, v);
        }
    }
    fn set_response_header(&mut self, name: RStr<'_>, value: RStr<'_>) {
        if let Some((n, v)) = self.plugin_edit(true, name, value) {
            self.response_headers.insert(n, v);
        }
    }
    fn remove_response_header(&mut self, name: RStr<'_>) {
        remove(&mut self.response_headers, name)
    }
    fn request_body(&self) -> ROption<RSlice<'_, u8>> {
        match &self.body {
            Some(b) => RSome(RSlice::from_slice(b)),
            None => RNone,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::RequestState;
    use abi_stable::std_types::{RNone, ROption, RStr};
    use radixgate_plugin::abi::RequestCtx;

    #[test]
    fn the_node_variables_read_the_node_a_plugin_did_not_override() {
        let var = |state: &RequestState, name: &str| match state.var(RStr::from(name)) {
            ROption::RSome(v) => Some(v.as_str().to_owned()),
            RNone => None,
        };
        let mut state = RequestState::default();
        assert_eq!(var(&state, "balancer_ip"), None);
        state.node = Some("[::1]:8080".parse().expect("an authority"));
        assert_eq!(var(&state, "balancer_ip").as_deref(), Some("::1"));
        assert_eq!(var(&state, "balancer_port").as_deref(), Some("8080"));
        assert_eq!(var(&state, "upstream_addr").as_deref(), Some("[::1]:8080"));
        state.set_var(RStr::from("balancer_port"), RStr::from("1"));
        assert_eq!(var(&state, "balancer_port").as_deref(), Some("1"));
    }

    #[test]
    fn remote_addr_replaces_the_client_address() {
        let mut state = RequestState::default();
        let mut set = |value: &str| {
            state.set_var(RStr::from("remote_addr"), RStr::from(value));
            state.client.to_string()
        };
        assert_eq!(set("10.1.2.3:8080"), "10.1.2.3:8080");
        // An address alone keeps the port.
        assert_eq!(set("10.9.9.9"), "10.9.9.9:8080");
        assert_eq!(set("[::1]"), "[::1]:8080");
        assert_eq!(set("[2001:db8::1]:99"), "[2001:db8::1]:99");
        // Not an address: ignored.
        assert_eq!(set("nope"), "[2001:db8::1]:99");
        assert_eq!(state.vars.get("remote_addr"), None);
    }

    #[test]
    fn plugin_header_values_are_checked_whatever_their_length() {
        for v in ["", "12", &"x".repeat(30), &"y".repeat(31), &"z".repeat(300)] {
            let parsed = super::header_value(v).expect("valid");
            assert_eq!(parsed.as_bytes(), v.as_bytes());
            assert_eq!(parsed.clone(), parsed);
        }
        assert!(super::header_value("a\nb").is_none());
        assert!(super::header_value(&format!("{}\n", "a".repeat(40))).is_none());
    }

    #[test]
    fn a_plugin_reads_and_removes_a_header_by_name_in_any_case() {
        // A few headers (searched in order) and many (hashed) alike.
        for filler in [0, 2 * super::SCAN] {
            let mut state = RequestState::default();
            for i in 0..filler {
                let name = format!("x-filler-{i}");
                state.headers.append(
                    http::HeaderName::from_bytes(name.as_bytes()).expect("name"),
                    "f".parse().expect("value"),
                );
            }
            let sent = [
                ("x-consumer-username", "forged"),
                ("x-other", "kept"),
                ("x-consumer-username", "twice"),
            ];
            for (name, value) in sent {
                state.headers.append(name, value.parse().expect("value"));
            }
            state
                .response_headers
                .append("x-ratelimit-limit", "1".parse().expect("value"));
            let read = |state: &RequestState, name: &str| match state.header(RStr::from(name)) {
                ROption::RSome(v) => Some(v.as_str().to_owned()),
                RNone => None,
            };
            assert_eq!(
                read(&state, "X-Consumer-USERNAME").as_deref(),
                Some("forged")
            );
            assert_eq!(read(&state, "x-other").as_deref(), Some("kept"));
            assert_eq!(read(&state, "x-consumer"), None);
            assert_eq!(read(&state, ""), None);
            // An invalid name names nothing, and nothing goes.
            state.remove_header(RStr::from("x consumer"));
            state.remove_header(RStr::from(""));
            state.remove_header(RStr::from("x-consumer"));
            assert_eq!(state.headers.len(), filler + 3);
            state.remove_header(RStr::from("X-Consumer-Username"));
            assert!(!state.headers.contains_key("x-consumer-username"));
            assert_eq!(state.headers.len(), filler + 1);
            assert_eq!(state.headers["x-other"], "kept");
            state.remove_response_header(RStr::from("X-RateLimit-Limit"));
            assert!(state.response_headers.is_empty());
        }
    }
}
