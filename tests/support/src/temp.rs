//! Temporary directories that clean up after themselves.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

/// A fresh directory under the system temp dir, removed with its contents
/// when dropped.
#[derive(Debug)]
pub struct TempDir(PathBuf);

impl TempDir {
    /// Creates `radixgate-<tag>-<pid>-<n>`, unique within this process.
    pub fn new(tag: &str) -> TempDir {
        static N: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "radixgate-{tag}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        // A directory left by an earlier process with the same pid.
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir)
            .unwrap_or_else(|e| panic!("cannot create temp dir {}: {e}", dir.display()));
        // Writable by its owner only, whatever the umask (a plugin dir
        // others may write is refused).
        crate::plugins::owner_writable(&dir);
        TempDir(dir)
    }

    /// The directory itself.
    pub fn root(&self) -> &Path {
        &self.0
    }

    /// `name` inside the directory.
    pub fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_temp_dir_is_unique_and_removed_on_drop() {
        let (a, b) = (TempDir::new("t"), TempDir::new("t"));
        assert_ne!(a.root(), b.root());
        std::fs::write(a.path("f"), "x").expect("write into the temp dir");
        let root = a.root().to_path_buf();
        drop(a);
        assert!(!root.exists());
    }
}
