//! The LuaJIT module inside nginx (Debian's lua module): routes whose
//! `vars` read `ngx.var` by default (`arg_name`, `http_x_user`), hosts from
//! `ngx.var.host` and `ngx.var.http_host`, methods, client addresses and
//! filters, checked with real HTTP requests.

use super::harness::Nginx;

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

/// The server's locations: dispatch under /dispatch/, the router elsewhere.
fn locations(_port: u16) -> String {
    format!(
        "        location /dispatch/ {{ content_by_lua_block {{ {DISPATCH_LUA} }} }}\n\
         location / {{ content_by_lua_block {{ {CONTENT_LUA} }} }}\n"
    )
}

#[test]
fn routes_inside_nginx() {
    let ngx = Nginx::start(locations);
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
    let ngx = Nginx::start(locations);
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
