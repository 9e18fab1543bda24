//! The log step: the access line (`access_log`), then the plugins' log
//! phase, run after the response head is handed to the server so that it
//! never delays it; it reads the response headers as the server sends
//! them. On a
//! worker (a current-thread runtime) a request's log phase joins the
//! worker's queue, which one long-lived log task drains after the
//! connection tasks that are ready have run: no task and no allocation per
//! request.

use std::cell::RefCell;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use http::{HeaderMap, Response};
use tokio::runtime::RuntimeFlavor;

use super::exchange::Exchange;
use super::phases::{holds, PluginRun};
use super::respond::Body;
use super::vars::Origin;
use crate::access_log::{AccessLine, Facts};
use crate::plugin_host::{Phase, PhaseOutcome};

/// The log step of `ex`, whose response is `resp`: one access line (when
/// the access log is on), and the plugins' log phase unless the response body
/// carries it to the end of the body (body_filter). The log phase is
/// returned, to be run with the response headers as the server sends them
/// ([`Deferred::run`]): they are not copied for it.
#[must_use = "the log phase runs when the Deferred is run or dropped"]
pub fn log(mut ex: Exchange<'_>, resp: &Response<Body>) -> Option<Deferred> {
    // nginx's `request_time`: from arrival to the response head, for the
    // access line and the log phase alike.
    let took = ex.arrived.map_or(Duration::ZERO, |t| t.elapsed());
    if let Some(line) = &ex.access {
        access_line(&ex, line, resp, took);
    }
    if let Some(run) = ex.plugins.as_deref_mut().filter(|_| ex.arrived.is_some()) {
        if run.chains.has(Phase::Log) {
            super::phases::set_seconds(&mut run.state, "request_time", took);
        }
    }
    let job = LogJob::of(ex.plugins.take()?, ex.conn.local, ex.host())?;
    Some(Deferred(Some(job)))
}

/// A request's log phase waiting for its response headers, which the
/// server hands over once it has written them (the log phase reads them
/// where they are, not a copy). Dropped unrun, it runs without them.
pub struct Deferred(Option<LogJob>);

impl Deferred {
    /// Runs the log phase later, as [`log_later`], with `headers` as the
    /// response's.
    pub fn run(mut self, headers: HeaderMap) {
        if let Some(mut job) = self.0.take() {
            job.run.state.response_headers = headers;
            queue(job);
        }
    }
}

impl Drop for Deferred {
    fn drop(&mut self) {
        if let Some(job) = self.0.take() {
            queue(job);
        }
    }
}

/// Queues the access line of `ex` (captured as `line`), answered `resp`
/// `took` after it arrived.
fn access_line(ex: &Exchange<'_>, line: &AccessLine, resp: &Response<Body>, took: Duration) {
    // The client as plugins left it (real-ip), else the connection's.
    let client = ex
        .plugins
        .as_ref()
        .map_or(ex.conn.remote, |run| run.state.client);
    crate::access_log::record(&Facts {
        line,
        client,
        local: ex.conn.local,
        tls: ex.conn.tls.is_some(),
        host: ex.host(),
        route: ex.route.as_ref().map(|r| r.id.as_str()),
        node: ex.node.as_ref().map(|n| n.as_str()),
        upstream_status: ex.upstream_status.map(|s| s.as_u16()),
        upstream_time: ex.upstream_time,
        status: resp.status().as_u16(),
        body_bytes: hyper::body::Body::size_hint(resp.body()).exact(),
        request_time: took,
        now: std::time::SystemTime::now(),
    });
}

/// Most log phases a worker keeps waiting for its log task; past that the
/// request that finishes runs its own (the queue stays bounded however slow
/// a log plugin is).
const MAX_PENDING_LOGS: usize = 4096;

/// One request's log phase, waiting for its worker's log task.
struct LogJob {
    /// The request's plugin side, in the box it had all along (moved as a
    /// pointer).
    run: Box<PluginRun>,
    local: SocketAddr,
    /// The request's host, kept only when a log plugin has a `_meta.filter`.
    host: Vec<u8>,
}

impl LogJob {
    /// The log phase of the request whose plugin side is `run`, when its
    /// chains have one; `host` is read only when a log plugin has a filter.
    fn of(run: Box<PluginRun>, local: SocketAddr, host: &[u8]) -> Option<LogJob> {
        if !run.chains.has(Phase::Log) {
            return None;
        }
        let filtered = run.chains.for_phase(Phase::Log).any(|c| c.filter.is_some());
        Some(LogJob {
            host: if filtered { host.to_vec() } else { Vec::new() },
            run,
            local,
        })
    }

    /// Runs every log plugin whose filter holds. A plugin's panic is caught
    /// on its side of the boundary and logged by the host with its name.
    fn run(self) {
        self.run_from(0);
    }

    /// Runs the log plugins from the `from`th on. One that waits for a
    /// host operation goes on in a task of its own on this runtime (at
    /// most [`LOG_WAIT`]), and the plugins after it with it.
    fn run_from(mut self, from: usize) {
        let origin = Origin {
            host: &self.host,
            remote: self.run.state.client,
            local: self.local,
            // Filters of the late phases do not see the connection's TLS.
            tls: None,
        };
        let mut waiting = None;
        let PluginRun { chains, state, .. } = &mut *self.run;
        for (at, c) in chains.for_phase(Phase::Log).enumerate().skip(from) {
            if !holds(c.filter.as_ref(), state, origin) {
                continue;
            }
            if let PhaseOutcome::Wait(w) = c.instance.call(Phase::Log, state) {
                waiting = Some((at, w));
                break;
            }
        }
        let Some((at, w)) = waiting else {
            return;
        };
        let Some(slot) = WaitingSlot::take() else {
            tracing::warn!(
                plugin = w.plugin(),
                max = MAX_WAITING_LOGS,
                "too many log phases waiting: this one is dropped"
            );
            return;
        };
        match tokio::runtime::Handle::try_current() {
            Ok(rt) => {
                rt.spawn(async move {
                    let _ = w.finish(&mut self.run.state, LOG_WAIT).await;
                    drop(slot);
                    self.run_from(at + 1);
                });
            }
            Err(_) => {
                tracing::error!(
                    plugin = w.plugin(),
                    "a log phase waits outside a runtime; dropped"
                );
                self.run_from(at + 1);
            }
        }
    }
}

/// How long a log plugin may wait for host operations.
const LOG_WAIT: std::time::Duration = std::time::Duration::from_secs(60);

/// Most log phases waiting for host operations at once, in the process;
/// past it a log phase that waits is dropped (and counted), so that a slow
/// log plugin cannot pile up tasks without end.
const MAX_WAITING_LOGS: usize = 4096;

static WAITING_LOGS: AtomicUsize = AtomicUsize::new(0);
static DROPPED_LOGS: AtomicU64 = AtomicU64::new(0);

/// Log phases dropped because [`MAX_WAITING_LOGS`] were waiting.
pub fn log_phases_dropped() -> u64 {
    DROPPED_LOGS.load(Ordering::Relaxed)
}

/// One of the [`MAX_WAITING_LOGS`] places of a waiting log phase.
struct WaitingSlot;

impl WaitingSlot {
    /// A place, or `None` (the drop counted) when all are taken.
    fn take() -> Option<WaitingSlot> {
        let taken = WAITING_LOGS.fetch_update(Ordering::AcqRel, Ordering::Relaxed, |n| {
            (n < MAX_WAITING_LOGS).then_some(n + 1)
        });
        if taken.is_err() {
            DROPPED_LOGS.fetch_add(1, Ordering::Relaxed);
            return None;
        }
        Some(WaitingSlot)
    }
}

impl Drop for WaitingSlot {
    fn drop(&mut self) {
        WAITING_LOGS.fetch_sub(1, Ordering::Relaxed);
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
    /// Per thread, because a worker is one thread with one runtime: its
    /// requests queue here without a lock, and its one log task drains it.
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
pub fn log_later(run: Box<PluginRun>, local: SocketAddr, host: &[u8]) {
    if let Some(job) = LogJob::of(run, local, host) {
        queue(job);
    }
}

/// Runs `job` later (see [`log_later`]).
fn queue(job: LogJob) {
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

#[cfg(test)]
mod tests {
    use radixgate_plugin::{ConfigError, Ctx, Decision, Host, Phases, Plugin};

    use super::*;
    use crate::plugin_host::{Chain, ConfiguredPlugin, GatewayServices, RequestState};
    use crate::proxy::phases::Chains;
    use http::Method;

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
        Chains::new(None, Chain::new([c]))
    }

    fn log(path: &str) {
        let client = "127.0.0.1:1".parse().expect("addr");
        let state = RequestState::new(Method::GET, path, client);
        log_later(PluginRun::new(chains(), state), client, b"h");
    }

    fn runs(i: usize) -> usize {
        RUNS[i].load(Ordering::SeqCst)
    }

    /// Two turns of a current-thread runtime: the log task is woken, then runs.
    async fn let_the_log_task_run() {
        tokio::task::yield_now().await;
        tokio::task::yield_now().await;
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
            let_the_log_task_run().await;
            assert_eq!(runs(0), 10);
            log("/0");
            let_the_log_task_run().await;
            assert_eq!(runs(0), 11);
        });
    }

    #[test]
    fn waiting_log_phases_are_bounded_and_drops_counted() {
        let dropped = log_phases_dropped();
        let held: Vec<_> = std::iter::from_fn(WaitingSlot::take)
            .take(MAX_WAITING_LOGS + 1)
            .collect();
        assert!(held.len() <= MAX_WAITING_LOGS);
        assert!(WaitingSlot::take().is_none());
        assert!(log_phases_dropped() > dropped);
        drop(held);
        assert!(WaitingSlot::take().is_some());
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
            let_the_log_task_run().await;
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
