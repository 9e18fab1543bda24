//! `fault-injection`: aborts or delays requests to test how clients cope
//! (APISIX's plugin, priority 11000, rewrite phase). `abort` answers
//! `http_status` with `body` and `headers` (`$var` references resolved);
//! `delay` holds the request `duration` seconds on the host's timer (the
//! worker serves other requests meanwhile), then lets it go on. Each
//! applies to `percentage` of the requests (all when absent) for which
//! one of its `vars` expressions holds (all when absent); with both, the
//! delay comes first, as in APISIX.
//!
//! ```json
//! "fault-injection": {"abort": {"http_status": 403, "body": "Fault Injection!\n",
//!                               "vars": [[["arg_name", "==", "jack"]]]},
//!                     "delay": {"duration": 2, "vars": [[["http_age", "==", "18"]]]}}
//! ```

pub mod config;
mod fault;

use std::sync::Arc;

use radixgate_plugin::{export_plugin, ConfigError, Ctx, Decision, Host, Phase, Phases, Plugin};

pub use config::Config;
use fault::{Abort, Delay};

/// One config's faults, prepared once.
pub struct FaultInjection {
    host: Host,
    abort: Option<Arc<Abort>>,
    delay: Option<Delay>,
}

impl Plugin for FaultInjection {
    const NAME: &'static str = "fault-injection";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const PRIORITY: i32 = 11000;
    const PHASES: Phases = Phases::of(Phase::Rewrite);
    const SCHEMA: &'static str = config::SCHEMA;

    type Config = Config;

    fn new(config: Config, host: &Host) -> Result<Self, ConfigError> {
        if config.abort.is_none() && config.delay.is_none() {
            return Err(ConfigError::field(
                "abort",
                "one of abort and delay is required",
            ));
        }
        Ok(FaultInjection {
            host: host.clone(),
            abort: config.abort.map(Abort::new).transpose()?.map(Arc::new),
            delay: config.delay.map(Delay::new).transpose()?,
        })
    }

    fn rewrite(&self, ctx: &mut Ctx<'_>) -> Decision {
        // Both conditions are read before the delay, as APISIX does.
        let abort = self.abort.as_ref().filter(|a| a.applies(ctx)).cloned();
        let delay = self.delay.as_ref().filter(|d| d.applies(ctx));
        match delay {
            Some(delay) => {
                let (host, duration) = (self.host.clone(), delay.duration);
                Decision::wait_then(
                    async move { host.sleep(duration).await },
                    move |ctx, slept| {
                        if let Err(why) = slept {
                            return Decision::Error(format!("the delay failed: {why}"));
                        }
                        abort.map_or(Decision::Continue, |a| a.answer(ctx))
                    },
                )
            }
            None => abort.map_or(Decision::Continue, |a| a.answer(ctx)),
        }
    }
}

export_plugin!(FaultInjection);

#[cfg(test)]
mod tests;
