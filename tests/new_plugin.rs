//! `make new-plugin NAME=<name>`: a copy of the repository's Makefile, top
//! `Cargo.toml`, `plugins/template` and `plugins/new-plugin.sh` in a temp
//! dir, where the target makes a renamed plugin crate and adds it to the
//! workspace members; bad and taken names are refused. (Whether the crate
//! builds is not run here: tests build nothing.)

use std::path::Path;
use std::process::{Command, Output};

use radixgate_test_support::TempDir;

fn repo() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

fn copy(from: &Path, to: &Path) {
    if from.is_dir() {
        std::fs::create_dir_all(to).expect("create dir");
        for entry in std::fs::read_dir(from).expect("read dir") {
            let entry = entry.expect("dir entry");
            copy(&entry.path(), &to.join(entry.file_name()));
        }
    } else {
        std::fs::copy(from, to).unwrap_or_else(|e| panic!("copy {}: {e}", from.display()));
    }
}

fn new_plugin(root: &Path, name: Option<&str>) -> Output {
    let mut make = Command::new("make");
    make.arg("-s").arg("-C").arg(root).arg("new-plugin");
    if let Some(name) = name {
        make.arg(format!("NAME={name}"));
    }
    make.output().expect("run make")
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

#[test]
fn make_new_plugin_copies_and_renames_the_template() {
    let tmp = TempDir::new("new-plugin");
    let root = tmp.root();
    for file in [
        "Makefile",
        "Cargo.toml",
        "plugins/template",
        "plugins/new-plugin.sh",
    ] {
        copy(&repo().join(file), &root.join(file));
    }

    let out = new_plugin(root, Some("my-plugin"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let made = root.join("plugins/my-plugin");
    let manifest = read(&made.join("Cargo.toml"));
    assert!(
        manifest.contains("name = \"radixgate-plugin-my-plugin\""),
        "{manifest}"
    );
    assert!(
        manifest.contains("name = \"radixgate_plugin_my_plugin\""),
        "{manifest}"
    );
    let lib = read(&made.join("src/lib.rs"));
    for expected in [
        "const NAME: &'static str = \"my-plugin\";",
        "pub struct MyPlugin {",
        "impl Plugin for MyPlugin {",
        "export_plugin!(MyPlugin);",
        "MockInstance::new::<MyPlugin>",
        "\"X-My-Plugin\".into()",
        "req.header_value(\"x-my-plugin\")",
    ] {
        assert!(lib.contains(expected), "{expected:?} not in:\n{lib}");
    }
    for (file, text) in [("Cargo.toml", &manifest), ("src/lib.rs", &lib)] {
        assert!(
            !text.to_lowercase().contains("template"),
            "{file} still says template:\n{text}"
        );
    }
    // A member of the workspace, once, after the template; the template
    // itself unchanged.
    let workspace = read(&root.join("Cargo.toml"));
    assert_eq!(
        workspace.matches("\"plugins/my-plugin\"").count(),
        1,
        "{workspace}"
    );
    assert!(
        workspace.contains("    \"plugins/template\",\n    \"plugins/my-plugin\",\n"),
        "{workspace}"
    );
    assert_eq!(
        read(&root.join("plugins/template/src/lib.rs")),
        read(&repo().join("plugins/template/src/lib.rs"))
    );

    // Taken, bad or missing names are refused, and nothing changes.
    let cases = [
        (Some("my-plugin"), "plugins/my-plugin exists already"),
        (Some("My_Plugin"), "bad name \"My_Plugin\""),
        (Some("-x"), "bad name \"-x\""),
        (None, "usage: make new-plugin NAME=<name>"),
    ];
    for (name, message) in cases {
        let out = new_plugin(root, name);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{name:?} was accepted");
        assert!(stderr.contains(message), "{name:?}: {stderr}");
    }
    assert_eq!(read(&root.join("Cargo.toml")), workspace);
}
