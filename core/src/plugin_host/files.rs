//! The plugin directory as files: which files a scan considers, whether
//! the directory and each file are safe to load (owner and write bits),
//! what a file looked like when it was opened (so that a scan opens it
//! again only once it changed), and the private copy each file is loaded
//! from (so that overwriting a file in the plugin directory never touches
//! code the gateway has mapped).

use std::fs::{DirBuilder, File, OpenOptions};
use std::io;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use super::loader::LoadError;

/// The `.so` files directly in `dir`, sorted by name (the load order, so
/// that of two plugins with one name the first by file name wins).
pub fn plugin_files(dir: &Path) -> Result<Vec<PathBuf>, LoadError> {
    let entries = std::fs::read_dir(dir)
        .map_err(|e| LoadError::new(dir, format!("cannot read the plugin directory: {e}")))?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|ext| ext == "so") && p.is_file())
        .collect();
    files.sort();
    Ok(files)
}

/// A file as it was when the host read it: a scan opens a file again only
/// when one of these changed (a new file renamed over it, or rewritten).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileStamp {
    dev: u64,
    ino: u64,
    size: u64,
    mtime: (i64, i64),
}

impl FileStamp {
    /// The file's size in bytes.
    pub fn size(&self) -> u64 {
        self.size
    }

    fn of(meta: &std::fs::Metadata) -> FileStamp {
        FileStamp {
            dev: meta.dev(),
            ino: meta.ino(),
            size: meta.size(),
            mtime: (meta.mtime(), meta.mtime_nsec()),
        }
    }
}

/// Why a file or directory may not be loaded from: `None` when it is owned
/// by `gateway_uid` or root and neither its group nor others may write it.
/// `mode` and `uid` as `stat` gives them.
pub fn insecure(what: &str, uid: u32, mode: u32, gateway_uid: u32) -> Option<String> {
    if uid != gateway_uid && uid != 0 {
        return Some(format!(
            "the {what} is owned by uid {uid}, not by the gateway's user (uid {gateway_uid}) or root"
        ));
    }
    let writers = match (mode & 0o020 != 0, mode & 0o002 != 0) {
        (false, false) => return None,
        (true, false) => "its group",
        (false, true) => "others",
        (true, true) => "its group and others",
    };
    Some(format!(
        "the {what} is writable by {writers} (mode {:o}); make it writable by its owner only, \
         or set plugins.allow_insecure_dir",
        mode & 0o7777
    ))
}

/// Refuses the plugin directory when [`insecure`] says so.
pub fn check_dir(dir: &Path, gateway_uid: u32) -> Result<(), LoadError> {
    let meta = std::fs::metadata(dir)
        .map_err(|e| LoadError::new(dir, format!("cannot read the plugin directory: {e}")))?;
    match insecure("plugin directory", meta.uid(), meta.mode(), gateway_uid) {
        Some(reason) => Err(LoadError::new(dir, reason)),
        None => Ok(()),
    }
}

/// One plugin file, open, as it was when opened.
pub struct Opened {
    file: File,
    meta: std::fs::Metadata,
    /// What the file looked like when it was opened.
    pub stamp: FileStamp,
}

impl Opened {
    /// Opens `path` (a regular file).
    pub fn open(path: &Path) -> Result<Opened, LoadError> {
        let refuse = |e: io::Error| LoadError::new(path, format!("cannot open the file: {e}"));
        let file = File::open(path).map_err(refuse)?;
        let meta = file.metadata().map_err(refuse)?;
        if !meta.is_file() {
            return Err(LoadError::new(path, "not a regular file"));
        }
        Ok(Opened {
            stamp: FileStamp::of(&meta),
            file,
            meta,
        })
    }

    /// Refuses the file when [`insecure`] says so.
    pub fn check(&self, path: &Path, gateway_uid: u32) -> Result<(), LoadError> {
        match insecure("file", self.meta.uid(), self.meta.mode(), gateway_uid) {
            Some(reason) => Err(LoadError::new(path, reason)),
            None => Ok(()),
        }
    }
}

/// A directory only the gateway's user may enter (0700), made fresh for
/// one scan of the plugin directory and removed with what it holds when
/// dropped. Libraries are opened from copies made here: a file in the
/// plugin directory may then be overwritten while the gateway runs code
/// mapped from its copy (the mapping outlives the copy's removal, and the
/// library is never closed).
#[derive(Debug)]
pub struct PrivateDir {
    path: PathBuf,
    owner: u32,
}

impl PrivateDir {
    /// A new directory `radixgate.plugins.<pid>.<n>` under the system's
    /// temp dir (`TMPDIR`), which must allow running code from it.
    pub fn create() -> io::Result<PrivateDir> {
        // Never the same path twice in a process: the dynamic loader would
        // take a second library at a path it opened before for the first.
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let base = std::env::temp_dir();
        loop {
            let n = NEXT.fetch_add(1, Ordering::Relaxed);
            let path = base.join(format!("radixgate.plugins.{}.{n}", std::process::id()));
            match DirBuilder::new().mode(0o700).create(&path) {
                Ok(()) => {
                    let owner = std::fs::symlink_metadata(&path)?.uid();
                    return Ok(PrivateDir { path, owner });
                }
                // Left by an earlier process with this pid: take another.
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(e),
            }
        }
    }

    /// The gateway's user (the owner of the directory it just made).
    pub fn owner(&self) -> u32 {
        self.owner
    }

    /// Copies `source` (opened from `path`) into this directory and returns
    /// the copy's path; refused when the file changed while it was read
    /// (a copy into the plugin directory still in progress, say).
    pub fn copy(&self, path: &Path, source: &mut Opened) -> Result<PathBuf, LoadError> {
        let name = path
            .file_name()
            .ok_or_else(|| LoadError::new(path, "no file name"))?;
        let copy = self.path.join(name);
        let fail = |e: io::Error| {
            LoadError::new(
                path,
                format!("cannot copy it to {}: {e}", self.path.display()),
            )
        };
        let mut out = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o700)
            .open(&copy)
            .map_err(fail)?;
        let copied = io::copy(&mut source.file, &mut out).map_err(fail)?;
        let after = source.file.metadata().map_err(fail)?;
        if copied != source.stamp.size || FileStamp::of(&after) != source.stamp {
            return Err(LoadError::new(
                path,
                "the file changed while it was read (still being written?); \
                 it is tried again at the next reload",
            ));
        }
        Ok(copy)
    }
}

impl Drop for PrivateDir {
    fn drop(&mut self) {
        // The libraries opened from it stay mapped.
        if let Err(e) = std::fs::remove_dir_all(&self.path) {
            tracing::warn!(path = %self.path.display(), error = %e,
                "cannot remove the private plugin directory");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::insecure;

    #[test]
    fn owner_and_write_bits_decide() {
        let me = 1000;
        assert_eq!(insecure("file", me, 0o100755, me), None);
        assert_eq!(insecure("file", 0, 0o100755, me), None, "root's file");
        assert_eq!(insecure("file", me, 0o100700, me), None);
        let owner = insecure("file", 1001, 0o100755, me).expect("another user's");
        assert!(owner.contains("owned by uid 1001"), "{owner}");
        assert!(owner.contains("(uid 1000)"), "{owner}");
        let group = insecure("plugin directory", me, 0o40775, me).expect("group-writable");
        assert!(
            group.starts_with("the plugin directory is writable by its group (mode 775)"),
            "{group}"
        );
        let others = insecure("file", me, 0o100646, me).expect("world-writable");
        assert!(others.contains("writable by others (mode 646)"), "{others}");
        let both = insecure("file", 0, 0o100666, me).expect("both");
        assert!(both.contains("its group and others"), "{both}");
        assert!(both.contains("plugins.allow_insecure_dir"), "{both}");
    }
}
