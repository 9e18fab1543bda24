//! Test plugin `test-batch`: a logger on the host's batch processor, so
//! that tests see batches reach an HTTP sink through the real gateway.
//!
//! Config: `batch`, the batch processor's config (passed to the host as
//! is). Each instance registers one processor; its log phase hands it one
//! entry per request, `{"path": <path>, "status": <status>}`, and returns
//! at once.

use radixgate_plugin::{
    export_plugin, serde, serde_json, Batch, ConfigError, Ctx, Decision, Host, Phase, Phases,
    Plugin,
};

/// The config.
#[derive(serde::Deserialize)]
#[serde(crate = "radixgate_plugin::serde", deny_unknown_fields)]
pub struct Config {
    batch: serde_json::Value,
}

/// The plugin: one batch processor per instance.
pub struct TestBatch {
    batch: Batch,
}

impl Plugin for TestBatch {
    const NAME: &'static str = "test-batch";
    const VERSION: &'static str = "0.1.0";
    const PRIORITY: i32 = 410;
    const PHASES: Phases = Phases::of(Phase::Log);
    type Config = Config;

    fn new(config: Config, host: &Host) -> Result<Self, ConfigError> {
        let batch = host
            .batch(&config.batch)
            .map_err(|e| ConfigError::field("batch", e))?;
        Ok(TestBatch { batch })
    }

    fn log(&self, ctx: &mut Ctx<'_>) -> Decision {
        let entry = serde_json::json!({
            "path": ctx.path(),
            "status": ctx.response_status(),
        });
        self.batch.push(&entry);
        Decision::Continue
    }
}

export_plugin!(TestBatch);
