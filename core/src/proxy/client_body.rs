//! The client's request body as it travels through the pipeline. When
//! the request is answered without its body being read to the end (no
//! route, a plugin's or the gateway's own answer, a failed try), what is
//! left is read and dropped on a task of its own, up to a limit, so that
//! the client's kept-alive connection carries its next request. hyper on
//! its own reads only what has already arrived and otherwise closes the
//! connection after the answer, which did not say so: the client's next
//! request on it fails.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::{header, HeaderMap};
use hyper::body::{Body, Frame, Incoming, SizeHint};

/// Most bytes of an unread body read and dropped; a larger one closes
/// the connection instead.
const DISCARD_LIMIT: u64 = 1024 * 1024;
/// Longest time spent reading an unread body before closing instead.
const DISCARD_TIME: Duration = Duration::from_secs(5);

/// A request body, read and dropped in the background when it is dropped
/// before its end.
#[derive(Debug)]
pub struct ClientBody {
    inner: Option<Incoming>,
    /// Whether the leftover may be read: not when the client waits for
    /// `100 Continue` (reading would invite the body it did not send).
    discard: bool,
}

impl ClientBody {
    /// Wraps the body of a request whose head is `headers`.
    pub fn new(body: Incoming, headers: &HeaderMap) -> ClientBody {
        let expects = headers
            .get(header::EXPECT)
            .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"100-continue"));
        ClientBody {
            inner: Some(body),
            discard: !expects,
        }
    }
}

impl Body for ClientBody {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        match self.inner.as_mut() {
            Some(body) => Pin::new(body).poll_frame(cx),
            None => Poll::Ready(None),
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.as_ref().is_none_or(Body::is_end_stream)
    }

    fn size_hint(&self) -> SizeHint {
        self.inner
            .as_ref()
            .map_or_else(|| SizeHint::with_exact(0), Body::size_hint)
    }
}

impl Drop for ClientBody {
    fn drop(&mut self) {
        let Some(body) = self.inner.take() else {
            return;
        };
        if body.is_end_stream() || !self.discard || body.size_hint().lower() > DISCARD_LIMIT {
            return;
        }
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            rt.spawn(discard(body));
        }
    }
}

/// Reads `body` to its end and drops it; gives up (and the connection
/// closes) past [`DISCARD_LIMIT`] bytes or [`DISCARD_TIME`].
async fn discard(mut body: Incoming) {
    let read = async {
        let mut left = DISCARD_LIMIT;
        while let Some(Ok(frame)) =
            std::future::poll_fn(|cx| Pin::new(&mut body).poll_frame(cx)).await
        {
            let n = frame.data_ref().map_or(0, |d| d.len() as u64);
            match left.checked_sub(n) {
                Some(l) => left = l,
                None => return,
            }
        }
    };
    let _ = tokio::time::timeout(DISCARD_TIME, read).await;
}
