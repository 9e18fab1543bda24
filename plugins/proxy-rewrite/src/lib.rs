//! `proxy-rewrite`: changes the request sent upstream (APISIX's plugin,
//! priority 1008): `uri` (with `$var` references) or `regex_uri` (pairs of
//! regex and replacement, the first that matches applies; `$1` captures),
//! `host`, `method`, and `headers` (`add`, `set`, `remove`; or APISIX's
//! older flat map, which sets). The original query is kept. Runs in rewrite.
//!
//! ```json
//! "proxy-rewrite": {"regex_uri": ["^/api/(.*)", "/$1"], "host": "example.com",
//!                   "headers": {"set": {"X-Api-Version": "v2"}, "remove": ["X-Debug"]}}
//! ```

pub mod config;
mod uri;
pub use radixgate_plugin::vars;

use radixgate_plugin::{export_plugin, ConfigError, Ctx, Decision, Host, Phase, Phases, Plugin};
use regex::Regex;

pub use config::{Config, HeaderOps};
use vars::Template;

/// One `regex_uri` pair, compiled.
struct RegexRule {
    regex: Regex,
    /// The replacement in the regex crate's syntax (`${1}`).
    replacement: String,
}

/// One config's rewrite, prepared once.
pub struct ProxyRewrite {
    uri: Option<Template>,
    regex_uri: Vec<RegexRule>,
    host: Option<String>,
    method: Option<String>,
    add: Vec<(String, Template)>,
    set: Vec<(String, Template)>,
    remove: Vec<String>,
    raw_uri: bool,
}

fn templates(pairs: Vec<(String, String)>) -> Vec<(String, Template)> {
    pairs
        .into_iter()
        .map(|(name, value)| (name, Template::parse(&value)))
        .collect()
}

/// A regex error on one line (the regex crate's spans several).
fn one_line(e: &regex::Error) -> String {
    e.to_string()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

fn regex_rules(list: &[String]) -> Result<Vec<RegexRule>, ConfigError> {
    if list.len() < 2 || !list.len().is_multiple_of(2) {
        return Err(ConfigError::field(
            "regex_uri",
            "must hold pairs of [regex, replacement]",
        ));
    }
    list.chunks(2)
        .enumerate()
        .map(|(i, pair)| {
            let regex = Regex::new(&pair[0]).map_err(|e| {
                ConfigError::field(
                    &format!("regex_uri[{}]", 2 * i),
                    format!(
                        "invalid regex_uri({}, {}): {}",
                        pair[0],
                        pair[1],
                        one_line(&e)
                    ),
                )
            })?;
            Ok(RegexRule {
                regex,
                replacement: uri::replacement_syntax(&pair[1]),
            })
        })
        .collect()
}

impl ProxyRewrite {
    /// The new path (without the query) and the regex captures, if any.
    fn new_path<'c>(&self, ctx: &'c Ctx<'_>) -> (Option<String>, Vec<Option<&'c str>>) {
        if let Some(uri) = &self.uri {
            return (Some(uri.render(ctx, &[]).0), Vec::new());
        }
        let path = ctx.path();
        for rule in &self.regex_uri {
            if let Some(caps) = rule.regex.captures(path) {
                let captures = caps.iter().map(|m| m.map(|m| m.as_str())).collect();
                let rewritten = rule.regex.replacen(path, 1, rule.replacement.as_str());
                return (Some(rewritten.into_owned()), captures);
            }
        }
        (None, Vec::new())
    }
}

impl Plugin for ProxyRewrite {
    const NAME: &'static str = "proxy-rewrite";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const PRIORITY: i32 = 1008;
    const PHASES: Phases = Phases::of(Phase::Rewrite);
    const SCHEMA: &'static str = config::SCHEMA;

    type Config = Config;

    fn new(config: Config, _host: &Host) -> Result<Self, ConfigError> {
        if let Some(uri) = &config.uri {
            if !uri.starts_with('/') || uri.len() > 4096 {
                return Err(ConfigError::field(
                    "uri",
                    "must start with / (at most 4096 bytes)",
                ));
            }
        }
        if let Some(method) = &config.method {
            config::check_method(method)?;
        }
        if let Some(host) = &config.host {
            if !uri::valid_host(host) {
                return Err(ConfigError::field(
                    "host",
                    "must match ^[0-9a-zA-Z-.]+(:\\d{1,5})?$",
                ));
            }
        }
        let regex_uri = match &config.regex_uri {
            Some(list) => regex_rules(list)?,
            None => Vec::new(),
        };
        let ops = match &config.headers {
            Some(headers) => config::header_ops(headers)?,
            None => HeaderOps::default(),
        };
        Ok(ProxyRewrite {
            uri: config.uri.as_deref().map(Template::parse),
            regex_uri,
            host: config.host,
            method: config.method,
            add: templates(ops.add),
            set: templates(ops.set),
            remove: ops.remove,
            raw_uri: config.use_real_request_uri_unsafe,
        })
    }

    fn rewrite(&self, ctx: &mut Ctx<'_>) -> Decision {
        let (path, captures) = self.new_path(ctx);
        // Owned, so that the request can be edited while they are used.
        let captures: Vec<Option<String>> = captures
            .into_iter()
            .map(|c| c.map(str::to_string))
            .collect();
        let caps: Vec<Option<&str>> = captures.iter().map(|c| c.as_deref()).collect();
        if let Some(path) = path {
            let uri = uri::upstream_uri(&path, ctx.query(), self.raw_uri);
            ctx.set_uri(&uri);
        }
        if let Some(host) = &self.host {
            ctx.set_header("Host", host);
        }
        for (name, template) in &self.add {
            let value = template.render(ctx, &caps).0;
            ctx.add_header(name, &value);
        }
        for (name, template) in &self.set {
            let value = template.render(ctx, &caps).0;
            if value.is_empty() {
                ctx.remove_header(name);
            } else {
                ctx.set_header(name, &value);
            }
        }
        for name in &self.remove {
            ctx.remove_header(name);
        }
        if let Some(method) = &self.method {
            ctx.set_method(method);
        }
        Decision::Continue
    }
}

export_plugin!(ProxyRewrite);

#[cfg(test)]
mod tests;
