//! The request context: what a worker shares with every request, the
//! client connection's two ends, and one request's [`Exchange`], which each
//! step of the pipeline reads and fills in.

use std::net::SocketAddr;
use std::sync::Arc;

use http::uri::Authority;
use http::{header, HeaderValue, Request};

use super::grpc::Call;
use super::headers::host_only;
use super::log::log_later;
use super::phases::PluginRun;
use super::server::Limits;
use super::upgrade::ClientSide;
use super::vars::{Origin, RequestVars};
use crate::access_log::AccessLine;
use crate::snapshot::{Live, Matched, RouteRt};
use crate::tls::TlsInfo;
use crate::upstream::{Timeouts, UpstreamClient};

/// How many `Host` headers a request came with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum HostSent {
    None,
    One,
    Many,
}

/// The first `Host` header of `headers`, and how many there are: one
/// lookup for both.
fn host_headers(headers: &http::HeaderMap) -> (Option<&HeaderValue>, HostSent) {
    let mut all = headers.get_all(header::HOST).iter();
    match (all.next(), all.next()) {
        (None, _) => (None, HostSent::None),
        (Some(h), None) => (Some(h), HostSent::One),
        (Some(h), Some(_)) => (Some(h), HostSent::Many),
    }
}

/// What every connection of a worker shares.
#[derive(Debug)]
pub struct WorkerContext {
    /// The current snapshot.
    pub live: Live,
    /// The worker's pooled client to nodes.
    pub client: UpstreamClient,
    /// Timeouts towards nodes when neither route nor upstream sets them.
    pub default_timeouts: Timeouts,
    /// Longest request target (path and query); longer gets 414.
    pub max_uri_size: usize,
    /// Limits on clients (body size and timeout read per request).
    pub limits: Limits,
    /// Clients whose `X-Forwarded-*` and `X-Real-IP` are believed.
    pub trusted: Vec<radix_router::AddrRule>,
    /// The gateway's HTTPS port as text (request variable
    /// `gateway_https_port`): `plugins.redirect.https_port`, else the TLS
    /// listener's first address's; `None` without either.
    pub https_port: Option<Arc<str>>,
    /// Woken once, when the worker stops: what idle native HTTP/1.1
    /// connections wait on (a `Notified` is less than half the size of a
    /// wait on the stop signal's watch, and every idle connection holds
    /// one).
    pub stopping: tokio::sync::Notify,
}

/// The two ends of the client's connection, and its TLS facts on the
/// TLS listener.
#[derive(Debug, Clone)]
pub struct ClientConn {
    /// The client.
    pub remote: SocketAddr,
    /// The address it connected to.
    pub local: SocketAddr,
    /// What the TLS handshake told (`None`: plain HTTP).
    pub tls: Option<Arc<TlsInfo>>,
}

/// One request on its way through the pipeline: where it came from and
/// what the steps so far decided. The request itself travels beside it.
pub struct Exchange<'w> {
    /// The worker serving it.
    pub worker: &'w WorkerContext,
    /// The client's connection.
    pub conn: ClientConn,
    /// The `Host` header, else an absolute-form target's authority.
    host_header: Option<HeaderValue>,
    /// Whether `host_header` is a `Host` header, and whether it was the
    /// only one.
    host_sent: HostSent,
    /// The route that matched (set by the route step).
    pub route: Option<Arc<RouteRt>>,
    /// Which of its patterns matched.
    pub matched: Matched,
    /// The plugin side of the request: `None` on the bare path (no global
    /// rules, a route without plugins), where no plugin work is done.
    pub plugins: Option<Box<PluginRun>>,
    /// The `Upgrade` value when the client asked for a WebSocket (read on
    /// arrival, before the hop-by-hop headers go).
    pub websocket: Option<HeaderValue>,
    /// The WebSocket upgrade the client asked for, on a route that lets it
    /// through: its `Upgrade` value and the client side of the switch.
    pub upgrade: Option<(HeaderValue, ClientSide)>,
    /// When the request came in, read only when something needs it: the
    /// access line, else the plugin side when it starts (request variable
    /// `request_time`).
    pub arrived: Option<std::time::Instant>,
    /// The node tried last.
    pub node: Option<Authority>,
    /// How long the last try took from sending to the node's response
    /// head (request variable `upstream_response_time`).
    pub upstream_time: Option<std::time::Duration>,
    /// The status the node answered (request variable `upstream_status`).
    pub upstream_status: Option<http::StatusCode>,
    /// What the access line keeps of the request, when the log is on.
    pub access: Option<AccessLine>,
    /// The gRPC call, when the request is one (`content-type:
    /// application/grpc*`).
    pub grpc: Option<Call>,
}

impl<'w> Exchange<'w> {
    /// The context of `req`, just accepted on `conn`.
    pub fn new<B>(worker: &'w WorkerContext, conn: ClientConn, req: &Request<B>) -> Self {
        let (host, host_sent) = host_headers(req.headers());
        let host_header = match host {
            Some(h) => Some(h.clone()),
            None => req
                .uri()
                .authority()
                .and_then(|a| HeaderValue::from_str(a.as_str()).ok()),
        };
        let access = crate::access_log::begin(req);
        Exchange {
            worker,
            conn,
            host_header,
            host_sent,
            route: None,
            matched: Matched::default(),
            plugins: None,
            websocket: None,
            upgrade: None,
            arrived: access.as_ref().map(AccessLine::arrived),
            node: None,
            upstream_time: None,
            upstream_status: None,
            access,
            grpc: Call::of(req.headers()),
        }
    }

    /// The `Host` the client named, port included (empty when none).
    pub fn host_header(&self) -> &[u8] {
        self.host_header.as_ref().map_or(b"", HeaderValue::as_bytes)
    }

    /// The client's `Host` header, when it sent one, and whether it sent
    /// more than one (read before any step changed the headers).
    pub fn host_sent(&self) -> (Option<&[u8]>, bool) {
        match self.host_sent {
            HostSent::None => (None, false),
            HostSent::One => (Some(self.host_header()), false),
            HostSent::Many => (Some(self.host_header()), true),
        }
    }

    /// The host the client named, without port.
    pub fn host(&self) -> &[u8] {
        host_only(self.host_header())
    }

    /// Where the request came from, as its variables read it.
    pub fn origin(&self) -> Origin<'_> {
        Origin {
            host: self.host(),
            remote: self.conn.remote,
            local: self.conn.local,
            tls: self.conn.tls.as_deref(),
        }
    }

    /// The variables of `req` (this exchange's request as it is now).
    pub fn vars<'a, B>(&'a self, req: &'a Request<B>) -> RequestVars<'a> {
        RequestVars::new(req.method(), req.uri(), req.headers(), self.origin())
    }
}

impl Drop for Exchange<'_> {
    /// A request dropped before its log step (hyper drops the handler when
    /// the client goes away, in a waiting phase or while the node answers)
    /// still runs its plugins' log phase: what access counted in (a
    /// limit-conn slot) is counted out.
    fn drop(&mut self) {
        if let Some(run) = self.plugins.take() {
            log_later(run, self.conn.local, self.host());
        }
    }
}
