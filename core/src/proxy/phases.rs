//! Plugin phases on the request path (issue 5), for requests whose route
//! or global rules have plugins (others never come here and pay nothing).
//!
//! rewrite and access run global rules' plugins first, then the route's,
//! each in priority order; either may answer the request. before_proxy
//! runs once before the request is forwarded; header_filter on every
//! response (the node's, a plugin's answer, a 404); log after the
//! response is handed to hyper, on the worker's log task, so it never
//! delays it (see [`log_later`]).
//! `_meta.filter` is evaluated on the request as it is at that moment;
//! `_meta.error_response` replaces the body of a plugin's own 4xx/5xx.

use std::cell::RefCell;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use bytes::Bytes;
use http::header::{HeaderName, HeaderValue};
use http::uri::Authority;
use http::{Method, Request, Response, StatusCode, Uri};
use http_body_util::{Either, Full};
use hyper::body::Incoming;
use radix_router::{Expr, Var, Vars};
use tokio::runtime::RuntimeFlavor;

use super::body_filter::Filtered;
use super::forward::{forward, forward_with};
use super::respond::{self, Body};
use super::service::{ClientConn, WorkerContext};
use super::vars::RequestVars;
use crate::plugin_host::{
    Chain, ConfiguredPlugin, Phase, PhaseOutcome, PluginReply, RequestState, SharedVars,
};
use crate::snapshot::RouteRt;

/// The chains one request runs: global rules' first, then the route's.
#[derive(Default)]
pub struct Chains {
    global: Option<Arc<Chain>>,
    route: Option<Arc<Chain>>,
}

impl Chains {
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

/// Runs the route's (or, with `route` `None`, only the global rules')
/// plugins around forwarding `req`; the response and the node tried.
pub async fn run(
    shared: &WorkerContext,
    conn: ClientConn,
    mut req: Request<Incoming>,
    route: Option<&Arc<RouteRt>>,
    global: Option<Arc<Chain>>,
    host: &[u8],
) -> (Response<Body>, Option<Authority>) {
    let route_chain = route.and_then(|r| r.plugins.clone());
    let mut chains = Chains {
        // prefer_route plugins the route runs leave the global chain.
        global: Chain::for_route(global, route_chain.as_deref()),
        route: route_chain,
    };
    let target = req.uri().path_and_query().map_or("/", |p| p.as_str());
    let mut state = RequestState::new(req.method().clone(), target, conn.remote);
    state.headers = std::mem::take(req.headers_mut());
    if let Some(r) = route {
        state.route_id.clone_from(&r.id);
    }
    let at = FilterContext {
        local: conn.local,
        host,
    };
    let mut answer = run_phase(&chains, Phase::Rewrite, &mut state, &at);
    // Auth in rewrite named a consumer: its plugins join the route's (and
    // run their own rewrite), as APISIX merges them after rewrite.
    let mut merged = false;
    if answer.is_none() && state.consumer.is_some() {
        if let Some(own) = merge_consumer(shared, &mut chains, &state) {
            merged = true;
            let own = Chains {
                global: None,
                route: Some(own),
            };
            answer = run_phase(&own, Phase::Rewrite, &mut state, &at);
        }
    }
    if answer.is_none() {
        answer = run_phase(&chains, Phase::Access, &mut state, &at);
    }
    if answer.is_none() && !merged && state.consumer.is_some() {
        // Named in access: its plugins run from the next phase on.
        merge_consumer(shared, &mut chains, &state);
    }
    let (resp, node) = match (answer, route) {
        (Some(resp), _) => (resp, None),
        (None, None) => (no_route(&state), None),
        (None, Some(route)) => match unchanged_or_uri_of(req.uri(), &state) {
            Some(uri) => {
                if req.method() != state.method {
                    *req.method_mut() = state.method.clone();
                }
                if let Some(uri) = uri {
                    *req.uri_mut() = uri;
                }
                *req.headers_mut() = if chains.has(Phase::Log) {
                    state.headers.clone()
                } else {
                    std::mem::take(&mut state.headers)
                };
                if chains.has(Phase::BeforeProxy) {
                    // The plugins see the headers as they go to the node;
                    // their method and URI edits go there too.
                    let (chains, state) = (&chains, &mut state);
                    let mut hook = |parts: &mut http::request::Parts| {
                        std::mem::swap(&mut state.headers, &mut parts.headers);
                        let failed = run_phase(chains, Phase::BeforeProxy, state, &at).is_some();
                        std::mem::swap(&mut state.headers, &mut parts.headers);
                        if parts.method != state.method {
                            parts.method = state.method.clone();
                        }
                        let same = parts.uri.path() == state.path
                            && parts.uri.query().unwrap_or("") == state.query;
                        if let (false, Some(uri)) = (same, uri_of(state)) {
                            parts.uri = uri;
                        }
                        !failed
                    };
                    let run = forward_with(shared, route, req, conn, host, Some(&mut hook));
                    Box::pin(run).await
                } else {
                    Box::pin(forward(shared, route, req, conn, host)).await
                }
            }
            None => (failed(), None),
        },
    };
    if let (Some(n), true) = (&node, chains.has(Phase::Log)) {
        // nginx's $upstream_addr, for log plugins (prometheus' node label).
        state.vars.insert("upstream_addr", n.as_str());
    }
    let resp = response_phases(&chains, resp, &mut state, &at);
    if chains.has(Phase::BodyFilter) {
        // The body carries the state through body_filter, then to log.
        let (mut parts, body) = resp.into_parts();
        parts.headers.remove(http::header::CONTENT_LENGTH);
        let body = Filtered::new(body, chains, state, conn.local, host.to_vec());
        let body = Either::Right(Either::Right(body));
        return (Response::from_parts(parts, body), node);
    }
    log_later(chains, state, conn.local, host);
    (resp, node)
}

/// Most log phases a worker keeps waiting for its log task; past that the
/// request that finishes runs its own (the queue stays bounded however slow
/// a log plugin is).
const MAX_PENDING_LOGS: usize = 4096;

/// One request's log phase, waiting for its worker's log task.
struct LogJob {
    chains: Chains,
    state: RequestState,
    local: SocketAddr,
    /// The request's host, kept only when a log plugin has a `_meta.filter`.
    host: Vec<u8>,
}

impl LogJob {
    /// The log phase of a request whose chains are `chains`; `host` is read
    /// only when a log plugin has a filter.
    fn new(chains: Chains, state: RequestState, local: SocketAddr, host: &[u8]) -> LogJob {
        let filtered = chains.for_phase(Phase::Log).any(|c| c.filter.is_some());
        LogJob {
            host: if filtered { host.to_vec() } else { Vec::new() },
            chains,
            state,
            local,
        }
    }

    /// Runs every log plugin whose filter holds. A plugin's panic is caught
    /// on its side of the boundary and logged by the host with its name.
    fn run(mut self) {
        let at = FilterContext {
            local: self.local,
            host: &self.host,
        };
        for c in self.chains.for_phase(Phase::Log) {
            if holds(c.filter.as_ref(), &self.state, &at) {
                let _ = c.instance.call(Phase::Log, &mut self.state);
            }
        }
    }
}

/// The log phases a worker thread has yet to run, and its log task.
struct LogQueue {
    jobs: Vec<LogJob>,
    /// The log task's waker (kept: the task is the same until it ends).
    waker: Option<Waker>,
    /// Whether the log task waits for jobs (and must be woken).
    parked: bool,
    /// Whether this thread's runtime has a log task.
    running: bool,
}

thread_local! {
    static LOGS: RefCell<LogQueue> = const {
        RefCell::new(LogQueue { jobs: Vec::new(), waker: None, parked: false, running: false })
    };
}

/// Runs the request's log phase after the response is handed to hyper,
/// without delaying it. On a worker (a current-thread runtime) the job
/// joins the worker's queue, which one long-lived task per worker drains
/// after the connection tasks that are ready have run (no task, no
/// allocation per request); elsewhere on a task of its own, and outside a
/// runtime right here.
pub fn log_later(chains: Chains, state: RequestState, local: SocketAddr, host: &[u8]) {
    if !chains.has(Phase::Log) {
        return;
    }
    let job = LogJob::new(chains, state, local, host);
    match tokio::runtime::Handle::try_current() {
        Ok(rt) if rt.runtime_flavor() == RuntimeFlavor::CurrentThread => {
            if let Some(job) = enqueue(job, &rt) {
                job.run();
            }
        }
        Ok(rt) => {
            rt.spawn(async move { job.run() });
        }
        Err(_) => job.run(),
    }
}

/// Queues `job` for this thread's log task (starting the task if the
/// runtime has none); the job back when the queue is full or the thread is
/// going away.
fn enqueue(job: LogJob, rt: &tokio::runtime::Handle) -> Option<LogJob> {
    let mut job = Some(job);
    let _ = LOGS.try_with(|q| {
        let mut q = q.borrow_mut();
        if q.jobs.len() >= MAX_PENDING_LOGS {
            return;
        }
        q.jobs.extend(job.take());
        if !q.running {
            q.running = true;
            rt.spawn(LogTask { batch: Vec::new() });
        } else if q.parked {
            q.parked = false;
            // Schedules the task (on this thread's runtime); runs nothing here.
            if let Some(w) = &q.waker {
                w.wake_by_ref();
            }
        }
    });
    job
}

/// A worker's log task: runs the queued log phases, a batch per poll, and
/// yields between batches so that connections keep going.
struct LogTask {
    /// The batch being run (its buffer is swapped with the queue's).
    batch: Vec<LogJob>,
}

/// Parks the log task when no job waits (true), else leaves it to be polled
/// again.
fn park(q: &mut LogQueue, cx: &Context<'_>) -> bool {
    if !q.jobs.is_empty() {
        return false;
    }
    if !q.waker.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
        q.waker = Some(cx.waker().clone());
    }
    q.parked = true;
    true
}

impl Future for LogTask {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        let parked = LOGS.try_with(|q| {
            let mut q = q.borrow_mut();
            std::mem::swap(&mut q.jobs, &mut this.batch);
            this.batch.is_empty() && park(&mut q, cx)
        });
        if parked != Ok(false) {
            return Poll::Pending;
        }
        for job in this.batch.drain(..) {
            job.run();
        }
        // More may have come meanwhile: run them after the others had a turn.
        let parked = LOGS.try_with(|q| park(&mut q.borrow_mut(), cx));
        if parked == Ok(false) {
            cx.waker().wake_by_ref();
        }
        Poll::Pending
    }
}

impl Drop for LogTask {
    fn drop(&mut self) {
        // The runtime is going away: the next request starts a new task;
        // what is queued still runs (unless this is a panic unwinding).
        let left = LOGS
            .try_with(|q| {
                let mut q = q.borrow_mut();
                q.running = false;
                q.parked = false;
                q.waker = None;
                std::mem::take(&mut q.jobs)
            })
            .unwrap_or_default();
        if std::thread::panicking() {
            return;
        }
        for job in self.batch.drain(..).chain(left) {
            job.run();
        }
    }
}

/// Merges the consumer's plugins (consumer > consumer_group) into the
/// route's chain, replacing plugins of the same name; the consumer's own
/// chain, when it has one.
fn merge_consumer(
    shared: &WorkerContext,
    chains: &mut Chains,
    state: &RequestState,
) -> Option<Arc<Chain>> {
    let user = state.consumer.as_deref()?;
    let own = shared.live.load().consumers.as_ref()?.get(user)?.clone();
    let route = chains.route.iter().flat_map(|c| c.entries.iter());
    let kept = route.filter(|e| !own.entries.iter().any(|o| o.name == e.name));
    chains.route = Chain::new(own.entries.iter().chain(kept).cloned());
    Some(own)
}

/// What filters need besides the request state.
pub struct FilterContext<'a> {
    /// The address the client connected to.
    pub local: SocketAddr,
    /// The request's host without port.
    pub host: &'a [u8],
}

/// header_filter on `resp`: plugins see and change its status and headers.
fn response_phases(
    chains: &Chains,
    resp: Response<Body>,
    state: &mut RequestState,
    at: &FilterContext<'_>,
) -> Response<Body> {
    let keep = chains.has(Phase::Log) || chains.has(Phase::BodyFilter);
    if !chains.has(Phase::HeaderFilter) && !keep {
        return resp;
    }
    let (mut parts, body) = resp.into_parts();
    state.response_status = parts.status.as_u16();
    state.response_headers = std::mem::take(&mut parts.headers);
    if run_phase(chains, Phase::HeaderFilter, state, at).is_some() {
        return failed();
    }
    parts.status = StatusCode::from_u16(state.response_status).unwrap_or(parts.status);
    parts.headers = if keep {
        state.response_headers.clone()
    } else {
        std::mem::take(&mut state.response_headers)
    };
    Response::from_parts(parts, body)
}

/// Runs `phase` of every plugin whose filter holds; a response when one
/// answered (rewrite, access) or failed (any phase).
fn run_phase(
    chains: &Chains,
    phase: Phase,
    state: &mut RequestState,
    at: &FilterContext<'_>,
) -> Option<Response<Body>> {
    for c in chains.for_phase(phase) {
        if !holds(c.filter.as_ref(), state, at) {
            continue;
        }
        match c.instance.call(phase, state) {
            PhaseOutcome::Continue => {}
            PhaseOutcome::Respond(reply) => return Some(reply_response(c, reply)),
            // Already logged with the plugin's name and phase.
            PhaseOutcome::Fail(_) => return Some(failed()),
        }
    }
    None
}

/// The request's variables as a filter reads them: nginx's names, then
/// variables plugins set.
struct FilterVars<'a> {
    request: RequestVars<'a>,
    own: &'a SharedVars,
}

impl Vars for FilterVars<'_> {
    fn var(&self, name: &str) -> Option<Var<'_>> {
        self.request
            .var(name)
            .or_else(|| self.own.get(name).map(|v| Var::Str(v.as_bytes())))
    }
}

/// Whether `filter` (if any) holds for the request as it is now.
pub fn holds(filter: Option<&Expr>, state: &RequestState, at: &FilterContext<'_>) -> bool {
    let Some(filter) = filter else {
        return true;
    };
    let Some(uri) = uri_of(state) else {
        return false;
    };
    let vars = FilterVars {
        request: RequestVars::new(
            &state.method,
            &uri,
            &state.headers,
            at.host,
            state.client,
            at.local,
        ),
        own: &state.vars,
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
fn reply_response(c: &ConfiguredPlugin, reply: PluginReply) -> Response<Body> {
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
            (Ok(n), Ok(v)) => {
                resp.headers_mut().append(n, v);
            }
            _ => tracing::warn!(plugin = %c.name, header = %name, "invalid reply header dropped"),
        }
    }
    resp
}

/// What a request gets when a plugin failed (logged by the host).
fn failed() -> Response<Body> {
    respond::error(
        StatusCode::INTERNAL_SERVER_ERROR,
        "500 Internal Server Error",
    )
}

/// No route matched: 404, or the liveness answer for `GET /healthz`.
fn no_route(state: &RequestState) -> Response<Body> {
    if state.path == "/healthz" && matches!(state.method, Method::GET | Method::HEAD) {
        respond::healthy()
    } else {
        respond::not_found()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use radixgate_plugin::{ConfigError, Ctx, Decision, Host, Phases, Plugin};

    use super::*;
    use crate::plugin_host::GatewayServices;

    /// Log phases run by [`CountLog`], per test (each uses its own path).
    static RUNS: [AtomicUsize; 4] = [const { AtomicUsize::new(0) }; 4];

    /// A log plugin counting its runs in `RUNS[<first path byte - b'0'>]`;
    /// it panics on a path ending in `!`.
    struct CountLog;

    impl Plugin for CountLog {
        const NAME: &'static str = "count-log";
        const VERSION: &'static str = "0";
        const PRIORITY: i32 = 0;
        const PHASES: Phases = Phases::of(Phase::Log);
        type Config = serde_json::Value;
        fn new(_: Self::Config, _: &Host) -> Result<Self, ConfigError> {
            Ok(CountLog)
        }
        fn log(&self, ctx: &mut Ctx<'_>) -> Decision {
            let path = ctx.path().as_bytes();
            assert!(path.last() != Some(&b'!'), "log panic");
            RUNS[usize::from(path[1] - b'0')].fetch_add(1, Ordering::SeqCst);
            Decision::Continue
        }
    }

    fn chains() -> Chains {
        let services = GatewayServices::default();
        let c = ConfiguredPlugin::in_process::<CountLog>(&serde_json::json!({}), &services);
        Chains {
            global: None,
            route: Chain::new([c]),
        }
    }

    fn log(path: &str) {
        let client = "127.0.0.1:1".parse().expect("addr");
        let state = RequestState::new(Method::GET, path, client);
        log_later(chains(), state, client, b"h");
    }

    fn runs(i: usize) -> usize {
        RUNS[i].load(Ordering::SeqCst)
    }

    fn current_thread() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime")
    }

    #[test]
    fn a_worker_runs_log_phases_after_the_request_on_its_log_task() {
        current_thread().block_on(async {
            for _ in 0..10 {
                log("/0");
            }
            // Not run by the request itself.
            assert_eq!(runs(0), 0);
            // A panicking plugin fails its own call only.
            log("/0!");
            tokio::task::yield_now().await;
            tokio::task::yield_now().await;
            assert_eq!(runs(0), 10);
            log("/0");
            tokio::task::yield_now().await;
            tokio::task::yield_now().await;
            assert_eq!(runs(0), 11);
        });
    }

    #[test]
    fn outside_a_runtime_the_log_phase_runs_at_once() {
        log("/1");
        assert_eq!(runs(1), 1);
    }

    #[test]
    fn log_phases_queued_when_the_runtime_stops_still_run() {
        current_thread().block_on(async {
            log("/2");
            log("/2");
        });
        // block_on returned before the log task ran; dropping the runtime
        // drops the task, which runs what is left.
        assert_eq!(runs(2), 2);
        // A new runtime on the same thread gets a new log task.
        current_thread().block_on(async {
            log("/2");
            tokio::task::yield_now().await;
            tokio::task::yield_now().await;
            assert_eq!(runs(2), 3);
        });
    }

    #[test]
    fn a_multi_thread_runtime_runs_log_phases_on_tasks() {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_time()
            .build()
            .expect("runtime");
        rt.block_on(async {
            log("/3");
            for _ in 0..500 {
                if runs(3) == 1 {
                    break;
                }
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            }
        });
        assert_eq!(runs(3), 1);
    }
}
