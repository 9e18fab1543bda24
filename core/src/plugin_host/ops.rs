//! The host operations a waiting phase asks for, run on the worker's
//! runtime: a timer, an outbound HTTP request, a Redis command.

use radixgate_plugin::abi::{HostOp, OpResult};

/// Runs `op`; its result, or why it failed.
pub async fn run(op: HostOp) -> OpResult {
    match op {
        HostOp::Sleep { ms } => {
            tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
            OpResult::Done
        }
        HostOp::Http(_) => OpResult::Failed("outbound HTTP is not available in this build".into()),
        HostOp::Redis(_) => OpResult::Failed("Redis is not available in this build".into()),
        _ => OpResult::Failed("an operation this gateway does not know".into()),
    }
}
