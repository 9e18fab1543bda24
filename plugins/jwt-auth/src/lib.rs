//! `jwt-auth`: authenticates a request by a JSON Web Token (APISIX's
//! plugin, priority 2510, rewrite phase). The token comes from header
//! `header` (default `authorization`, a `Bearer ` prefix dropped), else
//! query argument `query` (default `jwt`), else cookie `cookie` (default
//! `jwt`). Its claim `key_claim_name` (default `key`) names the consumer
//! whose jwt-auth config has that `key`; the token is then checked with
//! that consumer's `algorithm` (HS256/384/512 with `secret`, optionally
//! `base64_secret`; RS256/384/512, PS256/384/512, ES256/384 or EdDSA with
//! `public_key`) and no other, and its `exp` and `nbf` (those listed in
//! `claims_to_verify`) with the consumer's `lifetime_grace_period`. A
//! valid token sets the request's consumer, named to the node in
//! `X-Consumer-Username` (and `X-Credential-Identifier` for a credential).
//! Otherwise 401 with APISIX's messages and `WWW-Authenticate: Bearer
//! realm="<realm>"`, unless `anonymous_consumer` names a consumer to use.
//! `hide_credentials` removes the token from where it was found;
//! `store_in_ctx` puts the payload (JSON) in request variable
//! `jwt_auth_payload` for later plugins.
//!
//! ```json
//! "jwt-auth": {"header": "authorization", "hide_credentials": true}
//! ```
//! A consumer's config: `"jwt-auth": {"key": "jack-key", "secret": "s3cret"}`.

pub mod lookup;
pub mod token;
pub mod verify;

use radixgate_plugin::serde::Deserialize;
use radixgate_plugin::serde_json::{self, Value};
use radixgate_plugin::{
    export_plugin, ConfigError, Ctx, Decision, Host, LogLevel, Phase, Phases, Plugin, Response,
};

/// The config on a route, service or global rule.
#[derive(Debug, Deserialize)]
#[serde(crate = "radixgate_plugin::serde")]
pub struct Config {
    /// Header carrying the token (default `authorization`).
    #[serde(default = "default_header")]
    pub header: String,
    /// Query argument carrying the token (default `jwt`).
    #[serde(default = "default_jwt")]
    pub query: String,
    /// Cookie carrying the token (default `jwt`).
    #[serde(default = "default_jwt")]
    pub cookie: String,
    /// Remove the token before proxying (default false).
    #[serde(default)]
    pub hide_credentials: bool,
    /// The claim naming the consumer's key (default `key`).
    #[serde(default = "default_key_claim")]
    pub key_claim_name: String,
    /// Put the payload in request variable `jwt_auth_payload`.
    #[serde(default)]
    pub store_in_ctx: bool,
    /// The realm of the 401's `WWW-Authenticate` (default `jwt`).
    #[serde(default = "default_realm")]
    pub realm: String,
    /// Consumer used when the token is missing or invalid.
    #[serde(default)]
    pub anonymous_consumer: Option<String>,
    /// The time claims checked (default `exp` and `nbf`).
    #[serde(default = "default_claims")]
    pub claims_to_verify: Vec<String>,
}

fn default_header() -> String {
    "authorization".into()
}
fn default_jwt() -> String {
    "jwt".into()
}
fn default_key_claim() -> String {
    "key".into()
}
fn default_realm() -> String {
    "jwt".into()
}
fn default_claims() -> Vec<String> {
    vec!["exp".into(), "nbf".into()]
}

/// One config's authenticator.
pub struct JwtAuth {
    host: Host,
    config: Config,
    /// `Bearer realm="<realm>"`.
    challenge: String,
}

/// The request variable `store_in_ctx` fills.
pub const PAYLOAD_VAR: &str = "jwt_auth_payload";

impl JwtAuth {
    fn names(&self) -> token::Names<'_> {
        token::Names {
            header: &self.config.header,
            query: &self.config.query,
            cookie: &self.config.cookie,
        }
    }

    /// The consumer the token names, and its payload; or APISIX's message.
    fn authenticate(
        &self,
        ctx: &mut Ctx<'_>,
    ) -> Result<(lookup::Holder, serde_json::Map<String, Value>), &'static str> {
        let names = self.names();
        let (jwt, source) = token::find(ctx, &names).ok_or("Missing JWT token in request")?;
        if self.config.hide_credentials {
            token::hide(ctx, &names, source);
        }
        let claims = verify::unverified_claims(&jwt).ok_or("JWT token invalid")?;
        let key = match claims.get(&self.config.key_claim_name) {
            None | Some(Value::Null) => return Err("missing user key in JWT token"),
            Some(Value::String(key)) => key.as_str(),
            Some(_) => return Err("Invalid user key in JWT token"),
        };
        let (holder, consumer) = lookup::holder_of::<verify::Consumer>(&self.host, key)
            .ok_or("Invalid user key in JWT token")?;
        let now = self.host.now_unix_ms() / 1000;
        match verify::verify(&jwt, &consumer, &self.config.claims_to_verify, now) {
            Ok(payload) => Ok((holder, payload)),
            Err(why) => {
                self.host.log(
                    LogLevel::Warn,
                    &format!(
                        "failed to verify jwt of consumer {}: {why}",
                        holder.username
                    ),
                );
                Err("failed to verify jwt")
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
}

impl Plugin for JwtAuth {
    const NAME: &'static str = "jwt-auth";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const PRIORITY: i32 = 2510;
    const PHASES: Phases = Phases::of(Phase::Rewrite);
    const SCHEMA: &'static str = r#"{
        "type": "object",
        "properties": {
            "header": {"type": "string", "default": "authorization"},
            "query": {"type": "string", "default": "jwt"},
            "cookie": {"type": "string", "default": "jwt"},
            "hide_credentials": {"type": "boolean", "default": false},
            "key_claim_name": {"type": "string", "default": "key", "minLength": 1},
            "store_in_ctx": {"type": "boolean", "default": false},
            "realm": {"type": "string", "default": "jwt", "minLength": 1},
            "anonymous_consumer": {"type": "string", "minLength": 1},
            "claims_to_verify": {
                "type": "array",
                "items": {"type": "string", "enum": ["exp", "nbf"]},
                "uniqueItems": true,
                "default": ["exp", "nbf"]
            }
        }
    }"#;
    const CONSUMER_SCHEMA: Option<&'static str> = Some(
        r#"{
        "type": "object",
        "properties": {
            "key": {"type": "string", "minLength": 1},
            "secret": {"type": "string", "minLength": 1},
            "public_key": {"type": "string"},
            "private_key": {"type": "string"},
            "algorithm": {
                "type": "string",
                "enum": ["HS256", "HS384", "HS512", "RS256", "RS384", "RS512",
                         "ES256", "ES384", "PS256", "PS384", "PS512", "EdDSA"],
                "default": "HS256"
            },
            "exp": {"type": "integer", "minimum": 1, "default": 86400},
            "base64_secret": {"type": "boolean", "default": false},
            "lifetime_grace_period": {"type": "integer", "minimum": 0, "default": 0}
        },
        "if": {"properties": {"algorithm": {"enum": ["RS256", "RS384", "RS512", "ES256",
               "ES384", "PS256", "PS384", "PS512", "EdDSA"]}}, "required": ["algorithm"]},
        "then": {"required": ["public_key"]},
        "else": {"required": ["secret"]},
        "encrypt_fields": ["secret", "private_key"],
        "required": ["key"]
    }"#,
    );

    type Config = Config;

    fn new(config: Config, host: &Host) -> Result<Self, ConfigError> {
        if config.header.is_empty() || !config.header.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(ConfigError::field("header", "is not a valid header name"));
        }
        for (field, value) in [("query", &config.query), ("cookie", &config.cookie)] {
            if value.is_empty() {
                return Err(ConfigError::field(field, "must not be empty"));
            }
        }
        Ok(JwtAuth {
            host: host.clone(),
            challenge: format!("Bearer realm=\"{}\"", config.realm),
            config,
        })
    }

    fn rewrite(&self, ctx: &mut Ctx<'_>) -> Decision {
        let holder = match self.authenticate(ctx) {
            Ok((holder, payload)) => {
                if self.config.store_in_ctx {
                    ctx.set_var(PAYLOAD_VAR, &Value::Object(payload).to_string());
                }
                holder
            }
            Err(message) => match &self.config.anonymous_consumer {
                None => return self.unauthorized(message),
                Some(anonymous) => match lookup::anonymous(&self.host, Self::NAME, anonymous) {
                    Some(holder) => holder,
                    None => return self.unauthorized("Invalid user authorization"),
                },
            },
        };
        lookup::attach(ctx, &holder);
        Decision::Continue
    }
}

export_plugin!(JwtAuth);

#[cfg(test)]
mod tests;
