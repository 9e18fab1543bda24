//! Checking a token against its consumer's config: the signature with the
//! consumer's algorithm and key only (a token naming another algorithm,
//! `none` included, is refused: no algorithm confusion), then the `exp`
//! and `nbf` claims with the consumer's `lifetime_grace_period`.

use std::str::FromStr;

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use radixgate_plugin::serde::Deserialize;
use radixgate_plugin::serde_json::{self, Map, Value};

/// A consumer's jwt-auth config, as the host publishes it.
#[derive(Debug, Deserialize)]
#[serde(crate = "radixgate_plugin::serde")]
pub struct Consumer {
    /// The HMAC secret (HS256/384/512).
    #[serde(default)]
    pub secret: Option<String>,
    /// The public key, PEM (the other algorithms).
    #[serde(default)]
    pub public_key: Option<String>,
    /// The one algorithm its tokens may use (default HS256).
    #[serde(default = "default_algorithm")]
    pub algorithm: String,
    /// `secret` is base64: its decoded bytes are the key.
    #[serde(default)]
    pub base64_secret: bool,
    /// Seconds of leeway on `exp` and `nbf`.
    #[serde(default)]
    pub lifetime_grace_period: u64,
}

fn default_algorithm() -> String {
    "HS256".into()
}

/// The claims a token's payload carries, read before it is checked: only
/// to find the consumer whose key checks it.
pub fn unverified_claims(token: &str) -> Option<Map<String, Value>> {
    let mut parts = token.split('.');
    let (header, payload, _signature) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let json = |part: &str| -> Option<Map<String, Value>> {
        let bytes = URL_SAFE_NO_PAD.decode(part.trim_end_matches('=')).ok()?;
        match serde_json::from_slice(&bytes).ok()? {
            Value::Object(map) => Some(map),
            _ => None,
        }
    };
    json(header)?;
    json(payload)
}

/// The key that checks the consumer's tokens.
fn decoding_key(consumer: &Consumer, alg: Algorithm) -> Result<DecodingKey, String> {
    let pem = || {
        consumer
            .public_key
            .as_deref()
            .map(str::as_bytes)
            .ok_or_else(|| "the consumer has no public_key".to_string())
    };
    let key = match alg {
        Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512 => {
            let secret = consumer
                .secret
                .as_deref()
                .ok_or_else(|| "the consumer has no secret".to_string())?;
            if consumer.base64_secret {
                let bytes = STANDARD
                    .decode(secret)
                    .map_err(|_| "base64_secret: the secret is not base64".to_string())?;
                DecodingKey::from_secret(&bytes)
            } else {
                DecodingKey::from_secret(secret.as_bytes())
            }
        }
        Algorithm::RS256
        | Algorithm::RS384
        | Algorithm::RS512
        | Algorithm::PS256
        | Algorithm::PS384
        | Algorithm::PS512 => DecodingKey::from_rsa_pem(pem()?).map_err(|e| e.to_string())?,
        Algorithm::ES256 | Algorithm::ES384 => {
            DecodingKey::from_ec_pem(pem()?).map_err(|e| e.to_string())?
        }
        Algorithm::EdDSA => DecodingKey::from_ed_pem(pem()?).map_err(|e| e.to_string())?,
    };
    Ok(key)
}

/// Checks `token`'s signature with `consumer`'s algorithm and key, and its
/// `claims` (`exp`, `nbf`) at `now` (unix seconds); why not, for the log.
pub fn verify(
    token: &str,
    consumer: &Consumer,
    claims: &[String],
    now: u64,
) -> Result<Map<String, Value>, String> {
    let alg = Algorithm::from_str(&consumer.algorithm)
        .map_err(|_| format!("unsupported algorithm {}", consumer.algorithm))?;
    let key = decoding_key(consumer, alg)?;
    // Only the consumer's algorithm is accepted: the token's header does
    // not choose how it is checked.
    let mut validation = Validation::new(alg);
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.validate_aud = false;
    validation.required_spec_claims.clear();
    let data = jsonwebtoken::decode::<Map<String, Value>>(token, &key, &validation)
        .map_err(|e| format!("signature: {e}"))?;
    let payload = data.claims;
    let grace = consumer.lifetime_grace_period as f64;
    let now = now as f64;
    for name in claims {
        let Some(claim) = payload.get(name) else {
            continue;
        };
        let Some(at) = claim.as_f64() else {
            return Err(format!("claim {name} is not a number"));
        };
        match name.as_str() {
            "exp" if at <= now - grace => return Err(format!("'exp' claim expired at {at}")),
            "nbf" if at > now + grace => return Err(format!("'nbf' claim not valid until {at}")),
            _ => {}
        }
    }
    Ok(payload)
}
