//! Sending one batch to its sink: the body made of the batch's entries as
//! the config's `concat` says, then one POST (http), one connection
//! written and closed (tcp, TLS optional), or one datagram (udp), all
//! within the config's `timeout`.

use std::net::SocketAddr;
use std::time::Duration;

use abi_stable::std_types::{RString, RVec, Tuple2};
use radixgate_plugin::abi::HttpCall;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpStream, UdpSocket};

use super::config::{BatchConfig, Concat, Sink};
use crate::config::UpstreamTls;
use crate::plugin_host::ops::http_call;
use crate::upstream::{server_name, TlsSettings};

/// The body of `batch` as `conf` puts entries together.
pub fn body(conf: &BatchConfig, batch: &[String]) -> Vec<u8> {
    let size: usize = batch.iter().map(|e| e.len() + 1).sum();
    let mut body = Vec::with_capacity(size + 2);
    match conf.concat {
        Concat::Json if conf.single_as_object && batch.len() == 1 => {
            body.extend_from_slice(batch[0].as_bytes());
        }
        Concat::Json => {
            body.push(b'[');
            for (i, entry) in batch.iter().enumerate() {
                if i > 0 {
                    body.push(b',');
                }
                body.extend_from_slice(entry.as_bytes());
            }
            body.push(b']');
        }
        Concat::NewLine => {
            for (i, entry) in batch.iter().enumerate() {
                if i > 0 {
                    body.push(b'\n');
                }
                body.extend_from_slice(entry.as_bytes());
            }
        }
        Concat::Raw => {
            for entry in batch {
                body.extend_from_slice(entry.as_bytes());
            }
        }
    }
    body
}

/// Sends `body` to the sink of `conf`; why it failed, else `Ok`.
pub async fn send(conf: &BatchConfig, body: &[u8]) -> Result<(), String> {
    match &conf.sink {
        Sink::Http { uri } => post(conf, uri, body).await,
        Sink::Tcp { host, port, tls } => {
            let sent = tcp(host, *port, tls.as_deref(), body);
            tokio::time::timeout(conf.timeout, sent)
                .await
                .unwrap_or_else(|_| Err(timed_out(conf.timeout)))
        }
        Sink::Udp { host, port } => {
            let sent = udp(host, *port, body);
            tokio::time::timeout(conf.timeout, sent)
                .await
                .unwrap_or_else(|_| Err(timed_out(conf.timeout)))
        }
    }
}

fn timed_out(t: Duration) -> String {
    format!("no answer within {:.3} s", t.as_secs_f64())
}

/// POSTs `body` to `uri` with the config's headers; a status of 400 or
/// more is a failure.
async fn post(conf: &BatchConfig, uri: &str, body: &[u8]) -> Result<(), String> {
    let content_type = match conf.concat {
        Concat::Json => "application/json",
        Concat::NewLine | Concat::Raw => "text/plain",
    };
    let mut headers: RVec<Tuple2<RString, RString>> =
        RVec::from(vec![Tuple2("Content-Type".into(), content_type.into())]);
    for (name, value) in &conf.headers {
        headers.push(Tuple2(name.as_str().into(), value.as_str().into()));
    }
    let call = HttpCall {
        method: "POST".into(),
        url: uri.into(),
        headers,
        body: body.to_vec().into(),
        timeout_ms: u64::try_from(conf.timeout.as_millis())
            .unwrap_or(u64::MAX)
            .max(1),
        verify_tls: conf.ssl_verify,
    };
    match http_call::send(&call).await {
        Ok(answer) if answer.status < 400 => Ok(()),
        Ok(answer) => Err(format!("the sink answered {}", answer.status)),
        Err(e) => Err(e),
    }
}

/// The addresses `host`:`port` resolves to.
async fn resolve(host: &str, port: u16) -> Result<Vec<SocketAddr>, String> {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let addrs: Vec<SocketAddr> = tokio::net::lookup_host((bare, port))
        .await
        .map_err(|e| format!("resolving {host}: {e}"))?
        .collect();
    if addrs.is_empty() {
        return Err(format!("{host} resolved to no address"));
    }
    Ok(addrs)
}

/// One connection to `host`:`port` (each address in turn), `body`
/// written (over TLS with server name `tls` when set), then closed.
async fn tcp(host: &str, port: u16, tls: Option<&str>, body: &[u8]) -> Result<(), String> {
    let mut last = String::new();
    let mut stream = None;
    for addr in resolve(host, port).await? {
        match TcpStream::connect(addr).await {
            Ok(s) => {
                stream = Some(s);
                break;
            }
            Err(e) => last = format!("connecting to {addr}: {e}"),
        }
    }
    let mut tcp = stream.ok_or(last)?;
    let written = match tls {
        None => write_close(&mut tcp, body).await,
        Some(name) => {
            let settings = no_verify_tls()?;
            let sni =
                server_name(name).ok_or_else(|| format!("{name} is not a TLS server name"))?;
            let mut tls = settings
                .connect(sni, tcp)
                .await
                .map_err(|e| format!("TLS handshake with {host}:{port}: {e}"))?;
            write_close(&mut tls, body).await
        }
    };
    written.map_err(|e| format!("sending to {host}:{port}: {e}"))
}

async fn write_close<S: tokio::io::AsyncWrite + Unpin>(
    s: &mut S,
    body: &[u8],
) -> std::io::Result<()> {
    s.write_all(body).await?;
    s.shutdown().await
}

/// The TLS settings of tcp sinks: the certificate is not verified (as
/// APISIX's tcp-logger and syslog), the handshake's signatures are.
fn no_verify_tls() -> Result<&'static TlsSettings, String> {
    static SETTINGS: std::sync::OnceLock<Result<TlsSettings, String>> = std::sync::OnceLock::new();
    SETTINGS
        .get_or_init(|| {
            let conf = UpstreamTls {
                client_cert_id: None,
                client_cert: None,
                client_key: None,
                verify: false,
            };
            TlsSettings::build(Some(&conf)).map_err(|(field, e)| format!("TLS {field}: {e}"))
        })
        .as_ref()
        .map_err(Clone::clone)
}

/// `body` as one datagram to `host`:`port` (its first address).
async fn udp(host: &str, port: u16, body: &[u8]) -> Result<(), String> {
    let addr = resolve(host, port).await?[0];
    let local: SocketAddr = if addr.is_ipv4() {
        ([0, 0, 0, 0], 0).into()
    } else {
        ([0u16; 8], 0).into()
    };
    let socket = UdpSocket::bind(local)
        .await
        .map_err(|e| format!("opening a UDP socket: {e}"))?;
    let sent = socket
        .send_to(body, addr)
        .await
        .map_err(|e| format!("sending to {addr}: {e}"))?;
    if sent < body.len() {
        return Err(format!("{addr}: only {sent} of {} bytes sent", body.len()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conf(json: &str) -> BatchConfig {
        BatchConfig::parse(json).expect("valid")
    }

    #[test]
    fn bodies_put_entries_together_as_concat_says() {
        let two = ["{\"a\":1}".to_owned(), "{\"b\":2}".to_owned()];
        let one = ["{\"a\":1}".to_owned()];
        let json = conf(r#"{"uri":"http://x"}"#);
        assert_eq!(body(&json, &two), b"[{\"a\":1},{\"b\":2}]");
        assert_eq!(body(&json, &one), b"[{\"a\":1}]");
        let single = conf(r#"{"uri":"http://x","single_as_object":true}"#);
        assert_eq!(body(&single, &one), b"{\"a\":1}");
        assert_eq!(body(&single, &two), b"[{\"a\":1},{\"b\":2}]");
        let lines = conf(r#"{"uri":"http://x","concat":"new_line"}"#);
        assert_eq!(body(&lines, &two), b"{\"a\":1}\n{\"b\":2}");
        let raw = conf(r#"{"uri":"http://x","concat":"raw"}"#);
        assert_eq!(body(&raw, &["x\n".to_owned(), "y\n".to_owned()]), b"x\ny\n");
    }
}
