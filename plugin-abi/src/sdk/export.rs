//! The macro that exports a plugin's root module.

/// The symbol abi_stable looks up in a library: what its
/// `#[export_root_module]` would name the library header (checked by a test
/// against `abi_stable::library::ROOT_MODULE_LOADER_NAME`).
pub const ROOT_SYMBOL: &str = "_1as_0lib_1header_0root_bmodule_bloader";

/// Exports plugin type `$plugin` (which implements
/// [`Plugin`](crate::Plugin)) as this library's root module. Use once, in
/// the plugin crate's `lib.rs`: `radixgate_plugin::export_plugin!(MyPlugin);`
///
/// The root module records the panic strategy the plugin crate is built
/// with (`cfg!(panic = "unwind")`, evaluated here, in the plugin's crate):
/// the host refuses a plugin built with `panic = "abort"`.
///
/// The `@abi(major, minor)` form declares another ABI version, and
/// `@abi(major, minor) @panic_unwind(bool)` another panic strategy; they
/// exist so that tests can build plugins the host must refuse.
#[macro_export]
macro_rules! export_plugin {
    (@abi($major:expr, $minor:expr) @panic_unwind($unwind:expr) $plugin:ty) => {
        /// The library header abi_stable's loader looks up.
        #[doc(hidden)]
        #[no_mangle]
        #[allow(non_upper_case_globals)]
        pub static _1as_0lib_1header_0root_bmodule_bloader: $crate::__private::LibHeader = {
            extern "C" fn radixgate_plugin_root() -> $crate::__private::RootModuleResult {
                $crate::__private::__call_root_module_loader(|| {
                    $crate::__private::install_hook();
                    $crate::__private::root_module_built::<$plugin>($major, $minor, $unwind)
                })
            }
            // SAFETY: the constructor returns the prefix reference of a
            // `PluginModRef` (through `__call_root_module_loader`), which is
            // the module type the header is declared with, as abi_stable's
            // own `#[export_root_module]` does.
            unsafe {
                $crate::__private::LibHeader::from_constructor::<$crate::abi::PluginModRef>(
                    radixgate_plugin_root,
                    $crate::__private::CheckTypeLayout::Yes,
                )
            }
        };
    };
    (@abi($major:expr, $minor:expr) $plugin:ty) => {
        $crate::export_plugin!(
            @abi($major, $minor) @panic_unwind(cfg!(panic = "unwind")) $plugin
        );
    };
    ($plugin:ty) => {
        $crate::export_plugin!(@abi($crate::abi::ABI_MAJOR, $crate::abi::ABI_MINOR) $plugin);
    };
}
