//! The root module as plugin ABI 1.2 declared it (`panic_unwind` added),
//! with 1.2's plugin instance (on 1.2's request context) and 1.2's host
//! services (`host_1_3`: unchanged through 1.3).

use abi_stable::{
    declare_root_module_statics,
    library::RootModule,
    sabi_types::VersionStrings,
    std_types::{ROption, RResult, RStr, RString},
    StableAbi,
};

use super::host_1_3::HostHandle;
use super::phases_1_2::InstanceBox;
use crate::abi::{Phases, ABI_VERSION_STRING};

/// Fields of ABI 1.2's root module.
pub const FIELDS_1_2: usize = 12;

/// ABI 1.2's root module.
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

impl PluginModRef {
    /// Today's view of this 1.2 root module, when it is one: `None` when the
    /// library's root module has fields past 1.2's (those were not checked
    /// against this type; such a library must pass a newer check).
    pub fn upgrade(self) -> Option<crate::abi::PluginModRef> {
        let fields = self.0.field_accessibility();
        if fields.at(FIELDS_1_2).is_accessible() {
            return None;
        }
        // SAFETY: the library's root module was checked against 1.2's
        // layout, which is today's (its fields, unchanged since; its
        // instance's vtable, whose methods today's declares alike and
        // extends past the same prefix with a method that has a default,
        // on a request context today's extends past the same prefix with a
        // method that has a default, returning a result and a suspension
        // laid out alike; its constructor's host services, today's);
        // today's accessors read a field past the prefix only when the
        // value's own field accessibility (the library's, exactly 1.2's
        // fields as checked above) says it has it.
        Some(crate::abi::PluginModRef(unsafe { self.0.cast() }))
    }
}
