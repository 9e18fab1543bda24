//! A batch processor's config, as a plugin hands it over (JSON): APISIX's
//! batch-processor attributes, the sink the batches go to (`sink`: `http`
//! by default, `tcp` or `udp`) and how a batch's entries are put together
//! (`concat`).

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;

/// The config as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    #[serde(default = "default_name")]
    name: String,
    #[serde(default)]
    sink: Option<String>,
    #[serde(default)]
    uri: Option<String>,
    #[serde(default)]
    host: Option<String>,
    #[serde(default)]
    port: Option<u16>,
    #[serde(default)]
    tls: bool,
    #[serde(default)]
    tls_server_name: Option<String>,
    #[serde(default)]
    concat: Option<String>,
    #[serde(default)]
    single_as_object: bool,
    #[serde(default = "default_batch_max_size")]
    batch_max_size: usize,
    #[serde(default = "default_inactive_timeout")]
    inactive_timeout: f64,
    #[serde(default = "default_buffer_duration")]
    buffer_duration: f64,
    #[serde(default)]
    max_retry_count: u32,
    #[serde(default = "default_retry_delay")]
    retry_delay: f64,
    #[serde(default = "default_max_pending_entries")]
    max_pending_entries: usize,
    #[serde(default = "default_timeout")]
    timeout: f64,
    #[serde(default)]
    headers: BTreeMap<String, String>,
    #[serde(default)]
    ssl_verify: bool,
}

fn default_name() -> String {
    "batch".to_owned()
}
fn default_batch_max_size() -> usize {
    1000
}
fn default_inactive_timeout() -> f64 {
    5.0
}
fn default_buffer_duration() -> f64 {
    60.0
}
fn default_retry_delay() -> f64 {
    1.0
}
fn default_max_pending_entries() -> usize {
    10_000
}
fn default_timeout() -> f64 {
    3.0
}

/// Where batches go.
#[derive(Debug, Clone, PartialEq)]
pub enum Sink {
    /// `sink: http` (the default): POSTed to `uri` (http or https), with
    /// `headers`; an https sink's certificate is verified when
    /// `ssl_verify`.
    Http {
        /// The URL.
        uri: String,
    },
    /// `sink: tcp`: a connection to `host`:`port` per batch, which is
    /// written and closed; over TLS when `tls` (the certificate is not
    /// verified, as APISIX's tcp-logger; `tls_server_name` is the SNI,
    /// default `host`).
    Tcp {
        /// Host name or address.
        host: String,
        /// Port.
        port: u16,
        /// The TLS server name, when over TLS.
        tls: Option<String>,
    },
    /// `sink: udp`: one datagram per batch to `host`:`port`.
    Udp {
        /// Host name or address.
        host: String,
        /// Port.
        port: u16,
    },
}

/// How a batch's entries are put together (`concat`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Concat {
    /// `json` (the default): a JSON array; entries must be JSON.
    Json,
    /// `new_line`: the entries joined by `\n` (APISIX's http-logger
    /// `concat_method: new_line`); entries must be JSON.
    NewLine,
    /// `raw`: the entries as given, one after the other (a syslog frame
    /// each); entries need not be JSON.
    Raw,
}

/// A checked batch processor config.
#[derive(Debug, Clone, PartialEq)]
pub struct BatchConfig {
    /// How logs name the processor (`name`, default `batch`).
    pub name: String,
    /// Where batches go.
    pub sink: Sink,
    /// How a batch's entries are put together.
    pub concat: Concat,
    /// A `json` batch of one entry is the entry itself, not an array
    /// (`single_as_object`; APISIX's tcp- and udp-logger with
    /// `batch_max_size` 1).
    pub single_as_object: bool,
    /// Entries per batch; a full batch is sent at once (`batch_max_size`,
    /// default 1000).
    pub batch_max_size: usize,
    /// A batch is sent when no entry came for this long
    /// (`inactive_timeout`, seconds, default 5).
    pub inactive_timeout: Duration,
    /// A batch is sent at the latest this long after its first entry
    /// (`buffer_duration`, seconds, default 60).
    pub buffer_duration: Duration,
    /// Sends of a failed batch after the first (`max_retry_count`,
    /// default 0).
    pub max_retry_count: u32,
    /// The wait before each retry (`retry_delay`, seconds, default 1).
    pub retry_delay: Duration,
    /// Entries held at most, buffered or in batches not delivered yet; more
    /// are dropped and counted (`max_pending_entries`, default 10000).
    pub max_pending_entries: usize,
    /// One send's budget (`timeout`, seconds, default 3).
    pub timeout: Duration,
    /// Header lines sent with each batch (`headers`), beside
    /// `Content-Type: application/json`.
    pub headers: Vec<(String, String)>,
    /// Whether an https sink's certificate is verified (`ssl_verify`,
    /// default false, as APISIX's loggers).
    pub ssl_verify: bool,
}

impl BatchConfig {
    /// Parses and checks `json`; errors name the field.
    pub fn parse(json: &str) -> Result<BatchConfig, String> {
        let de = &mut serde_json::Deserializer::from_str(json);
        let raw: Raw = serde_path_to_error::deserialize(de).map_err(|e| {
            let path = e.path().to_string();
            match path.as_str() {
                "." => e.into_inner().to_string(),
                _ => format!("{path}: {}", e.into_inner()),
            }
        })?;
        let sink = sink(&raw)?;
        let concat = match raw.concat.as_deref() {
            None | Some("json") => Concat::Json,
            Some("new_line") => Concat::NewLine,
            Some("raw") => Concat::Raw,
            Some(other) => {
                return Err(format!(
                    "concat: {other:?} is not one of json, new_line, raw"
                ))
            }
        };
        if raw.batch_max_size == 0 {
            return Err("batch_max_size: must be at least 1".to_owned());
        }
        if raw.max_pending_entries == 0 {
            return Err("max_pending_entries: must be at least 1".to_owned());
        }
        Ok(BatchConfig {
            name: raw.name,
            sink,
            concat,
            single_as_object: raw.single_as_object,
            batch_max_size: raw.batch_max_size,
            inactive_timeout: seconds("inactive_timeout", raw.inactive_timeout, false)?,
            buffer_duration: seconds("buffer_duration", raw.buffer_duration, false)?,
            max_retry_count: raw.max_retry_count,
            retry_delay: seconds("retry_delay", raw.retry_delay, true)?,
            max_pending_entries: raw.max_pending_entries,
            timeout: seconds("timeout", raw.timeout, false)?,
            headers: raw.headers.into_iter().collect(),
            ssl_verify: raw.ssl_verify,
        })
    }
}

/// The sink `raw` names, checked: `uri` for http, `host` and `port` for
/// tcp and udp.
fn sink(raw: &Raw) -> Result<Sink, String> {
    let endpoint = || -> Result<(String, u16), String> {
        let host = raw.host.as_deref().map(str::trim).unwrap_or("");
        if host.is_empty() {
            return Err("host: required for a tcp or udp sink".to_owned());
        }
        let port = raw
            .port
            .filter(|p| *p > 0)
            .ok_or_else(|| "port: required for a tcp or udp sink, 1 to 65535".to_owned())?;
        Ok((host.to_owned(), port))
    };
    match raw.sink.as_deref().unwrap_or("http") {
        "http" => {
            let uri = raw.uri.as_deref().map(str::trim).unwrap_or("");
            if !(uri.starts_with("http://") || uri.starts_with("https://")) {
                return Err("uri: must be an http:// or https:// URL".to_owned());
            }
            Ok(Sink::Http {
                uri: uri.to_owned(),
            })
        }
        "tcp" => {
            let (host, port) = endpoint()?;
            let tls = raw
                .tls
                .then(|| raw.tls_server_name.clone().unwrap_or_else(|| host.clone()));
            Ok(Sink::Tcp { host, port, tls })
        }
        "udp" => {
            let (host, port) = endpoint()?;
            Ok(Sink::Udp { host, port })
        }
        other => Err(format!("sink: {other:?} is not one of http, tcp, udp")),
    }
}

/// `value` seconds of field `field`: a finite number above 0 (or 0 when
/// `zero` allows it), at most a day.
fn seconds(field: &str, value: f64, zero: bool) -> Result<Duration, String> {
    let low_ok = if zero { value >= 0.0 } else { value > 0.0 };
    if !value.is_finite() || !low_ok || value > 86_400.0 {
        let least = if zero { "0 or more" } else { "above 0" };
        return Err(format!(
            "{field}: must be a number of seconds {least}, at most 86400"
        ));
    }
    Ok(Duration::from_secs_f64(value))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_apisix_batch_processor_s() {
        let c = BatchConfig::parse(r#"{"uri":"http://127.0.0.1:1/log"}"#).expect("valid");
        assert_eq!(c.batch_max_size, 1000);
        assert_eq!(c.inactive_timeout, Duration::from_secs(5));
        assert_eq!(c.buffer_duration, Duration::from_secs(60));
        assert_eq!(
            (c.max_retry_count, c.retry_delay),
            (0, Duration::from_secs(1))
        );
        assert_eq!(c.max_pending_entries, 10_000);
        assert!(!c.ssl_verify);
        assert_eq!(c.concat, Concat::Json);
    }

    #[test]
    fn tcp_and_udp_sinks_take_host_and_port() {
        let c = BatchConfig::parse(
            r#"{"sink":"tcp","host":"127.0.0.1","port":5140,"tls":true,"concat":"new_line"}"#,
        )
        .expect("valid");
        let tls = Some("127.0.0.1".to_owned());
        assert_eq!(
            c.sink,
            Sink::Tcp {
                host: "127.0.0.1".into(),
                port: 5140,
                tls
            }
        );
        assert_eq!(c.concat, Concat::NewLine);
        let c =
            BatchConfig::parse(r#"{"sink":"udp","host":"localhost","port":514}"#).expect("valid");
        assert_eq!(
            c.sink,
            Sink::Udp {
                host: "localhost".into(),
                port: 514
            }
        );
    }

    #[test]
    fn bad_configs_name_the_field() {
        let e = |json: &str| BatchConfig::parse(json).expect_err(json);
        assert!(e(r#"{"uri":"ftp://x"}"#).starts_with("uri:"));
        assert!(e(r#"{"uri":"http://x","batch_max_size":0}"#).starts_with("batch_max_size:"));
        assert!(e(r#"{"uri":"http://x","inactive_timeout":0}"#).starts_with("inactive_timeout:"));
        assert!(e(r#"{"uri":"http://x","retry_delay":-1}"#).starts_with("retry_delay:"));
        assert!(e(r#"{"uri":"http://x","batch_max_size":"a"}"#).starts_with("batch_max_size:"));
        assert!(e(r#"{"uri":"http://x","bogus":1}"#).contains("bogus"));
        assert!(e(r#"{}"#).contains("uri"));
        assert!(e(r#"{"sink":"tcp","port":1}"#).starts_with("host:"));
        assert!(e(r#"{"sink":"udp","host":"h"}"#).starts_with("port:"));
        assert!(e(r#"{"sink":"smtp","host":"h","port":1}"#).starts_with("sink:"));
        assert!(e(r#"{"uri":"http://x","concat":"csv"}"#).starts_with("concat:"));
        assert_eq!(
            BatchConfig::parse(r#"{"uri":"http://x","retry_delay":0}"#).map(|c| c.retry_delay),
            Ok(Duration::ZERO)
        );
    }
}
