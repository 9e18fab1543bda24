//! An outbound HTTP request and its response, as a waiting phase writes
//! and reads them ([`Host::http`](super::Host::http)).

use std::time::Duration;

use abi_stable::std_types::{RString, RVec, Tuple2};

use crate::abi::{HttpAnswer, HttpCall};

/// An outbound HTTP(S) request, sent by the host's client.
#[derive(Debug, Clone, PartialEq)]
pub struct HttpRequest {
    /// The method.
    pub method: String,
    /// An absolute `http://` or `https://` URL.
    pub url: String,
    /// Header lines, in order.
    pub headers: Vec<(String, String)>,
    /// The body (empty: none).
    pub body: Vec<u8>,
    /// The whole exchange's budget (`None`: the host's default).
    pub timeout: Option<Duration>,
    /// Whether an `https` server's certificate is verified (default true).
    pub verify_tls: bool,
}

impl HttpRequest {
    /// A request with `method` to `url`, no headers, no body.
    pub fn new(method: &str, url: &str) -> HttpRequest {
        HttpRequest {
            method: method.to_owned(),
            url: url.to_owned(),
            headers: Vec::new(),
            body: Vec::new(),
            timeout: None,
            verify_tls: true,
        }
    }

    /// A `GET` of `url`.
    pub fn get(url: &str) -> HttpRequest {
        HttpRequest::new("GET", url)
    }

    /// A `POST` of `body` to `url`.
    pub fn post(url: &str, body: impl Into<Vec<u8>>) -> HttpRequest {
        HttpRequest::new("POST", url).body(body)
    }

    /// This request with a header line appended.
    pub fn header(mut self, name: &str, value: &str) -> HttpRequest {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    /// This request with `body`.
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> HttpRequest {
        self.body = body.into();
        self
    }

    /// This request with a budget for the whole exchange.
    pub fn timeout(mut self, timeout: Duration) -> HttpRequest {
        self.timeout = Some(timeout);
        self
    }

    /// This request with certificate verification on or off.
    pub fn verify_tls(mut self, verify: bool) -> HttpRequest {
        self.verify_tls = verify;
        self
    }

    pub(crate) fn into_call(self) -> HttpCall {
        HttpCall {
            method: self.method.into(),
            url: self.url.into(),
            headers: self
                .headers
                .into_iter()
                .map(|(n, v)| Tuple2(RString::from(n), RString::from(v)))
                .collect(),
            body: RVec::from(self.body),
            timeout_ms: self.timeout.map_or(0, millis),
            verify_tls: self.verify_tls,
        }
    }
}

/// The response to an [`HttpRequest`].
#[derive(Debug, Clone, PartialEq, Default)]
pub struct HttpResponse {
    /// The status.
    pub status: u16,
    /// Header lines, in order.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

impl HttpResponse {
    /// The first value of header `name` (any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub(crate) fn from_answer(answer: HttpAnswer) -> HttpResponse {
        HttpResponse {
            status: answer.status,
            headers: answer
                .headers
                .into_iter()
                .map(|pair| (pair.0.into_string(), pair.1.into_string()))
                .collect(),
            body: answer.body.into_vec(),
        }
    }
}

/// `d` in whole milliseconds, at least 1 (0 means the host's default).
pub(crate) fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX).max(1)
}
