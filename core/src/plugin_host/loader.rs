//! Opening one `.so` file and checking that it is a radixgate plugin of our
//! ABI: abi_stable's checks (its header, the root module's layout and
//! version), then our ABI major and the plugin's panic strategy, then the
//! plugin's schemas. The file is a private copy (see `files.rs`).

use std::path::{Path, PathBuf};

use abi_stable::library::{lib_header_from_raw_library, LibraryError, RawLibrary, RootModule};
use radixgate_plugin::abi::frozen::{root_1_0, root_1_1, root_1_2, root_1_3};
use radixgate_plugin::abi::{PluginModRef, ABI_MAJOR, ABI_MINOR};

use super::entry::PluginEntry;

/// A file the host refused, with the reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("plugin file {}: {reason}", path.display())]
pub struct LoadError {
    /// The file.
    pub path: PathBuf,
    /// Why it was refused.
    pub reason: String,
}

impl LoadError {
    /// A refusal of `path` for `reason`.
    pub fn new(path: &Path, reason: impl Into<String>) -> LoadError {
        LoadError {
            path: path.to_path_buf(),
            reason: reason.into(),
        }
    }
}

/// Opens `path` and checks it; on success the plugin's declarations, ready
/// to build instances. The library stays loaded for the life of the
/// process, whatever the outcome (nothing guarantees that no pointer into it
/// remains, so it is never unloaded: an instance can never outlive its code).
pub fn load_file(path: &Path) -> Result<PluginEntry, LoadError> {
    // A C plugin is told by its own exported symbol and checked apart;
    // another library stays open until abi_stable has opened it too.
    let _library = match super::cplugin::probe(path) {
        super::cplugin::Probe::C(loaded) => return *loaded,
        super::cplugin::Probe::Other(library) => library,
    };
    let not_a_plugin =
        |e: LibraryError| LoadError::new(path, format!("not a radixgate plugin: {e}"));
    // Opens the library and leaks it before anything else: it is never
    // closed, whatever follows (abi_stable's own `lib_header_from_path`
    // closes a library without its header, whose initializers have run).
    let library: &'static RawLibrary =
        Box::leak(Box::new(RawLibrary::load_at(path).map_err(not_a_plugin)?));
    // SAFETY: the header borrows from the library for `'static`, and the
    // library is never closed (leaked above). Fails for a library without
    // an abi_stable root module (not a plugin), or of another abi_stable.
    let header = unsafe { lib_header_from_raw_library(library) }.map_err(not_a_plugin)?;
    // Checks the root module's version string and layout against ours, then
    // runs the plugin's root module constructor. abi_stable refuses a
    // library with fewer fields or variants than the checked types: one of
    // an older minor is checked against that minor's frozen layout instead
    // (1.3's, 1.2's, 1.1's, then 1.0's), and used through ours (the fields it lacks read
    // as absent; it never returns the variants it lacks).
    let root: PluginModRef = match header.init_root_module::<PluginModRef>() {
        Ok(root) => root,
        Err(e) => older_minor(header).ok_or_else(|| {
            LoadError::new(
                path,
                format!(
                    "incompatible with this gateway's {}: {e}",
                    PluginModRef::NAME
                ),
            )
        })?,
    };
    let (major, minor) = (root.abi_major(), root.abi_minor());
    if major != ABI_MAJOR {
        return Err(LoadError::new(
            path,
            format!(
                "plugin {:?} was built for plugin ABI {major}.{minor}; this gateway speaks \
                 {ABI_MAJOR}.{ABI_MINOR} (rebuild it against radixgate-plugin {ABI_MAJOR}.x)",
                root.name().as_str()
            ),
        ));
    }
    if root.panic_unwind() == Some(false) {
        return Err(LoadError::new(
            path,
            format!(
                "plugin {:?} was built with panic = \"abort\": its first panic would take the \
                 gateway down (rebuild it with panic = \"unwind\")",
                root.name().as_str()
            ),
        ));
    }
    PluginEntry::from_root(path, root).map_err(|reason| LoadError::new(path, reason))
}

/// The root module of a library built against an older minor of this
/// major (checked against that minor's frozen layout), seen through ours.
fn older_minor(header: &abi_stable::library::LibHeader) -> Option<PluginModRef> {
    if let Ok(root) = header.init_root_module::<root_1_3::PluginModRef>() {
        return root.upgrade();
    }
    if let Ok(root) = header.init_root_module::<root_1_2::PluginModRef>() {
        return root.upgrade();
    }
    if let Ok(root) = header.init_root_module::<root_1_1::PluginModRef>() {
        return root.upgrade();
    }
    header
        .init_root_module::<root_1_0::PluginModRef>()
        .ok()
        .and_then(root_1_0::PluginModRef::upgrade)
}
