//! C programs against the real shared library: `examples/match.c` (what a
//! C user would write) and `tests/c/abi_checks.c` (error paths and
//! callbacks). Each is compiled with `cc` against `libradix_router.so`,
//! run, and its output checked.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The cdylib built with this test. The test binary is
/// `target/<profile>/deps/<test>`; for integration tests cargo builds every
/// crate type of the lib, the cdylib too, into that same `deps/` directory
/// (`cargo test` does not always copy it up to `target/<profile>/`, so the
/// copy there may be stale: it is only the fallback).
fn shared_lib() -> PathBuf {
    let exe = std::env::current_exe().unwrap_or_else(|e| panic!("current_exe: {e}"));
    let name = format!(
        "{}radix_router{}",
        std::env::consts::DLL_PREFIX,
        std::env::consts::DLL_SUFFIX
    );
    let deps = exe.parent().map(Path::to_path_buf).unwrap_or_default();
    let candidates = [deps.join(&name), deps.join("..").join(&name)];
    candidates
        .iter()
        .find(|p| p.exists())
        .cloned()
        .unwrap_or_else(|| {
            panic!("no {name} in {candidates:?}: cargo should have built the cdylib")
        })
}

/// Compiles `source` (relative to the crate) into a program linked with the
/// shared library, runs it, and returns its stdout; fails on a non-zero exit.
fn build_and_run(source: &str, name: &str) -> String {
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let lib = shared_lib();
    let lib_dir = lib
        .parent()
        .unwrap_or_else(|| panic!("{} has no parent", lib.display()));
    let out_dir = std::env::temp_dir().join(format!("rr-c-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&out_dir).unwrap_or_else(|e| panic!("{}: {e}", out_dir.display()));
    let exe = out_dir.join(name);
    let cc = Command::new(std::env::var("CC").unwrap_or_else(|_| "cc".into()))
        .args(["-std=c11", "-Wall", "-Wextra", "-Werror", "-g"])
        .arg("-I")
        .arg(crate_dir.join("../include"))
        .arg(crate_dir.join(source))
        .arg(&lib)
        .arg(format!("-Wl,-rpath,{}", lib_dir.display()))
        .arg("-o")
        .arg(&exe)
        .output()
        .unwrap_or_else(|e| panic!("running cc: {e} (a C compiler is needed)"));
    assert!(
        cc.status.success(),
        "cc {source} failed:\n{}",
        String::from_utf8_lossy(&cc.stderr)
    );
    let run = Command::new(&exe)
        .output()
        .unwrap_or_else(|e| panic!("running {}: {e}", exe.display()));
    let _ = std::fs::remove_dir_all(&out_dir);
    let stdout = String::from_utf8_lossy(&run.stdout).into_owned();
    assert!(
        run.status.success(),
        "{source} exited with {}:\n{stdout}\n{}",
        run.status,
        String::from_utf8_lossy(&run.stderr)
    );
    stdout
}

#[test]
fn example_match_c() {
    let out = build_and_run("examples/match.c", "match");
    let expected = format!(
        "radix_router {}, 5 routes\n\
         GET /api/users -> value=1 id=exact pattern=/api/users\n\
         POST /api/users -> value=5 id=method pattern=/api/users\n\
         GET /static/css/site.css -> value=2 id=prefix pattern=/static/* :ext=css/site.css\n\
         GET /api/users/42/posts/7 -> value=3 id=param pattern=/api/users/:id/*rest id=42 rest=posts/7\n\
         GET www.example.com/ -> value=4 id=host pattern=/ host=*.example.com\n\
         GET example.org/ -> no match\n\
         GET /nothing -> no match\n",
        env!("CARGO_PKG_VERSION")
    );
    assert_eq!(out, expected);
}

#[test]
fn abi_checks_c() {
    let out = build_and_run("tests/c/abi_checks.c", "abi_checks");
    let fails: Vec<&str> = out.lines().filter(|l| l.starts_with("FAIL")).collect();
    assert!(fails.is_empty(), "failed C checks: {fails:#?}\n{out}");
    for line in [
        "ok rr_router_new(0, NULL) (RR_NULL_PARAMETER)",
        "ok rr_route_add_path(route, (const uint8_t *)\"/caf\\xe9\", 5) (RR_INVALID_UTF8)",
        "error: route \"utf8\": field paths: path is not valid UTF-8 (bad byte at offset 4)",
        "problem: invalid operator 'xyz'",
        "error: route \"7\": field vars: invalid operator 'xyz'",
        "error: route \"nope\": no route with this id",
        "warnings: route \"tol\": field vars: [\"arg_k\",\"~~\",\"[0\"]: invalid regex \"[0\": \
         unclosed character class (tolerated: this comparison is always false)",
        "ok rr_router_match_values(router, &req, values, NULL, NULL, NULL, &m) (RR_OK)",
        "PASSED: 0 failed",
    ] {
        assert!(
            out.lines().any(|l| l == line),
            "missing line {line:?} in:\n{out}"
        );
    }
    let json_problem = out
        .lines()
        .find(|l| l.starts_with("problem: invalid JSON: "))
        .unwrap_or_else(|| panic!("no JSON problem text in:\n{out}"));
    assert!(json_problem.contains("EOF"), "{json_problem}");
}
