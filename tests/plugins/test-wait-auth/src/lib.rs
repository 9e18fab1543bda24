//! Test plugin `test-wait-auth`: an auth plugin (it has a consumer schema
//! and a rewrite phase) whose rewrite waits `sleep_ms` on the host's timer
//! before it decides, so that multi-auth's tests see a listed plugin that
//! waits. After the wait it names the consumer the request header
//! `x-wait-user` gives (and sends `x-wait-auth: <name>` upstream), or
//! answers 401 `{"message":"no x-wait-user"}` without it.

use std::time::Duration;

use radixgate_plugin::{
    export_plugin, serde, ConfigError, Ctx, Decision, Host, Phase, Phases, Plugin,
};

/// The config: how long the rewrite waits.
#[derive(serde::Deserialize)]
#[serde(crate = "radixgate_plugin::serde", deny_unknown_fields)]
pub struct Config {
    sleep_ms: u64,
}

/// The plugin.
pub struct TestWaitAuth {
    sleep: Duration,
    host: Host,
}

impl Plugin for TestWaitAuth {
    const NAME: &'static str = "test-wait-auth";
    const VERSION: &'static str = "0.1.0";
    const PRIORITY: i32 = 2450;
    const PHASES: Phases = Phases::of(Phase::Rewrite);
    const SCHEMA: &'static str = r#"{"type":"object","properties":{"sleep_ms":{"type":"integer","minimum":0}},"required":["sleep_ms"]}"#;
    const CONSUMER_SCHEMA: Option<&'static str> = Some(r#"{"type":"object"}"#);
    type Config = Config;

    fn new(config: Config, host: &Host) -> Result<Self, ConfigError> {
        Ok(TestWaitAuth {
            sleep: Duration::from_millis(config.sleep_ms),
            host: host.clone(),
        })
    }

    fn rewrite(&self, _ctx: &mut Ctx<'_>) -> Decision {
        let host = self.host.clone();
        let sleep = self.sleep;
        Decision::wait_then(async move { host.sleep(sleep).await }, |ctx, slept| {
            if let Err(e) = slept {
                return Decision::Error(e);
            }
            match ctx.header("x-wait-user").map(str::to_owned) {
                Some(user) => {
                    ctx.set_consumer(&user);
                    ctx.set_header("x-wait-auth", &user);
                    Decision::Continue
                }
                None => Decision::respond(401, r#"{"message":"no x-wait-user"}"#),
            }
        })
    }
}

export_plugin!(TestWaitAuth);
