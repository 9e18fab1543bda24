#![allow(non_local_definitions)] // abi_stable's derives put trait impls in const blocks.

//! A frozen copy of plugin ABI 1.0's root module, as `radixgate-plugin`
//! declared it before 1.1 appended `prefer_route`: the same type name,
//! field names, types and order, `new_instance` its `last_prefix_field`.
//! The other types crossing the boundary (`Phases`, `HostHandle`,
//! `InstanceBox` and the vtables behind them) did not change in 1.1 and
//! are taken from the current crate.
//!
//! Do not edit: it is the layout of plugins built against 1.0.

use abi_stable::{
    declare_root_module_statics,
    library::RootModule,
    sabi_types::VersionStrings,
    std_types::{ROption, RResult, RStr, RString},
    StableAbi,
};
use radixgate_plugin::abi::{HostHandle, InstanceBox};
use radixgate_plugin::Phases;

/// ABI 1.0's minor version.
pub const ABI_MINOR: u32 = 0;

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
    /// JSON Schema of the plugin's route config.
    pub route_schema: RStr<'static>,
    /// JSON Schema of its consumer config, if any.
    pub consumer_schema: ROption<RStr<'static>>,
    /// JSON Schema of its plugin_metadata, if any.
    pub metadata_schema: ROption<RStr<'static>>,
    /// Builds an instance from a config: the last field of ABI 1.0.
    #[sabi(last_prefix_field)]
    pub new_instance:
        extern "C" fn(config_json: RStr<'_>, host: HostHandle) -> RResult<InstanceBox, RString>,
}

impl RootModule for PluginModRef {
    declare_root_module_statics! {PluginModRef}
    const BASE_NAME: &'static str = "radixgate_plugin";
    const NAME: &'static str = "radixgate plugin";
    const VERSION_STRINGS: VersionStrings = VersionStrings::new("1.0.0");
}
