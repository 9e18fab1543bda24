//! The plugin host: loads `.so` plugins built against `radixgate-plugin`,
//! keeps a registry of them, builds instances from configs and calls their
//! phases.
//!
//! - [`PluginRegistry::load_dir`] opens every `.so` in the plugin directory
//!   (at start, and again on reload: new and changed files; libraries are
//!   never unloaded), each from a private copy, and checks each: owner and
//!   write bits, abi_stable's header and layout check, our ABI major
//!   version, the panic strategy, a unique name (or another version of a
//!   loaded plugin, which replaces it when its schema accepts the live
//!   configs), schemas that compile. A file that fails is logged with its
//!   path and reason and skipped. A C
//!   plugin (`include/radixgate_plugin.h`) is told by its exported symbol
//!   and checked by `cplugin`, then the same way.
//! - [`PluginInstance::build`] checks a config against the plugin's JSON
//!   Schema and calls its constructor, when the config is loaded.
//! - [`PluginInstance::call`] runs one phase on a [`RequestState`] and maps
//!   the plugin's answer to an [`PhaseOutcome`]; a panic caught on the plugin's
//!   side becomes a logged failure (the request gets a 500).
//! - [`GatewayServices`] is what plugins may call: shared store, metadata,
//!   clock, logging, metrics, batch processors (`batch`); `ops` runs
//!   the host operations waiting phases ask for (timer, HTTP, Redis).

mod batch;
mod chain;
mod cplugin;
mod elf;
mod entry;
mod exporter;
mod files;
mod host_families;
mod inline_text;
mod instance;
mod live;
mod loader;
mod metrics;
pub(crate) mod multi_auth;
mod ops;
mod registry;
mod request;
mod services;
mod setup;
mod shared_vars;
mod store;
mod waiting;

// What tests and benches use to load and call plugins without a gateway.
pub use exporter::render as render_metrics;
pub use inline_text::InlineText;
pub use instance::{PhaseOutcome, PluginInstance};
pub use live::LiveConfigs;
pub use radixgate_plugin::{Phase, Phases};
pub use registry::{LoadReport, PluginRegistry, Upgrade};
pub use request::{is_framing, FramingEdits, RequestState};
pub use services::GatewayServices;
pub use waiting::WaitingPhase;

pub(crate) use chain::{Chain, ConfiguredPlugin, PluginHost};
pub(crate) use instance::PluginReply;
pub(crate) use setup::{admin_list, admin_reload, admin_schema, reload_on_sighup};
pub(crate) use shared_vars::SharedVars;
