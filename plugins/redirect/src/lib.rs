//! `redirect`: answers a request with a redirect (APISIX's plugin,
//! priority 900, rewrite phase): to `uri` (with `$var` references), to
//! the path rewritten by `regex_uri` (when it matches; otherwise the
//! request goes on upstream), or, with `http_to_https`, a plain HTTP
//! request to `https://$host$request_uri` (301 for GET and HEAD, 308
//! otherwise, as APISIX answers). `encode_uri` percent-encodes the new
//! path, `append_query_string` appends the request's query.
//!
//! ```json
//! "redirect": {"regex_uri": ["^/iresty/(.*)/(.*)/(.*)", "/$1-$2-$3"], "ret_code": 301}
//! ```
//!
//! The scheme is the request's `X-Forwarded-Proto`, else request variable
//! `scheme`, else `http` (the gateway listens for plain HTTP). The
//! `Location` names the port of the gateway's TLS listener (request
//! variable `gateway_https_port`, as APISIX takes the first
//! `apisix.ssl.listen` port) unless it is 443 or there is no listener.

pub mod config;
mod location;

use radixgate_plugin::vars::Template;
use radixgate_plugin::{
    export_plugin, ConfigError, Ctx, Decision, Host, Phase, Phases, Plugin, Response,
};
use regex::Regex;

pub use config::Config;

/// Where a config sends requests.
enum Target {
    /// `uri`: a template.
    Uri(Template),
    /// `regex_uri`: the path substituted, when the regex matches.
    Regex {
        regex: Regex,
        /// The replacement in the regex crate's syntax (`${1}`).
        replacement: String,
    },
    /// `http_to_https: true`.
    Https,
    /// `http_to_https: false` alone: no redirect.
    Nothing,
}

/// One config's redirect, prepared once.
pub struct Redirect {
    target: Target,
    ret_code: u16,
    encode_uri: bool,
    append_query_string: bool,
}

/// A regex error on one line (the regex crate's spans several).
fn one_line(e: &regex::Error) -> String {
    e.to_string()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// The target of `config`; an error names the field.
fn target(config: &Config) -> Result<Target, ConfigError> {
    if let Some(uri) = &config.uri {
        return Ok(Target::Uri(Template::parse(uri)));
    }
    if let Some(pair) = &config.regex_uri {
        let [pattern, replacement] = pair.as_slice() else {
            return Err(ConfigError::field(
                "regex_uri",
                "must be [regex, replacement]",
            ));
        };
        let regex = Regex::new(pattern).map_err(|e| {
            ConfigError::field(
                "regex_uri",
                format!(
                    "invalid regex_uri ({pattern}, {replacement}), err: {}",
                    one_line(&e)
                ),
            )
        })?;
        return Ok(Target::Regex {
            regex,
            replacement: radixgate_plugin::replacement::replacement_syntax(replacement),
        });
    }
    match config.http_to_https {
        Some(true) => Ok(Target::Https),
        // Accepted by APISIX's schema, and does nothing there either.
        Some(false) => Ok(Target::Nothing),
        None => Err(ConfigError::field(
            "uri",
            "one of uri, regex_uri and http_to_https is required",
        )),
    }
}

impl Redirect {
    /// The new location for this request, before encoding and the query
    /// (`None`: no redirect) and the status to answer with.
    fn location(&self, ctx: &Ctx<'_>) -> Option<(String, u16)> {
        match &self.target {
            Target::Uri(template) => Some((template.render(ctx, &[]).0, self.ret_code)),
            Target::Regex { regex, replacement } => {
                let path = ctx.path();
                regex.is_match(path).then(|| {
                    (
                        regex.replacen(path, 1, replacement.as_str()).into_owned(),
                        self.ret_code,
                    )
                })
            }
            Target::Nothing => None,
            Target::Https => {
                if location::scheme(ctx) != "http" {
                    return None;
                }
                let code = match ctx.method() {
                    "GET" | "HEAD" => 301,
                    _ => 308,
                };
                Some((location::https(ctx), code))
            }
        }
    }
}

impl Plugin for Redirect {
    const NAME: &'static str = "redirect";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const PRIORITY: i32 = 900;
    const PHASES: Phases = Phases::of(Phase::Rewrite);
    const SCHEMA: &'static str = config::SCHEMA;

    type Config = Config;

    fn new(config: Config, _host: &Host) -> Result<Self, ConfigError> {
        if config.http_to_https == Some(true) && config.append_query_string {
            return Err(ConfigError::field(
                "append_query_string",
                "only one of `http_to_https` and `append_query_string` can be configured.",
            ));
        }
        if !(200..=999).contains(&config.ret_code) {
            return Err(ConfigError::field(
                "ret_code",
                "must be an HTTP status from 200 to 999",
            ));
        }
        Ok(Redirect {
            target: target(&config)?,
            ret_code: config.ret_code,
            encode_uri: config.encode_uri,
            append_query_string: config.append_query_string,
        })
    }

    fn rewrite(&self, ctx: &mut Ctx<'_>) -> Decision {
        let Some((mut uri, code)) = self.location(ctx) else {
            return Decision::Continue;
        };
        if self.encode_uri {
            uri = location::encode(&uri);
        }
        if self.append_query_string && !ctx.query().is_empty() {
            uri.push(if uri.contains('?') { '&' } else { '?' });
            uri.push_str(ctx.query());
        }
        if uri.contains(['\r', '\n', '\0']) {
            // A variable carried a line break: never into a header.
            return Decision::Error("the new location holds CR, LF or NUL".into());
        }
        Decision::Respond(Response::new(code).header("Location", uri))
    }
}

export_plugin!(Redirect);

#[cfg(test)]
mod tests;
