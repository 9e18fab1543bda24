//! One client connection served by the native HTTP/1.1 server, in one
//! task: read a head, run the pipeline on it, write the response, and
//! again while the connection stays open. Requests read ahead
//! (pipelining) wait in the read buffer; there is no dispatcher task and
//! no channel between the connection and the request.
//!
//! Limits, as hyper's server held them: the header timeout bounds the wait
//! for each head (and, after the first request, the keep-alive timeout
//! too, whichever is shorter); a head larger than `max_header_size` (at
//! least 8 KiB) gets 431, one that is not HTTP 400; the connection closes
//! after `keepalive_requests` requests, when the client asks, when
//! keep-alive is off, and when `stop` turns true (at once when idle,
//! else after the response in flight). The send timeout is the stream's
//! ([`ClientIo`](crate::proxy::ClientIo)); the body limits are
//! [`ClientBody`]'s. A client that closes its side while its request is
//! in flight ends the request, as hyper did.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::BytesMut;
use http::{header, Method, Request, StatusCode, Version};
use hyper::body::Body as _;
use tokio::io::AsyncWrite;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::{Instant, Sleep};

use super::body::{discard, lock, Continue, Io, Left, Link, RequestBody, Shared};
use super::parse::{parse_request, BodyKind, Head, HeadError};
use super::write::{self, Plan};
use super::{NativeUpgrade, Upgraded};
use crate::proxy::client_body::{BodyLimits, ClientBody, DISCARD_LIMIT, DISCARD_TIME};
use crate::proxy::exchange::{ClientConn, WorkerContext};
use crate::proxy::pipeline;

/// Serves `io` (a client stream under the send timeout) until the client
/// or a limit (the worker's [`Limits`](crate::proxy::server::Limits)) closes it; see the module doc.
/// `alive` is held until then.
///
/// The returned future is the connection's whole task, and every idle
/// connection holds it: an async block that owns the [`Connection`], so
/// that it keeps its arguments once (an async fn keeps each argument
/// twice, as argument and as local). Tokio allocates a task 128-byte
/// aligned, and the allocator serves that alignment at no extra cost only
/// in some size classes: this one is 512 bytes in a release build (with
/// the head timer inside), served as 512; at 640 or 768 it took 896. The
/// sizes: `RUSTC_BOOTSTRAP=1 cargo rustc --release -p radixgate --lib --
/// -Zprint-type-sizes`, the `task::core::Cell` of this block.
pub fn serve<I: Io + 'static>(
    io: I,
    conn: ClientConn,
    worker: Arc<WorkerContext>,
    stop: watch::Receiver<bool>,
    alive: mpsc::Sender<()>,
) -> impl std::future::Future<Output = ()> + Send {
    let link: Link = Arc::new(Mutex::new(Shared {
        io: Some(Box::new(io)),
        buf: BytesMut::new(),
        left: Left::Done,
        cont: Continue::No,
    }));
    let mut task = Connection {
        link,
        client: conn,
        worker,
        stop,
    };
    async move {
        let _alive = alive;
        let _active = crate::stats::handled();
        requests(&mut task).await;
    }
}

/// What a connection's task owns besides its timers: one place, reached
/// through one reference, as every idle connection holds it.
struct Connection {
    /// The stream and what was read from it.
    link: Link,
    /// Who the client is.
    client: ClientConn,
    /// The worker's context (its `stopping` is what an idle connection
    /// waits on).
    worker: Arc<WorkerContext>,
    /// The worker's stop signal, read between requests.
    stop: watch::Receiver<bool>,
}

/// Serves requests on `task`'s stream until the client or a limit closes
/// it.
///
/// Its state between requests is every idle connection's memory: nothing
/// is bound here that lives across an await and can be read from `task`
/// again (a bound reference is a field of the state).
async fn requests(task: &mut Connection) {
    // In the task, not boxed: the task is allocated in a size class with
    // room for it (see `serve`).
    let mut timer = std::pin::pin!(tokio::time::sleep(task.worker.limits.header_timeout));
    // One wait for the worker's stop for the connection's life: made
    // afresh for each head, it would join and leave a waiter list (a lock
    // each) every request. Made before the signal is first read below, it
    // sees every stop after that read.
    let mut stopping = std::pin::pin!(task.worker.stopping.notified());
    let mut served: u64 = 0;
    let refused = loop {
        if *task.stop.borrow() {
            return;
        }
        let limits = &task.worker.limits;
        let wait = match (served, limits.keepalive_timeout) {
            (0, _) => limits.header_timeout,
            (_, Some(k)) => k.min(limits.header_timeout),
            (_, None) => return,
        };
        timer.as_mut().reset(Instant::now() + wait);
        let head_limit = limits.max_header_size.max(8192);
        {
            // An idle connection holds no buffer: the next read makes one.
            let mut s = lock(&task.link);
            if s.buf.is_empty() {
                s.buf = BytesMut::new();
            }
        }
        let link = &task.link;
        let next = std::future::poll_fn(|cx| {
            poll_head(link, head_limit, timer.as_mut(), stopping.as_mut(), cx)
        });
        // The refusal is answered after the loop: here, the parse result
        // would be held in the state while the answer is written.
        let head = match next.await {
            Next::Head(head) => head,
            Next::Gone => return,
            Next::Refused(e) => {
                tracing::debug!(client = %task.client.remote, status = %e.status, why = %e.why,
                    "request head refused");
                break e.status;
            }
        };
        served += 1;
        let last = served >= task.worker.limits.keepalive_requests;
        // Boxed: the request's state (the pipeline's, the response's) is
        // held while it is served, not by every idle connection.
        let (link, client, worker, stop) = (&task.link, &task.client, &task.worker, &mut task.stop);
        let request = crate::proxy::boxed::boxed(|| one(link, head, client, worker, last, stop));
        let Some(served_ok) = request.await else {
            return;
        };
        if !served_ok || last {
            // Boxed, as the refusal: once a connection.
            Box::pin(shutdown(&task.link)).await;
            return;
        }
    };
    // Boxed: rare, and its state would be every idle connection's.
    Box::pin(refuse(&task.link, refused)).await;
}

/// What the wait for the next head ended with. Not boxed: a head is
/// returned once and moved on at once, and a box would cost an allocation
/// a request.
#[allow(clippy::large_enum_variant)]
enum Next {
    /// A whole head, parsed.
    Head(Head),
    /// The head was refused: answered with its status, then the
    /// connection closes.
    Refused(HeadError),
    /// The client closed, `timer` fired or `stopping` ended first.
    Gone,
}

/// Reads until a whole head is in the buffer (limited to `limit` bytes),
/// unless the client closes, `timer` fires or `stopping` ends first, in
/// that order of precedence.
///
/// A poll function, not an async fn: its state would be every idle
/// connection's, and an async fn keeps its arguments twice.
fn poll_head(
    link: &Link,
    limit: usize,
    mut timer: Pin<&mut Sleep>,
    stopping: Pin<&mut impl Future<Output = ()>>,
    cx: &mut Context<'_>,
) -> Poll<Next> {
    loop {
        let mut s = lock(link);
        if !s.buf.is_empty() {
            match parse_request(&mut s.buf, limit) {
                Ok(Some(head)) => return Poll::Ready(Next::Head(head)),
                Ok(None) => {}
                Err(e) => return Poll::Ready(Next::Refused(e)),
            }
        }
        match s.poll_fill(cx) {
            Poll::Ready(Ok(0) | Err(_)) => return Poll::Ready(Next::Gone),
            Poll::Ready(Ok(_)) => continue,
            Poll::Pending => break,
        }
    }
    if timer.as_mut().poll(cx).is_ready() || stopping.poll(cx).is_ready() {
        return Poll::Ready(Next::Gone);
    }
    Poll::Pending
}

/// Serves one request; `Some(true)` when the connection may carry the
/// next, `Some(false)` when it closes after a complete response, `None`
/// when it is gone (the client left, a write failed, an upgrade took it).
async fn one(
    link: &Link,
    head: Head,
    conn: &ClientConn,
    worker: &Arc<WorkerContext>,
    last: bool,
    stop: &mut watch::Receiver<bool>,
) -> Option<bool> {
    let limits = &worker.limits;
    let Head {
        request,
        body: kind,
        keep_alive,
        expect_continue,
        upgrade,
    } = head;
    {
        let mut s = lock(link);
        s.left = Left::of(kind);
        s.cont = if expect_continue && kind != BodyKind::Empty {
            Continue::Due(0)
        } else {
            Continue::No
        };
    }
    let (mut parts, ()) = request.into_parts();
    let plan_head = parts.method == Method::HEAD;
    let http10 = parts.version == Version::HTTP_10;
    let mut switch = None;
    if upgrade {
        let (tx, rx) = oneshot::channel();
        parts.extensions.insert(NativeUpgrade::new(rx));
        switch = Some(tx);
    }
    let body_limits = BodyLimits {
        max: worker.limits.max_body_size,
        timeout: worker.limits.body_timeout,
    };
    let body = if kind == BodyKind::Empty {
        ClientBody::empty(body_limits)
    } else {
        ClientBody::native(RequestBody::new(link.clone()), &parts.headers, body_limits)
    };
    let req = Request::from_parts(parts, body);
    let writing = crate::stats::request();
    // Made where it is pinned (the future is large: no move between).
    let mut answer = std::pin::pin!(pipeline::answer(worker.clone(), conn.clone(), req, last));
    // While the answer is made: a client that closes its side (its body
    // read, so any byte now is a pipelined request) ends it. A stop meanwhile
    // is read after it (the stop signal only ever turns true, or closes).
    let (resp, log) = loop {
        let body_read = matches!(lock(link).left, Left::Done);
        let watch_client = body_read && lock(link).buf.len() < 64 * 1024;
        let fill = std::future::poll_fn(|cx| lock(link).poll_fill(cx));
        tokio::select! {
            biased;
            r = answer.as_mut() => break r,
            r = fill, if watch_client => match r {
                Ok(0) | Err(_) => {
                    tracing::debug!(client = %conn.remote, "client closed with its request in flight");
                    return None;
                }
                Ok(_) => {}
            },
        }
    };
    drop(writing);
    let switched = resp.status() == StatusCode::SWITCHING_PROTOCOLS;
    // Or the response says so itself (`encode_head` tells).
    let close = !keep_alive
        || last
        || *stop.borrow()
        || stop.has_changed().is_err()
        || limits.keepalive_timeout.is_none()
        || (switched && switch.is_none());
    let plan = Plan {
        head: plan_head,
        http10,
        close,
    };
    let (parts, body) = resp.into_parts();
    let framing = write::framing(parts.status, plan, body.size_hint().exact());
    let mut out = BytesMut::new();
    let said_close = write::encode_head(&parts, framing, plan, &mut out);
    if let Some(log) = log {
        // The headers as written, without a copy.
        log.run(parts.headers);
    }
    if let Err(e) = write::response(link, &mut out, framing, body).await {
        tracing::debug!(client = %conn.remote, error = %e, "response not sent whole");
        return None;
    }
    if switched {
        if let Some(tx) = switch {
            let mut s = lock(link);
            if let Some(io) = s.io.take() {
                let read = s.buf.split().freeze();
                let _ = tx.send(Upgraded { io, read });
            }
        }
        return None;
    }
    if close || said_close || framing == write::Framing::UntilClose {
        return Some(false);
    }
    // What the pipeline left of the body is read and dropped here.
    Some(discard(link, DISCARD_LIMIT, DISCARD_TIME).await)
}

/// Answers a head that was refused with `status` and nothing else; the
/// connection then closes.
async fn refuse(link: &Link, status: StatusCode) {
    let mut resp = http::Response::new(http_body_util::Empty::<bytes::Bytes>::new());
    *resp.status_mut() = status;
    resp.headers_mut()
        .insert(header::CONTENT_LENGTH, http::HeaderValue::from_static("0"));
    let plan = Plan {
        head: false,
        http10: false,
        close: true,
    };
    let (parts, body) = resp.into_parts();
    let framing = write::framing(parts.status, plan, body.size_hint().exact());
    let mut out = BytesMut::new();
    write::encode_head(&parts, framing, plan, &mut out);
    if write::response(link, &mut out, framing, body).await.is_ok() {
        shutdown(link).await;
    }
}

/// Closes the client's stream in order (a TLS close_notify, then the
/// TCP FIN), within a short time.
async fn shutdown(link: &Link) {
    let close = std::future::poll_fn(|cx| {
        let mut s = lock(link);
        match s.io.as_mut() {
            Some(io) => Pin::new(io).poll_shutdown(cx),
            None => Poll::Ready(Ok(())),
        }
    });
    let _ = tokio::time::timeout(Duration::from_secs(1), close).await;
}
