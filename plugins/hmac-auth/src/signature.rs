//! APISIX 3.x's HMAC scheme: the `Authorization: Signature ...` fields,
//! the signing string, and the signature's check.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use radixgate_plugin::Ctx;
use ring::hmac;

/// The algorithms of the scheme.
pub const ALGORITHMS: [&str; 3] = ["hmac-sha1", "hmac-sha256", "hmac-sha512"];

/// The fields of an `Authorization: Signature` header.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Fields {
    /// `keyId`.
    pub key_id: Option<String>,
    /// `algorithm`.
    pub algorithm: Option<String>,
    /// `headers`, split on spaces.
    pub headers: Option<Vec<String>>,
    /// `signature` (base64).
    pub signature: Option<String>,
}

impl Fields {
    /// Reads `Signature keyId="...",algorithm="...",...`; fields it does not
    /// know are ignored, as APISIX does.
    pub fn parse(value: &str) -> Result<Fields, &'static str> {
        let Some(rest) = value.strip_prefix("Signature") else {
            return Err("Authorization header does not start with 'Signature'");
        };
        let mut fields = Fields::default();
        for field in rest.split(',') {
            let Some((name, value)) = field.trim().split_once('=') else {
                continue;
            };
            let Some(value) = value.strip_prefix('"').and_then(|v| v.strip_suffix('"')) else {
                continue;
            };
            let value = value.to_owned();
            match name.trim() {
                "keyId" => fields.key_id = Some(value),
                "algorithm" => fields.algorithm = Some(value),
                "signature" => fields.signature = Some(value),
                "headers" => {
                    fields.headers = Some(value.split(' ').map(str::to_owned).collect());
                }
                _ => {}
            }
        }
        Ok(fields)
    }
}

/// The text signed: `key_id`, then a line per signed header present
/// (`name: value`; `@request-target` is `METHOD /path?query`), each line
/// ending in `\n`.
pub fn signing_string(ctx: &Ctx<'_>, key_id: &str, headers: Option<&[String]>) -> String {
    let mut text = String::with_capacity(256);
    text.push_str(key_id);
    text.push('\n');
    for name in headers.unwrap_or_default() {
        if let Some(value) = ctx.header(name) {
            text.push_str(name);
            text.push_str(": ");
            text.push_str(value);
            text.push('\n');
        } else if name == "@request-target" {
            text.push_str(ctx.method());
            text.push(' ');
            text.push_str(ctx.path());
            if !ctx.query().is_empty() {
                text.push('?');
                text.push_str(ctx.query());
            }
            text.push('\n');
        }
    }
    text
}

fn algorithm(name: &str) -> Option<hmac::Algorithm> {
    match name {
        "hmac-sha1" => Some(hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY),
        "hmac-sha256" => Some(hmac::HMAC_SHA256),
        "hmac-sha512" => Some(hmac::HMAC_SHA512),
        _ => None,
    }
}

/// The signature of `text` (base64), for clients and tests.
pub fn sign(name: &str, secret: &[u8], text: &str) -> Option<String> {
    let key = hmac::Key::new(algorithm(name)?, secret);
    Some(STANDARD.encode(hmac::sign(&key, text.as_bytes()).as_ref()))
}

/// Whether `signature` (base64) is the HMAC `name` of `text` under
/// `secret`, compared in constant time.
pub fn verify(name: &str, secret: &[u8], text: &str, signature: &str) -> bool {
    let (Some(alg), Ok(given)) = (algorithm(name), STANDARD.decode(signature)) else {
        return false;
    };
    hmac::verify(&hmac::Key::new(alg, secret), text.as_bytes(), &given).is_ok()
}

/// The `Digest` header APISIX 3.x expects for `body`:
/// `SHA-256=<base64 of its SHA-256>`.
pub fn body_digest(body: &[u8]) -> String {
    let sum = ring::digest::digest(&ring::digest::SHA256, body);
    format!("SHA-256={}", STANDARD.encode(sum.as_ref()))
}

/// Whether `Digest` header `given` is [`body_digest`] of `body`, exactly
/// as APISIX compares it.
pub fn body_digest_matches(given: &str, body: &[u8]) -> bool {
    given == body_digest(body)
}
