//! `test-dup-name`: a test plugin that claims the `noop` plugin's name; the
//! host must refuse whichever of the two it loads second.

use radixgate_plugin::{export_plugin, serde_json, ConfigError, Host, Phases, Plugin};

/// The plugin: no state.
pub struct DupName;

impl Plugin for DupName {
    const NAME: &'static str = "noop";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const PRIORITY: i32 = 0;
    const PHASES: Phases = Phases::NONE;

    type Config = serde_json::Value;

    fn new(_config: Self::Config, _host: &Host) -> Result<Self, ConfigError> {
        Ok(DupName)
    }
}

export_plugin!(DupName);
