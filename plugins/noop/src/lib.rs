//! `noop`: a plugin that implements every phase and does nothing in any.
//! Used by the plugin host's tests and by the per-call benchmark.

use radixgate_plugin::{export_plugin, serde_json, ConfigError, Host, Phases, Plugin};

/// The plugin: no state.
pub struct Noop;

impl Plugin for Noop {
    const NAME: &'static str = "noop";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const PRIORITY: i32 = 0;
    // Every phase, so that each is called through the ABI.
    const PHASES: Phases = Phases::ALL;
    const SCHEMA: &'static str = r#"{"type":"object"}"#;

    type Config = serde_json::Value;

    fn new(_config: Self::Config, _host: &Host) -> Result<Self, ConfigError> {
        Ok(Noop)
    }
}

export_plugin!(Noop);
