//! Where a `chash` upstream takes its key from (`hash_on` + `key`), and
//! reading that key from a request's variables.

use radix_router::{Var, Vars};

use crate::config::HashOn;

/// The variable that holds the authenticated consumer's name (set once
/// authentication exists; until then absent, so the key falls back).
pub const CONSUMER_NAME: &str = "consumer_name";

/// One part of a key: a variable, or literal text between variables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyPart {
    /// A request variable (`remote_addr`, `http_x_user`, `cookie_sid`, ...).
    Var(String),
    /// Literal text (from `vars_combinations`).
    Text(String),
}

/// The parts of a key, from `hash_on` and `key`; an error names the field.
pub fn parse(hash_on: HashOn, key: Option<&str>) -> Result<Vec<KeyPart>, (String, String)> {
    let key = key.unwrap_or("");
    let bad = |reason: String| Err(("key".to_owned(), reason));
    match hash_on {
        HashOn::Vars if is_var(key) => Ok(vec![KeyPart::Var(key.to_owned())]),
        HashOn::Vars => bad(format!(
            "{key:?} is not a variable: expected uri, request_uri, args, host, remote_addr, remote_port, server_addr, server_port, request_method, scheme, arg_*, http_*, cookie_*"
        )),
        HashOn::Header if !key.is_empty() && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') => {
            Ok(vec![KeyPart::Var(format!("http_{}", key.to_ascii_lowercase().replace('-', "_")))])
        }
        HashOn::Header => bad(format!("{key:?} is not a header name")),
        HashOn::Cookie if !key.is_empty() && !key.contains([';', '=', ' ']) => {
            Ok(vec![KeyPart::Var(format!("cookie_{key}"))])
        }
        HashOn::Cookie => bad(format!("{key:?} is not a cookie name")),
        HashOn::VarsCombinations => combination(key),
        // The authenticated consumer's name (`key` is not used); without a
        // consumer the client address, as APISIX does.
        HashOn::Consumer => Ok(vec![KeyPart::Var(CONSUMER_NAME.to_owned())]),
    }
}

/// `$host-$arg_id` -> [Var(host), Text(-), Var(arg_id)].
fn combination(key: &str) -> Result<Vec<KeyPart>, (String, String)> {
    let mut parts = Vec::new();
    let mut rest = key;
    while !rest.is_empty() {
        match rest.find('$') {
            Some(0) => {
                let name_len = rest[1..]
                    .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .unwrap_or(rest.len() - 1);
                let name = &rest[1..1 + name_len];
                if !is_var(name) {
                    return Err(("key".to_owned(), format!("${name} is not a variable")));
                }
                parts.push(KeyPart::Var(name.to_owned()));
                rest = &rest[1 + name_len..];
            }
            Some(i) => {
                parts.push(KeyPart::Text(rest[..i].to_owned()));
                rest = &rest[i..];
            }
            None => {
                parts.push(KeyPart::Text(rest.to_owned()));
                rest = "";
            }
        }
    }
    if parts.iter().any(|p| matches!(p, KeyPart::Var(_))) {
        Ok(parts)
    } else {
        Err(("key".to_owned(), format!("{key:?} names no $variable")))
    }
}

/// Whether `name` is a variable the proxy can read.
pub fn is_var(name: &str) -> bool {
    const PLAIN: [&str; 12] = [
        "uri",
        "request_uri",
        "args",
        "query_string",
        "host",
        "remote_addr",
        "remote_port",
        "server_addr",
        "server_port",
        "request_method",
        "scheme",
        "is_args",
    ];
    PLAIN.contains(&name)
        || ["arg_", "http_", "cookie_"]
            .iter()
            .any(|p| name.len() > p.len() && name.starts_with(p))
}

/// The key for this request: the parts' values joined; when no variable
/// has a value, the client address (as APISIX does).
pub fn read(parts: &[KeyPart], vars: &dyn Vars) -> Vec<u8> {
    let mut key = Vec::new();
    let mut found = false;
    for p in parts {
        match p {
            KeyPart::Text(t) => key.extend_from_slice(t.as_bytes()),
            KeyPart::Var(name) => {
                if let Some(v) = vars.var(name) {
                    found = true;
                    push_var(&mut key, &v);
                }
            }
        }
    }
    if !found {
        key.clear();
        if let Some(v) = vars.var("remote_addr") {
            push_var(&mut key, &v);
        }
    }
    key
}

fn push_var(key: &mut Vec<u8>, v: &Var<'_>) {
    match v {
        Var::Str(s) => key.extend_from_slice(s),
        Var::Num(n) => key.extend_from_slice(n.to_string().as_bytes()),
        Var::Bool(b) => key.extend_from_slice(if *b { b"true" } else { b"false" }),
        Var::List(l) => {
            for item in l {
                push_var(key, item);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn parses_every_hash_on() {
        let var = |s: &str| KeyPart::Var(s.into());
        assert_eq!(
            parse(HashOn::Vars, Some("remote_addr")),
            Ok(vec![var("remote_addr")])
        );
        assert_eq!(
            parse(HashOn::Header, Some("X-User-Id")),
            Ok(vec![var("http_x_user_id")])
        );
        assert_eq!(
            parse(HashOn::Cookie, Some("sid")),
            Ok(vec![var("cookie_sid")])
        );
        assert_eq!(
            parse(HashOn::VarsCombinations, Some("$host-$arg_id")),
            Ok(vec![var("host"), KeyPart::Text("-".into()), var("arg_id")])
        );
        assert!(parse(HashOn::Vars, Some("nonsense")).is_err());
        assert!(parse(HashOn::Vars, None).is_err());
        assert!(parse(HashOn::Header, Some("a b")).is_err());
        assert!(parse(HashOn::VarsCombinations, Some("plain")).is_err());
        assert!(parse(HashOn::VarsCombinations, Some("$nope")).is_err());
        assert_eq!(parse(HashOn::Consumer, None), Ok(vec![var(CONSUMER_NAME)]));
    }

    #[test]
    fn reads_with_fallback() {
        let mut vars: HashMap<String, String> = HashMap::new();
        vars.insert("remote_addr".into(), "10.0.0.1".into());
        vars.insert("host".into(), "a.com".into());
        let parts = parse(HashOn::VarsCombinations, Some("$host/$arg_id")).unwrap();
        assert_eq!(read(&parts, &vars), b"a.com/");
        let parts = parse(HashOn::Header, Some("x-user")).unwrap();
        assert_eq!(read(&parts, &vars), b"10.0.0.1");
        // No consumer yet: the client address.
        let parts = parse(HashOn::Consumer, None).unwrap();
        assert_eq!(read(&parts, &vars), b"10.0.0.1");
        vars.insert(CONSUMER_NAME.into(), "jack".into());
        assert_eq!(read(&parts, &vars), b"jack");
    }
}
