//! Conditions evaluated on mock requests.

use abi_stable::sabi_trait::TD_Opaque;
use radixgate_plugin::abi::RequestCtx_TO;
use radixgate_plugin::mock::MockRequest;
use radixgate_plugin::serde_json::{json, Value};
use radixgate_plugin::Ctx;

use super::{parse, parse_any, Expr};

/// Whether `expr` holds for `req`.
fn eval(expr: &Expr, req: &mut MockRequest) -> bool {
    let ctx = Ctx::new(RequestCtx_TO::from_ptr(req, TD_Opaque));
    expr.eval(&ctx)
}

/// Whether `expr` (one expression) holds for `req`.
fn holds(expr: &Value, req: &mut MockRequest) -> bool {
    eval(&parse(expr, "vars").expect("a valid expression"), req)
}

#[test]
fn rules_groups_and_negation() {
    let mut req = MockRequest::new("GET", "/a?name=jack&age=18").header("X-Env", "prod");
    let cases = [
        (json!([["arg_name", "==", "jack"]]), true),
        (json!(["arg_name", "==", "jack"]), true),
        (
            json!([["arg_name", "==", "jack"], ["arg_age", "==", 18]]),
            true,
        ),
        (
            json!([["arg_name", "==", "jack"], ["arg_age", ">", 18]]),
            false,
        ),
        (
            json!(["OR", ["arg_name", "==", "x"], ["http_x_env", "~~", "^pr"]]),
            true,
        ),
        (json!([["arg_name", "!", "==", "jack"]]), false),
        (json!([["arg_missing", "==", "x"]]), false),
        (json!([["arg_name", "in", ["tom", "jack"]]]), true),
    ];
    for (expr, want) in cases {
        assert_eq!(holds(&expr, &mut req), want, "{expr}");
    }
}

#[test]
fn any_of_a_list() {
    let list = json!([
        [["arg_name", "==", "jack"], ["arg_age", "==", 18]],
        [["arg_name2", "==", "allen"]]
    ]);
    let any = parse_any(&list, "abort.vars").expect("valid");
    let on = |uri: &str| eval(&any, &mut MockRequest::new("GET", uri));
    assert!(on("/?name=jack&age=18"));
    assert!(on("/?name2=allen"));
    assert!(!on("/?name=jack&age=19"));
    let none = parse_any(&json!([]), "v").expect("valid");
    assert!(!eval(&none, &mut MockRequest::new("GET", "/")));
}

#[test]
fn errors_name_the_field() {
    let cases = [
        (json!([[["arg_a", "~~", "("]]]), "abort.vars[0][0]:"),
        (
            json!([[["arg_a", "=~", 1]]]),
            "abort.vars[0][0]: failed to validate the 'vars' expression: unsupported operator '=~'",
        ),
        (json!("x"), "abort.vars: "),
        (json!([7]), "abort.vars[0]: "),
    ];
    for (list, want) in cases {
        let err = parse_any(&list, "abort.vars")
            .err()
            .unwrap_or_else(|| panic!("{list} accepted"));
        assert!(err.0.starts_with(want), "{list}: {err}");
    }
}
