//! End to end: the TLS listener with certificates from the standalone
//! file, driven by curl and `openssl s_client`. The certificate is chosen
//! by SNI (exact name, then a one-label wildcard, then `fallback_sni` for
//! a ClientHello without SNI); a name nobody serves gets an alert; RSA and
//! ECDSA certificates for one name are picked by what the client accepts;
//! `status: 0` is not served; the TLS facts reach route `vars` and the
//! node's `X-Forwarded-Proto`; plaintext on the TLS port is cut off; a
//! changed certificate serves the next handshake; one that expires while
//! stored is still served, with a warning and an expiry gauge; plugin
//! filters of the body_filter and log phases see the TLS variables.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use radixgate_test_support::tls::{https, s_client, s_client_sending, ssl_yaml, write, Ca, Leaf};
use radixgate_test_support::{eventually, free_port, request, Gateway, Node, TempDir};

const BIN: &str = env!("CARGO_BIN_EXE_radixgate");

/// A gateway on a standalone file with `ssls` and a TLS port.
struct Tls {
    gw: Gateway,
    port: u16,
    _dir: TempDir,
    ca: std::path::PathBuf,
}

/// Route 1 (`/*`) goes to `node`; routes 2 (`/only-https`, `scheme ==
/// https`) and 3 (`/sni`, `ssl_server_name == api.test`) to `vars_node`.
fn apisix_two(node: &Node, vars_node: &Node, ssls: &str) -> String {
    format!(
        "routes:\n  - id: \"1\"\n    uri: /*\n    upstream: {{nodes: {{\"{}\": 1}}, type: roundrobin}}\n  \
         - id: \"2\"\n    uri: /only-https\n    vars: [[\"scheme\", \"==\", \"https\"]]\n    upstream: {{nodes: {{\"{}\": 1}}, type: roundrobin}}\n  \
         - id: \"3\"\n    uri: /sni\n    vars: [[\"ssl_server_name\", \"==\", \"api.test\"]]\n    upstream: {{nodes: {{\"{}\": 1}}, type: roundrobin}}\n\
         ssls:\n{ssls}#END\n",
        node.addr(),
        vars_node.addr(),
        vars_node.addr()
    )
}

fn apisix(node: &Node, ssls: &str) -> String {
    apisix_two(node, node, ssls)
}

fn start(node: &Node, ssls: &str, tls_extra: &str, ca: &Ca) -> Tls {
    start_with(&apisix(node, ssls), tls_extra, ca)
}

fn start_with(apisix: &str, tls_extra: &str, ca: &Ca) -> Tls {
    let port = free_port();
    let yaml = format!("  tls:\n    listen: [\"127.0.0.1:{port}\"]\n{tls_extra}");
    let gw = Gateway::file(BIN, apisix).gateway_yaml(&yaml).start();
    let dir = TempDir::new("tls-client");
    let ca = write(dir.path("").as_path(), "ca.pem", &ca.pem);
    Tls {
        gw,
        port,
        _dir: dir,
        ca,
    }
}

/// The subject line `openssl s_client` printed for the server's certificate.
fn subject(out: &str) -> Option<String> {
    out.lines()
        .find(|l| l.starts_with("subject="))
        .map(|l| l.replace(" = ", "="))
}

#[test]
fn the_certificate_is_chosen_by_sni_exact_then_wildcard() {
    let node = Node::start("n");
    let ca = Ca::new("test CA");
    let exact = ca.server(&["api.test"], "exact");
    let wild = ca.server(&["*.wild.test"], "wildcard");
    let ssls =
        ssl_yaml("1", &["api.test"], &exact, "") + &ssl_yaml("2", &["*.wild.test"], &wild, "");
    let t = start(&node, &ssls, "", &ca);

    let (code, status, body) = https(t.port, "api.test", "/get", &t.ca, &[]);
    assert_eq!((code, status.as_str()), (0, "200"), "{body}");
    assert!(body.contains("upstream=n"), "{body}");
    assert!(body.contains("x-forwarded-proto: https"), "{body}");

    let (code, status, body) = https(t.port, "www.wild.test", "/get", &t.ca, &[]);
    assert_eq!((code, status.as_str()), (0, "200"), "{body}");
    let out = s_client(t.port, &["-servername", "www.wild.test"]);
    assert!(
        subject(&out).is_some_and(|s| s.contains("CN=wildcard")),
        "{out}"
    );
    let out = s_client(t.port, &["-servername", "api.test"]);
    assert!(
        subject(&out).is_some_and(|s| s.contains("CN=exact")),
        "{out}"
    );

    // A wildcard covers one label only; an unknown name gets an alert.
    for name in ["a.b.wild.test", "wild.test", "nobody.test"] {
        let out = s_client(t.port, &["-servername", name]);
        assert!(subject(&out).is_none(), "{name} got a certificate: {out}");
        assert!(out.contains("unrecognized name"), "{name}: {out}");
    }
    drop(t.gw);
}

#[test]
fn no_sni_gets_the_fallback_sni_certificate_or_an_alert() {
    let node = Node::start("n");
    let ca = Ca::new("test CA");
    let leaf = ca.server(&["default.test"], "fallback");
    let ssls = ssl_yaml("1", &["default.test"], &leaf, "");
    let t = start(&node, &ssls, "    fallback_sni: default.test\n", &ca);
    let out = s_client(t.port, &["-noservername"]);
    assert!(
        subject(&out).is_some_and(|s| s.contains("CN=fallback")),
        "{out}"
    );

    let plain = start(&node, &ssls, "", &ca);
    let out = s_client(plain.port, &["-noservername"]);
    assert!(subject(&out).is_none(), "{out}");
    assert!(out.contains("unrecognized name"), "{out}");
}

#[test]
fn rsa_and_ecdsa_for_one_name_are_picked_by_the_client_s_signature_schemes() {
    let node = Node::start("n");
    let ca = Ca::new("test CA");
    let ecdsa = ca.server(&["both.test"], "ecdsa");
    let rsa = ca.server_rsa(&["both.test"], "rsa");
    let indent = |s: &str| {
        s.lines()
            .map(|l| format!("        {l}\n"))
            .collect::<String>()
    };
    let extra = format!(
        "    certs:\n      - |\n{}    keys:\n      - |\n{}",
        indent(&rsa.cert),
        indent(&rsa.key)
    );
    let ssls = ssl_yaml("1", &["both.test"], &ecdsa, &extra);
    let t = start(&node, &ssls, "", &ca);
    let by = |sigalgs: &str| {
        let out = s_client(t.port, &["-servername", "both.test", "-sigalgs", sigalgs]);
        subject(&out).unwrap_or_else(|| panic!("{sigalgs}: no certificate: {out}"))
    };
    assert!(by("ECDSA+SHA256").contains("CN=ecdsa"));
    assert!(by("rsa_pss_rsae_sha256").contains("CN=rsa"));
}

#[test]
fn status_0_is_not_served() {
    let node = Node::start("n");
    let ca = Ca::new("test CA");
    let leaf = ca.server(&["off.test"], "off");
    let ssls = ssl_yaml("1", &["off.test"], &leaf, "    status: 0\n");
    let t = start(&node, &ssls, "", &ca);
    let out = s_client(t.port, &["-servername", "off.test"]);
    assert!(subject(&out).is_none(), "{out}");
}

#[test]
fn scheme_and_ssl_server_name_are_route_vars() {
    let node = Node::start("n");
    let vars_node = Node::start("by-vars");
    let ca = Ca::new("test CA");
    let leaf = ca.server(&["api.test", "other.test"], "two names");
    let ssls = ssl_yaml("1", &["api.test", "other.test"], &leaf, "");
    let t = start_with(&apisix_two(&node, &vars_node, &ssls), "", &ca);
    let (_, status, body) = https(t.port, "api.test", "/only-https", &t.ca, &[]);
    assert_eq!(status, "200", "{body}");
    assert!(body.contains("upstream=by-vars"), "{body}");
    let plain = t.gw.get("/only-https", &[]);
    assert_eq!(
        plain.echoed("upstream").as_deref(),
        Some("n"),
        "{}",
        plain.body
    );
    assert_eq!(plain.echoed("x-forwarded-proto").as_deref(), Some("http"));

    let (_, _, body) = https(t.port, "api.test", "/sni", &t.ca, &[]);
    assert!(body.contains("upstream=by-vars"), "{body}");
    let (_, _, body) = https(t.port, "other.test", "/sni", &t.ca, &[]);
    assert!(body.contains("upstream=n"), "{body}");
}

#[test]
fn plaintext_on_the_tls_port_is_closed_not_left_hanging() {
    let node = Node::start("n");
    let ca = Ca::new("test CA");
    let leaf = ca.server(&["api.test"], "exact");
    let t = start(&node, &ssl_yaml("1", &["api.test"], &leaf, ""), "", &ca);
    // Plain HTTP, and a client that connects and sends nothing: both end
    // without an HTTP answer (the header timeout is 2 s here).
    for send in [&b"GET / HTTP/1.1\r\nHost: api.test\r\n\r\n"[..], b""] {
        let mut s = TcpStream::connect(("127.0.0.1", t.port)).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        s.write_all(send).expect("send");
        let started = Instant::now();
        let mut got = Vec::new();
        let end = s.read_to_end(&mut got);
        assert!(
            end.is_ok(),
            "not closed: {end:?} after {:?}",
            started.elapsed()
        );
        assert!(
            !got.starts_with(b"HTTP/1.1 200"),
            "{:?}",
            String::from_utf8_lossy(&got)
        );
    }
}

#[test]
fn a_changed_certificate_serves_the_next_handshake() {
    let node = Node::start("n");
    let ca = Ca::new("test CA");
    let first = ca.server(&["api.test"], "first");
    let t = start(&node, &ssl_yaml("1", &["api.test"], &first, ""), "", &ca);
    let out = s_client(t.port, &["-servername", "api.test"]);
    assert!(
        subject(&out).is_some_and(|s| s.contains("CN=first")),
        "{out}"
    );
    let second: Leaf = ca.server(&["api.test"], "second");
    t.gw.write_apisix(&apisix(&node, &ssl_yaml("1", &["api.test"], &second, "")));
    let served = eventually(10, || {
        let out = s_client(t.port, &["-servername", "api.test"]);
        subject(&out).is_some_and(|s| s.contains("CN=second"))
    });
    assert!(served, "{}", t.gw.log());
}

#[test]
fn protocols_and_an_object_s_ssl_protocols_bound_the_versions() {
    let node = Node::start("n");
    let ca = Ca::new("test CA");
    let (a, b) = (ca.server(&["a.test"], "a"), ca.server(&["b.test"], "b"));
    let ssls = ssl_yaml("1", &["a.test"], &a, "")
        + &ssl_yaml("2", &["b.test"], &b, "    ssl_protocols: [TLSv1.2]\n");
    let t = start(&node, &ssls, "    protocols: [TLSv1.3]\n", &ca);
    let version = |name: &str, flag: &str| {
        let out = s_client(t.port, &["-servername", name, flag]);
        subject(&out).map(|_| flag.to_owned())
    };
    // The listener offers TLS 1.3 only; object 2 names TLS 1.2 for itself.
    assert_eq!(version("a.test", "-tls1_3").as_deref(), Some("-tls1_3"));
    assert_eq!(version("a.test", "-tls1_2"), None);
    assert_eq!(version("b.test", "-tls1_2").as_deref(), Some("-tls1_2"));
    assert_eq!(version("b.test", "-tls1_3"), None);
}

#[test]
fn sessions_resume_by_ticket_and_by_id() {
    let node = Node::start("n");
    let ca = Ca::new("test CA");
    let leaf = ca.server(&["api.test"], "exact");
    let t = start(&node, &ssl_yaml("1", &["api.test"], &leaf, ""), "", &ca);
    let sess = t._dir.path("session.pem");
    let sess = sess.to_str().expect("utf-8 path");
    let request = "GET /get HTTP/1.0\r\nHost: api.test\r\n\r\n";
    // TLS 1.3 resumes by ticket; TLS 1.2 without tickets by session id.
    for flags in [&["-tls1_3"][..], &["-tls1_2", "-no_ticket"][..]] {
        let mut first = vec!["-servername", "api.test", "-sess_out", sess];
        first.extend_from_slice(flags);
        // An HTTP/1.0 request: the answer comes after the session ticket.
        let out = s_client_sending(t.port, &first, request);
        assert!(out.contains("New,"), "{flags:?}: {out}");
        let mut again = vec!["-servername", "api.test", "-sess_in", sess];
        again.extend_from_slice(flags);
        let out = s_client_sending(t.port, &again, request);
        assert!(out.contains("Reused,"), "{flags:?} not resumed: {out}");
    }
}

#[test]
fn the_listener_s_own_certificate_serves_names_no_object_has() {
    let node = Node::start("n");
    let ca = Ca::new("test CA");
    let own = ca.server(&["localhost"], "listener");
    let leaf = ca.server(&["api.test"], "exact");
    let files = TempDir::new("tls-own");
    let cert = write(&files.path(""), "own.crt", &own.cert);
    let key = write(&files.path(""), "own.key", &own.key);
    let extra = format!("    cert: {}\n    key: {}\n", cert.display(), key.display());
    let t = start(&node, &ssl_yaml("1", &["api.test"], &leaf, ""), &extra, &ca);
    let out = s_client(t.port, &["-servername", "api.test"]);
    assert!(
        subject(&out).is_some_and(|s| s.contains("CN=exact")),
        "{out}"
    );
    for args in [&["-servername", "other.test"][..], &["-noservername"][..]] {
        let out = s_client(t.port, args);
        assert!(
            subject(&out).is_some_and(|s| s.contains("CN=listener")),
            "{args:?}: {out}"
        );
    }
    let (code, status, body) = https(t.port, "localhost", "/get", &t.ca, &[]);
    assert_eq!((code, status.as_str()), (0, "200"), "{body}");
}

#[test]
fn an_open_connection_keeps_its_certificate_across_a_change() {
    use std::process::{Command, Stdio};
    let node = Node::start("n");
    let ca = Ca::new("test CA");
    let first = ca.server(&["api.test"], "first");
    let t = start(&node, &ssl_yaml("1", &["api.test"], &first, ""), "", &ca);
    // One kept-alive connection, its first request before the change.
    let connect = format!("127.0.0.1:{}", t.port);
    let mut open = Command::new("timeout")
        .args(["20", "openssl", "s_client", "-connect", &connect])
        .args(["-servername", "api.test", "-ign_eof", "-quiet"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run openssl s_client");
    let mut stdin = open.stdin.take().expect("s_client's stdin");
    stdin
        .write_all(b"GET /one HTTP/1.1\r\nHost: api.test\r\n\r\n")
        .expect("first request");
    std::thread::sleep(Duration::from_millis(500));
    let second = ca.server(&["api.test"], "second");
    t.gw.write_apisix(&apisix(&node, &ssl_yaml("1", &["api.test"], &second, "")));
    let served = eventually(10, || {
        let out = s_client(t.port, &["-servername", "api.test"]);
        subject(&out).is_some_and(|s| s.contains("CN=second"))
    });
    assert!(served, "{}", t.gw.log());
    // The open connection still serves, on the certificate it agreed on.
    stdin
        .write_all(b"GET /two HTTP/1.1\r\nHost: api.test\r\nConnection: close\r\n\r\n")
        .expect("second request");
    drop(stdin);
    let out = open.wait_with_output().expect("s_client's output");
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(text.matches("HTTP/1.1 200").count(), 2, "{text}");
    assert!(text.contains("path=/two"), "{text}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("CN = first") || err.contains("CN=first"),
        "{err}"
    );
}

#[test]
fn a_certificate_that_expires_while_stored_is_served_with_one_warning_and_a_gauge() {
    let node = Node::start("n");
    let ca = Ca::new("test CA");
    let (soon, soon_end) = ca.server_valid_for(&["soon.test"], "soon", 3);
    let (later, later_end) = ca.server_valid_for(&["later.test", "*.later.test"], "later", 86_400);
    let ssls = ssl_yaml("soon", &["soon.test"], &soon, "")
        + &ssl_yaml("later", &["later.test", "*.later.test"], &later, "");
    let port = free_port();
    let gw = Gateway::file(BIN, &apisix(&node, &ssls))
        .gateway_yaml(&format!("  tls:\n    listen: [\"127.0.0.1:{port}\"]\n"))
        .plugins(&["prometheus"])
        .start();
    let mut metrics = String::new();
    let scraped = eventually(10, || {
        let r = request(gw.metrics_port(), "GET", "/apisix/prometheus/metrics", &[]);
        metrics = r.map(|r| r.body).unwrap_or_default();
        metrics.contains("radixgate_ssl_cert_expiry_seconds")
    });
    assert!(scraped, "no expiry gauge:\n{metrics}");
    for series in [
        format!("radixgate_ssl_cert_expiry_seconds{{id=\"soon\",sni=\"soon.test\"}} {soon_end}"),
        format!("radixgate_ssl_cert_expiry_seconds{{id=\"later\",sni=\"later.test\"}} {later_end}"),
        format!(
            "radixgate_ssl_cert_expiry_seconds{{id=\"later\",sni=\"*.later.test\"}} {later_end}"
        ),
    ] {
        assert!(
            metrics.lines().any(|l| l == series),
            "no line {series}:\n{metrics}"
        );
    }
    // Past its end, the stored certificate still serves (as nginx's does),
    // and the log says so once however many handshakes get it.
    let now = || {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs())
    };
    assert!(eventually(10, || now() > soon_end + 1));
    for _ in 0..3 {
        let out = s_client(port, &["-servername", "soon.test"]);
        assert!(
            subject(&out).is_some_and(|s| s.contains("CN=soon")),
            "the expired certificate was not served: {out}"
        );
    }
    let warned = |log: &str| log.matches("serving an expired certificate").count();
    assert!(eventually(5, || warned(&gw.log()) >= 1), "{}", gw.log());
    let log = gw.log();
    assert_eq!(warned(&log), 1, "one warning per object:\n{log}");
    assert!(
        log.lines()
            .any(|l| l.contains("serving an expired certificate") && l.contains("soon")),
        "{log}"
    );
    // The other object never warned.
    let _ = s_client(port, &["-servername", "later.test"]);
    assert_eq!(warned(&gw.log()), 1);
}

#[test]
fn late_phase_filters_see_the_tls_variables() {
    let node = Node::start("n");
    let ca = Ca::new("test CA");
    let leaf = ca.server(&["api.test"], "api");
    let logs = TempDir::new("tls-late");
    let log = logs.path("late.log");
    // response-rewrite's body is replaced in body_filter; file-logger
    // writes in log. Both only over TLS for api.test.
    let filter = r#"[["scheme", "==", "https"], ["https", "==", "on"], ["ssl_server_name", "==", "api.test"], ["ssl_client_verify", "==", "NONE"]]"#;
    let apisix = format!(
        "routes:\n  - id: late\n    uri: /late\n    upstream: {{nodes: {{\"{}\": 1}}, type: roundrobin}}\n    \
         plugins:\n      response-rewrite: {{body: \"rewritten\\n\", _meta: {{filter: {filter}}}}}\n      \
         file-logger: {{path: \"{}\", _meta: {{filter: {filter}}}}}\nssls:\n{}#END\n",
        node.addr(),
        log.display(),
        ssl_yaml("1", &["api.test"], &leaf, "")
    );
    let port = free_port();
    let gw = Gateway::file(BIN, &apisix)
        .gateway_yaml(&format!("  tls:\n    listen: [\"127.0.0.1:{port}\"]\n"))
        .plugins(&["response-rewrite", "file-logger"])
        .start();
    let dir = TempDir::new("tls-client");
    let ca_path = write(dir.path("").as_path(), "ca.pem", &ca.pem);
    let (_, status, body) = https(port, "api.test", "/late", &ca_path, &[]);
    assert_eq!(status, "200", "{body}\n{}", gw.log());
    assert_eq!(
        body, "rewritten\n",
        "body_filter's filter did not hold over TLS"
    );
    let logged = || {
        std::fs::read_to_string(&log)
            .map(|t| t.lines().count())
            .unwrap_or(0)
    };
    assert!(
        eventually(10, || logged() == 1),
        "the log phase's filter did not hold over TLS:\n{}",
        gw.log()
    );
    // Over plain HTTP neither filter holds.
    let plain = gw.get("/late", &[]);
    assert_eq!(plain.status, 200);
    assert_ne!(plain.body, "rewritten\n");
    assert_eq!(logged(), 1, "the log filter held over plain HTTP");
}
