//! One logger instance's entry builder: the config's `log_format`, else
//! the plugin metadata's (read per request, parsed again only when it
//! changed), else the default entry.

use std::sync::{Arc, Mutex};

use radixgate_plugin::serde_json::{self, Value};
use radixgate_plugin::{ConfigError, Ctx, Host, LogLevel};

use crate::body::Bodies;
use crate::fields::Fields;
use crate::format::LogFormat;
use crate::full::{self, Server};
use crate::timing;

/// Builds the entries of one logger instance.
pub struct Logger {
    host: Host,
    own: Option<LogFormat>,
    /// The metadata text last seen and its `log_format` (`None`: none).
    meta: Mutex<Option<(String, Option<Arc<LogFormat>>)>>,
    server: Server,
    bodies: Bodies,
}

impl Logger {
    /// Checks the shared fields (see [`Fields::check`]) and keeps `host`.
    pub fn new(fields: &Fields, host: &Host) -> Result<Logger, ConfigError> {
        let own = fields.check()?.filter(|f| !f.is_empty());
        Ok(Logger {
            host: host.clone(),
            own,
            meta: Mutex::new(None),
            server: Server::detect(),
            bodies: Bodies::new(fields)?,
        })
    }

    /// Whether the instance reads the request body (`include_req_body`):
    /// the logger plugin's `Plugin::reads_request_body`.
    pub fn reads_request_body(&self) -> bool {
        self.bodies.reads_request_body()
    }

    /// Whether the instance observes the response body
    /// (`include_resp_body`): the logger plugin's
    /// `Plugin::observes_response_body`.
    pub fn observes_response_body(&self) -> bool {
        self.bodies.observes_response_body()
    }

    /// The body_filter phase's part: keeps the response body's chunk
    /// when it is logged.
    pub fn observe(&self, ctx: &mut Ctx<'_>, chunk: &[u8]) {
        self.bodies.observe(ctx, chunk);
    }

    /// The rewrite phase's part: marks the request's start.
    pub fn mark(&self, ctx: &mut Ctx<'_>) {
        timing::mark(ctx, &self.host);
    }

    /// This request's entry (in the log phase). The default entry gets
    /// the request and response bodies when they are logged
    /// (`request.body`, `response.body`); a `log_format` entry has only
    /// its keys.
    pub fn entry(&self, ctx: &Ctx<'_>) -> Value {
        // Taken first, so that a `log_format` entry frees it too.
        let response_body = self.bodies.take_response_body(ctx);
        if let Some(format) = &self.own {
            return format.render(ctx, &self.host);
        }
        if let Some(format) = self.metadata_format() {
            return format.render(ctx, &self.host);
        }
        let mut entry = full::entry(ctx, &self.host, &self.server);
        if let (Some(body), Some(Value::Object(request))) =
            (self.bodies.request_body(ctx), entry.get_mut("request"))
        {
            request.insert("body".into(), Value::String(body));
        }
        if let (Some(body), Some(Value::Object(response))) =
            (response_body, entry.get_mut("response"))
        {
            response.insert("body".into(), Value::String(body));
        }
        entry
    }

    /// The metadata's `log_format`, when it has a non-empty one. A
    /// metadata whose format is bad is logged and ignored (the default
    /// entry is written), as the host does not check metadata yet.
    fn metadata_format(&self) -> Option<Arc<LogFormat>> {
        let text = self.host.metadata()?;
        let mut cached = self.meta.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((seen, format)) = cached.as_ref() {
            if *seen == text {
                return format.clone();
            }
        }
        let format = parse_metadata(&text).unwrap_or_else(|e| {
            self.host.log(
                LogLevel::Warn,
                &format!("plugin_metadata ignored: {e}; writing the default entry"),
            );
            None
        });
        *cached = Some((text, format.clone()));
        format
    }
}

fn parse_metadata(text: &str) -> Result<Option<Arc<LogFormat>>, ConfigError> {
    let value: Value = serde_json::from_str(text).map_err(|e| ConfigError(e.to_string()))?;
    match value.get("log_format") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(map)) => {
            let format = LogFormat::parse(map, "log_format")?;
            Ok((!format.is_empty()).then(|| Arc::new(format)))
        }
        Some(_) => Err(ConfigError::field("log_format", "must be an object")),
    }
}
