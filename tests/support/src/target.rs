//! Where cargo put what it built: the gateway binary and the plugin
//! libraries the tests load. The tests do not build these themselves; `make
//! test` (or `cargo build --workspace`) builds every workspace member before
//! the tests run.

use std::path::PathBuf;

/// The directory holding this build's binaries and libraries
/// (`<target>/debug`): where the running executable is, or its parent for
/// a test or bench executable in `deps/`. It follows `CARGO_TARGET_DIR`
/// because cargo put the running executable there.
pub fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("the path of the running test executable");
    let dir = exe
        .parent()
        .expect("the running executable is in a directory");
    if dir.file_name().is_some_and(|n| n == "deps") {
        dir.parent()
            .expect("deps/ is inside the profile directory")
            .to_path_buf()
    } else {
        dir.to_path_buf()
    }
}

/// The file `name` (`libradix_router.so`, `radixgate`) in [`profile_dir`],
/// or its copy in `deps/` when that one is newer (cargo builds a library
/// there and copies it up); panics naming it, and what builds it, when it
/// is in neither.
pub fn artifact(name: &str) -> PathBuf {
    let profile = profile_dir();
    let candidates = [profile.join(name), profile.join("deps").join(name)];
    let modified = |p: &PathBuf| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    let newest = candidates
        .iter()
        .filter(|p| p.is_file())
        .max_by_key(|p| modified(p));
    match newest {
        Some(path) => path.clone(),
        None => panic!(
            "{name} is not in {}: the tests use what `cargo build --workspace` builds; \
             run `make test` or `cargo build --workspace` first",
            profile.display()
        ),
    }
}

/// The binary `name` of a workspace package (`radixgate`), for tests that
/// cannot use `env!("CARGO_BIN_EXE_<name>")`.
pub fn binary(name: &str) -> PathBuf {
    artifact(name)
}
