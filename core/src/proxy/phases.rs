//! The plugin steps of the pipeline: rewrite, access, before_proxy and
//! header_filter (body_filter is in `body_filter.rs`, log in `log.rs`).
//!
//! Only a request whose global rules or route have plugins has a
//! [`PluginRun`]; on the others every step here returns at once.
//! Each phase runs the global rules' plugins first, then the route's, each
//! in priority order; rewrite and access may answer the request. After
//! auth names a consumer, the consumer's plugins join the route's.
//! `_meta.filter` is evaluated on the request as it is at that moment;
//! `_meta.error_response` replaces the body of a plugin's own 4xx/5xx.

use std::sync::Arc;

use bytes::Bytes;
use http::header::{HeaderName, HeaderValue};
use http::{Method, Request, Response, StatusCode, Uri};
use http_body_util::{Either, Full};
use radix_router::{Expr, Var, Vars};

use super::client_body::ClientBody;
use super::exchange::Exchange;
use super::phase_run;
use super::respond::{self, Answer, Body};
use super::vars::{Origin, RequestVars};
use crate::plugin_host::{Chain, ConfiguredPlugin, Phase, PluginReply, RequestState, SharedVars};

/// The chains one request runs: global rules' first, then the route's.
#[derive(Default)]
pub struct Chains {
    global: Option<Arc<Chain>>,
    route: Option<Arc<Chain>>,
}

impl Chains {
    /// The chains of a request on a route whose chain is `route` (`None`
    /// when no route matched or it has no plugins); a `prefer_route` plugin
    /// the route runs leaves the global rules' chain.
    pub fn new(global: Option<Arc<Chain>>, route: Option<Arc<Chain>>) -> Chains {
        Chains {
            global: Chain::for_route(global, route.as_deref()),
            route,
        }
    }

    /// Whether some instance of the chains reads the request body.
    pub fn reads_body(&self) -> bool {
        [&self.global, &self.route]
            .into_iter()
            .flatten()
            .any(|c| c.reads_body)
    }

    /// Whether some instance of the chains observes the response body.
    pub fn observes_body(&self) -> bool {
        [&self.global, &self.route]
            .into_iter()
            .flatten()
            .any(|c| c.observes_body)
    }

    /// The instances that observe the response body, in run order.
    pub fn observers(&self) -> impl Iterator<Item = &Arc<ConfiguredPlugin>> {
        [&self.global, &self.route]
            .into_iter()
            .flatten()
            .filter(|c| c.observes_body)
            .flat_map(|c| c.entries.iter())
            .filter(|c| c.instance.observes_response_body())
    }

    /// Whether some plugin of the chains implements `phase`.
    pub fn has(&self, phase: Phase) -> bool {
        [&self.global, &self.route]
            .into_iter()
            .flatten()
            .any(|c| c.has(phase))
    }

    /// The plugins that implement `phase`, in run order.
    pub fn for_phase(&self, phase: Phase) -> impl Iterator<Item = &Arc<ConfiguredPlugin>> {
        [&self.global, &self.route]
            .into_iter()
            .flatten()
            .filter(move |c| c.has(phase))
            .flat_map(|c| c.entries.iter())
            .filter(move |c| c.instance.entry().phases.contains(phase))
    }
}

/// The plugin side of one request: the chains it runs and the request as
/// plugins see and edit it.
pub struct PluginRun {
    /// The chains, the consumer's plugins merged in once auth names one.
    pub chains: Chains,
    /// The request (and later the response) as plugins see it.
    pub state: RequestState,
    /// Whether the consumer's plugins joined the chains already.
    merged: bool,
    /// Set while the request's headers are lent to the node's request.
    lent: Option<Lent>,
}

/// The request's headers, lent to the node's request: they come back
/// after the node answers or the tries end (`request_back`), for the
/// response phases and the log, with the `Host` they had before
/// `pass_host` replaced it.
#[derive(Default)]
struct Lent {
    /// `Host` before the first node's replaced it (`Some(None)`: there
    /// was none); `None` while it was kept.
    host: Option<Option<HeaderValue>>,
}

impl PluginRun {
    /// The plugin side of a request with `chains` and `state`.
    pub fn new(chains: Chains, state: RequestState) -> Box<PluginRun> {
        Box::new(PluginRun {
            chains,
            state,
            merged: false,
            lent: None,
        })
    }
}

/// Starts the plugin side of `req` when `global` or the matched route has
/// plugins: the request's head moves into the state plugins edit.
pub fn start<B>(ex: &mut Exchange<'_>, global: Option<Arc<Chain>>, req: &mut Request<B>) {
    let route = ex.route.as_ref().and_then(|r| r.plugins.clone());
    if global.is_none() && route.is_none() {
        return;
    }
    let target = req.uri().path_and_query().map_or("/", |p| p.as_str());
    let length = request_length(req.method(), target, req.headers());
    // Built in its box: the state is large.
    let mut run = PluginRun::new(
        Chains::new(global, route),
        RequestState::new(req.method().clone(), target, ex.conn.remote),
    );
    let state = &mut run.state;
    set_number(state, "request_length", length);
    // nginx's `server_protocol` (gzip's `http_version`, log formats).
    let protocol = match req.version() {
        http::Version::HTTP_10 => "HTTP/1.0",
        http::Version::HTTP_2 => "HTTP/2.0",
        _ => "HTTP/1.1",
    };
    state.vars.insert("server_protocol", protocol);
    state.headers = std::mem::take(req.headers_mut());
    state.https_port.clone_from(&ex.worker.https_port);
    if let Some(tls) = &ex.conn.tls {
        crate::tls::publish_vars(tls, &mut state.vars);
    }
    if let Some(r) = &ex.route {
        state.route_id.clone_from(&r.id);
        state.service_id.clone_from(&r.service_id);
        state.route_name.clone_from(&r.name);
        state.service_name.clone_from(&r.service_name);
        state.vars.insert("matched_uri", r.matched_uri(ex.matched));
        state
            .vars
            .insert("matched_host", r.matched_host(ex.matched));
    }
    ex.plugins = Some(run);
}

/// Reads the request body whole, before the first phase, when an instance
/// of the request's chains reads it, and hands it to plugins (the node
/// gets the same bytes); the answer when the body breaks its limits (413,
/// 408) or the client's framing (400).
pub async fn read_body(ex: &mut Exchange<'_>, req: &mut Request<ClientBody>) -> Option<Answer> {
    if !ex.plugins.as_deref()?.chains.reads_body() {
        return None;
    }
    match req.body_mut().read_whole().await {
        Ok(body) => {
            ex.plugins.as_deref_mut()?.state.body = Some(body);
            None
        }
        Err(e) => {
            tracing::info!(client = %ex.conn.remote, error = %e,
                "request body refused (read for plugins)");
            let status = e.status();
            let msg = status.canonical_reason().unwrap_or("request body refused");
            let msg = format!("{} {msg}", status.as_u16());
            Some(Box::new(super::arrival::closing(status, &msg)))
        }
    }
}

/// The rewrite phase; a response when a plugin answered or failed. A
/// consumer named by auth here brings its plugins, whose rewrite runs too.
pub async fn rewrite(ex: &mut Exchange<'_>) -> Option<Answer> {
    let step = phase_run::start(ex, Phase::Rewrite);
    phase_run::settle(ex, step).await
}

/// The access phase; a response when a plugin answered or failed. A
/// consumer named here brings its plugins from the next phase on.
pub async fn access(ex: &mut Exchange<'_>) -> Option<Answer> {
    let step = phase_run::start(ex, Phase::Access);
    phase_run::settle(ex, step).await
}

/// Merges the consumer's plugins (consumer > consumer_group) into the
/// route's chain, replacing plugins of the same name, once; the consumer's
/// own chain, when it has one. Records the consumer's group (request
/// variable `consumer_group_id`).
pub(super) fn merge_consumer(ex: &Exchange<'_>, run: &mut PluginRun) -> Option<Arc<Chain>> {
    if run.merged {
        return None;
    }
    let user = run.state.consumer.as_deref()?;
    let snap = ex.worker.live.load();
    let group = snap
        .consumer_groups
        .as_ref()
        .and_then(|g| g.get(user))
        .cloned();
    let own = snap.consumers.as_ref().and_then(|c| c.get(user)).cloned();
    drop(snap);
    run.state.consumer_group_id = group;
    let own = own?;
    run.merged = true;
    let chains = &mut run.chains;
    let route = chains.route.iter().flat_map(|c| c.entries.iter());
    let kept = route.filter(|e| !own.entries.iter().any(|o| o.name == e.name));
    chains.route = Chain::new(own.entries.iter().chain(kept).cloned());
    Some(own)
}

/// The method and path a request that matched no route is answered by:
/// as plugins left them, else as the client sent them.
pub fn request_line<'a, B>(ex: &'a Exchange<'_>, req: &'a Request<B>) -> (&'a Method, &'a str) {
    match ex.plugins.as_deref() {
        Some(run) => (&run.state.method, &run.state.path),
        None => (req.method(), req.uri().path()),
    }
}

/// Puts the request as plugins left it (method, target, headers) back
/// into `req`, which goes to the node; 500 when their target is invalid.
pub fn apply_edits<B>(ex: &mut Exchange<'_>, req: &mut Request<B>) -> Result<(), Answer> {
    let Some(run) = ex.plugins.as_deref_mut() else {
        return Ok(());
    };
    let state = &mut run.state;
    let uri = unchanged_or_uri_of(req.uri(), state).ok_or_else(|| Box::new(failed()))?;
    if *req.method() != state.method {
        *req.method_mut() = state.method.clone();
    }
    if let Some(uri) = uri {
        *req.uri_mut() = uri;
    }
    *req.headers_mut() = std::mem::take(&mut state.headers);
    run.lent = Some(Lent::default());
    Ok(())
}

/// For a node that takes the request's headers with it (HTTP/2): the
/// response phases and the log read a copy of them, when one of them
/// runs.
pub fn copy_lent_headers(ex: &mut Exchange<'_>, headers: &http::HeaderMap) {
    let Some(run) = ex.plugins.as_deref_mut() else {
        return;
    };
    let later = [Phase::HeaderFilter, Phase::BodyFilter, Phase::Log];
    if run.lent.take().is_some() && later.into_iter().any(|p| run.chains.has(p)) {
        run.state.headers = headers.clone();
    }
}

/// Whether the request's headers are lent to the node's request: they
/// come back to the plugin side (`request_back`).
pub fn lends_headers(ex: &Exchange<'_>) -> bool {
    ex.plugins.as_deref().is_some_and(|run| run.lent.is_some())
}

/// Notes what `Host` was before a node's replaced it (`headers::set_host`),
/// on the first try: the client's, for the response phases and the log.
pub fn host_replaced(ex: &mut Exchange<'_>, before: Option<Option<HeaderValue>>) {
    let lent = ex.plugins.as_deref_mut().and_then(|run| run.lent.as_mut());
    if let (Some(lent), Some(before)) = (lent, before) {
        lent.host.get_or_insert(before);
    }
}

/// The request's headers back from the node's request (its answer came,
/// or the tries ended), for the response phases and the log: with the
/// client's `Host`.
pub fn request_back(ex: &mut Exchange<'_>, mut headers: http::HeaderMap) {
    let Some(run) = ex.plugins.as_deref_mut() else {
        return;
    };
    let Some(lent) = run.lent.take() else {
        return;
    };
    match lent.host {
        Some(Some(host)) => {
            headers.insert(http::header::HOST, host);
        }
        Some(None) => {
            headers.remove(http::header::HOST);
        }
        None => {}
    }
    run.state.headers = headers;
}

/// `resp`, which answers `req` before a node did: the request's headers
/// go back to the plugin side first (`request_back`).
pub fn answered<B>(ex: &mut Exchange<'_>, req: Request<B>, resp: Answer) -> Answer {
    request_back(ex, req.into_parts().0.headers);
    resp
}

/// The before_proxy phase, once the node is chosen, on each try: plugins
/// see the headers as they go to the node, and their method, target and
/// header edits go there; 500 when one fails.
pub async fn before_proxy<B>(ex: &mut Exchange<'_>, req: &mut Request<B>) -> Result<(), Answer> {
    match ex.plugins.as_deref_mut() {
        Some(run) if run.chains.has(Phase::BeforeProxy) => {
            std::mem::swap(&mut run.state.headers, req.headers_mut());
        }
        _ => return Ok(()),
    }
    let step = phase_run::start(ex, Phase::BeforeProxy);
    let answer = phase_run::settle(ex, step).await;
    if let Some(run) = ex.plugins.as_deref_mut() {
        let state = &mut run.state;
        state.node.clone_from(&ex.node);
        std::mem::swap(&mut state.headers, req.headers_mut());
        if *req.method() != state.method {
            *req.method_mut() = state.method.clone();
        }
        let same = req.uri().path() == state.path && req.uri().query().unwrap_or("") == state.query;
        if let (false, Some(uri)) = (same, uri_of(state)) {
            *req.uri_mut() = uri;
        }
    }
    answer.map_or(Ok(()), Err)
}

/// The header_filter phase on every response (a node's, a plugin's
/// answer, the gateway's own): plugins see and change its status and
/// headers; 500 when one fails. In place: a response is large.
pub async fn header_filter(ex: &mut Exchange<'_>, resp: &mut Response<Body>) {
    let node = ex.node.clone();
    let upstream_time = ex.upstream_time;
    let Some(run) = ex.plugins.as_deref_mut() else {
        return;
    };
    let (chains, state) = (&run.chains, &mut run.state);
    // The node's variables (`upstream_addr`, `balancer_ip`,
    // `upstream_response_time`...) for the response phases and the log.
    state.node.clone_from(&node);
    if let Some(took) = upstream_time {
        set_seconds(state, "upstream_response_time", took);
    }
    // The body's plugins read the headers as they are now; the log phase
    // reads them as the server sends them (`log::Deferred`).
    let keep = chains.has(Phase::BodyFilter) || chains.observes_body();
    if !chains.has(Phase::HeaderFilter) && !keep && !chains.has(Phase::Log) {
        return;
    }
    state.response_status = resp.status().as_u16();
    state.response_headers = std::mem::take(resp.headers_mut());
    let step = phase_run::start(ex, Phase::HeaderFilter);
    let failed_phase = phase_run::settle(ex, step).await.is_some();
    let Some(run) = ex.plugins.as_deref_mut().filter(|_| !failed_phase) else {
        *resp = failed();
        return;
    };
    let state = &mut run.state;
    if let Ok(status) = StatusCode::from_u16(state.response_status) {
        *resp.status_mut() = status;
    }
    *resp.headers_mut() = if keep {
        state.response_headers.clone()
    } else {
        std::mem::take(&mut state.response_headers)
    };
}

/// The request's variables as a filter reads them: nginx's names, then
/// variables plugins set.
struct FilterVars<'a> {
    request: RequestVars<'a>,
    own: &'a SharedVars,
    /// The origin lacks the connection's TLS (the body_filter and log
    /// phases): `scheme` and `https` are read from what the request's
    /// start published among `own` (the `ssl_*` ones are only there).
    tls_in_own: bool,
}

impl Vars for FilterVars<'_> {
    fn var(&self, name: &str) -> Option<Var<'_>> {
        let own = || self.own.get(name).map(|v| Var::Str(v.as_bytes()));
        if self.tls_in_own && matches!(name, "scheme" | "https") {
            if let Some(v) = own() {
                return Some(v);
            }
        }
        self.request.var(name).or_else(own)
    }
}

/// Whether `filter` (if any) holds for the request as plugins left it.
pub fn holds(filter: Option<&Expr>, state: &RequestState, origin: Origin<'_>) -> bool {
    let Some(filter) = filter else {
        return true;
    };
    let Some(uri) = uri_of(state) else {
        return false;
    };
    // The client as plugins left it (real-ip).
    let origin = Origin {
        remote: state.client,
        ..origin
    };
    let vars = FilterVars {
        request: RequestVars::new(&state.method, &uri, &state.headers, origin),
        own: &state.vars,
        tls_in_own: origin.tls.is_none(),
    };
    filter.eval(&vars)
}

/// The target to send when plugins left `state`'s path and query:
/// `Some(None)` when `uri` has them already (nothing to build), else
/// `Some(` the new target `)`, or `None` when theirs is not a valid one.
fn unchanged_or_uri_of(uri: &Uri, state: &RequestState) -> Option<Option<Uri>> {
    if uri.path() == state.path && uri.query().unwrap_or("") == state.query {
        return Some(None);
    }
    uri_of(state).map(Some)
}

/// The request target (`/path?query`) as plugins left it.
fn uri_of(state: &RequestState) -> Option<Uri> {
    let target = if state.query.is_empty() {
        state.path.clone()
    } else {
        format!("{}?{}", state.path, state.query)
    };
    Uri::try_from(target).ok()
}

/// The response a plugin answered with; `_meta.error_response` replaces
/// the body of an error answer.
pub(super) fn reply_response(c: &ConfiguredPlugin, reply: PluginReply) -> Response<Body> {
    let status = StatusCode::from_u16(reply.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let body = match &c.error_response {
        Some(custom) if status.as_u16() >= 400 => custom.clone(),
        _ => reply.body,
    };
    let mut resp = Response::new(Either::Right(Either::Left(Full::new(Bytes::from(body)))));
    *resp.status_mut() = status;
    for (name, value) in reply.headers {
        match (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(&value),
        ) {
            (Ok(n), _) if crate::plugin_host::is_framing(&n) => {
                tracing::warn!(plugin = %c.name, header = %name,
                    "a plugin set Content-Length or Transfer-Encoding: ignored, the gateway frames bodies itself");
            }
            (Ok(n), Ok(v)) => {
                resp.headers_mut().append(n, v);
            }
            _ => tracing::warn!(plugin = %c.name, header = %name, "invalid reply header dropped"),
        }
    }
    resp
}

/// What a request gets when a plugin failed (logged by the host).
pub(super) fn failed() -> Response<Body> {
    respond::error(
        StatusCode::INTERNAL_SERVER_ERROR,
        "500 Internal Server Error",
    )
}

/// Sets variable `name` to `took` as nginx writes `request_time`: seconds
/// with three decimals. Milliseconds are cut, not rounded: rounded, a
/// node's time could read a millisecond over the request's that holds
/// it, and `apisix_latency` would be cut to 0.
pub(crate) fn set_seconds(state: &mut RequestState, name: &str, took: std::time::Duration) {
    let ms = took.subsec_millis();
    let decimals = [ms / 100, ms / 10 % 10, ms % 10];
    with_text(state, name, |text| {
        text.push_str(itoa::Buffer::new().format(took.as_secs()));
        text.push('.');
        for d in decimals {
            // A digit: d < 10.
            text.push(char::from_digit(d, 10).unwrap_or('0'));
        }
    });
}

/// Sets variable `name` to the decimal text of `n`.
fn set_number(state: &mut RequestState, name: &str, n: u64) {
    with_text(state, name, |text| {
        text.push_str(itoa::Buffer::new().format(n));
    });
}

/// Sets variable `name` to the text `write` makes, without allocating
/// once warm.
fn with_text(state: &mut RequestState, name: &str, write: impl FnOnce(&mut String)) {
    thread_local! {
        static TEXT: std::cell::RefCell<String> = const { std::cell::RefCell::new(String::new()) };
    }
    TEXT.with_borrow_mut(|text| {
        text.clear();
        write(text);
        state.vars.insert(name, text);
    });
}

/// nginx's `request_length`: the bytes of the request line and headers as
/// HTTP/1.1 writes them, plus the body's `Content-Length` (a chunked
/// body's bytes are not known when the plugins start, and not counted).
fn request_length(method: &Method, target: &str, headers: &http::HeaderMap) -> u64 {
    // "GET /path HTTP/1.1\r\n" ... "\r\n"
    let line = method.as_str().len() + 1 + target.len() + " HTTP/1.1\r\n".len();
    let fields: usize = headers
        .iter()
        .map(|(n, v)| n.as_str().len() + 2 + v.len() + 2)
        .sum();
    let body = headers
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.trim().parse::<u64>().ok())
        .unwrap_or(0);
    (line + fields + 2) as u64 + body
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use http::{HeaderMap, HeaderValue, Method};

    use crate::plugin_host::RequestState;

    #[test]
    fn times_read_as_nginx_writes_them_cut_to_the_millisecond() {
        let mut state = RequestState::default();
        let cases = [
            (Duration::ZERO, "0.000"),
            (Duration::from_micros(5_999), "0.005"),
            (
                Duration::from_millis(1_012) + Duration::from_micros(999),
                "1.012",
            ),
            (Duration::from_millis(80), "0.080"),
            (Duration::from_secs(65), "65.000"),
        ];
        for (took, text) in cases {
            super::set_seconds(&mut state, "request_time", took);
            assert_eq!(state.vars.get("request_time"), Some(text), "{took:?}");
        }
        super::set_number(&mut state, "request_length", 1234);
        assert_eq!(state.vars.get("request_length"), Some("1234"));
    }

    #[test]
    fn request_length_counts_the_head_as_written_and_the_declared_body() {
        let mut headers = HeaderMap::new();
        headers.insert("host", HeaderValue::from_static("x"));
        // "GET /a HTTP/1.1\r\n" + "host: x\r\n" + "\r\n"
        assert_eq!(super::request_length(&Method::GET, "/a", &headers), 28);
        headers.insert("content-length", HeaderValue::from_static("100"));
        // + "content-length: 100\r\n" + the body
        assert_eq!(
            super::request_length(&Method::GET, "/a", &headers),
            28 + 21 + 100
        );
    }
}
