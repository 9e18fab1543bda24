//! The LuaJIT module inside nginx (Debian's lua module): routes whose
//! `vars` read `ngx.var` by default (`arg_name`, `http_x_user`), hosts from
//! `ngx.var.host` and `ngx.var.http_host`, methods, client addresses and
//! filters, checked with real HTTP requests.
//!
//! nginx runs in the foreground (`daemon off; master_process off;`) on a
//! free loopback port, from a fresh directory; a guard kills it and removes
//! the directory when the test ends, failed or not.

use std::fs::{self, File};
use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const MODULES: &str = "/usr/lib/nginx/modules";

const LIB_NAME: &str = if cfg!(target_os = "macos") {
    "libradix_router.dylib"
} else {
    "libradix_router.so"
};

/// The cdylib built with this test binary (`target/<profile>/deps/nginx_lua-<hash>`):
/// the newer of `target/<profile>/libradix_router.so` (`cargo build`) and
/// `target/<profile>/deps/libradix_router.so` (`cargo test` alone).
fn library() -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary's path");
    let deps = exe.parent().expect("target/<profile>/deps");
    let profile = deps.parent().expect("target/<profile>");
    [profile.join(LIB_NAME), deps.join(LIB_NAME)]
        .into_iter()
        .filter_map(|c| Some((fs::metadata(&c).ok()?.modified().ok()?, c)))
        .max_by_key(|(mtime, _)| *mtime)
        .map(|(_, c)| c)
        .unwrap_or_else(|| {
            panic!(
                "{LIB_NAME} not found next to {}; build it with `cargo build -p radix-router`",
                exe.display()
            )
        })
}

fn nginx_binary() -> PathBuf {
    let candidates = ["/usr/sbin/nginx", "/usr/local/sbin/nginx", "/usr/bin/nginx"];
    if let Some(p) = candidates.iter().map(PathBuf::from).find(|p| p.is_file()) {
        return p;
    }
    // Else rely on PATH.
    PathBuf::from("nginx")
}

/// The Lua served at every path: one router per worker, built on the
/// first request, matched with opts.vars left to default to ngx.var.
const CONTENT_LUA: &str = r#"
local radix = require("resty.radixtree")
local rx = package.loaded["radix_test.router"]
if not rx then
    rx = radix.new({
        { paths = "/user/:name", vars = { { "arg_name", "==", "json" } }, metadata = "user-json" },
        { paths = "/user/:name", metadata = "user", priority = -1 },
        { paths = "/admin/*", vars = { { "http_x_user", "==", "root" } }, metadata = "admin" },
        { paths = "/num", vars = { { "arg_w", ">", 10 }, { "arg_w", "<=", 20 } }, metadata = "num" },
        { paths = "/or", vars = { "OR", { "arg_a", "1" }, { "cookie_c", "~~", "^x" } }, metadata = "or" },
        { paths = "/host", hosts = "*.foo.com", metadata = "wild-host" },
        { paths = "/host", hosts = "bar.com", metadata = "bar-host" },
        { paths = "/port", hosts = "foo.com:8080", metadata = "port-host" },
        { paths = "/filter", metadata = "filter",
          filter_fun = function(vars, opts) return vars.arg_k == "v" and opts.method == "GET" end },
        { paths = "/method", methods = { "POST", "PURGE" }, metadata = "post" },
        { paths = "/addr", remote_addrs = "127.0.0.0/8", metadata = "loopback" },
        { paths = "/addr6", remote_addrs = "::1", metadata = "v6" },
        { paths = "/plain/*", metadata = "plain" },
    })
    package.loaded["radix_test.router"] = rx
end

local matched = {}
local opts = {
    host = ngx.var.host,
    method = ngx.req.get_method(),
    remote_addr = ngx.var.remote_addr,
    matched = matched,
}
local meta = rx:match(ngx.var.uri, opts)
local keys = {}
for k in pairs(matched) do keys[#keys + 1] = k end
table.sort(keys)
local out = { meta or "none" }
for _, k in ipairs(keys) do out[#out + 1] = k .. "=" .. tostring(matched[k]) end
ngx.print(table.concat(out, "|"))
"#;

/// dispatch(): the extra arguments reach filter_fun and the handler; a
/// router built and freed per request.
const DISPATCH_LUA: &str = r#"
local radix = require("resty.radixtree")
local rx = radix.new({
    { paths = "/dispatch/:id", handler = function(ctx, tag)
        ngx.print("handler:", ctx.id_seen, ":", tag)
    end, filter_fun = function(vars, opts, ctx, tag)
        ctx.id_seen = vars.arg_id
        return tag == "go"
    end },
})
local ctx = {}
local ok = rx:dispatch(ngx.var.uri, { method = ngx.req.get_method() }, ctx, ngx.var.arg_tag)
if not ok then ngx.print("no dispatch") end
rx:free()
"#;

fn config(dir: &Path, port: u16) -> String {
    format!(
        r#"load_module {MODULES}/ndk_http_module.so;
load_module {MODULES}/ngx_http_lua_module.so;
daemon off;
master_process off;
worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/error.log info;
env RADIX_ROUTER_LIB;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {dir}/client_body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    lua_package_path "{lua}/?.lua;;";
    server {{
        listen 127.0.0.1:{port};
        listen [::1]:{port};
        location /dispatch/ {{
            content_by_lua_block {{ {DISPATCH_LUA} }}
        }}
        location / {{
            content_by_lua_block {{ {CONTENT_LUA} }}
        }}
    }}
}}
"#,
        dir = dir.display(),
        lua = Path::new(env!("CARGO_MANIFEST_DIR")).join("lua").display(),
    )
}

/// A running nginx; dropping it kills nginx and removes its directory.
struct Nginx {
    child: Child,
    dir: PathBuf,
    port: u16,
    ipv6: bool,
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = fs::remove_dir_all(&self.dir);
    }
}

use radixgate_test_support::free_port;

fn ipv6_loopback() -> bool {
    TcpListener::bind("[::1]:0").is_ok()
}

impl Nginx {
    fn error_log(&self) -> String {
        let mut s = fs::read_to_string(self.dir.join("error.log")).unwrap_or_default();
        s.push_str(&fs::read_to_string(self.dir.join("stderr.log")).unwrap_or_default());
        s
    }

    fn start() -> Nginx {
        for _ in 0..3 {
            let nanos = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.subsec_nanos());
            let dir = std::env::temp_dir()
                .join(format!("radix-nginx-lua-{}-{nanos}", std::process::id()));
            fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
            let port = free_port();
            let ipv6 = ipv6_loopback();
            let mut conf = config(&dir, port);
            if !ipv6 {
                conf = conf.replace(&format!("        listen [::1]:{port};\n"), "");
            }
            fs::write(dir.join("nginx.conf"), conf).expect("writing nginx.conf");
            let stderr = File::create(dir.join("stderr.log")).expect("stderr.log");
            let child = Command::new(nginx_binary())
                .arg("-p")
                .arg(&dir)
                .arg("-c")
                .arg(dir.join("nginx.conf"))
                .arg("-e")
                .arg(dir.join("error.log"))
                .env("RADIX_ROUTER_LIB", library())
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(stderr)
                .spawn()
                .unwrap_or_else(|e| panic!("starting nginx: {e} (`make deps` installs it)"));
            let mut n = Nginx {
                child,
                dir,
                port,
                ipv6,
            };
            let deadline = Instant::now() + Duration::from_secs(15);
            loop {
                if let Ok(Some(status)) = n.child.try_wait() {
                    let log = n.error_log();
                    if log.contains("Address already in use") {
                        break; // another process took the port: try another
                    }
                    panic!("nginx exited ({status}) at start:\n{log}");
                }
                if TcpStream::connect((Ipv4Addr::LOCALHOST, port)).is_ok() {
                    return n;
                }
                if Instant::now() > deadline {
                    panic!("nginx did not listen on {port} in 15 s:\n{}", n.error_log());
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        panic!("nginx could not bind a free port three times");
    }

    /// Sends one HTTP/1.0 request to 127.0.0.1 (or ::1); returns (status, body).
    fn request_to(&self, v6: bool, method: &str, target: &str, headers: &[&str]) -> (u16, String) {
        let mut s = if v6 {
            TcpStream::connect(format!("[::1]:{}", self.port))
        } else {
            TcpStream::connect((Ipv4Addr::LOCALHOST, self.port))
        }
        .expect("connecting to nginx");
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let mut req = format!("{method} {target} HTTP/1.0\r\n");
        if !headers
            .iter()
            .any(|h| h.to_ascii_lowercase().starts_with("host:"))
        {
            req.push_str("Host: localhost\r\n");
        }
        for h in headers {
            req.push_str(h);
            req.push_str("\r\n");
        }
        req.push_str("\r\n");
        s.write_all(req.as_bytes()).expect("sending the request");
        let mut resp = Vec::new();
        s.read_to_end(&mut resp).expect("reading the response");
        let resp = String::from_utf8_lossy(&resp).into_owned();
        let (head, body) = resp
            .split_once("\r\n\r\n")
            .unwrap_or_else(|| panic!("no HTTP response: {resp:?}\n{}", self.error_log()));
        let status = head
            .split_whitespace()
            .nth(1)
            .and_then(|c| c.parse().ok())
            .unwrap_or_else(|| panic!("bad status line: {head:?}"));
        (status, body.to_string())
    }

    fn request(&self, method: &str, target: &str, headers: &[&str]) -> (u16, String) {
        self.request_to(false, method, target, headers)
    }

    fn get(&self, target: &str, headers: &[&str]) -> String {
        let (status, body) = self.request("GET", target, headers);
        assert_eq!(
            status,
            200,
            "GET {target} {headers:?}: status {status}, body {body:?}\n{}",
            self.error_log()
        );
        body
    }
}

#[test]
fn routes_inside_nginx() {
    let ngx = Nginx::start();
    // (target, headers, expected body): metadata, then opts.matched sorted.
    let cases: &[(&str, &[&str], &str)] = &[
        (
            "/user/ann?name=json",
            &[],
            "user-json|_method=GET|_path=/user/:name|name=ann",
        ),
        (
            "/user/ann",
            &[],
            "user|_method=GET|_path=/user/:name|name=ann",
        ),
        (
            "/user/ann?name=xml",
            &[],
            "user|_method=GET|_path=/user/:name|name=ann",
        ),
        (
            "/admin/panel",
            &["X-User: root"],
            "admin|:ext=panel|_method=GET|_path=/admin/*",
        ),
        ("/admin/panel", &["X-User: guest"], "none"),
        ("/admin/panel", &[], "none"),
        ("/num?w=15", &[], "num|_method=GET|_path=/num"),
        ("/num?w=25", &[], "none"),
        ("/num?w=abc", &[], "none"),
        ("/or?a=1", &[], "or|_method=GET|_path=/or"),
        ("/or", &["Cookie: c=xyz"], "or|_method=GET|_path=/or"),
        ("/or", &["Cookie: c=abc"], "none"),
        (
            "/host",
            &["Host: a.foo.com"],
            "wild-host|_host=*.foo.com|_method=GET|_path=/host",
        ),
        (
            "/host",
            &["Host: BAR.com"],
            "bar-host|_host=bar.com|_method=GET|_path=/host",
        ),
        ("/host", &["Host: other.org"], "none"),
        (
            "/port",
            &["Host: foo.com:8080"],
            "port-host|_host=foo.com|_method=GET|_path=/port",
        ),
        ("/port", &["Host: foo.com:9090"], "none"),
        ("/port", &["Host: foo.com"], "none"),
        ("/filter?k=v", &[], "filter|_method=GET|_path=/filter"),
        ("/filter?k=x", &[], "none"),
        ("/method", &[], "none"),
        ("/addr", &[], "loopback|_method=GET|_path=/addr"),
        ("/addr6", &[], "none"),
        (
            "/plain/a/b.css",
            &[],
            "plain|:ext=a/b.css|_method=GET|_path=/plain/*",
        ),
        ("/nothing", &[], "none"),
    ];
    let mut failures = Vec::new();
    for (target, headers, want) in cases {
        let got = ngx.get(target, headers);
        if got != *want {
            failures.push(format!(
                "GET {target} {headers:?}: got {got:?}, want {want:?}"
            ));
        }
    }
    for (method, want) in [
        ("POST", "post|_method=POST|_path=/method"),
        ("PURGE", "post|_method=PURGE|_path=/method"),
        ("PUT", "none"),
    ] {
        let (_, got) = ngx.request(method, "/method", &[]);
        if got != want {
            failures.push(format!("{method} /method: got {got:?}, want {want:?}"));
        }
    }
    let (_, got) = ngx.request("POST", "/filter?k=v", &[]);
    if got != "none" {
        failures.push(format!(
            "POST /filter?k=v (filter sees opts.method): got {got:?}"
        ));
    }
    if ngx.ipv6 {
        let (_, got) = ngx.request_to(true, "GET", "/addr6", &[]);
        if got != "v6|_method=GET|_path=/addr6" {
            failures.push(format!("GET /addr6 over ::1: got {got:?}"));
        }
        let (_, got) = ngx.request_to(true, "GET", "/addr", &[]);
        if got != "none" {
            failures.push(format!("GET /addr over ::1 (IPv4 rule): got {got:?}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} case(s) failed:\n  {}\nerror.log:\n{}",
        failures.len(),
        failures.join("\n  "),
        ngx.error_log()
    );
}

#[test]
fn dispatch_and_many_requests_inside_nginx() {
    let ngx = Nginx::start();
    assert_eq!(ngx.get("/dispatch/7?id=7&tag=go", &[]), "handler:7:go");
    assert_eq!(ngx.get("/dispatch/7?id=7&tag=stop", &[]), "no dispatch");
    // Enough requests for LuaJIT to compile hot code around the router; the
    // callback path must keep working (and the fast one too).
    for i in 0..300 {
        let want = if i % 2 == 0 {
            format!("user-json|_method=GET|_path=/user/:name|name=u{i}")
        } else {
            format!("user|_method=GET|_path=/user/:name|name=u{i}")
        };
        let name = if i % 2 == 0 { "json" } else { "no" };
        assert_eq!(ngx.get(&format!("/user/u{i}?name={name}"), &[]), want);
        assert_eq!(
            ngx.get("/plain/x", &[]),
            "plain|:ext=x|_method=GET|_path=/plain/*"
        );
    }
    let log = ngx.error_log();
    assert!(
        !log.contains("[error]") && !log.contains("[alert]"),
        "nginx logged errors:\n{log}"
    );
}
