//! The request body in a logger's entry (APISIX's `include_req_body`,
//! `include_req_body_expr`, `max_req_body_bytes`): the body the host read
//! for the instance (ABI 1.3), cut at `max_req_body_bytes` (default
//! 524288, APISIX's). Bytes that are not UTF-8 are logged with U+FFFD in
//! their place, as a JSON string must be text.
//!
//! The response body (`include_resp_body`, `include_resp_body_expr`,
//! `max_resp_body_bytes`, same default): an instance with
//! `include_resp_body` observes the response body (ABI 1.3: the host shows
//! it each chunk, and the response keeps its `Content-Length`); the chunks
//! of a request whose expression holds (checked on its first chunk) are
//! kept, up to the limit, in the instance's table under an id the request
//! carries in a variable, and taken out in the log phase (an instance
//! holds at most 1024 at once: past them the oldest goes).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

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

/// One logger instance's body settings and the response bodies it is
/// collecting.
pub struct Bodies {
    request: Side,
    response: Side,
    /// The request variable holding this instance's id for a request
    /// (empty: the response body is not logged).
    var: String,
    /// The response bodies being collected, by request id (oldest first).
    collected: Mutex<BTreeMap<u64, Vec<u8>>>,
}

/// The response bodies one instance collects at once, at most: past it the
/// oldest is dropped (its entry then has no body), so that a request whose
/// log phase never ran cannot keep its body for ever.
const MAX_COLLECTING: usize = 1024;

/// Numbers the requests whose response body is collected.
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

impl Bodies {
    /// Checks the body fields of `fields`; errors name the field.
    pub fn new(fields: &Fields) -> Result<Bodies, ConfigError> {
        let request = Side::new(
            fields.include_req_body,
            &fields.include_req_body_expr,
            "include_req_body_expr",
            fields.max_req_body_bytes,
            "max_req_body_bytes",
        )?;
        let response = Side::new(
            fields.include_resp_body,
            &fields.include_resp_body_expr,
            "include_resp_body_expr",
            fields.max_resp_body_bytes,
            "max_resp_body_bytes",
        )?;
        Ok(Bodies {
            request,
            response,
            var: radixgate_plugin::vars::instance_var("_log_entry_resp_body"),
            collected: Mutex::new(BTreeMap::new()),
        })
    }

    /// Whether the instance observes the response body
    /// (`include_resp_body`).
    pub fn observes_response_body(&self) -> bool {
        self.response.include
    }

    /// The body_filter phase's part: keeps `chunk` of this request's
    /// response, up to `max_resp_body_bytes`, when it is logged.
    pub fn observe(&self, ctx: &mut Ctx<'_>, chunk: &[u8]) {
        if !self.response.include {
            return;
        }
        let id = match ctx.var(&self.var) {
            Some("") => return,
            Some(id) => id.parse::<u64>().ok(),
            None => None,
        };
        let mut collected = self.collected.lock().unwrap_or_else(|e| e.into_inner());
        let id = match id {
            Some(id) => id,
            None => {
                if !self.response.wanted(ctx) {
                    ctx.set_var(&self.var, "");
                    return;
                }
                let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
                ctx.set_var(&self.var, &id.to_string());
                collected.insert(id, Vec::new());
                while collected.len() > MAX_COLLECTING {
                    collected.pop_first();
                }
                id
            }
        };
        if let Some(body) = collected.get_mut(&id) {
            let room = self.response.max.saturating_sub(body.len());
            body.extend_from_slice(&chunk[..chunk.len().min(room)]);
        }
    }

    /// The log phase's response body, taken out of the table (`None`: not
    /// logged). Called on every log phase, so that nothing stays behind.
    pub fn take_response_body(&self, ctx: &Ctx<'_>) -> Option<String> {
        if !self.response.include {
            return None;
        }
        let id = ctx.var(&self.var)?.parse::<u64>().ok()?;
        let mut collected = self.collected.lock().unwrap_or_else(|e| e.into_inner());
        collected.remove(&id).map(|body| text(&body))
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
