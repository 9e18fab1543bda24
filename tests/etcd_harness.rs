//! The real-etcd harness itself: one member and a three-member cluster
//! start healthy, take writes, survive one member stopping, and restart a
//! member on its old data dir.

use radixgate_test_support::etcd::{client, runtime, Etcd};

#[test]
fn single_member_takes_writes_and_restarts_with_its_data() {
    let mut e = Etcd::start();
    let rt = runtime();
    let mut c = client(&rt, &e.endpoints());
    rt.block_on(c.put("/t/a", "1", None)).expect("put");
    e.stop(0);
    assert!(!e.members[0].healthy());
    e.restart(0);
    let mut c = client(&rt, &e.endpoints());
    let r = rt.block_on(c.get("/t/a", None)).expect("get");
    assert_eq!(r.kvs()[0].value(), b"1");
}

#[test]
fn three_members_keep_serving_with_one_stopped() {
    let mut e = Etcd::cluster(3);
    let rt = runtime();
    e.stop(0);
    e.wait_healthy(std::time::Duration::from_secs(30));
    let rest = e.endpoints()[1..].to_vec();
    let mut c = client(&rt, &rest);
    // A new leader may still be being elected: a client retries.
    let put = (0..20).find_map(|_| rt.block_on(c.put("/t/b", "2", None)).ok());
    assert!(put.is_some(), "put with one member down");
    e.restart(0);
    let mut c0 = client(&rt, &e.endpoints()[..1]);
    let ok = (0..100).any(|_| {
        let r = rt.block_on(c0.get("/t/b", None));
        if r.as_ref()
            .is_ok_and(|r| r.kvs().first().is_some_and(|kv| kv.value() == b"2"))
        {
            return true;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
        false
    });
    assert!(ok, "the restarted member caught up");
}
