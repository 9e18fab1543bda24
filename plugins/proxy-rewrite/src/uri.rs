//! The upstream uri: replacement syntax, safe encoding, the kept query.

/// nginx's replacement syntax for the regex crate (shared by the rewrite plugins).
pub use radixgate_plugin::replacement::replacement_syntax;

/// Percent-encodes the bytes a path may not hold raw (controls, space,
/// `"`, `<`, `>`, `\`, `^`, `` ` ``, `{`, `|`, `}`, non-ASCII); `%` and
/// reserved characters are kept.
pub fn safe_encode(path: &str) -> String {
    let unsafe_byte = |b: u8| b <= b' ' || b >= 0x7f || b"\"<>\\^`{|}#".contains(&b);
    if !path.bytes().any(unsafe_byte) {
        return path.to_string();
    }
    let mut out = String::with_capacity(path.len() + 16);
    for b in path.bytes() {
        if unsafe_byte(b) {
            out.push_str(&format!("%{b:02X}"));
        } else {
            out.push(b as char);
        }
    }
    out
}

/// The uri sent upstream: the new path (which may carry its own query),
/// encoded unless `raw`, then the client's query appended (`&` when the
/// new uri has a query already).
pub fn upstream_uri(new: &str, client_query: &str, raw: bool) -> String {
    let (path, own_query) = match new.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (new, None),
    };
    let mut uri = if raw {
        path.to_string()
    } else {
        safe_encode(path)
    };
    if let Some(q) = own_query {
        uri.push('?');
        uri.push_str(q);
    }
    if !client_query.is_empty() {
        uri.push(if own_query.is_some() { '&' } else { '?' });
        uri.push_str(client_query);
    }
    uri
}

/// APISIX's host pattern: `^[0-9a-zA-Z-.]+(:\d{1,5})?$`.
pub fn valid_host(host: &str) -> bool {
    let (name, port) = match host.split_once(':') {
        Some((n, p)) => (n, Some(p)),
        None => (host, None),
    };
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
        && port.is_none_or(|p| (1..=5).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_digit()))
}
