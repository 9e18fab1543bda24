//! `ip-restriction`: lets through or refuses a request by the client's IP
//! address (APISIX's plugin, priority 3000). `whitelist` or `blacklist`
//! hold IPv4/IPv6 addresses and CIDRs; a refused request gets
//! `response_code` (403) with `{"message": <message>}`. Runs in access.
//!
//! ```json
//! "ip-restriction": {"whitelist": ["127.0.0.1", "10.0.0.0/8", "fe80::/32"]}
//! ```

use std::net::IpAddr;

use ipnet::IpNet;
use radixgate_plugin::serde::Deserialize;
use radixgate_plugin::{
    export_plugin, serde_json, ConfigError, Ctx, Decision, Host, Phase, Phases, Plugin, Response,
};

/// The config on a route, service or global rule.
#[derive(Debug, Deserialize)]
#[serde(crate = "radixgate_plugin::serde")]
pub struct Config {
    /// Body message of a refusal.
    #[serde(default = "default_message")]
    pub message: String,
    /// Status of a refusal: 403 or 404.
    #[serde(default = "default_code")]
    pub response_code: u16,
    /// Only these addresses pass.
    #[serde(default)]
    pub whitelist: Option<Vec<String>>,
    /// These addresses are refused.
    #[serde(default)]
    pub blacklist: Option<Vec<String>>,
}

fn default_message() -> String {
    "Your IP address is not allowed".into()
}
fn default_code() -> u16 {
    403
}

/// Which list the config holds.
enum Rule {
    Allow(Vec<IpNet>),
    Deny(Vec<IpNet>),
}

/// One config's address check.
pub struct IpRestriction {
    rule: Rule,
    status: u16,
    body: Vec<u8>,
}

/// Parses an address (a host network) or a CIDR; `field` names it in errors.
fn parse_net(text: &str, field: &str) -> Result<IpNet, ConfigError> {
    if let Ok(net) = text.parse::<IpNet>() {
        return Ok(net);
    }
    text.parse::<IpAddr>()
        .map(IpNet::from)
        .map_err(|_| ConfigError::field(field, format!("\"{text}\" is not an IP address or CIDR")))
}

fn parse_list(list: &[String], name: &str) -> Result<Vec<IpNet>, ConfigError> {
    if list.is_empty() {
        return Err(ConfigError::field(
            name,
            "expect array to have at least 1 items",
        ));
    }
    list.iter()
        .enumerate()
        .map(|(i, text)| parse_net(text, &format!("{name}[{i}]")))
        .collect()
}

fn contains(nets: &[IpNet], ip: IpAddr) -> bool {
    nets.iter().any(|net| net.contains(&ip))
}

impl Plugin for IpRestriction {
    const NAME: &'static str = "ip-restriction";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const PRIORITY: i32 = 3000;
    const PHASES: Phases = Phases::of(Phase::Access);
    const SCHEMA: &'static str = r#"{
        "type": "object",
        "properties": {
            "message": {"type": "string", "minLength": 1, "maxLength": 1024, "default": "Your IP address is not allowed"},
            "response_code": {"type": "integer", "minimum": 403, "maximum": 404, "default": 403},
            "whitelist": {"type": "array", "items": {"type": "string", "minLength": 1}, "minItems": 1},
            "blacklist": {"type": "array", "items": {"type": "string", "minLength": 1}, "minItems": 1}
        },
        "oneOf": [{"required": ["whitelist"]}, {"required": ["blacklist"]}]
    }"#;

    type Config = Config;

    fn new(config: Config, _host: &Host) -> Result<Self, ConfigError> {
        let rule = match (&config.whitelist, &config.blacklist) {
            (Some(allow), None) => Rule::Allow(parse_list(allow, "whitelist")?),
            (None, Some(deny)) => Rule::Deny(parse_list(deny, "blacklist")?),
            _ => {
                return Err(ConfigError::field(
                    "whitelist",
                    "exactly one of whitelist and blacklist is required",
                ))
            }
        };
        if !(403..=404).contains(&config.response_code) {
            return Err(ConfigError::field("response_code", "must be 403 or 404"));
        }
        if config.message.is_empty() || config.message.len() > 1024 {
            return Err(ConfigError::field(
                "message",
                "length must be between 1 and 1024",
            ));
        }
        let body = serde_json::json!({ "message": config.message }).to_string();
        Ok(IpRestriction {
            rule,
            status: config.response_code,
            body: body.into_bytes(),
        })
    }

    fn access(&self, ctx: &mut Ctx<'_>) -> Decision {
        let ip = ctx.client_addr().ip();
        let allowed = match &self.rule {
            Rule::Allow(nets) => contains(nets, ip),
            Rule::Deny(nets) => !contains(nets, ip),
        };
        if allowed {
            return Decision::Continue;
        }
        Decision::Respond(
            Response::new(self.status)
                .header("Content-Type", "application/json")
                .body(self.body.clone()),
        )
    }
}

export_plugin!(IpRestriction);

#[cfg(test)]
mod tests {
    use super::IpRestriction;
    use radixgate_plugin::abi::PhaseResult;
    use radixgate_plugin::mock::{MockHost, MockInstance, MockRequest};

    fn instance(config: &str) -> Result<MockInstance, String> {
        MockInstance::new::<IpRestriction>(config, &MockHost::new())
    }

    fn from(ip: &str) -> MockRequest {
        let mut req = MockRequest::new("GET", "/");
        req.client = std::net::SocketAddr::new(ip.parse().expect("ip"), 1234);
        req
    }

    fn refused(result: PhaseResult) -> Option<(u16, String)> {
        match result {
            PhaseResult::Respond(reply) => Some((
                reply.status,
                String::from_utf8_lossy(&reply.body).into_owned(),
            )),
            _ => None,
        }
    }

    #[test]
    fn whitelist_lets_only_its_addresses_through() {
        let plugin =
            instance(r#"{"whitelist":["127.0.0.1","10.0.0.0/8","fe80::/32"]}"#).expect("valid");
        for ip in ["127.0.0.1", "10.1.2.3", "fe80::1"] {
            assert_eq!(plugin.access(&mut from(ip)), PhaseResult::Continue, "{ip}");
        }
        for ip in ["127.0.0.2", "11.0.0.1", "fe81::1", "::1"] {
            let (status, body) = refused(plugin.access(&mut from(ip))).expect(ip);
            assert_eq!(status, 403);
            assert_eq!(body, r#"{"message":"Your IP address is not allowed"}"#);
        }
    }

    #[test]
    fn blacklist_refuses_its_addresses_with_the_configured_reply() {
        let plugin = instance(
            r#"{"blacklist":["192.168.0.0/16","2001:db8::/32"],"message":"go away","response_code":404}"#,
        )
        .expect("valid");
        assert_eq!(plugin.access(&mut from("10.0.0.1")), PhaseResult::Continue);
        let (status, body) = refused(plugin.access(&mut from("192.168.3.4"))).expect("refused");
        assert_eq!((status, body.as_str()), (404, r#"{"message":"go away"}"#));
        assert!(refused(plugin.access(&mut from("2001:db8::5"))).is_some());
    }

    #[test]
    fn bad_configs_name_the_field() {
        let cases = [
            (r#"{}"#, "whitelist"),
            (
                r#"{"whitelist":["1.2.3.4"],"blacklist":["1.2.3.4"]}"#,
                "whitelist",
            ),
            (r#"{"whitelist":[]}"#, "whitelist"),
            (r#"{"whitelist":["1.2.3.4","nope"]}"#, "whitelist[1]"),
            (r#"{"blacklist":["10.0.0.0/33"]}"#, "blacklist[0]"),
            (
                r#"{"blacklist":["1.1.1.1"],"response_code":500}"#,
                "response_code",
            ),
            (r#"{"blacklist":["1.1.1.1"],"message":""}"#, "message"),
            (r#"{"blacklist":"1.1.1.1"}"#, "blacklist"),
        ];
        for (config, field) in cases {
            let err = instance(config).err().expect(config);
            assert!(err.starts_with(field), "{config}: {err}");
        }
    }
}
