//! The parts of a `Location` the plugin computes: the request's scheme,
//! the HTTPS address of the request, and nginx's URI escaping.

use radixgate_plugin::Ctx;

/// The request's scheme as the client used it: `X-Forwarded-Proto` (a
/// proxy in front terminated TLS), else request variable `scheme`, else
/// `http`.
pub fn scheme<'c>(ctx: &'c Ctx<'_>) -> &'c str {
    ctx.header("x-forwarded-proto")
        .or_else(|| ctx.var("scheme"))
        .unwrap_or("http")
}

/// `https://$host$request_uri`: the Host header without its port (an
/// IPv6 literal keeps its brackets), then the gateway's HTTPS port
/// (request variable `gateway_https_port`, the TLS listener's) unless it
/// is 443 or there is none, then the path and query.
pub fn https(ctx: &Ctx<'_>) -> String {
    let host = ctx.header("host").unwrap_or_default();
    let host = match host.find(']') {
        Some(end) if host.starts_with('[') => &host[..=end],
        _ => host.split(':').next().unwrap_or(host),
    };
    let port = match ctx.var("gateway_https_port") {
        Some(p) if p != "443" => format!(":{p}"),
        _ => String::new(),
    };
    let (path, query) = (ctx.path(), ctx.query());
    let mut uri = format!("https://{host}{port}{path}");
    if !query.is_empty() {
        uri.push('?');
        uri.push_str(query);
    }
    uri
}

/// Whether nginx's `ngx_escape_uri` (`NGX_ESCAPE_URI`) escapes `b`:
/// controls, space, `#`, `%`, `?`, DEL and every non-ASCII byte.
fn escaped(b: u8) -> bool {
    b <= b' ' || b >= 0x7f || matches!(b, b'#' | b'%' | b'?')
}

/// `uri` with its path (before the first `?`) escaped as APISIX's
/// `encode_uri` does; the query is kept as it is.
pub fn encode(uri: &str) -> String {
    let (path, query) = match uri.find('?') {
        Some(i) => uri.split_at(i),
        None => (uri, ""),
    };
    let mut out = String::with_capacity(uri.len() + 16);
    for b in path.bytes() {
        if escaped(b) {
            out.push_str(&format!("%{b:02X}"));
        } else {
            out.push(char::from(b));
        }
    }
    out.push_str(query);
    out
}
