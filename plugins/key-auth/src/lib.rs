//! `key-auth`: authenticates a request by a consumer's key (APISIX's
//! plugin, priority 2500). The key comes from header `header` (default
//! `apikey`) or, when that is absent, query argument `query` (default
//! `apikey`). A known key sets the request's consumer, named to the node
//! in `X-Consumer-Username` (and `X-Credential-Identifier` when a
//! credential holds the key); an unknown or missing one is answered 401
//! with APISIX's messages and `WWW-Authenticate: apikey realm="<realm>"`,
//! unless `anonymous_consumer` names a consumer to use instead (one that
//! does not exist gets APISIX's `Invalid user authorization` 401).
//! `hide_credentials` removes the key from what is sent upstream. Runs in
//! rewrite.
//!
//! ```json
//! "key-auth": {"header": "apikey", "hide_credentials": true}
//! ```
//! A consumer's config: `"key-auth": {"key": "auth-one"}`.

pub mod lookup;

use std::borrow::Cow;

use radixgate_plugin::serde::Deserialize;
use radixgate_plugin::{
    export_plugin, ConfigError, Ctx, Decision, Host, Phase, Phases, Plugin, Response,
};

/// The config on a route, service or global rule.
#[derive(Debug, Deserialize)]
#[serde(crate = "radixgate_plugin::serde")]
pub struct Config {
    /// Header carrying the key (default `apikey`).
    #[serde(default = "default_name")]
    pub header: String,
    /// Query argument carrying the key (default `apikey`).
    #[serde(default = "default_name")]
    pub query: String,
    /// Remove the key before proxying (default false).
    #[serde(default)]
    pub hide_credentials: bool,
    /// Consumer used when no valid key is given (instead of a 401).
    #[serde(default)]
    pub anonymous_consumer: Option<String>,
    /// The realm of the 401's `WWW-Authenticate` (default `key`).
    #[serde(default = "default_realm")]
    pub realm: String,
}

fn default_name() -> String {
    "apikey".into()
}

fn default_realm() -> String {
    "key".into()
}

/// One config's authenticator.
pub struct KeyAuth {
    host: Host,
    config: Config,
    /// `apikey realm="<realm>"`.
    challenge: String,
}

/// Where the key was found.
#[derive(Clone, Copy)]
enum Found {
    Header,
    Query,
}

impl KeyAuth {
    /// The key (borrowed from the request when it comes from a header).
    fn find_key<'c>(&self, ctx: &'c Ctx<'_>) -> Option<(Cow<'c, str>, Found)> {
        if let Some(key) = ctx.header(&self.config.header) {
            return Some((Cow::Borrowed(key), Found::Header));
        }
        ctx.query_arg(&self.config.query)
            .map(|raw| (Cow::Owned(lookup::decode_query_value(raw)), Found::Query))
    }

    fn hide(&self, ctx: &mut Ctx<'_>, found: Found) {
        match found {
            Found::Header => ctx.remove_header(&self.config.header),
            Found::Query => {
                let query = lookup::query_without(ctx.query(), &self.config.query);
                let uri = if query.is_empty() {
                    ctx.path().to_string()
                } else {
                    format!("{}?{}", ctx.path(), query)
                };
                ctx.set_uri(&uri);
            }
        }
    }

    /// A 401 with `message` and the realm.
    fn unauthorized(&self, message: &str) -> Decision {
        let body = format!("{{\"message\":\"{message}\"}}");
        Decision::Respond(
            Response::new(401)
                .header("Content-Type", "application/json")
                .header("WWW-Authenticate", self.challenge.as_str())
                .body(body),
        )
    }

    /// No valid key: the anonymous consumer when it exists, else a 401
    /// with `message` (APISIX's own when the anonymous consumer is missing).
    fn reject(&self, ctx: &mut Ctx<'_>, message: &str) -> Decision {
        let Some(anonymous) = &self.config.anonymous_consumer else {
            return self.unauthorized(message);
        };
        match lookup::anonymous(&self.host, Self::NAME, anonymous) {
            Some(holder) => {
                lookup::attach(ctx, &holder);
                Decision::Continue
            }
            None => self.unauthorized("Invalid user authorization"),
        }
    }
}

impl Plugin for KeyAuth {
    const NAME: &'static str = "key-auth";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const PRIORITY: i32 = 2500;
    const PHASES: Phases = Phases::of(Phase::Rewrite);
    const SCHEMA: &'static str = r#"{
        "type": "object",
        "properties": {
            "header": {"type": "string", "default": "apikey"},
            "query": {"type": "string", "default": "apikey"},
            "hide_credentials": {"type": "boolean", "default": false},
            "anonymous_consumer": {"type": "string", "minLength": 1},
            "realm": {"type": "string", "default": "key"}
        }
    }"#;
    const CONSUMER_SCHEMA: Option<&'static str> = Some(
        r#"{
        "type": "object",
        "properties": {"key": {"type": "string"}},
        "required": ["key"],
        "encrypt_fields": ["key"]
    }"#,
    );

    type Config = Config;

    fn new(config: Config, host: &Host) -> Result<Self, ConfigError> {
        if config.header.is_empty() || !config.header.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(ConfigError::field("header", "is not a valid header name"));
        }
        if config.query.is_empty() {
            return Err(ConfigError::field("query", "must not be empty"));
        }
        if config.anonymous_consumer.as_deref() == Some("") {
            return Err(ConfigError::field(
                "anonymous_consumer",
                "must not be empty",
            ));
        }
        Ok(KeyAuth {
            host: host.clone(),
            challenge: format!("apikey realm=\"{}\"", config.realm),
            config,
        })
    }

    fn rewrite(&self, ctx: &mut Ctx<'_>) -> Decision {
        // The key is copied into its store key first: the request it was
        // read from is then edited while the owner is read (borrowed).
        let looked_up = self
            .find_key(ctx)
            .map(|(key, found)| (lookup::StoreKey::of(&key), found));
        let Some((store_key, found)) = looked_up else {
            return self.reject(ctx, "Missing API key in request");
        };
        let attached = lookup::with_owner(&self.host, store_key.as_str(), |owner| {
            if self.config.hide_credentials {
                self.hide(ctx, found);
            }
            lookup::attach_owner(ctx, owner);
        });
        if attached.is_none() {
            return self.reject(ctx, "Invalid API key in request");
        }
        Decision::Continue
    }
}

export_plugin!(KeyAuth);

#[cfg(test)]
mod tests;
