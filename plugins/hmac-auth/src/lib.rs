//! `hmac-auth`: authenticates a request by an HMAC signature (APISIX 3.x's
//! plugin, priority 2530, rewrite phase), `Authorization: Signature
//! keyId="...",algorithm="hmac-sha256",headers="@request-target date",
//! signature="<base64>"`. `keyId` names the consumer whose hmac-auth
//! config holds that `key_id`; the signature is the HMAC (`hmac-sha1`,
//! `hmac-sha256` or `hmac-sha512`, among `allowed_algorithms`) with its
//! `secret_key` of the signing string: the key id, then for each name of
//! `headers` a line `name: value` (`@request-target`: `METHOD
//! /path?query`), each line ending in `\n`; compared in constant time.
//! `Date` (or `X-Date`) must be within `clock_skew` seconds (default 300)
//! of the gateway's clock; every header of `signed_headers` must be
//! signed. A valid request sets its consumer (`X-Consumer-Username`,
//! `X-Credential-Identifier`); otherwise 401 with APISIX's messages,
//! unless `anonymous_consumer` names one. `hide_credentials` removes the
//! `Authorization` header.
//!
//! With `validate_request_body`, the request must also carry `Digest:
//! SHA-256=<base64 of the SHA-256 of its body>`, checked against the body
//! the gateway read for it (the instance says it reads bodies, ABI 1.3);
//! a missing or wrong digest is APISIX's 401.
//!
//! ```json
//! "hmac-auth": {"clock_skew": 300, "signed_headers": ["date"]}
//! ```
//! A consumer's config: `"hmac-auth": {"key_id": "john-key", "secret_key": "john-secret"}`.

pub mod lookup;
pub mod signature;

use std::time::{Duration, UNIX_EPOCH};

use radixgate_plugin::serde::Deserialize;
use radixgate_plugin::{
    export_plugin, ConfigError, Ctx, Decision, Host, LogLevel, Phase, Phases, Plugin, Response,
};

/// The config on a route, service or global rule.
#[derive(Debug, Deserialize)]
#[serde(crate = "radixgate_plugin::serde")]
pub struct Config {
    /// Algorithms accepted (default all three).
    #[serde(default = "all_algorithms")]
    pub allowed_algorithms: Vec<String>,
    /// Seconds `Date` may be off the gateway's clock (default 300).
    #[serde(default = "default_skew")]
    pub clock_skew: u64,
    /// Headers every signature must cover.
    #[serde(default)]
    pub signed_headers: Vec<String>,
    /// Check the body against its `Digest` header.
    #[serde(default)]
    pub validate_request_body: bool,
    /// Remove `Authorization` before proxying.
    #[serde(default)]
    pub hide_credentials: bool,
    /// Consumer used when the request is not validated.
    #[serde(default)]
    pub anonymous_consumer: Option<String>,
}

fn all_algorithms() -> Vec<String> {
    signature::ALGORITHMS
        .iter()
        .map(|a| a.to_string())
        .collect()
}

fn default_skew() -> u64 {
    300
}

/// A consumer's hmac-auth config, as the host publishes it.
#[derive(Debug, Deserialize)]
#[serde(crate = "radixgate_plugin::serde")]
pub struct Credentials {
    /// The HMAC key.
    pub secret_key: String,
}

/// One config's authenticator.
pub struct HmacAuth {
    host: Host,
    config: Config,
}

impl HmacAuth {
    /// The consumer the signature names, or APISIX's message (and, for
    /// the log, why).
    fn authenticate(&self, ctx: &Ctx<'_>) -> Result<lookup::Holder, (String, String)> {
        let fields = ctx
            .header("Authorization")
            .ok_or("missing Authorization header")
            .and_then(signature::Fields::parse)
            .map_err(|why| {
                let message = format!("client request can't be validated: {why}");
                (message.clone(), message)
            })?;
        self.validate(ctx, &fields).map_err(|why| {
            (
                "client request can't be validated".to_string(),
                format!("client request can't be validated: {why}"),
            )
        })
    }

    fn validate(
        &self,
        ctx: &Ctx<'_>,
        fields: &signature::Fields,
    ) -> Result<lookup::Holder, String> {
        let (key_id, sig) = match (&fields.key_id, &fields.signature) {
            (Some(k), Some(s)) => (k, s),
            _ => return Err("keyId or signature missing".into()),
        };
        let algorithm = fields.algorithm.as_deref().ok_or("algorithm missing")?;
        let (holder, creds) =
            lookup::holder_of::<Credentials>(&self.host, key_id).ok_or("Invalid key_id")?;
        if !self
            .config
            .allowed_algorithms
            .iter()
            .any(|a| a == algorithm)
        {
            return Err("Invalid algorithm".into());
        }
        let date = ctx.header("Date").or_else(|| ctx.header("X-Date"));
        let date = date.ok_or("Date header missing. failed to validate clock skew")?;
        let at = httpdate::parse_http_date(date).map_err(|_| "Invalid GMT format time")?;
        let at = at
            .duration_since(UNIX_EPOCH)
            .unwrap_or(Duration::ZERO)
            .as_secs();
        let now = self.host.now_unix_ms() / 1000;
        if at.abs_diff(now) > self.config.clock_skew {
            return Err("Clock skew exceeded".into());
        }
        if !self.config.signed_headers.is_empty() {
            let signed = fields.headers.as_deref().ok_or("headers missing")?;
            for wanted in &self.config.signed_headers {
                if !signed.iter().any(|h| h.eq_ignore_ascii_case(wanted)) {
                    return Err(format!("expected header \"{wanted}\" missing in signing"));
                }
            }
        }
        let text = signature::signing_string(ctx, key_id, fields.headers.as_deref());
        if !signature::verify(algorithm, creds.secret_key.as_bytes(), &text, sig) {
            return Err("Invalid signature".into());
        }
        if self.config.validate_request_body {
            let body = ctx
                .request_body()
                .ok_or("the request body was not read by the gateway")?;
            let digest = ctx.header("Digest").ok_or("Invalid digest")?;
            if !signature::body_digest_matches(digest, body) {
                return Err("Invalid digest".into());
            }
        }
        Ok(holder)
    }

    fn unauthorized(message: &str) -> Decision {
        let body = format!(
            "{{\"message\":{}}}",
            radixgate_plugin::serde_json::Value::String(message.to_owned())
        );
        Decision::Respond(
            Response::new(401)
                .header("Content-Type", "application/json")
                .body(body),
        )
    }
}

impl Plugin for HmacAuth {
    const NAME: &'static str = "hmac-auth";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const PRIORITY: i32 = 2530;
    const PHASES: Phases = Phases::of(Phase::Rewrite);
    const SCHEMA: &'static str = r#"{
        "type": "object",
        "title": "work with route or service object",
        "properties": {
            "allowed_algorithms": {
                "type": "array",
                "minItems": 1,
                "items": {"type": "string", "enum": ["hmac-sha1", "hmac-sha256", "hmac-sha512"]},
                "default": ["hmac-sha1", "hmac-sha256", "hmac-sha512"]
            },
            "clock_skew": {"type": "integer", "default": 300, "minimum": 1},
            "signed_headers": {
                "type": "array",
                "items": {"type": "string", "minLength": 1, "maxLength": 50}
            },
            "validate_request_body": {"type": "boolean", "default": false},
            "hide_credentials": {"type": "boolean", "default": false},
            "anonymous_consumer": {"type": "string", "minLength": 1}
        }
    }"#;
    const CONSUMER_SCHEMA: Option<&'static str> = Some(
        r#"{
        "type": "object",
        "title": "work with consumer object",
        "properties": {
            "key_id": {"type": "string", "minLength": 1, "maxLength": 256},
            "secret_key": {"type": "string", "minLength": 1, "maxLength": 256}
        },
        "encrypt_fields": ["secret_key"],
        "required": ["key_id", "secret_key"]
    }"#,
    );

    type Config = Config;

    fn new(config: Config, host: &Host) -> Result<Self, ConfigError> {
        Ok(HmacAuth {
            host: host.clone(),
            config,
        })
    }

    fn reads_request_body(&self) -> bool {
        self.config.validate_request_body
    }

    fn rewrite(&self, ctx: &mut Ctx<'_>) -> Decision {
        let holder = match self.authenticate(ctx) {
            Ok(holder) => holder,
            Err((message, why)) => match &self.config.anonymous_consumer {
                None => {
                    self.host.log(LogLevel::Warn, &why);
                    return Self::unauthorized(&message);
                }
                Some(anonymous) => match lookup::anonymous(&self.host, Self::NAME, anonymous) {
                    Some(holder) => holder,
                    None => return Self::unauthorized("Invalid user authorization"),
                },
            },
        };
        if self.config.hide_credentials {
            ctx.remove_header("Authorization");
        }
        lookup::attach(ctx, &holder);
        Decision::Continue
    }
}

export_plugin!(HmacAuth);

#[cfg(test)]
mod tests;
