//! The tests' raw HTTP/1.1 client: requests written by hand on a loopback
//! socket, responses read as they came on the wire. One request per
//! connection (`Connection: close`, read to the end), or several in turn on
//! one kept-alive [`Connection`].
//!
//! A body is kept as it came: a chunked body keeps its framing (tests look
//! for what a plugin wrote inside it).

use std::collections::HashMap;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// A request to send: method, target, headers and an optional body.
#[derive(Clone, Debug)]
pub struct Request {
    method: String,
    target: String,
    headers: Vec<(String, String)>,
    body: Option<Vec<u8>>,
    timeout: Duration,
}

impl Request {
    /// `method target` with no headers but `Host: localhost` and no body;
    /// a read waits up to 10 s.
    pub fn new(method: &str, target: &str) -> Request {
        Request {
            method: method.to_owned(),
            target: target.to_owned(),
            headers: Vec::new(),
            body: None,
            timeout: Duration::from_secs(10),
        }
    }

    /// `GET target`.
    pub fn get(target: &str) -> Request {
        Request::new("GET", target)
    }

    /// Adds a header (a `Host` header replaces the default one).
    pub fn header(mut self, name: &str, value: &str) -> Request {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    /// Adds every header of `headers`, in order.
    pub fn headers(self, headers: &[(&str, &str)]) -> Request {
        headers
            .iter()
            .fold(self, |req, (name, value)| req.header(name, value))
    }

    /// Sends `body` with its `Content-Length`.
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Request {
        self.body = Some(body.into());
        self
    }

    /// Sends `body` as `Content-Type: application/json`.
    pub fn json(self, body: &str) -> Request {
        self.header("Content-Type", "application/json").body(body)
    }

    /// How long a read may wait for the server.
    pub fn timeout(mut self, timeout: Duration) -> Request {
        self.timeout = timeout;
        self
    }

    /// Sends the request on a connection of its own with `Connection:
    /// close` and reads the response to the end. `Err` when the port cannot
    /// be reached, the request cannot be written, or reading failed before
    /// any byte came back (an empty answer is status 0).
    pub fn send(&self, port: u16) -> io::Result<Response> {
        let mut stream = TcpStream::connect(("127.0.0.1", port))?;
        stream.set_read_timeout(Some(self.timeout))?;
        self.write(&mut stream, true)?;
        let mut raw = Vec::new();
        // A server may answer and reset the connection before reading a
        // large body: what came before the error is the answer.
        if let Err(e) = stream.read_to_end(&mut raw) {
            if raw.is_empty() {
                return Err(e);
            }
        }
        let text = String::from_utf8_lossy(&raw);
        let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
        let (status, headers) = parse_head(head);
        Ok(Response {
            status,
            headers,
            body: body.to_owned(),
        })
    }

    /// Writes the request head and body; a body the server refused to read
    /// (it answered early) is not an error.
    fn write(&self, stream: &mut TcpStream, close: bool) -> io::Result<()> {
        let mut head = format!("{} {} HTTP/1.1\r\n", self.method, self.target);
        if !self
            .headers
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case("host"))
        {
            head.push_str("Host: localhost\r\n");
        }
        for (name, value) in &self.headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        if let Some(body) = &self.body {
            head.push_str(&format!("Content-Length: {}\r\n", body.len()));
        }
        if close {
            head.push_str("Connection: close\r\n");
        }
        head.push_str("\r\n");
        stream.write_all(head.as_bytes())?;
        if let Some(body) = &self.body {
            let _ = stream.write_all(body);
        }
        Ok(())
    }
}

/// A response as the client read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// The status code; 0 when the status line could not be read.
    pub status: u16,
    /// Header names lower-cased; of a repeated header, the last value.
    pub headers: HashMap<String, String>,
    /// The bytes after the head, lossily as text (chunked framing kept).
    pub body: String,
}

impl Response {
    /// The value of header `name` (lower-case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(String::as_str)
    }

    /// The `key=value` or `header: value` line of a node's echo body.
    pub fn echoed(&self, key: &str) -> Option<String> {
        self.body.lines().find_map(|l| {
            l.strip_prefix(&format!("{key}="))
                .or_else(|| l.strip_prefix(&format!("{key}: ")))
                .map(str::to_owned)
        })
    }

    /// The body as JSON, or as a JSON string when it is not JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|_| serde_json::Value::String(self.body.clone()))
    }
}

/// One kept-alive connection on which requests are sent one after another,
/// each response read by its framing (`Content-Length`, chunked, or to the
/// end when it has neither).
pub struct Connection {
    reader: BufReader<TcpStream>,
}

impl Connection {
    /// Connects to `127.0.0.1:port`.
    pub fn open(port: u16) -> io::Result<Connection> {
        let stream = TcpStream::connect(("127.0.0.1", port))?;
        Ok(Connection {
            reader: BufReader::new(stream),
        })
    }

    /// The connection's stream, to see what the server does after the
    /// last response (close it, say).
    pub fn into_stream(self) -> TcpStream {
        self.reader.into_inner()
    }

    /// Sends `req` without `Connection: close` and reads its response; the
    /// connection stays open for the next request.
    pub fn send(&mut self, req: &Request) -> io::Result<Response> {
        let stream = self.reader.get_mut();
        stream.set_read_timeout(Some(req.timeout))?;
        req.write(stream, false)?;
        let (status, headers) = loop {
            let (status, headers) = self.read_head()?;
            // 100 Continue and other interim answers precede the response.
            if !(100..200).contains(&status) || status == 101 {
                break (status, headers);
            }
        };
        let mut body = Vec::new();
        let no_body = req.method.eq_ignore_ascii_case("HEAD") || matches!(status, 101 | 204 | 304);
        let chunked = headers
            .get("transfer-encoding")
            .is_some_and(|v| v.to_ascii_lowercase().contains("chunked"));
        match headers.get("content-length") {
            _ if no_body => {}
            _ if chunked => self.read_chunked(&mut body)?,
            Some(len) => {
                let len: usize = len.parse().map_err(|_| bad("content-length"))?;
                body.resize(len, 0);
                self.reader.read_exact(&mut body)?;
            }
            None => {
                self.reader.read_to_end(&mut body)?;
            }
        }
        Ok(Response {
            status,
            headers,
            body: String::from_utf8_lossy(&body).into_owned(),
        })
    }

    /// Reads a status line and headers up to the empty line.
    fn read_head(&mut self) -> io::Result<(u16, HashMap<String, String>)> {
        let mut head = String::new();
        loop {
            let mut line = Vec::new();
            if self.reader.read_until(b'\n', &mut line)? == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the connection closed before a response head",
                ));
            }
            let line = String::from_utf8_lossy(&line);
            if line.trim_end().is_empty() && !head.is_empty() {
                return Ok(parse_head(&head));
            }
            head.push_str(&line);
        }
    }

    /// Reads a chunked body, keeping its framing, up to the last chunk and
    /// the trailer's end.
    fn read_chunked(&mut self, body: &mut Vec<u8>) -> io::Result<()> {
        loop {
            let mut size_line = Vec::new();
            self.reader.read_until(b'\n', &mut size_line)?;
            body.extend_from_slice(&size_line);
            let text = String::from_utf8_lossy(&size_line);
            let hex = text.trim().split(';').next().unwrap_or_default();
            let size = usize::from_str_radix(hex, 16).map_err(|_| bad("chunk size"))?;
            if size == 0 {
                // Trailer lines, then the empty line.
                loop {
                    let mut line = Vec::new();
                    self.reader.read_until(b'\n', &mut line)?;
                    body.extend_from_slice(&line);
                    if line == b"\r\n" || line == b"\n" || line.is_empty() {
                        return Ok(());
                    }
                }
            }
            let start = body.len();
            body.resize(start + size + 2, 0);
            self.reader.read_exact(&mut body[start..])?;
        }
    }
}

/// An `InvalidData` error naming what could not be parsed.
fn bad(what: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("bad {what} in response"),
    )
}

/// The status code and lower-cased headers of a response head.
fn parse_head(head: &str) -> (u16, HashMap<String, String>) {
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    (status, headers)
}

/// Sends `method path` with `headers` on a connection of its own (see
/// [`Request::send`]).
pub fn request(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
) -> io::Result<Response> {
    Request::new(method, path).headers(headers).send(port)
}

/// `GET path`; panics when nothing answers on `port`.
pub fn get(port: u16, path: &str) -> Response {
    request(port, "GET", path, &[])
        .unwrap_or_else(|e| panic!("GET {path} on 127.0.0.1:{port} got no answer: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::node::Node;
    use std::net::TcpListener;

    #[test]
    fn one_request_a_connection_reads_the_echo() {
        let node = Node::start("n");
        let r = request(node.port, "PUT", "/p?q=1", &[("X-A", "b")]).expect("an answer");
        assert_eq!(r.status, 200);
        assert_eq!(r.header("x-upstream"), Some("n"));
        assert_eq!(r.echoed("method").as_deref(), Some("PUT"));
        assert_eq!(r.echoed("path").as_deref(), Some("/p?q=1"));
        assert_eq!(r.echoed("x-a").as_deref(), Some("b"));
        assert_eq!(r.echoed("connection").as_deref(), Some("close"));
    }

    #[test]
    fn two_requests_share_one_kept_alive_connection() {
        let node = Node::start("n");
        node.set_status_of("/b", 404);
        let mut conn = Connection::open(node.port).expect("connect to the node");
        let a = conn.send(&Request::get("/a")).expect("the first answer");
        let b = conn
            .send(&Request::new("POST", "/b?x=1").body("hi"))
            .expect("the second answer");
        assert_eq!((a.status, b.status), (200, 404));
        assert_eq!(a.echoed("connection"), None);
        assert_eq!(b.echoed("body").as_deref(), Some("hi"));
        assert_eq!((node.hits(), node.connections()), (2, 1));
    }

    #[test]
    fn a_chunked_response_is_read_to_its_last_chunk_with_its_framing() {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        std::thread::spawn(move || {
            let (mut s, _) = listener.accept().expect("accept");
            let mut reader = BufReader::new(s.try_clone().expect("clone"));
            for _ in 0..2 {
                let mut line = String::new();
                while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
                    line.clear();
                }
                let resp =
                    "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n";
                s.write_all(resp.as_bytes()).expect("answer");
            }
        });
        let mut conn = Connection::open(port).expect("connect");
        for _ in 0..2 {
            let r = conn.send(&Request::get("/")).expect("an answer");
            assert_eq!(r.body, "3\r\nabc\r\n0\r\n\r\n");
        }
    }
}
