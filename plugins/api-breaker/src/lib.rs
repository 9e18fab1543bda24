//! `api-breaker`: a circuit breaker in front of a node (APISIX's plugin,
//! priority 1005). The log phase counts the node's answers per host and
//! path: `unhealthy.http_statuses` are failures, and every
//! `unhealthy.failures` of them open the breaker; while open, access
//! answers `break_response_code` (with `break_response_body` and, with a
//! body, `break_response_headers`) without asking the node. Open for 2 s
//! the first time, then 4, 8, ... up to `max_breaker_sec`, as in APISIX;
//! `healthy.successes` answers among `healthy.http_statuses` after a
//! failure close it and clear the count.
//!
//! ```json
//! "api-breaker": {"break_response_code": 502,
//!                 "unhealthy": {"http_statuses": [500, 503], "failures": 3},
//!                 "healthy": {"http_statuses": [200], "successes": 1}}
//! ```
//!
//! The state lives in the host's shared store, so every worker sees the
//! same breaker. The status counted is the response's as the log phase
//! sees it (after header_filter plugins), for requests that went to a
//! node; a request answered by a plugin is not counted.

pub mod config;
mod state;

use radixgate_plugin::vars::Template;
use radixgate_plugin::{
    export_plugin, ConfigError, Ctx, Decision, Host, Phase, Phases, Plugin, Response,
};

pub use config::Config;
use state::{break_ms, clear, read, Keys};

/// One config's breaker, prepared once.
pub struct ApiBreaker {
    host: Host,
    code: u16,
    body: Option<String>,
    headers: Vec<(String, Template)>,
    max_sec: u64,
    unhealthy_statuses: Vec<u16>,
    failures: u64,
    healthy_statuses: Vec<u16>,
    successes: u64,
}

/// An HTTP token (a header name).
fn is_token(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// Checks that every status of `field` lies in `range`.
fn statuses(
    list: Vec<u16>,
    field: &str,
    range: std::ops::RangeInclusive<u16>,
) -> Result<Vec<u16>, ConfigError> {
    if list.is_empty() {
        return Err(ConfigError::field(
            field,
            "expect array to have at least 1 items",
        ));
    }
    match list.iter().position(|s| !range.contains(s)) {
        Some(i) => Err(ConfigError::field(
            &format!("{field}[{i}]"),
            format!("must be from {} to {}", range.start(), range.end()),
        )),
        None => Ok(list),
    }
}

impl ApiBreaker {
    /// The answer while the breaker is open.
    fn open_answer(&self, ctx: &Ctx<'_>) -> Decision {
        let mut response = Response::new(self.code);
        if let Some(body) = &self.body {
            for (name, value) in &self.headers {
                let value = value.render(ctx, &[]).0;
                if !value.bytes().any(|b| b.is_ascii_control()) {
                    response = response.header(name.as_str(), value);
                }
            }
            response = response.body(body.as_bytes());
        }
        Decision::Respond(response)
    }
}

impl Plugin for ApiBreaker {
    const NAME: &'static str = "api-breaker";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const PRIORITY: i32 = 1005;
    const PHASES: Phases = Phases::of(Phase::Access).with(Phase::Log);
    const SCHEMA: &'static str = config::SCHEMA;

    type Config = Config;

    fn new(config: Config, host: &Host) -> Result<Self, ConfigError> {
        if !(200..=599).contains(&config.break_response_code) {
            return Err(ConfigError::field(
                "break_response_code",
                "must be from 200 to 599",
            ));
        }
        if config.max_breaker_sec < 3 {
            return Err(ConfigError::field("max_breaker_sec", "must be at least 3"));
        }
        if config.unhealthy.failures < 1 {
            return Err(ConfigError::field(
                "unhealthy.failures",
                "must be at least 1",
            ));
        }
        if config.healthy.successes < 1 {
            return Err(ConfigError::field(
                "healthy.successes",
                "must be at least 1",
            ));
        }
        let mut headers = Vec::new();
        for (i, line) in config.break_response_headers.iter().enumerate() {
            if !is_token(&line.key) {
                return Err(ConfigError::field(
                    &format!("break_response_headers[{i}].key"),
                    "invalid field character in header",
                ));
            }
            if line.value.contains(['\r', '\n']) {
                return Err(ConfigError::field(
                    &format!("break_response_headers[{i}].value"),
                    "invalid value character in header",
                ));
            }
            headers.push((line.key.clone(), Template::parse(&line.value)));
        }
        Ok(ApiBreaker {
            host: host.clone(),
            code: config.break_response_code,
            body: config.break_response_body,
            headers,
            max_sec: config.max_breaker_sec,
            unhealthy_statuses: statuses(
                config.unhealthy.http_statuses,
                "unhealthy.http_statuses",
                500..=599,
            )?,
            failures: config.unhealthy.failures,
            healthy_statuses: statuses(
                config.healthy.http_statuses,
                "healthy.http_statuses",
                200..=499,
            )?,
            successes: config.healthy.successes,
        })
    }

    fn access(&self, ctx: &mut Ctx<'_>) -> Decision {
        let keys = Keys::of(ctx);
        let counted = read(&self.host, &keys.unhealthy);
        if counted == 0 {
            return Decision::Continue;
        }
        let opened = read(&self.host, &keys.opened);
        if opened == 0 {
            return Decision::Continue;
        }
        let until = opened.saturating_add(break_ms(counted, self.failures, self.max_sec));
        if self.host.now_unix_ms() <= until {
            return self.open_answer(ctx);
        }
        Decision::Continue
    }

    fn log(&self, ctx: &mut Ctx<'_>) -> Decision {
        // Only answers from a node count (not the breaker's own, nor
        // another plugin's).
        if ctx.var("upstream_addr").is_none() {
            return Decision::Continue;
        }
        let status = ctx.response_status();
        let keys = Keys::of(ctx);
        if self.unhealthy_statuses.contains(&status) {
            let counted = self.host.incr(&keys.unhealthy, 1, 0).value;
            clear(&self.host, &keys.healthy);
            if counted > 0 && (counted as u64).is_multiple_of(self.failures) {
                let now = self.host.now_unix_ms().to_string();
                self.host
                    .set(&keys.opened, &now, self.max_sec.saturating_mul(1000));
            }
            return Decision::Continue;
        }
        if !self.healthy_statuses.contains(&status) || read(&self.host, &keys.unhealthy) == 0 {
            return Decision::Continue;
        }
        let healthy = self.host.incr(&keys.healthy, 1, 0).value;
        if healthy > 0 && healthy as u64 >= self.successes {
            for key in [&keys.opened, &keys.unhealthy, &keys.healthy] {
                clear(&self.host, key);
            }
        }
        Decision::Continue
    }
}

export_plugin!(ApiBreaker);

#[cfg(test)]
mod tests;
