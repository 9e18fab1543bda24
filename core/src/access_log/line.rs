//! One request's access line: what is captured when it arrives
//! ([`AccessLine`]), what the gateway learnt by its response head
//! ([`Facts`]), and the line a [`Format`] makes of them.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use http::{HeaderMap, HeaderValue, Method, Uri, Version};

use super::format::{Format, Part, Var};

/// What the access line keeps of a request as the client sent it.
#[derive(Debug)]
pub struct AccessLine {
    arrived: Instant,
    method: Method,
    uri: Uri,
    version: Version,
    /// The headers the format reads, by slot (values share the request's
    /// bytes).
    headers: Vec<Option<HeaderValue>>,
    /// The request as the node got it, once one was tried.
    node: Option<NodeRequest>,
}

/// What the node was sent: `upstream_scheme`, `upstream_host`,
/// `upstream_uri`.
#[derive(Debug)]
struct NodeRequest {
    scheme: &'static str,
    host: Option<HeaderValue>,
    uri: Uri,
}

impl AccessLine {
    /// Captures what `format` reads of a request arriving now.
    pub fn new(
        format: &Format,
        method: &Method,
        uri: &Uri,
        version: Version,
        headers: &HeaderMap,
    ) -> Self {
        AccessLine {
            arrived: Instant::now(),
            method: method.clone(),
            uri: uri.clone(),
            version,
            headers: format
                .headers
                .iter()
                .map(|h| headers.get(h).cloned())
                .collect(),
            node: None,
        }
    }

    /// When the request arrived.
    pub fn arrived(&self) -> Instant {
        self.arrived
    }

    /// Records the request a node is sent: `scheme` (`http`, `https`,
    /// `grpc`, `grpcs`), its target and headers.
    pub fn sent_to_node(&mut self, scheme: &'static str, uri: &Uri, headers: &HeaderMap) {
        self.node = Some(NodeRequest {
            scheme,
            host: headers.get(http::header::HOST).cloned(),
            uri: uri.clone(),
        });
    }
}

/// What the gateway knows of a request at its response head.
#[derive(Debug)]
pub struct Facts<'a> {
    /// The request as it came.
    pub line: &'a AccessLine,
    /// The client (as real-ip left it).
    pub client: SocketAddr,
    /// The address the client connected to.
    pub local: SocketAddr,
    /// Whether the client came over TLS.
    pub tls: bool,
    /// The host named, without port.
    pub host: &'a [u8],
    /// The matched route's id.
    pub route: Option<&'a str>,
    /// The node tried last (`host:port`).
    pub node: Option<&'a str>,
    /// The node's status.
    pub upstream_status: Option<u16>,
    /// From sending to the node's response head.
    pub upstream_time: Option<Duration>,
    /// The response status.
    pub status: u16,
    /// The response body's length, when known.
    pub body_bytes: Option<u64>,
    /// From arrival to the response head.
    pub request_time: Duration,
    /// Now.
    pub now: SystemTime,
}

/// Writes `facts` as `format` says into `out`, ending in `\n`.
pub fn render(format: &Format, facts: &Facts<'_>, out: &mut String) {
    for part in &format.parts {
        match part {
            Part::Text(t) => out.push_str(t),
            Part::Var(v) => {
                let at = out.len();
                value(v, facts, out);
                if out.len() == at {
                    out.push('-');
                }
            }
        }
    }
    out.push('\n');
}

/// Appends the value of `v` (nothing when it has none).
fn value(v: &Var, f: &Facts<'_>, out: &mut String) {
    let line = f.line;
    match v {
        Var::RemoteAddr => {
            let _ = write!(out, "{}", f.client.ip());
        }
        Var::RemotePort => {
            let _ = write!(out, "{}", f.client.port());
        }
        Var::RemoteUser(slot) => {
            if let Some(user) = slot_value(line, *slot).and_then(basic_user) {
                escape(user.as_bytes(), out);
            }
        }
        Var::TimeLocal => time_local(f.now, out),
        Var::TimeIso8601 => time_iso8601(f.now, out),
        Var::Msec => {
            let ms = unix_ms(f.now);
            let _ = write!(out, "{}.{:03}", ms / 1000, ms % 1000);
        }
        Var::Request => {
            escape(line.method.as_str().as_bytes(), out);
            out.push(' ');
            escape(request_uri(&line.uri).as_bytes(), out);
            out.push(' ');
            out.push_str(protocol(line.version));
        }
        Var::Method => escape(line.method.as_str().as_bytes(), out),
        Var::RequestUri => escape(request_uri(&line.uri).as_bytes(), out),
        Var::Uri => escape(line.uri.path().as_bytes(), out),
        Var::Args => escape(line.uri.query().unwrap_or("").as_bytes(), out),
        Var::Arg(name) => {
            if let Some(v) = line.uri.query().and_then(|q| query_arg(q, name)) {
                escape(v, out);
            }
        }
        Var::Protocol => out.push_str(protocol(line.version)),
        Var::Scheme => out.push_str(if f.tls { "https" } else { "http" }),
        Var::Host => escape(f.host, out),
        Var::ServerAddr => {
            let _ = write!(out, "{}", f.local.ip());
        }
        Var::ServerPort => {
            let _ = write!(out, "{}", f.local.port());
        }
        Var::Status => {
            let _ = write!(out, "{}", f.status);
        }
        Var::BodyBytesSent => {
            let _ = write!(out, "{}", f.body_bytes.unwrap_or(0));
        }
        Var::RequestTime => seconds(f.request_time, out),
        Var::UpstreamAddr => escape(f.node.unwrap_or("").as_bytes(), out),
        Var::UpstreamStatus => {
            if let Some(s) = f.upstream_status {
                let _ = write!(out, "{s}");
            }
        }
        Var::UpstreamResponseTime => {
            if let Some(t) = f.upstream_time {
                seconds(t, out);
            }
        }
        Var::UpstreamScheme => {
            if let Some(n) = &line.node {
                out.push_str(n.scheme);
            }
        }
        Var::UpstreamHost => {
            if let Some(h) = line.node.as_ref().and_then(|n| n.host.as_ref()) {
                escape(h.as_bytes(), out);
            }
        }
        Var::UpstreamUri => {
            if let Some(n) = &line.node {
                escape(request_uri(&n.uri).as_bytes(), out);
            }
        }
        Var::RouteId => escape(f.route.unwrap_or("").as_bytes(), out),
        Var::Header(slot) => {
            if let Some(v) = slot_value(line, *slot) {
                escape(v.as_bytes(), out);
            }
        }
        Var::Cookie(slot, name) => {
            if let Some(v) = slot_value(line, *slot).and_then(|c| cookie(c.as_bytes(), name)) {
                escape(v, out);
            }
        }
        Var::Unknown => {}
    }
}

fn slot_value(line: &AccessLine, slot: usize) -> Option<&HeaderValue> {
    line.headers.get(slot).and_then(Option::as_ref)
}

fn request_uri(uri: &Uri) -> &str {
    uri.path_and_query().map_or("/", |p| p.as_str())
}

fn protocol(v: Version) -> &'static str {
    match v {
        Version::HTTP_09 => "HTTP/0.9",
        Version::HTTP_10 => "HTTP/1.0",
        Version::HTTP_2 => "HTTP/2.0",
        Version::HTTP_3 => "HTTP/3.0",
        _ => "HTTP/1.1",
    }
}

/// The user of a Basic `Authorization` value, as nginx's `$remote_user`.
fn basic_user(v: &HeaderValue) -> Option<String> {
    let v = v.to_str().ok()?;
    let (scheme, creds) = v.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let raw = base64::engine::general_purpose::STANDARD
        .decode(creds.trim())
        .ok()?;
    let text = String::from_utf8(raw).ok()?;
    let (user, _) = text.split_once(':')?;
    Some(user.to_owned())
}

/// The raw value of `name` in a query string, as nginx's `$arg_name`: the
/// first occurrence, names compared without case.
fn query_arg<'q>(query: &'q str, name: &str) -> Option<&'q [u8]> {
    query.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        k.eq_ignore_ascii_case(name).then_some(v.as_bytes())
    })
}

/// Cookie `name`'s value in a `Cookie` header value.
fn cookie<'h>(header: &'h [u8], name: &str) -> Option<&'h [u8]> {
    header.split(|&b| b == b';').find_map(|pair| {
        let pair = pair.trim_ascii_start();
        let eq = pair.iter().position(|&b| b == b'=')?;
        (pair[..eq] == *name.as_bytes()).then(|| &pair[eq + 1..])
    })
}

/// Seconds with milliseconds, as nginx writes times (`0.012`).
fn seconds(d: Duration, out: &mut String) {
    let ms = d.as_millis();
    let _ = write!(out, "{}.{:03}", ms / 1000, ms % 1000);
}

/// nginx's default escaping of a variable: `"`, `\`, control bytes and
/// bytes past ASCII as `\xHH`.
fn escape(bytes: &[u8], out: &mut String) {
    for &b in bytes {
        if b == b'"' || b == b'\\' || !(0x20..0x7f).contains(&b) {
            let _ = write!(out, "\\x{b:02X}");
        } else {
            out.push(char::from(b));
        }
    }
}

fn unix_ms(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// The UTC date and time of `t`: (year, month 1-12, day, hour, minute, second).
fn utc(t: SystemTime) -> (i64, u32, u32, u64, u64, u64) {
    let secs = unix_ms(t) / 1000;
    let (days, rest) = (secs / 86_400, secs % 86_400);
    let (y, m, d) = civil(i64::try_from(days).unwrap_or(0));
    (y, m, d, rest / 3600, rest % 3600 / 60, rest % 60)
}

/// `02/Dec/2026:12:33:33 +0000` (nginx's `$time_local`, in UTC).
fn time_local(t: SystemTime, out: &mut String) {
    let (y, m, d, h, mi, s) = utc(t);
    let month = MONTHS[(m as usize).saturating_sub(1) % 12];
    let _ = write!(out, "{d:02}/{month}/{y:04}:{h:02}:{mi:02}:{s:02} +0000");
}

/// `2026-12-02T12:33:33+00:00`.
fn time_iso8601(t: SystemTime, out: &mut String) {
    let (y, m, d, h, mi, s) = utc(t);
    let _ = write!(out, "{y:04}-{m:02}-{d:02}T{h:02}:{mi:02}:{s:02}+00:00");
}

/// The civil date of a day count since 1970-01-01 (Howard Hinnant's
/// `civil_from_days`).
fn civil(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = u32::try_from(doy - (153 * mp + 2) / 5 + 1).unwrap_or(1);
    let m = u32::try_from(if mp < 10 { mp + 3 } else { mp - 9 }).unwrap_or(1);
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::access_log::format::APISIX_FORMAT;

    fn line(format: &Format, uri: &str, headers: &[(&str, &str)]) -> AccessLine {
        let mut map = HeaderMap::new();
        for (k, v) in headers {
            map.append(
                http::HeaderName::from_bytes(k.as_bytes()).expect("name"),
                HeaderValue::from_str(v).expect("value"),
            );
        }
        let uri: Uri = uri.parse().expect("uri");
        AccessLine::new(format, &Method::GET, &uri, Version::HTTP_11, &map)
    }

    fn facts(line: &AccessLine) -> Facts<'_> {
        Facts {
            line,
            client: "10.1.2.3:5555".parse().expect("addr"),
            local: "127.0.0.1:9080".parse().expect("addr"),
            tls: false,
            host: b"example.com",
            route: Some("r1"),
            node: Some("127.0.0.1:1980"),
            upstream_status: Some(201),
            upstream_time: Some(Duration::from_millis(12)),
            status: 201,
            body_bytes: Some(5),
            request_time: Duration::from_millis(34),
            // 2026-12-02T12:33:33Z
            now: UNIX_EPOCH + Duration::from_secs(1_796_214_813),
        }
    }

    fn render_one(format: &str, uri: &str, headers: &[(&str, &str)], node: bool) -> String {
        let f = Format::parse(format).expect("format");
        let mut l = line(&f, uri, headers);
        if node {
            let mut h = HeaderMap::new();
            h.insert(http::header::HOST, HeaderValue::from_static("backend"));
            l.sent_to_node("http", &"/p?q=1".parse().expect("uri"), &h);
        }
        let mut out = String::new();
        render(&f, &facts(&l), &mut out);
        out
    }

    #[test]
    fn apisix_default_format_renders_as_nginx_would() {
        let out = render_one(
            APISIX_FORMAT,
            "/p?q=1",
            &[
                ("host", "example.com:9080"),
                ("user-agent", "curl/8 \"x\""),
                ("authorization", "Basic YWxpY2U6c2VjcmV0"),
            ],
            true,
        );
        let time = out.split(['[', ']']).nth(1).expect("time");
        assert_eq!(time, "02/Dec/2026:12:33:33 +0000");
        let want = "10.1.2.3 - alice [02/Dec/2026:12:33:33 +0000] example.com:9080 \
            \"GET /p?q=1 HTTP/1.1\" 201 5 0.034 ";
        assert!(out.starts_with(want), "{out}");
        let want_end = " \"-\" \"curl/8 \\x22x\\x22\" 127.0.0.1:1980 201 0.012 \
            \"http://backend/p?q=1\"\n";
        assert!(out.ends_with(want_end), "{out}");
    }

    #[test]
    fn missing_and_unknown_variables_are_a_dash() {
        let out = render_one(
            "$upstream_addr|$no_such_var|${http_x_missing}|$arg_a|$cookie_c|$ lone",
            "/?a=1",
            &[("cookie", "b=2; c=3")],
            false,
        );
        assert_eq!(out, "127.0.0.1:1980|-|-|1|3|$ lone\n");
        let f = Format::parse("$no_such_var $Status").expect("format");
        assert_eq!(f.unknown, ["no_such_var"]);
        assert!(Format::parse("${oops").is_err());
    }
}
