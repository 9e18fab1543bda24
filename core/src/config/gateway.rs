//! The gateway's own settings: `conf/config.yaml`.
//!
//! Every key is optional; an empty file gives the defaults. Unknown keys
//! are refused so that a typo never passes silently.

use serde::Deserialize;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::admin_settings::AdminSection;
use super::error::FileError;
use super::etcd_settings::EtcdSection;

/// Everything in `config.yaml`.
#[derive(Debug, Clone, PartialEq, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct GatewayConfig {
    /// The proxy's own settings.
    #[serde(default)]
    pub gateway: GatewaySection,
    /// Where routes, services and upstreams come from.
    #[serde(default)]
    pub config: ConfigSection,
    /// etcd, when `config.provider` is `etcd`.
    #[serde(default)]
    pub etcd: EtcdSection,
    /// The Admin API.
    #[serde(default)]
    pub admin: AdminSection,
    /// The plugin directory and the plugins enabled.
    #[serde(default)]
    pub plugins: PluginsSection,
    /// APISIX's field encryption of what is stored in etcd.
    #[serde(default)]
    pub data_encryption: super::DataEncryption,
}

/// `plugins:` where plugin `.so` files are loaded from, and which.
#[derive(Debug, Clone, PartialEq, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct PluginsSection {
    /// The directory of `.so` plugins; none: no plugins.
    #[serde(default)]
    pub dir: Option<PathBuf>,
    /// The plugin names that may be loaded; none: every valid plugin.
    #[serde(default)]
    pub enabled: Option<Vec<String>>,
    /// Where the `prometheus` plugin's metrics are served (default
    /// `127.0.0.1:9091`).
    #[serde(default)]
    pub export_addr: Option<SocketAddr>,
    /// Load from a directory or files that others than the gateway's user
    /// may write (group or other write bits, another owner than the
    /// gateway's user or root); refused unless true.
    #[serde(default)]
    pub allow_insecure_dir: bool,
    /// How much the plugins' shared store (rate-limit counters...) holds.
    #[serde(default)]
    pub store: StoreLimits,
    /// The prometheus plugin's static attributes (APISIX's
    /// `plugin_attr.prometheus`).
    #[serde(default)]
    pub prometheus: super::PrometheusAttr,
    /// The redirect plugin's static attributes (APISIX's
    /// `plugin_attr.redirect`).
    #[serde(default)]
    pub redirect: RedirectAttr,
}

/// `plugins.redirect`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RedirectAttr {
    /// The port `http_to_https` sends clients to (APISIX's
    /// `plugin_attr.redirect.https_port`); none: the TLS listener's.
    #[serde(default)]
    pub https_port: Option<u16>,
}

/// `plugins.store`: how much the shared store may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoreLimits {
    /// Most entries (default 1,000,000).
    #[serde(default = "default_entries")]
    pub max_entries: usize,
    /// Most bytes of keys, values and per-entry overhead (default 128 MiB).
    #[serde(default = "default_bytes")]
    pub max_bytes: usize,
}

impl Default for StoreLimits {
    fn default() -> Self {
        StoreLimits {
            max_entries: default_entries(),
            max_bytes: default_bytes(),
        }
    }
}

fn default_entries() -> usize {
    1_000_000
}

fn default_bytes() -> usize {
    128 << 20
}

/// `gateway:` the proxy itself.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GatewaySection {
    /// Addresses the proxy listens on (`ip:port`).
    #[serde(default = "default_listen")]
    pub listen: Vec<SocketAddr>,
    /// Worker threads; 0 = one per CPU core.
    #[serde(default)]
    pub worker_threads: usize,
    /// `error`, `warn`, `info`, `debug`, `trace`, or a tracing filter
    /// (`info,radixgate::access=warn`). `RUST_LOG` wins when set.
    #[serde(default = "default_log_level")]
    pub log_level: String,
    /// Seconds a client may take to send its request headers (nginx's
    /// `client_header_timeout`).
    #[serde(default = "default_header_timeout")]
    pub header_read_timeout: f64,
    /// Largest request body in bytes (a number, or nginx's `10k`, `8m`,
    /// `1g`); 0 = no limit. A larger body gets 413.
    #[serde(default, deserialize_with = "size")]
    pub client_max_body_size: u64,
    /// Seconds between two reads of a request body; longer gets 408.
    #[serde(default = "default_body_timeout")]
    pub client_body_timeout: f64,
    /// Seconds between two writes to a client; longer closes the connection.
    #[serde(default = "default_send_timeout")]
    pub send_timeout: f64,
    /// Seconds an idle keep-alive connection stays open; 0 turns
    /// keep-alive off.
    #[serde(default = "default_keepalive_timeout")]
    pub keepalive_timeout: f64,
    /// Requests one keep-alive connection may carry; the last response
    /// says `Connection: close`.
    #[serde(default = "default_keepalive_requests")]
    pub keepalive_requests: u64,
    /// Client connections one worker keeps open at once; past it, new
    /// connections are closed as soon as they are accepted.
    #[serde(default = "default_max_connections")]
    pub max_connections: usize,
    /// Addresses and CIDRs whose `X-Forwarded-*` and `X-Real-IP` headers
    /// are believed; from anyone else they are replaced.
    #[serde(default)]
    pub trusted_addresses: Vec<String>,
    /// Seconds requests in flight may take to finish after SIGTERM/SIGINT.
    #[serde(default = "default_shutdown_timeout")]
    pub shutdown_timeout: f64,
    /// Largest request head (request line + headers) in bytes; larger gets 431.
    #[serde(default = "default_max_header_size")]
    pub max_header_size: usize,
    /// Longest request target (path and query) in bytes; longer gets 414.
    #[serde(default = "default_max_uri_size")]
    pub max_uri_size: usize,
    /// Seconds to connect to a node when neither route nor upstream says.
    #[serde(default = "default_upstream_timeout")]
    pub upstream_connect_timeout: f64,
    /// Seconds to wait for a node's response headers when neither route nor upstream says.
    #[serde(default = "default_upstream_timeout")]
    pub upstream_read_timeout: f64,
    /// The HTTPS listener; none: no TLS listener.
    #[serde(default)]
    pub tls: Option<super::tls_settings::TlsSection>,
    /// HTTP/2 towards clients: h2c on the plain listeners, stream limits.
    #[serde(default)]
    pub http2: super::Http2Section,
    /// A PEM file of CA certificates that upstream `tls.verify` trusts
    /// beside Mozilla's roots (APISIX's `ssl_trusted_certificate`).
    #[serde(default)]
    pub ssl_trusted_certificate: Option<PathBuf>,
    /// The access log: a file path, `stdout` or `off`. Unset: stdout when
    /// `log_level` lets target `radixgate::access` log at info, else off.
    #[serde(default)]
    pub access_log: Option<String>,
    /// The access log's format, with nginx variables (default APISIX's).
    #[serde(default = "default_access_log_format")]
    pub access_log_format: String,
    /// Lines waiting for the access log's writer at most; more are dropped.
    #[serde(default = "default_access_log_buffer")]
    pub access_log_buffer: usize,
    /// Which server serves HTTP/1.1 clients: `native` (the default: the
    /// gateway's own, over httparse) or `hyper`. HTTP/2, and a plain
    /// listener with h2c on, stay on hyper.
    #[serde(default)]
    pub http1_server: Http1Server,
}

/// `gateway.http1_server`: the server HTTP/1.1 clients are served by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Http1Server {
    /// hyper's HTTP/1.1 server.
    Hyper,
    /// The gateway's own HTTP/1.1 server over httparse: no dispatcher
    /// task, the response head written with the body.
    #[default]
    Native,
}

impl Default for GatewaySection {
    fn default() -> Self {
        GatewaySection {
            listen: default_listen(),
            worker_threads: 0,
            log_level: default_log_level(),
            header_read_timeout: default_header_timeout(),
            client_max_body_size: 0,
            client_body_timeout: default_body_timeout(),
            send_timeout: default_send_timeout(),
            keepalive_timeout: default_keepalive_timeout(),
            keepalive_requests: default_keepalive_requests(),
            max_connections: default_max_connections(),
            trusted_addresses: Vec::new(),
            max_header_size: default_max_header_size(),
            max_uri_size: default_max_uri_size(),
            shutdown_timeout: default_shutdown_timeout(),
            upstream_connect_timeout: default_upstream_timeout(),
            upstream_read_timeout: default_upstream_timeout(),
            tls: None,
            http2: Default::default(),
            ssl_trusted_certificate: None,
            access_log: None,
            access_log_format: default_access_log_format(),
            access_log_buffer: default_access_log_buffer(),
            http1_server: Http1Server::default(),
        }
    }
}

impl GatewaySection {
    /// The access log's settings; an error names the field. Unset
    /// `access_log` is stdout when target `radixgate::access` logs at info.
    pub fn access_log_settings(&self) -> Result<crate::access_log::Settings, (String, String)> {
        let path = match &self.access_log {
            Some(p) => p.as_str(),
            None if tracing::enabled!(target: "radixgate::access", tracing::Level::INFO) => {
                "stdout"
            }
            None => "off",
        };
        crate::access_log::Settings::parse(path, &self.access_log_format, self.access_log_buffer)
    }
}

/// `config:` the configuration source.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigSection {
    /// Where objects come from: the standalone file (`yaml`, the default) or etcd.
    #[serde(default)]
    pub provider: Provider,
    /// The standalone file, relative to the working directory.
    #[serde(default = "default_file")]
    pub file: PathBuf,
    /// Milliseconds between two checks of the file's size and mtime.
    #[serde(default = "default_interval")]
    pub watch_interval_ms: u64,
}

/// `config.provider`: where routes, services and upstreams come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(try_from = "String")]
pub enum Provider {
    /// `yaml`: the standalone file (`config.file`), watched for changes.
    #[default]
    Yaml,
    /// `etcd`: the keys under `etcd.prefix`, followed through a watch.
    Etcd,
}

impl Provider {
    /// Every provider, in the order messages list them.
    pub const ALL: [Provider; 2] = [Provider::Yaml, Provider::Etcd];

    /// The spelling in `config.yaml` (`etcd`).
    pub fn as_str(self) -> &'static str {
        match self {
            Provider::Yaml => "yaml",
            Provider::Etcd => "etcd",
        }
    }
}

/// No JSON Schema covers `config.yaml`: this is the message users see for
/// a provider that does not exist (`"consul" is not one of yaml, etcd`).
impl TryFrom<String> for Provider {
    type Error = String;

    fn try_from(name: String) -> Result<Provider, String> {
        Provider::ALL
            .into_iter()
            .find(|p| p.as_str() == name)
            .ok_or_else(|| {
                let all: Vec<&str> = Provider::ALL.iter().map(|p| p.as_str()).collect();
                format!("{name:?} is not one of {}", all.join(", "))
            })
    }
}

impl Default for ConfigSection {
    fn default() -> Self {
        ConfigSection {
            provider: Provider::default(),
            file: default_file(),
            watch_interval_ms: default_interval(),
        }
    }
}

fn default_listen() -> Vec<SocketAddr> {
    vec![SocketAddr::from(([0, 0, 0, 0], 9080))]
}
fn default_access_log_format() -> String {
    crate::access_log::APISIX_FORMAT.to_owned()
}
fn default_access_log_buffer() -> usize {
    10_000
}
fn default_log_level() -> String {
    "info".into()
}
// APISIX's nginx defaults: client_header_timeout, client_body_timeout,
// send_timeout, keepalive_timeout; nginx's keepalive_requests; APISIX's
// worker_connections.
fn default_header_timeout() -> f64 {
    60.0
}
fn default_body_timeout() -> f64 {
    60.0
}
fn default_send_timeout() -> f64 {
    10.0
}
fn default_keepalive_timeout() -> f64 {
    60.0
}
fn default_keepalive_requests() -> u64 {
    1000
}
fn default_max_connections() -> usize {
    10620
}

/// A size in bytes: a number, or text with nginx's suffixes (`k`, `m`,
/// `g`, either case).
fn size<'de, D: serde::Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Number(u64),
        Text(String),
    }
    match Raw::deserialize(d)? {
        Raw::Number(n) => Ok(n),
        Raw::Text(t) => parse_size(&t).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "{t:?} is not a size (bytes, or a number with k, m or g)"
            ))
        }),
    }
}

/// `8m` -> 8388608; `None` when `text` is not a size.
pub fn parse_size(text: &str) -> Option<u64> {
    let t = text.trim();
    let (digits, unit) = match t.char_indices().last()? {
        (i, c) if c.is_ascii_alphabetic() => (&t[..i], c.to_ascii_lowercase()),
        _ => (t, 'b'),
    };
    let shift = match unit {
        'b' => 0,
        'k' => 10,
        'm' => 20,
        'g' => 30,
        _ => return None,
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n: u64 = digits.parse().ok()?;
    n.checked_mul(1 << shift)
}
fn default_shutdown_timeout() -> f64 {
    30.0
}
fn default_max_uri_size() -> usize {
    8192
}
fn default_max_header_size() -> usize {
    32 * 1024
}
fn default_upstream_timeout() -> f64 {
    60.0
}
fn default_file() -> PathBuf {
    PathBuf::from("conf/apisix.yaml")
}
fn default_interval() -> u64 {
    1000
}

/// Seconds from a setting, when finite and positive.
pub fn seconds(v: f64) -> Option<Duration> {
    (v.is_finite() && v > 0.0 && v <= 86_400.0).then(|| Duration::from_secs_f64(v))
}

impl GatewayConfig {
    /// Reads and checks `path`.
    pub fn load(path: &Path) -> Result<GatewayConfig, FileError> {
        let text = std::fs::read_to_string(path).map_err(|source| FileError::Read {
            path: path.display().to_string(),
            source,
        })?;
        GatewayConfig::parse(&text, &path.display().to_string())
    }

    /// Parses and checks the text of a `config.yaml`; `path` names it in errors.
    pub fn parse(text: &str, path: &str) -> Result<GatewayConfig, FileError> {
        let setting = |field: String, reason: String| FileError::Setting {
            path: path.to_owned(),
            field,
            reason,
        };
        // An empty (or all-comment) file is the defaults.
        let value: serde_json::Value =
            serde_norway::from_str(text).map_err(|e| FileError::Syntax {
                path: path.to_owned(),
                reason: e.to_string(),
            })?;
        let value = match value {
            serde_json::Value::Null => serde_json::Value::Object(Default::default()),
            v => v,
        };
        let cfg: GatewayConfig = serde_path_to_error::deserialize(&value).map_err(|e| {
            let (field, reason) = super::error::split_serde(&e);
            setting(field, reason)
        })?;
        if let Err(reason) = super::Keyring::from_section(&cfg.data_encryption) {
            let (field, reason) = reason
                .split_once(": ")
                .unwrap_or(("data_encryption", &reason));
            return Err(setting(field.to_owned(), reason.to_owned()));
        }
        if let Err((field, reason)) = cfg.plugins.prometheus.check() {
            return Err(setting(field, reason));
        }
        if cfg.plugins.redirect.https_port == Some(0) {
            return Err(setting(
                "plugins.redirect.https_port".into(),
                "0 is not a port (expected 1-65535)".into(),
            ));
        }
        let g = &cfg.gateway;
        if g.listen.is_empty() {
            return Err(setting(
                "gateway.listen".into(),
                "expected at least 1 address".into(),
            ));
        }
        if g.worker_threads > 1024 {
            return Err(setting(
                "gateway.worker_threads".into(),
                "expected 0 (one per core) to 1024".into(),
            ));
        }
        if !(8192..=1 << 20).contains(&g.max_header_size) {
            return Err(setting(
                "gateway.max_header_size".into(),
                "expected 8192 to 1048576 bytes".into(),
            ));
        }
        if !(256..=1 << 20).contains(&g.max_uri_size) {
            return Err(setting(
                "gateway.max_uri_size".into(),
                "expected 256 to 1048576 bytes".into(),
            ));
        }
        if !(0.0..=86_400.0).contains(&g.keepalive_timeout) {
            return Err(setting(
                "gateway.keepalive_timeout".into(),
                "expected seconds >= 0 (0: no keep-alive) and <= 86400".into(),
            ));
        }
        if g.keepalive_requests == 0 || g.max_connections == 0 {
            let field = if g.max_connections == 0 {
                "gateway.max_connections"
            } else {
                "gateway.keepalive_requests"
            };
            return Err(setting(field.into(), "expected at least 1".into()));
        }
        g.http2
            .check()
            .map_err(|(field, reason)| setting(field, reason))?;
        for (i, a) in g.trusted_addresses.iter().enumerate() {
            if let Err(e) = radix_router::AddrRule::parse(a) {
                return Err(setting(format!("gateway.trusted_addresses[{i}]"), e));
            }
        }
        g.access_log_settings()
            .map_err(|(field, reason)| setting(field, reason))?;
        if let Some(tls) = &g.tls {
            tls.check(&g.listen)
                .map_err(|(field, reason)| setting(field, reason))?;
        }
        for (field, v) in [
            ("gateway.header_read_timeout", g.header_read_timeout),
            ("gateway.client_body_timeout", g.client_body_timeout),
            ("gateway.send_timeout", g.send_timeout),
            ("gateway.shutdown_timeout", g.shutdown_timeout),
            (
                "gateway.upstream_connect_timeout",
                g.upstream_connect_timeout,
            ),
            ("gateway.upstream_read_timeout", g.upstream_read_timeout),
        ] {
            if seconds(v).is_none() {
                return Err(setting(
                    field.into(),
                    "expected seconds > 0 and <= 86400".into(),
                ));
            }
        }
        if g.log_level
            .parse::<tracing_subscriber::EnvFilter>()
            .is_err()
        {
            return Err(setting(
                "gateway.log_level".into(),
                format!("{:?} is not a level or tracing filter", g.log_level),
            ));
        }
        match cfg.config.provider {
            Provider::Yaml => {}
            Provider::Etcd => cfg
                .etcd
                .check()
                .map_err(|(field, reason)| setting(field, reason))?,
        }
        cfg.admin
            .check()
            .map_err(|(field, reason)| setting(field, reason))?;
        if !(10..=3_600_000).contains(&cfg.config.watch_interval_ms) {
            return Err(setting(
                "config.watch_interval_ms".into(),
                "expected 10 to 3600000".into(),
            ));
        }
        Ok(cfg)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_limits_take_apisix_defaults() {
        let g = GatewayConfig::parse("", "c.yaml")
            .expect("defaults")
            .gateway;
        assert_eq!(g.client_max_body_size, 0);
        assert_eq!(
            (g.header_read_timeout, g.client_body_timeout, g.send_timeout),
            (60.0, 60.0, 10.0)
        );
        assert_eq!((g.keepalive_timeout, g.keepalive_requests), (60.0, 1000));
        assert_eq!(g.max_connections, 10620);
        assert!(g.trusted_addresses.is_empty());
    }

    #[test]
    fn sizes_read_as_nginx_writes_them() {
        let text = "gateway: {client_max_body_size: 8m, keepalive_timeout: 0, \
                    trusted_addresses: [10.0.0.0/8, \"::1\"]}";
        let g = GatewayConfig::parse(text, "c.yaml").expect("valid").gateway;
        assert_eq!(g.client_max_body_size, 8 << 20);
        assert_eq!(g.keepalive_timeout, 0.0);
        assert_eq!(parse_size("1500"), Some(1500));
        assert_eq!(parse_size("2K"), Some(2048));
        assert_eq!(parse_size("1g"), Some(1 << 30));
        for bad in ["", "m", "1.5m", "12x", "-1"] {
            assert_eq!(parse_size(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn bad_client_limits_name_their_field() {
        let bad = [
            (
                "gateway: {client_max_body_size: lots}",
                "gateway.client_max_body_size",
            ),
            (
                "gateway: {client_body_timeout: 0}",
                "gateway.client_body_timeout",
            ),
            ("gateway: {send_timeout: -2}", "gateway.send_timeout"),
            (
                "gateway: {keepalive_timeout: -1}",
                "gateway.keepalive_timeout",
            ),
            (
                "gateway: {keepalive_requests: 0}",
                "gateway.keepalive_requests",
            ),
            ("gateway: {max_connections: 0}", "gateway.max_connections"),
            ("gateway: {http1_server: fast}", "gateway.http1_server"),
            (
                "gateway: {trusted_addresses: [ok]}",
                "gateway.trusted_addresses[0]",
            ),
            ("gateway: {access_log: \"\"}", "gateway.access_log"),
            (
                "gateway: {access_log_format: \"${unclosed\"}",
                "gateway.access_log_format",
            ),
            (
                "gateway: {access_log_buffer: 0}",
                "gateway.access_log_buffer",
            ),
            (
                "plugins: {redirect: {https_port: 0}}",
                "plugins.redirect.https_port",
            ),
            (
                "plugins: {redirect: {https_port: 70000}}",
                "plugins.redirect.https_port",
            ),
        ];
        for (text, field) in bad {
            match GatewayConfig::parse(text, "c.yaml") {
                Err(FileError::Setting { field: f, .. }) => assert_eq!(f, field, "{text}"),
                other => panic!("{text}: {other:?}"),
            }
        }
    }
}
