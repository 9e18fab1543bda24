//! WebSocket: when a route has `enable_websocket`, an `Upgrade: websocket`
//! request keeps its upgrade headers on the way to the node, and after the
//! node's `101 Switching Protocols` the two connections are spliced into
//! one byte tunnel. Without `enable_websocket` the upgrade headers are
//! dropped like any hop-by-hop header and the request is plain HTTP.
//! As nginx applies `proxy_read_timeout` and `proxy_send_timeout` to a
//! tunnel, it closes when no byte moved either way for the node's read
//! timeout, and when a write to the node makes no progress for its send
//! timeout (a write to the client, for `send_timeout`).

use http::header::{self, HeaderMap, HeaderValue};
use http::Request;
use hyper::upgrade::OnUpgrade;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt as _};
use tokio::sync::oneshot;

use super::client_body::ClientBody;
use super::client_io::TimedIo;
use super::h1::{self, NativeUpgrade};
use super::server::idle;
use crate::upstream::{Timeouts, Upgraded};

/// The `Upgrade` value when the request asks for a WebSocket.
pub fn websocket_requested(headers: &HeaderMap) -> Option<HeaderValue> {
    // `Upgrade` first: most requests have none.
    let upgrade = headers.get(header::UPGRADE)?;
    let is_ws = upgrade
        .to_str()
        .is_ok_and(|v| v.trim().eq_ignore_ascii_case("websocket"));
    let wants_upgrade = || {
        headers
            .get_all(header::CONNECTION)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .any(|t| t.trim().eq_ignore_ascii_case("upgrade"))
    };
    (is_ws && wants_upgrade()).then(|| upgrade.clone())
}

/// Puts the upgrade headers back after the hop-by-hop ones were dropped.
pub fn restore(headers: &mut HeaderMap, upgrade: &HeaderValue) {
    headers.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
    headers.insert(header::UPGRADE, upgrade.clone());
}

/// The client's side of a switch, once its server has sent the `101`.
pub enum ClientSide {
    /// hyper's server hands it over.
    Hyper(OnUpgrade),
    /// The native HTTP/1.1 server hands it over (`None`: it cannot).
    Native(Option<oneshot::Receiver<h1::Upgraded>>),
}

/// Where the client side of `req`'s switch will come from, whichever
/// server read it.
pub fn client_side(req: &mut Request<ClientBody>) -> ClientSide {
    match req.extensions_mut().remove::<NativeUpgrade>() {
        Some(native) => ClientSide::Native(native.take()),
        None => ClientSide::Hyper(hyper::upgrade::on(req)),
    }
}

/// Once the client's side has switched too, copies bytes both ways until
/// either side closes or a timeout of `t` passes (what either side sent
/// past its head goes first). Runs on its own task.
pub fn splice(client: ClientSide, node: Upgraded, route: String, t: Timeouts) {
    tokio::spawn(async move {
        match client {
            ClientSide::Hyper(on) => match on.await {
                Ok(c) => tunnel(TokioIo::new(c), &[], node, &route, t).await,
                Err(e) => {
                    tracing::warn!(route = %route, error = %e, "websocket upgrade failed");
                }
            },
            ClientSide::Native(rx) => match rx {
                Some(rx) => match rx.await {
                    Ok(c) => tunnel(c.io, &c.read, node, &route, t).await,
                    Err(_) => tracing::warn!(route = %route, "websocket upgrade failed"),
                },
                None => tracing::warn!(route = %route, "websocket upgrade failed"),
            },
        }
    });
}

/// The tunnel between `client` (which sent `early` past its request head)
/// and `node`.
async fn tunnel<C>(mut client: C, early: &[u8], node: Upgraded, route: &str, t: Timeouts)
where
    C: AsyncRead + AsyncWrite + Unpin,
{
    let Upgraded { io: node, read } = node;
    if !read.is_empty() {
        if let Err(e) = client.write_all(&read).await {
            tracing::debug!(route = %route, error = %e, "websocket ended");
            return;
        }
    }
    // Every byte of the tunnel passes the node's side: its activity is
    // the tunnel's.
    let mut node = TimedIo::new(node, t.send, None);
    let activity = node.activity();
    if !early.is_empty() {
        if let Err(e) = node.write_all(early).await {
            tracing::debug!(route = %route, error = %e, "websocket ended");
            return;
        }
    }
    tokio::select! {
        r = tokio::io::copy_bidirectional(&mut client, &mut node) => match r {
            Ok((up, down)) => tracing::debug!(route = %route, up, down, "websocket closed"),
            Err(e) => tracing::debug!(route = %route, error = %e, "websocket ended"),
        },
        _ = idle(&activity, Some(t.read)) => {
            tracing::debug!(route = %route, timeout = ?t.read, "websocket idle past the read timeout: closed");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_websocket_requests() {
        let mut h = HeaderMap::new();
        h.insert(
            "connection",
            HeaderValue::from_static("keep-alive, Upgrade"),
        );
        h.insert("upgrade", HeaderValue::from_static("WebSocket"));
        assert!(websocket_requested(&h).is_some());
        h.insert("upgrade", HeaderValue::from_static("h2c"));
        assert!(websocket_requested(&h).is_none());
        h.insert("upgrade", HeaderValue::from_static("websocket"));
        h.remove("connection");
        assert!(websocket_requested(&h).is_none());
    }
}
