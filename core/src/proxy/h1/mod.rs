//! The native HTTP/1.1 server: client connections served over httparse
//! without hyper, one task per connection (`conn`), the head parsed in
//! place (`parse`), the body read from the connection's buffer (`body`),
//! the response written with its head in one `writev` (`write`). Chosen
//! by `gateway.http1_server: native`; HTTP/2 stays on hyper.

mod body;
mod conn;
mod parse;
mod write;

use std::sync::{Arc, Mutex};

use bytes::Bytes;
use tokio::sync::oneshot;

pub use body::{Io, RequestBody};
pub use conn::serve;
pub(crate) use parse::{parse_request, BodyKind, Head, HeadError};

/// The client's side of a WebSocket switch: its stream, once the `101`
/// went out, and what it sent after its request head.
pub struct Upgraded {
    /// The client's stream.
    pub io: Box<dyn Io>,
    /// Bytes the client sent past the request head.
    pub read: Bytes,
}

/// A request extension the native server adds when the client asks to
/// upgrade: where its side of the switch comes from.
#[derive(Clone)]
pub struct NativeUpgrade(Arc<Mutex<Option<oneshot::Receiver<Upgraded>>>>);

impl NativeUpgrade {
    fn new(rx: oneshot::Receiver<Upgraded>) -> NativeUpgrade {
        NativeUpgrade(Arc::new(Mutex::new(Some(rx))))
    }

    /// The receiver of the client's side; `None` after the first call.
    pub fn take(&self) -> Option<oneshot::Receiver<Upgraded>> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take()
    }
}
