//! End to end: TLS towards `scheme: https` nodes, from the node's side.
//! `tls.verify: true` refuses a node whose certificate comes from a CA the
//! gateway does not trust (502), where `verify: false` reaches it; a node
//! that requires a client certificate sees the one `tls.client_cert` and
//! `tls.client_key` name, and refuses the handshake of an upstream
//! without one (502).
//!
//! `gateway.ssl_trusted_certificate` adds a CA of one's own to Mozilla's
//! roots: a node it signed is then reached with `tls.verify: true`, while
//! another CA's node is still refused.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use radixgate_test_support::{eventually, Gateway};
use rcgen::{
    BasicConstraints, Certificate, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose,
};
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig};

const BIN: &str = env!("CARGO_BIN_EXE_radixgate");

/// A test CA: its certificate and what signs with it.
struct Ca {
    cert: Certificate,
    issuer: Issuer<'static, KeyPair>,
}

impl Ca {
    fn new(name: &str) -> Ca {
        let mut params = CertificateParams::new(Vec::new()).expect("CA params");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let key = KeyPair::generate().expect("CA key");
        let cert = params.self_signed(&key).expect("self-sign the CA");
        Ca {
            cert,
            issuer: Issuer::new(params, key),
        }
    }

    /// A certificate for `names` signed by this CA, for a server or a client.
    fn issue(&self, names: &[&str], purpose: ExtendedKeyUsagePurpose) -> (Certificate, KeyPair) {
        let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        let mut params = CertificateParams::new(names).expect("leaf params");
        params
            .distinguished_name
            .push(DnType::CommonName, "radixgate test");
        params.extended_key_usages = vec![purpose];
        let key = KeyPair::generate().expect("leaf key");
        let cert = params.signed_by(&key, &self.issuer).expect("sign the leaf");
        (cert, key)
    }
}

fn key_der(key: &KeyPair) -> PrivateKeyDer<'static> {
    PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()))
}

/// A TLS server config with a certificate for 127.0.0.1 from `ca`; when
/// `clients` is given, a client certificate from that CA is required.
fn server_config(ca: &Ca, clients: Option<&Ca>) -> Arc<ServerConfig> {
    let (cert, key) = ca.issue(
        &["localhost", "127.0.0.1"],
        ExtendedKeyUsagePurpose::ServerAuth,
    );
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .expect("protocol versions");
    let builder = match clients {
        None => builder.with_no_client_auth(),
        Some(client_ca) => {
            let mut roots = RootCertStore::empty();
            roots
                .add(client_ca.cert.der().clone())
                .expect("trust the client CA");
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                .build()
                .expect("client verifier");
            builder.with_client_cert_verifier(verifier)
        }
    };
    let chain = vec![cert.der().clone(), ca.cert.der().clone()];
    Arc::new(
        builder
            .with_single_cert(chain, key_der(&key))
            .expect("server config"),
    )
}

/// What a TLS node saw: the first certificate of each client whose
/// handshake completed (empty when it sent none), and failed handshakes.
#[derive(Default)]
struct Seen {
    client_certs: Mutex<Vec<Vec<u8>>>,
    failed: AtomicUsize,
}

/// A TLS node answering one request per connection with 200 `tls node`.
fn tls_node(config: Arc<ServerConfig>) -> (u16, Arc<Seen>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind the TLS node");
    let port = listener
        .local_addr()
        .expect("the TLS node's address")
        .port();
    let seen = Arc::new(Seen::default());
    let s = seen.clone();
    thread::spawn(move || {
        for tcp in listener.incoming().flatten() {
            let (config, seen) = (config.clone(), s.clone());
            thread::spawn(move || {
                let _ = tcp.set_read_timeout(Some(Duration::from_secs(10)));
                let Ok(conn) = rustls::ServerConnection::new(config) else {
                    return;
                };
                let mut tls = rustls::StreamOwned::new(conn, tcp);
                while tls.conn.is_handshaking() {
                    if tls.conn.complete_io(&mut tls.sock).is_err() {
                        seen.failed.fetch_add(1, Ordering::SeqCst);
                        return;
                    }
                }
                let cert = tls
                    .conn
                    .peer_certificates()
                    .and_then(|c| c.first())
                    .map(|c| c.to_vec());
                seen.client_certs
                    .lock()
                    .expect("the node's record")
                    .push(cert.unwrap_or_default());
                let mut head = Vec::new();
                let mut buf = [0u8; 4096];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match tls.read(&mut buf) {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                let resp =
                    "HTTP/1.1 200 OK\r\ncontent-length: 8\r\nconnection: close\r\n\r\ntls node";
                let _ = tls.write_all(resp.as_bytes());
                tls.conn.send_close_notify();
                let _ = tls.flush();
            });
        }
    });
    (port, seen)
}

/// A route `/<id>` to the https node on `port` with `tls` (a YAML flow
/// map), without retries.
fn route(id: &str, port: u16, tls: &str) -> String {
    format!(
        "  - id: {id}\n    uri: /{id}\n    upstream: {{scheme: https, retries: 0, nodes: {{\"127.0.0.1:{port}\": 1}}, tls: {tls}}}\n"
    )
}

#[test]
fn verify_refuses_a_node_signed_by_a_ca_the_gateway_does_not_trust() {
    let ca = Ca::new("untrusted test CA");
    let (port, seen) = tls_node(server_config(&ca, None));
    let gw = Gateway::start_file(
        BIN,
        &format!(
            "routes:\n{}{}#END\n",
            route("verified", port, "{verify: true}"),
            route("unverified", port, "{verify: false}")
        ),
    );
    let (status, body) = gw.fetch("/unverified");
    assert_eq!((status, body.as_str()), (200, "tls node"), "{}", gw.log());
    let (status, body) = gw.fetch("/verified");
    assert_eq!(status, 502, "{body}\n{}", gw.log());
    assert!(
        gw.log().contains("invalid peer certificate"),
        "the refusal should name the certificate:\n{}",
        gw.log()
    );
    // The verified try never got as far as a request.
    assert_eq!(
        seen.client_certs.lock().expect("the node's record").len(),
        1
    );
}

#[test]
fn a_node_requiring_a_client_certificate_sees_the_configured_one() {
    let (server_ca, client_ca) = (Ca::new("server CA"), Ca::new("client CA"));
    let (port, seen) = tls_node(server_config(&server_ca, Some(&client_ca)));
    let (cert, key) = client_ca.issue(&["gateway.test"], ExtendedKeyUsagePurpose::ClientAuth);
    let pem = |s: String| serde_json::to_string(&s).expect("a PEM as a YAML string");
    let with_cert = format!(
        "{{client_cert: {}, client_key: {}}}",
        pem(cert.pem()),
        pem(key.serialize_pem())
    );
    let gw = Gateway::start_file(
        BIN,
        &format!(
            "routes:\n{}{}#END\n",
            route("with", port, &with_cert),
            route("without", port, "{verify: false}")
        ),
    );
    let (status, body) = gw.fetch("/with");
    assert_eq!((status, body.as_str()), (200, "tls node"), "{}", gw.log());
    let certs = seen.client_certs.lock().expect("the node's record").clone();
    assert_eq!(
        certs,
        vec![cert.der().to_vec()],
        "the node saw another certificate"
    );

    let (status, body) = gw.fetch("/without");
    assert_eq!(status, 502, "{body}\n{}", gw.log());
    assert!(
        eventually(5, || seen.failed.load(Ordering::SeqCst) == 1),
        "the node should have refused one handshake"
    );
    assert_eq!(
        seen.client_certs.lock().expect("the node's record").len(),
        1
    );
}

#[test]
fn verify_reaches_a_node_signed_by_a_ca_in_ssl_trusted_certificate() {
    let (own, other) = (Ca::new("own test CA"), Ca::new("other test CA"));
    let (port, _) = tls_node(server_config(&own, None));
    let (other_port, _) = tls_node(server_config(&other, None));
    let apisix = format!(
        "routes:\n{}{}#END\n",
        route("own", port, "{verify: true}"),
        route("other", other_port, "{verify: true}")
    );
    // Without the trust file, the own CA is as unknown as any.
    let gw = Gateway::start_file(BIN, &apisix);
    let (status, body) = gw.fetch("/own");
    assert_eq!(status, 502, "{body}\n{}", gw.log());
    drop(gw);

    let mut gw = Gateway::file(BIN, &apisix)
        .gateway_yaml("  ssl_trusted_certificate: trusted.pem\n")
        .prepare();
    std::fs::write(gw.dir.path("trusted.pem"), own.cert.pem()).expect("write trusted.pem");
    gw.start_process();
    let (status, body) = gw.fetch("/own");
    assert_eq!((status, body.as_str()), (200, "tls node"), "{}", gw.log());
    let (status, body) = gw.fetch("/other");
    assert_eq!(status, 502, "another CA's node was reached: {body}");

    // A trust file that is not there stops the check and the start,
    // naming the setting.
    std::fs::remove_file(gw.dir.path("trusted.pem")).expect("remove trusted.pem");
    let out = gw.test_config();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!out.status.success(), "{text}");
    assert!(
        text.contains("gateway.ssl_trusted_certificate") && text.contains("trusted.pem"),
        "{text}"
    );
}
