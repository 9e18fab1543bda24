//! End to end: `ssls` objects through the Admin API and etcd, served by the
//! TLS listener. A bad certificate or key is refused at write time with
//! the field named; one written straight into etcd is skipped and the last
//! good version keeps serving; a certificate swapped through the Admin API
//! serves new handshakes while a client keeps handshaking, none failing.
//! Upstreams name client certificates (`tls.client_cert_id`): stored and
//! inline ones present a changed `ssls` object from then on, and an `ssls`
//! object still named cannot be deleted.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;

use radixgate_test_support::etcd::{client, runtime, Etcd};
use radixgate_test_support::tls::{https, s_client, write, Ca, Leaf};
use radixgate_test_support::{eventually, free_port, Gateway, Node, TempDir};
use serde_json::json;

const BIN: &str = env!("CARGO_BIN_EXE_radixgate");

fn ssl_json(snis: &[&str], leaf: &Leaf) -> String {
    json!({"snis": snis, "cert": leaf.cert, "key": leaf.key}).to_string()
}

/// A gateway on `e` with a TLS port, and a route to a node.
fn start(e: &Etcd, node: &Node) -> (Gateway, u16) {
    let port = free_port();
    let gw = Gateway::etcd(BIN, &e.endpoints())
        .gateway_yaml(&format!("  tls:\n    listen: [\"127.0.0.1:{port}\"]\n"))
        .start();
    let route = json!({"uri": "/*", "upstream": {"nodes": {node.addr(): 1}, "type": "roundrobin"}});
    let (status, body) = gw.admin("PUT", "/apisix/admin/routes/1", Some(&route.to_string()));
    assert!(status == 200 || status == 201, "{status} {body}");
    (gw, port)
}

fn subject(out: &str) -> Option<String> {
    out.lines()
        .find(|l| l.starts_with("subject="))
        .map(|l| l.replace(" = ", "="))
}

fn serves(port: u16, name: &str, cn: &str) -> bool {
    let out = s_client(port, &["-servername", name]);
    subject(&out).is_some_and(|s| s.contains(&format!("CN={cn}")))
}

#[test]
fn bad_certificates_and_keys_are_refused_at_write_naming_the_field() {
    let e = Etcd::start();
    let node = Node::start("n");
    let (gw, _) = start(&e, &node);
    let ca = Ca::new("test CA");
    let good = ca.server(&["api.test"], "good");
    let other = ca.server(&["api.test"], "other");
    let expired = ca.server_expired(&["api.test"]);
    let garbage = "-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n";
    let cases = [
        // (what, body, field, words in the reason)
        (
            "cert not PEM",
            json!({"snis": ["api.test"], "cert": garbage, "key": good.key}),
            "\"cert\"",
            "",
        ),
        (
            "key of another certificate",
            json!({"snis": ["api.test"], "cert": good.cert, "key": other.key}),
            "\"key\"",
            "does not match",
        ),
        (
            "expired",
            json!({"snis": ["api.test"], "cert": expired.cert, "key": expired.key}),
            "\"cert\"",
            "expired",
        ),
        (
            "a second cert without its key",
            json!({"snis": ["api.test"], "cert": good.cert, "key": good.key,
                   "certs": [other.cert], "keys": []}),
            "\"keys\"",
            "",
        ),
        (
            "second key not matching",
            json!({"snis": ["api.test"], "cert": good.cert, "key": good.key,
                   "certs": [other.cert], "keys": [good.key]}),
            "\"keys[0]\"",
            "does not match",
        ),
        (
            "client CA a key, not a certificate",
            json!({"snis": ["api.test"], "cert": good.cert, "key": good.key,
                   "client": {"ca": good.key}}),
            "\"client.ca\"",
            "",
        ),
    ];
    for (what, body, field, words) in cases {
        let (status, reply) = gw.admin("PUT", "/apisix/admin/ssls/1", Some(&body.to_string()));
        let msg = reply["error_msg"].as_str().unwrap_or_default().to_owned();
        assert_eq!(status, 400, "{what}: {reply}");
        assert!(msg.contains(field) && msg.contains(words), "{what}: {msg}");
    }
    let (status, _) = gw.admin("GET", "/apisix/admin/ssls/1", None);
    assert_eq!(status, 404, "a refused object was stored");
    let (status, reply) = gw.admin(
        "PUT",
        "/apisix/admin/ssls/1",
        Some(&ssl_json(&["api.test"], &good)),
    );
    assert!(status == 200 || status == 201, "{status} {reply}");
}

#[test]
fn a_bad_certificate_written_into_etcd_never_replaces_the_good_one() {
    let e = Etcd::start();
    let node = Node::start("n");
    let (gw, port) = start(&e, &node);
    let ca = Ca::new("test CA");
    let good = ca.server(&["api.test"], "good");
    let (status, reply) = gw.admin(
        "PUT",
        "/apisix/admin/ssls/1",
        Some(&ssl_json(&["api.test"], &good)),
    );
    assert!(status == 200 || status == 201, "{status} {reply}");
    assert!(
        eventually(10, || serves(port, "api.test", "good")),
        "{}",
        gw.log()
    );

    let rt = runtime();
    let mut c = client(&rt, &e.endpoints());
    let other = ca.server(&["api.test"], "other");
    let bad = json!({"id": "1", "snis": ["api.test"], "cert": other.cert, "key": good.key});
    rt.block_on(c.put("/apisix/ssls/1", bad.to_string(), None))
        .expect("put into etcd");
    // A later change that is applied shows the watch went past the bad one.
    let route = json!({"id": "2", "uri": "/after", "upstream": {"nodes": {node.addr(): 1}, "type": "roundrobin"}});
    rt.block_on(c.put("/apisix/routes/2", route.to_string(), None))
        .expect("put into etcd");
    assert!(
        eventually(10, || gw.fetch("/after").0 == 200),
        "{}",
        gw.log()
    );
    assert!(serves(port, "api.test", "good"), "{}", gw.log());
    assert!(gw.log().contains("does not match"), "{}", gw.log());
}

#[test]
fn a_certificate_swapped_through_the_admin_api_fails_no_handshake() {
    let e = Etcd::start();
    let node = Node::start("n");
    let (gw, port) = start(&e, &node);
    let ca = Ca::new("test CA");
    let dir = TempDir::new("tls-swap");
    let ca_path = write(&dir.path(""), "ca.pem", &ca.pem);
    let first = ca.server(&["api.test"], "first");
    let (status, _) = gw.admin(
        "PUT",
        "/apisix/admin/ssls/1",
        Some(&ssl_json(&["api.test"], &first)),
    );
    assert!(status == 200 || status == 201);
    assert!(
        eventually(10, || serves(port, "api.test", "first")),
        "{}",
        gw.log()
    );

    // A client that keeps making new connections (a handshake each).
    let stop = Arc::new(AtomicBool::new(false));
    let (ok, failed) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let client = {
        let (stop, ok, failed, ca_path) =
            (stop.clone(), ok.clone(), failed.clone(), ca_path.clone());
        thread::spawn(move || {
            let mut errors = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                let (code, status, body) = https(port, "api.test", "/get", &ca_path, &[]);
                if code == 0 && status == "200" {
                    ok.fetch_add(1, Ordering::Relaxed);
                } else {
                    failed.fetch_add(1, Ordering::Relaxed);
                    errors.push(body);
                }
            }
            errors
        })
    };
    assert!(eventually(10, || ok.load(Ordering::Relaxed) >= 10));
    let second = ca.server(&["api.test"], "second");
    let (status, _) = gw.admin(
        "PUT",
        "/apisix/admin/ssls/1",
        Some(&ssl_json(&["api.test"], &second)),
    );
    assert!(status == 200 || status == 201);
    assert!(
        eventually(10, || serves(port, "api.test", "second")),
        "{}",
        gw.log()
    );
    let after = ok.load(Ordering::Relaxed);
    assert!(eventually(10, || ok.load(Ordering::Relaxed) >= after + 10));
    stop.store(true, Ordering::Relaxed);
    let errors = client.join().expect("the client thread");
    assert_eq!(
        failed.load(Ordering::Relaxed),
        0,
        "failed handshakes: {errors:?}"
    );
}

/// A process killed when the test ends.
struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A node that asks for a client certificate from `ca` and shows it in
/// its answer (`openssl s_server -www`), serving `server`: its port, and
/// what stops it.
fn mtls_node(ca: &Ca, server: &Leaf) -> (u16, (Child, TempDir)) {
    let dir = TempDir::new("tls-node");
    let d = dir.path("");
    let (cert, key, ca_path) = (
        write(&d, "node.crt", &server.cert),
        write(&d, "node.key", &server.key),
        write(&d, "ca.pem", &ca.pem),
    );
    let port = free_port();
    let child = Child(
        std::process::Command::new("openssl")
            .args([
                "s_server",
                "-accept",
                &format!("127.0.0.1:{port}"),
                "-www",
                "-Verify",
                "1",
            ])
            .arg("-cert")
            .arg(&cert)
            .arg("-key")
            .arg(&key)
            .arg("-CAfile")
            .arg(&ca_path)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start openssl s_server"),
    );
    (port, (child, dir))
}

#[test]
fn an_upstream_presents_the_client_certificate_its_client_cert_id_names() {
    let e = Etcd::start();
    let node = Node::start("n");
    let (gw, _) = start(&e, &node);
    let ca = Ca::new("test CA");
    let server = ca.server(&["127.0.0.1"], "node");
    let (port, _node) = mtls_node(&ca, &server);
    let upstream = json!({"scheme": "https", "type": "roundrobin",
        "nodes": {format!("127.0.0.1:{port}"): 1}, "tls": {"client_cert_id": "c1"}})
    .to_string();
    // No such ssls object yet, then one of type server: refused.
    let (status, reply) = gw.admin("PUT", "/apisix/admin/upstreams/u1", Some(&upstream));
    let msg = reply["error_msg"].as_str().unwrap_or_default().to_owned();
    assert_eq!(status, 400, "{reply}");
    assert!(
        msg.contains("tls.client_cert_id") && msg.contains("404"),
        "{msg}"
    );
    let (status, _) = gw.admin(
        "PUT",
        "/apisix/admin/ssls/c1",
        Some(&ssl_json(&["x.test"], &server)),
    );
    assert!(status == 200 || status == 201);
    let (status, reply) = gw.admin("PUT", "/apisix/admin/upstreams/u1", Some(&upstream));
    assert_eq!(status, 400, "{reply}");
    assert!(reply.to_string().contains("wrong ssl type"), "{reply}");

    let client = ca.client("gateway-client", "Example", 5);
    let ssl = json!({"type": "client", "cert": client.cert, "key": client.key}).to_string();
    let (status, reply) = gw.admin("PUT", "/apisix/admin/ssls/c1", Some(&ssl));
    assert!(status == 200 || status == 201, "{reply}");
    let (status, reply) = gw.admin("PUT", "/apisix/admin/upstreams/u1", Some(&upstream));
    assert!(status == 200 || status == 201, "{reply}");
    let route = json!({"uri": "/through-mtls", "upstream_id": "u1"}).to_string();
    let (status, _) = gw.admin("PUT", "/apisix/admin/routes/2", Some(&route));
    assert!(status == 200 || status == 201);
    let seen = eventually(10, || {
        let (status, body) = gw.fetch("/through-mtls");
        status == 200 && body.contains("gateway-client")
    });
    assert!(seen, "{:?}\n{}", gw.fetch("/through-mtls"), gw.log());
}

#[test]
fn an_ssl_named_by_a_client_cert_id_cannot_be_deleted() {
    let e = Etcd::start();
    let node = Node::start("n");
    let (gw, _) = start(&e, &node);
    let client = Ca::new("test CA").client("gateway-client", "Example", 5);
    let ssl = json!({"type": "client", "cert": client.cert, "key": client.key}).to_string();
    let (status, reply) = gw.admin("PUT", "/apisix/admin/ssls/c1", Some(&ssl));
    assert!(status == 200 || status == 201, "{reply}");
    let upstream = json!({"scheme": "https", "type": "roundrobin",
        "nodes": {node.addr(): 1}, "tls": {"client_cert_id": "c1"}});
    // Each kind of user in turn: while it names c1, c1 stays.
    let users = [
        ("upstreams/u1", upstream.clone(), "upstream [u1]"),
        ("services/s1", json!({"upstream": upstream}), "service [s1]"),
        (
            "routes/r1",
            json!({"uri": "/r1", "upstream": upstream}),
            "route [r1]",
        ),
    ];
    for (path, body, who) in users {
        let path = format!("/apisix/admin/{path}");
        let (status, reply) = gw.admin("PUT", &path, Some(&body.to_string()));
        assert!(status == 200 || status == 201, "{path}: {reply}");
        let (status, reply) = gw.admin("DELETE", "/apisix/admin/ssls/c1", None);
        assert_eq!(status, 400, "{who} names c1: {reply}");
        assert_eq!(
            reply["error_msg"],
            format!("can not delete this ssl, {who} is still using it now"),
        );
        let (status, reply) = gw.admin("DELETE", &path, None);
        assert_eq!(status, 200, "{path}: {reply}");
    }
    let (status, reply) = gw.admin("DELETE", "/apisix/admin/ssls/c1", None);
    assert_eq!(status, 200, "nobody names c1 any more: {reply}");
}

#[test]
fn inline_upstreams_follow_a_changed_client_certificate() {
    let e = Etcd::start();
    let node = Node::start("n");
    let (gw, _) = start(&e, &node);
    let ca = Ca::new("test CA");
    let (port, _node) = mtls_node(&ca, &ca.server(&["127.0.0.1"], "node"));
    let put_cert = |cn: &str| {
        let client = ca.client(cn, "Example", 7);
        let ssl = json!({"type": "client", "cert": client.cert, "key": client.key}).to_string();
        let (status, reply) = gw.admin("PUT", "/apisix/admin/ssls/c1", Some(&ssl));
        assert!(status == 200 || status == 201, "{reply}");
    };
    put_cert("first-client");
    let upstream = json!({"scheme": "https", "type": "roundrobin",
        "nodes": {format!("127.0.0.1:{port}"): 1}, "tls": {"client_cert_id": "c1"}});
    let objects = [
        (
            "routes/inline",
            json!({"uri": "/inline", "upstream": upstream}),
        ),
        ("services/s1", json!({"upstream": upstream})),
        (
            "routes/by-service",
            json!({"uri": "/by-service", "service_id": "s1"}),
        ),
    ];
    for (path, body) in objects {
        let (status, reply) = gw.admin(
            "PUT",
            &format!("/apisix/admin/{path}"),
            Some(&body.to_string()),
        );
        assert!(status == 200 || status == 201, "{path}: {reply}");
    }
    // The client certificate's subject, as the node shows it.
    let subject = |path: &str| {
        let (status, body) = gw.fetch(path);
        let line = body.lines().find(|l| l.contains("Subject:")).map(str::trim);
        format!("{status} {}", line.unwrap_or("(no client certificate)"))
    };
    let presents = |path: &str, cn: &str| {
        eventually(10, || {
            let (status, body) = gw.fetch(path);
            status == 200 && body.contains(cn)
        })
    };
    for path in ["/inline", "/by-service"] {
        assert!(presents(path, "first-client"), "{path}: {}", subject(path));
    }
    // The ssls object changes: both inline upstreams present the new one.
    put_cert("second-client");
    for path in ["/inline", "/by-service"] {
        assert!(
            presents(path, "second-client"),
            "{path} kept the old certificate: {}\n{}",
            subject(path),
            gw.log()
        );
    }
}
