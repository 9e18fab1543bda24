//! nginx's regex replacement syntax, as APISIX's rewrite plugins take it
//! (`regex_uri`, `filters[].replace`), for the `regex` crate (tested
//! through the proxy-rewrite plugin).

/// Converts an nginx-style replacement (`$1`, `${1}`, `$$`) to the regex
/// crate's (`${1}`), so that `$1a` stays capture 1 followed by `a`.
pub fn replacement_syntax(nginx: &str) -> String {
    let mut out = String::with_capacity(nginx.len() + 8);
    let mut chars = nginx.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '$' {
            out.push(c);
            continue;
        }
        match chars.peek() {
            Some('{') => out.push('$'),
            Some(d) if d.is_ascii_digit() => {
                out.push_str("${");
                while let Some(d) = chars.peek().copied().filter(char::is_ascii_digit) {
                    out.push(d);
                    chars.next();
                }
                out.push('}');
            }
            Some('$') => {
                chars.next();
                out.push_str("$$");
            }
            _ => out.push_str("$$"),
        }
    }
    out
}
