//! The Lua module (`router-ffi/lua`) inside nginx with Debian's lua module:
//! our own checks (`module.rs`) and lua-resty-radixtree's own test suite,
//! ported (`original/`), each with real HTTP requests.

mod harness;
mod module;
mod original;

use original::run;

#[test]
fn original_sanity() {
    run("sanity.t", original::sanity::CASES);
}

#[test]
fn original_add() {
    run("add.t", original::add::CASES);
}

#[test]
fn original_update_delete() {
    run("update.t, delete.t", original::update_delete::CASES);
}

#[test]
fn original_filter_fun() {
    run("filter-fun.t", original::filter_fun::CASES);
}

#[test]
fn original_handler() {
    run("handler.t", original::handler::CASES);
}

#[test]
fn original_host() {
    run("host.t", original::host::CASES);
}

#[test]
fn original_matched() {
    run("matched.t", original::matched::CASES);
}

#[test]
fn original_multiple() {
    run("multiple.t", original::multiple::CASES);
}

#[test]
fn original_new() {
    run("new.t", original::new::CASES);
}

#[test]
fn original_parameter() {
    run("parameter.t", original::parameter::CASES);
}

#[test]
fn original_path() {
    run("path.t", original::path::CASES);
}

#[test]
fn original_priority() {
    run("priority.t", original::priority::CASES);
}

#[test]
fn original_remote() {
    run("remote.t", original::remote::CASES);
}

#[test]
fn original_vars() {
    run("vars.t", original::vars::CASES);
}
