//! `test-abi-bump`: a test plugin that declares the next major ABI version,
//! as a plugin built against an incompatible SDK would; the host must refuse
//! it at load.

use radixgate_plugin::{
    abi::ABI_MAJOR, export_plugin, serde_json, ConfigError, Host, Phases, Plugin,
};

/// The plugin: no state.
pub struct TestAbiBump;

impl Plugin for TestAbiBump {
    const NAME: &'static str = "test-abi-bump";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const PRIORITY: i32 = 0;
    const PHASES: Phases = Phases::NONE;

    type Config = serde_json::Value;

    fn new(_config: Self::Config, _host: &Host) -> Result<Self, ConfigError> {
        Ok(TestAbiBump)
    }
}

export_plugin!(@abi(ABI_MAJOR + 1, 0) TestAbiBump);
