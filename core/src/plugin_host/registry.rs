//! The plugins loaded from the plugin directory, by name, and the scans of
//! that directory: new files join, a changed file is opened again, and a
//! file declaring a loaded name with another version replaces it.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};

use super::elf;
use super::entry::PluginEntry;
use super::files::{self, FileStamp, Opened, PrivateDir};
use super::live::LiveConfigs;
use super::loader::{load_file, LoadError};

/// A loaded plugin replaced by another version of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upgrade {
    /// The plugin's name.
    pub name: String,
    /// The version replaced.
    pub from: String,
    /// The version now loaded.
    pub to: String,
}

/// What one scan of the plugin directory did.
#[derive(Debug, Default)]
pub struct LoadReport {
    /// Plugins added to the registry, by name.
    pub loaded: Vec<String>,
    /// Loaded plugins replaced by another version.
    pub upgraded: Vec<Upgrade>,
    /// Valid plugins left out because the enabled list does not name them.
    pub not_enabled: Vec<String>,
    /// Files refused, each with its path and reason.
    pub refused: Vec<LoadError>,
}

#[derive(Default)]
struct Inner {
    by_name: HashMap<String, Arc<PluginEntry>>,
    /// Every file opened so far, as it was then: a later scan opens it
    /// again only when it changed (a library is never unloaded, so each
    /// opening maps it once more). Files refused before they were opened
    /// (unsafe, unreadable, changing) are not here: tried at every scan.
    opened: HashMap<PathBuf, FileStamp>,
}

/// The registry of loaded plugins: name -> declarations, priority, schemas.
/// Loading takes a write lock; lookups (at config load, never per request)
/// a read lock. One scan of the directory runs at a time.
pub struct PluginRegistry {
    enabled: Option<HashSet<String>>,
    allow_insecure: bool,
    inner: RwLock<Inner>,
    scan: Mutex<()>,
    live: LiveConfigs,
}

impl PluginRegistry {
    /// An empty registry. `enabled`: the plugin names that may be
    /// registered (`plugins.enabled`); `None` registers every valid plugin.
    pub fn new(enabled: Option<Vec<String>>) -> PluginRegistry {
        PluginRegistry {
            enabled: enabled.map(|names| names.into_iter().collect()),
            allow_insecure: false,
            inner: RwLock::default(),
            scan: Mutex::new(()),
            live: LiveConfigs::default(),
        }
    }

    /// This registry loading from directories and files that others than
    /// the gateway's user may write (`plugins.allow_insecure_dir`).
    pub fn allow_insecure_dir(mut self, allow: bool) -> PluginRegistry {
        self.allow_insecure = allow;
        self
    }

    /// The plugin configs of the objects served, which a new version of a
    /// plugin must accept to replace the loaded one.
    pub fn live(&self) -> &LiveConfigs {
        &self.live
    }

    /// Loads every `.so` file in `dir` not opened before or changed since
    /// (at start, and again on reload). The directory and each file must
    /// be safe (see `files::insecure`) unless insecure directories are
    /// allowed. Each file is copied into a private directory and loaded
    /// from the copy. A file declaring the name of a plugin loaded by an
    /// earlier scan, with another version, replaces it when every live
    /// config of it passes the new version's schema. Files that fail are
    /// logged with their path and reason, reported, and skipped.
    pub fn load_dir(&self, dir: &Path) -> LoadReport {
        let _one_scan = self.scan.lock().unwrap_or_else(|e| e.into_inner());
        let mut report = LoadReport::default();
        let mut scan = match self.start_scan(dir) {
            Ok(scan) => scan,
            Err(e) => {
                refuse(&mut report, e);
                return report;
            }
        };
        for path in scan.files.clone() {
            if let Err(e) = self.load_one(&path, &mut scan, &mut report) {
                refuse(&mut report, e);
            }
        }
        report
    }

    /// The directory's files and a private directory to copy them to;
    /// refused when the directory cannot be read or is not safe.
    fn start_scan(&self, dir: &Path) -> Result<Scan, LoadError> {
        let files = files::plugin_files(dir)?;
        let copies = PrivateDir::create().map_err(|e| {
            LoadError::new(
                dir,
                format!("cannot make a private directory to load plugins from: {e}"),
            )
        })?;
        if !self.allow_insecure {
            files::check_dir(dir, copies.owner())?;
        }
        Ok(Scan {
            files,
            copies,
            names: HashSet::new(),
        })
    }

    /// Loads one file of a scan (see [`PluginRegistry::load_dir`]).
    fn load_one(
        &self,
        path: &Path,
        scan: &mut Scan,
        report: &mut LoadReport,
    ) -> Result<(), LoadError> {
        let mut source = Opened::open(path)?;
        if self.read().opened.get(path) == Some(&source.stamp) {
            return Ok(());
        }
        if !self.allow_insecure {
            source.check(path, scan.copies.owner())?;
        }
        let copy = scan.copies.copy(path, &mut source)?;
        // From here on the file is read: whatever the outcome, it is opened
        // again only once it changes (each opening maps it once more).
        self.write().opened.insert(path.to_path_buf(), source.stamp);
        elf::check_library(&copy, source.stamp.size())
            .map_err(|e| LoadError::new(path, format!("not a radixgate plugin: {e}")))?;
        let mut entry = load_file(&copy).map_err(|e| LoadError {
            path: path.to_path_buf(),
            reason: e
                .reason
                .replace(&copy.display().to_string(), &path.display().to_string()),
        })?;
        entry.path = path.to_path_buf();
        if self
            .enabled
            .as_ref()
            .is_some_and(|enabled| !enabled.contains(&entry.name))
        {
            tracing::info!(plugin = %entry.name, path = %path.display(), "plugin not enabled");
            report.not_enabled.push(entry.name);
            return Ok(());
        }
        let mut inner = self.write();
        let Some(loaded) = inner.by_name.get(&entry.name) else {
            tracing::info!(
                plugin = %entry.name,
                version = %entry.version,
                priority = entry.priority,
                path = %path.display(),
                "plugin loaded"
            );
            report.loaded.push(entry.name.clone());
            scan.names.insert(entry.name.clone());
            inner.by_name.insert(entry.name.clone(), Arc::new(entry));
            return Ok(());
        };
        if scan.names.contains(&entry.name) || loaded.version == entry.version {
            return Err(LoadError::new(
                path,
                format!(
                    "duplicate plugin name {:?} (version {} already loaded from {}; a file \
                     replacing it on reload declares another version)",
                    entry.name,
                    loaded.version,
                    loaded.path.display()
                ),
            ));
        }
        if let Err(objects) = self.live.check(&entry) {
            return Err(LoadError::new(
                path,
                format!(
                    "version {} of plugin {:?} refuses configs in use: {objects}; version {} \
                     stays",
                    entry.version, entry.name, loaded.version
                ),
            ));
        }
        let upgrade = Upgrade {
            name: entry.name.clone(),
            from: loaded.version.clone(),
            to: entry.version.clone(),
        };
        tracing::info!(
            plugin = %upgrade.name,
            from = %upgrade.from,
            to = %upgrade.to,
            path = %path.display(),
            "plugin upgraded: objects using it get instances of the new version"
        );
        report.upgraded.push(upgrade);
        scan.names.insert(entry.name.clone());
        inner.by_name.insert(entry.name.clone(), Arc::new(entry));
        Ok(())
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

/// One scan of the plugin directory.
struct Scan {
    files: Vec<PathBuf>,
    /// Where this scan's files are copied to and loaded from.
    copies: PrivateDir,
    /// Plugins this scan loaded or upgraded: a second file declaring one
    /// of them is a duplicate (the first by file name wins).
    names: HashSet<String>,
}

/// Logs and reports a refused file.
fn refuse(report: &mut LoadReport, e: LoadError) {
    tracing::error!(path = %e.path.display(), reason = %e.reason, "plugin refused");
    report.refused.push(e);
}
