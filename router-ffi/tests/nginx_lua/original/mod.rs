//! lua-resty-radixtree's own test suite (`t/*.t` of api7/lua-resty-radixtree),
//! each behaviour it checks turned into a case run inside nginx with the
//! module of `router-ffi/lua`: the same Lua, the same request, the same
//! expected body and error log lines.
//!
//! Written as the original's Test::Nginx blocks are: a `content_by_lua_block`
//! per case (`$PORT` stands for the server's port, 1984 there), the request
//! (`GET /t?k=v`: its query string and headers are sent to the case's own
//! location), the expected response body, lines the error log must show
//! while the case runs and text it must not (`[error]` by default, as the
//! original's `--- no_error_log`). Where this module differs on purpose,
//! the case says why in `differs`; where the original only checks a debug
//! line of its own implementation (`pcre pat:`), the case says so and checks
//! the rest.
//!
//! Not ported, with the reason in the module that would hold them:
//! `args.t` and `uri.t` test early options (`uri_args`, `uris`, a route's
//! `path`) that lua-resty-radixtree no longer has; `rax.t` calls the
//! original's rax C functions (`radix._symbols`), which this library does
//! not have.

use super::harness::Nginx;

pub mod add;
pub mod filter_fun;
pub mod handler;
pub mod host;
pub mod matched;
pub mod multiple;
pub mod new;
pub mod parameter;
pub mod path;
pub mod priority;
pub mod remote;
pub mod sanity;
pub mod update_delete;
pub mod vars;

/// One Test::Nginx block of the original.
#[derive(Debug, Clone, Copy)]
pub struct Case {
    /// `TEST n: title`, as in the original.
    pub name: &'static str,
    /// The `content_by_lua_block` body.
    pub lua: &'static str,
    /// `METHOD /t?query`: the method and query string are sent.
    pub request: &'static str,
    pub headers: &'static [&'static str],
    pub status: u16,
    /// The expected body, whole (or a part of it with `like`).
    pub body: &'static str,
    pub like: bool,
    /// Lines the error log shows while the case runs.
    pub log: &'static [&'static str],
    /// Text the error log does not show while the case runs.
    pub no_log: &'static [&'static str],
    /// Why this module differs from the original here, if it does.
    pub differs: &'static str,
}

/// A case: `GET /t`, status 200, no `[error]` in the log.
pub const fn case(name: &'static str, lua: &'static str, body: &'static str) -> Case {
    Case {
        name,
        lua,
        request: "GET /t",
        headers: &[],
        status: 200,
        body,
        like: false,
        log: &[],
        no_log: &["[error]"],
        differs: "",
    }
}

impl Case {
    pub const fn request(mut self, request: &'static str) -> Case {
        self.request = request;
        self
    }
    pub const fn headers(mut self, headers: &'static [&'static str]) -> Case {
        self.headers = headers;
        self
    }
    /// The body must contain `body` (the original's `response_body_like`).
    pub const fn like(mut self) -> Case {
        self.like = true;
        self
    }
    pub const fn log(mut self, log: &'static [&'static str]) -> Case {
        self.log = log;
        self
    }
    pub const fn no_log(mut self, no_log: &'static [&'static str]) -> Case {
        self.no_log = no_log;
        self
    }
    pub const fn differs(mut self, why: &'static str) -> Case {
        self.differs = why;
        self
    }
}

/// Runs `cases` (the blocks of the original's `file`) in one nginx, a
/// location each; panics with every case that failed.
pub fn run(file: &str, cases: &[Case]) {
    let ngx = Nginx::start(|port| {
        let mut server = String::new();
        for (i, c) in cases.iter().enumerate() {
            let lua = c.lua.replace("$PORT", &port.to_string());
            server.push_str(&format!(
                "        location = /case/{i} {{\n            content_by_lua_block {{\n{lua}\n            }}\n        }}\n"
            ));
        }
        server
    });
    let mut failures = Vec::new();
    for (i, c) in cases.iter().enumerate() {
        let (method, target) = c.request.split_once(' ').unwrap_or(("GET", c.request));
        let query = target.find('?').map_or("", |q| &target[q..]);
        let from = ngx.error_log_len();
        let (status, body) = ngx.request(method, &format!("/case/{i}{query}"), c.headers);
        let log = ngx.error_log_since(from);
        let mut wrong = Vec::new();
        if status != c.status {
            wrong.push(format!("status {status}, want {}", c.status));
        }
        let body_ok = if c.like {
            body.contains(c.body)
        } else {
            body == c.body
        };
        if !body_ok {
            wrong.push(format!("body {body:?}, want {:?}", c.body));
        }
        for line in c.log {
            if !log.contains(line) {
                wrong.push(format!("error log lacks {line:?}"));
            }
        }
        for text in c.no_log {
            if log.contains(text) {
                wrong.push(format!("error log shows {text:?}"));
            }
        }
        if !wrong.is_empty() {
            let why = match c.differs {
                "" => String::new(),
                d => format!("\n    (differs on purpose: {d})"),
            };
            failures.push(format!(
                "{file} {}: {}{why}\n    error log:\n{log}",
                c.name,
                wrong.join("; ")
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} case(s) of {file} failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}
