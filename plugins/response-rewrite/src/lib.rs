//! `response-rewrite`: changes the response sent to the client (APISIX's
//! plugin, priority 899): `status_code`, `headers` (`add`, `set`,
//! `remove`, or the older flat map), a new `body` (`body_base64`), or
//! regex `filters` over the body; all only when the `vars` condition holds.
//! Status and headers change in header_filter, the body in body_filter.
//!
//! ```json
//! "response-rewrite": {"status_code": 200, "headers": {"set": {"X-Server": "radixgate"}},
//!                      "filters": [{"regex": "hello", "replace": "world", "scope": "global"}]}
//! ```

mod body;
pub mod config;
mod expr;
pub use radixgate_plugin::vars;

use radixgate_plugin::{
    export_plugin, Chunk, ConfigError, Ctx, Decision, Host, Phase, Phases, Plugin,
};

pub use config::{Config, HeaderOps};
use vars::Template;

/// Request variable: "1" when `vars` held in header_filter.
const MATCHED_VAR: &str = "response-rewrite.matched";
/// Request variable holding the body received so far (filters).
const HELD_VAR: &str = "response-rewrite.body";

/// What replaces the body.
enum BodyChange {
    None,
    Replace(Vec<u8>),
    Filters(Vec<body::BodyFilter>),
}

/// One config's rewrite, prepared once.
pub struct ResponseRewrite {
    status: Option<u16>,
    add: Vec<(String, Template)>,
    set: Vec<(String, Template)>,
    remove: Vec<String>,
    body: BodyChange,
    condition: Option<expr::Expr>,
}

fn templates(pairs: Vec<(String, String)>) -> Vec<(String, Template)> {
    pairs
        .into_iter()
        .map(|(name, value)| (name, Template::parse(&value)))
        .collect()
}

impl Plugin for ResponseRewrite {
    const NAME: &'static str = "response-rewrite";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const PRIORITY: i32 = 899;
    const PHASES: Phases = Phases::of(Phase::HeaderFilter).with(Phase::BodyFilter);
    const SCHEMA: &'static str = config::SCHEMA;

    type Config = Config;

    fn new(config: Config, _host: &Host) -> Result<Self, ConfigError> {
        if let Some(code) = config.status_code {
            if !(200..=598).contains(&code) {
                return Err(ConfigError::field(
                    "status_code",
                    "must be between 200 and 598",
                ));
            }
        }
        let body = match (&config.body, &config.filters) {
            (Some(_), Some(_)) => {
                return Err(ConfigError::field("filters", "cannot be used with body"))
            }
            (Some(text), None) if config.body_base64 => match config::decode_base64(text) {
                Some(bytes) if !text.is_empty() => BodyChange::Replace(bytes),
                _ => return Err(ConfigError::field("body", "invalid base64 content")),
            },
            (Some(text), None) => BodyChange::Replace(text.clone().into_bytes()),
            (None, Some(filters)) => BodyChange::Filters(body::compile(filters)?),
            (None, None) if config.body_base64 => {
                return Err(ConfigError::field("body", "invalid base64 content"))
            }
            (None, None) => BodyChange::None,
        };
        let ops = match &config.headers {
            Some(headers) => config::header_ops(headers)?,
            None => HeaderOps::default(),
        };
        let condition = config.vars.as_ref().map(expr::parse).transpose()?;
        Ok(ResponseRewrite {
            status: config.status_code,
            add: templates(ops.add),
            set: templates(ops.set),
            remove: ops.remove,
            body,
            condition,
        })
    }

    fn header_filter(&self, ctx: &mut Ctx<'_>) -> Decision {
        if let Some(condition) = &self.condition {
            if !condition.eval(ctx) {
                return Decision::Continue;
            }
            if !matches!(self.body, BodyChange::None) {
                ctx.set_var(MATCHED_VAR, "1");
            }
        }
        if let Some(status) = self.status {
            ctx.set_response_status(status);
        }
        if !matches!(self.body, BodyChange::None) {
            for name in ["Content-Length", "ETag", "Content-MD5"] {
                ctx.remove_response_header(name);
            }
        }
        for (name, template) in &self.add {
            let value = template.render(ctx, &[]).0;
            ctx.add_response_header(name, &value);
        }
        for (name, template) in &self.set {
            let value = template.render(ctx, &[]).0;
            ctx.set_response_header(name, &value);
        }
        for name in &self.remove {
            ctx.remove_response_header(name);
        }
        Decision::Continue
    }

    fn body_filter(&self, ctx: &mut Ctx<'_>, chunk: &mut Chunk<'_>) -> Decision {
        if matches!(self.body, BodyChange::None)
            || (self.condition.is_some() && ctx.var(MATCHED_VAR) != Some("1"))
        {
            return Decision::Continue;
        }
        match &self.body {
            BodyChange::None => {}
            BodyChange::Replace(bytes) => {
                chunk.replace(if chunk.is_last() {
                    bytes.clone()
                } else {
                    Vec::new()
                });
            }
            BodyChange::Filters(filters) => {
                // The whole body is needed: chunks are held until the last.
                let mut whole = ctx.var(HELD_VAR).map(body::release).unwrap_or_default();
                whole.extend_from_slice(chunk.data());
                if chunk.is_last() {
                    chunk.replace(body::apply(filters, &whole));
                } else {
                    ctx.set_var(HELD_VAR, &body::hold(&whole));
                    chunk.replace(Vec::new());
                }
            }
        }
        Decision::Continue
    }
}

export_plugin!(ResponseRewrite);

#[cfg(test)]
mod tests;
