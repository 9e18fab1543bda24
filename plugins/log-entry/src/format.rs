//! `log_format`: an entry of the config's keys, each a `$var` reference
//! (resolved per request) or literal text, as APISIX's
//! `get_custom_format_log`: a variable with no value leaves its key out
//! (Lua's `nil` in the entry table), and `route_id` and `service_id` of
//! the matched route are added.

use radixgate_plugin::serde_json::{Map, Value};
use radixgate_plugin::vars::VarName;
use radixgate_plugin::{ConfigError, Ctx, Host};

use crate::timing;

/// A parsed `log_format`, built once per config (or per metadata change).
#[derive(Debug, Clone, PartialEq)]
pub struct LogFormat {
    items: Vec<(String, Item)>,
}

#[derive(Debug, Clone, PartialEq)]
enum Item {
    Literal(String),
    Var(LogVar),
}

/// The variables a log line reads besides the request's ([`VarName`]).
#[derive(Debug, Clone, PartialEq)]
enum LogVar {
    /// `status`: the response status.
    Status,
    /// `time_iso8601`: now, in UTC.
    TimeIso8601,
    /// `msec`: now, in seconds with milliseconds.
    Msec,
    /// `request_time`: the host's, else seconds since the request's start
    /// (see [`timing`]).
    RequestTime,
    /// Any request variable.
    Request(VarName),
}

impl LogFormat {
    /// Parses a `log_format` object; `field` names it in errors (a value
    /// that is not text: `log_format.host: must be a string`).
    pub fn parse(format: &Map<String, Value>, field: &str) -> Result<LogFormat, ConfigError> {
        let items = format
            .iter()
            .map(|(key, value)| {
                let text = value.as_str().ok_or_else(|| {
                    ConfigError::field(&format!("{field}.{key}"), "must be a string")
                })?;
                let item = match text.strip_prefix('$') {
                    Some(name) => Item::Var(match name {
                        "status" => LogVar::Status,
                        "time_iso8601" => LogVar::TimeIso8601,
                        "msec" => LogVar::Msec,
                        "request_time" => LogVar::RequestTime,
                        _ => LogVar::Request(VarName::parse(name)),
                    }),
                    None => Item::Literal(text.to_owned()),
                };
                Ok((key.clone(), item))
            })
            .collect::<Result<_, ConfigError>>()?;
        Ok(LogFormat { items })
    }

    /// Whether the format has no key (APISIX then logs the full entry).
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// This request's entry.
    pub fn render(&self, ctx: &Ctx<'_>, host: &Host) -> Value {
        let mut entry = Map::new();
        for (key, item) in &self.items {
            let value = match item {
                Item::Literal(text) => Some(text.clone()),
                Item::Var(var) => resolve(var, ctx, host),
            };
            if let Some(value) = value {
                entry.insert(key.clone(), Value::String(value));
            }
        }
        let route = ctx.route_id();
        if !route.is_empty() {
            entry.insert("route_id".into(), route.into());
            if let Some(service) = ctx.var("service_id") {
                entry.insert("service_id".into(), service.into());
            }
        }
        Value::Object(entry)
    }
}

fn resolve(var: &LogVar, ctx: &Ctx<'_>, host: &Host) -> Option<String> {
    match var {
        LogVar::Status => Some(ctx.response_status().to_string()),
        LogVar::TimeIso8601 => Some(timing::iso8601(host.now_unix_ms())),
        LogVar::Msec => {
            let ms = host.now_unix_ms();
            Some(format!("{}.{:03}", ms / 1000, ms % 1000))
        }
        LogVar::RequestTime => match ctx.var("request_time") {
            Some(t) => Some(t.to_owned()),
            None => {
                let t = timing::read(ctx, host);
                Some(format!("{:.3}", t.latency_ms / 1000.0))
            }
        },
        LogVar::Request(name) => name.resolve(ctx).map(|v| v.into_owned()),
    }
}
