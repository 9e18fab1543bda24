//! `real-ip`: takes the client's address from a header a proxy in front
//! set (APISIX's plugin, priority 23000, rewrite phase): `source` names a
//! request variable (`http_x_client_ip`, `arg_ip`, ...) or
//! `http_x_forwarded_for`, whose last address is taken, or with
//! `recursive` the last one not in `trusted_addresses` (nginx's
//! `real_ip_recursive`). With `trusted_addresses`, only requests from
//! those addresses are believed.
//!
//! ```json
//! "real-ip": {"source": "http_x_forwarded_for", "trusted_addresses": ["127.0.0.0/24"]}
//! ```
//!
//! The address found (with its port, if it names one) becomes the
//! client's through the host's request variable `remote_addr`: later
//! plugins (`remote_addr` keys, ip-restriction), `_meta.filter`s, the log
//! phase, the access log and the node's `X-Real-IP` and
//! `X-Forwarded-For` see it. The gateway believes a client's
//! `X-Forwarded-*` and `X-Real-IP` headers only from its own
//! `gateway.trusted_addresses` (it removes them otherwise), so
//! `http_x_forwarded_for` needs the proxy there too.

mod addr;

use ipnet::IpNet;
use radixgate_plugin::serde::Deserialize;
use radixgate_plugin::serde_json::Value;
use radixgate_plugin::vars::VarName;
use radixgate_plugin::{
    export_plugin, ConfigError, Ctx, Decision, Host, LogLevel, Phase, Phases, Plugin,
};

/// The request variable the host reads the client's address from.
const CLIENT_VAR: &str = "remote_addr";

/// The route config's JSON Schema (APISIX 3.x's fields).
pub const SCHEMA: &str = r#"{
    "type": "object",
    "properties": {
        "source": {"type": "string", "minLength": 1},
        "trusted_addresses": {"type": "array", "minItems": 1, "items": {"type": "string"}},
        "recursive": {"type": "boolean", "default": false},
        "_meta": {"type": "object"}
    },
    "required": ["source"],
    "additionalProperties": false
}"#;

/// The config on a route, service or global rule.
#[derive(Debug, Clone, Deserialize)]
#[serde(crate = "radixgate_plugin::serde", deny_unknown_fields)]
pub struct Config {
    /// Where the address is: `http_x_forwarded_for` or a request variable.
    pub source: String,
    /// Addresses and CIDRs whose word is believed (all when absent).
    #[serde(default)]
    pub trusted_addresses: Option<Vec<String>>,
    /// In `X-Forwarded-For`, skip trusted addresses from the right.
    #[serde(default)]
    pub recursive: bool,
    /// APISIX's per-plugin options, applied by the host.
    #[serde(default, rename = "_meta")]
    pub meta: Option<Value>,
}

/// Where the address is read.
enum Source {
    /// `X-Forwarded-For`'s addresses.
    ForwardedFor,
    /// Any other request variable.
    Var(VarName),
}

/// One config, prepared once.
pub struct RealIp {
    host: Host,
    source: Source,
    trusted: Option<Vec<IpNet>>,
    recursive: bool,
}

impl RealIp {
    /// Whether `ip` is among the trusted addresses (false when none are
    /// given).
    fn is_trusted(&self, ip: std::net::IpAddr) -> bool {
        self.trusted
            .as_ref()
            .is_some_and(|nets| nets.iter().any(|n| n.contains(&ip)))
    }

    /// The address this request names, as written.
    fn find(&self, ctx: &Ctx<'_>) -> Option<String> {
        match &self.source {
            Source::Var(name) => name.resolve(ctx).map(|v| v.into_owned()),
            Source::ForwardedFor => {
                // Every X-Forwarded-For line, as one list.
                let list: Vec<&str> = ctx
                    .headers()
                    .filter(|(n, _)| n.eq_ignore_ascii_case("x-forwarded-for"))
                    .flat_map(|(_, v)| v.split(','))
                    .map(str::trim)
                    .collect();
                let last = list.last()?;
                if !(self.recursive && self.trusted.is_some()) {
                    return Some((*last).to_string());
                }
                // The rightmost address not trusted; the leftmost when all are.
                let untrusted = list
                    .iter()
                    .skip(1)
                    .rev()
                    .find(|a| addr::parse(a).is_none_or(|(ip, _)| !self.is_trusted(ip)));
                untrusted.or(list.first()).map(|a| (*a).to_string())
            }
        }
    }
}

impl Plugin for RealIp {
    const NAME: &'static str = "real-ip";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const PRIORITY: i32 = 23000;
    const PHASES: Phases = Phases::of(Phase::Rewrite);
    const SCHEMA: &'static str = SCHEMA;

    type Config = Config;

    fn new(config: Config, host: &Host) -> Result<Self, ConfigError> {
        let source = match config.source.as_str() {
            "" => return Err(ConfigError::field("source", "must not be empty")),
            "http_x_forwarded_for" => Source::ForwardedFor,
            name => Source::Var(VarName::parse(name)),
        };
        let trusted = match &config.trusted_addresses {
            Some(list) if list.is_empty() => {
                return Err(ConfigError::field(
                    "trusted_addresses",
                    "expect array to have at least 1 items",
                ))
            }
            Some(list) => Some(
                list.iter()
                    .enumerate()
                    .map(|(i, text)| addr::parse_net(text, &format!("trusted_addresses[{i}]")))
                    .collect::<Result<_, _>>()?,
            ),
            None => None,
        };
        Ok(RealIp {
            host: host.clone(),
            source,
            trusted,
            recursive: config.recursive,
        })
    }

    fn rewrite(&self, ctx: &mut Ctx<'_>) -> Decision {
        if self.trusted.is_some() && !self.is_trusted(ctx.client_addr().ip()) {
            return Decision::Continue;
        }
        let Some(found) = self.find(ctx) else {
            return Decision::Continue;
        };
        match addr::parse(&found) {
            Some((ip, Some(port))) => {
                ctx.set_var(CLIENT_VAR, &std::net::SocketAddr::new(ip, port).to_string())
            }
            Some((ip, None)) => ctx.set_var(CLIENT_VAR, &ip.to_string()),
            None => self
                .host
                .log(LogLevel::Warn, &format!("bad address: {found:?}")),
        }
        Decision::Continue
    }
}

export_plugin!(RealIp);

#[cfg(test)]
mod tests;
