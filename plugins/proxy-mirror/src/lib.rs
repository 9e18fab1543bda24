//! `proxy-mirror`: copies requests to a mirror server, for shadow traffic
//! (APISIX's plugin, priority 22900, schema and path rules). The rewrite
//! phase decides, per request, whether it is mirrored (`sample_ratio`)
//! and where to (`host`, then `path` as `path_concat_mode` says, the
//! query kept), and records it in request variable `upstream_mirror_uri`
//! as APISIX does. The log phase sends the copy with the host's outbound
//! HTTP client (pooled connections): after the client's response is
//! handed over, so the client never waits for the mirror, and whatever
//! the mirror answers, or its failure (logged at warn), never reaches the
//! client. The mirror's answer is read and dropped.
//!
//! ```json
//! "proxy-mirror": {"host": "http://127.0.0.1:9797", "path": "/mirror",
//!                  "path_concat_mode": "prefix", "sample_ratio": 0.5}
//! ```
//!
//! The copy has the request's method and headers as plugins left them
//! (its `Host` too) and the request's body: the instance reads request
//! bodies (ABI 1.3), so the host holds each body whole (up to its body
//! size limit) and the copy carries the same bytes, its `Content-Length`
//! set by the host. A host older than ABI 1.3 hands no body: a request
//! that has one (a `Content-Length` above 0, or chunked) is then not
//! mirrored, and the log says so. gRPC mirrors (`grpc://`, `grpcs://`)
//! are refused at load.

use std::time::Duration;

use radixgate_plugin::serde::Deserialize;
use radixgate_plugin::serde_json::Value;
use radixgate_plugin::{
    export_plugin, ConfigError, Ctx, Decision, Host, HttpRequest, LogLevel, Phase, Phases, Plugin,
};

/// The request variable holding the mirror's URL for a mirrored request.
pub const MIRROR_VAR: &str = "upstream_mirror_uri";

/// The whole mirror exchange's budget (APISIX's mirror timeouts are 60 s).
const TIMEOUT: Duration = Duration::from_secs(60);

/// The route config's JSON Schema (APISIX 3.x's fields).
pub const SCHEMA: &str = r#"{
    "type": "object",
    "properties": {
        "host": {
            "type": "string",
            "pattern": "^(http(s)?|grpc(s)?):\\/\\/([\\da-zA-Z.-]+|\\[[\\da-fA-F:]+\\])(:\\d+)?$"
        },
        "path": {"type": "string", "pattern": "^/[^?&]+$"},
        "path_concat_mode": {"type": "string", "enum": ["replace", "prefix"], "default": "replace"},
        "sample_ratio": {"type": "number", "minimum": 0.00001, "maximum": 1, "default": 1},
        "_meta": {"type": "object"}
    },
    "required": ["host"]
}"#;

/// The config on a route, service or global rule.
#[derive(Debug, Clone, Deserialize)]
#[serde(crate = "radixgate_plugin::serde")]
pub struct Config {
    /// `scheme://host[:port]` of the mirror.
    pub host: String,
    /// The mirror's path (`replace`) or its prefix (`prefix`).
    #[serde(default)]
    pub path: Option<String>,
    /// `replace` (default) or `prefix`.
    #[serde(default = "replace")]
    pub path_concat_mode: String,
    /// Share of the requests mirrored (1: all).
    #[serde(default = "all")]
    pub sample_ratio: f64,
    /// APISIX's per-plugin options, applied by the host.
    #[serde(default, rename = "_meta")]
    pub meta: Option<Value>,
}

fn replace() -> String {
    "replace".to_owned()
}

fn all() -> f64 {
    1.0
}

/// One config, prepared once.
pub struct ProxyMirror {
    host: Host,
    /// `http(s)://host[:port]`.
    base: String,
    path: Option<String>,
    prefix: bool,
    sample_ratio: f64,
}

impl ProxyMirror {
    /// The mirror's URL for a request to `path` with `query` (APISIX's
    /// rules: the request's URI; with `path`, `path` and the query
    /// (`replace`) or `path` before the request's URI (`prefix`)).
    pub fn url(&self, path: &str, query: &str) -> String {
        let args = if query.is_empty() {
            String::new()
        } else {
            format!("?{query}")
        };
        match (&self.path, self.prefix) {
            (Some(p), true) => format!("{}{p}{path}{args}", self.base),
            (Some(p), false) => format!("{}{p}{args}", self.base),
            (None, _) => format!("{}{path}{args}", self.base),
        }
    }
}

/// Whether the request has a body (by its framing headers).
fn has_body(ctx: &Ctx<'_>) -> bool {
    let length = ctx
        .header("content-length")
        .is_some_and(|v| v.trim() != "0");
    length || ctx.header("transfer-encoding").is_some()
}

impl Plugin for ProxyMirror {
    const NAME: &'static str = "proxy-mirror";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const PRIORITY: i32 = 22900;
    const PHASES: Phases = Phases::of(Phase::Rewrite).with(Phase::Log);
    const SCHEMA: &'static str = SCHEMA;

    type Config = Config;

    fn new(config: Config, host: &Host) -> Result<Self, ConfigError> {
        let scheme = config.host.split("://").next().unwrap_or_default();
        if !matches!(scheme, "http" | "https") {
            return Err(ConfigError::field(
                "host",
                format!("{scheme}:// mirrors are not supported by this build yet"),
            ));
        }
        if !(0.00001..=1.0).contains(&config.sample_ratio) {
            return Err(ConfigError::field(
                "sample_ratio",
                "expected a number from 0.00001 to 1",
            ));
        }
        let prefix = match config.path_concat_mode.as_str() {
            "replace" => false,
            "prefix" => true,
            other => {
                return Err(ConfigError::field(
                    "path_concat_mode",
                    format!("{other:?}: expected replace or prefix"),
                ))
            }
        };
        Ok(ProxyMirror {
            host: host.clone(),
            base: config.host,
            path: config.path,
            prefix,
            sample_ratio: config.sample_ratio,
        })
    }

    fn rewrite(&self, ctx: &mut Ctx<'_>) -> Decision {
        if self.sample_ratio >= 1.0 || fastrand::f64() < self.sample_ratio {
            let url = self.url(ctx.path(), ctx.query());
            ctx.set_var(MIRROR_VAR, &url);
        }
        Decision::Continue
    }

    fn log(&self, ctx: &mut Ctx<'_>) -> Decision {
        let Some(url) = ctx.var(MIRROR_VAR).map(str::to_owned) else {
            return Decision::Continue;
        };
        let body = match ctx.request_body() {
            Some(body) => body.to_vec(),
            None if has_body(ctx) => {
                self.host.log(
                    LogLevel::Info,
                    &format!(
                        "{} {}: not mirrored: the host hands plugins no request body (ABI 1.3 needed)",
                        ctx.method(),
                        ctx.path()
                    ),
                );
                return Decision::Continue;
            }
            None => Vec::new(),
        };
        let mut request = HttpRequest::new(ctx.method(), &url)
            .timeout(TIMEOUT)
            .verify_tls(false)
            .body(body);
        for (name, value) in ctx.headers() {
            request = request.header(name, value);
        }
        let host = self.host.clone();
        let sent = self.host.http(request);
        Decision::wait_then(sent, move |_, answer| {
            if let Err(why) = answer {
                host.log(
                    LogLevel::Warn,
                    &format!("failed to mirror the request: {why}"),
                );
            }
            Decision::Continue
        })
    }

    /// Always: the copy carries the request's body.
    fn reads_request_body(&self) -> bool {
        true
    }
}

export_plugin!(ProxyMirror);

#[cfg(test)]
mod tests;
