//! The Admin API (APISIX v3 compatible) on its own listener, default
//! `127.0.0.1:9180`: every kind under `/apisix/admin/<kind>`, client
//! addresses allowed by `admin.allow_admin`, keys with roles, validation
//! before every write, `X-API-VERSION: v3` on every answer. On etcd it reads and writes etcd (the gateway follows through
//! its watch); in standalone mode it serves GET from the file and refuses
//! writes.

mod access;
mod check;
mod index;
pub(crate) mod owners;
mod store;
mod target;
mod verbs;

pub use store::AdminStore;

use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use hyper::body::Incoming;
use serde_json::Value;

use crate::config::{AdminSection, EtcdSection, Kind, Role};
use crate::plugin_host::{self, PluginHost};
use crate::proxy::{self, ClientIo, ConnCap, Limits};
use access::Access;
use target::{AdminTarget, ObjectPath, PathError};
use verbs::{error, AdminReply};

/// Largest request body: 1.5 MiB.
pub const BODY_LIMIT: usize = 1536 * 1024;

/// What every connection shares.
struct AdminContext {
    store: AdminStore,
    access: Access,
    /// Set in standalone mode: why writes are refused.
    read_only: Option<String>,
    /// The plugin host behind the plugin endpoints (none: no `plugins.dir`).
    plugins: Option<Arc<PluginHost>>,
}

/// Where the Admin API keeps objects.
// Made once at start: the size of its variants does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum Backend {
    /// etcd, as the `etcd:` section says.
    Etcd(EtcdSection),
    /// The standalone file (GET only).
    File(std::path::PathBuf),
}

/// Binds `section.listen` and serves the Admin API on a thread of its own
/// until the process exits, under the proxy's client `limits` (header
/// timeout, send timeout, keep-alive, connection cap); the plugin
/// endpoints answer from `plugins`. Returns the bound address. Logs a
/// warning when the default key is in force.
pub fn start(
    section: &AdminSection,
    backend: Backend,
    plugins: Option<Arc<PluginHost>>,
    limits: Limits,
) -> std::io::Result<SocketAddr> {
    let listener = std::net::TcpListener::bind(section.listen)?;
    listener.set_nonblocking(true)?;
    let addr = listener.local_addr()?;
    let access = Access::new(section);
    if access.uses_default_key() {
        tracing::warn!(%addr, "the Admin API uses APISIX's default admin key: it is accepted from loopback only; set admin.keys in config.yaml");
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    std::thread::Builder::new()
        .name("admin-api".into())
        .spawn(move || {
            rt.block_on(async move {
                let (store, read_only) = match backend {
                    Backend::File(path) => {
                        let why = format!(
                            "the Admin API is read-only in standalone mode (config.provider: yaml): edit {} instead",
                            path.display()
                        );
                        (AdminStore::File(path), Some(why))
                    }
                    Backend::Etcd(settings) => (connect(&settings).await, None),
                };
                let ctx = Arc::new(AdminContext {
                    store,
                    access,
                    read_only,
                    plugins,
                });
                serve(listener, ctx, limits).await
            })
        })?;
    tracing::info!(%addr, "Admin API listening");
    Ok(addr)
}

/// An etcd store; retried until the client can be built (it connects lazily,
/// so only bad credentials keep this waiting).
async fn connect(settings: &EtcdSection) -> AdminStore {
    loop {
        match AdminStore::etcd(settings).await {
            Ok(s) => return s,
            Err(e) => {
                tracing::error!(error = %e, "Admin API: cannot set up the etcd client; retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
}

/// Accepts Admin API connections under `limits`: past the connection cap
/// a new one is closed at once; a client slower than the header timeout
/// is cut off, as on the proxy's port.
async fn serve(listener: std::net::TcpListener, ctx: Arc<AdminContext>, limits: Limits) {
    let listener = match tokio::net::TcpListener::from_std(listener) {
        Ok(l) => l,
        Err(e) => {
            tracing::error!(error = %e, "Admin API listener unusable");
            return;
        }
    };
    let builder = limits.http1();
    let cap = ConnCap::new(limits.max_connections);
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(error = %e, "Admin API accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let Some(slot) = cap.admit("admin") else {
            continue; // dropped: closed at once
        };
        let mut io = ClientIo::new(stream, limits.send_timeout, Some(slot));
        let activity = io.activity();
        let (ctx, builder) = (ctx.clone(), builder.clone());
        tokio::spawn(async move {
            let svc = hyper::service::service_fn(move |req| {
                let ctx = ctx.clone();
                async move {
                    let reply = handle(&ctx, req, peer.ip(), limits.body_timeout).await;
                    Ok::<_, Infallible>(respond(reply))
                }
            });
            let conn = builder.serve_connection(hyper_util::rt::TokioIo::new(io), svc);
            tokio::pin!(conn);
            tokio::select! {
                _ = conn.as_mut() => return,
                _ = proxy::idle(&activity, limits.keepalive_timeout) => {}
            }
            conn.as_mut().graceful_shutdown();
            let _ = conn.await;
        });
    }
}

fn respond((status, body): AdminReply) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from(body.to_string())));
    *r.status_mut() = status;
    let h = r.headers_mut();
    h.insert("content-type", HeaderValue::from_static("application/json"));
    h.insert("x-api-version", HeaderValue::from_static("v3"));
    r
}

async fn handle(
    ctx: &AdminContext,
    req: Request<Incoming>,
    peer: IpAddr,
    body_timeout: Duration,
) -> AdminReply {
    if let Err(r) = ctx.access.admit(peer) {
        return r;
    }
    let q = target::query(req.uri().query());
    let role = match ctx.access.authorize(req.headers(), &q, peer) {
        Ok(r) => r,
        Err(r) => return r,
    };
    let target = match target::parse(req.uri().path()) {
        Ok(t) => t,
        Err(PathError::NotFound(m)) => return error(StatusCode::NOT_FOUND, m),
        Err(PathError::BadId(m)) => return error(StatusCode::BAD_REQUEST, m),
    };
    let method = req.method().clone();
    let allowed = matches!(
        method,
        Method::GET | Method::PUT | Method::POST | Method::PATCH | Method::DELETE
    );
    if !allowed {
        return error(
            StatusCode::METHOD_NOT_ALLOWED,
            format!("method {method} is not allowed"),
        );
    }
    if method != Method::GET {
        if role == Role::Viewer {
            return error(StatusCode::UNAUTHORIZED, "the viewer role may only GET");
        }
        // Validation writes nothing: allowed in standalone mode too (and
        // a plugin reload only reads the plugin directory).
        let writes = !matches!(target, AdminTarget::Validate(_) | AdminTarget::PluginReload);
        if let (Some(why), true) = (&ctx.read_only, writes) {
            return error(StatusCode::METHOD_NOT_ALLOWED, why.clone());
        }
    }
    let t = match target {
        AdminTarget::Schema(kind) => return schema(&method, &kind),
        AdminTarget::PluginSchema(_) if method != Method::GET => {
            return error(StatusCode::METHOD_NOT_ALLOWED, "schemas are read with GET")
        }
        AdminTarget::PluginSchema(name) => {
            let kind = q.get("schema_type").map_or("", String::as_str);
            return match plugin_host::admin_schema(ctx.plugins.as_deref(), &name, kind) {
                Ok(v) => (StatusCode::OK, v),
                Err(m) => error(StatusCode::NOT_FOUND, m),
            };
        }
        // The plugin host's loaded plugins (plugin_host/setup.rs).
        AdminTarget::PluginList if method == Method::GET => {
            return (
                StatusCode::OK,
                plugin_host::admin_list(ctx.plugins.as_deref()),
            )
        }
        AdminTarget::PluginReload if method == Method::PUT => {
            return (
                StatusCode::OK,
                plugin_host::admin_reload(ctx.plugins.as_deref()),
            )
        }
        AdminTarget::PluginReload => {
            return error(StatusCode::METHOD_NOT_ALLOWED, "reload plugins with PUT")
        }
        AdminTarget::PluginList => {
            return error(
                StatusCode::METHOD_NOT_ALLOWED,
                "the plugin list is read with GET",
            )
        }
        AdminTarget::Validate(_) if method != Method::POST => {
            return error(StatusCode::METHOD_NOT_ALLOWED, "validate with POST")
        }
        AdminTarget::Validate(kind) => ObjectPath {
            kind,
            dir: kind.key().to_owned(),
            id: None,
            sub: Some(String::new()),
        },
        AdminTarget::Object(t) => t,
    };
    let validate_only = t.sub.as_deref() == Some("") && t.id.is_none();
    if method == Method::GET {
        return verbs::get(&ctx.store, &t, &q).await;
    }
    if method == Method::DELETE {
        return verbs::delete(&ctx.store, &t, &q).await;
    }
    let body = match read_body(req.into_body(), body_timeout).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    let body: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => {
            return error(
                StatusCode::BAD_REQUEST,
                format!("invalid request body: {e}"),
            )
        }
    };
    if (t.sub.is_none() || validate_only) && !body.is_object() {
        return error(
            StatusCode::BAD_REQUEST,
            "invalid request body: expected a JSON object",
        );
    }
    if validate_only {
        return verbs::validate(&t, body);
    }
    match method {
        Method::PUT => verbs::put(&ctx.store, &t, &q, body).await,
        Method::POST => verbs::post(&ctx.store, &t, &q, body).await,
        _ => verbs::patch(&ctx.store, &t, &q, body).await,
    }
}

/// `GET /apisix/admin/schema/<kind>` (`route`, or `routes`): the kind's JSON Schema.
fn schema(method: &Method, kind: &str) -> AdminReply {
    if method != Method::GET {
        return error(StatusCode::METHOD_NOT_ALLOWED, "schemas are read with GET");
    }
    let schema = Kind::from_name(kind)
        .or_else(|| Kind::from_key(kind))
        .and_then(Kind::schema);
    match schema {
        Some(s) => (StatusCode::OK, s.clone()),
        None => error(StatusCode::NOT_FOUND, format!("no schema for {kind:?}")),
    }
}

/// The request body, at most [`BODY_LIMIT`] bytes and whole within
/// `timeout` (the proxy's `client_body_timeout`): an Admin body is small,
/// so a client still sending after that is slow on purpose and gets 408.
async fn read_body(body: Incoming, timeout: Duration) -> Result<Bytes, AdminReply> {
    let read = Limited::new(body, BODY_LIMIT).collect();
    match tokio::time::timeout(timeout, read).await {
        Ok(Ok(b)) => Ok(b.to_bytes()),
        Ok(Err(e)) if e.downcast_ref::<LengthLimitError>().is_some() => Err(error(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("request body larger than {BODY_LIMIT} bytes"),
        )),
        Ok(Err(e)) => Err(error(
            StatusCode::BAD_REQUEST,
            format!("cannot read the body: {e}"),
        )),
        Err(_) => Err(error(
            StatusCode::REQUEST_TIMEOUT,
            format!(
                "request body not received within {} s",
                timeout.as_secs_f64()
            ),
        )),
    }
}
