//! A mock gateway for plugin unit tests: an in-memory host ([`MockHost`]), a
//! plain request ([`MockRequest`]), and [`MockInstance`], which drives a
//! plugin through the same ABI calls the gateway makes — a panic, an error or
//! a reply comes back exactly as the gateway would see it.
//!
//! ```
//! # use radixgate_plugin::{serde, ConfigError, Ctx, Decision, Host, Phase, Phases, Plugin};
//! # /// Lets requests whose `apikey` header is the configured key through.
//! # struct MyPlugin { key: String }
//! # #[derive(serde::Deserialize)]
//! # #[serde(crate = "radixgate_plugin::serde")]
//! # struct Config { key: String }
//! # impl Plugin for MyPlugin {
//! #     const NAME: &'static str = "my-plugin";
//! #     const VERSION: &'static str = "0.1.0";
//! #     const PRIORITY: i32 = 2500;
//! #     const PHASES: Phases = Phases::of(Phase::Access);
//! #     type Config = Config;
//! #     fn new(config: Config, _: &Host) -> Result<Self, ConfigError> {
//! #         Ok(MyPlugin { key: config.key })
//! #     }
//! #     fn access(&self, ctx: &mut Ctx<'_>) -> Decision {
//! #         match ctx.header("apikey") {
//! #             Some(k) if k == self.key => Decision::Continue,
//! #             _ => Decision::respond(401, "no valid key"),
//! #         }
//! #     }
//! # }
//! use radixgate_plugin::abi::PhaseResult;
//! use radixgate_plugin::mock::{MockHost, MockInstance, MockRequest};
//!
//! let host = MockHost::new();
//! let plugin = MockInstance::new::<MyPlugin>(r#"{"key":"k"}"#, &host)?;
//! let mut req = MockRequest::new("GET", "/hello").header("apikey", "k");
//! assert_eq!(plugin.access(&mut req), PhaseResult::Continue);
//! let mut req = MockRequest::new("GET", "/hello").header("apikey", "wrong");
//! assert!(matches!(plugin.access(&mut req), PhaseResult::Respond(r) if r.status == 401));
//! # Ok::<(), String>(())
//! ```

mod host;
mod request;

pub use host::{MockBatch, MockHost};
pub use request::MockRequest;

use abi_stable::{
    sabi_trait::TD_Opaque,
    std_types::{RNone, RSlice, RVec},
};

use crate::abi::{
    BodyChunk, InstanceBox, OpResultNE, PhaseResult, PhaseResultNE, RawCtx, RequestCtx_TO,
    Suspension,
};
use crate::{new_instance, Plugin};

/// A plugin instance built through the plugin's exported constructor. A
/// phase that waits is run to its decision: each host operation it asks
/// for is answered by the mock host ([`MockHost::run_op`]).
pub struct MockInstance {
    instance: InstanceBox,
    host: MockHost,
}

/// An unknown variant (from a newer ABI) reads as this failure.
fn known(result: PhaseResultNE) -> PhaseResult {
    result
        .into_enum()
        .unwrap_or_else(|_| failed("unknown phase result variant"))
}

/// A failure the mock host reports itself.
fn failed(message: &str) -> PhaseResult {
    PhaseResult::Error(abi_stable::std_types::RBox::new(crate::abi::Failure {
        plugin: "(mock host)".into(),
        panicked: false,
        message: message.into(),
    }))
}

fn ctx(req: &mut MockRequest) -> RawCtx<'_> {
    RequestCtx_TO::from_ptr(req, TD_Opaque)
}

impl MockInstance {
    /// Builds `P` from `config_json` as the gateway would (without the JSON
    /// Schema check); the error is the plugin's message.
    pub fn new<P: Plugin>(config_json: &str, host: &MockHost) -> Result<MockInstance, String> {
        new_instance::<P>(config_json.into(), host.handle())
            .into_result()
            .map(|instance| MockInstance {
                instance,
                host: host.clone(),
            })
            .map_err(Into::into)
    }

    /// Resumes the waiting phase `result` names until it decides.
    fn settle(&self, mut result: PhaseResult, req: &mut MockRequest) -> PhaseResult {
        loop {
            let PhaseResult::Suspend(handle) = result else {
                return result;
            };
            let Some(Suspension { op, mut resume }) = handle.take() else {
                return failed("a suspension shared with someone else");
            };
            let op = match op.into_enum() {
                Ok(op) => op,
                Err(_) => return failed("an operation the mock host does not know"),
            };
            let answer = OpResultNE::new(self.host.run_op(op));
            result = known(resume.resume(ctx(req), answer));
        }
    }

    /// Whether the instance reads the request body, as the host asks it.
    pub fn reads_request_body(&self) -> bool {
        self.instance.reads_request_body()
    }

    /// Whether the instance observes the response body, as the host asks it.
    pub fn observes_response_body(&self) -> bool {
        self.instance.observes_response_body()
    }

    /// Runs the rewrite phase.
    pub fn rewrite(&self, req: &mut MockRequest) -> PhaseResult {
        let result = known(self.instance.rewrite(ctx(req)));
        self.settle(result, req)
    }

    /// Runs the access phase.
    pub fn access(&self, req: &mut MockRequest) -> PhaseResult {
        let result = known(self.instance.access(ctx(req)));
        self.settle(result, req)
    }

    /// Runs the before_proxy phase.
    pub fn before_proxy(&self, req: &mut MockRequest) -> PhaseResult {
        let result = known(self.instance.before_proxy(ctx(req)));
        self.settle(result, req)
    }

    /// Runs the header_filter phase.
    pub fn header_filter(&self, req: &mut MockRequest) -> PhaseResult {
        let result = known(self.instance.header_filter(ctx(req)));
        self.settle(result, req)
    }

    /// Runs body_filter on one chunk; returns the decision and the chunk as
    /// the plugin left it.
    pub fn body_filter(
        &self,
        req: &mut MockRequest,
        chunk: &[u8],
        last: bool,
    ) -> (PhaseResult, Vec<u8>) {
        let mut body = BodyChunk {
            data: RSlice::from(chunk),
            end_of_stream: last,
            replacement: RNone,
        };
        let result = known(self.instance.body_filter(ctx(req), &mut body));
        let out = body
            .replacement
            .into_option()
            .map_or_else(|| chunk.to_vec(), RVec::into_vec);
        (result, out)
    }

    /// Runs the log phase.
    pub fn log(&self, req: &mut MockRequest) -> PhaseResult {
        let result = known(self.instance.log(ctx(req)));
        self.settle(result, req)
    }
}
