//! Who may use the Admin API, through real sockets: `admin.allow_admin`
//! (a client bound to another loopback address is refused unless listed),
//! `?api_key=` only with `admin.allow_query_key`, and the default key from
//! an IPv4 client of a dual-stack (`[::]`) listener, which the gateway
//! sees as `::ffff:127.0.0.1`.

use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use radixgate_test_support::etcd::runtime;
use radixgate_test_support::{Gateway, ADMIN_KEY};

const BIN: &str = env!("CARGO_BIN_EXE_radixgate");

const APISIX: &str = "routes: []\n#END\n";

/// `GET target` with `headers` to `to`, from a socket bound to `from`:
/// (status, body).
fn get_from(from: IpAddr, to: SocketAddr, target: &str, headers: &[(&str, &str)]) -> (u16, String) {
    let rt = runtime();
    let stream = rt.block_on(async {
        let socket = match from {
            IpAddr::V4(_) => tokio::net::TcpSocket::new_v4(),
            IpAddr::V6(_) => tokio::net::TcpSocket::new_v6(),
        }
        .expect("a socket");
        socket
            .bind(SocketAddr::new(from, 0))
            .expect("bind the client address");
        socket.connect(to).await.expect("connect to the Admin API")
    });
    let mut stream = stream.into_std().expect("a std stream");
    stream.set_nonblocking(false).expect("blocking");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let mut head = format!("GET {target} HTTP/1.1\r\nHost: admin\r\nConnection: close\r\n");
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    stream
        .write_all(head.as_bytes())
        .expect("write the request");
    let mut raw = String::new();
    let _ = stream.read_to_string(&mut raw);
    let status = raw
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = raw.split_once("\r\n\r\n").map_or("", |(_, b)| b).to_owned();
    (status, body)
}

fn ip(s: &str) -> IpAddr {
    s.parse().expect("an address")
}

fn admin_addr(gw: &Gateway) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], gw.admin_port()))
}

const KEY: [(&str, &str); 1] = [("X-API-KEY", ADMIN_KEY)];

#[test]
fn allow_admin_refuses_clients_not_listed() {
    // Default: loopback (127.0.0.0/24) only, so 127.0.0.2 may.
    let open = Gateway::file(BIN, APISIX).admin().start();
    let (s, b) = get_from(
        ip("127.0.0.2"),
        admin_addr(&open),
        "/apisix/admin/routes",
        &KEY,
    );
    assert_eq!(s, 200, "{b}");

    let narrow = Gateway::file(BIN, APISIX)
        .admin_yaml("  allow_admin: [\"127.0.0.1/32\"]\n")
        .start();
    let (s, b) = get_from(
        ip("127.0.0.1"),
        admin_addr(&narrow),
        "/apisix/admin/routes",
        &KEY,
    );
    assert_eq!(s, 200, "{b}");
    let (s, b) = get_from(
        ip("127.0.0.2"),
        admin_addr(&narrow),
        "/apisix/admin/routes",
        &KEY,
    );
    assert_eq!(s, 403, "a client outside allow_admin was served: {b}");
    assert!(b.contains("127.0.0.2"), "{b}");
    // Refused before its key is even looked at.
    let (s, _) = get_from(
        ip("127.0.0.2"),
        admin_addr(&narrow),
        "/apisix/admin/routes",
        &[],
    );
    assert_eq!(s, 403);
}

#[test]
fn the_query_key_needs_allow_query_key() {
    let target = format!("/apisix/admin/routes?api_key={ADMIN_KEY}");
    let off = Gateway::file(BIN, APISIX).admin().start();
    let (s, b) = get_from(ip("127.0.0.1"), admin_addr(&off), &target, &[]);
    assert_eq!(s, 401, "a key in the query string was accepted: {b}");
    assert!(b.contains("admin.allow_query_key"), "{b}");
    // The header still works.
    let (s, b) = get_from(
        ip("127.0.0.1"),
        admin_addr(&off),
        "/apisix/admin/routes",
        &KEY,
    );
    assert_eq!(s, 200, "{b}");

    let on = Gateway::file(BIN, APISIX)
        .admin_yaml("  allow_query_key: true\n")
        .start();
    let (s, b) = get_from(ip("127.0.0.1"), admin_addr(&on), &target, &[]);
    assert_eq!(s, 200, "{b}");
}

#[test]
fn the_default_key_works_from_ipv4_loopback_on_a_dual_stack_listener() {
    let mut gw = Gateway::file(BIN, APISIX).admin().prepare();
    let config = gw.dir.path("config.yaml");
    let text = std::fs::read_to_string(&config).expect("config.yaml");
    let port = gw.admin_port();
    let dual = text.replace(
        &format!("listen: \"127.0.0.1:{port}\""),
        &format!("listen: \"[::]:{port}\""),
    );
    assert_ne!(dual, text, "the admin listen line was not found:\n{text}");
    std::fs::write(&config, dual).expect("write config.yaml");
    gw.start_process();
    // An IPv4 client of a [::] listener is ::ffff:127.0.0.1 to the gateway.
    let (s, b) = get_from(
        ip("127.0.0.1"),
        admin_addr(&gw),
        "/apisix/admin/routes",
        &KEY,
    );
    assert_eq!(
        s,
        200,
        "the default key was refused from 127.0.0.1: {b}\n{}",
        gw.log()
    );
    let v6 = SocketAddr::new(ip("::1"), port);
    let (s, b) = get_from(ip("::1"), v6, "/apisix/admin/routes", &KEY);
    assert_eq!(s, 200, "the default key was refused from ::1: {b}");
}
