//! A plugin built from the template in a separate directory (its own Cargo
//! project, outside this workspace), copied into the plugin dir and
//! enabled, runs on a route with no change to the gateway.
//!
//! The one test that runs cargo: building outside the workspace is what it
//! checks. It builds offline into its own target dir
//! (`<target>/outside-plugin`), so the workspace's artifacts are untouched.

use std::path::{Path, PathBuf};
use std::process::Command;

use radixgate_test_support::{eventually, request, target, Gateway, Node, TempDir};

const BIN: &str = env!("CARGO_BIN_EXE_radixgate");

/// The target dir the test binary lives in (`<target>/<profile>/deps/<test>`).
fn target_dir() -> PathBuf {
    let profile = target::profile_dir();
    profile.parent().expect("target dir").to_path_buf()
}

/// Copies `plugins/template` into `dir` as a standalone crate named
/// `my-header` whose plugin is called `my-header`, and builds it.
fn build_from_template(dir: &Path) -> PathBuf {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let template = workspace.join("plugins/template/src/lib.rs");
    let source = std::fs::read_to_string(template).expect("template source");
    let renamed = source.replace(
        "const NAME: &'static str = \"template\";",
        "const NAME: &'static str = \"my-header\";",
    );
    assert_ne!(renamed, source, "the template names its plugin as expected");
    std::fs::create_dir_all(dir.join("src")).expect("src dir");
    std::fs::write(dir.join("src/lib.rs"), renamed).expect("lib.rs");
    let abi = workspace
        .join("plugin-abi")
        .canonicalize()
        .expect("plugin-abi");
    std::fs::write(
        dir.join("Cargo.toml"),
        format!(
            "[package]\nname = \"my-header\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n\
             [lib]\ncrate-type = [\"cdylib\", \"rlib\"]\n\n\
             [dependencies]\nradixgate-plugin = {{ path = {:?} }}\n\n[workspace]\n",
            abi.display().to_string()
        ),
    )
    .expect("Cargo.toml");
    // The same versions as the workspace, so the build needs no network.
    std::fs::copy(workspace.join("Cargo.lock"), dir.join("Cargo.lock")).expect("lock");
    let target = target_dir().join("outside-plugin");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .current_dir(dir)
        .env("CARGO_TARGET_DIR", &target)
        .args(["build", "--offline"])
        .output()
        .expect("cargo runs");
    assert!(
        out.status.success(),
        "building the copied template failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    target.join("debug/libmy_header.so")
}

#[test]
fn a_plugin_built_outside_the_workspace_runs_on_a_route() {
    let dir = TempDir::new("plugin-outside");
    let lib = build_from_template(&dir.path("my-header"));

    let up = Node::start("u");
    let gw = Gateway::file(
        BIN,
        &format!(
            "routes:\n  - id: r\n    uri: /hello\n    upstream: {{nodes: {{\"{}\": 1}}}}\n    \
             plugins:\n      my-header: {{value: from-outside}}\n#END\n",
            up.addr()
        ),
    )
    .workers(1)
    .plugin_file(&lib)
    .enabled_plugins(&["my-header"])
    .start();
    let port = gw.port;
    let served = eventually(10, || {
        request(port, "GET", "/hello", &[]).is_ok_and(|r| r.status == 200)
    });
    let text = gw.log();
    assert!(served, "gateway did not serve /hello; log:\n{text}");
    let resp = request(port, "GET", "/hello", &[]).expect("response");
    assert_eq!(resp.status, 200);
    // The plugin set the header on the request (the upstream echoes it)
    // and on the response.
    assert_eq!(
        resp.echoed("x-template").as_deref(),
        Some("from-outside"),
        "{text}"
    );
    assert_eq!(
        resp.headers.get("x-template").map(String::as_str),
        Some("from-outside")
    );
}
