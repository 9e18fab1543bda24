//! The LuaJIT module `router-ffi/lua/resty/radixtree.lua`:
//!
//! - runs each script of `tests/lua/*.lua` with `luajit` (no nginx), with
//!   `LUA_PATH` at the module and `LUA_CPATH`/`RADIX_ROUTER_LIB` at the
//!   library cargo built next to this test binary;
//! - checks that the module's `ffi.cdef` (`lua/resty/radixtree/clib.lua`) declares what
//!   `include/radix_router.h` declares (same names, field lists and
//!   signatures), so the two cannot drift apart.

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

const LIB_NAME: &str = if cfg!(target_os = "macos") {
    "libradix_router.dylib"
} else {
    "libradix_router.so"
};

/// The cdylib cargo built for this profile. This binary is
/// `target/<profile>/deps/lua-<hash>`; the library is
/// `target/<profile>/libradix_router.so` after `cargo build`, and
/// `target/<profile>/deps/libradix_router.so` after `cargo test` alone (not
/// copied up). The newer of the two is the one built from today's sources.
fn library() -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary's path");
    let deps = exe.parent().expect("target/<profile>/deps");
    let profile = deps.parent().expect("target/<profile>");
    let candidates = [profile.join(LIB_NAME), deps.join(LIB_NAME)];
    candidates
        .iter()
        .filter_map(|c| Some((fs::metadata(c).ok()?.modified().ok()?, c)))
        .max_by_key(|(mtime, _)| *mtime)
        .map(|(_, c)| c.clone())
        .unwrap_or_else(|| {
            panic!(
                "{LIB_NAME} not found (looked at {}); build it with `cargo build -p radix-router`",
                candidates
                    .iter()
                    .map(|c| c.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        })
}

fn lua_dir() -> PathBuf {
    crate_dir().join("lua")
}

fn scripts_dir() -> PathBuf {
    crate_dir().join("tests/lua")
}

/// Runs `tests/lua/<name>` with luajit; panics with its output on failure.
fn run_script(name: &str) {
    let lib = library();
    let lib_dir = lib.parent().expect("library dir");
    let ext = lib.extension().and_then(|e| e.to_str()).unwrap_or("so");
    let lua_path = format!(
        "{}/?.lua;{}/lib/?.lua;;",
        lua_dir().display(),
        scripts_dir().display()
    );
    let output = Command::new("luajit")
        .arg(name)
        .current_dir(scripts_dir())
        .env("LUA_PATH", lua_path)
        .env("LUA_CPATH", format!("{}/?.{ext};;", lib_dir.display()))
        .env("RADIX_ROUTER_LIB", &lib)
        .output()
        .unwrap_or_else(|e| {
            panic!("running luajit: {e} (install LuaJIT: `make deps` installs luajit2)")
        });
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "luajit tests/lua/{name} failed ({}):\n{stdout}{stderr}",
        output.status
    );
    // Passing scripts print a summary line; show it with --nocapture.
    print!("{stdout}");
}

/// The scripts, one test each (`every_script_runs` keeps this list complete).
const SCRIPTS: [&str; 5] = [
    "paths.lua",
    "conditions.lua",
    "api.lua",
    "jit.lua",
    "dropin.lua",
];

#[test]
fn lua_paths() {
    run_script("paths.lua");
}

#[test]
fn lua_conditions() {
    run_script("conditions.lua");
}

#[test]
fn lua_api() {
    run_script("api.lua");
}

#[test]
fn lua_jit() {
    run_script("jit.lua");
}

#[test]
fn lua_dropin() {
    run_script("dropin.lua");
}

#[test]
fn every_script_runs() {
    let mut found: Vec<String> = fs::read_dir(scripts_dir())
        .expect("tests/lua")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".lua"))
        .collect();
    found.sort();
    let mut listed: Vec<String> = SCRIPTS.iter().map(|s| s.to_string()).collect();
    listed.sort();
    assert_eq!(
        found, listed,
        "tests/lua/*.lua and SCRIPTS in tests/lua.rs differ: add a test for each script"
    );
}

// ---------------------------------------------------------------------------
// The cdef against the header
// ---------------------------------------------------------------------------

/// C declarations, reduced to what the ABI depends on.
#[derive(Debug, Default)]
struct Decls {
    /// enum name -> constant -> value
    enums: HashMap<String, HashMap<String, i64>>,
    /// struct name -> fields as "type name" (opaque structs: None)
    structs: HashMap<String, Option<Vec<String>>>,
    /// typedef name -> aliased type (for plain typedefs)
    aliases: HashMap<String, String>,
    /// function or function-pointer typedef -> "ret (param types, ...)"
    functions: HashMap<String, String>,
    fn_types: HashMap<String, String>,
}

/// Removes comments, and keeps the lines a C11 compiler (not C++, not C23)
/// sees; collects `#define NAME VALUE`.
fn preprocess(text: &str, defines: &mut HashMap<String, String>) -> String {
    let mut no_comments = String::new();
    let mut rest = text;
    loop {
        let block = rest.find("/*");
        let line = rest.find("//");
        match (block, line) {
            (Some(b), l) if l.is_none_or(|l| b < l) => {
                no_comments.push_str(&rest[..b]);
                let end = rest[b..].find("*/").expect("unterminated comment") + b + 2;
                rest = &rest[end..];
            }
            (_, Some(l)) => {
                no_comments.push_str(&rest[..l]);
                rest = rest[l..].find('\n').map_or("", |e| &rest[l + e..]);
            }
            _ => {
                no_comments.push_str(rest);
                break;
            }
        }
    }
    let mut out = String::new();
    let mut active: Vec<bool> = Vec::new();
    for line in no_comments.lines() {
        let t = line.trim();
        if let Some(d) = t.strip_prefix('#') {
            let d = d.trim();
            let word = d.split_whitespace().next().unwrap_or("");
            let arg = d[word.len()..].trim();
            match word {
                // Seen as C11: __cplusplus and C23 are off, include guards on.
                "ifdef" => active.push(false),
                "ifndef" => active.push(true),
                "if" => active.push(false),
                "else" => {
                    let top = active.last_mut().expect("#else without #if");
                    *top = !*top;
                }
                "endif" => {
                    active.pop().expect("#endif without #if");
                }
                "define" if active.iter().all(|&a| a) => {
                    let mut parts = arg.splitn(2, char::is_whitespace);
                    let name = parts.next().unwrap_or("").to_string();
                    let value = parts.next().unwrap_or("").trim().to_string();
                    defines.insert(name, value);
                }
                _ => {}
            }
            continue;
        }
        if active.iter().all(|&a| a) {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

fn tokenize(text: &str) -> Vec<String> {
    let mut tokens = Vec::new();
    let mut word = String::new();
    for c in text.chars() {
        if c.is_alphanumeric() || c == '_' {
            word.push(c);
            continue;
        }
        if !word.is_empty() {
            tokens.push(std::mem::take(&mut word));
        }
        if !c.is_whitespace() {
            tokens.push(c.to_string());
        }
    }
    if !word.is_empty() {
        tokens.push(word);
    }
    tokens
}

/// Splits `tokens` on `sep` outside (), {} and [].
fn split_top(tokens: &[String], sep: &str) -> Vec<Vec<String>> {
    let mut out = vec![Vec::new()];
    let mut depth = 0i32;
    for t in tokens {
        match t.as_str() {
            "(" | "{" | "[" => depth += 1,
            ")" | "}" | "]" => depth -= 1,
            s if s == sep && depth == 0 => {
                out.push(Vec::new());
                continue;
            }
            _ => {}
        }
        out.last_mut().expect("non-empty").push(t.clone());
    }
    out.retain(|d| !d.is_empty());
    out
}

/// A type as written, without `struct`/`enum` tags, `#define`s resolved.
fn norm_type(tokens: &[String], defines: &HashMap<String, String>) -> String {
    tokens
        .iter()
        .filter(|t| *t != "struct" && *t != "enum")
        .map(|t| defines.get(t).cloned().unwrap_or_else(|| t.clone()))
        .collect::<Vec<_>>()
        .join(" ")
}

/// "type name" of a field or parameter; `with_name` keeps the name.
fn declarator(tokens: &[String], defines: &HashMap<String, String>, with_name: bool) -> String {
    if tokens.len() == 1 {
        return norm_type(tokens, defines); // `void`
    }
    let (head, dims) = match tokens.iter().position(|t| t == "[") {
        Some(i) => (&tokens[..i], norm_type(&tokens[i..], defines)),
        None => (tokens, String::new()),
    };
    let (name, ty) = head.split_last().expect("a declarator");
    let ty = norm_type(ty, defines);
    if with_name {
        format!("{ty} {name}{}", if dims.is_empty() { "" } else { " " }) + &dims
    } else {
        format!("{ty}{}", if dims.is_empty() { "" } else { " " }) + &dims
    }
}

fn params(tokens: &[String], defines: &HashMap<String, String>) -> String {
    split_top(tokens, ",")
        .iter()
        .map(|p| declarator(p, defines, false))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The tokens between the bracket at `open` and its match, and the index after it.
fn group(tokens: &[String], open: usize) -> (&[String], usize) {
    let mut depth = 0;
    for (i, t) in tokens.iter().enumerate().skip(open) {
        match t.as_str() {
            "(" | "{" | "[" => depth += 1,
            ")" | "}" | "]" => {
                depth -= 1;
                if depth == 0 {
                    return (&tokens[open + 1..i], i + 1);
                }
            }
            _ => {}
        }
    }
    panic!("unbalanced brackets in {tokens:?}");
}

fn parse_decls(text: &str) -> Decls {
    let mut defines = HashMap::new();
    let text = preprocess(text, &mut defines);
    let tokens = tokenize(&text);
    let mut d = Decls::default();
    for decl in split_top(&tokens, ";") {
        let typedef = decl[0] == "typedef";
        let body = if typedef { &decl[1..] } else { &decl[..] };
        let tag = body[0].as_str();
        if (tag == "struct" || tag == "enum") && body.len() >= 3 && body[2] == "{" {
            let name = body[1].clone();
            let (inner, _) = group(body, 2);
            if tag == "enum" {
                let mut consts = HashMap::new();
                let mut next = 0i64;
                for item in split_top(inner, ",") {
                    let value = match item.iter().position(|t| t == "=") {
                        Some(i) => item[i + 1..].concat().parse().expect("enum value"),
                        None => next,
                    };
                    consts.insert(item[0].clone(), value);
                    next = value + 1;
                }
                d.enums.insert(name, consts);
            } else {
                let fields = split_top(inner, ";")
                    .iter()
                    .map(|f| declarator(f, &defines, true))
                    .collect();
                d.structs.insert(name, Some(fields));
            }
        } else if typedef && tag == "struct" && body.len() == 3 {
            d.structs.entry(body[1].clone()).or_insert(None);
        } else if let Some(open) = body.iter().position(|t| t == "(") {
            if typedef && body.get(open + 1).is_some_and(|t| t == "*") {
                // typedef RET (*NAME)(PARAMS)
                let name = body[open + 2].clone();
                let (_, after) = group(body, open);
                let (ps, _) = group(body, after);
                let sig = format!(
                    "{} ({})",
                    norm_type(&body[..open], &defines),
                    params(ps, &defines)
                );
                d.fn_types.insert(name, sig);
            } else {
                let name = body[open - 1].clone();
                let (ps, _) = group(body, open);
                let sig = format!(
                    "{} ({})",
                    norm_type(&body[..open - 1], &defines),
                    params(ps, &defines)
                );
                d.functions.insert(name, sig);
            }
        } else if typedef {
            let (name, ty) = body.split_last().expect("typedef name");
            d.aliases.insert(name.clone(), norm_type(ty, &defines));
        }
    }
    d
}

/// The text between `local CDEF = [[` and `]]` in the module's clib.lua.
fn module_cdef() -> String {
    let path = lua_dir().join("resty/radixtree/clib.lua");
    let src = fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let start = src
        .find("local CDEF = [[")
        .expect("the module declares `local CDEF = [[ ... ]]`")
        + "local CDEF = [[".len();
    let len = src[start..].find("]]").expect("end of CDEF");
    src[start..start + len].to_string()
}

fn compare(lua: &Decls, header: &Decls) -> Vec<String> {
    let mut problems = Vec::new();
    for (name, consts) in &lua.enums {
        match header.enums.get(name) {
            None => problems.push(format!("enum {name}: not in the header")),
            Some(h) => {
                for (c, v) in consts {
                    if h.get(c) != Some(v) {
                        problems.push(format!(
                            "enum {name}: {c} = {v} in the module, {:?} in the header",
                            h.get(c)
                        ));
                    }
                }
            }
        }
    }
    for (name, fields) in &lua.structs {
        match header.structs.get(name) {
            None => problems.push(format!("struct {name}: not in the header")),
            Some(h) if h != fields => problems.push(format!(
                "struct {name}: module has {fields:?}, header has {h:?}"
            )),
            _ => {}
        }
    }
    for (name, ty) in &lua.aliases {
        if header.aliases.get(name) != Some(ty) {
            problems.push(format!(
                "typedef {name}: {ty} in the module, {:?} in the header",
                header.aliases.get(name)
            ));
        }
    }
    for (kind, mine, theirs) in [
        ("function", &lua.functions, &header.functions),
        ("callback type", &lua.fn_types, &header.fn_types),
    ] {
        for (name, sig) in mine {
            match theirs.get(name) {
                None => problems.push(format!("{kind} {name}: not in the header")),
                Some(h) if h != sig => problems.push(format!(
                    "{kind} {name}: module declares `{sig}`, header `{h}`"
                )),
                _ => {}
            }
        }
    }
    problems.sort();
    problems
}

#[test]
fn cdef_matches_header() {
    let header_path = crate_dir().join("../include/radix_router.h");
    let header = fs::read_to_string(&header_path)
        .unwrap_or_else(|e| panic!("{}: {e}", header_path.display()));
    let header = parse_decls(&header);
    let lua = parse_decls(&module_cdef());
    assert!(
        lua.functions.len() >= 20 && lua.structs.len() >= 5,
        "parsed too little of the module's cdef: {lua:#?}"
    );
    assert!(
        header.functions.contains_key("rr_router_match"),
        "parsed too little of the header: {header:#?}"
    );
    let problems = compare(&lua, &header);
    assert!(
        problems.is_empty(),
        "the module's ffi.cdef differs from include/radix_router.h:\n  {}",
        problems.join("\n  ")
    );
    // Every function of the header is declared by the module (it may use
    // only some, but a new export should be a conscious choice).
    let mut missing: Vec<&String> = header
        .functions
        .keys()
        .filter(|f| !lua.functions.contains_key(*f))
        .collect();
    missing.sort();
    assert!(
        missing.is_empty(),
        "functions of the header the module does not declare: {missing:?}"
    );
}

/// `local RR_NAME = number` lines of the module's Lua files: the constants
/// it copies from the header (flags, kinds, codes it compares with).
fn lua_constants() -> Vec<(String, String, i64)> {
    let mut out = Vec::new();
    for file in [
        "resty/radixtree.lua",
        "resty/radixtree/route.lua",
        "resty/radixtree/callbacks.lua",
    ] {
        let text = fs::read_to_string(lua_dir().join(file)).expect(file);
        for line in text.lines() {
            let Some(rest) = line.strip_prefix("local RR_") else {
                continue;
            };
            let Some((name, value)) = rest.split_once('=') else {
                continue;
            };
            let value = value.split("--").next().unwrap_or("").trim();
            if let Ok(v) = value.parse() {
                out.push((file.to_string(), format!("RR_{}", name.trim()), v));
            }
        }
    }
    out
}

#[test]
fn lua_constants_match_header() {
    let header_path = crate_dir().join("../include/radix_router.h");
    let text = fs::read_to_string(&header_path).expect("the header");
    let mut defines = HashMap::new();
    preprocess(&text, &mut defines);
    let header = parse_decls(&text);
    let value = |name: &str| -> Option<i64> {
        if let Some(v) = defines.get(name) {
            return v.parse().ok();
        }
        header.enums.values().find_map(|e| e.get(name).copied())
    };
    let constants = lua_constants();
    assert!(constants.len() >= 10, "found too few: {constants:?}");
    let wrong: Vec<String> = constants
        .iter()
        .filter(|(_, name, v)| value(name) != Some(*v))
        .map(|(file, name, v)| format!("{file}: {name} = {v}, header: {:?}", value(name)))
        .collect();
    assert!(
        wrong.is_empty(),
        "Lua constants differ from the header:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn cdef_check_catches_drift() {
    // The checker itself: a changed field, a changed parameter and a missing
    // function are each reported.
    let header = parse_decls(
        "typedef struct a { const uint8_t *p; size_t n; } a;\n\
         #define N 4\n\
         typedef struct b { struct a xs[N]; } b;\n\
         int f(const struct a *x, size_t n);\n",
    );
    let same = parse_decls(
        "typedef struct a { const uint8_t *p; size_t n; } a;\n\
         typedef struct b { a xs[4]; } b;\n\
         int f(const a *ptr, size_t len);\n",
    );
    assert_eq!(compare(&same, &header), Vec::<String>::new());
    let drift = parse_decls(
        "typedef struct a { const uint8_t *p; uint32_t n; } a;\n\
         int f(a *x, size_t n);\n\
         int g(void);\n",
    );
    let problems = compare(&drift, &header);
    assert_eq!(problems.len(), 3, "{problems:#?}");
}

#[test]
fn library_is_where_the_lua_module_looks() {
    // LUA_CPATH `<dir>/?.so` makes the module look for `<dir>/libradix_router.so`.
    let lib = library();
    assert_eq!(
        lib.file_name().and_then(|n| n.to_str()),
        Some(LIB_NAME),
        "{}",
        lib.display()
    );
    assert!(Path::new(&lib).is_file());
}
