//! The root module as plugin ABI 1.0 declared it (before `prefer_route`),
//! with 1.0's plugin instance.

use abi_stable::{
    declare_root_module_statics,
    library::RootModule,
    sabi_types::VersionStrings,
    std_types::{ROption, RResult, RStr, RString},
    StableAbi,
};

use super::phases_1_1::InstanceBox;
use crate::abi::{HostHandle, Phases, ABI_VERSION_STRING};

/// Fields of ABI 1.0's root module: those a library of any minor of this
/// major has.
pub const FIELDS_1_0: usize = 10;

/// ABI 1.0's root module.
#[repr(C)]
#[derive(StableAbi)]
#[sabi(kind(Prefix(prefix_ref = PluginModRef)))]
pub struct PluginMod {
    /// The plugin's ABI major version.
    pub abi_major: u32,
    /// The plugin's ABI minor version.
    pub abi_minor: u32,
    /// The plugin's name as used in configs.
    pub name: RStr<'static>,
    /// The plugin's own version.
    pub version: RStr<'static>,
    /// Run order within a phase: higher runs first.
    pub priority: i32,
    /// The phases the plugin implements.
    pub phases: Phases,
    /// JSON Schema of its route config.
    pub route_schema: RStr<'static>,
    /// JSON Schema of its consumer config, if any.
    pub consumer_schema: ROption<RStr<'static>>,
    /// JSON Schema of its plugin_metadata, if any.
    pub metadata_schema: ROption<RStr<'static>>,
    /// Builds an instance from a config.
    #[sabi(last_prefix_field)]
    pub new_instance:
        extern "C" fn(config_json: RStr<'_>, host: HostHandle) -> RResult<InstanceBox, RString>,
}

impl RootModule for PluginModRef {
    declare_root_module_statics! {PluginModRef}
    const BASE_NAME: &'static str = "radixgate_plugin";
    const NAME: &'static str = "radixgate plugin";
    const VERSION_STRINGS: VersionStrings = VersionStrings::new(ABI_VERSION_STRING);
}

impl PluginModRef {
    /// Today's view of this 1.0 root module, when it is one: `None` when the
    /// library's root module has fields past 1.0's (those were not checked
    /// against this type; such a library must pass a newer check).
    pub fn upgrade(self) -> Option<crate::abi::PluginModRef> {
        let fields = self.0.field_accessibility();
        if fields.at(FIELDS_1_0).is_accessible() {
            return None;
        }
        // SAFETY: the library's root module was checked against 1.0's
        // layout, which is today's prefix (the fields up to `new_instance`,
        // unchanged since, and its instance's vtable, whose methods today's
        // declares alike, returning a result of which today's variants are
        // a superset); today's accessors read a field past the prefix only
        // when the value's own field accessibility (the library's, exactly
        // 1.0's fields as checked above) says it has it.
        Some(crate::abi::PluginModRef(unsafe { self.0.cast() }))
    }
}
