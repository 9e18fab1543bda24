//! The etcd client connection that the etcd source and the Admin API
//! share, made from the `etcd:` section of `config.yaml`; consistent
//! prefix reads in pages; what etcd's errors mean.

use std::error::Error as _;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Duration;

use etcd_client::{GetOptions, KeyValue};

use crate::config::{EtcdSection, EtcdTls};

/// Largest message read from etcd. A page of keys stays below it: etcd
/// caps each value at its request size limit (1.5 MiB by default).
pub const MAX_MESSAGE: usize = 512 << 20;

/// Every key under a prefix, read in pages at one revision.
#[derive(Debug, Default)]
pub struct PrefixRead {
    /// The keys and values, by key.
    pub kvs: Vec<KeyValue>,
    /// The revision every page was read at.
    pub revision: i64,
    /// The id of the cluster that answered.
    pub cluster_id: u64,
    /// How many responses it took.
    pub pages: usize,
}

/// The end of the range of keys starting with `prefix` (etcd's prefix
/// end: the last byte that can be incremented, incremented).
pub fn prefix_end(prefix: &[u8]) -> Vec<u8> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return end;
        }
    }
    // Every byte 0xff: to the end of the keyspace.
    vec![0]
}

/// Bytes a page of a full read aims to stay under: a page is made no
/// longer than this many bytes at the size of the largest key and value
/// seen so far.
const PAGE_BYTES: usize = 64 << 20;

/// Most keys in a page: a large read comes in several pages, each decoded
/// while the next is read (each page costs etcd a count of the keys left,
/// so pages are not made much smaller).
const PAGE_KEYS: i64 = 16 << 10;

/// Reads every key starting with `prefix`, every page at the revision of
/// the first, so that the result is one consistent state however large
/// the prefix. The first page holds at most `page` keys, each next one
/// four times as many (within [`PAGE_BYTES`] and [`PAGE_KEYS`]): etcd 3.4 counts every key
/// left in the range to answer a page, so pages of a fixed length would
/// cost the square of the prefix's size (100k keys in pages of 256: 391
/// pages, seconds). A page over [`MAX_MESSAGE`] (values much larger than
/// those before it) is asked again, half as long.
pub async fn read_prefix(
    client: &etcd_client::Client,
    prefix: &str,
    page: i64,
) -> Result<PrefixRead, etcd_client::Error> {
    let mut kvs = Vec::new();
    let mut read = read_prefix_pages(client, prefix, page, |p| kvs.extend(p)).await?;
    read.kvs = kvs;
    Ok(read)
}

/// [`read_prefix`], handing each page's keys and values to `on_page` as it
/// comes (in key order) rather than keeping them: the returned read has
/// no `kvs`.
pub async fn read_prefix_pages(
    client: &etcd_client::Client,
    prefix: &str,
    page: i64,
    mut on_page: impl FnMut(Vec<KeyValue>),
) -> Result<PrefixRead, etcd_client::Error> {
    let mut kv = client.kv_client().max_decoding_message_size(MAX_MESSAGE);
    let end = prefix_end(prefix.as_bytes());
    let mut from = prefix.as_bytes().to_vec();
    let mut out = PrefixRead::default();
    let mut limit = page.max(1);
    let mut largest = 1usize;
    loop {
        let opts = GetOptions::new()
            .with_range(end.clone())
            .with_limit(limit)
            .with_revision(out.revision);
        let mut resp = match kv.get(from.clone(), Some(opts)).await {
            Ok(r) => r,
            Err(e) if limit > 1 && too_large(&e) => {
                limit = (limit / 2).max(1);
                continue;
            }
            Err(e) => return Err(e),
        };
        out.pages += 1;
        if let Some(h) = resp.header() {
            if out.revision == 0 {
                out.revision = h.revision();
            }
            out.cluster_id = h.cluster_id();
        }
        let more = resp.more();
        let kvs = resp.take_kvs();
        let Some(last) = kvs.last() else {
            return Ok(out);
        };
        // The next page starts just after the last key of this one.
        from = last.key().to_vec();
        from.push(0);
        for kv in &kvs {
            largest = largest.max(kv.key().len() + kv.value().len());
        }
        on_page(kvs);
        if !more {
            return Ok(out);
        }
        let fits = i64::try_from(PAGE_BYTES / largest).unwrap_or(i64::MAX);
        limit = limit.saturating_mul(4).min(fits).clamp(1, PAGE_KEYS);
    }
}

/// Whether a response was refused for being over [`MAX_MESSAGE`].
fn too_large(e: &etcd_client::Error) -> bool {
    match e {
        etcd_client::Error::GRpcStatus(status) => {
            status.message().contains("message length too large")
        }
        _ => false,
    }
}

/// Whether etcd refused a request for its auth token: expired or revoked
/// (`invalid auth token`), or issued before a change to users or roles
/// (`revision of auth store is old`). Authenticating again cures both.
pub fn auth_token_refused(e: &etcd_client::Error) -> bool {
    match e {
        etcd_client::Error::GRpcStatus(status) => {
            let m = status.message();
            m.contains("invalid auth token") || m.contains("auth store is old")
        }
        _ => false,
    }
}

/// Connects a client to the endpoints of `settings` (fails when none
/// answers within the connect timeout, or when authentication fails).
pub async fn connect(settings: &EtcdSection) -> Result<etcd_client::Client, etcd_client::Error> {
    let timeout = settings.timeout();
    let mut opts = etcd_client::ConnectOptions::new()
        .with_timeout(timeout)
        .with_connect_timeout(timeout.min(Duration::from_secs(3)))
        .with_keep_alive(Duration::from_secs(5), Duration::from_secs(5));
    if let (Some(u), Some(p)) = (&settings.user, &settings.password) {
        opts = opts.with_user(u.clone(), p.clone());
    }
    if let Some(tls) = &settings.tls {
        opts = opts.with_tls(tls_options(tls).map_err(etcd_client::Error::InvalidArgs)?);
    }
    let connect = etcd_client::Client::connect(&settings.endpoints, Some(opts));
    match tokio::time::timeout(timeout, connect).await {
        Ok(r) => r,
        Err(_) => Err(etcd_client::Error::InvalidArgs(format!(
            "no etcd endpoint of {:?} answered within {:?}",
            settings.endpoints, timeout
        ))),
    }
}

/// The client TLS settings of `etcd.tls`, with the PEM files read.
fn tls_options(tls: &EtcdTls) -> Result<etcd_client::TlsOptions, String> {
    let read = |p: &PathBuf, what: &str| {
        std::fs::read(p).map_err(|e| format!("etcd.tls.{what} {}: {e}", p.display()))
    };
    let mut o = etcd_client::TlsOptions::new()
        .ca_certificate(etcd_client::Certificate::from_pem(read(&tls.ca, "ca")?));
    if let (Some(c), Some(k)) = (&tls.cert, &tls.key) {
        o = o.identity(etcd_client::Identity::from_pem(
            read(c, "cert")?,
            read(k, "key")?,
        ));
    }
    if let Some(name) = &tls.sni {
        o = o.domain_name(name.clone());
    }
    Ok(o)
}

/// `e` and the errors under it, as `error: cause: cause`. tonic reports a
/// refused TLS handshake (etcd asking for a client certificate, a
/// certificate it does not trust) as a bare "transport error"; the reason
/// is only in the causes.
pub fn describe(e: &etcd_client::Error) -> String {
    let mut text = e.to_string();
    let mut cause: Option<&(dyn std::error::Error + 'static)> = match e {
        etcd_client::Error::GRpcStatus(status) => status.source(),
        etcd_client::Error::TransportError(t) => t.source(),
        etcd_client::Error::IoError(io) => io.source(),
        _ => None,
    };
    while let Some(c) = cause {
        let line = c.to_string();
        // Layers often repeat the message of the one they wrap.
        if !text.contains(&line) {
            let _ = write!(text, ": {line}");
        }
        cause = c.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_ends_increment_the_last_byte() {
        assert_eq!(prefix_end(b"/apisix/"), b"/apisix0".to_vec());
        assert_eq!(prefix_end(b"a\xff"), b"b".to_vec());
        assert_eq!(prefix_end(b"\xff\xff"), vec![0]);
    }
}
