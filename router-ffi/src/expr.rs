//! The `vars` expression language (lua-resty-expr v1 semantics).
//!
//! ```text
//! [["arg_name", "==", "json"], ["http_x", "!", "~~", "^a"]]   all rules hold (AND)
//! ["OR", ["arg_a", "1"], ["!AND", [...], [...]]]               nested logic
//! ```
//! Operators (case-insensitive): `==` `~=` `>` `>=` `<` `<=` `~~` `~*`
//! `in` `has` `ipmatch`. `[var, value]` means `==`, unless `value` names an
//! operator: then it is that operator with a nil value, as lua-resty-expr
//! reads `{var, "~=", nil}` (a Lua table of length two).
//! `[var, "!", op, value]` negates. A missing variable equals nothing, and
//! `~=` holds for it.
//!
//! lua-resty-expr compiles a regex only while matching, so there an invalid
//! one makes its comparison false, every time, and the rest of the router
//! works. [`Expr::parse`] refuses such a rule instead;
//! [`Expr::parse_tolerant`] keeps it as a comparison that is always false
//! (a `!` in front still negates it, as in lua-resty-expr) and reports it.

use crate::addr::AddrRule;
use crate::vars::{Var, Vars};
use regex::bytes::{Regex, RegexBuilder};
use serde_json::Value;
use std::net::IpAddr;

/// A compiled `vars` expression; evaluation never allocates for text variables.
#[derive(Debug, Clone)]
pub struct Expr(Node);

#[derive(Debug, Clone)]
enum Node {
    Logic { op: Logic, children: Vec<Node> },
    Rule { var: Box<str>, op: Op, negate: bool },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Logic {
    And,
    Or,
    NotAnd,
    NotOr,
}

#[derive(Debug, Clone)]
enum Op {
    Eq(Lit),
    Ne(Lit),
    Gt(Option<f64>),
    Ge(Option<f64>),
    Lt(Option<f64>),
    Le(Option<f64>),
    Regex(Regex),
    /// A comparison tolerated with an error: always false.
    Never,
    In(Vec<Lit>),
    Has(Lit),
    IpMatch(Vec<AddrRule>),
}

/// A literal right-hand value.
#[derive(Debug, Clone, PartialEq)]
enum Lit {
    Nil,
    Str(Vec<u8>),
    Num(f64),
    Bool(bool),
    Other,
}

/// A rule that [`Expr::parse_tolerant`] kept as always false.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flaw {
    /// The rule as JSON text (`["arg_k","~~","[0"]`).
    pub rule: String,
    /// What is wrong with it (`invalid regex "[0": ...`).
    pub problem: String,
}

/// Strict parsing refuses a flawed rule; tolerant parsing records it.
type Flaws = Option<Vec<Flaw>>;

impl Expr {
    /// Compiles an expression given as JSON. The error is lua-resty-expr's
    /// text, e.g. `invalid operator 'xyz'`.
    pub fn parse(rule: &Value) -> Result<Expr, String> {
        parse(rule, &mut None)
    }

    /// As [`Expr::parse`], but a comparison whose value lua-resty-expr
    /// would only find wrong while matching (an invalid regex, a regex that
    /// is no text) is kept as always false and listed with its problem.
    /// Errors lua-resty-expr finds when compiling (an unknown operator, a
    /// malformed rule, an invalid `ipmatch` address) are still errors.
    pub fn parse_tolerant(rule: &Value) -> Result<(Expr, Vec<Flaw>), String> {
        let mut flaws = Some(Vec::new());
        let e = parse(rule, &mut flaws)?;
        Ok((e, flaws.unwrap_or_default()))
    }

    /// True when the expression holds for `vars`.
    pub fn eval(&self, vars: &dyn Vars) -> bool {
        eval(&self.0, vars)
    }

    /// The variable names the expression reads, each once.
    pub fn var_names(&self) -> Vec<&str> {
        let mut names = Vec::new();
        collect_names(&self.0, &mut names);
        names
    }
}

fn parse(rule: &Value, flaws: &mut Flaws) -> Result<Expr, String> {
    let Value::Array(items) = rule else {
        return Err("rule should be an array".into());
    };
    if items.is_empty() {
        return Ok(Expr(Node::Logic {
            op: Logic::And,
            children: Vec::new(),
        }));
    }
    if !items[0].is_array() && logic_op(&items[0]).is_none() {
        return Err("rule should be wrapped inside brackets".into());
    }
    compile(items, flaws).map(Expr)
}

fn collect_names<'a>(node: &'a Node, out: &mut Vec<&'a str>) {
    match node {
        Node::Logic { children, .. } => children.iter().for_each(|c| collect_names(c, out)),
        Node::Rule { var, .. } => {
            if !out.contains(&&**var) {
                out.push(var);
            }
        }
    }
}

fn logic_op(v: &Value) -> Option<Logic> {
    match v.as_str()?.to_ascii_uppercase().as_str() {
        "AND" => Some(Logic::And),
        "OR" => Some(Logic::Or),
        "!AND" => Some(Logic::NotAnd),
        "!OR" => Some(Logic::NotOr),
        _ => None,
    }
}

fn compile(items: &[Value], flaws: &mut Flaws) -> Result<Node, String> {
    if items.is_empty() {
        return Err("rule too short".into());
    }
    if items[0].is_array() {
        let children = items
            .iter()
            .map(|v| compile_value(v, flaws))
            .collect::<Result<_, _>>()?;
        return Ok(Node::Logic {
            op: Logic::And,
            children,
        });
    }
    if let Some(op) = logic_op(&items[0]) {
        if items.len() < 2 {
            return Err("rule too short".into());
        }
        let children = items[1..]
            .iter()
            .map(|v| compile_value(v, flaws))
            .collect::<Result<_, _>>()?;
        return Ok(Node::Logic { op, children });
    }
    compile_rule(items, flaws)
}

fn compile_value(v: &Value, flaws: &mut Flaws) -> Result<Node, String> {
    match v {
        Value::Array(items) => compile(items, flaws),
        _ => Err("invalid expression".into()),
    }
}

/// Operator names, lower case.
const OPERATORS: [&str; 11] = [
    "==", "~=", ">", ">=", "<", "<=", "~~", "~*", "in", "has", "ipmatch",
];

/// `value` names an operator (case-insensitively).
fn names_operator(value: &Value) -> bool {
    value
        .as_str()
        .is_some_and(|v| OPERATORS.contains(&v.to_ascii_lowercase().as_str()))
}

fn compile_rule(items: &[Value], flaws: &mut Flaws) -> Result<Node, String> {
    let (var, op, value, negate) = match items {
        // `{var, "~=", nil}` is a Lua table of two items: the operator
        // with a nil value, not `var == "~="`.
        [var, op] if names_operator(op) => (var, Some(op), &Value::Null, false),
        [var, value] => (var, None, value, false),
        [var, op, value] => (var, Some(op), value, false),
        [var, not, op, value] => {
            if not.as_str() != Some("!") {
                return Err("bad 'not' expression".into());
            }
            (var, Some(op), value, true)
        }
        _ => return Err("invalid expression".into()),
    };
    let Some(var) = var.as_str() else {
        return Err("invalid expression".into());
    };
    let op = match op {
        None => Op::Eq(lit(value)),
        Some(op) => {
            let Some(name) = op.as_str() else {
                return Err(format!("invalid operator '{op}'"));
            };
            match compile_op(&name.to_ascii_lowercase(), value) {
                Ok(op) => op,
                Err(Flawed(problem)) => match flaws {
                    Some(list) => {
                        list.push(Flaw {
                            rule: Value::Array(items.to_vec()).to_string(),
                            problem,
                        });
                        Op::Never
                    }
                    None => return Err(problem),
                },
                Err(Refused(problem)) => return Err(problem),
            }
        }
    };
    Ok(Node::Rule {
        var: var.into(),
        op,
        negate,
    })
}

/// Why an operator's value did not compile.
enum OpError {
    /// lua-resty-expr would find it only while matching (tolerable).
    Flawed(String),
    /// lua-resty-expr refuses it when compiling.
    Refused(String),
}
use OpError::{Flawed, Refused};

fn compile_op(name: &str, value: &Value) -> Result<Op, OpError> {
    Ok(match name {
        "==" => Op::Eq(lit(value)),
        "~=" => Op::Ne(lit(value)),
        ">" => Op::Gt(lit_number(value)),
        ">=" => Op::Ge(lit_number(value)),
        "<" => Op::Lt(lit_number(value)),
        "<=" => Op::Le(lit_number(value)),
        "~~" | "~*" => {
            // Lua makes a number's text of a number given as the regex.
            let source = match value {
                Value::String(s) => s.clone(),
                Value::Number(n) => n.as_f64().map(format_number).unwrap_or_default(),
                _ => {
                    let problem = format!("operator '{name}' needs a regex string, not {value}");
                    return Err(Flawed(problem));
                }
            };
            let regex = RegexBuilder::new(&source)
                .case_insensitive(name == "~*")
                .build()
                .map_err(|e| Flawed(format!("invalid regex {source:?}: {}", regex_problem(&e))))?;
            Op::Regex(regex)
        }
        "in" => match value {
            Value::Array(items) => Op::In(items.iter().map(lit).collect()),
            _ => Op::In(Vec::new()),
        },
        "has" => Op::Has(lit(value)),
        "ipmatch" => {
            let texts: Vec<&str> = match value {
                Value::String(s) => vec![s.as_str()],
                Value::Array(items) => items.iter().filter_map(Value::as_str).collect(),
                _ => Vec::new(),
            };
            if texts.is_empty() {
                let problem = "operator 'ipmatch' needs an address or a list of CIDRs";
                return Err(Refused(problem.into()));
            }
            Op::IpMatch(crate::addr::parse_rules(&texts).map_err(Refused)?)
        }
        other => return Err(Refused(format!("invalid operator '{other}'"))),
    })
}

/// What is wrong with a regex: the last line of the regex crate's error
/// (the others quote the regex and point at the spot).
pub(crate) fn regex_problem(e: &regex::Error) -> String {
    let text = e.to_string();
    let line = text.lines().rev().find(|l| !l.trim().is_empty());
    let line = line.unwrap_or(&text).trim();
    line.strip_prefix("error: ").unwrap_or(line).to_owned()
}

fn lit(v: &Value) -> Lit {
    match v {
        Value::Null => Lit::Nil,
        Value::String(s) => Lit::Str(s.as_bytes().to_vec()),
        Value::Number(n) => n.as_f64().map_or(Lit::Other, Lit::Num),
        Value::Bool(b) => Lit::Bool(*b),
        _ => Lit::Other,
    }
}

fn lit_number(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => to_number(s.as_bytes()),
        _ => None,
    }
}

/// Lua's `tonumber` on text: decimal or `0x` hex, surrounding blanks allowed.
pub(crate) fn to_number(text: &[u8]) -> Option<f64> {
    let s = std::str::from_utf8(text).ok()?.trim();
    let (neg, digits) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s),
    };
    if let Some(hex) = digits
        .strip_prefix("0x")
        .or_else(|| digits.strip_prefix("0X"))
    {
        let n = u64::from_str_radix(hex, 16).ok()? as f64;
        return Some(if neg { -n } else { n });
    }
    if s.is_empty()
        || s.bytes()
            .any(|b| b.is_ascii_alphabetic() && b != b'e' && b != b'E')
    {
        return None;
    }
    s.parse::<f64>().ok()
}

fn var_number(v: &Option<Var<'_>>) -> Option<f64> {
    match v {
        Some(Var::Str(s)) => to_number(s),
        Some(Var::Num(n)) => Some(*n),
        _ => None,
    }
}

/// Lua's `==` between a variable and a literal: equal types only.
fn lua_eq(v: &Option<Var<'_>>, lit: &Lit) -> bool {
    match (v, lit) {
        (None, Lit::Nil) => true,
        (Some(Var::Str(a)), Lit::Str(b)) => *a == b.as_slice(),
        (Some(Var::Num(a)), Lit::Num(b)) => a == b,
        (Some(Var::Bool(a)), Lit::Bool(b)) => a == b,
        _ => false,
    }
}

/// `==` with lua-resty-expr's coercion: a number on the right makes the
/// variable compare as a number, and a variable that is no number is unequal.
fn expr_eq(v: &Option<Var<'_>>, lit: &Lit) -> Option<bool> {
    if let Lit::Num(n) = lit {
        return var_number(v).map(|x| x == *n);
    }
    Some(lua_eq(v, lit))
}

fn eval_rule(op: &Op, v: Option<Var<'_>>) -> bool {
    match op {
        Op::Eq(lit) => expr_eq(&v, lit).unwrap_or(false),
        Op::Ne(lit) => expr_eq(&v, lit).is_none_or(|eq| !eq),
        Op::Gt(r) => cmp(&v, *r, |a, b| a > b),
        Op::Ge(r) => cmp(&v, *r, |a, b| a >= b),
        Op::Lt(r) => cmp(&v, *r, |a, b| a < b),
        Op::Le(r) => cmp(&v, *r, |a, b| a <= b),
        Op::Regex(re) => match &v {
            Some(Var::Str(s)) => re.is_match(s),
            Some(Var::Num(n)) => re.is_match(format_number(*n).as_bytes()),
            _ => false,
        },
        Op::Never => false,
        Op::In(list) => list.iter().any(|lit| lua_eq(&v, lit)),
        Op::Has(lit) => match &v {
            Some(Var::List(items)) => items.iter().any(|item| lua_eq(&Some(item.clone()), lit)),
            _ => false,
        },
        Op::IpMatch(rules) => match &v {
            Some(Var::Str(s)) => std::str::from_utf8(s)
                .ok()
                .and_then(|t| t.trim().parse::<IpAddr>().ok())
                .is_some_and(|ip| rules.iter().any(|r| r.contains(&ip))),
            _ => false,
        },
    }
}

fn cmp(v: &Option<Var<'_>>, r: Option<f64>, f: fn(f64, f64) -> bool) -> bool {
    match (var_number(v), r) {
        (Some(a), Some(b)) => f(a, b),
        _ => false,
    }
}

fn format_number(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{}", n as i64)
    } else {
        format!("{n}")
    }
}

fn eval(node: &Node, vars: &dyn Vars) -> bool {
    match node {
        Node::Rule { var, op, negate } => eval_rule(op, vars.var(var)) != *negate,
        Node::Logic { op, children } => match op {
            Logic::And => children.iter().all(|c| eval(c, vars)),
            Logic::Or => children.iter().any(|c| eval(c, vars)),
            Logic::NotAnd => !children.iter().all(|c| eval(c, vars)),
            Logic::NotOr => !children.iter().any(|c| eval(c, vars)),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::collections::HashMap;

    fn holds(rule: Value, vars: &[(&str, &str)]) -> bool {
        let vars: HashMap<&str, &str> = vars.iter().copied().collect();
        Expr::parse(&rule).unwrap().eval(&vars)
    }

    #[test]
    fn operators() {
        let v = [("arg_a", "5"), ("http_x", "Hello"), ("ip", "10.0.0.7")];
        assert!(holds(json!([["arg_a", "5"]]), &v));
        assert!(holds(json!([["arg_a", "==", 5]]), &v));
        assert!(holds(json!([["arg_a", "~=", 6]]), &v));
        assert!(holds(json!([["arg_a", ">", 4], ["arg_a", "<=", "5"]]), &v));
        assert!(!holds(json!([["http_x", ">", 4]]), &v));
        assert!(holds(json!([["http_x", "~~", "^He"]]), &v));
        assert!(!holds(json!([["http_x", "~~", "^he"]]), &v));
        assert!(holds(json!([["http_x", "~*", "^he"]]), &v));
        assert!(holds(json!([["http_x", "IN", ["a", "Hello"]]]), &v));
        assert!(holds(json!([["ip", "ipmatch", ["10.0.0.0/8"]]]), &v));
        assert!(holds(json!([["http_x", "!", "==", "x"]]), &v));
        assert!(holds(json!([["missing", "~=", "x"]]), &v));
        assert!(!holds(json!([["missing", "==", "x"]]), &v));
        assert!(holds(json!([["missing", "==", null]]), &v));
    }

    #[test]
    fn logic() {
        let v = [("a", "1"), ("b", "2")];
        assert!(holds(json!(["OR", ["a", "9"], ["b", "2"]]), &v));
        assert!(!holds(json!(["!OR", ["a", "9"], ["b", "2"]]), &v));
        assert!(holds(json!(["!AND", ["a", "1"], ["b", "9"]]), &v));
        assert!(holds(
            json!([["a", "1"], ["OR", ["b", "9"], ["b", "2"]]]),
            &v
        ));
        assert!(holds(json!([]), &v));
    }

    #[test]
    fn has_reads_lists() {
        struct L;
        impl Vars for L {
            fn var(&self, _: &str) -> Option<Var<'_>> {
                Some(Var::List(vec![Var::Str(b"x"), Var::Str(b"y")]))
            }
        }
        let e = Expr::parse(&json!([["tags", "has", "y"]])).unwrap();
        assert!(e.eval(&L));
    }

    #[test]
    fn errors() {
        let err = |v: Value| Expr::parse(&v).unwrap_err();
        assert_eq!(err(json!([["a", "xyz", 1]])), "invalid operator 'xyz'");
        assert_eq!(
            err(json!(["a", "==", 1])),
            "rule should be wrapped inside brackets"
        );
        assert_eq!(err(json!([["a", "not", "==", 1]])), "bad 'not' expression");
        assert!(err(json!([["a", "~~", "("]])).starts_with("invalid regex"));
        assert_eq!(err(json!([["a", "ipmatch", "x"]])), "invalid IP address: x");
    }

    #[test]
    fn an_operator_as_the_second_item_has_a_nil_value() {
        // lua-resty-expr's `{var, "~=", nil}`: a table of two items.
        assert!(holds(json!([["arg_k", "~="]]), &[("arg_k", "v")]));
        assert!(!holds(json!([["arg_k", "~="]]), &[]));
        assert!(holds(json!([["arg_k", "=="]]), &[]));
        assert!(!holds(json!([["arg_k", "IN"]]), &[("arg_k", "v")]));
        // Any other second item is the value of `==`.
        assert!(holds(json!([["arg_k", "=~"]]), &[("arg_k", "=~")]));
    }

    #[test]
    fn a_number_as_regex_is_its_text() {
        assert!(holds(json!([["arg_k", "~~", 12]]), &[("arg_k", "a12b")]));
        assert!(!holds(json!([["arg_k", "~~", 12]]), &[("arg_k", "a1b")]));
    }

    #[test]
    fn tolerant_parsing_keeps_flawed_comparisons_as_false() {
        let rule = json!([["arg_k", "~~", "[0"], ["arg_a", "==", "1"]]);
        assert!(Expr::parse(&rule)
            .unwrap_err()
            .starts_with("invalid regex \"[0\""));
        let (e, flaws) = Expr::parse_tolerant(&rule).unwrap();
        assert_eq!(flaws.len(), 1);
        assert_eq!(flaws[0].rule, r#"["arg_k","~~","[0"]"#);
        assert!(flaws[0].problem.starts_with("invalid regex \"[0\""));
        let v: HashMap<&str, &str> = [("arg_k", "[0"), ("arg_a", "1")].into();
        assert!(!e.eval(&v));
        // As in lua-resty-expr, `!` negates the false comparison.
        let (e, _) = Expr::parse_tolerant(&json!([["arg_k", "!", "~*", "("]])).unwrap();
        assert!(e.eval(&v));
        let (e, flaws) =
            Expr::parse_tolerant(&json!(["OR", ["a", "~~", true], ["b", "1"]])).unwrap();
        assert_eq!(flaws[0].rule, r#"["a","~~",true]"#);
        assert!(e.eval(&HashMap::from([("b", "1")])));
        // What lua-resty-expr refuses at compile time stays refused.
        assert!(Expr::parse_tolerant(&json!([["a", "xyz", 1]])).is_err());
        assert!(Expr::parse_tolerant(&json!([["a", "ipmatch", "x"]])).is_err());
        let (_, none) = Expr::parse_tolerant(&json!([["a", "~~", "^a"]])).unwrap();
        assert!(none.is_empty());
    }

    #[test]
    fn lua_tonumber() {
        assert_eq!(to_number(b" 12 "), Some(12.0));
        assert_eq!(to_number(b"0x10"), Some(16.0));
        assert_eq!(to_number(b"1e3"), Some(1000.0));
        assert_eq!(to_number(b"inf"), None);
        assert_eq!(to_number(b"abc"), None);
    }
}
