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
use std::time::Duration;

use bytes::BytesMut;
use http::{header, Method, Request, StatusCode, Version};
use tokio::io::AsyncWrite;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::{Instant, Sleep};

use super::body::{discard, lock, Continue, Io, Left, Link, RequestBody, Shared};
use super::parse::{parse_request, BodyKind, Head};
use super::write::{self, Plan};
use super::{NativeUpgrade, Upgraded};
use crate::proxy::client_body::{BodyLimits, ClientBody, DISCARD_LIMIT, DISCARD_TIME};
use crate::proxy::exchange::{ClientConn, WorkerContext};
use crate::proxy::pipeline;
use crate::proxy::server::stopped;

/// Serves `io` (a client stream under the send timeout) until the client
/// or a limit (the worker's [`Limits`](crate::proxy::server::Limits)) closes it; see the module doc.
/// `alive` is held until then.
///
/// The returned future is the connection's whole task, and every idle
/// connection holds it: an async block over the shared state made here,
/// so that it keeps its arguments once (an async fn keeps each argument
/// twice, as argument and as local) and not the stream beside the state.
pub fn serve<I: Io + 'static>(
    io: I,
    conn: ClientConn,
    worker: Arc<WorkerContext>,
    mut stop: watch::Receiver<bool>,
    alive: mpsc::Sender<()>,
) -> impl std::future::Future<Output = ()> + Send {
    let link: Link = Arc::new(Mutex::new(Shared {
        io: Some(Box::new(io)),
        buf: BytesMut::new(),
        left: Left::Done,
        cont: Continue::No,
    }));
    async move {
        let _alive = alive;
        let _active = crate::stats::handled();
        requests(&link, &conn, &worker, &mut stop).await;
    }
}

/// Serves requests on `link` until the client or a limit closes it.
async fn requests(
    link: &Link,
    conn: &ClientConn,
    worker: &Arc<WorkerContext>,
    stop: &mut watch::Receiver<bool>,
) {
    let limits = &worker.limits;
    let head_limit = limits.max_header_size.max(8192);
    let mut timer = Box::pin(tokio::time::sleep(limits.header_timeout));
    // One wait for the stop signal for the connection's life, on a copy
    // of the receiver: made afresh for each head, it would join and leave
    // the signal's waiter list (two locks) every request.
    let mut stop_seen = stop.clone();
    let mut stopping = std::pin::pin!(stopped(&mut stop_seen));
    let mut served: u64 = 0;
    loop {
        if *stop.borrow() {
            return;
        }
        let wait = match (served, limits.keepalive_timeout) {
            (0, _) => limits.header_timeout,
            (_, Some(k)) => k.min(limits.header_timeout),
            (_, None) => return,
        };
        timer.as_mut().reset(Instant::now() + wait);
        {
            // An idle connection holds no buffer: the next read makes one.
            let mut s = lock(link);
            if s.buf.is_empty() {
                s.buf = BytesMut::new();
            }
        }
        let waits = (timer.as_mut(), stopping.as_mut());
        let Some(head) = read_head(link, conn, head_limit, waits).await else {
            return;
        };
        served += 1;
        let last = served >= limits.keepalive_requests;
        // Boxed: the request's state (the pipeline's, the response's) is
        // held while it is served, not by every idle connection.
        let request = crate::proxy::boxed::boxed(|| one(link, head, conn, worker, last, stop));
        let Some(served_ok) = request.await else {
            return;
        };
        if !served_ok || last {
            shutdown(link).await;
            return;
        }
    }
}

/// Reads until a whole head is in the buffer: the head, `None` when the
/// client closed, `timer` fired or `stopping` ended first, or the head
/// was refused (answered, the connection to be closed).
///
/// No head or parse result is held across an await here: this future is
/// in every idle connection's task.
async fn read_head(
    link: &Link,
    conn: &ClientConn,
    limit: usize,
    (mut timer, mut stopping): (Pin<&mut Sleep>, Pin<&mut impl Future<Output = ()>>),
) -> Option<Head> {
    loop {
        let refused = {
            let mut s = lock(link);
            if s.buf.is_empty() {
                None
            } else {
                match parse_request(&mut s.buf, limit) {
                    Ok(Some(head)) => return Some(head),
                    Ok(None) => None,
                    Err(e) => Some(e),
                }
            }
        };
        if let Some(e) = refused {
            tracing::debug!(client = %conn.remote, status = %e.status, why = %e.why,
                "request head refused");
            // Boxed: rare, and its state would be every idle connection's.
            Box::pin(refuse(link, e.status)).await;
            return None;
        }
        let fill = std::future::poll_fn(|cx| lock(link).poll_fill(cx));
        tokio::select! {
            biased;
            r = fill => match r {
                Ok(0) | Err(_) => return None,
                Ok(_) => {}
            },
            _ = timer.as_mut() => return None,
            () = stopping.as_mut() => return None,
        }
    }
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
    let said_close = resp
        .headers()
        .get(header::CONNECTION)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"close"));
    let switched = resp.status() == StatusCode::SWITCHING_PROTOCOLS;
    let close = !keep_alive
        || last
        || said_close
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
    let framing = write::framing(&parts, plan);
    let mut out = BytesMut::new();
    write::encode_head(&parts, framing, plan, &mut out);
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
    if close || framing == write::Framing::UntilClose {
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
    let framing = write::framing(&parts, plan);
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
            None => std::task::Poll::Ready(Ok(())),
        }
    });
    let _ = tokio::time::timeout(Duration::from_secs(1), close).await;
}
