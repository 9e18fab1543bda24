//! End to end: the gateway's own liveness answer. `GET` (and `HEAD`)
//! `/healthz` answers `{"status":"ok"}` when no route claims the path;
//! another method is an ordinary 404; a route on `/healthz` takes it, and
//! its node answers instead of the gateway.

use radixgate_test_support::{request, Gateway, Node};

const BIN: &str = env!("CARGO_BIN_EXE_radixgate");

#[test]
fn healthz_answers_get_and_head_itself_when_no_route_claims_it() {
    let node = Node::start("n");
    let gw = Gateway::start_file(
        BIN,
        &format!(
            "routes:\n  - {{id: other, uri: /other, upstream: {{nodes: {{\"{}\": 1}}}}}}\n#END\n",
            node.addr()
        ),
    );
    let get = gw.get("/healthz", &[]);
    assert_eq!((get.status, get.body.as_str()), (200, r#"{"status":"ok"}"#));
    assert_eq!(get.header("content-type"), Some("application/json"));
    let head = request(gw.port, "HEAD", "/healthz", &[]).expect("the gateway answers HEAD");
    assert_eq!((head.status, head.body.as_str()), (200, ""));
    let post = request(gw.port, "POST", "/healthz", &[]).expect("the gateway answers POST");
    assert_eq!(
        (post.status, post.body.as_str()),
        (404, r#"{"error_msg":"404 Route Not Found"}"#)
    );
    assert_eq!(node.hits(), 0);
}

#[test]
fn a_route_on_healthz_takes_it_from_the_gateway() {
    let node = Node::start("claimer");
    let gw = Gateway::start_file(
        BIN,
        &format!(
            "routes:\n  - {{id: claim, uri: /healthz, upstream: {{nodes: {{\"{}\": 1}}}}}}\n#END\n",
            node.addr()
        ),
    );
    let get = gw.get("/healthz", &[]);
    assert_eq!(get.status, 200);
    assert_eq!(get.header("x-upstream"), Some("claimer"), "{get:?}");
    assert_eq!(get.echoed("path").as_deref(), Some("/healthz"));
    let post = request(gw.port, "POST", "/healthz", &[]).expect("the gateway answers POST");
    assert_eq!(
        (post.status, post.echoed("method").as_deref()),
        (200, Some("POST"))
    );
}
