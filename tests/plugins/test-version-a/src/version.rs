// The plugin both builds of `test-version` share; each crate's `lib.rs`
// declares `VERSION`, `MARK` and `SCHEMA_TEXT`, then includes this file.

use std::time::Duration;

use radixgate_plugin::{
    export_plugin, serde, ConfigError, Ctx, Decision, Host, LogLevel, Phase, Phases, Plugin,
};

/// The config.
#[derive(serde::Deserialize)]
#[serde(crate = "radixgate_plugin::serde", deny_unknown_fields)]
pub struct Config {
    /// Only for the schema checks of an upgrade.
    #[serde(default)]
    #[allow(dead_code)]
    legacy: bool,
    /// Access logs `<MARK> holding <path>`, then waits (on the host's
    /// timer, 10 ms at a time, 10 s at most) until a `release` request.
    #[serde(default)]
    hold: bool,
    /// Access releases the requests held (store key `test-version:release`).
    #[serde(default)]
    release: bool,
    /// The instance's drop panics.
    #[serde(default)]
    panic_on_drop: bool,
}

/// The store key a `release` request sets.
const RELEASE: &str = "test-version:release";

/// The plugin.
pub struct TestVersion {
    config: Config,
    host: Host,
}

impl Drop for TestVersion {
    fn drop(&mut self) {
        if self.config.panic_on_drop {
            panic!("test-version {MARK}: deliberate panic in drop");
        }
    }
}

impl Plugin for TestVersion {
    const NAME: &'static str = "test-version";
    const VERSION: &'static str = VERSION;
    const PRIORITY: i32 = 1;
    const PHASES: Phases = Phases::of(Phase::Access).with(Phase::HeaderFilter);
    const SCHEMA: &'static str = SCHEMA_TEXT;
    type Config = Config;

    fn new(config: Config, host: &Host) -> Result<Self, ConfigError> {
        Ok(TestVersion {
            config,
            host: host.clone(),
        })
    }

    fn access(&self, ctx: &mut Ctx<'_>) -> Decision {
        if self.config.release {
            self.host.set(RELEASE, "1", 0);
        }
        if !self.config.hold {
            return Decision::Continue;
        }
        let host = self.host.clone();
        host.log(LogLevel::Info, &format!("{MARK} holding {}", ctx.path()));
        Decision::wait(async move {
            for _ in 0..1000 {
                if host.get(RELEASE).is_some() {
                    return Decision::Continue;
                }
                if let Err(e) = host.sleep(Duration::from_millis(10)).await {
                    return Decision::Error(e);
                }
            }
            Decision::Error("held 10 s and never released".into())
        })
    }

    fn header_filter(&self, ctx: &mut Ctx<'_>) -> Decision {
        ctx.set_response_header("x-test-version", MARK);
        Decision::Continue
    }
}

export_plugin!(TestVersion);
