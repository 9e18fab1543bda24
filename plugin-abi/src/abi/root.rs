//! The root module a plugin library exports: what the plugin declares and
//! its constructor.

use abi_stable::{
    declare_root_module_statics,
    library::RootModule,
    sabi_types::VersionStrings,
    std_types::{ROption, RResult, RStr, RString},
    StableAbi,
};

use super::{HostHandle, InstanceBox, Phases};

/// Major version of radixgate's plugin ABI. A plugin declaring another major
/// is refused at load, whatever abi_stable's layout check says.
pub const ABI_MAJOR: u32 = 1;

/// Minor version of radixgate's plugin ABI. A host accepts plugins of any
/// minor of its major: older ones lack fields appended since (the host
/// falls back), newer ones carry fields the host ignores.
/// 1.1: `prefer_route`. 1.2: phases may suspend on host operations
/// (`PhaseResult::Suspend`); the root module records the plugin's panic
/// strategy (`panic_unwind`). 1.3: plugins may read the request body
/// (`PluginInstance::reads_request_body`, `RequestCtx::request_body`) and
/// observe the response body (`PluginInstance::observes_response_body`).
/// 1.4: the host services read the store into a buffer
/// (`HostServices::store_get_into`) and resolve a metric series once
/// (`HostServices::metric_series`).
pub const ABI_MINOR: u32 = 4;

/// The version string abi_stable compares: `ABI_MAJOR.0.0`, as abi_stable
/// refuses a library of a lower minor than the host's and our minors only
/// append prefix fields (which abi_stable's layout check allows).
pub const ABI_VERSION_STRING: &str = "1.0.0";

/// The constructor a plugin exports: config JSON text and the host's services
/// in, an instance out, or a message naming the offending field.
///
/// Called when a config is loaded (never per request); never unwinds (the
/// SDK catches panics and reports them as errors).
pub type NewInstanceFn =
    extern "C" fn(config_json: RStr<'_>, host: HostHandle) -> RResult<InstanceBox, RString>;

/// The root module of a plugin library, exported once by
/// [`export_plugin!`](crate::export_plugin).
///
/// The `&'static` strings point into the plugin library, which the host
/// never unloads.
#[repr(C)]
#[derive(StableAbi)]
#[sabi(kind(Prefix(prefix_ref = PluginModRef)))]
pub struct PluginMod {
    /// The plugin's ABI major version ([`ABI_MAJOR`] when it was built).
    pub abi_major: u32,
    /// The plugin's ABI minor version ([`ABI_MINOR`] when it was built).
    pub abi_minor: u32,
    /// The plugin's name as used in configs (`"key-auth"`); unique per host.
    pub name: RStr<'static>,
    /// The plugin's own version, for logs and the Admin API.
    pub version: RStr<'static>,
    /// Run order within a phase: higher runs first (APISIX's numbers).
    pub priority: i32,
    /// The phases the plugin implements; the host skips the others.
    pub phases: Phases,
    /// JSON Schema (JSON text) of the plugin's config on a route, service,
    /// plugin_config or global rule.
    pub route_schema: RStr<'static>,
    /// JSON Schema of its config on a consumer (auth plugins), if any.
    pub consumer_schema: ROption<RStr<'static>>,
    /// JSON Schema of its plugin_metadata, if any.
    pub metadata_schema: ROption<RStr<'static>>,
    /// Builds an instance from a config that passed `route_schema` (or
    /// `consumer_schema`).
    #[sabi(last_prefix_field)]
    pub new_instance:
        extern "C" fn(config_json: RStr<'_>, host: HostHandle) -> RResult<InstanceBox, RString>,
    /// ABI 1.1: APISIX's `run_policy = "prefer_route"`: a global rule's
    /// instance is skipped for a request whose route runs the plugin too
    /// (absent in 1.0 plugins: false).
    pub prefer_route: bool,
    /// ABI 1.2: whether the plugin was built with `panic = "unwind"`
    /// (`cfg!(panic = "unwind")` where `export_plugin!` expands). The host
    /// refuses a plugin that records `false`: its first panic would abort
    /// the gateway. Absent in older plugins: unknown, accepted.
    pub panic_unwind: bool,
}

impl RootModule for PluginModRef {
    declare_root_module_statics! {PluginModRef}
    const BASE_NAME: &'static str = "radixgate_plugin";
    const NAME: &'static str = "radixgate plugin";
    const VERSION_STRINGS: VersionStrings = VersionStrings::new(ABI_VERSION_STRING);
}
