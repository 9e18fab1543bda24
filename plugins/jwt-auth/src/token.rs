//! Where the token is: header `header` (a `Bearer ` prefix dropped), else
//! query argument `query`, else cookie `cookie`, as APISIX looks; and
//! taking it out of the request (`hide_credentials`).

use radixgate_plugin::Ctx;

/// Where the token was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// The header.
    Header,
    /// The query argument.
    Query,
    /// The cookie.
    Cookie,
}

/// The names to look under.
#[derive(Debug)]
pub struct Names<'a> {
    /// Header name.
    pub header: &'a str,
    /// Query argument name.
    pub query: &'a str,
    /// Cookie name.
    pub cookie: &'a str,
}

/// The token and where it was.
pub fn find(ctx: &Ctx<'_>, names: &Names<'_>) -> Option<(String, Source)> {
    if let Some(value) = ctx.header(names.header) {
        let token = value
            .strip_prefix("Bearer ")
            .or_else(|| value.strip_prefix("bearer "))
            .unwrap_or(value);
        return Some((token.to_owned(), Source::Header));
    }
    if let Some(raw) = ctx.query_arg(names.query) {
        return Some((decode_query_value(raw), Source::Query));
    }
    let cookies = ctx.header("Cookie")?;
    cookie(cookies, names.cookie).map(|v| (v.to_owned(), Source::Cookie))
}

/// Removes the token from where it was found.
pub fn hide(ctx: &mut Ctx<'_>, names: &Names<'_>, source: Source) {
    match source {
        Source::Header => ctx.remove_header(names.header),
        Source::Query => {
            let query = query_without(ctx.query(), names.query);
            let uri = if query.is_empty() {
                ctx.path().to_string()
            } else {
                format!("{}?{}", ctx.path(), query)
            };
            ctx.set_uri(&uri);
        }
        Source::Cookie => {
            let Some(cookies) = ctx.header("Cookie") else {
                return;
            };
            let rest = cookies_without(cookies, names.cookie);
            if rest.is_empty() {
                ctx.remove_header("Cookie");
            } else {
                ctx.set_header("Cookie", &rest);
            }
        }
    }
}

/// The value of cookie `name` in a `Cookie` header.
pub fn cookie<'c>(cookies: &'c str, name: &str) -> Option<&'c str> {
    cookies.split(';').find_map(|pair| {
        let (n, v) = pair.trim().split_once('=')?;
        (n.trim() == name).then(|| v.trim().trim_matches('"'))
    })
}

/// A `Cookie` header without cookie `name`.
pub fn cookies_without(cookies: &str, name: &str) -> String {
    cookies
        .split(';')
        .map(str::trim)
        .filter(|pair| {
            !pair.is_empty() && pair.split_once('=').map_or(*pair, |p| p.0).trim() != name
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// `query` without the arguments named `name`.
pub fn query_without(query: &str, name: &str) -> String {
    query
        .split('&')
        .filter(|pair| !pair.is_empty() && pair.split_once('=').map_or(*pair, |p| p.0) != name)
        .collect::<Vec<_>>()
        .join("&")
}

/// Percent-decodes a query value (`+` is a space); invalid escapes are
/// kept as they are.
pub fn decode_query_value(raw: &str) -> String {
    if !raw.bytes().any(|b| b == b'%' || b == b'+') {
        return raw.to_string();
    }
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = |b: u8| (b as char).to_digit(16);
                match (
                    bytes.get(i + 1).copied().and_then(hex),
                    bytes.get(i + 2).copied().and_then(hex),
                ) {
                    (Some(h), Some(l)) => {
                        out.push((h * 16 + l) as u8);
                        i += 3;
                        continue;
                    }
                    _ => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}
