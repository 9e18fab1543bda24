//! The plugins loaded from the plugin directory, by name.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use super::entry::PluginEntry;
use super::loader::{load_file, plugin_files, LoadError};

/// What one scan of the plugin directory did.
#[derive(Debug, Default)]
pub struct LoadReport {
    /// Plugins added to the registry, by name.
    pub loaded: Vec<String>,
    /// Valid plugins left out because the enabled list does not name them.
    pub not_enabled: Vec<String>,
    /// Files refused, each with its path and reason.
    pub refused: Vec<LoadError>,
}

#[derive(Default)]
struct Inner {
    by_name: HashMap<String, Arc<PluginEntry>>,
    /// Every file opened so far: a later scan skips them (a library is never
    /// unloaded, so reopening a path would yield the same library).
    seen: HashSet<PathBuf>,
}

/// The registry of loaded plugins: name -> declarations, priority, schemas.
/// Loading takes a write lock; lookups (at config load, never per request)
/// a read lock.
pub struct PluginRegistry {
    enabled: Option<HashSet<String>>,
    inner: RwLock<Inner>,
}

impl PluginRegistry {
    /// An empty registry. `enabled`: the plugin names that may be
    /// registered (`plugins.enabled`); `None` registers every valid plugin.
    pub fn new(enabled: Option<Vec<String>>) -> PluginRegistry {
        PluginRegistry {
            enabled: enabled.map(|names| names.into_iter().collect()),
            inner: RwLock::default(),
        }
    }

    /// Loads every `.so` file in `dir` not loaded before (at start, and
    /// again on reload: new files join the old ones). Files that fail are
    /// logged with their path and reason, reported, and skipped; so is a
    /// plugin whose name is already registered.
    pub fn load_dir(&self, dir: &Path) -> LoadReport {
        let mut report = LoadReport::default();
        let files = match plugin_files(dir) {
            Ok(files) => files,
            Err(e) => {
                tracing::error!(path = %e.path.display(), reason = %e.reason, "plugin directory");
                report.refused.push(e);
                return report;
            }
        };
        for path in files {
            self.load_one(&path, &mut report);
        }
        report
    }

    /// Loads one file into the registry (see [`PluginRegistry::load_dir`]).
    pub fn load_one(&self, path: &Path, report: &mut LoadReport) {
        let key = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
        if !self.write().seen.insert(key) {
            return;
        }
        let entry = match load_file(path) {
            Ok(entry) => entry,
            Err(e) => {
                tracing::error!(path = %e.path.display(), reason = %e.reason, "plugin refused");
                report.refused.push(e);
                return;
            }
        };
        if self
            .enabled
            .as_ref()
            .is_some_and(|enabled| !enabled.contains(&entry.name))
        {
            tracing::info!(plugin = %entry.name, path = %path.display(), "plugin not enabled");
            report.not_enabled.push(entry.name);
            return;
        }
        let mut inner = self.write();
        if let Some(first) = inner.by_name.get(&entry.name) {
            let e = LoadError::new(
                path,
                format!(
                    "duplicate plugin name {:?} (already loaded from {})",
                    entry.name,
                    first.path.display()
                ),
            );
            tracing::error!(path = %e.path.display(), reason = %e.reason, "plugin refused");
            report.refused.push(e);
            return;
        }
        tracing::info!(
            plugin = %entry.name,
            version = %entry.version,
            priority = entry.priority,
            path = %path.display(),
            "plugin loaded"
        );
        report.loaded.push(entry.name.clone());
        inner.by_name.insert(entry.name.clone(), Arc::new(entry));
    }

    /// The plugin called `name`, if registered.
    pub fn get(&self, name: &str) -> Option<Arc<PluginEntry>> {
        self.read().by_name.get(name).cloned()
    }

    /// Every registered plugin, highest priority first (then by name).
    pub fn all(&self) -> Vec<Arc<PluginEntry>> {
        let mut all: Vec<_> = self.read().by_name.values().cloned().collect();
        all.sort_by(|a, b| b.priority.cmp(&a.priority).then(a.name.cmp(&b.name)));
        all
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Inner> {
        self.inner.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Inner> {
        self.inner.write().unwrap_or_else(|e| e.into_inner())
    }
}
