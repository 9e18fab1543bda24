//! Telling a C plugin from a Rust one, and checking a C plugin's
//! declaration at load: its version and size, its texts, its phases and
//! flags, a function for each declared phase; then the same checks as a
//! Rust plugin's (a name, schemas that compile) through [`PluginEntry`].

use std::path::Path;
use std::sync::Arc;

use abi_stable::library::RawLibrary;
use radixgate_plugin::{Phase, Phases};

use super::abi::{
    DeclareFn, InstanceDropFn, InstanceNewFn, PhaseFn, RgBytes, RgPlugin, ABI_VERSION,
    FLAG_PREFER_ROUTE, KNOWN_FLAGS, KNOWN_PHASES, SYMBOL,
};
use super::instance;
use crate::plugin_host::entry::{Declared, PluginEntry};
use crate::plugin_host::loader::LoadError;

/// The longest name or version a C plugin may declare.
const MAX_NAME: usize = 256;

/// The longest schema a C plugin may declare.
const MAX_SCHEMA: usize = 1 << 20;

/// The largest `rg_plugin` a later version of the header could declare:
/// a size beyond it is not a size.
const MAX_SIZE: u32 = 4096;

/// A loaded C plugin's declaration: what the host calls.
pub struct CPlugin {
    /// Its name.
    pub name: String,
    /// Its constructor.
    pub instance_new: InstanceNewFn,
    /// Its destructor, if any.
    pub instance_drop: Option<InstanceDropFn>,
    /// Its phase functions, indexed by [`Phase`] (those of declared phases
    /// are never NULL).
    pub phases: [Option<PhaseFn>; 6],
}

impl CPlugin {
    /// The function of `phase`, if the plugin has one.
    pub fn phase(&self, phase: Phase) -> Option<PhaseFn> {
        self.phases[phase as usize]
    }
}

/// What opening a plugin file as a C plugin found.
pub enum Probe {
    /// A C plugin (it exports `radixgate_plugin_c_v1`), loaded or refused.
    C(Box<Result<PluginEntry, LoadError>>),
    /// Not a C plugin: the library, when it opened, kept open until the
    /// Rust loader has opened it too (so that it is not loaded twice).
    Other(Option<RawLibrary>),
}

/// Opens `path` and, when it exports the C plugin symbol, checks and
/// loads it. A C plugin's library stays loaded for the life of the
/// process, whatever the outcome, as a Rust plugin's does.
pub fn probe(path: &Path) -> Probe {
    let Ok(library) = RawLibrary::load_at(path) else {
        return Probe::Other(None);
    };
    // SAFETY: a library exporting this symbol declares it as the header
    // does: `const rg_plugin *radixgate_plugin_c_v1(void)`.
    let declare: DeclareFn = match unsafe { library.get::<DeclareFn>(SYMBOL) } {
        Ok(symbol) => *symbol,
        Err(_) => return Probe::Other(Some(library)),
    };
    // Never unloaded: its code and its static declaration stay mapped.
    std::mem::forget(library);
    Probe::C(Box::new(
        load(path, declare).map_err(|reason| LoadError::new(path, reason)),
    ))
}

/// Reads and checks the declaration `declare` returns.
fn load(path: &Path, declare: DeclareFn) -> Result<PluginEntry, String> {
    // SAFETY: the plugin's exported function, called as the header
    // declares it (no arguments; a pointer to its static declaration).
    let raw = unsafe { declare() };
    if raw.is_null() || !raw.is_aligned() {
        return Err("a C plugin whose radixgate_plugin_c_v1 returned no rg_plugin".into());
    }
    // SAFETY: not NULL and aligned; every version of the header starts
    // rg_plugin with these two u32 fields, so they can be read before the
    // size is known.
    let (abi_version, size) = unsafe { ((*raw).abi_version, (*raw).size) };
    if abi_version != ABI_VERSION {
        return Err(format!(
            "a C plugin built for C plugin ABI version {abi_version}; this gateway speaks \
             version {ABI_VERSION} (rebuild it against this gateway's include/radixgate_plugin.h)"
        ));
    }
    let known = std::mem::size_of::<RgPlugin>();
    if (size as usize) < known || size > MAX_SIZE {
        return Err(format!(
            "a C plugin whose rg_plugin size is {size} bytes; C plugin ABI {ABI_VERSION} \
             declares {known} (set size to sizeof(rg_plugin), built against this gateway's \
             include/radixgate_plugin.h)"
        ));
    }
    // SAFETY: the plugin declares (size) at least as many bytes as this
    // host's rg_plugin; the declaration is static in its library, which
    // is never unloaded.
    let decl: &'static RgPlugin = unsafe { &*raw };
    let name = text("name", &decl.name, MAX_NAME)?;
    let named = |e: String| format!("C plugin {name:?}: {e}");
    let plugin = check(decl, name).map_err(named)?;
    let declared = Declared {
        name,
        version: text("version", &decl.version, MAX_NAME).map_err(named)?,
        priority: decl.priority,
        phases: Phases(decl.phases),
        prefer_route: decl.flags & FLAG_PREFER_ROUTE != 0,
        route_schema: text("route_schema", &decl.route_schema, MAX_SCHEMA).map_err(named)?,
        consumer_schema: optional("consumer_schema", &decl.consumer_schema).map_err(named)?,
        metadata_schema: optional("metadata_schema", &decl.metadata_schema).map_err(named)?,
    };
    let plugin = Arc::new(plugin);
    PluginEntry::from_declared(
        path,
        declared,
        Box::new(move |config, host| instance::construct(&plugin, config, host)),
    )
}

/// The functions, phases and flags of `decl`, checked.
fn check(decl: &RgPlugin, name: &str) -> Result<CPlugin, String> {
    if decl.phases & !KNOWN_PHASES != 0 {
        return Err(format!(
            "declares phase bits {:#x} this gateway does not know",
            decl.phases & !KNOWN_PHASES
        ));
    }
    if decl.flags & !KNOWN_FLAGS != 0 {
        return Err(format!(
            "declares flag bits {:#x} this gateway does not know",
            decl.flags & !KNOWN_FLAGS
        ));
    }
    let instance_new = decl
        .instance_new
        .ok_or_else(|| "its instance_new function is NULL".to_string())?;
    let phases = [
        decl.rewrite,
        decl.access,
        decl.before_proxy,
        decl.header_filter,
        decl.body_filter,
        decl.log,
    ];
    let declared = Phases(decl.phases);
    for phase in Phase::ALL {
        if declared.contains(phase) && phases[phase as usize].is_none() {
            return Err(format!(
                "declares the {0} phase but its {0} function is NULL",
                phase.name()
            ));
        }
    }
    Ok(CPlugin {
        name: name.to_owned(),
        instance_new,
        instance_drop: decl.instance_drop,
        phases,
    })
}

/// A required text of the declaration, at most `max` bytes of UTF-8.
fn text(what: &str, b: &RgBytes, max: usize) -> Result<&'static str, String> {
    if b.ptr.is_null() {
        return Err(format!("its {what} is NULL"));
    }
    if b.len > max {
        return Err(format!("its {what} is {} bytes (at most {max})", b.len));
    }
    // SAFETY: not NULL; a declaration's texts are static in the plugin's
    // library (the header's contract), readable for their lengths, which
    // are bounded above; the library is never unloaded.
    let bytes: &'static [u8] = unsafe { std::slice::from_raw_parts(b.ptr, b.len) };
    std::str::from_utf8(bytes).map_err(|e| format!("its {what} is not UTF-8: {e}"))
}

/// An optional schema: `(NULL, 0)` is none.
fn optional(what: &str, b: &RgBytes) -> Result<Option<&'static str>, String> {
    if b.ptr.is_null() && b.len == 0 {
        return Ok(None);
    }
    text(what, b, MAX_SCHEMA).map(Some)
}
