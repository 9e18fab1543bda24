//! `gzip`: compresses response bodies as they stream (APISIX's plugin,
//! priority 995, schema; nginx's gzip filter's rules). A response is
//! compressed when the client's `Accept-Encoding` names `gzip` (not with
//! `q=0`), its status is 200, 403 or 404, it has no `Content-Encoding`,
//! its `Content-Type` (parameters aside) is one of `types` (`"*"`: any;
//! a response without one is not compressed) and its `Content-Length` is
//! at least `min_length` (a body of unknown length is compressed).
//! Compressed, it gets `Content-Encoding: gzip` and goes out chunked (the
//! host drops `Content-Length` from filtered bodies); with `vary`, every
//! response that qualifies, compressed or not, gets `Vary:
//! Accept-Encoding`.
//!
//! ```json
//! "gzip": {"types": ["text/html", "application/json"], "min_length": 20,
//!          "comp_level": 6, "vary": true}
//! ```
//!
//! Each chunk goes through the request's compressor as it arrives and
//! what it produced goes on at once: memory is the compressor's state
//! (deflate's window and tables, some hundred KiB), never the body. The
//! compressors live in the instance, by request, until the body's last
//! chunk or the log phase (which runs also when the client goes away).
//! As it sets `Content-Encoding`, the host runs its body filter after
//! every other plugin's (it compresses response-rewrite's body; the others
//! see the plain body), as nginx's gzip filter runs after every Lua body
//! filter.
//! `http_version` (1.1, the default, or 1.0) is the oldest request
//! version compressed (request variable `server_protocol`); `buffers` is
//! accepted and has no effect (nginx's buffer sizes).

pub mod config;
mod stream;

use radixgate_plugin::{export_plugin, Chunk, ConfigError, Ctx, Decision, Phase, Phases, Plugin};

pub use config::Config;
use stream::Compressors;

/// Request variable naming the request's compressor.
const KEY_VAR: &str = "gzip.key";

/// One config, prepared once.
pub struct Gzip {
    /// `None`: every type.
    types: Option<Vec<String>>,
    min_length: u64,
    level: u32,
    vary: bool,
    /// Requests of HTTP/1.0 are compressed too (`http_version` 1.0).
    http_10: bool,
    compressors: Compressors,
    /// The request variable naming this instance's compressor (one of its
    /// own: gzip may run twice on a request, on a global rule and a route).
    key_var: String,
}

/// Whether `accept` (an `Accept-Encoding` value) accepts gzip.
pub fn accepts_gzip(accept: &str) -> bool {
    accept.split(',').any(|item| {
        let mut parts = item.split(';');
        let coding = parts.next().unwrap_or("").trim();
        if !coding.eq_ignore_ascii_case("gzip") {
            return false;
        }
        // `q=0` (or 0.0, 0.000) refuses it.
        !parts.any(|p| {
            let p = p.trim();
            p.len() > 2
                && p[..2].eq_ignore_ascii_case("q=")
                && p[2..].trim().parse::<f64>().is_ok_and(|q| q == 0.0)
        })
    })
}

impl Gzip {
    /// Whether the response as header_filter sees it may be compressed
    /// (the client's wish aside).
    fn qualifies(&self, ctx: &Ctx<'_>) -> bool {
        if !matches!(ctx.response_status(), 200 | 403 | 404) {
            return false;
        }
        if ctx.response_header("content-encoding").is_some() {
            return false;
        }
        let Some(content_type) = ctx.response_header("content-type") else {
            return false;
        };
        if let Some(types) = &self.types {
            let bare = content_type.split(';').next().unwrap_or("").trim();
            if !types.iter().any(|t| t.eq_ignore_ascii_case(bare)) {
                return false;
            }
        }
        match ctx.response_header("content-length") {
            Some(len) => len
                .trim()
                .parse::<u64>()
                .is_ok_and(|n| n >= self.min_length),
            None => true,
        }
    }
}

impl Plugin for Gzip {
    const NAME: &'static str = "gzip";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const PRIORITY: i32 = 995;
    const PHASES: Phases = Phases::of(Phase::HeaderFilter)
        .with(Phase::BodyFilter)
        .with(Phase::Log);
    const SCHEMA: &'static str = config::SCHEMA;

    type Config = Config;

    fn new(config: Config, _host: &radixgate_plugin::Host) -> Result<Self, ConfigError> {
        let c = config.checked()?;
        Ok(Gzip {
            types: c.types,
            min_length: c.min_length,
            level: c.comp_level,
            vary: c.vary,
            http_10: c.http_10,
            compressors: Compressors::default(),
            key_var: radixgate_plugin::vars::instance_var(KEY_VAR),
        })
    }

    fn header_filter(&self, ctx: &mut Ctx<'_>) -> Decision {
        let old_client = ctx.var("server_protocol") == Some("HTTP/1.0");
        if ctx.method() == "HEAD" || (old_client && !self.http_10) || !self.qualifies(ctx) {
            return Decision::Continue;
        }
        if self.vary {
            ctx.add_response_header("Vary", "Accept-Encoding");
        }
        if !ctx.header("accept-encoding").is_some_and(accepts_gzip) {
            return Decision::Continue;
        }
        let key = self.compressors.start(self.level);
        ctx.set_var(&self.key_var, &key.to_string());
        ctx.set_response_header("Content-Encoding", "gzip");
        Decision::Continue
    }

    fn body_filter(&self, ctx: &mut Ctx<'_>, chunk: &mut Chunk<'_>) -> Decision {
        let Some(key) = ctx.var(&self.key_var).and_then(|k| k.parse().ok()) else {
            return Decision::Continue;
        };
        match self.compressors.feed(key, chunk.data(), chunk.is_last()) {
            Ok(out) => {
                chunk.replace(out);
                Decision::Continue
            }
            // The head is sent: the body cannot be completed.
            Err(why) => Decision::Error(format!("gzip: {why}")),
        }
    }

    fn log(&self, ctx: &mut Ctx<'_>) -> Decision {
        if let Some(key) = ctx.var(&self.key_var).and_then(|k| k.parse().ok()) {
            self.compressors.forget(key);
        }
        Decision::Continue
    }
}

export_plugin!(Gzip);

#[cfg(test)]
mod tests;
