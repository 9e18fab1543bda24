//! The host operations a waiting phase asks for, run on the worker's
//! runtime: a timer, an outbound HTTP request ([`http_call`]), a Redis
//! command ([`redis_call`]). A failure resumes the phase with
//! [`OpResult::Failed`] and a text naming the target and the cause.

pub mod http_call;
pub mod redis_call;

use abi_stable::std_types::{RBox, RVec};
use radixgate_plugin::abi::{HostOp, OpResult};

/// Runs `op`; its result, or why it failed.
pub async fn run(op: HostOp) -> OpResult {
    match op {
        HostOp::Sleep { ms } => {
            tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
            OpResult::Done
        }
        HostOp::Http(call) => match http_call::send(&call).await {
            Ok(answer) => OpResult::Http(RBox::new(answer)),
            Err(e) => OpResult::Failed(e.into()),
        },
        HostOp::Redis(call) => match redis_call::run(&call).await {
            Ok(reply) => OpResult::Redis(RVec::from(reply)),
            Err(e) => OpResult::Failed(e.into()),
        },
        _ => OpResult::Failed("an operation this gateway does not know".into()),
    }
}
