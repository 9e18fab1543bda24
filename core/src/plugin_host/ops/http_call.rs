//! Outbound HTTP(S) for plugins ([`HostOp::Http`]): one request to an
//! absolute URL over the host's own HTTP/1.1 client pieces (the upstream
//! client's connections, wire format and TLS), with keep-alive connections
//! pooled per scheme, host and port on each worker thread. The whole
//! exchange has one time budget and the response body a size cap.
//!
//! [`HostOp::Http`]: radixgate_plugin::abi::HostOp::Http

use std::io::IoSlice;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use abi_stable::std_types::{RString, Tuple2};
use bytes::BytesMut;
use http::header::{CONTENT_LENGTH, HOST, TRANSFER_ENCODING};
use http::uri::{Authority, Uri};
use http::{HeaderMap, HeaderName, HeaderValue, Method};
use radixgate_plugin::abi::{HttpAnswer, HttpCall};
use tokio::net::TcpStream;

use crate::config::UpstreamTls;
use crate::upstream::wire::{self, Chunked, Connection, Framing, Io, ReqFraming};
use crate::upstream::{server_name, Pool, PoolKey, PoolLimits, TlsSettings};

/// The budget of an exchange whose call gives none.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

/// The largest response body handed to a plugin; a larger one fails the
/// call.
pub const MAX_BODY: usize = 8 * 1024 * 1024;

thread_local! {
    /// This thread's idle connections: one pool for calls that verify
    /// certificates, one for those that do not (a connection made without
    /// verification never carries a call that asks for it).
    static POOLS: [Arc<Pool>; 2] = [Pool::start(), Pool::start()];
}

/// Sends `call` and reads the whole response within its budget; the
/// answer (any status), or why there is none, naming the method and URL.
pub async fn send(call: &HttpCall) -> Result<HttpAnswer, String> {
    let budget = match call.timeout_ms {
        0 => DEFAULT_TIMEOUT,
        ms => Duration::from_millis(ms),
    };
    let what = format!("HTTP {} {}", call.method, call.url);
    match tokio::time::timeout(budget, exchange(call, budget)).await {
        Ok(Ok(answer)) => Ok(answer),
        Ok(Err(e)) => Err(format!("{what}: {e}")),
        Err(_) => Err(format!("{what}: no complete answer within {budget:?}")),
    }
}

/// Where a call goes and what it sends.
struct Prepared {
    tls: bool,
    /// The host as dialled (no brackets), and the port.
    host: String,
    port: u16,
    key: PoolKey,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    framing: ReqFraming,
}

/// Checks the call's URL, method and headers; the request as it goes out.
fn prepare(call: &HttpCall) -> Result<Prepared, String> {
    let uri: Uri = call
        .url
        .parse()
        .map_err(|e| format!("url: not an absolute URL: {e}"))?;
    let tls = match uri.scheme_str() {
        Some("http") => false,
        Some("https") => true,
        _ => return Err("url: the scheme must be http or https".to_owned()),
    };
    let authority = uri
        .authority()
        .ok_or_else(|| "url: no host".to_owned())?
        .clone();
    if authority.as_str().contains('@') {
        return Err("url: credentials in the URL are not sent; use a header".to_owned());
    }
    let port = authority.port_u16().unwrap_or(if tls { 443 } else { 80 });
    let host = authority.host().to_owned();
    let bare = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_owned();
    let dialled: Authority = format!("{host}:{port}")
        .parse()
        .map_err(|e| format!("url: host {host:?}: {e}"))?;
    let method = Method::from_bytes(call.method.as_bytes())
        .map_err(|_| format!("method: {:?} is not an HTTP method", call.method.as_str()))?;
    let mut headers = HeaderMap::with_capacity(call.headers.len() + 2);
    for pair in call.headers.iter() {
        let (name, value) = (pair.0.as_str(), pair.1.as_str());
        let name = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| format!("header {name:?}: not a valid header name"))?;
        // The host frames the body itself.
        if name == CONTENT_LENGTH || name == TRANSFER_ENCODING {
            continue;
        }
        let value = HeaderValue::from_str(value)
            .map_err(|_| format!("header {name}: not a valid header value"))?;
        headers.append(name, value);
    }
    if !headers.contains_key(HOST) {
        let value = HeaderValue::from_str(authority.as_str())
            .map_err(|_| format!("url: host {host:?} is not a valid Host header"))?;
        headers.insert(HOST, value);
    }
    // The host frames the body (an empty POST, PUT or PATCH says length 0).
    let framing = match call.body.len() {
        0 => ReqFraming::None,
        n => ReqFraming::Length(n as u64),
    };
    let key = PoolKey::new(tls, dialled, tls.then(|| bare.clone()));
    Ok(Prepared {
        tls,
        host: bare,
        port,
        key,
        method,
        uri,
        headers,
        framing,
    })
}

/// How an exchange on one connection failed.
enum Broken {
    /// A pooled connection the server had closed: nothing was answered.
    Stale,
    /// Anything else.
    Failed(String),
}

/// Sends the call over a pooled connection, or a new one (once more on a
/// new one when a pooled one turns out closed and the method may be
/// repeated).
async fn exchange(call: &HttpCall, budget: Duration) -> Result<HttpAnswer, String> {
    let req = prepare(call)?;
    let pool = POOLS.with(|p| p[usize::from(call.verify_tls)].clone());
    let mut head = BytesMut::with_capacity(256);
    wire::encode_request(
        &req.method,
        &req.uri,
        &req.headers,
        None,
        req.framing,
        false,
        &mut head,
    );
    let mut pooled = pool.take(&req.key);
    for _ in 0..2 {
        let reused = pooled.is_some();
        let mut conn = match pooled.take() {
            Some(conn) => conn,
            None => Connection::new(connect(&req, call.verify_tls).await?),
        };
        conn.used += 1;
        match on(&mut conn, &head, &call.body, &req.method, budget).await {
            Ok((answer, keep_alive)) => {
                if keep_alive {
                    pool.put(&req.key, &PoolLimits::default(), conn);
                }
                return Ok(answer);
            }
            Err(Broken::Stale) if reused && req.method.is_idempotent() => continue,
            Err(Broken::Stale) => {
                return Err("the server closed the connection without answering".to_owned())
            }
            Err(Broken::Failed(e)) => return Err(e),
        }
    }
    Err("the server closed the connection without answering".to_owned())
}

/// A new connection: the host resolved, each address tried in turn, then
/// TLS for `https`.
async fn connect(req: &Prepared, verify: bool) -> Result<Io, String> {
    let addrs = tokio::net::lookup_host((req.host.as_str(), req.port))
        .await
        .map_err(|e| format!("resolving {}: {e}", req.host))?;
    let mut last = format!("{} resolved to no address", req.host);
    let mut tcp = None;
    for addr in addrs {
        match TcpStream::connect(addr).await {
            Ok(s) => {
                tcp = Some(s);
                break;
            }
            Err(e) => last = format!("connecting to {addr}: {e}"),
        }
    }
    let tcp = tcp.ok_or(last)?;
    let _ = tcp.set_nodelay(true);
    if !req.tls {
        return Ok(Io::Plain(tcp));
    }
    let settings = tls_settings(verify)?;
    let name =
        server_name(&req.host).ok_or_else(|| format!("{} is not a TLS server name", req.host))?;
    let stream = settings
        .connect(name, tcp)
        .await
        .map_err(|e| format!("TLS handshake with {}: {e}", req.host))?;
    Ok(Io::Tls(Box::new(stream)))
}

/// The TLS client settings, verifying against the webpki roots or not.
fn tls_settings(verify: bool) -> Result<&'static TlsSettings, String> {
    static SETTINGS: OnceLock<[Result<TlsSettings, String>; 2]> = OnceLock::new();
    let all = SETTINGS.get_or_init(|| {
        [false, true].map(|verify| {
            let conf = UpstreamTls {
                client_cert_id: None,
                client_cert: None,
                client_key: None,
                verify,
            };
            TlsSettings::build(Some(&conf)).map_err(|(field, e)| format!("TLS {field}: {e}"))
        })
    });
    all[usize::from(verify)].as_ref().map_err(Clone::clone)
}

/// Writes the request on `conn` and reads the whole response; the answer
/// and whether the connection may carry another request.
async fn on(
    conn: &mut Connection,
    head: &[u8],
    body: &[u8],
    method: &Method,
    budget: Duration,
) -> Result<(HttpAnswer, bool), Broken> {
    let mut bufs = [IoSlice::new(head), IoSlice::new(body)];
    let sent = conn.write_all(&mut bufs, budget).await;
    let sent = match sent {
        Ok(()) => conn.flush(budget).await,
        Err(e) => Err(e),
    };
    if let Err(e) = sent {
        return Err(Broken::Failed(format!("sending the request: {e}")));
    }
    let mut got_bytes = !conn.read.is_empty();
    let resp = loop {
        if got_bytes {
            match wire::parse_response(&mut conn.read, method) {
                Ok(Some(resp)) => break resp,
                Ok(None) => {}
                Err(e) => return Err(Broken::Failed(e)),
            }
        }
        match conn.fill().await {
            Ok(0) | Err(_) if !got_bytes => return Err(Broken::Stale),
            Ok(0) => {
                let e = "the server closed the connection before the response head";
                return Err(Broken::Failed(e.to_owned()));
            }
            Err(e) => return Err(Broken::Failed(format!("reading the response: {e}"))),
            Ok(_) => got_bytes = true,
        }
    };
    let body = read_body(conn, resp.framing)
        .await
        .map_err(Broken::Failed)?;
    let keep_alive = resp.keep_alive && conn.read.is_empty();
    let headers = resp
        .headers
        .iter()
        .map(|(name, value)| {
            let value = String::from_utf8_lossy(value.as_bytes());
            Tuple2(RString::from(name.as_str()), RString::from(value.as_ref()))
        })
        .collect();
    let answer = HttpAnswer {
        status: resp.status.as_u16(),
        headers,
        body: body.into(),
    };
    Ok((answer, keep_alive))
}

/// The response body as `framing` delimits it, at most [`MAX_BODY`]
/// bytes.
async fn read_body(conn: &mut Connection, framing: Framing) -> Result<Vec<u8>, String> {
    let too_large = || format!("the response body is larger than {MAX_BODY} bytes");
    let closed = || "the server closed the connection in the middle of the body".to_owned();
    match framing {
        Framing::Empty => Ok(Vec::new()),
        Framing::Upgrade => Err("the server switched protocols".to_owned()),
        Framing::Length(n) => {
            let n = usize::try_from(n)
                .ok()
                .filter(|&n| n <= MAX_BODY)
                .ok_or_else(too_large)?;
            while conn.read.len() < n {
                if conn.fill().await.map_err(|e| e.to_string())? == 0 {
                    return Err(closed());
                }
            }
            Ok(conn.read.split_to(n).to_vec())
        }
        Framing::Chunked => {
            let mut decoder = Chunked::default();
            let mut body = Vec::new();
            loop {
                while let Some(data) = decoder.decode(&mut conn.read)? {
                    if body.len() + data.len() > MAX_BODY {
                        return Err(too_large());
                    }
                    body.extend_from_slice(&data);
                }
                if decoder.done() {
                    return Ok(body);
                }
                if conn.fill().await.map_err(|e| e.to_string())? == 0 {
                    return Err(closed());
                }
            }
        }
        Framing::UntilClose => {
            while conn.fill().await.map_err(|e| e.to_string())? != 0 {
                if conn.read.len() > MAX_BODY {
                    return Err(too_large());
                }
            }
            Ok(conn.read.split().to_vec())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use abi_stable::std_types::RVec;

    fn call(method: &str, url: &str, headers: &[(&str, &str)], body: &[u8]) -> HttpCall {
        HttpCall {
            method: method.into(),
            url: url.into(),
            headers: headers
                .iter()
                .map(|(n, v)| Tuple2(RString::from(*n), RString::from(*v)))
                .collect(),
            body: RVec::from(body.to_vec()),
            timeout_ms: 0,
            verify_tls: true,
        }
    }

    fn head(c: &HttpCall) -> String {
        let p = prepare(c).expect("a valid call");
        let mut out = BytesMut::new();
        wire::encode_request(
            &p.method, &p.uri, &p.headers, None, p.framing, false, &mut out,
        );
        String::from_utf8_lossy(&out).into_owned()
    }

    #[test]
    fn the_request_head_names_the_target_host_and_length() {
        let c = call(
            "POST",
            "http://example.com:8080/a/b?x=1",
            &[("X-A", "1")],
            b"hi",
        );
        assert_eq!(
            head(&c),
            "POST /a/b?x=1 HTTP/1.1\r\nx-a: 1\r\nhost: example.com:8080\r\ncontent-length: 2\r\n\r\n"
        );
        let p = prepare(&c).expect("valid");
        assert_eq!(
            (p.tls, p.host.as_str(), p.port),
            (false, "example.com", 8080)
        );
        // The plugin's own framing headers give way to the host's; its Host stays.
        let c = call(
            "GET",
            "https://[::1]/",
            &[
                ("Host", "h"),
                ("Content-Length", "9"),
                ("Transfer-Encoding", "chunked"),
            ],
            b"",
        );
        assert_eq!(head(&c), "GET / HTTP/1.1\r\nhost: h\r\n\r\n");
        let p = prepare(&c).expect("valid");
        assert_eq!((p.tls, p.host.as_str(), p.port), (true, "::1", 443));
    }

    #[test]
    fn bad_calls_name_what_is_wrong() {
        let e = |c: HttpCall| prepare(&c).err().unwrap_or_default();
        assert!(e(call("GET", "/relative", &[], b"")).starts_with("url:"));
        assert!(e(call("GET", "ftp://h/x", &[], b"")).starts_with("url: the scheme"));
        assert!(e(call("GET", "http://u:p@h/x", &[], b"")).starts_with("url: credentials"));
        assert!(e(call("G T", "http://h/", &[], b"")).starts_with("method:"));
        assert!(e(call("GET", "http://h/", &[("a b", "1")], b"")).starts_with("header \"a b\""));
        assert!(e(call("GET", "http://h/", &[("a", "1\n")], b"")).starts_with("header a:"));
    }
}
