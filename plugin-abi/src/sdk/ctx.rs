//! The request as a plugin sees it: borrowed reads, edits the host applies.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use abi_stable::std_types::RStr;

use crate::abi::RawCtx;

/// The request during one phase call. Reads borrow the host's request
/// (nothing is copied); edits are applied by the host at once and seen by
/// later reads and later plugins.
pub struct Ctx<'a> {
    raw: RawCtx<'a>,
}

impl<'a> Ctx<'a> {
    /// Wraps the host's context (done by the SDK before each phase).
    pub fn new(raw: RawCtx<'a>) -> Ctx<'a> {
        Ctx { raw }
    }

    /// The request method (`"GET"`).
    pub fn method(&self) -> &str {
        self.raw.method().into()
    }

    /// The request path without the query.
    pub fn path(&self) -> &str {
        self.raw.path().into()
    }

    /// The raw query string without `?` (empty when none).
    pub fn query(&self) -> &str {
        self.raw.query().into()
    }

    /// The first raw (not percent-decoded) value of query arg `name`.
    pub fn query_arg(&self, name: &str) -> Option<&str> {
        self.raw
            .query_arg(name.into())
            .into_option()
            .map(Into::into)
    }

    /// The first value of request header `name` (any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.raw.header(name.into()).into_option().map(Into::into)
    }

    /// The request body, when the host read it for this request: an
    /// instance of its chains said it reads it
    /// ([`Plugin::reads_request_body`](crate::Plugin::reads_request_body));
    /// `None` otherwise, and on a host older than ABI 1.3.
    pub fn request_body(&self) -> Option<&[u8]> {
        self.raw.request_body().into_option().map(|b| b.as_slice())
    }

    /// Every request header line (name, value), in order.
    pub fn headers(&self) -> impl Iterator<Item = (&str, &str)> + use<'_, 'a> {
        (0..self.raw.header_count()).filter_map(move |i| {
            let pair = self.raw.header_at(i).into_option()?;
            Some((pair.0.into(), pair.1.into()))
        })
    }

    /// Appends a request header line.
    pub fn add_header(&mut self, name: &str, value: &str) {
        self.raw.add_header(name.into(), value.into())
    }

    /// Replaces every value of request header `name` with `value`.
    pub fn set_header(&mut self, name: &str, value: &str) {
        self.raw.set_header(name.into(), value.into())
    }

    /// Removes request header `name`.
    pub fn remove_header(&mut self, name: &str) {
        self.raw.remove_header(name.into())
    }

    /// Replaces the path and query sent upstream (`/a/b?x=1`).
    pub fn set_uri(&mut self, uri: &str) {
        self.raw.set_uri(uri.into())
    }

    /// Replaces the method sent upstream.
    pub fn set_method(&mut self, method: &str) {
        self.raw.set_method(method.into())
    }

    /// The client's address and port.
    pub fn client_addr(&self) -> SocketAddr {
        let addr = self.raw.client_addr();
        let v6 = Ipv6Addr::from(addr.ip);
        let ip = match v6.to_ipv4_mapped() {
            Some(v4) if addr.is_v4 => IpAddr::V4(v4),
            _ if addr.is_v4 => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            _ => IpAddr::V6(v6),
        };
        SocketAddr::new(ip, addr.port)
    }

    /// The matched route's id (empty when no route matched).
    pub fn route_id(&self) -> &str {
        self.raw.route_id().into()
    }

    /// Route path parameter `name`.
    pub fn route_param(&self, name: &str) -> Option<&str> {
        self.raw
            .route_param(name.into())
            .into_option()
            .map(Into::into)
    }

    /// The consumer's username, once an auth plugin set it.
    pub fn consumer(&self) -> Option<&str> {
        self.raw.consumer().into_option().map(Into::into)
    }

    /// Sets the consumer (auth plugins).
    pub fn set_consumer(&mut self, username: &str) {
        self.raw.set_consumer(username.into())
    }

    /// Per-request variable `name`, shared between plugins.
    pub fn var(&self, name: &str) -> Option<&str> {
        self.raw.var(name.into()).into_option().map(Into::into)
    }

    /// Sets per-request variable `name`.
    pub fn set_var(&mut self, name: &str, value: &str) {
        self.raw.set_var(name.into(), value.into())
    }

    /// The response status (0 before a response exists).
    pub fn response_status(&self) -> u16 {
        self.raw.response_status()
    }

    /// Replaces the status sent to the client (response phases).
    pub fn set_response_status(&mut self, status: u16) {
        self.raw.set_response_status(status)
    }

    /// The first value of response header `name`.
    pub fn response_header(&self, name: &str) -> Option<&str> {
        self.raw
            .response_header(name.into())
            .into_option()
            .map(Into::into)
    }

    /// Appends a response header line.
    pub fn add_response_header(&mut self, name: &str, value: &str) {
        self.raw.add_response_header(name.into(), value.into())
    }

    /// Replaces every value of response header `name` with `value`.
    pub fn set_response_header(&mut self, name: &str, value: &str) {
        self.raw.set_response_header(name.into(), value.into())
    }

    /// Removes response header `name`.
    pub fn remove_response_header(&mut self, name: &str) {
        self.raw.remove_response_header(RStr::from(name))
    }
}

/// One chunk of the response body in body_filter.
pub struct Chunk<'a> {
    data: &'a [u8],
    last: bool,
    replacement: Option<Vec<u8>>,
}

impl<'a> Chunk<'a> {
    /// A chunk of `data`; `last` on the body's final chunk.
    pub fn new(data: &'a [u8], last: bool) -> Chunk<'a> {
        Chunk {
            data,
            last,
            replacement: None,
        }
    }

    /// The chunk's bytes (a replacement set earlier in this call wins).
    pub fn data(&self) -> &[u8] {
        self.replacement.as_deref().unwrap_or(self.data)
    }

    /// True on the last chunk of the body.
    pub fn is_last(&self) -> bool {
        self.last
    }

    /// Replaces the chunk sent to the client.
    pub fn replace(&mut self, bytes: Vec<u8>) {
        self.replacement = Some(bytes);
    }

    /// The replacement, if [`Chunk::replace`] was called (taken by the SDK).
    pub fn into_replacement(self) -> Option<Vec<u8>> {
        self.replacement
    }
}
