//! End to end: the access log. Each request the proxy serves logs one
//! line on target `radixgate::access` with the client, method, uri (path
//! and query as sent), status, route, upstream node and milliseconds; a
//! request no route matched names neither route nor node (`-`).

use std::collections::HashMap;

use radixgate_test_support::{eventually, request, Gateway, Node};

const BIN: &str = env!("CARGO_BIN_EXE_radixgate");

/// The fields (`key=value`, text values quoted or not) of every access
/// line in `log`.
fn access_lines(log: &str) -> Vec<HashMap<String, String>> {
    log.lines()
        .filter_map(|l| l.split_once("radixgate::access:"))
        .map(|(_, fields)| {
            fields
                .split_whitespace()
                .filter_map(|kv| kv.split_once('='))
                .map(|(k, v)| (k.to_owned(), v.trim_matches('"').to_owned()))
                .collect()
        })
        .collect()
}

/// The access lines of requests for `uri`.
fn lines_for(gw: &Gateway, uri: &str) -> Vec<HashMap<String, String>> {
    access_lines(&gw.log())
        .into_iter()
        .filter(|f| f.get("uri").map(String::as_str) == Some(uri))
        .collect()
}

fn field<'a>(line: &'a HashMap<String, String>, key: &str) -> &'a str {
    line.get(key)
        .unwrap_or_else(|| panic!("the access line has no {key}: {line:?}"))
}

#[test]
fn each_request_logs_one_access_line_with_its_fields() {
    let node = Node::start("n");
    let gw = Gateway::start_file(
        BIN,
        &format!(
            "routes:\n  - {{id: logged, uri: /logged, upstream: {{nodes: {{\"{}\": 1}}}}}}\n#END\n",
            node.addr()
        ),
    );
    let proxied = request(gw.port, "PUT", "/logged?x=1&y=2", &[]).expect("the gateway answers");
    assert_eq!(proxied.status, 200);
    let missing = request(gw.port, "DELETE", "/missing?z=3", &[]).expect("the gateway answers");
    assert_eq!(missing.status, 404);
    assert!(
        eventually(5, || lines_for(&gw, "/missing?z=3").len() == 1),
        "no access line for the 404:\n{}",
        gw.log()
    );

    let lines = lines_for(&gw, "/logged?x=1&y=2");
    assert_eq!(lines.len(), 1, "one line per request:\n{}", gw.log());
    let line = &lines[0];
    assert_eq!(field(line, "client"), "127.0.0.1");
    assert_eq!(field(line, "method"), "PUT");
    assert_eq!(field(line, "status"), "200");
    assert_eq!(field(line, "route"), "logged");
    assert_eq!(field(line, "upstream"), node.addr());
    let ms: f64 = field(line, "ms").parse().expect("ms is a number");
    assert!((0.0..10_000.0).contains(&ms), "{ms}");

    let line = &lines_for(&gw, "/missing?z=3")[0];
    assert_eq!(field(line, "client"), "127.0.0.1");
    assert_eq!(field(line, "method"), "DELETE");
    assert_eq!(field(line, "status"), "404");
    assert_eq!(field(line, "route"), "-");
    assert_eq!(field(line, "upstream"), "-");
    assert!(field(line, "ms").parse::<f64>().is_ok(), "{line:?}");
}
