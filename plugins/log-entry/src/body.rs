//! The request body in a logger's entry (APISIX's `include_req_body`,
//! `include_req_body_expr`, `max_req_body_bytes`): the body the host read
//! for the instance (ABI 1.3), cut at `max_req_body_bytes` (default
//! 524288, APISIX's). Bytes that are not UTF-8 are logged with U+FFFD in
//! their place, as a JSON string must be text.
//!
//! `include_resp_body` is refused at load. Collecting the response body
//! needs a `body_filter` phase, and phases are the plugin's, not the
//! instance's: every logger instance would then run it, and the host
//! drops `Content-Length` from every response a body_filter plugin sees
//! (it may change the length), so every logged response would go out
//! chunked, where APISIX keeps its length. Its `_expr` and
//! `max_resp_body_bytes` are still checked.

use radixgate_plugin::{ConfigError, Ctx};
use radixgate_plugin_vars_expr::Expr;

use crate::fields::Fields;

/// APISIX's default `max_req_body_bytes` and `max_resp_body_bytes`.
pub const DEFAULT_MAX_BODY_BYTES: usize = 524_288;

/// One side's setting: logged when `include` and `expr` (if any) holds.
struct Side {
    include: bool,
    expr: Option<Expr>,
    max: usize,
}

impl Side {
    fn new(
        include: bool,
        expr: &Option<radixgate_plugin::serde_json::Value>,
        expr_field: &str,
        max: Option<i64>,
        max_field: &str,
    ) -> Result<Side, ConfigError> {
        let expr = expr
            .as_ref()
            .map(|e| radixgate_plugin_vars_expr::parse(e, expr_field))
            .transpose()?;
        let max = match max {
            None => DEFAULT_MAX_BODY_BYTES,
            Some(n) if n >= 1 => usize::try_from(n).unwrap_or(usize::MAX),
            Some(n) => {
                return Err(ConfigError::field(
                    max_field,
                    format!("{n}: expected an integer of at least 1"),
                ))
            }
        };
        Ok(Side { include, expr, max })
    }

    /// Whether this request's body is logged.
    fn wanted(&self, ctx: &Ctx<'_>) -> bool {
        self.include && self.expr.as_ref().is_none_or(|e| e.eval(ctx))
    }
}

/// One logger instance's body settings.
pub struct Bodies {
    request: Side,
}

impl Bodies {
    /// Checks the body fields of `fields`; errors name the field.
    /// `include_resp_body` is refused (see the module's doc).
    pub fn new(fields: &Fields) -> Result<Bodies, ConfigError> {
        let request = Side::new(
            fields.include_req_body,
            &fields.include_req_body_expr,
            "include_req_body_expr",
            fields.max_req_body_bytes,
            "max_req_body_bytes",
        )?;
        Side::new(
            fields.include_resp_body,
            &fields.include_resp_body_expr,
            "include_resp_body_expr",
            fields.max_resp_body_bytes,
            "max_resp_body_bytes",
        )?;
        if fields.include_resp_body {
            return Err(ConfigError::field(
                "include_resp_body",
                "is not supported by this gateway yet (a logger would need a body_filter \
                 phase, which the host runs for every instance of the plugin and which \
                 drops the Content-Length of every response it logs); the config is \
                 refused rather than logged without the body",
            ));
        }
        Ok(Bodies { request })
    }

    /// Whether the instance asks the host for the request body.
    pub fn reads_request_body(&self) -> bool {
        self.request.include
    }

    /// The log phase's request body: the host's, cut at
    /// `max_req_body_bytes`, when it is logged (`None`: not logged, or the
    /// host read none).
    pub fn request_body(&self, ctx: &Ctx<'_>) -> Option<String> {
        if !self.request.wanted(ctx) {
            return None;
        }
        let body = ctx.request_body()?;
        Some(text(&body[..body.len().min(self.request.max)]))
    }
}

/// `bytes` as text, U+FFFD for what is not UTF-8.
fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}
