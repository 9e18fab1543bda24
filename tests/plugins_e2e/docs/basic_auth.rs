//! basic-auth's documented examples: a credential's username and password
//! (`-u johndoe:john-key`), a consumer's own, the 401s with APISIX's
//! messages (missing with `WWW-Authenticate: Basic realm='.'`, malformed,
//! wrong password, unknown user), `hide_credentials`, and the anonymous
//! consumer whose own limit-count applies to requests without credentials.

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

/// `-u johndoe:john-key`.
const JOHN: Headers = &[("Authorization", "Basic am9obmRvZTpqb2huLWtleQ==")];
const ON_ROUTE: &str = "Implement Basic Authentication on Route";
const HIDE: &str = "Hide Authentication Information From Upstream";
const ANONYMOUS: &str = "Rate Limit with Anonymous Consumer";

const fn message(text: &'static str) -> Check {
    Check::Body(text)
}

const ROWS: &[Row] = &[
    Row {
        checks: &[
            Check::SentOnly("x-consumer-username", "johndoe"),
            Check::SentOnly("x-credential-identifier", "cred-john-basic-auth"),
            Check::Sent("authorization", "Basic am9obmRvZTpqb2huLWtleQ=="),
        ],
        ..with(ON_ROUTE, "/anything", JOHN, 200)
    },
    Row {
        checks: &[message(r#"{"message":"Invalid user authorization"}"#)],
        ..with(
            ON_ROUTE,
            "/anything",
            &[("Authorization", "Basic am9obmRvZTppbnZhbGlkLWtleQ==")],
            401,
        )
    },
    Row {
        checks: &[
            message(r#"{"message":"Missing authorization in request"}"#),
            Check::Header("WWW-Authenticate", "Basic realm='.'"),
        ],
        ..get(ON_ROUTE, "/anything", 401)
    },
    Row {
        checks: &[message(r#"{"message":"Invalid user authorization"}"#)],
        ..with(
            "an unknown username",
            "/anything",
            &[("Authorization", "Basic bm9ib2R5OmpvaG4ta2V5")],
            401,
        )
    },
    Row {
        checks: &[
            message(r#"{"message":"Invalid authorization in request"}"#),
            Check::NoHeader("WWW-Authenticate"),
        ],
        ..with(
            "a header that is not base64",
            "/anything",
            &[("Authorization", "Basic !!!%%%")],
            401,
        )
    },
    Row {
        checks: &[message(r#"{"message":"Invalid authorization in request"}"#)],
        ..with(
            "another scheme",
            "/anything",
            &[("Authorization", "Bearer am9obmRvZTpqb2huLWtleQ==")],
            401,
        )
    },
    Row {
        checks: &[Check::SentOnly("x-consumer-username", "jane")],
        ..with(
            "a consumer's own basic-auth config",
            "/anything",
            &[("Authorization", "Basic amFuZTpqYW5lLWtleQ==")],
            200,
        )
    },
    Row {
        checks: &[
            Check::NotSent("authorization"),
            Check::SentOnly("x-consumer-username", "johndoe"),
        ],
        ..with(HIDE, "/hidden", JOHN, 200)
    },
    // The anonymous consumer's limit-count (count 1) applies to requests
    // without credentials; johndoe's requests are not limited.
    Row {
        checks: &[Check::SentOnly("x-consumer-username", "anonymous")],
        ..get(ANONYMOUS, "/anon", 200)
    },
    get(ANONYMOUS, "/anon", 429),
    Row {
        checks: &[Check::SentOnly("x-consumer-username", "johndoe")],
        ..with(ANONYMOUS, "/anon", JOHN, 200)
    },
    Row {
        checks: &[message(r#"{"message":"Invalid user authorization"}"#)],
        ..get("anonymous_consumer names no consumer", "/nobody", 401)
    },
];

fn config(node: &str) -> String {
    format!(
        r#"upstreams:
  - {{id: u, nodes: {{"{node}": 1}}}}
consumers:
  - {{username: johndoe}}
  - {{id: johndoe/credentials/cred-john-basic-auth, plugins: {{basic-auth: {{username: johndoe, password: john-key}}}}}}
  - {{username: jane, plugins: {{basic-auth: {{username: jane, password: jane-key}}}}}}
  - {{username: anonymous, plugins: {{limit-count: {{count: 1, time_window: 60, rejected_code: 429}}}}}}
routes:
  - {{id: basic-auth-route, uri: /anything, upstream_id: u, plugins: {{basic-auth: {{}}}}}}
  - {{id: hidden, uri: /hidden, upstream_id: u, plugins: {{basic-auth: {{hide_credentials: true}}}}}}
  - {{id: anon, uri: /anon, upstream_id: u, plugins: {{basic-auth: {{anonymous_consumer: anonymous}}}}}}
  - {{id: nobody, uri: /nobody, upstream_id: u, plugins: {{basic-auth: {{anonymous_consumer: nobody}}}}}}
#END
"#
    )
}

#[test]
fn basic_auth_doc_examples() {
    let up = Node::start("u");
    let plugins = ["basic-auth", "limit-count"];
    let gw = harness::start_with(&config(&up.addr()), &plugins);
    run(&gw, ROWS);
}
