//! The plugin libraries the tests load: one list of them, found where
//! `cargo build --workspace` put them (see [`crate::target`]), copied into
//! a test's own plugin directory. Tests never build them.

use std::path::{Path, PathBuf};

use crate::target;

/// Every plugin the tests load, by its package's name less
/// `radixgate-plugin-` (`plugins/<name>` or `tests/plugins/<name>`).
pub const PLUGINS: [&str; 40] = [
    "template",
    "noop",
    "request-id",
    "ip-restriction",
    "key-auth",
    "limit-count",
    "cors",
    "proxy-rewrite",
    "response-rewrite",
    "prometheus",
    "test-panic",
    "test-order",
    "test-prefer-route",
    "test-abi-bump",
    "test-dup-name",
    "test-wait",
    "test-version-a",
    "test-version-b",
    "test-panic-abort",
    "limit-req",
    "limit-conn",
    "basic-auth",
    "jwt-auth",
    "hmac-auth",
    "consumer-restriction",
    "test-batch",
    "redirect",
    "fault-injection",
    "api-breaker",
    "real-ip",
    "http-logger",
    "file-logger",
    "traffic-split",
    "proxy-mirror",
    "gzip",
    "multi-auth",
    "test-wait-auth",
    "tcp-logger",
    "udp-logger",
    "syslog",
];

/// The C and C++ plugins the tests load: `plugins/<name>` holding `.c` or
/// `.cc` files, and the builds of `tests/plugins/test-c-faults/faults.c`
/// (`test-c-<fault>`, each refused at load). `make test` builds them from
/// their sources and `include/` alone (the Makefile's `c-plugins`), into
/// the target dir beside the Rust plugins; cargo does not.
pub const C_PLUGINS: [&str; 7] = [
    "c-example",
    "cpp-example",
    "test-c-version",
    "test-c-size",
    "test-c-null-phase",
    "test-c-schema",
    "test-c-dup-name",
];

/// The plugins of [`PLUGINS`] refused when loaded beside the others: one
/// built for another ABI major, one claiming `noop`'s name, one recording
/// `panic = "abort"`, and version 2.0.0 of `test-version` (1.0.0,
/// `test-version-a`, comes first by file name).
pub const REFUSED: [&str; 4] = [
    "test-abi-bump",
    "test-dup-name",
    "test-panic-abort",
    "test-version-b",
];

/// [`PLUGINS`] less [`REFUSED`]: what a gateway loads side by side.
pub fn loadable() -> Vec<&'static str> {
    PLUGINS
        .into_iter()
        .filter(|p| !REFUSED.contains(p))
        .collect()
}

/// The library file of plugin `name`: `libradixgate_plugin_<name>.so`
/// with `-` as `_`.
pub fn file_name(name: &str) -> String {
    format!("libradixgate_plugin_{}.so", name.replace('-', "_"))
}

/// The built library of plugin `name`; panics when `name` is not in
/// [`PLUGINS`] or [`C_PLUGINS`], or its library was not built.
pub fn library(name: &str) -> PathBuf {
    if C_PLUGINS.contains(&name) {
        let lib = target::profile_dir().join(file_name(name));
        assert!(
            lib.is_file(),
            "{} is not built: C plugins are built by `make c-plugins` (`make test` runs it)",
            lib.display()
        );
        return lib;
    }
    assert!(
        PLUGINS.contains(&name),
        "plugin {name:?} is not in radixgate_test_support::plugins::PLUGINS or C_PLUGINS"
    );
    target::artifact(&file_name(name))
}

/// Copies plugin `name`'s library into `dir`; the copy's path.
pub fn install(dir: &Path, name: &str) -> PathBuf {
    copy_into(dir, &library(name))
}

/// Copies `file`, any library in the target dir (`libradix_router.so`),
/// into `dir`; the copy's path.
pub fn install_file(dir: &Path, file: &str) -> PathBuf {
    copy_into(dir, &target::artifact(file))
}

fn copy_into(dir: &Path, lib: &Path) -> PathBuf {
    let dst = dir.join(lib.file_name().expect("a library file name"));
    std::fs::copy(lib, &dst)
        .unwrap_or_else(|e| panic!("cannot copy {} into {}: {e}", lib.display(), dir.display()));
    owner_writable(&dst);
    dst
}

/// Sets `path`'s mode to 0755 (writable by its owner only, whatever the
/// umask): the gateway refuses plugin dirs and files others may write.
pub fn owner_writable(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))
        .unwrap_or_else(|e| panic!("cannot chmod {}: {e}", path.display()));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_listed_plugin_is_a_workspace_member() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let members =
            std::fs::read_to_string(root.join("Cargo.toml")).expect("the workspace manifest");
        for name in PLUGINS {
            let here = [
                format!("\"plugins/{name}\""),
                format!("\"tests/plugins/{name}\""),
            ];
            assert!(
                here.iter().any(|m| members.contains(m.as_str())),
                "{name} is not a member of the workspace"
            );
        }
    }

    #[test]
    fn every_listed_c_plugin_is_built_by_the_makefile() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let makefile = std::fs::read_to_string(root.join("Makefile")).expect("the Makefile");
        let faults = makefile
            .lines()
            .find_map(|l| l.strip_prefix("C_FAULTS := "))
            .expect("the Makefile's C_FAULTS");
        for name in C_PLUGINS {
            match name.strip_prefix("test-c-") {
                Some(fault) => assert!(
                    faults.split_whitespace().any(|f| f == fault),
                    "{name}: {fault} is not in the Makefile's C_FAULTS"
                ),
                None => {
                    let dir = root.join("plugins").join(name);
                    let sources = std::fs::read_dir(&dir)
                        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
                        .filter_map(Result::ok)
                        .filter(|e| {
                            let path = e.path();
                            path.extension().is_some_and(|x| x == "c" || x == "cc")
                        })
                        .count();
                    assert!(
                        sources > 0,
                        "{name}: no .c or .cc file in {}",
                        dir.display()
                    );
                }
            }
        }
    }
}
