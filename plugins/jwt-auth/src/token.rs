//! Where the token is: header `header` (a `Bearer ` prefix dropped), else
//! query argument `query`, else cookie `cookie`, as APISIX looks; and
//! taking it out of the request (`hide_credentials`).

use radixgate_plugin::Ctx;
use radixgate_plugin_auth_common::{decode_query_value, query_without};

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
