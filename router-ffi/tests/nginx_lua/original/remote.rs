//! `t/remote.t`: remote_addrs, IPv4 and IPv6, single and CIDR.

use super::{case, Case};

/// Routes `$routes`, then `ngx.say(rx:match(path, {remote_addr = addr}))`
/// for each `(path, addr)`.
macro_rules! remote {
    ($name:literal, $routes:literal, [$(($path:literal, $addr:literal)),*], $body:literal) => {
        case(
            $name,
            concat!(
                "\nlocal radix = require(\"resty.radixtree\")\nlocal rx = radix.new(",
                $routes,
                ")\n",
                $("ngx.say(rx:match(\"", $path, "\", {remote_addr = \"", $addr, "\"}))\n",)*
            ),
            $body,
        )
    };
}

pub const CASES: &[Case] = &[
    remote!(
        "TEST 1: ipv4",
        r#"{
    { paths = {"/aa"}, remote_addrs = {"127.0.0.1"}, metadata = "metadata /aa -> 127.0.0.1" },
    { paths = {"/bb"}, remote_addrs = {"127.0.0.2"}, metadata = "metadata /bb -> 127.0.0.2" },
}"#,
        [
            ("/aa", "127.0.0.1"),
            ("/aa", "127.0.0.2"),
            ("/bb", "127.0.0.1"),
            ("/bb", "127.0.0.2")
        ],
        "metadata /aa -> 127.0.0.1\nnil\nnil\nmetadata /bb -> 127.0.0.2\n"
    ),
    remote!(
        "TEST 2: 127.0.0.0/24",
        r#"{
    { paths = {"/aa"}, remote_addrs = {"127.0.0.0/24"}, metadata = "metadata /aa -> 127.0.0.1" },
}"#,
        [
            ("/aa", "127.0.0.1"),
            ("/aa", "127.0.0.2"),
            ("/aa", "127.0.1.1"),
            ("/aa", "127.0.2.2")
        ],
        "metadata /aa -> 127.0.0.1\nmetadata /aa -> 127.0.0.1\nnil\nnil\n"
    ),
    remote!(
        "TEST 3: ipv6",
        r#"{
    { paths = {"/aa"}, remote_addrs = {"::1"}, metadata = "metadata /aa -> ::1" },
    { paths = {"/bb"}, remote_addrs = {"::2"}, metadata = "metadata /aa -> ::2" },
}"#,
        [
            ("/aa", "::1"),
            ("/aa", "::2"),
            ("/bb", "::1"),
            ("/bb", "::2"),
            ("/aa", "127.0.0.1")
        ],
        "metadata /aa -> ::1\nnil\nnil\nmetadata /aa -> ::2\nnil\n"
    ),
    remote!(
        "TEST 4: ipv6 with mask",
        r#"{
    { paths = {"/aa"}, remote_addrs = {"fe80::1/64"}, metadata = "metadata /aa -> fe80::1/64" },
}"#,
        [
            ("/aa", "::1"),
            ("/aa", "fe80::1"),
            ("/aa", "fe80:fe::1"),
            ("/aa", "80::1")
        ],
        "nil\nmetadata /aa -> fe80::1/64\nnil\nnil\n"
    ),
    remote!(
        "TEST 5: multiple ipv4 address",
        r#"{
    { paths = {"/aa"}, remote_addrs = {"127.0.0.1", "127.0.0.3"}, metadata = "metadata /aa" },
    { paths = {"/bb"}, remote_addrs = {"127.0.0.2", "127.0.0.3"}, metadata = "metadata /bb" },
}"#,
        [
            ("/aa", "127.0.0.1"),
            ("/aa", "127.0.0.2"),
            ("/aa", "127.0.0.3"),
            ("/bb", "127.0.0.1"),
            ("/bb", "127.0.0.2"),
            ("/bb", "127.0.0.3")
        ],
        "metadata /aa\nnil\nmetadata /aa\nnil\nmetadata /bb\nmetadata /bb\n"
    ),
    remote!(
        "TEST 6: multiple ipv6 address",
        r#"{
    { paths = {"/aa"}, remote_addrs = {"::1", "::3"}, metadata = "metadata /aa" },
    { paths = {"/bb"}, remote_addrs = {"::2", "::3"}, metadata = "metadata /bb" },
}"#,
        [
            ("/aa", "::1"),
            ("/aa", "::2"),
            ("/aa", "::3"),
            ("/bb", "::1"),
            ("/bb", "::2"),
            ("/bb", "::3"),
            ("/aa", "127.0.0.1")
        ],
        "metadata /aa\nnil\nmetadata /aa\nnil\nmetadata /bb\nmetadata /bb\nnil\n"
    ),
    remote!(
        "TEST 7: multiple ip address: v4 + v6",
        r#"{
    { paths = {"/aa"}, metadata = "metadata /aa",
      remote_addrs = {"127.0.0.1", "127.0.0.3", "::1", "::2", "192.168.0.0/16", "fe80::/16"} },
}"#,
        [
            ("/aa", "127.0.0.1"),
            ("/aa", "127.0.0.2"),
            ("/aa", "::2"),
            ("/aa", "::3"),
            ("/aa", "192.168.1.1"),
            ("/aa", "192.138.1.1"),
            ("/aa", "fe80::1"),
            ("/aa", "fe81::1")
        ],
        "metadata /aa\nnil\nmetadata /aa\nnil\nmetadata /aa\nnil\nmetadata /aa\nnil\n"
    ),
];
