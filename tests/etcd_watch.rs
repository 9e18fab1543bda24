//! The etcd source against real etcd processes: changes reach the gateway
//! through one watch; etcd going away never fails a request and
//! writes made meanwhile or after are applied; compaction past the watch is
//! followed by a resync with nothing lost; the snapshot file lets the
//! gateway start while etcd is down; a three-member cluster with one member
//! stopped; two gateways on one etcd converge; a bad value never stops the watch;
//! TLS to etcd, with a client certificate when etcd asks for one.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use etcd_client::CompactionOptions;
use radixgate_test_support::etcd::{client, runtime, Etcd, ServerTls};
use radixgate_test_support::{eventually, Gateway, Node, TempDir};
use serde_json::json;

const BIN: &str = env!("CARGO_BIN_EXE_radixgate");

fn up_json(id: &str, name: &str) -> String {
    let node = Node::start_named(name).addr();
    json!({"id": id, "nodes": {node.as_str(): 1}}).to_string()
}

fn route_json(id: &str, uri: &str, up: &str) -> String {
    json!({"id": id, "uri": uri, "upstream_id": up}).to_string()
}

/// Puts an upstream `u` (answering `name`) and route `id` at `uri` directly into etcd.
fn seed(
    rt: &tokio::runtime::Runtime,
    c: &mut etcd_client::Client,
    id: &str,
    uri: &str,
    name: &str,
) {
    let u = format!("u{id}");
    rt.block_on(c.put(format!("/apisix/upstreams/{u}"), up_json(&u, name), None))
        .expect("put upstream");
    rt.block_on(c.put(
        format!("/apisix/routes/{id}"),
        route_json(id, uri, &u),
        None,
    ))
    .expect("put route");
}

fn served(gw: &Gateway, uri: &str, name: &str) -> bool {
    gw.fetch(uri) == (200, name.to_owned())
}

#[test]
fn etcd_killed_while_requests_flow_then_writes_after_restart_apply() {
    let mut e = Etcd::start();
    let rt = runtime();
    let mut c = client(&rt, &e.endpoints());
    seed(&rt, &mut c, "1", "/a", "one");
    let gw = Arc::new(Gateway::etcd(BIN, &e.endpoints()).start());
    assert!(eventually(10, || served(&gw, "/a", "one")), "{}", gw.log());

    let (stop, sent, failed) = (
        Arc::new(AtomicBool::new(false)),
        Arc::new(AtomicUsize::new(0)),
        Arc::new(AtomicUsize::new(0)),
    );
    let client_thread = {
        let (gw, stop, sent, failed) = (gw.clone(), stop.clone(), sent.clone(), failed.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                sent.fetch_add(1, Ordering::Relaxed);
                if !served(&gw, "/a", "one") {
                    failed.fetch_add(1, Ordering::Relaxed);
                }
                std::thread::sleep(Duration::from_millis(5));
            }
        })
    };
    e.stop(0);
    std::thread::sleep(Duration::from_secs(3));
    e.restart(0);
    let mut c = client(&rt, &e.endpoints());
    seed(&rt, &mut c, "2", "/b", "two");
    assert!(
        eventually(30, || served(&gw, "/b", "two")),
        "a write after the restart is applied:\n{}",
        gw.log()
    );
    stop.store(true, Ordering::Relaxed);
    client_thread.join().expect("client thread");
    assert!(sent.load(Ordering::Relaxed) > 10);
    assert_eq!(
        failed.load(Ordering::Relaxed),
        0,
        "no request failed while etcd was away"
    );
}

#[test]
fn compaction_past_the_watch_resyncs_with_nothing_lost() {
    let e = Etcd::start();
    let rt = runtime();
    let mut c = client(&rt, &e.endpoints());
    seed(&rt, &mut c, "1", "/a", "one");
    let mut gw = Gateway::etcd(BIN, &e.endpoints()).start();
    assert!(eventually(10, || served(&gw, "/a", "one")));
    // Let the snapshot file record this revision, then stop the gateway.
    assert!(eventually(10, || gw
        .dir
        .path("etcd-snapshot.json")
        .exists()));
    std::thread::sleep(Duration::from_millis(700));
    gw.stop_process();
    // Changes it misses, then a compaction past its revision.
    seed(&rt, &mut c, "2", "/b", "two");
    rt.block_on(c.delete("/apisix/routes/1", None))
        .expect("delete");
    for i in 0..5 {
        rt.block_on(c.put(
            "/apisix/upstreams/churn",
            up_json("churn", &format!("c{i}")),
            None,
        ))
        .expect("put");
    }
    let rev = rt
        .block_on(c.get("/apisix", None))
        .expect("get")
        .header()
        .map(|h| h.revision())
        .expect("a response header with the revision");
    rt.block_on(c.compact(rev, Some(CompactionOptions::new().with_physical())))
        .expect("compact");
    gw.start_process();
    assert!(
        eventually(20, || served(&gw, "/b", "two") && gw.fetch("/a").0 == 404),
        "{}",
        gw.log()
    );
    assert!(gw.log().contains("full re-read"), "{}", gw.log());
    // The watch goes on after the resync.
    seed(&rt, &mut c, "3", "/c", "three");
    assert!(
        eventually(10, || served(&gw, "/c", "three")),
        "{}",
        gw.log()
    );
}

#[test]
fn starts_from_the_snapshot_file_while_etcd_is_down_then_catches_up() {
    let mut e = Etcd::start();
    let rt = runtime();
    let mut c = client(&rt, &e.endpoints());
    seed(&rt, &mut c, "1", "/a", "one");
    let mut gw = Gateway::etcd(BIN, &e.endpoints()).start();
    assert!(eventually(10, || served(&gw, "/a", "one")));
    assert!(eventually(10, || gw
        .dir
        .path("etcd-snapshot.json")
        .exists()));
    gw.stop_process();
    e.stop(0);
    gw.start_process();
    assert!(
        served(&gw, "/a", "one"),
        "served from the snapshot file:\n{}",
        gw.log()
    );
    e.restart(0);
    let mut c = client(&rt, &e.endpoints());
    seed(&rt, &mut c, "2", "/b", "two");
    assert!(eventually(30, || served(&gw, "/b", "two")), "{}", gw.log());
}

#[test]
fn three_members_with_one_stopped_and_writes_through_another_member() {
    let mut e = Etcd::cluster(3);
    let rt = runtime();
    let gw = Gateway::etcd(BIN, &e.endpoints()).start();
    let mut c = client(&rt, &e.endpoints());
    seed(&rt, &mut c, "1", "/a", "one");
    assert!(eventually(10, || served(&gw, "/a", "one")), "{}", gw.log());
    for stopped in [0, 1] {
        e.stop(stopped);
        e.wait_healthy(Duration::from_secs(30));
        let others: Vec<String> = (0..3)
            .filter(|i| *i != stopped)
            .map(|i| e.members[i].endpoint())
            .collect();
        let mut c = client(&rt, &others);
        let id = format!("{}", 10 + stopped);
        let uri = format!("/m{stopped}");
        let ok = (0..40).any(|_| {
            let u = format!("u{id}");
            let put = rt
                .block_on(c.put(format!("/apisix/upstreams/{u}"), up_json(&u, &id), None))
                .is_ok()
                && rt
                    .block_on(c.put(
                        format!("/apisix/routes/{id}"),
                        route_json(&id, &uri, &u),
                        None,
                    ))
                    .is_ok();
            if !put {
                std::thread::sleep(Duration::from_millis(250));
            }
            put
        });
        assert!(ok, "a write through the other members");
        assert!(
            eventually(30, || served(&gw, &uri, &id)),
            "member {stopped} stopped:\n{}",
            gw.log()
        );
        assert!(served(&gw, "/a", "one"));
        e.restart(stopped);
    }
}

#[test]
fn two_gateways_on_one_etcd_converge_and_bad_values_are_skipped() {
    let e = Etcd::start();
    let rt = runtime();
    let a = Gateway::etcd(BIN, &e.endpoints()).start();
    let b = Gateway::etcd(BIN, &e.endpoints()).start();
    let (s, v) = a.admin(
        "PUT",
        "/apisix/admin/upstreams/u",
        Some(&up_json("u", "shared")),
    );
    assert_eq!(s, 201, "{v}");
    for i in 0..20 {
        let body = json!({"uri": format!("/r{i}"), "upstream_id": "u"}).to_string();
        let gw = if i % 2 == 0 { &a } else { &b };
        assert_eq!(
            gw.admin("PUT", &format!("/apisix/admin/routes/{i}"), Some(&body))
                .0,
            201
        );
    }
    for gw in [&a, &b] {
        assert!(
            eventually(15, || (0..20).all(|i| served(
                gw,
                &format!("/r{i}"),
                "shared"
            ))),
            "{}",
            gw.log()
        );
    }
    // Another tool writes a bad value: logged with its key, last good kept.
    let mut c = client(&rt, &e.endpoints());
    rt.block_on(c.put("/apisix/routes/0", r#"{"id":"0","uri":3}"#, None))
        .expect("put");
    rt.block_on(c.put("/apisix/routes/5", "not json", None))
        .expect("put");
    rt.block_on(c.delete("/apisix/routes/1", None))
        .expect("delete");
    for gw in [&a, &b] {
        assert!(eventually(15, || gw.fetch("/r1").0 == 404), "{}", gw.log());
        assert!(served(gw, "/r0", "shared") && served(gw, "/r5", "shared"));
        assert!(
            gw.log().contains("/apisix/routes/0"),
            "the bad key is named:\n{}",
            gw.log()
        );
    }
}

#[test]
fn a_revision_that_went_backwards_is_a_full_re_read() {
    let mut e = Etcd::start();
    let rt = runtime();
    let mut c = client(&rt, &e.endpoints());
    seed(&rt, &mut c, "1", "/a", "one");
    for i in 0..10 {
        rt.block_on(c.put(
            "/apisix/upstreams/churn",
            up_json("churn", &format!("c{i}")),
            None,
        ))
        .expect("put");
    }
    let gw = Gateway::etcd(BIN, &e.endpoints()).start();
    assert!(eventually(10, || served(&gw, "/a", "one")), "{}", gw.log());
    // etcd comes back empty (revision 1): what it holds now is the truth.
    e.stop(0);
    e.members[0].wipe();
    e.restart(0);
    let mut c = client(&rt, &e.endpoints());
    seed(&rt, &mut c, "9", "/z", "nine");
    assert!(
        eventually(30, || served(&gw, "/z", "nine") && gw.fetch("/a").0 == 404),
        "{}",
        gw.log()
    );
    assert!(gw.log().contains("went backwards"), "{}", gw.log());
}

#[test]
fn a_silent_watch_is_noticed_and_resumed() {
    let e = Etcd::start();
    let rt = runtime();
    let mut c = client(&rt, &e.endpoints());
    seed(&rt, &mut c, "1", "/a", "one");
    let gw = Gateway::etcd(BIN, &e.endpoints()).start();
    assert!(eventually(10, || served(&gw, "/a", "one")), "{}", gw.log());
    // etcd frozen: connections stay open, nothing answers.
    e.members[0].signal("STOP");
    let noticed = eventually(20, || gw.log().contains("watch silent"));
    e.members[0].signal("CONT");
    assert!(noticed, "{}", gw.log());
    assert!(served(&gw, "/a", "one"));
    seed(&rt, &mut c, "2", "/b", "two");
    assert!(eventually(30, || served(&gw, "/b", "two")), "{}", gw.log());
}

#[test]
fn tls_to_etcd() {
    let tmp = TempDir::new("etcd-tls");
    let dir = tmp.root();
    let ck = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).expect("cert");
    let (cert, key) = (dir.join("etcd.pem"), dir.join("etcd-key.pem"));
    std::fs::write(&cert, ck.cert.pem()).expect("write cert");
    std::fs::write(&key, ck.signing_key.serialize_pem()).expect("write key");
    let e = Etcd::start_tls(cert.clone(), key);
    let tls = format!(
        "etcd:\n  endpoints: [\"{}\"]\n  timeout: 2\n  tls:\n    ca: {}\n    sni: localhost\n",
        e.endpoint(),
        cert.display()
    );
    let gw = Gateway::etcd_yaml(BIN, &tls).start();
    let (s, v) = gw.admin(
        "PUT",
        "/apisix/admin/upstreams/u",
        Some(&up_json("u", "secure")),
    );
    assert_eq!(s, 201, "{v}\n{}", gw.log());
    let body = json!({"uri": "/s", "upstream_id": "u"}).to_string();
    assert_eq!(
        gw.admin("PUT", "/apisix/admin/routes/1", Some(&body)).0,
        201
    );
    assert!(
        eventually(10, || served(&gw, "/s", "secure")),
        "{}",
        gw.log()
    );
    drop(gw);
}

/// A CA, and PEM files in `dir`: `ca.pem`, etcd's `etcd.pem`/`etcd-key.pem`
/// (for localhost) and a client's `client.pem`/`client-key.pem`, both
/// signed by the CA.
fn certificates(dir: &std::path::Path) {
    use rcgen::{
        BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose,
        IsCa, KeyPair, KeyUsagePurpose,
    };
    let mut ca = CertificateParams::new(Vec::<String>::new()).expect("CA params");
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(DnType::CommonName, "radixgate test CA");
    ca.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let ca = CertifiedIssuer::self_signed(ca, KeyPair::generate().expect("CA key")).expect("CA");
    let write = |name: &str, pem: String| std::fs::write(dir.join(name), pem).expect("write PEM");
    write("ca.pem", ca.pem());
    let leaves = [
        (
            "etcd",
            vec!["localhost".to_owned()],
            ExtendedKeyUsagePurpose::ServerAuth,
        ),
        ("client", Vec::new(), ExtendedKeyUsagePurpose::ClientAuth),
    ];
    for (name, sans, usage) in leaves {
        let key = KeyPair::generate().expect("key");
        let mut params = CertificateParams::new(sans).expect("params");
        params.distinguished_name.push(DnType::CommonName, name);
        params.extended_key_usages = vec![usage];
        let cert = params.signed_by(&key, &ca).expect("signed certificate");
        write(&format!("{name}.pem"), cert.pem());
        write(&format!("{name}-key.pem"), key.serialize_pem());
    }
}

#[test]
fn client_certificates_to_etcd() {
    let tmp = TempDir::new("etcd-mtls");
    let dir = tmp.root();
    certificates(dir);
    let e = Etcd::start_with_tls(ServerTls {
        cert: dir.join("etcd.pem"),
        key: dir.join("etcd-key.pem"),
        client_ca: Some(dir.join("ca.pem")),
    });
    let tls = |client: &str| {
        format!(
            "etcd:\n  endpoints: [\"{}\"]\n  timeout: 2\n  tls:\n    ca: {}\n    sni: localhost\n{client}",
            e.endpoint(),
            dir.join("ca.pem").display()
        )
    };
    // With the client certificate: written through the Admin API, served.
    let with_cert = format!(
        "    cert: {}\n    key: {}\n",
        dir.join("client.pem").display(),
        dir.join("client-key.pem").display()
    );
    let gw = Gateway::etcd_yaml(BIN, &tls(&with_cert)).start();
    let up = up_json("u", "mutual");
    let (s, v) = gw.admin("PUT", "/apisix/admin/upstreams/u", Some(&up));
    assert_eq!(s, 201, "{v}\n{}", gw.log());
    let body = json!({"uri": "/m", "upstream_id": "u"}).to_string();
    let (s, v) = gw.admin("PUT", "/apisix/admin/routes/1", Some(&body));
    assert_eq!(s, 201, "{v}");
    assert!(
        eventually(10, || served(&gw, "/m", "mutual")),
        "{}",
        gw.log()
    );

    // Without it: etcd refuses the connection; nothing is read or
    // written, and the log says why.
    let without = Gateway::etcd_yaml(BIN, &tls("")).start();
    let (s, v) = without.admin("GET", "/apisix/admin/routes/1", None);
    assert_eq!(s, 503, "{v}");
    assert_eq!(without.fetch("/m").0, 404);
    let said = || {
        let log = without.log();
        log.lines()
            .any(|l| l.contains("etcd refuses") && l.to_lowercase().contains("certificate"))
    };
    assert!(eventually(10, said), "{}", without.log());
}

#[test]
fn etcd_with_authentication() {
    let e = Etcd::start();
    let rt = runtime();
    let mut c = client(&rt, &e.endpoints());
    rt.block_on(c.user_add("root", "root-secret", None))
        .expect("user");
    rt.block_on(c.user_grant_role("root", "root"))
        .expect("role");
    rt.block_on(c.auth_enable()).expect("auth on");
    let section = format!(
        "etcd:\n  endpoints: [\"{}\"]\n  timeout: 2\n  user: root\n  password: root-secret\n",
        e.endpoint()
    );
    let gw = Gateway::etcd_yaml(BIN, &section).start();
    let (s, v) = gw.admin(
        "PUT",
        "/apisix/admin/upstreams/u",
        Some(&up_json("u", "authed")),
    );
    assert_eq!(s, 201, "{v}\n{}", gw.log());
    let body = json!({"uri": "/auth", "upstream_id": "u"}).to_string();
    assert_eq!(
        gw.admin("PUT", "/apisix/admin/routes/1", Some(&body)).0,
        201
    );
    assert!(
        eventually(10, || served(&gw, "/auth", "authed")),
        "{}",
        gw.log()
    );
}

#[test]
fn starts_with_etcd_down_and_no_snapshot_then_follows_it() {
    let mut e = Etcd::start();
    e.stop(0);
    let gw = Gateway::etcd(BIN, &e.endpoints()).start();
    assert_eq!(gw.fetch("/a").0, 404, "serving, with nothing yet");
    e.restart(0);
    let rt = runtime();
    let mut c = client(&rt, &e.endpoints());
    seed(&rt, &mut c, "1", "/a", "one");
    assert!(eventually(30, || served(&gw, "/a", "one")), "{}", gw.log());
}
