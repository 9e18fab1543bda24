//! Test plugin `test-wait`: its access phase waits on host operations, as
//! its config says, so that tests see a waiting phase through the real
//! gateway.
//!
//! Config: `sleep_ms` (wait this long, then go on with `x-waited: <ms>` set
//! on the request), `http` (GET this URL and answer with its status and
//! body, or 502 with the error), `redis` (`host:port`: `INCR` the key
//! `test-wait:<path>` and set `x-count` to the count), `forever` (sleep an
//! hour, again and again).

use std::time::Duration;

use radixgate_plugin::{
    export_plugin, serde, ConfigError, Ctx, Decision, Host, HttpRequest, Phase, Phases, Plugin,
    RedisTarget,
};

/// The config.
#[derive(serde::Deserialize)]
#[serde(crate = "radixgate_plugin::serde", deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    sleep_ms: Option<u64>,
    #[serde(default)]
    http: Option<String>,
    #[serde(default)]
    redis: Option<String>,
    #[serde(default)]
    forever: bool,
}

/// The plugin.
pub struct TestWait {
    config: Config,
    host: Host,
}

impl Plugin for TestWait {
    const NAME: &'static str = "test-wait";
    const VERSION: &'static str = "0.1.0";
    const PRIORITY: i32 = 1;
    const PHASES: Phases = Phases::of(Phase::Access);
    type Config = Config;

    fn new(config: Config, host: &Host) -> Result<Self, ConfigError> {
        Ok(TestWait {
            config,
            host: host.clone(),
        })
    }

    fn access(&self, ctx: &mut Ctx<'_>) -> Decision {
        let host = self.host.clone();
        if self.config.forever {
            return Decision::wait(async move {
                loop {
                    let _ = host.sleep(Duration::from_secs(3600)).await;
                }
            });
        }
        if let Some(ms) = self.config.sleep_ms {
            return Decision::wait_then(
                async move { host.sleep(Duration::from_millis(ms)).await },
                move |ctx, slept| match slept {
                    Ok(()) => {
                        ctx.set_header("x-waited", &ms.to_string());
                        Decision::Continue
                    }
                    Err(e) => Decision::Error(e),
                },
            );
        }
        if let Some(url) = self.config.http.clone() {
            return Decision::wait(async move {
                match host
                    .http(HttpRequest::get(&url).timeout(Duration::from_secs(2)))
                    .await
                {
                    Ok(r) => Decision::respond(r.status, r.body),
                    Err(e) => Decision::respond(502, e),
                }
            });
        }
        if let Some(addr) = self.config.redis.clone() {
            let key = format!("test-wait:{}", ctx.path());
            return Decision::wait_then(
                async move {
                    let target = RedisTarget::server(&addr);
                    host.redis(&target, &[b"INCR", key.as_bytes()]).await
                },
                |ctx, reply| match reply.map(|r| r.as_int()) {
                    Ok(Some(n)) => {
                        ctx.set_header("x-count", &n.to_string());
                        Decision::Continue
                    }
                    other => Decision::respond(502, format!("{other:?}")),
                },
            );
        }
        Decision::Continue
    }
}

export_plugin!(TestWait);
