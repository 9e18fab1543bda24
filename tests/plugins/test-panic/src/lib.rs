//! `test-panic`: a test plugin whose access phase panics, to check that the
//! panic is caught on the plugin's side and reported as its failure.

use radixgate_plugin::{
    export_plugin, serde_json, ConfigError, Ctx, Decision, Host, Phase, Phases, Plugin,
};

/// The plugin: no state.
pub struct TestPanic;

impl Plugin for TestPanic {
    const NAME: &'static str = "test-panic";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const PRIORITY: i32 = 0;
    const PHASES: Phases = Phases::of(Phase::Rewrite).with(Phase::Access);

    type Config = serde_json::Value;

    fn new(_config: Self::Config, _host: &Host) -> Result<Self, ConfigError> {
        Ok(TestPanic)
    }

    /// Answers nothing: the request goes on to access.
    fn rewrite(&self, _ctx: &mut Ctx<'_>) -> Decision {
        Decision::Continue
    }

    /// Always panics.
    fn access(&self, ctx: &mut Ctx<'_>) -> Decision {
        panic!("test-panic: deliberate panic on {}", ctx.path())
    }
}

export_plugin!(TestPanic);
