//! The `etcd:` section of `config.yaml`: endpoints, key prefix, timeout,
//! credentials, TLS, the size of a full read's pages and the local
//! snapshot file.

use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

/// `etcd:` where the configuration lives when `config.provider` is `etcd`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EtcdSection {
    /// Client URLs (`http://127.0.0.1:2379`); any healthy one serves.
    #[serde(default = "default_endpoints", alias = "host")]
    pub endpoints: Vec<String>,
    /// The key prefix of every object (`/apisix`).
    #[serde(default = "default_prefix")]
    pub prefix: String,
    /// Seconds one etcd request may take.
    #[serde(default = "default_timeout")]
    pub timeout: f64,
    /// User name, when etcd has authentication on.
    #[serde(default)]
    pub user: Option<String>,
    /// Password of `user`.
    #[serde(default)]
    pub password: Option<String>,
    /// TLS towards `https://` endpoints.
    #[serde(default)]
    pub tls: Option<EtcdTls>,
    /// Keys in the first response of a full read of the prefix (read in
    /// pages at one revision, so a prefix of any size can be read again;
    /// each page four times the last).
    #[serde(default = "default_read_page_size")]
    pub read_page_size: i64,
    /// The last applied state, so the gateway can start while etcd is down.
    /// Relative to the working directory; empty = no snapshot file.
    #[serde(default = "default_snapshot")]
    pub snapshot_file: PathBuf,
}

/// `etcd.tls`: how to trust etcd and, for mutual TLS, who we are.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EtcdTls {
    /// PEM file of the CA that signed etcd's certificate (required).
    pub ca: PathBuf,
    /// PEM file of our client certificate (mutual TLS; with `key`).
    #[serde(default)]
    pub cert: Option<PathBuf>,
    /// PEM file of our client key (with `cert`).
    #[serde(default)]
    pub key: Option<PathBuf>,
    /// The name to check etcd's certificate against (default: the endpoint's host).
    #[serde(default)]
    pub sni: Option<String>,
}

impl Default for EtcdSection {
    fn default() -> Self {
        EtcdSection {
            endpoints: default_endpoints(),
            prefix: default_prefix(),
            timeout: default_timeout(),
            user: None,
            password: None,
            tls: None,
            read_page_size: default_read_page_size(),
            snapshot_file: default_snapshot(),
        }
    }
}

fn default_endpoints() -> Vec<String> {
    vec!["http://127.0.0.1:2379".into()]
}
fn default_prefix() -> String {
    "/apisix".into()
}
fn default_timeout() -> f64 {
    30.0
}
fn default_read_page_size() -> i64 {
    256
}
fn default_snapshot() -> PathBuf {
    PathBuf::from("etcd-snapshot.json")
}

impl EtcdSection {
    /// Checks the section; `(field, reason)` on the first problem.
    pub fn check(&self) -> Result<(), (String, String)> {
        if self.endpoints.is_empty() {
            return Err(("etcd.endpoints".into(), "expected at least 1 URL".into()));
        }
        let https = self.endpoints.iter().any(|e| e.starts_with("https://"));
        for (i, e) in self.endpoints.iter().enumerate() {
            let scheme_ok = if https {
                e.starts_with("https://")
            } else {
                e.starts_with("http://")
            };
            if !scheme_ok || e.parse::<http::Uri>().is_err() {
                return Err((
                    format!("etcd.endpoints[{i}]"),
                    format!(
                        "{e:?} is not a URL like http://127.0.0.1:2379 (all http, or all https with etcd.tls)"
                    ),
                ));
            }
        }
        match (&self.tls, https) {
            (None, true) => {
                return Err((
                    "etcd.tls".into(),
                    "required for https endpoints: at least tls.ca".into(),
                ))
            }
            (Some(_), false) => {
                return Err((
                    "etcd.tls".into(),
                    "set, but the endpoints are http: use https://".into(),
                ))
            }
            (Some(t), true) if t.cert.is_some() != t.key.is_some() => {
                return Err(("etcd.tls.key".into(), "cert and key go together".into()))
            }
            _ => {}
        }
        if !self.prefix.starts_with('/') || self.prefix.ends_with('/') {
            return Err((
                "etcd.prefix".into(),
                "expected a path like /apisix (leading slash, no trailing slash)".into(),
            ));
        }
        if super::seconds(self.timeout).is_none() {
            return Err((
                "etcd.timeout".into(),
                "expected seconds > 0 and <= 86400".into(),
            ));
        }
        if !(1..=100_000).contains(&self.read_page_size) {
            return Err((
                "etcd.read_page_size".into(),
                "expected 1 to 100000 keys".into(),
            ));
        }
        if self.user.is_some() != self.password.is_some() {
            return Err((
                "etcd.password".into(),
                "user and password go together".into(),
            ));
        }
        Ok(())
    }

    /// The request timeout.
    pub fn timeout(&self) -> Duration {
        super::seconds(self.timeout).unwrap_or(Duration::from_secs(30))
    }
}
