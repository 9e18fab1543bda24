//! The two faults, prepared from their configs: which requests they
//! apply to, and what they do.

use std::time::Duration;

use radixgate_plugin::serde_json::Value;
use radixgate_plugin::vars::Template;
use radixgate_plugin::{ConfigError, Ctx, Decision, Response};
use radixgate_plugin_vars_expr::{parse_any, Expr};

use crate::config::{AbortConfig, DelayConfig};

/// Which requests a fault applies to.
struct Selector {
    /// Percent of the requests (100: all).
    percentage: u8,
    /// One of these must hold (none: any request).
    vars: Option<Expr>,
}

impl Selector {
    fn new(
        percentage: Option<u8>,
        vars: Option<&Value>,
        field: &str,
    ) -> Result<Selector, ConfigError> {
        let percentage = percentage.unwrap_or(100);
        if percentage > 100 {
            return Err(ConfigError::field(
                &format!("{field}.percentage"),
                "must be from 0 to 100",
            ));
        }
        let vars = vars
            .map(|v| parse_any(v, &format!("{field}.vars")))
            .transpose()?;
        Ok(Selector { percentage, vars })
    }

    /// Whether this request is selected: its vars hold and the draw hits.
    fn applies(&self, ctx: &Ctx<'_>) -> bool {
        self.vars.as_ref().is_none_or(|v| v.eval(ctx))
            && (self.percentage >= 100 || fastrand::u8(1..=100) <= self.percentage)
    }
}

/// `abort`, prepared.
pub struct Abort {
    status: u16,
    body: Option<Template>,
    headers: Vec<(String, Template)>,
    selector: Selector,
}

/// An HTTP token (a header name).
fn is_token(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

impl Abort {
    /// Prepares `config`; an error names the field.
    pub fn new(config: AbortConfig) -> Result<Abort, ConfigError> {
        if !(200..=999).contains(&config.http_status) {
            return Err(ConfigError::field(
                "abort.http_status",
                "must be an HTTP status from 200 to 999",
            ));
        }
        let mut headers = Vec::new();
        for (name, value) in config.headers.iter().flatten() {
            let field = format!("abort.headers.{name}");
            if !is_token(name) {
                return Err(ConfigError::field(
                    &field,
                    "invalid field character in header",
                ));
            }
            let value = match value {
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                _ => return Err(ConfigError::field(&field, "must be a string or a number")),
            };
            if value.contains(['\r', '\n']) {
                return Err(ConfigError::field(
                    &field,
                    "invalid value character in header",
                ));
            }
            headers.push((name.clone(), Template::parse(&value)));
        }
        Ok(Abort {
            status: config.http_status,
            body: config.body.as_deref().map(Template::parse),
            headers,
            selector: Selector::new(config.percentage, config.vars.as_ref(), "abort")?,
        })
    }

    /// Whether this request is aborted.
    pub fn applies(&self, ctx: &Ctx<'_>) -> bool {
        self.selector.applies(ctx)
    }

    /// The answer to this request.
    pub fn answer(&self, ctx: &Ctx<'_>) -> Decision {
        let mut response = Response::new(self.status);
        for (name, value) in &self.headers {
            let value = value.render(ctx, &[]).0;
            if !value.bytes().any(|b| b.is_ascii_control()) {
                response = response.header(name.as_str(), value);
            }
        }
        if let Some(body) = &self.body {
            let has_type = self
                .headers
                .iter()
                .any(|(n, _)| n.eq_ignore_ascii_case("content-type"));
            if !has_type {
                response = response.header("Content-Type", "text/plain; charset=utf-8");
            }
            response = response.body(body.render(ctx, &[]).0);
        }
        Decision::Respond(response)
    }
}

/// `delay`, prepared.
pub struct Delay {
    /// How long the request is held.
    pub duration: Duration,
    selector: Selector,
}

impl Delay {
    /// Prepares `config`; an error names the field.
    pub fn new(config: DelayConfig) -> Result<Delay, ConfigError> {
        let duration = Duration::try_from_secs_f64(config.duration).map_err(|e| {
            ConfigError::field("delay.duration", format!("not a number of seconds: {e}"))
        })?;
        Ok(Delay {
            duration,
            selector: Selector::new(config.percentage, config.vars.as_ref(), "delay")?,
        })
    }

    /// Whether this request is delayed (never when the duration is 0).
    pub fn applies(&self, ctx: &Ctx<'_>) -> bool {
        !self.duration.is_zero() && self.selector.applies(ctx)
    }
}
