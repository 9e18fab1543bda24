//! `t/update.t` and `t/delete.t`: update_route and delete_route with the
//! router options of each call.

use super::add::synopsis_router;
use super::{case, Case};

macro_rules! update {
    () => {
        r#"
local update_opts = {
    id = "00000000000024216171",
    paths = {"/nigolas/cage*", "/tom/cruise"},
    hosts = {"*.angel.city.com", "impossible.mission.com"},
    methods = {"GET", "POST", "PUT"},
    remote_addrs = {"127.0.0.1","192.168.0.0/16", "::1", "fe80::/32"},
    vars = {
        {"arg_name", "==", "cinema"},
        {"arg_weight", "<", 60},
    },
    filter_fun = function(vars, opts)
        return vars["arg_name"] == "cinema"
    end,
    metadata = "metadata update route succeed.",
}
rx:update_route(add_opts, update_opts, router_opts)
local opts = {
    host = "impossible.mission.com",
    method = "GET",
    remote_addr = "127.0.0.1",
    vars = ngx.var,
}
"#
    };
}

pub const CASES: &[Case] = &[
    case(
        "update.t TEST 1: test update",
        concat!(
            synopsis_router!(),
            update!(),
            r#"ngx.say(rx:match("/nigolas/cage/oscars", opts))"#
        ),
        "metadata update route succeed.\n",
    )
    .request("GET /t?name=cinema&weight=20")
    .no_log(&[]),
    case(
        "delete.t TEST 1: test delete",
        concat!(
            synopsis_router!(),
            update!(),
            r#"
rx:delete_route(update_opts, router_opts)
ngx.say(rx:match("/nigolas/cage/oscars", opts))
"#
        ),
        "nil\n",
    )
    .request("GET /t?name=cinema&weight=20")
    .no_log(&[]),
];
