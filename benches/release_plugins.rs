//! The release build of plugin crates, for the plugin benches: optimized
//! like a real deployment's, unlike the debug libraries the tests load.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Builds `packages` (`radixgate-plugin-noop`, ...) in release mode; the
/// path of each one's `.so`, in the order asked.
pub fn release_plugins(packages: &[&str]) -> Vec<PathBuf> {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut build = Command::new(cargo);
    build.current_dir(&workspace).args([
        "build",
        "--release",
        "--offline",
        "--message-format=json",
    ]);
    for p in packages {
        build.args(["-p", p]);
    }
    let out = build.output().expect("cargo runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let messages: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    packages
        .iter()
        .map(|package| {
            let target = package.replace('-', "_");
            messages
                .iter()
                .filter(|m| m["target"]["name"] == target.as_str())
                .flat_map(|m| m["filenames"].as_array().cloned().unwrap_or_default())
                .filter_map(|f| f.as_str().map(PathBuf::from))
                .find(|f| f.extension().is_some_and(|e| e == "so"))
                .unwrap_or_else(|| panic!("the .so of {package}"))
        })
        .collect()
}
