//! The trait a plugin implements, and what its phases answer.

use std::future::Future;

use serde::de::DeserializeOwned;

use super::wait::Waiting;
use super::{Chunk, Ctx, Host};
use crate::abi::Phases;

/// A plugin: its declaration, its config, and one method per phase.
///
/// The phases are declared in the order they run for a request. Each has a
/// default that does nothing and returns [`Decision::Continue`]; implement
/// the ones listed in [`Plugin::PHASES`]. One value serves every request on
/// every worker thread, so phases take `&self`; per-request state goes into
/// the request's variables ([`Ctx::set_var`]). A panic in any method is
/// caught by the SDK and reported to the host as this plugin's failure (the
/// request gets a 500).
pub trait Plugin: Sized + Send + Sync + 'static {
    /// The name configs use (`"key-auth"`); unique among loaded plugins.
    const NAME: &'static str;
    /// The plugin's own version.
    const VERSION: &'static str;
    /// Run order within a phase, higher first (APISIX's numbers:
    /// key-auth 2500, limit-count 1002, prometheus 500).
    const PRIORITY: i32;
    /// The phases this plugin implements; the host calls no others.
    const PHASES: Phases;
    /// JSON Schema (draft 7, as JSON text) of the route config; the host
    /// checks a config against it before [`Plugin::new`] sees it.
    const SCHEMA: &'static str = r#"{"type":"object"}"#;
    /// JSON Schema of the consumer config (auth plugins only). As in
    /// APISIX, a schema's `encrypt_fields` (a list of dotted field paths,
    /// `["key"]`) names the fields stored encrypted in etcd; the host
    /// decrypts them before the plugin sees its config.
    const CONSUMER_SCHEMA: Option<&'static str> = None;
    /// JSON Schema of the plugin_metadata, if the plugin reads any.
    const METADATA_SCHEMA: Option<&'static str> = None;
    /// APISIX's `run_policy = "prefer_route"` (prometheus, skywalking):
    /// when a request's route (with its service and plugin_config) runs
    /// this plugin, the global rules' instance of it is skipped.
    const PREFER_ROUTE: bool = false;

    /// The config, parsed from the config's JSON with serde.
    type Config: DeserializeOwned;

    /// Builds an instance from a parsed config, when the config is loaded
    /// (never per request). `host` may be kept for use in phases. An error
    /// names the offending field.
    fn new(config: Self::Config, host: &Host) -> Result<Self, ConfigError>;

    /// Runs first, before any access check: rewrite the request (uri,
    /// headers). `Respond` answers the request without going upstream.
    fn rewrite(&self, _ctx: &mut Ctx<'_>) -> Decision {
        Decision::Continue
    }

    /// Runs after every plugin's rewrite: authentication, authorization,
    /// rate limits. `Respond` answers the request (401, 403, 429...).
    fn access(&self, _ctx: &mut Ctx<'_>) -> Decision {
        Decision::Continue
    }

    /// Runs after the balancer chose a node, again before each retry.
    /// `Respond` here is treated as an error.
    fn before_proxy(&self, _ctx: &mut Ctx<'_>) -> Decision {
        Decision::Continue
    }

    /// Runs when the response status and headers are known (from the
    /// upstream or a plugin's reply); may change them. `Respond` here is
    /// treated as an error.
    fn header_filter(&self, _ctx: &mut Ctx<'_>) -> Decision {
        Decision::Continue
    }

    /// Runs for each chunk of the response body as it streams; may replace
    /// the chunk. `Respond` here is treated as an error.
    fn body_filter(&self, _ctx: &mut Ctx<'_>, _chunk: &mut Chunk<'_>) -> Decision {
        Decision::Continue
    }

    /// Runs after the response was sent (never delays it): metrics, logs.
    /// Its decision is only logged when it is an error.
    fn log(&self, _ctx: &mut Ctx<'_>) -> Decision {
        Decision::Continue
    }

    /// Whether this instance reads the request body ([`Ctx::request_body`],
    /// ABI 1.3): the host then reads it whole, up to its body size limit,
    /// before the request's first phase, on every request of the routes
    /// (and global rules) this instance serves. Asked once, when the
    /// instance is built; say so only for configs that need it.
    fn reads_request_body(&self) -> bool {
        false
    }

    /// Whether this instance observes the response body (ABI 1.3): the
    /// host then runs [`Plugin::body_filter`] on each chunk even when
    /// [`Plugin::PHASES`] leaves body_filter out, ignoring any replacement
    /// (the response keeps its `Content-Length`). Asked once, when the
    /// instance is built; say so only for configs that need it. A plugin
    /// whose `PHASES` has body_filter filters on every instance instead.
    fn observes_response_body(&self) -> bool {
        false
    }
}

/// What a phase decides.
#[derive(Debug)]
pub enum Decision {
    /// Go on with the next plugin and phase.
    Continue,
    /// Answer the request with this response (rewrite and access).
    Respond(Response),
    /// Fail the request: the host answers 500 and logs the message with the
    /// plugin's name.
    Error(String),
    /// Decide later, after waiting on host operations (every phase but
    /// body_filter); made by [`Decision::wait`] and [`Decision::wait_then`].
    Wait(Waiting),
}

impl Decision {
    /// A response with `status` and `body` and no headers.
    pub fn respond(status: u16, body: impl Into<Vec<u8>>) -> Decision {
        Decision::Respond(Response::new(status).body(body))
    }

    /// Decides what `future` comes to, after it waited on host operations
    /// ([`Host::sleep`], [`Host::http`], [`Host::redis`]; no other future
    /// may be awaited). The future owns what it uses (`'static`): clone
    /// what it needs of the plugin and the request before.
    pub fn wait<F>(future: F) -> Decision
    where
        F: Future<Output = Decision> + Send + 'static,
    {
        Decision::wait_then(future, |_, decision| decision)
    }

    /// Waits for `future` as [`Decision::wait`] does, then decides with
    /// `then`, which has the request in hand again (to set headers or
    /// variables from what the future found).
    pub fn wait_then<F, T, K>(future: F, then: K) -> Decision
    where
        F: Future<Output = T> + Send + 'static,
        T: Send + 'static,
        K: FnOnce(&mut Ctx<'_>, T) -> Decision + Send + 'static,
    {
        Decision::Wait(Waiting::new(future, then))
    }
}

impl PartialEq for Decision {
    /// Decisions are equal when they say the same; a waiting decision
    /// equals none.
    fn eq(&self, other: &Decision) -> bool {
        match (self, other) {
            (Decision::Continue, Decision::Continue) => true,
            (Decision::Respond(a), Decision::Respond(b)) => a == b,
            (Decision::Error(a), Decision::Error(b)) => a == b,
            _ => false,
        }
    }
}

/// A response a plugin answers with.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Response {
    /// HTTP status code.
    pub status: u16,
    /// Header lines in order.
    pub headers: Vec<(String, String)>,
    /// Body bytes.
    pub body: Vec<u8>,
}

impl Response {
    /// An empty response with `status`.
    pub fn new(status: u16) -> Response {
        Response {
            status,
            ..Response::default()
        }
    }

    /// This response with a header line appended.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Response {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// This response with `body`.
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Response {
        self.body = body.into();
        self
    }
}

/// A config the plugin cannot use; the message names the field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError(pub String);

impl ConfigError {
    /// An error about `field`: `"<field>: <reason>"`.
    pub fn field(field: &str, reason: impl std::fmt::Display) -> ConfigError {
        ConfigError(format!("{field}: {reason}"))
    }
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ConfigError {}
