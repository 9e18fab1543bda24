//! The request context: implemented by the host, called by plugins.
//!
//! Reads return views borrowed from the host's own request (no copy); edits
//! are applied by the host, visible to later reads and later plugins.

use abi_stable::{
    sabi_trait,
    sabi_types::RMut,
    std_types::{ROption, RSlice, RStr, RVec, Tuple2},
    StableAbi,
};

/// The client's address: IPv4 as its IPv4-mapped IPv6 form.
#[repr(C)]
#[derive(StableAbi, Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr {
    /// Address octets (IPv4 mapped into `::ffff:a.b.c.d`).
    pub ip: [u8; 16],
    /// True when the client connected over IPv4.
    pub is_v4: bool,
    /// Client port.
    pub port: u16,
}

/// One chunk of a response body in body_filter.
#[repr(C)]
#[derive(StableAbi, Debug)]
pub struct BodyChunk<'a> {
    /// The chunk as the previous plugin left it.
    pub data: RSlice<'a, u8>,
    /// True on the last chunk.
    pub end_of_stream: bool,
    /// Set by a plugin to replace the chunk (later plugins see this).
    pub replacement: ROption<RVec<u8>>,
}

/// The request as the host exposes it to one phase call.
///
/// Header names are matched case-insensitively. In response phases the
/// `response_*` methods see the upstream's (or the reply's) response.
#[sabi_trait]
pub trait RequestCtx {
    /// The request method (`"GET"`).
    fn method(&self) -> RStr<'_>;
    /// The request path, without the query.
    fn path(&self) -> RStr<'_>;
    /// The raw query string without `?` (empty when none).
    fn query(&self) -> RStr<'_>;
    /// The first raw (not percent-decoded) value of query arg `name`.
    fn query_arg(&self, name: RStr<'_>) -> ROption<RStr<'_>>;
    /// The first value of request header `name`.
    fn header(&self, name: RStr<'_>) -> ROption<RStr<'_>>;
    /// The number of request header lines.
    fn header_count(&self) -> usize;
    /// Request header line `index` (name, value), in order.
    fn header_at(&self, index: usize) -> ROption<Tuple2<RStr<'_>, RStr<'_>>>;
    /// Appends a request header line.
    fn add_header(&mut self, name: RStr<'_>, value: RStr<'_>);
    /// Replaces every value of a request header with one.
    fn set_header(&mut self, name: RStr<'_>, value: RStr<'_>);
    /// Removes a request header.
    fn remove_header(&mut self, name: RStr<'_>);
    /// Replaces the request's path and query (`/a/b?x=1`) sent upstream.
    fn set_uri(&mut self, uri: RStr<'_>);
    /// Replaces the request method sent upstream.
    fn set_method(&mut self, method: RStr<'_>);
    /// The client's address.
    fn client_addr(&self) -> ClientAddr;
    /// The matched route's id (empty when no route matched).
    fn route_id(&self) -> RStr<'_>;
    /// Route path parameter `name` (`/users/:name`).
    fn route_param(&self, name: RStr<'_>) -> ROption<RStr<'_>>;
    /// The consumer's username, once an auth plugin has set it.
    fn consumer(&self) -> ROption<RStr<'_>>;
    /// Sets the consumer (auth plugins).
    fn set_consumer(&mut self, username: RStr<'_>);
    /// Per-request variable `name`, shared between plugins.
    fn var(&self, name: RStr<'_>) -> ROption<RStr<'_>>;
    /// Sets per-request variable `name`.
    fn set_var(&mut self, name: RStr<'_>, value: RStr<'_>);
    /// The response status (0 before a response exists).
    fn response_status(&self) -> u16;
    /// Replaces the status sent to the client (response phases).
    fn set_response_status(&mut self, status: u16);
    /// The first value of response header `name`.
    fn response_header(&self, name: RStr<'_>) -> ROption<RStr<'_>>;
    /// Appends a response header line.
    fn add_response_header(&mut self, name: RStr<'_>, value: RStr<'_>);
    /// Replaces every value of a response header with one.
    fn set_response_header(&mut self, name: RStr<'_>, value: RStr<'_>);
    /// Removes a response header.
    #[sabi(last_prefix_field)]
    fn remove_response_header(&mut self, name: RStr<'_>);
    /// ABI 1.3: the request body, read whole by the host before the first
    /// phase when an instance of the request's chains reads it
    /// ([`PluginInstance::reads_request_body`](crate::abi::PluginInstance::reads_request_body));
    /// `None` otherwise, and from a host older than 1.3 (this default).
    fn request_body(&self) -> ROption<RSlice<'_, u8>> {
        ROption::RNone
    }
}

/// A borrowed request context as it crosses the boundary.
pub type RawCtx<'a> = RequestCtx_TO<'a, RMut<'a, ()>>;
