//! `test-order`: a test plugin that records the order instances run in.
//! In rewrite each instance appends its `name` to the request variable
//! `test_order` (with `+` when the request then carries header `watch`,
//! so tests see which plugins ran before it); in header_filter it copies
//! the variable into the response header `X-Test-Order`. before_proxy
//! counts the tries into request header `X-Test-Tries` and, when configured,
//! sets the URI (`proxy_uri`) and method (`proxy_method`) sent upstream.

use radixgate_plugin::{
    export_plugin, serde, ConfigError, Ctx, Decision, Host, Phase, Phases, Plugin,
};

/// The config: a name to record, and optionally a header to look for.
#[derive(serde::Deserialize)]
#[serde(crate = "radixgate_plugin::serde")]
pub struct Config {
    name: String,
    #[serde(default)]
    watch: Option<String>,
    #[serde(default)]
    proxy_uri: Option<String>,
    #[serde(default)]
    proxy_method: Option<String>,
}

/// One configured instance.
pub struct TestOrder {
    config: Config,
}

/// The variable the order is kept in.
const VAR: &str = "test_order";
/// The variable before_proxy counts tries in.
const TRIES: &str = "test_order_tries";

impl Plugin for TestOrder {
    const NAME: &'static str = "test-order";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const PRIORITY: i32 = 1000;
    const PHASES: Phases = Phases::of(Phase::Rewrite)
        .with(Phase::BeforeProxy)
        .with(Phase::HeaderFilter);
    const SCHEMA: &'static str = r#"{
        "type": "object",
        "properties": {
            "name": {"type": "string", "minLength": 1},
            "watch": {"type": "string", "minLength": 1},
            "proxy_uri": {"type": "string", "minLength": 1},
            "proxy_method": {"type": "string", "minLength": 1}
        },
        "required": ["name"],
        "additionalProperties": false
    }"#;

    type Config = Config;

    fn new(config: Config, _host: &Host) -> Result<Self, ConfigError> {
        Ok(TestOrder { config })
    }

    fn rewrite(&self, ctx: &mut Ctx<'_>) -> Decision {
        let mut order = ctx.var(VAR).unwrap_or_default().to_string();
        if !order.is_empty() {
            order.push(',');
        }
        order.push_str(&self.config.name);
        if let Some(h) = &self.config.watch {
            if ctx.header(h).is_some() {
                order.push('+');
            }
        }
        ctx.set_var(VAR, &order);
        Decision::Continue
    }

    /// Counts the tries: request header `X-Test-Tries` goes to each node.
    fn before_proxy(&self, ctx: &mut Ctx<'_>) -> Decision {
        let tries = ctx
            .var(TRIES)
            .and_then(|t| t.parse::<u32>().ok())
            .unwrap_or(0)
            + 1;
        let tries = tries.to_string();
        ctx.set_var(TRIES, &tries);
        ctx.set_header("X-Test-Tries", &tries);
        if let Some(uri) = &self.config.proxy_uri {
            ctx.set_uri(uri);
        }
        if let Some(method) = &self.config.proxy_method {
            ctx.set_method(method);
        }
        Decision::Continue
    }

    fn header_filter(&self, ctx: &mut Ctx<'_>) -> Decision {
        let order = ctx.var(VAR).unwrap_or("-").to_string();
        ctx.set_response_header("X-Test-Order", &order);
        Decision::Continue
    }
}

export_plugin!(TestOrder);
