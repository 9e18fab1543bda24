//! radixgate-plugin: the stable native plugin ABI of the radixgate gateway,
//! and the SDK a plugin author writes against.
//!
//! A plugin is a `cdylib` crate that implements [`Plugin`] and exports it
//! with [`export_plugin!`]; the gateway loads the `.so`, checks its layout
//! (abi_stable) and ABI version ([`abi::ABI_MAJOR`]), and calls its phases
//! through [`abi::PluginInstance`]. [`mock`] runs a plugin without the
//! gateway, through the same ABI.
//!
//! ```
//! use radixgate_plugin::{
//!     export_plugin, serde_json, ConfigError, Ctx, Decision, Host, Phase, Phases, Plugin,
//! };
//!
//! pub struct Hello;
//!
//! impl Plugin for Hello {
//!     const NAME: &'static str = "hello";
//!     const VERSION: &'static str = "0.1.0";
//!     const PRIORITY: i32 = 1000;
//!     const PHASES: Phases = Phases::of(Phase::Access);
//!     type Config = serde_json::Value;
//!     fn new(_: Self::Config, _: &Host) -> Result<Self, ConfigError> {
//!         Ok(Hello)
//!     }
//!     fn access(&self, _ctx: &mut Ctx<'_>) -> Decision {
//!         Decision::respond(200, "hello")
//!     }
//! }
//! export_plugin!(Hello);
//!
//! // The mock host calls it through the ABI, as the gateway does.
//! use radixgate_plugin::abi::PhaseResult;
//! use radixgate_plugin::mock::{MockHost, MockInstance, MockRequest};
//!
//! let plugin = MockInstance::new::<Hello>("{}", &MockHost::new()).expect("a valid config");
//! match plugin.access(&mut MockRequest::new("GET", "/")) {
//!     PhaseResult::Respond(reply) => {
//!         assert_eq!((reply.status, reply.body.as_slice()), (200, &b"hello"[..]))
//!     }
//!     other => panic!("expected hello's answer, got {other:?}"),
//! }
//! ```

pub mod abi;
mod ip_text;
pub mod mock;
pub mod replacement;
mod sdk;
pub mod vars;

pub use abi::{LogLevel, MetricId, Phase, Phases, StoreCounter};
pub use ip_text::IpText;
pub use sdk::{
    new_instance, root_module, Batch, Chunk, ConfigError, Ctx, Decision, Host, HostCall,
    HttpRequest, HttpResponse, Plugin, RedisReply, RedisTarget, Response, Series, Waiting,
    ROOT_SYMBOL,
};

/// serde, for `#[derive(Deserialize)]` on a plugin's config with
/// `#[serde(crate = "radixgate_plugin::serde")]`.
pub use serde;
/// serde_json, for configs kept as JSON values.
pub use serde_json;

/// What the export macro expands to; not part of the SDK's API.
#[doc(hidden)]
pub mod __private {
    pub use crate::sdk::panics::install_hook;
    pub use crate::sdk::root_module_built;
    pub use abi_stable::library::{
        __call_root_module_loader, CheckTypeLayout, LibHeader, RootModuleResult,
    };
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod wait_tests;
