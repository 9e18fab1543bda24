//! `test-panic-abort`: a test plugin whose root module records the
//! `panic = "abort"` strategy; the host must refuse it.
//!
//! The real record is `cfg!(panic = "unwind")`, evaluated in the plugin's
//! crate when `export_plugin!` expands. A cargo profile cannot set `panic`
//! for one package of a workspace, so this plugin, built like the others
//! (with unwinding), declares `abort` through the export macro's test form.

use radixgate_plugin::abi::{ABI_MAJOR, ABI_MINOR};
use radixgate_plugin::{export_plugin, serde_json, ConfigError, Host, Phases, Plugin};

/// The plugin: no state.
pub struct PanicAbort;

impl Plugin for PanicAbort {
    const NAME: &'static str = "test-panic-abort";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const PRIORITY: i32 = 0;
    const PHASES: Phases = Phases::NONE;

    type Config = serde_json::Value;

    fn new(_config: Self::Config, _host: &Host) -> Result<Self, ConfigError> {
        Ok(PanicAbort)
    }
}

export_plugin!(@abi(ABI_MAJOR, ABI_MINOR) @panic_unwind(false) PanicAbort);
