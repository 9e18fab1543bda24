//! cors's config: APISIX's fields and defaults as JSON Schema text and as a
//! serde type, and the checks the schema cannot express.

use radixgate_plugin::serde::Deserialize;
use radixgate_plugin::ConfigError;

/// The route config's JSON Schema (APISIX 3.x's fields used here).
pub const SCHEMA: &str = r#"{
    "type": "object",
    "properties": {
        "allow_origins": {"type": "string", "default": "*",
            "pattern": "^(\\*|\\*\\*|null|\\w+://[^,]+(,\\w+://[^,]+)*)$"},
        "allow_methods": {"type": "string", "default": "*"},
        "allow_headers": {"type": "string", "default": "*"},
        "expose_headers": {"type": "string"},
        "max_age": {"type": "integer", "default": 5},
        "allow_credential": {"type": "boolean", "default": false},
        "allow_origins_by_regex": {
            "type": "array",
            "items": {"type": "string", "minLength": 1, "maxLength": 4096},
            "minItems": 1,
            "uniqueItems": true
        },
        "timing_allow_origins": {"type": "string",
            "pattern": "^(\\*|\\*\\*|null|\\w+://[^,]+(,\\w+://[^,]+)*)$"},
        "timing_allow_origins_by_regex": {
            "type": "array",
            "items": {"type": "string", "minLength": 1, "maxLength": 4096},
            "minItems": 1,
            "uniqueItems": true
        }
    }
}"#;

/// The config on a route, service or global rule.
#[derive(Debug, Clone, Deserialize)]
#[serde(crate = "radixgate_plugin::serde")]
pub struct Config {
    /// `*`, `**` (echo any origin), or origins separated by `,`.
    #[serde(default = "star")]
    pub allow_origins: String,
    /// `*`, `**` (every method) or methods separated by `,`.
    #[serde(default = "star")]
    pub allow_methods: String,
    /// `*`, `**` (echo the requested headers) or names separated by `,`.
    #[serde(default = "star")]
    pub allow_headers: String,
    /// Access-Control-Expose-Headers, when set.
    #[serde(default)]
    pub expose_headers: Option<String>,
    /// Access-Control-Max-Age in seconds (default 5).
    #[serde(default = "five")]
    pub max_age: i64,
    /// Send Access-Control-Allow-Credentials: true (default false).
    #[serde(default)]
    pub allow_credential: bool,
    /// Origins matching any of these regexes are allowed (instead of
    /// `allow_origins`).
    #[serde(default)]
    pub allow_origins_by_regex: Option<Vec<String>>,
    /// Origins given Timing-Allow-Origin (as `allow_origins`).
    #[serde(default)]
    pub timing_allow_origins: Option<String>,
    /// Origins matching any of these get Timing-Allow-Origin.
    #[serde(default)]
    pub timing_allow_origins_by_regex: Option<Vec<String>>,
    /// APISIX's origins from plugin_metadata; not supported yet.
    #[serde(default)]
    pub allow_origins_by_metadata: Option<Vec<String>>,
}

fn star() -> String {
    "*".into()
}
fn five() -> i64 {
    5
}

impl Config {
    /// APISIX's check_schema beyond the schema.
    pub fn check(&self) -> Result<(), ConfigError> {
        if self.allow_credential {
            let star = |v: &str| v == "*";
            if star(&self.allow_origins)
                || star(&self.allow_methods)
                || star(&self.allow_headers)
                || self.expose_headers.as_deref().is_some_and(star)
            {
                return Err(ConfigError::field(
                    "allow_credential",
                    "you can not set '*' for other option when 'allow_credential' is true",
                ));
            }
        }
        if self.allow_origins_by_metadata.is_some() {
            return Err(ConfigError::field(
                "allow_origins_by_metadata",
                "not supported yet",
            ));
        }
        for (name, value) in [
            ("allow_methods", &self.allow_methods),
            ("allow_headers", &self.allow_headers),
            ("allow_origins", &self.allow_origins),
        ] {
            if !value
                .bytes()
                .all(|b| b == b'\t' || (b' '..=b'~').contains(&b))
            {
                return Err(ConfigError::field(name, "must be visible ASCII"));
            }
        }
        Ok(())
    }
}
