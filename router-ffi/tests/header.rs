//! `include/radix_router.h` is what cbindgen makes of `src/ffi/` today, and
//! it compiles as strict C11.
//!
//! `RR_BLESS=1 cargo test -p radix-router --test header` rewrites the
//! checked-in header instead of failing.

use std::path::{Path, PathBuf};
use std::process::Command;

fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn header_path() -> PathBuf {
    crate_dir().join("../include/radix_router.h")
}

/// The header as cbindgen generates it now, from cbindgen.toml.
fn generate() -> Vec<u8> {
    let dir = crate_dir();
    let config = cbindgen::Config::from_file(dir.join("cbindgen.toml"))
        .unwrap_or_else(|e| panic!("reading router-ffi/cbindgen.toml: {e}"));
    let bindings = cbindgen::Builder::new()
        .with_config(config)
        .with_src(dir.join("src/ffi/mod.rs"))
        .generate()
        .unwrap_or_else(|e| panic!("cbindgen could not generate the header: {e}"));
    let mut out = Vec::new();
    bindings.write(&mut out);
    out
}

/// The first line where `a` and `b` differ, for the failure message.
fn first_difference(a: &str, b: &str) -> String {
    let mut al = a.lines();
    let mut bl = b.lines();
    for n in 1.. {
        match (al.next(), bl.next()) {
            (None, None) => break,
            (x, y) if x == y => continue,
            (x, y) => {
                return format!(
                    "line {n}:\n  checked in: {}\n  generated:  {}",
                    x.unwrap_or("<end of file>"),
                    y.unwrap_or("<end of file>")
                )
            }
        }
    }
    "only line endings differ".into()
}

#[test]
fn header_is_up_to_date() {
    let fresh = generate();
    let path = header_path();
    if std::env::var_os("RR_BLESS").is_some_and(|v| v == "1") {
        std::fs::write(&path, &fresh).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
        return;
    }
    let old = std::fs::read(&path).unwrap_or_default();
    if old != fresh {
        panic!(
            "include/radix_router.h is out of date with router-ffi/src/ffi/ ({}).\n\
             Regenerate it with `RR_BLESS=1 cargo test -p radix-router --test header` \
             and check it in.",
            first_difference(
                &String::from_utf8_lossy(&old),
                &String::from_utf8_lossy(&fresh)
            )
        );
    }
}

/// Compiles `source` with the system C compiler and the include dir.
fn compile_c(source: &str, name: &str) -> std::process::Output {
    let dir = std::env::temp_dir().join(format!("rr-header-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    let file = dir.join(name);
    std::fs::write(&file, source).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    let include: &Path = &crate_dir().join("../include");
    let out = Command::new(std::env::var("CC").unwrap_or_else(|_| "cc".into()))
        .args([
            "-Wall",
            "-Wextra",
            "-Werror",
            "-pedantic",
            "-std=c11",
            "-fsyntax-only",
        ])
        .arg("-I")
        .arg(include)
        .arg(&file)
        .output()
        .unwrap_or_else(|e| panic!("running cc: {e} (a C compiler is needed)"));
    let _ = std::fs::remove_dir_all(&dir);
    out
}

#[test]
fn header_compiles_as_strict_c11() {
    let source = r#"
#include "radix_router.h"
#include "radix_router.h" /* the include guard works */

static int var(void *ctx, const uint8_t *name, size_t name_len,
               const uint8_t **value, size_t *value_len) {
  (void)ctx; (void)name; (void)name_len; (void)value; (void)value_len;
  return 0;
}
static bool filter(void *ctx, uint64_t value) { (void)ctx; return value != 0; }

int use(void);
int use(void) {
  rr_router *router = NULL;
  rr_route *route = NULL;
  rr_match m;
  rr_request req = {0};
  rr_var_fn v = var;
  rr_filter_fn f = filter;
  rr_result r = rr_router_new(RR_OPT_NO_PARAM_MATCH, &router);
  r = rr_route_new((const uint8_t *)"id", 2, 1, &route);
  r = rr_router_insert(router, route);
  r = rr_router_match_with(router, &req, v, NULL, f, NULL, &m);
  _Static_assert(RR_MAX_PARAMS == 16, "RR_MAX_PARAMS");
  _Static_assert(sizeof(m.params) / sizeof(m.params[0]) == RR_MAX_PARAMS, "params");
  _Static_assert(sizeof(rr_result) == 4, "rr_result is 32 bits");
  rr_host_kind k = RR_HOST_WILDCARD;
  rr_route_free(route);
  rr_router_free(router);
  return (int)r + (int)k + (rr_result_name(RR_OK) == NULL) + (rr_version() == NULL);
}
"#;
    let out = compile_c(source, "use_header.c");
    assert!(
        out.status.success(),
        "include/radix_router.h does not compile with -Wall -Wextra -Werror -std=c11:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
