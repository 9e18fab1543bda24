//! End to end: client certificates (mTLS) on the TLS listener, with curl.
//! An `ssls` object with `client.ca` refuses the handshake of a client
//! without a certificate from that CA; `client.depth` bounds the chain;
//! with `client.skip_mtls_uri_regex` the handshake lets every client
//! through and a request to another path without a valid certificate gets
//! 400, as APISIX answers; the certificate's facts are route `vars` and
//! plugins' variables (proxy-rewrite passes them on as headers).

use std::path::PathBuf;
use std::process::Command;

use radixgate_test_support::tls::{https, ssl_yaml, write, Ca, Leaf};
use radixgate_test_support::{free_port, Gateway, Node, TempDir};

const BIN: &str = env!("CARGO_BIN_EXE_radixgate");

struct Mtls {
    _gw: Gateway,
    port: u16,
    dir: TempDir,
    ca: PathBuf,
}

impl Mtls {
    /// curl's `--cert`/`--key` arguments for `leaf` (chain `extra` appended).
    fn files(&self, name: &str, leaf: &Leaf, extra: &str) -> (String, String) {
        let dir = self.dir.path("");
        let cert = write(
            &dir,
            &format!("{name}.pem"),
            &format!("{}{extra}", leaf.cert),
        );
        let key = write(&dir, &format!("{name}.key"), &leaf.key);
        (cert.display().to_string(), key.display().to_string())
    }

    fn get(&self, path: &str, client: Option<&(String, String)>) -> (i32, String, String) {
        let args: Vec<&str> = match client {
            Some((cert, key)) => vec!["--cert", cert, "--key", key],
            None => Vec::new(),
        };
        https(self.port, "api.test", path, &self.ca, &args)
    }
}

/// Routes: `/who` with `vars` on the client certificate to `alice`
/// (`ssl_client_verify`, `ssl_client_s_dn`, `ssl_client_serial`), every
/// other path to `n`. The `ssls` object has `client` `client_yaml`.
fn start(
    ca: &Ca,
    client_ca: &Ca,
    client_yaml: &str,
    (dn, serial): (&str, &str),
) -> (Mtls, Node, Node) {
    let (node, alice) = (Node::start("n"), Node::start("alice"));
    let leaf = ca.server(&["api.test"], "server");
    let indent = |s: &str| {
        s.lines()
            .map(|l| format!("        {l}\n"))
            .collect::<String>()
    };
    let extra = format!(
        "    client:\n      ca: |\n{}{client_yaml}",
        indent(&client_ca.pem)
    );
    let apisix = format!(
        "routes:\n  - id: \"1\"\n    uri: /*\n    upstream: {{nodes: {{\"{}\": 1}}, type: roundrobin}}\n    \
         plugins: {{proxy-rewrite: {{headers: {{set: {{X-Client-DN: $ssl_client_s_dn, \
         X-Client-Verify: $ssl_client_verify, X-Client-Serial: $ssl_client_serial, X-Scheme: $scheme}}}}}}}}\n  \
         - id: \"2\"\n    uri: /who\n    vars: [[\"ssl_client_verify\", \"==\", \"SUCCESS\"], \
         [\"ssl_client_s_dn\", \"==\", \"{dn}\"], [\"ssl_client_serial\", \"==\", \"{serial}\"]]\n    \
         upstream: {{nodes: {{\"{}\": 1}}, type: roundrobin}}\nssls:\n{}#END\n",
        node.addr(),
        alice.addr(),
        ssl_yaml("1", &["api.test"], &leaf, &extra)
    );
    let port = free_port();
    let gw = Gateway::file(BIN, &apisix)
        .plugins(&["proxy-rewrite"])
        .gateway_yaml(&format!("  tls:\n    listen: [\"127.0.0.1:{port}\"]\n"))
        .start();
    let dir = TempDir::new("mtls");
    let ca_path = write(&dir.path(""), "ca.pem", &ca.pem);
    let m = Mtls {
        _gw: gw,
        port,
        dir,
        ca: ca_path,
    };
    (m, node, alice)
}

/// The subject (RFC 2253) and serial as OpenSSL, and so nginx, print them.
fn subject_and_serial(cert: &str, dir: &TempDir) -> (String, String) {
    let path = write(&dir.path(""), "facts.pem", cert);
    let out = Command::new("openssl")
        .args([
            "x509", "-noout", "-nameopt", "RFC2253", "-subject", "-serial", "-in",
        ])
        .arg(&path)
        .output()
        .expect("run openssl x509");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let line = |key: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(key))
            .unwrap_or_default()
            .to_owned()
    };
    (line("subject="), line("serial="))
}

#[test]
fn without_a_certificate_from_the_ca_the_handshake_fails() {
    let ca = Ca::new("server CA");
    let clients = Ca::new("client CA");
    let stranger = Ca::new("another CA");
    let (m, _n, _a) = start(&ca, &clients, "", ("", ""));
    let (code, _, out) = m.get("/get", None);
    assert_ne!(code, 0, "no client certificate got through: {out}");
    let theirs = m.files("stranger", &stranger.client("eve", "Example", 7), "");
    let (code, _, out) = m.get("/get", Some(&theirs));
    assert_ne!(code, 0, "a certificate from another CA got through: {out}");
    let ours = m.files("alice", &clients.client("alice", "Example", 7), "");
    let (code, status, out) = m.get("/get", Some(&ours));
    assert_eq!((code, status.as_str()), (0, "200"), "{out}");
}

#[test]
fn the_client_certificate_s_facts_are_route_vars() {
    let ca = Ca::new("server CA");
    let clients = Ca::new("client CA");
    let alice = clients.client("alice", "Example", 0x1234_abcd);
    let dir = TempDir::new("serial");
    let (dn, serial) = subject_and_serial(&alice.cert, &dir);
    assert_eq!(dn, "O=Example,CN=alice", "rcgen wrote CN first");
    let (m, _n, _a) = start(&ca, &clients, "", (&dn, &serial));
    let files = m.files("alice", &alice, "");
    let (_, status, body) = m.get("/who", Some(&files));
    assert_eq!(status, "200", "{body}");
    assert!(body.contains("upstream=alice"), "{dn} {serial}: {body}");
    // Plugins read them too: proxy-rewrite sets headers from them.
    let (_, _, body) = m.get("/plugins", Some(&files));
    assert!(body.contains(&format!("x-client-dn: {dn}")), "{body}");
    assert!(
        body.contains(&format!("x-client-serial: {serial}")),
        "{body}"
    );
    assert!(body.contains("x-client-verify: SUCCESS"), "{body}");
    assert!(body.contains("x-scheme: https"), "{body}");
    // Another subject fails the `vars`: the request falls to route 1.
    let bob = m.files("bob", &clients.client("bob", "Example", 0x1234_abcd), "");
    let (_, _, body) = m.get("/who", Some(&bob));
    assert!(body.contains("upstream=n"), "{body}");
}

#[test]
fn skip_mtls_uri_regex_lets_its_paths_through_and_answers_400_elsewhere() {
    let ca = Ca::new("server CA");
    let clients = Ca::new("client CA");
    let stranger = Ca::new("another CA");
    let skip = "      skip_mtls_uri_regex: [\"^/public/.*\"]\n";
    let (m, _n, _a) = start(&ca, &clients, skip, ("", ""));
    let (code, status, body) = m.get("/public/x", None);
    assert_eq!((code, status.as_str()), (0, "200"), "{body}");
    let (code, status, body) = m.get("/private", None);
    assert_eq!((code, status.as_str()), (0, "400"), "{body}");
    // The regex meets the normalised path: no climbing out of /public.
    let (_, status, body) = https(
        m.port,
        "api.test",
        "/public/../private",
        &m.ca,
        &["--path-as-is"],
    );
    assert_eq!(status, "400", "{body}");
    // An invalid certificate is no better than none; a valid one passes.
    let theirs = m.files("stranger", &stranger.client("eve", "Example", 7), "");
    let (_, status, body) = m.get("/private", Some(&theirs));
    assert_eq!(status, "400", "{body}");
    let ours = m.files("alice", &clients.client("alice", "Example", 7), "");
    let (_, status, body) = m.get("/private", Some(&ours));
    assert_eq!(status, "200", "{body}");
}

#[test]
fn client_depth_bounds_the_chain() {
    let ca = Ca::new("server CA");
    let root = Ca::new("client root");
    let mid = root.intermediate("client intermediate");
    let leaf = mid.client("alice", "Example", 9);
    for (depth, passes) in [(1, false), (2, true)] {
        let (m, _n, _a) = start(&ca, &root, &format!("      depth: {depth}\n"), ("", ""));
        let files = m.files("chain", &leaf, &mid.pem);
        let (code, status, out) = m.get("/get", Some(&files));
        assert_eq!(
            code == 0 && status == "200",
            passes,
            "depth {depth}: {code} {status} {out}"
        );
    }
}
