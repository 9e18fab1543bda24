//! `basic-auth`: authenticates a request by HTTP Basic credentials
//! (APISIX's plugin, priority 2520, rewrite phase). `Authorization: Basic
//! base64(username:password)` names a consumer whose basic-auth config
//! holds that username; the password is compared in constant time. A known
//! username with its password sets the request's consumer, named to the
//! node in `X-Consumer-Username` (and `X-Credential-Identifier` when a
//! credential holds it). Otherwise 401 with APISIX's messages (`Missing
//! authorization in request` with `WWW-Authenticate: Basic realm='.'`,
//! `Invalid authorization in request`, `Invalid user authorization`),
//! unless `anonymous_consumer` names a consumer to use instead.
//! `hide_credentials` removes the `Authorization` header before proxying.
//!
//! ```json
//! "basic-auth": {"hide_credentials": true}
//! ```
//! A consumer's config: `"basic-auth": {"username": "jack", "password": "s3cret"}`.

pub mod lookup;

use base64::alphabet::STANDARD;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use base64::Engine;
use radixgate_plugin::serde::Deserialize;
use radixgate_plugin::{
    export_plugin, ConfigError, Ctx, Decision, Host, Phase, Phases, Plugin, Response,
};
use subtle::ConstantTimeEq;

/// The config on a route, service or global rule.
#[derive(Debug, Deserialize)]
#[serde(crate = "radixgate_plugin::serde")]
pub struct Config {
    /// Remove the `Authorization` header before proxying (default false).
    #[serde(default)]
    pub hide_credentials: bool,
    /// Consumer used when the credentials are missing or wrong.
    #[serde(default)]
    pub anonymous_consumer: Option<String>,
}

/// Standard base64, padded or not (as nginx's `decode_base64` reads it).
const BASE64: GeneralPurpose = GeneralPurpose::new(
    &STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// A consumer's basic-auth config, as the host publishes it.
#[derive(Debug, Deserialize)]
#[serde(crate = "radixgate_plugin::serde")]
pub struct Credentials {
    /// The password to compare with.
    pub password: String,
}

/// One config's authenticator.
pub struct BasicAuth {
    host: Host,
    config: Config,
}

/// Why a request is not authenticated: APISIX's messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// No `Authorization` header.
    Missing,
    /// Not `Basic <base64 of user:password>`.
    Malformed,
    /// No such username, or the wrong password.
    Invalid,
}

impl Failure {
    /// The 401's message.
    pub fn message(self) -> &'static str {
        match self {
            Failure::Missing => "Missing authorization in request",
            Failure::Malformed => "Invalid authorization in request",
            Failure::Invalid => "Invalid user authorization",
        }
    }
}

/// The username and password of an `Authorization` value: `Basic ` (any
/// case) and the base64 of `username:password`. Whitespace inside either
/// is dropped, as APISIX does; the password is what follows the first `:`.
pub fn parse_authorization(value: &str) -> Option<(String, String)> {
    let value = value.trim_start();
    let scheme = value.get(..6)?;
    if !scheme[..5].eq_ignore_ascii_case("basic") || !scheme[5..].starts_with([' ', '\t']) {
        return None;
    }
    let decoded = BASE64.decode(value[6..].trim()).ok()?;
    let decoded = String::from_utf8(decoded).ok()?;
    let (user, password) = decoded.split_once(':')?;
    let squeeze = |s: &str| s.chars().filter(|c| !c.is_whitespace()).collect::<String>();
    Some((squeeze(user), squeeze(password)))
}

/// Whether `given` is `expected`, in time that does not depend on where
/// they differ.
fn same_password(given: &str, expected: &str) -> bool {
    bool::from(given.as_bytes().ct_eq(expected.as_bytes()))
}

impl BasicAuth {
    /// The consumer the request's credentials name, or why none.
    fn authenticate(&self, ctx: &Ctx<'_>) -> Result<lookup::Holder, Failure> {
        let header = ctx.header("Authorization").ok_or(Failure::Missing)?;
        let (user, password) = parse_authorization(header).ok_or(Failure::Malformed)?;
        match lookup::holder_of::<Credentials>(&self.host, &user) {
            Some((holder, creds)) if same_password(&password, &creds.password) => Ok(holder),
            Some(_) => Err(Failure::Invalid),
            None => {
                // As long as a wrong password takes: a timing does not
                // tell a known username from an unknown one.
                same_password(&password, "\u{0}no such consumer\u{0}");
                Err(Failure::Invalid)
            }
        }
    }

    /// A 401 with `failure`'s message.
    fn unauthorized(failure: Failure) -> Decision {
        let mut r = Response::new(401).header("Content-Type", "application/json");
        if failure == Failure::Missing {
            r = r.header("WWW-Authenticate", "Basic realm='.'");
        }
        let body = format!("{{\"message\":\"{}\"}}", failure.message());
        Decision::Respond(r.body(body))
    }
}

impl Plugin for BasicAuth {
    const NAME: &'static str = "basic-auth";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const PRIORITY: i32 = 2520;
    const PHASES: Phases = Phases::of(Phase::Rewrite);
    const SCHEMA: &'static str = r#"{
        "type": "object",
        "title": "work with route or service object",
        "properties": {
            "hide_credentials": {"type": "boolean", "default": false},
            "anonymous_consumer": {"type": "string", "minLength": 1}
        }
    }"#;
    const CONSUMER_SCHEMA: Option<&'static str> = Some(
        r#"{
        "type": "object",
        "title": "work with consumer object",
        "properties": {
            "username": {"type": "string"},
            "password": {"type": "string"}
        },
        "encrypt_fields": ["password"],
        "required": ["username", "password"]
    }"#,
    );

    type Config = Config;

    fn new(config: Config, host: &Host) -> Result<Self, ConfigError> {
        if config.anonymous_consumer.as_deref() == Some("") {
            return Err(ConfigError::field(
                "anonymous_consumer",
                "must not be empty",
            ));
        }
        Ok(BasicAuth {
            host: host.clone(),
            config,
        })
    }

    fn rewrite(&self, ctx: &mut Ctx<'_>) -> Decision {
        let holder = match self.authenticate(ctx) {
            Ok(holder) => holder,
            Err(failure) => match &self.config.anonymous_consumer {
                None => return Self::unauthorized(failure),
                Some(anonymous) => match lookup::anonymous(&self.host, Self::NAME, anonymous) {
                    Some(holder) => holder,
                    None => return Self::unauthorized(Failure::Invalid),
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

export_plugin!(BasicAuth);

#[cfg(test)]
mod tests;
