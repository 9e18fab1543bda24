//! Path normalisation before matching, so that a route sees the path the
//! node will act on: `/public/../admin` must not match `/public/*` and then
//! reach `/admin` on the node, nor may `/%61dmin` slip past a route on
//! `/admin/*`. Like nginx's `$uri` (which APISIX matches on): percent-
//! encoded unreserved characters are decoded (RFC 3986 6.2.2.2), `.` and
//! `..` segments resolved, repeated slashes merged. Other escapes (`%2F`,
//! `%20`, ...) stay as they are. The normalised path is also what the node
//! receives. A `%` not followed by two hex digits gets 400, as nginx
//! answers: kept, it could join what a decoded escape left into a new
//! escape (`/%%36%31dmin` -> `/%61dmin`), which the node would decode to
//! a path the router never saw.

use std::borrow::Cow;

use http::uri::{PathAndQuery, Uri};

/// Why a path is refused (nginx answers 400 for both).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BadPath {
    /// It climbs above the root (`/../x`).
    AboveRoot,
    /// A `%` not followed by two hex digits.
    BadEscape,
}

/// Whether `path` needs no work: no `%`, and no `/` followed by `/` or
/// `.`. One pass over the bytes (a substring search costs hundreds of
/// instructions on every request).
fn already_normal(path: &[u8]) -> bool {
    let mut after_slash = false;
    for &b in path {
        match b {
            b'%' => return false,
            b'/' | b'.' if after_slash => return false,
            _ => {}
        }
        after_slash = b == b'/';
    }
    true
}

/// The normalised form of `path`; borrowed (no allocation) when the path is
/// already normal, which is the usual case.
pub fn normalize(path: &str) -> Result<Cow<'_, str>, BadPath> {
    if already_normal(path.as_bytes()) {
        return Ok(Cow::Borrowed(path));
    }
    let decoded = decode_unreserved(path)?;
    let mut out: Vec<&str> = Vec::new();
    let mut trailing = false;
    for seg in decoded.split('/').skip(1) {
        trailing = false;
        match seg {
            "" => trailing = true,
            "." => trailing = true,
            ".." => {
                out.pop().ok_or(BadPath::AboveRoot)?;
                trailing = true;
            }
            s => out.push(s),
        }
    }
    let mut norm = String::with_capacity(decoded.len());
    for seg in &out {
        norm.push('/');
        norm.push_str(seg);
    }
    if trailing || norm.is_empty() {
        norm.push('/');
    }
    if norm == path {
        Ok(Cow::Borrowed(path))
    } else {
        Ok(Cow::Owned(norm))
    }
}

/// Decodes `%XX` where XX is an unreserved character (ALPHA, DIGIT,
/// `-._~`); a `%` without two hex digits after it is an error.
fn decode_unreserved(path: &str) -> Result<Cow<'_, str>, BadPath> {
    if !path.contains('%') {
        return Ok(Cow::Borrowed(path));
    }
    let b = path.as_bytes();
    let mut out = String::with_capacity(path.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let (Some(h), Some(l)) = (
                b.get(i + 1).copied().and_then(hex),
                b.get(i + 2).copied().and_then(hex),
            ) else {
                return Err(BadPath::BadEscape);
            };
            let c = h * 16 + l;
            if c.is_ascii_alphanumeric() || matches!(c, b'-' | b'.' | b'_' | b'~') {
                out.push(char::from(c));
                i += 3;
                continue;
            }
        }
        // Copy up to the next '%': both ends are character boundaries, as
        // `i` is 0, a '%' or just after an ASCII escape.
        let next = b[i + 1..]
            .iter()
            .position(|&c| c == b'%')
            .map_or(b.len(), |p| p + i + 1);
        out.push_str(&path[i..next]);
        i = next;
    }
    Ok(Cow::Owned(out))
}

fn hex(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// `uri` with its path replaced by `path` (query, scheme, authority kept).
pub fn with_path(uri: &Uri, path: &str) -> Option<Uri> {
    let pq = match uri.query() {
        Some(q) => format!("{path}?{q}"),
        None => path.to_owned(),
    };
    let mut parts = uri.clone().into_parts();
    parts.path_and_query = Some(PathAndQuery::try_from(pq).ok()?);
    Uri::from_parts(parts).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normal_paths_are_borrowed() {
        for p in ["/", "/a/b", "/a/b/", "/a.b/c..d/.e", "/*"] {
            assert!(matches!(normalize(p), Ok(Cow::Borrowed(_))), "{p}");
        }
    }

    #[test]
    fn resolves_dots_slashes_and_unreserved_escapes() {
        let cases = [
            ("/public/../admin/x", "/admin/x"),
            ("/a/./b", "/a/b"),
            ("//a///b", "/a/b"),
            ("/a/b/..", "/a/"),
            ("/a/.", "/a/"),
            ("/%61dmin/x", "/admin/x"),
            ("/a/%2e%2E/b", "/b"),
            ("/a/%2F/b", "/a/%2F/b"),
            ("/a%20b/%2561", "/a%20b/%2561"),
            ("/é/%7e", "/é/~"),
            ("/%61é%7E", "/aé~"),
        ];
        for (input, want) in cases {
            assert_eq!(normalize(input).as_deref(), Ok(want), "{input}");
        }
        assert_eq!(normalize("/.."), Err(BadPath::AboveRoot));
        assert_eq!(normalize("/a/../../b"), Err(BadPath::AboveRoot));
        assert_eq!(normalize("/%2e%2e/etc"), Err(BadPath::AboveRoot));
    }

    #[test]
    fn a_percent_without_two_hex_digits_is_refused() {
        // Kept, these would decode into a new escape on the node:
        // `/%%36%31dmin` -> `/%61dmin` -> `/admin`.
        for bad in [
            "/%%36%31dmin/x",
            "/%4%61dmin",
            "/a%zz",
            "/a%4",
            "/a%",
            "/%é1",
        ] {
            assert_eq!(normalize(bad), Err(BadPath::BadEscape), "{bad}");
        }
    }

    #[test]
    fn replaces_the_path_only() {
        let u: Uri = "http://h:1/a/../b?x=%2e".parse().unwrap();
        assert_eq!(
            with_path(&u, "/b").unwrap().to_string(),
            "http://h:1/b?x=%2e"
        );
        let u: Uri = "/a?q".parse().unwrap();
        assert_eq!(with_path(&u, "/c").unwrap().to_string(), "/c?q");
    }
}
