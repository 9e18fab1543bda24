//! `response-rewrite`: changes the response sent to the client (APISIX's
//! plugin, priority 899): `status_code`, `headers` (`add`, `set`,
//! `remove`, or the older flat map), a new `body` (`body_base64`), or
//! regex `filters` over the body; all only when the `vars` condition holds.
//! Status and headers change in header_filter, the body in body_filter.
//!
//! `filters` need the whole body: it is held until its last chunk, at
//! most `max_body_size` bytes (radixgate's own field, default 8 MiB; the
//! bodies one instance holds at once together at most 256 MiB). A body
//! past that, or whose filtered form would be larger, is sent unchanged
//! (its status and headers as header_filter left them) and a warning
//! logged. Holding and filtering are linear in the body's size.
//!
//! ```json
//! "response-rewrite": {"status_code": 200, "headers": {"set": {"X-Server": "radixgate"}},
//!                      "filters": [{"regex": "hello", "replace": "world", "scope": "global"}]}
//! ```

mod body;
pub mod config;
pub use radixgate_plugin::vars;
use radixgate_plugin_vars_expr as expr;

use radixgate_plugin::{
    export_plugin, Chunk, ConfigError, Ctx, Decision, Host, LogLevel, Phase, Phases, Plugin,
};

pub use config::{Config, HeaderOps};
use vars::Template;

/// Request variable: "1" when `vars` held in header_filter.
const MATCHED_VAR: &str = "response-rewrite.matched";
/// Request variable naming the request's held body (filters).
const HELD_VAR: &str = "response-rewrite.held";
/// Request variable: "1" once the body passed `max_body_size` and goes
/// to the client unchanged.
const PASSED_VAR: &str = "response-rewrite.passed";

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
    /// Most bytes of a body the filters hold.
    max_body: usize,
    /// The bodies held until their last chunk.
    held: body::Held,
    host: Host,
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
    // log: lets go of a body whose response ended before its last chunk.
    const PHASES: Phases = Phases::of(Phase::HeaderFilter)
        .with(Phase::BodyFilter)
        .with(Phase::Log);
    const SCHEMA: &'static str = config::SCHEMA;

    type Config = Config;

    fn new(config: Config, host: &Host) -> Result<Self, ConfigError> {
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
        let condition = config
            .vars
            .as_ref()
            .map(|v| expr::parse(v, "vars"))
            .transpose()?;
        Ok(ResponseRewrite {
            status: config.status_code,
            add: templates(ops.add),
            set: templates(ops.set),
            remove: ops.remove,
            body,
            condition,
            max_body: usize::try_from(config.max_body_size).unwrap_or(usize::MAX),
            held: body::Held::default(),
            host: host.clone(),
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
            BodyChange::Filters(filters) => self.filter(ctx, chunk, filters),
        }
        Decision::Continue
    }

    fn log(&self, ctx: &mut Ctx<'_>) -> Decision {
        if let Some(key) = ctx.var(HELD_VAR).and_then(|k| k.parse().ok()) {
            self.held.forget(key);
        }
        Decision::Continue
    }
}

impl ResponseRewrite {
    /// Holds `chunk` until the body's last, which gets the filtered body;
    /// past the bounds the body goes on unchanged.
    fn filter(&self, ctx: &mut Ctx<'_>, chunk: &mut Chunk<'_>, filters: &[body::BodyFilter]) {
        if ctx.var(PASSED_VAR) == Some("1") {
            return;
        }
        let key = match ctx.var(HELD_VAR).and_then(|k| k.parse().ok()) {
            Some(k) => k,
            None => {
                let k = self.held.key();
                ctx.set_var(HELD_VAR, &k.to_string());
                k
            }
        };
        match self
            .held
            .push(key, chunk.data(), chunk.is_last(), self.max_body)
        {
            body::Push::Held => chunk.replace(Vec::new()),
            body::Push::Whole(whole) => match body::apply(filters, whole, self.max_body) {
                Ok(out) => chunk.replace(out),
                Err(unchanged) => {
                    self.warn("the filtered body would pass max_body_size: sent unchanged");
                    chunk.replace(unchanged);
                }
            },
            body::Push::Overflow(so_far) => {
                ctx.set_var(PASSED_VAR, "1");
                self.warn("the body passed max_body_size (or all held bodies their bound): sent unchanged");
                chunk.replace(so_far);
            }
        }
    }

    fn warn(&self, message: &str) {
        self.host.log(LogLevel::Warn, message);
    }
}

export_plugin!(ResponseRewrite);

#[cfg(test)]
mod tests;
