//! APISIX's documentation examples, plugin by plugin, as table rows run
//! through the real gateway with the real `.so` files and host services
//! (shared store, consumers, metrics): each row is one documented request
//! and what the docs say it gets (status, response headers and body, and
//! what the node received, read from its echo).
//!
//! One gateway per plugin, its routes the docs' examples side by side. The
//! rows of a table run in order (counters carry over from row to row) and
//! every failing row is reported, named by its doc example.

mod api_breaker;
mod basic_auth;
mod consumer_restriction;
mod cors;
mod fault_injection;
mod gzip;
mod hmac_auth;
mod jwt_auth;
mod key_auth;
mod limit_conn;
mod limit_count;
mod limit_req;
mod multi_auth;
mod prometheus;
mod proxy_mirror;
mod proxy_rewrite;
mod real_ip;
mod redirect;
mod request_id_ip;
mod response_rewrite;
mod traffic_split;

use radixgate_test_support::{Gateway, Request, Response};

/// One documented request and what it gets.
pub struct Row {
    /// The doc example, and what it shows.
    pub doc: &'static str,
    /// Method and target.
    pub method: &'static str,
    /// Path and query.
    pub path: &'static str,
    /// Request headers.
    pub headers: &'static [(&'static str, &'static str)],
    /// Expected status.
    pub status: u16,
    /// What else the response must show.
    pub checks: &'static [Check],
}

/// One expectation about a response.
#[derive(Clone, Copy)]
pub enum Check {
    /// The response header, exactly (its last value).
    Header(&'static str, &'static str),
    /// The response header is absent.
    NoHeader(&'static str),
    /// The response header holds and passes the test named.
    HeaderIs(&'static str, &'static str, fn(&str) -> bool),
    /// The body (chunked framing removed), exactly.
    Body(&'static str),
    /// The body contains this.
    BodyHas(&'static str),
    /// The body does not contain this.
    BodyLacks(&'static str),
    /// The node received this echo line: `method`/`path` and its value,
    /// or a header (name in any case) and one of its values.
    Sent(&'static str, &'static str),
    /// The node received this header once, with this value alone.
    SentOnly(&'static str, &'static str),
    /// The node received no such header (or echo line).
    NotSent(&'static str),
}

/// A GET row with no headers and no checks but the status.
pub const fn get(doc: &'static str, path: &'static str, status: u16) -> Row {
    Row {
        doc,
        method: "GET",
        path,
        headers: &[],
        status,
        checks: &[],
    }
}

/// The body without chunked framing.
pub fn body(r: &Response) -> String {
    let chunked = r
        .header("transfer-encoding")
        .is_some_and(|v| v.to_ascii_lowercase().contains("chunked"));
    if !chunked {
        return r.body.clone();
    }
    let mut out = String::new();
    let mut rest = r.body.as_str();
    while let Some((size, after)) = rest.split_once("\r\n") {
        let Ok(n) = usize::from_str_radix(size.trim().split(';').next().unwrap_or(""), 16) else {
            break;
        };
        if n == 0 || after.len() < n {
            break;
        }
        out.push_str(&after[..n]);
        rest = after[n..].strip_prefix("\r\n").unwrap_or(&after[n..]);
    }
    out
}

/// The values the node received for echo line `key` (a header name,
/// lower-cased, or `method`/`path`/`body`).
pub fn sent(r: &Response, key: &str) -> Vec<String> {
    let key = key.to_ascii_lowercase();
    body(r)
        .lines()
        .filter_map(|l| {
            l.strip_prefix(&format!("{key}: "))
                .or_else(|| l.strip_prefix(&format!("{key}=")))
                .map(str::to_owned)
        })
        .collect()
}

/// Why `r` fails `check`, if it does.
fn failure(r: &Response, check: &Check) -> Option<String> {
    let header = |name: &str| r.header(&name.to_ascii_lowercase()).map(str::to_owned);
    match check {
        Check::Header(name, want) => (header(name).as_deref() != Some(*want))
            .then(|| format!("header {name}: {:?}, want {want:?}", header(name))),
        Check::NoHeader(name) => header(name).map(|v| format!("header {name}: {v:?}, want none")),
        Check::HeaderIs(name, what, test) => match header(name) {
            Some(v) if test(&v) => None,
            other => Some(format!("header {name}: {other:?}, want {what}")),
        },
        Check::Body(want) => {
            let got = body(r);
            (got != *want).then(|| format!("body {got:?}, want {want:?}"))
        }
        Check::BodyHas(part) => {
            let got = body(r);
            (!got.contains(part)).then(|| format!("body {got:?} lacks {part:?}"))
        }
        Check::BodyLacks(part) => {
            let got = body(r);
            got.contains(part)
                .then(|| format!("body {got:?} holds {part:?}"))
        }
        Check::Sent(key, want) => {
            let got = sent(r, key);
            (!got.iter().any(|v| v == want))
                .then(|| format!("the node got {key}: {got:?}, want {want:?} among them"))
        }
        Check::SentOnly(key, want) => {
            let got = sent(r, key);
            (got != [*want]).then(|| format!("the node got {key}: {got:?}, want only {want:?}"))
        }
        Check::NotSent(key) => {
            let got = sent(r, key);
            (!got.is_empty()).then(|| format!("the node got {key}: {got:?}, want none"))
        }
    }
}

/// Sends `row`'s request through `gw`.
pub fn send(gw: &Gateway, row: &Row) -> Response {
    Request::new(row.method, row.path)
        .headers(row.headers)
        .send(gw.port)
        .unwrap_or_else(|e| panic!("{}: {} {}: no answer: {e}", row.doc, row.method, row.path))
}

/// Runs `rows` in order through `gw`; panics naming every row that failed,
/// with its response and the gateway's log.
pub fn run(gw: &Gateway, rows: &[Row]) {
    let mut failed = Vec::new();
    for (i, row) in rows.iter().enumerate() {
        let r = send(gw, row);
        let mut why: Vec<String> = row.checks.iter().filter_map(|c| failure(&r, c)).collect();
        if r.status != row.status {
            why.insert(0, format!("status {}, want {}", r.status, row.status));
        }
        if !why.is_empty() {
            failed.push(format!(
                "row {i} ({}: {} {}):\n  {}\n  response: {r:?}",
                row.doc,
                row.method,
                row.path,
                why.join("\n  ")
            ));
        }
    }
    assert!(
        failed.is_empty(),
        "{} of {} rows failed:\n{}\n--- gateway log ---\n{}",
        failed.len(),
        rows.len(),
        failed.join("\n"),
        gw.log()
    );
}
