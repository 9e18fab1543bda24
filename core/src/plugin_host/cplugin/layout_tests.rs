//! `include/radixgate_plugin.h` against the Rust side: it compiles as
//! strict C11 and as C++20, and a program built from it prints, for every
//! struct, its size and alignment and each field's offset, and every
//! number the header defines; each must equal what [`super::abi`] says.

use std::mem::{align_of, offset_of, size_of};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use super::abi::*;

/// The repository's `include/`.
fn include_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../include")
}

/// A scratch dir for one test, removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!("rg-cabi-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        Scratch(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Runs `compiler` with `args`, the include dir and `source` written to
/// `dir/file`.
fn compile(compiler: &str, args: &[&str], dir: &Path, file: &str, source: &str) -> Output {
    let path = dir.join(file);
    std::fs::write(&path, source).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    Command::new(compiler)
        .args(args)
        .arg("-I")
        .arg(include_dir())
        .arg(&path)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("running {compiler}: {e} (make deps installs it)"))
}

/// A plugin using every part of the header, as C and C++ plugins do.
const USE: &str = r#"
#include "radixgate_plugin.h"
#include "radixgate_plugin.h" /* the include guard works */

static rg_decision resumed(void *instance, void *state, const rg_host *host, rg_request *req,
                           const rg_op_result *result) {
  (void)instance; (void)state;
  if (result->kind == RG_OP_FAILED) {
    host->fail(req, result->data.ptr, result->data.len);
    return RG_FAIL;
  }
  return RG_CONTINUE;
}

static rg_decision access(void *instance, const rg_host *host, rg_request *req) {
  rg_bytes path;
  (void)instance;
  if (host->request_path(req, &path) != RG_OK) return RG_FAIL;
  if (RG_HOST_HAS(host, suspend_sleep) &&
      host->suspend_sleep(req, 10, resumed, NULL, NULL) == RG_OK) {
    return RG_SUSPEND;
  }
  host->respond(req, 403, path.ptr, path.len);
  return RG_RESPOND;
}

static rg_result make(const rg_host *host, const rg_services *services, const uint8_t *config,
                      size_t config_len, void **instance, uint8_t *error, size_t error_cap,
                      size_t *error_len) {
  (void)host; (void)services; (void)config; (void)config_len; (void)error; (void)error_cap;
  *instance = NULL;
  *error_len = 0;
  return RG_OK;
}

static const rg_plugin declaration = {
  .abi_version = RG_PLUGIN_ABI_VERSION,
  .size = sizeof(rg_plugin),
  .name = RG_LIT("use"),
  .version = RG_LIT("1.0"),
  .priority = 1,
  .phases = RG_PHASE_ACCESS,
  .flags = RG_PLUGIN_PREFER_ROUTE,
  .route_schema = RG_LIT("{}"),
  .consumer_schema = {NULL, 0},
  .metadata_schema = {NULL, 0},
  .instance_new = make,
  .instance_drop = NULL,
  .rewrite = NULL,
  .access = access,
  .before_proxy = NULL,
  .header_filter = NULL,
  .body_filter = NULL,
  .log = NULL,
};

RG_DECLARE_PLUGIN(declaration)
"#;

#[test]
fn the_header_compiles_as_strict_c11_and_as_cpp20() {
    let dir = Scratch::new("compile");
    let strict = ["-Wall", "-Wextra", "-Werror", "-pedantic", "-fsyntax-only"];
    let c = compile(
        &std::env::var("CC").unwrap_or_else(|_| "cc".into()),
        &[&strict[..], &["-std=c11"]].concat(),
        &dir.0,
        "use.c",
        USE,
    );
    assert!(
        c.status.success(),
        "include/radixgate_plugin.h does not compile as strict C11:\n{}",
        String::from_utf8_lossy(&c.stderr)
    );
    let cpp = compile(
        &std::env::var("CXX").unwrap_or_else(|_| "c++".into()),
        &[&strict[..], &["-std=c++20", "-x", "c++"]].concat(),
        &dir.0,
        "use.cc",
        USE,
    );
    assert!(
        cpp.status.success(),
        "include/radixgate_plugin.h does not compile as strict C++20:\n{}",
        String::from_utf8_lossy(&cpp.stderr)
    );
}

/// One struct: its C name, Rust size and alignment, fields and offsets.
struct Layout {
    c_name: &'static str,
    size: usize,
    align: usize,
    fields: Vec<(&'static str, usize)>,
}

macro_rules! layout {
    ($ty:ty, $c:literal, [$($field:ident),* $(,)?]) => {
        Layout {
            c_name: $c,
            size: size_of::<$ty>(),
            align: align_of::<$ty>(),
            fields: vec![$((stringify!($field), offset_of!($ty, $field))),*],
        }
    };
}

/// Every struct of the header, as the Rust side lays it out.
fn layouts() -> Vec<Layout> {
    vec![
        layout!(RgBytes, "rg_bytes", [ptr, len]),
        layout!(RgHeader, "rg_header", [name, value]),
        layout!(RgClientAddr, "rg_client_addr", [ip, port, is_v4]),
        layout!(
            RgHttpCall,
            "rg_http_call",
            [
                method,
                url,
                headers,
                header_count,
                body,
                timeout_ms,
                verify_tls
            ]
        ),
        layout!(
            RgRedisCall,
            "rg_redis_call",
            [
                nodes, node_count, args, arg_count, username, password, timeout_ms, database,
                cluster
            ]
        ),
        layout!(
            RgOpResult,
            "rg_op_result",
            [kind, status, headers, header_count, data]
        ),
        layout!(
            RgPlugin,
            "rg_plugin",
            [
                abi_version,
                size,
                name,
                version,
                priority,
                phases,
                flags,
                route_schema,
                consumer_schema,
                metadata_schema,
                instance_new,
                instance_drop,
                rewrite,
                access,
                before_proxy,
                header_filter,
                body_filter,
                log,
            ]
        ),
        layout!(
            RgHost,
            "rg_host",
            [
                abi_version,
                size,
                result_name,
                request_method,
                request_path,
                request_query,
                request_query_arg,
                request_header,
                request_header_count,
                request_header_at,
                request_header_add,
                request_header_set,
                request_header_remove,
                request_set_uri,
                request_set_method,
                request_client_addr,
                request_route_id,
                request_route_param,
                request_consumer,
                request_set_consumer,
                request_var,
                request_set_var,
                response_status,
                response_set_status,
                response_header,
                response_header_add,
                response_header_set,
                response_header_remove,
                body_chunk,
                body_replace,
                respond,
                respond_header,
                fail,
                suspend_sleep,
                suspend_http,
                suspend_redis,
                store_incr,
                store_get,
                store_set,
                plugin_metadata,
                now_unix_ms,
                monotonic_ns,
                log,
                counter_register,
                histogram_register,
                counter_add,
                histogram_observe,
            ]
        ),
    ]
}

/// Every number the header defines, with the Rust side's value.
fn numbers() -> Vec<(&'static str, u64)> {
    let mut all: Vec<(&'static str, u64)> = code::NAMED
        .iter()
        .map(|(n, name)| (name.to_str().expect("ASCII names"), u64::from(*n)))
        .collect();
    all.extend([
        ("RG_PLUGIN_ABI_VERSION", u64::from(ABI_VERSION)),
        ("RG_CONTINUE", u64::from(decision::CONTINUE)),
        ("RG_RESPOND", u64::from(decision::RESPOND)),
        ("RG_FAIL", u64::from(decision::FAIL)),
        ("RG_SUSPEND", u64::from(decision::SUSPEND)),
        ("RG_OP_DONE", u64::from(op_kind::DONE)),
        ("RG_OP_HTTP", u64::from(op_kind::HTTP)),
        ("RG_OP_REDIS", u64::from(op_kind::REDIS)),
        ("RG_OP_FAILED", u64::from(op_kind::FAILED)),
        ("RG_PLUGIN_PREFER_ROUTE", u64::from(FLAG_PREFER_ROUTE)),
        ("sizeof(rg_result)", 4),
        ("sizeof(rg_decision)", 4),
    ]);
    let phases = [
        "REWRITE",
        "ACCESS",
        "BEFORE_PROXY",
        "HEADER_FILTER",
        "BODY_FILTER",
        "LOG",
    ];
    for (phase, name) in radixgate_plugin::Phase::ALL.iter().zip(phases) {
        let bit = u64::from(radixgate_plugin::Phases::of(*phase).0);
        all.push((Box::leak(format!("RG_PHASE_{name}").into_boxed_str()), bit));
    }
    let levels = ["TRACE", "DEBUG", "INFO", "WARN", "ERROR"];
    for (n, name) in levels.iter().enumerate() {
        all.push((
            Box::leak(format!("RG_LOG_{name}").into_boxed_str()),
            n as u64,
        ));
    }
    all.push(("RG_PHASE_all", u64::from(KNOWN_PHASES)));
    all
}

/// The lines the Rust side expects the C program to print.
fn expected() -> Vec<String> {
    let mut lines = Vec::new();
    for l in layouts() {
        lines.push(format!("{} size {} align {}", l.c_name, l.size, l.align));
        for (field, offset) in &l.fields {
            lines.push(format!("{}.{field} {offset}", l.c_name));
        }
    }
    for (name, value) in numbers() {
        lines.push(format!("{name} = {value}"));
    }
    lines
}

/// The C program printing what the header says of the same things.
fn program() -> String {
    let mut c =
        String::from("#include <stdio.h>\n#include \"radixgate_plugin.h\"\nint main(void) {\n");
    for l in layouts() {
        c.push_str(&format!(
            "  printf(\"{0} size %zu align %zu\\n\", sizeof({0}), _Alignof({0}));\n",
            l.c_name
        ));
        for (field, _) in &l.fields {
            c.push_str(&format!(
                "  printf(\"{0}.{field} %zu\\n\", offsetof({0}, {field}));\n",
                l.c_name
            ));
        }
    }
    for (name, _) in numbers() {
        let expr = match name {
            "RG_PHASE_all" => "(RG_PHASE_REWRITE | RG_PHASE_ACCESS | RG_PHASE_BEFORE_PROXY | \
                               RG_PHASE_HEADER_FILTER | RG_PHASE_BODY_FILTER | RG_PHASE_LOG)"
                .to_string(),
            other => other.to_string(),
        };
        c.push_str(&format!(
            "  printf(\"{name} = %llu\\n\", (unsigned long long)({expr}));\n"
        ));
    }
    c.push_str("  return 0;\n}\n");
    c
}

#[test]
fn the_header_lays_out_every_struct_and_number_as_the_host_does() {
    let dir = Scratch::new("layout");
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    let built = compile(
        &cc,
        &["-std=c11", "-Wall", "-Wextra", "-Werror", "-o", "layout"],
        &dir.0,
        "layout.c",
        &program(),
    );
    assert!(
        built.status.success(),
        "the layout program does not compile:\n{}",
        String::from_utf8_lossy(&built.stderr)
    );
    let run = Command::new(dir.0.join("layout"))
        .output()
        .expect("run the layout program");
    assert!(run.status.success(), "the layout program failed");
    let printed = String::from_utf8_lossy(&run.stdout);
    let printed: Vec<&str> = printed.lines().collect();
    let expected = expected();
    let differences: Vec<String> = expected
        .iter()
        .zip(&printed)
        .filter(|(rust, c)| rust != *c)
        .map(|(rust, c)| format!("  Rust: {rust}\n  C:    {c}"))
        .collect();
    assert!(
        differences.is_empty() && printed.len() == expected.len(),
        "include/radixgate_plugin.h and cplugin/abi.rs disagree:\n{}",
        differences.join("\n")
    );
}

#[test]
fn the_host_table_declares_its_version_and_size() {
    assert_eq!(super::table::HOST.abi_version, ABI_VERSION);
    assert_eq!(super::table::HOST.size as usize, size_of::<RgHost>());
    // SAFETY: result_name takes any number.
    let name = unsafe { std::ffi::CStr::from_ptr((super::table::HOST.result_name)(12345)) };
    assert_eq!(name, c"RG_UNKNOWN");
}
