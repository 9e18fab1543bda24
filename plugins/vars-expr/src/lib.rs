//! `vars` conditions in lua-resty-expr's form, as APISIX's plugins take
//! them (a library the plugins link, not a plugin): `[[var, op, value],
//! ...]` (all must hold), a rule negated as `[var, "!", op, value]`, and
//! `["OR"|"AND"|"!OR"|"!AND", rule, ...]` groups. Operators: `==`, `~=`,
//! `>`, `<`, `>=`, `<=`, `~~` (regex), `~*` (regex, any case), `in`,
//! `has`. Variables are the SDK's request variables, plus `status` and
//! `upstream_http_<name>` / `sent_http_<name>` (the response's, in the
//! response phases). Parsed once, when the config is loaded; an error
//! names the field (`vars[0][1]`).

use radixgate_plugin::serde_json::Value;
use radixgate_plugin::{ConfigError, Ctx};
use regex::{Regex, RegexBuilder};

use radixgate_plugin::vars::VarName;

/// What a rule reads.
#[derive(Debug)]
enum Subject {
    /// `status`: the response status.
    Status,
    /// `upstream_http_<name>` / `sent_http_<name>`: a response header.
    ResponseHeader(String),
    /// Any request variable.
    Var(VarName),
}

#[derive(Debug)]
enum Op {
    Eq(Value),
    Ne(Value),
    Num(fn(f64, f64) -> bool, f64),
    Matches(Regex),
    In(Vec<String>),
    Has(String),
}

/// A parsed condition.
#[derive(Debug)]
pub enum Expr {
    /// Every one holds.
    All(Vec<Expr>),
    /// At least one holds.
    Any(Vec<Expr>),
    /// The inner one does not hold.
    Not(Box<Expr>),
    /// One comparison.
    Rule(Rule),
}

/// A comparison of a subject with a value.
#[derive(Debug)]
pub struct Rule {
    subject: Subject,
    op: Op,
}

/// A regex error on one line (the regex crate's spans several).
fn one_line(e: &regex::Error) -> String {
    e.to_string()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

fn err(field: &str, why: impl std::fmt::Display) -> ConfigError {
    ConfigError::field(
        field,
        format!("failed to validate the 'vars' expression: {why}"),
    )
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn subject(name: &str) -> Subject {
    if name == "status" {
        return Subject::Status;
    }
    for prefix in ["upstream_http_", "sent_http_"] {
        if let Some(h) = name.strip_prefix(prefix) {
            return Subject::ResponseHeader(h.replace('_', "-"));
        }
    }
    Subject::Var(VarName::parse(name))
}

fn rule(items: &[Value], field: &str) -> Result<Expr, ConfigError> {
    let Some(name) = items.first().and_then(Value::as_str) else {
        return Err(err(field, "a rule starts with a variable name"));
    };
    let (negated, rest) = match items.get(1).and_then(Value::as_str) {
        Some("!") => (true, &items[2..]),
        _ => (false, &items[1..]),
    };
    let (Some(op), Some(value), 2) = (
        rest.first().and_then(Value::as_str),
        rest.get(1),
        rest.len(),
    ) else {
        return Err(err(field, "a rule is [var, operator, value]"));
    };
    let num = |f: fn(f64, f64) -> bool| -> Result<Op, ConfigError> {
        value
            .as_f64()
            .or_else(|| value.as_str().and_then(|s| s.parse().ok()))
            .map(|n| Op::Num(f, n))
            .ok_or_else(|| err(field, format!("'{op}' needs a number")))
    };
    let regex = |any_case: bool| -> Result<Op, ConfigError> {
        RegexBuilder::new(&text(value))
            .case_insensitive(any_case)
            .build()
            .map(Op::Matches)
            .map_err(|e| err(field, one_line(&e)))
    };
    let op = match op {
        "==" => Op::Eq(value.clone()),
        "~=" => Op::Ne(value.clone()),
        ">" => num(|a, b| a > b)?,
        "<" => num(|a, b| a < b)?,
        ">=" => num(|a, b| a >= b)?,
        "<=" => num(|a, b| a <= b)?,
        "~~" => regex(false)?,
        "~*" => regex(true)?,
        "in" => match value {
            Value::Array(list) => Op::In(list.iter().map(text).collect()),
            _ => return Err(err(field, "'in' needs an array")),
        },
        "has" => Op::Has(text(value)),
        other => return Err(err(field, format!("unsupported operator '{other}'"))),
    };
    let rule = Expr::Rule(Rule {
        subject: subject(name),
        op,
    });
    Ok(if negated {
        Expr::Not(Box::new(rule))
    } else {
        rule
    })
}

fn parse_item(item: &Value, field: &str) -> Result<Expr, ConfigError> {
    let Value::Array(items) = item else {
        return Err(err(field, "each rule is an array"));
    };
    let group = |items: &[Value]| -> Result<Vec<Expr>, ConfigError> {
        items
            .iter()
            .enumerate()
            .map(|(i, v)| parse_item(v, &format!("{field}[{}]", i + 1)))
            .collect()
    };
    match items.first().and_then(Value::as_str) {
        Some("AND") => Ok(Expr::All(group(&items[1..])?)),
        Some("OR") => Ok(Expr::Any(group(&items[1..])?)),
        Some("!AND") => Ok(Expr::Not(Box::new(Expr::All(group(&items[1..])?)))),
        Some("!OR") => Ok(Expr::Not(Box::new(Expr::Any(group(&items[1..])?)))),
        Some(_) => rule(items, field),
        None => Err(err(field, "a rule starts with a variable name")),
    }
}

/// Parses `vars`, one expression (an array of rules, all of which must
/// hold, or one rule or group); `field` names it in errors (`"vars"`).
pub fn parse(vars: &Value, field: &str) -> Result<Expr, ConfigError> {
    let Value::Array(items) = vars else {
        return Err(err(field, "must be an array"));
    };
    if items.first().is_some_and(Value::is_string) {
        return parse_item(vars, field);
    }
    let rules = items
        .iter()
        .enumerate()
        .map(|(i, v)| parse_item(v, &format!("{field}[{i}]")))
        .collect::<Result<_, _>>()?;
    Ok(Expr::All(rules))
}

/// Parses a list of expressions of which one must hold (fault-injection's
/// and traffic-split's `vars`: `[[[var, op, value], ...], ...]`); `field`
/// names the list in errors. An empty list holds for no request.
pub fn parse_any(list: &Value, field: &str) -> Result<Expr, ConfigError> {
    let Value::Array(items) = list else {
        return Err(err(field, "must be an array of expressions"));
    };
    let exprs = items
        .iter()
        .enumerate()
        .map(|(i, v)| parse(v, &format!("{field}[{i}]")))
        .collect::<Result<_, _>>()?;
    Ok(Expr::Any(exprs))
}

fn equal(actual: Option<&str>, expected: &Value) -> bool {
    match (actual, expected) {
        (Some(a), Value::Number(n)) => a.parse::<f64>().ok() == n.as_f64(),
        (Some(a), Value::String(s)) => a == s,
        (Some(a), Value::Bool(b)) => a == b.to_string(),
        (None, Value::Null) => true,
        _ => false,
    }
}

impl Expr {
    /// Whether the condition holds for this request and response.
    pub fn eval(&self, ctx: &Ctx<'_>) -> bool {
        match self {
            Expr::All(list) => list.iter().all(|e| e.eval(ctx)),
            Expr::Any(list) => list.iter().any(|e| e.eval(ctx)),
            Expr::Not(inner) => !inner.eval(ctx),
            Expr::Rule(r) => {
                let owned: String;
                let actual: Option<&str> = match &r.subject {
                    Subject::Status => {
                        owned = ctx.response_status().to_string();
                        Some(&owned)
                    }
                    Subject::ResponseHeader(h) => ctx.response_header(h),
                    Subject::Var(v) => match v.resolve(ctx) {
                        Some(value) => {
                            owned = value.into_owned();
                            Some(owned.as_str())
                        }
                        None => None,
                    },
                };
                match &r.op {
                    Op::Eq(v) => equal(actual, v),
                    Op::Ne(v) => !equal(actual, v),
                    Op::Num(f, n) => actual
                        .and_then(|a| a.parse::<f64>().ok())
                        .is_some_and(|a| f(a, *n)),
                    Op::Matches(re) => actual.is_some_and(|a| re.is_match(a)),
                    Op::In(list) => actual.is_some_and(|a| list.iter().any(|l| l == a)),
                    Op::Has(x) => actual.is_some_and(|a| a.split(',').any(|p| p.trim() == x)),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests;
