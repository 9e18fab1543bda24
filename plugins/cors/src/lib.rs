//! `cors`: Cross-Origin Resource Sharing (APISIX's plugin, priority 4000).
//! A preflight (`OPTIONS`) is answered 200 in rewrite with the CORS headers;
//! other responses get them in header_filter when the request's origin is
//! allowed (`allow_origins`: `*`, `**`, a list; or
//! `allow_origins_by_regex`).
//!
//! ```json
//! "cors": {"allow_origins": "http://a.com,http://b.com", "allow_credential": true,
//!          "allow_methods": "GET,POST", "allow_headers": "X-Token", "max_age": 60}
//! ```

pub mod config;

use radixgate_plugin::{
    export_plugin, ConfigError, Ctx, Decision, Host, Phase, Phases, Plugin, Response,
};
use regex::Regex;

pub use config::{Config, Origins};

/// Every method, for `allow_methods: "**"`.
const ALL_METHODS: &str = "GET,POST,PUT,DELETE,PATCH,HEAD,OPTIONS,CONNECT,TRACE";
/// Request variable keeping the origin as the client sent it.
const ORIGIN_VAR: &str = "cors.original_origin";

/// One config's CORS policy, prepared once.
pub struct Cors {
    origins: Origins,
    /// The regexes of `allow_origins_by_regex`, joined (any may match).
    by_regex: Option<Regex>,
    /// `allow_origins` is not `*`: responses vary by Origin.
    vary: bool,
    methods: String,
    /// `None`: echo Access-Control-Request-Headers (`**`).
    headers: Option<String>,
    expose: Option<String>,
    max_age: String,
    credentials: bool,
}

impl Cors {
    /// The Access-Control-Allow-Origin value for `origin`, if allowed.
    fn allowed_origin(&self, origin: Option<&str>) -> Option<String> {
        let allowed = match &self.by_regex {
            Some(re) => origin.filter(|o| re.is_match(o)).map(str::to_string),
            None => match &self.origins {
                Origins::Any => Some("*".to_string()),
                Origins::Echo => Some(origin.unwrap_or("*").to_string()),
                Origins::One(one) => Some(one.clone()),
                Origins::List(list) => origin
                    .filter(|o| list.iter().any(|l| l == o))
                    .map(str::to_string),
            },
        }?;
        // As APISIX: only `*` or the request's own origin is ever sent.
        (allowed == "*" || Some(allowed.as_str()) == origin).then_some(allowed)
    }

    /// The CORS headers for a request from `origin` asking for `requested`
    /// headers (none when the origin is not allowed).
    fn headers(
        &self,
        origin: Option<&str>,
        requested: Option<&str>,
    ) -> Vec<(&'static str, String)> {
        let Some(allow_origin) = self.allowed_origin(origin) else {
            return Vec::new();
        };
        let mut out = vec![
            ("Access-Control-Allow-Origin", allow_origin),
            ("Access-Control-Allow-Methods", self.methods.clone()),
            ("Access-Control-Max-Age", self.max_age.clone()),
        ];
        if let Some(expose) = &self.expose {
            out.push(("Access-Control-Expose-Headers", expose.clone()));
        }
        match (&self.headers, requested) {
            (Some(h), _) => out.push(("Access-Control-Allow-Headers", h.clone())),
            (None, Some(r)) => out.push(("Access-Control-Allow-Headers", r.to_string())),
            (None, None) => {}
        }
        if self.credentials {
            out.push(("Access-Control-Allow-Credentials", "true".to_string()));
        }
        out
    }
}

/// A regex error on one line (the regex crate's spans several).
fn one_line(e: &regex::Error) -> String {
    e.to_string()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// Whether a Vary value already names Origin.
fn varies_by_origin(vary: &str) -> bool {
    vary.split(',')
        .any(|v| v.trim().eq_ignore_ascii_case("origin"))
}

impl Plugin for Cors {
    const NAME: &'static str = "cors";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const PRIORITY: i32 = 4000;
    const PHASES: Phases = Phases::of(Phase::Rewrite).with(Phase::HeaderFilter);
    const SCHEMA: &'static str = config::SCHEMA;

    type Config = Config;

    fn new(config: Config, _host: &Host) -> Result<Self, ConfigError> {
        config.check()?;
        let by_regex = match &config.allow_origins_by_regex {
            None => None,
            Some(list) if list.is_empty() => {
                return Err(ConfigError::field(
                    "allow_origins_by_regex",
                    "expect array to have at least 1 items",
                ))
            }
            Some(list) => {
                for (i, re) in list.iter().enumerate() {
                    Regex::new(re).map_err(|e| {
                        ConfigError::field(&format!("allow_origins_by_regex[{i}]"), one_line(&e))
                    })?;
                }
                let joined = list.iter().map(|r| format!("(?:{r})")).collect::<Vec<_>>();
                let joined = Regex::new(&joined.join("|"))
                    .map_err(|e| ConfigError::field("allow_origins_by_regex", one_line(&e)))?;
                Some(joined)
            }
        };
        let methods = match config.allow_methods.as_str() {
            "**" => ALL_METHODS.to_string(),
            m => m.to_string(),
        };
        let headers = (config.allow_headers != "**").then(|| config.allow_headers.clone());
        Ok(Cors {
            origins: Origins::parse(&config.allow_origins),
            by_regex,
            vary: config.allow_origins != "*",
            methods,
            headers,
            expose: config.expose_headers.filter(|e| !e.is_empty()),
            max_age: config.max_age.to_string(),
            credentials: config.allow_credential,
        })
    }

    fn rewrite(&self, ctx: &mut Ctx<'_>) -> Decision {
        let origin = ctx.header("Origin").map(str::to_string);
        if ctx.method() != "OPTIONS" {
            if let Some(origin) = origin {
                ctx.set_var(ORIGIN_VAR, &origin);
            }
            return Decision::Continue;
        }
        let requested = ctx.header("Access-Control-Request-Headers");
        let mut reply = Response::new(200);
        for (name, value) in self.headers(origin.as_deref(), requested) {
            reply = reply.header(name, value);
        }
        if self.vary {
            reply = reply.header("Vary", "Origin");
        }
        Decision::Respond(reply)
    }

    fn header_filter(&self, ctx: &mut Ctx<'_>) -> Decision {
        let origin = ctx.var(ORIGIN_VAR).or_else(|| ctx.header("Origin"));
        let requested = ctx.header("Access-Control-Request-Headers");
        let headers = self.headers(origin, requested);
        for (name, value) in &headers {
            ctx.set_response_header(name, value);
        }
        if self.vary && !ctx.response_header("Vary").is_some_and(varies_by_origin) {
            ctx.add_response_header("Vary", "Origin");
        }
        Decision::Continue
    }
}

export_plugin!(Cors);

#[cfg(test)]
mod tests;
