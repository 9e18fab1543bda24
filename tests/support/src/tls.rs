//! Certificates for the TLS tests (rcgen; RSA keys from openssl, as ring
//! cannot generate them) and the real clients that use them: curl and
//! `openssl s_client`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, SerialNumber,
};

/// A test CA: its PEM and what signs with it.
pub struct Ca {
    /// The CA certificate, PEM: what clients trust.
    pub pem: String,
    issuer: Issuer<'static, KeyPair>,
}

/// A certificate and its key, PEM.
#[derive(Clone)]
pub struct Leaf {
    /// The certificate, PEM.
    pub cert: String,
    /// Its private key, PEM (PKCS#8).
    pub key: String,
}

impl Ca {
    /// A self-signed root CA with subject `CN=<name>`.
    pub fn new(name: &str) -> Ca {
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
            pem: cert.pem(),
            issuer: Issuer::new(params, key),
        }
    }

    /// An intermediate CA signed by this one.
    pub fn intermediate(&self, name: &str) -> Ca {
        let mut params = CertificateParams::new(Vec::new()).expect("CA params");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let key = KeyPair::generate().expect("CA key");
        let cert = params.signed_by(&key, &self.issuer).expect("sign the CA");
        Ca {
            pem: cert.pem(),
            issuer: Issuer::new(params, key),
        }
    }

    fn sign(&self, params: CertificateParams, key: KeyPair) -> Leaf {
        let cert = params.signed_by(&key, &self.issuer).expect("sign a leaf");
        Leaf {
            cert: cert.pem(),
            key: key.serialize_pem(),
        }
    }

    fn params(names: &[&str], cn: &str, purpose: ExtendedKeyUsagePurpose) -> CertificateParams {
        let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        let mut params = CertificateParams::new(names).expect("leaf params");
        params.distinguished_name.push(DnType::CommonName, cn);
        params.extended_key_usages = vec![purpose];
        params
    }

    /// An ECDSA P-256 server certificate for `names`, subject `CN=<cn>`.
    pub fn server(&self, names: &[&str], cn: &str) -> Leaf {
        let params = Ca::params(names, cn, ExtendedKeyUsagePurpose::ServerAuth);
        self.sign(params, KeyPair::generate().expect("leaf key"))
    }

    /// An ECDSA P-256 certificate for `names` that serves as a server's
    /// and as a client's (a Redis Cluster node's: its bus is mutual TLS).
    pub fn peer(&self, names: &[&str], cn: &str) -> Leaf {
        let mut params = Ca::params(names, cn, ExtendedKeyUsagePurpose::ServerAuth);
        params
            .extended_key_usages
            .push(ExtendedKeyUsagePurpose::ClientAuth);
        self.sign(params, KeyPair::generate().expect("leaf key"))
    }

    /// An RSA 2048 server certificate for `names`, subject `CN=<cn>`.
    pub fn server_rsa(&self, names: &[&str], cn: &str) -> Leaf {
        let params = Ca::params(names, cn, ExtendedKeyUsagePurpose::ServerAuth);
        let out = Command::new("openssl")
            .args([
                "genpkey",
                "-algorithm",
                "RSA",
                "-pkeyopt",
                "rsa_keygen_bits:2048",
            ])
            .output()
            .expect("run openssl genpkey");
        let pem = String::from_utf8(out.stdout).expect("PEM text");
        let key = KeyPair::from_pem(&pem).expect("load the RSA key");
        self.sign(params, key)
    }

    /// A server certificate whose validity ended in 2021.
    pub fn server_expired(&self, names: &[&str]) -> Leaf {
        let mut params = Ca::params(names, "expired", ExtendedKeyUsagePurpose::ServerAuth);
        params.not_before = rcgen::date_time_ymd(2020, 1, 1);
        params.not_after = rcgen::date_time_ymd(2021, 1, 1);
        self.sign(params, KeyPair::generate().expect("leaf key"))
    }

    /// A server certificate for `names`, subject `CN=<cn>`, valid from a
    /// day ago until `secs` seconds from now; also that end (`notAfter`)
    /// in Unix seconds.
    pub fn server_valid_for(&self, names: &[&str], cn: &str, secs: u64) -> (Leaf, u64) {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("a clock after 1970")
            .as_secs();
        let epoch = rcgen::date_time_ymd(1970, 1, 1);
        let mut params = Ca::params(names, cn, ExtendedKeyUsagePurpose::ServerAuth);
        params.not_before = epoch + std::time::Duration::from_secs(now - 86_400);
        params.not_after = epoch + std::time::Duration::from_secs(now + secs);
        let leaf = self.sign(params, KeyPair::generate().expect("leaf key"));
        (leaf, now + secs)
    }

    /// A client certificate with subject `CN=<cn>,O=<org>` and `serial`.
    pub fn client(&self, cn: &str, org: &str, serial: u64) -> Leaf {
        let mut params = Ca::params(&[], cn, ExtendedKeyUsagePurpose::ClientAuth);
        params
            .distinguished_name
            .push(DnType::OrganizationName, org);
        params.serial_number = Some(SerialNumber::from(serial));
        self.sign(params, KeyPair::generate().expect("leaf key"))
    }
}

/// Writes `text` to `dir/name`; its path.
pub fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write a PEM file");
    path
}

/// Runs curl with `args` (silent, 5 s at most); the output.
pub fn curl(args: &[&str]) -> Output {
    Command::new("curl")
        .args(["-sS", "--max-time", "5"])
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run curl")
}

/// `https://<name>:<port><path>` through curl, `name` resolved to
/// loopback, trusting `ca`; (exit code, status, body).
pub fn https(
    port: u16,
    name: &str,
    path: &str,
    ca: &Path,
    extra: &[&str],
) -> (i32, String, String) {
    let resolve = format!("{name}:{port}:127.0.0.1");
    let url = format!("https://{name}:{port}{path}");
    let cacert = ca.to_str().expect("utf-8 path");
    let mut args = vec![
        "--resolve",
        &resolve,
        "--cacert",
        cacert,
        "-w",
        "\n%{http_code}",
    ];
    args.extend_from_slice(extra);
    args.push(&url);
    let out = curl(&args);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (body, status) = text.rsplit_once('\n').unwrap_or(("", &text));
    (
        out.status.code().unwrap_or(-1),
        status.to_owned(),
        format!("{body}{}", String::from_utf8_lossy(&out.stderr)),
    )
}

/// `openssl s_client` to `127.0.0.1:<port>` with `args` (say
/// `-servername x`), its stdin closed at once; stdout and stderr together.
pub fn s_client(port: u16, args: &[&str]) -> String {
    s_client_sending(port, args, "")
}

/// [`s_client`] that sends `input` and reads until the server closes
/// (`-ign_eof`): what the server sends after the handshake (TLS 1.3
/// session tickets, an HTTP answer) is read too.
pub fn s_client_sending(port: u16, args: &[&str], input: &str) -> String {
    use std::io::Write as _;
    let connect = format!("127.0.0.1:{port}");
    let mut child = Command::new("timeout")
        .args(["10", "openssl", "s_client", "-connect", &connect])
        .args(args)
        .args(if input.is_empty() {
            &[][..]
        } else {
            &["-ign_eof"][..]
        })
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run openssl s_client");
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(input.as_bytes());
    }
    let out = child.wait_with_output().expect("openssl s_client output");
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// The YAML of an `ssls` entry (standalone file) from its parts.
pub fn ssl_yaml(id: &str, snis: &[&str], leaf: &Leaf, extra: &str) -> String {
    let indent = |s: &str| {
        s.lines()
            .map(|l| format!("      {l}\n"))
            .collect::<String>()
    };
    let snis: Vec<String> = snis.iter().map(|s| format!("\"{s}\"")).collect();
    format!(
        "  - id: \"{id}\"\n    snis: [{}]\n    cert: |\n{}    key: |\n{}{extra}",
        snis.join(", "),
        indent(&leaf.cert),
        indent(&leaf.key)
    )
}
