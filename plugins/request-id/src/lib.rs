//! `request-id`: gives every request an id in a header (APISIX's plugin,
//! priority 12015). A request that already carries the header keeps its
//! value; otherwise one is generated (`uuid` v4 by default, `nanoid`, or
//! `range_id`) and set on the request sent upstream. With
//! `include_in_response` (default) the response carries it too, unless
//! the upstream already set that header.
//!
//! ```json
//! "request-id": {"header_name": "X-Request-Id", "algorithm": "uuid"}
//! ```

mod ids;

use radixgate_plugin::serde::Deserialize;
use radixgate_plugin::{export_plugin, ConfigError, Ctx, Decision, Host, Phase, Phases, Plugin};

use ids::Generator;

/// `range_id`'s options.
#[derive(Debug, Deserialize)]
#[serde(crate = "radixgate_plugin::serde")]
pub struct RangeId {
    /// Characters the id is drawn from.
    #[serde(default = "default_char_set")]
    pub char_set: String,
    /// Id length.
    #[serde(default = "default_length")]
    pub length: usize,
}

impl Default for RangeId {
    fn default() -> RangeId {
        RangeId {
            char_set: default_char_set(),
            length: default_length(),
        }
    }
}

/// The config on a route, service or global rule.
#[derive(Debug, Deserialize)]
#[serde(crate = "radixgate_plugin::serde")]
pub struct Config {
    /// The header carrying the id (default `X-Request-Id`).
    #[serde(default = "default_header")]
    pub header_name: String,
    /// Also send the id in the response (default true).
    #[serde(default = "default_true")]
    pub include_in_response: bool,
    /// `uuid` (default), `nanoid` or `range_id`.
    #[serde(default = "default_algorithm")]
    pub algorithm: String,
    /// Options of `range_id`.
    #[serde(default)]
    pub range_id: RangeId,
}

fn default_header() -> String {
    "X-Request-Id".into()
}
fn default_true() -> bool {
    true
}
fn default_algorithm() -> String {
    "uuid".into()
}
fn default_char_set() -> String {
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789".into()
}
fn default_length() -> usize {
    16
}

/// One config's id stamping.
pub struct RequestId {
    header: String,
    include_in_response: bool,
    /// Request variable keeping the id for header_filter.
    var: String,
    generator: Generator,
}

impl Plugin for RequestId {
    const NAME: &'static str = "request-id";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const PRIORITY: i32 = 12015;
    const PHASES: Phases = Phases::of(Phase::Rewrite).with(Phase::HeaderFilter);
    const SCHEMA: &'static str = r#"{
        "type": "object",
        "properties": {
            "header_name": {"type": "string", "default": "X-Request-Id"},
            "include_in_response": {"type": "boolean", "default": true},
            "algorithm": {"type": "string", "enum": ["uuid", "nanoid", "range_id"], "default": "uuid"},
            "range_id": {
                "type": "object",
                "properties": {
                    "length": {"type": "integer", "minimum": 6, "default": 16},
                    "char_set": {"type": "string", "minLength": 6,
                        "default": "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"}
                },
                "default": {}
            }
        }
    }"#;

    type Config = Config;

    fn new(config: Config, _host: &Host) -> Result<Self, ConfigError> {
        if config.header_name.is_empty()
            || !config
                .header_name
                .bytes()
                .all(|b| b.is_ascii_graphic() && b != b':')
        {
            return Err(ConfigError::field(
                "header_name",
                "is not a valid header name",
            ));
        }
        let generator = match config.algorithm.as_str() {
            "uuid" => Generator::Uuid,
            "nanoid" => Generator::NanoId,
            "range_id" => Generator::range(&config.range_id.char_set, config.range_id.length)?,
            other => {
                return Err(ConfigError::field(
                    "algorithm",
                    format!("\"{other}\" is not one of uuid, nanoid, range_id"),
                ))
            }
        };
        Ok(RequestId {
            var: format!("request-id-{}", config.header_name),
            header: config.header_name,
            include_in_response: config.include_in_response,
            generator,
        })
    }

    fn rewrite(&self, ctx: &mut Ctx<'_>) -> Decision {
        let id = match ctx.header(&self.header) {
            Some(_) if !self.include_in_response => return Decision::Continue,
            Some(existing) => existing.to_string(),
            None => {
                let id = self.generator.generate();
                ctx.set_header(&self.header, &id);
                id
            }
        };
        if self.include_in_response {
            ctx.set_var(&self.var, &id);
        }
        Decision::Continue
    }

    fn header_filter(&self, ctx: &mut Ctx<'_>) -> Decision {
        if !self.include_in_response || ctx.response_header(&self.header).is_some() {
            return Decision::Continue;
        }
        if let Some(id) = ctx.var(&self.var).map(str::to_string) {
            ctx.set_response_header(&self.header, &id);
        }
        Decision::Continue
    }
}

export_plugin!(RequestId);

#[cfg(test)]
mod tests;
