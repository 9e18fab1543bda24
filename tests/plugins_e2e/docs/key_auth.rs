//! key-auth's documented examples: the key in the `apikey` header or
//! query argument, custom `header` and `query` names, the consumer found
//! from a consumer's key or a credential's, `hide_credentials` (the node
//! never sees the key), `anonymous_consumer`, and the 401s with APISIX's
//! messages and `WWW-Authenticate` realm.

use radixgate_test_support::Node;

use super::{get, run, Check, Row};
use crate::harness;

type Headers = &'static [(&'static str, &'static str)];

/// A GET row with these request headers.
const fn with(doc: &'static str, path: &'static str, headers: Headers, status: u16) -> Row {
    Row {
        headers,
        ..get(doc, path, status)
    }
}

const JACK: Headers = &[("apikey", "jack-key")];
const ON_ROUTE: &str = "Implement Key Authentication on Route";
const IN_QUERY: &str = "the key in the query string";
const CUSTOM: &str = "header/query: where the key is read";
const HIDE: &str = "Hide Authentication Information From Upstream";
const ANONYMOUS: &str = "anonymous_consumer";
const CONSUMER_HEADERS: &str = "X-Consumer-Username and X-Credential-Identifier to the node";
const MISSING: &[Check] = &[
    Check::BodyHas(r#"{"message":"Missing API key in request"}"#),
    Check::Header("WWW-Authenticate", r#"apikey realm="key""#),
];
const INVALID: &[Check] = &[
    Check::BodyHas(r#"{"message":"Invalid API key in request"}"#),
    Check::Header("WWW-Authenticate", r#"apikey realm="key""#),
];

const ROWS: &[Row] = &[
    Row {
        checks: &[
            Check::Sent("x-consumer", "jack"),
            Check::Sent("apikey", "jack-key"),
        ],
        ..with(ON_ROUTE, "/anything", JACK, 200)
    },
    Row {
        checks: &[Check::Sent("x-consumer", "tom")],
        ..with(ON_ROUTE, "/anything", &[("apikey", "auth-one")], 200)
    },
    Row {
        checks: MISSING,
        ..get(ON_ROUTE, "/anything", 401)
    },
    Row {
        checks: INVALID,
        ..with(ON_ROUTE, "/anything", &[("apikey", "wrong-key")], 401)
    },
    Row {
        checks: &[
            Check::Sent("x-consumer", "jack"),
            Check::Sent("path", "/anything?apikey=jack-key"),
        ],
        ..get(IN_QUERY, "/anything?apikey=jack-key", 200)
    },
    Row {
        checks: INVALID,
        ..with(
            "the header wins over the query",
            "/anything?apikey=jack-key",
            &[("apikey", "wrong-key")],
            401,
        )
    },
    Row {
        checks: &[Check::Sent("x-consumer", "jack")],
        ..with(CUSTOM, "/custom", &[("Authorization", "jack-key")], 200)
    },
    Row {
        checks: MISSING,
        ..with(CUSTOM, "/custom", JACK, 401)
    },
    Row {
        checks: &[Check::Sent("x-consumer", "jack")],
        ..get(CUSTOM, "/custom?auth=jack-key", 200)
    },
    Row {
        checks: MISSING,
        ..get(CUSTOM, "/custom?apikey=jack-key", 401)
    },
    Row {
        checks: &[Check::NotSent("apikey"), Check::Sent("x-consumer", "jack")],
        ..with(HIDE, "/hidden", JACK, 200)
    },
    Row {
        checks: &[Check::Sent("path", "/hidden?a=1&b=2")],
        ..get(HIDE, "/hidden?a=1&apikey=jack-key&b=2", 200)
    },
    Row {
        checks: &[Check::Sent("path", "/hidden")],
        ..get(HIDE, "/hidden?apikey=jack-key", 200)
    },
    Row {
        checks: &[Check::Sent("x-consumer", "anonymous")],
        ..get(ANONYMOUS, "/anon", 200)
    },
    Row {
        checks: &[Check::Sent("x-consumer", "anonymous")],
        ..with(ANONYMOUS, "/anon", &[("apikey", "wrong-key")], 200)
    },
    Row {
        checks: &[Check::Sent("x-consumer", "jack")],
        ..with(ANONYMOUS, "/anon", JACK, 200)
    },
    Row {
        checks: &[Check::Header("WWW-Authenticate", r#"apikey realm="gate""#)],
        ..get("realm", "/realm", 401)
    },
    Row {
        checks: &[
            Check::BodyHas(r#"{"message":"Invalid user authorization"}"#),
            Check::Header("WWW-Authenticate", r#"apikey realm="key""#),
        ],
        ..get("anonymous_consumer names no consumer", "/nobody", 401)
    },
    Row {
        checks: &[
            Check::SentOnly("x-consumer-username", "jack"),
            Check::SentOnly("x-credential-identifier", "cred-jack-key-auth"),
        ],
        ..with(CONSUMER_HEADERS, "/anything", JACK, 200)
    },
    Row {
        checks: &[
            Check::SentOnly("x-consumer-username", "tom"),
            Check::NotSent("x-credential-identifier"),
        ],
        ..with(
            CONSUMER_HEADERS,
            "/anything",
            &[("apikey", "auth-one"), ("X-Consumer-Username", "forged")],
            200,
        )
    },
    Row {
        checks: &[
            Check::SentOnly("x-consumer-username", "anonymous"),
            Check::NotSent("x-credential-identifier"),
        ],
        ..with(
            CONSUMER_HEADERS,
            "/anon",
            &[("X-Credential-Identifier", "forged")],
            200,
        )
    },
];

fn config(node: &str) -> String {
    let who = r#"proxy-rewrite: {headers: {set: {X-Consumer: "$consumer_name"}}}"#;
    format!(
        r#"upstreams:
  - {{id: u, nodes: {{"{node}": 1}}}}
consumers:
  - {{username: jack}}
  - {{id: jack/credentials/cred-jack-key-auth, plugins: {{key-auth: {{key: jack-key}}}}}}
  - {{username: tom, plugins: {{key-auth: {{key: auth-one}}}}}}
  - {{username: anonymous}}
routes:
  - {{id: key-auth-route, uri: /anything, upstream_id: u, plugins: {{key-auth: {{}}, {who}}}}}
  - {{id: custom, uri: /custom, upstream_id: u, plugins: {{key-auth: {{header: Authorization, query: auth}}, {who}}}}}
  - {{id: hidden, uri: /hidden, upstream_id: u, plugins: {{key-auth: {{hide_credentials: true}}, {who}}}}}
  - {{id: anon, uri: /anon, upstream_id: u, plugins: {{key-auth: {{anonymous_consumer: anonymous}}, {who}}}}}
  - {{id: nobody, uri: /nobody, upstream_id: u, plugins: {{key-auth: {{anonymous_consumer: nobody}}}}}}
  - {{id: realm, uri: /realm, upstream_id: u, plugins: {{key-auth: {{realm: gate}}}}}}
#END
"#
    )
}

#[test]
fn key_auth_doc_examples() {
    let up = Node::start("u");
    let plugins = ["key-auth", "proxy-rewrite"];
    let gw = harness::start_with(&config(&up.addr()), &plugins);
    run(&gw, ROWS);
}
