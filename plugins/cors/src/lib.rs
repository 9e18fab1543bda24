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
pub mod origins;

pub use config::Config;
pub use origins::{Origins, Policy};
use radixgate_plugin::{
    export_plugin, ConfigError, Ctx, Decision, Host, Phase, Phases, Plugin, Response,
};

/// Every method, for `allow_methods: "**"`.
const ALL_METHODS: &str = "GET,POST,PUT,DELETE,PATCH,HEAD,OPTIONS,CONNECT,TRACE";
/// Request variable keeping the origin as the client sent it.
const ORIGIN_VAR: &str = "cors.original_origin";

/// One config's CORS policy, prepared once.
pub struct Cors {
    /// `allow_origins_by_regex`, else `allow_origins`.
    allow: Policy,
    /// `timing_allow_origins_by_regex`, else `timing_allow_origins`.
    timing: Option<Policy>,
    /// `allow_origins` is not `*`, or regexes decide: responses vary by
    /// Origin (also when the origin is refused, as APISIX answers).
    vary: bool,
    methods: String,
    /// `None`: echo Access-Control-Request-Headers (`**`).
    headers: Option<String>,
    expose: Option<String>,
    max_age: String,
    credentials: bool,
}

impl Cors {
    /// The CORS headers for a request from `origin` asking for `requested`
    /// headers: the Access-Control-* ones when the origin is allowed,
    /// Timing-Allow-Origin when its own policy allows it.
    fn headers(
        &self,
        origin: Option<&str>,
        requested: Option<&str>,
    ) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        if let Some(allow_origin) = self.allow.allowed(origin) {
            out.push(("Access-Control-Allow-Origin", allow_origin));
            out.push(("Access-Control-Allow-Methods", self.methods.clone()));
            out.push(("Access-Control-Max-Age", self.max_age.clone()));
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
        }
        if let Some(timing) = self.timing.as_ref().and_then(|t| t.allowed(origin)) {
            out.push(("Timing-Allow-Origin", timing));
        }
        out
    }
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
        let allow = Policy::new(
            Some(&config.allow_origins),
            config.allow_origins_by_regex.as_deref(),
            "allow_origins_by_regex",
        )?
        .unwrap_or(Policy::List(Origins::Any));
        let timing = Policy::new(
            config.timing_allow_origins.as_deref(),
            config.timing_allow_origins_by_regex.as_deref(),
            "timing_allow_origins_by_regex",
        )?;
        let methods = match config.allow_methods.as_str() {
            "**" => ALL_METHODS.to_string(),
            m => m.to_string(),
        };
        let headers = (config.allow_headers != "**").then(|| config.allow_headers.clone());
        Ok(Cors {
            allow,
            timing,
            vary: config.allow_origins != "*" || config.allow_origins_by_regex.is_some(),
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
