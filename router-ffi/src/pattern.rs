//! Path patterns: parsing `/a/:b/{c:[0-9]+}/*d` into literal and dynamic tokens.

use regex::bytes::Regex;

/// The most params one path pattern may hold (keeps matching allocation-free).
pub const MAX_PARAMS: usize = 16;

/// The name a bare `*` captures into, as in lua-resty-radixtree.
pub const ANONYMOUS_CATCH_ALL: &str = ":ext";

/// One piece of a parsed pattern.
#[derive(Debug, Clone)]
pub enum Token {
    /// Bytes that must appear as they are.
    Literal(Vec<u8>),
    /// One non-empty segment (no `/`), optionally constrained by an anchored regex.
    Param {
        /// The param's name.
        name: Box<str>,
        /// The regex the segment must match, when the pattern gives one.
        constraint: Option<Constraint>,
    },
    /// The rest of the path, possibly empty, possibly holding `/`.
    CatchAll {
        /// The param's name (`ext` for an anonymous `*`).
        name: Box<str>,
    },
}

/// A regex a param segment must match as a whole.
#[derive(Debug, Clone)]
pub struct Constraint {
    /// The regex as the user wrote it.
    pub source: Box<str>,
    /// The same, anchored at both ends.
    pub regex: Regex,
}

/// A parsed path pattern.
#[derive(Debug, Clone)]
pub struct Pattern {
    /// Literal runs merged; never two literals in a row.
    pub tokens: Vec<Token>,
    /// For a pattern matched as lua-resty-radixtree matches it, as a regex
    /// built from its segments: the regex's source (see [`Pattern::parse`]).
    /// The tokens then give the literal prefix and the param names only.
    pub regex: Option<Box<str>>,
}

/// Bytes that change the meaning of a regex (PCRE's or Rust's) where they
/// stand outside a class; `]` and `}` alone are literal in both.
const META: &[u8] = b"\\^$.|?*+()[{";

/// Prefix of the capture groups of params in a pattern's regex.
pub(crate) const GROUP: &str = "rrp";

/// One `/`-separated segment of a pattern.
enum Seg<'t> {
    Text(&'t str),
    Param(&'t str, Option<Constraint>),
    /// `*name`, or a bare `*` (`name` is then `:ext`).
    Star(&'t str, bool),
}

impl Pattern {
    /// Parses `text`. With `no_param_match`, `:` and `{` are ordinary text.
    ///
    /// Grammar, segment by segment (segments are split on `/`): `:name` is a
    /// param; `{name:regex}` is a param whose segment must match `regex` in
    /// full; `*name` (or a bare `*`, captured as `:ext`) is the rest of the
    /// path, or, in the middle of a pattern, any run of bytes.
    ///
    /// - Without any of those, a pattern is exact, or a prefix when it ends
    ///   in `*` (`/aa*`, `/a/*`): all its other bytes are text.
    /// - With them, lua-resty-radixtree matches the whole pattern as a regex
    ///   built from its segments, the text ones keeping their regex meaning
    ///   (`/nodes/?` takes `/nodes` too). When that text holds no regex
    ///   metacharacter (a `.` in the literal prefix is fine: the prefix is
    ///   compared as text first) the tree reads the pattern exactly as the
    ///   regex would, and `regex` stays `None`; otherwise, or with a `*` in
    ///   the middle, `regex` holds the source that [`crate::Router`] matches.
    pub fn parse(text: &str, no_param_match: bool) -> Result<Pattern, String> {
        if text.is_empty() {
            return Err("empty path".into());
        }
        let raw: Vec<&str> = text.split('/').collect();
        let last = raw.len() - 1;
        let mut segs = Vec::with_capacity(raw.len());
        for seg in &raw {
            segs.push(segment(seg, no_param_match).map_err(|e| format!("{text:?}: {e}"))?);
        }
        let dynamic = segs.iter().enumerate().any(|(i, s)| match s {
            Seg::Text(_) => false,
            Seg::Param(..) => true,
            Seg::Star(_, bare) => !bare || i != last,
        });
        if !dynamic {
            // Exact, or a prefix: `*` as the last byte, nothing else special.
            let mut tokens = Vec::new();
            match text.strip_suffix('*') {
                Some(prefix) => {
                    push_literal(&mut tokens, prefix.as_bytes());
                    tokens.push(Token::CatchAll {
                        name: ANONYMOUS_CATCH_ALL.into(),
                    });
                }
                None => push_literal(&mut tokens, text.as_bytes()),
            }
            return Ok(Pattern {
                tokens,
                regex: None,
            });
        }
        let mut tokens: Vec<Token> = Vec::new();
        let mut needs_regex = false;
        for (i, seg) in segs.iter().enumerate() {
            if i > 0 {
                push_literal(&mut tokens, b"/");
            }
            match seg {
                Seg::Text(t) => {
                    // In the literal prefix a `.` matches itself: the prefix
                    // is compared as text before the regex runs.
                    let in_prefix = tokens.iter().all(|t| matches!(t, Token::Literal(_)));
                    needs_regex |= t
                        .bytes()
                        .any(|b| META.contains(&b) && !(in_prefix && b == b'.'));
                    push_literal(&mut tokens, t.as_bytes());
                }
                Seg::Param(name, constraint) => tokens.push(Token::Param {
                    name: (*name).into(),
                    constraint: constraint.clone(),
                }),
                Seg::Star(name, _) => {
                    needs_regex |= i != last;
                    tokens.push(Token::CatchAll {
                        name: (*name).into(),
                    });
                }
            }
        }
        let params = tokens
            .iter()
            .filter(|t| !matches!(t, Token::Literal(_)))
            .count();
        if params > MAX_PARAMS {
            return Err(format!(
                "{text:?}: {params} params, at most {MAX_PARAMS} are allowed"
            ));
        }
        let regex = needs_regex.then(|| regex_source(&segs).into_boxed_str());
        Ok(Pattern { tokens, regex })
    }

    /// True when the pattern is literal text only.
    pub fn is_exact(&self) -> bool {
        self.tokens.iter().all(|t| matches!(t, Token::Literal(_)))
    }

    /// The literal text before the first param or catch-all.
    pub fn literal_prefix(&self) -> &[u8] {
        match self.tokens.first() {
            Some(Token::Literal(bytes)) => bytes,
            _ => b"",
        }
    }

    /// The names of the params and catch-alls, in order.
    pub fn param_names(&self) -> Vec<Box<str>> {
        self.param_slots().into_iter().map(|s| s.name).collect()
    }

    /// Where each param and catch-all sits in a path this pattern matches.
    pub(crate) fn param_slots(&self) -> Vec<ParamSlot> {
        let (mut segment, mut offset) = (0u32, 0u32);
        let params = self
            .tokens
            .iter()
            .filter(|t| !matches!(t, Token::Literal(_)));
        let mut out = Vec::with_capacity(params.count());
        for t in &self.tokens {
            match t {
                Token::Literal(bytes) => {
                    for &b in bytes {
                        if b == b'/' {
                            segment = segment.saturating_add(1);
                            offset = 0;
                        } else {
                            offset = offset.saturating_add(1);
                        }
                    }
                }
                Token::Param { name, .. } | Token::CatchAll { name } => out.push(ParamSlot {
                    name: name.clone(),
                    segment,
                    offset,
                    rest: matches!(t, Token::CatchAll { .. }),
                }),
            }
        }
        out
    }
}

/// One param of a pattern, located by the path segments (split on `/`) of
/// any path the pattern matches: a param is one whole segment, a catch-all
/// the rest of the path from `offset` bytes into its segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ParamSlot {
    pub name: Box<str>,
    /// Index of the segment it starts in (the text before the first `/` is segment 0).
    pub segment: u32,
    /// Bytes of literal text before it in that segment.
    pub offset: u32,
    /// A catch-all (to the end of the path) rather than one segment.
    pub rest: bool,
}

impl ParamSlot {
    /// The byte ranges of `slots` in `path`, which their pattern matched.
    pub fn ranges<'s, 'p>(
        slots: &'s [ParamSlot],
        path: &'p [u8],
    ) -> impl Iterator<Item = (&'s ParamSlot, std::ops::Range<usize>)> + use<'s, 'p> {
        // `at` is where segment `seg` starts; both only move forward.
        let (mut seg, mut at) = (0u32, 0usize);
        slots.iter().map_while(move |slot| {
            while seg < slot.segment {
                at += path.get(at..)?.iter().position(|&b| b == b'/')? + 1;
                seg += 1;
            }
            let start = at.checked_add(slot.offset as usize)?;
            let end = match slot.rest {
                true => path.len(),
                false => {
                    let tail = path.get(start..)?;
                    start + tail.iter().position(|&b| b == b'/').unwrap_or(tail.len())
                }
            };
            (start <= end && end <= path.len()).then_some((slot, start..end))
        })
    }
}

/// One segment of a pattern, classified.
fn segment(seg: &str, no_param_match: bool) -> Result<Seg<'_>, String> {
    if !no_param_match {
        if let Some(name) = seg.strip_prefix(':') {
            if name.is_empty() {
                return Err("a ':' param needs a name".into());
            }
            return Ok(Seg::Param(name, None));
        }
        if let Some((name, constraint)) = parse_constrained(seg)? {
            return Ok(Seg::Param(name, Some(constraint)));
        }
    }
    Ok(match seg.strip_prefix('*') {
        Some("") => Seg::Star(ANONYMOUS_CATCH_ALL, true),
        Some(name) => Seg::Star(name, false),
        None => Seg::Text(seg),
    })
}

/// The regex lua-resty-radixtree builds from `segs` (segments joined by
/// `\/`, text kept as regex, `:name` as `([^/]+)`, `*name` as any bytes),
/// with named groups for the params, anchored at the start only: the match
/// a regex engine finds first must then span the whole path, as there.
fn regex_source(segs: &[Seg<'_>]) -> String {
    let mut out = String::from("^(?:");
    let mut n = 0;
    for (i, seg) in segs.iter().enumerate() {
        if i > 0 {
            out.push_str("\\/");
        }
        match seg {
            Seg::Text(t) => translate(t, &mut out),
            Seg::Param(..) => {
                out.push_str(&format!("(?P<{GROUP}{n}>[^/]+)"));
                n += 1;
            }
            Seg::Star(..) => {
                out.push_str(&format!("(?P<{GROUP}{n}>(?s:.*))"));
                n += 1;
            }
        }
    }
    out.push(')');
    out
}

/// Copies the PCRE text `lit` into `out` as Rust regex syntax: a `{` that
/// does not open a counted repetition (`{2}`, `{2,}`, `{2,5}`) is literal
/// in PCRE, an error in Rust, so it is escaped. The rest is the same.
fn translate(lit: &str, out: &mut String) {
    let mut chars = lit.char_indices();
    while let Some((at, c)) = chars.next() {
        match c {
            '\\' => {
                out.push(c);
                if let Some((_, next)) = chars.next() {
                    out.push(next);
                }
            }
            '{' if !counted_repetition(&lit[at + 1..]) => out.push_str("\\{"),
            _ => out.push(c),
        }
    }
}

/// `rest` (after a `{`) is `digits}`, `digits,}` or `digits,digits}`.
fn counted_repetition(rest: &str) -> bool {
    let digits = |s: &str| s.bytes().take_while(u8::is_ascii_digit).count();
    let n = digits(rest);
    if n == 0 {
        return false;
    }
    let rest = &rest[n..];
    match rest.as_bytes().first() {
        Some(b'}') => true,
        Some(b',') => {
            let rest = &rest[1..];
            rest[digits(rest)..].starts_with('}')
        }
        _ => false,
    }
}

fn push_literal(tokens: &mut Vec<Token>, bytes: &[u8]) {
    if bytes.is_empty() {
        return;
    }
    if let Some(Token::Literal(prev)) = tokens.last_mut() {
        prev.extend_from_slice(bytes);
    } else {
        tokens.push(Token::Literal(bytes.to_vec()));
    }
}

/// `{name:regex}` as a whole segment, or `None` when the segment is not of that form.
fn parse_constrained(seg: &str) -> Result<Option<(&str, Constraint)>, String> {
    let Some(inner) = seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')) else {
        return Ok(None);
    };
    let Some((name, source)) = inner.split_once(':') else {
        return Ok(None);
    };
    if name.is_empty() {
        return Err(format!("param {seg:?} needs a name before ':'"));
    }
    let regex = Regex::new(&format!("^(?:{source})$"))
        .map_err(|e| format!("param {name:?}: invalid regex {source:?}: {e}"))?;
    Ok(Some((
        name,
        Constraint {
            source: source.into(),
            regex,
        },
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape(text: &str) -> String {
        let p = Pattern::parse(text, false).unwrap();
        p.tokens
            .iter()
            .map(|t| match t {
                Token::Literal(b) => format!("'{}'", String::from_utf8_lossy(b)),
                Token::Param {
                    name,
                    constraint: None,
                } => format!(":{name}"),
                Token::Param {
                    name,
                    constraint: Some(c),
                } => format!("{{{name}:{}}}", c.source),
                Token::CatchAll { name } => format!("*{name}"),
            })
            .collect::<Vec<_>>()
            .join(" ")
    }

    #[test]
    fn shapes() {
        assert_eq!(shape("/a/b"), "'/a/b'");
        assert_eq!(shape("/a/*"), "'/a/' *:ext");
        assert_eq!(shape("/aa*"), "'/aa' *:ext");
        assert_eq!(shape("*"), "*:ext");
        assert_eq!(shape("/user/:id/*action"), "'/user/' :id '/' *action");
        assert_eq!(shape("/foo:bar/x*y"), "'/foo:bar/x*y'");
        assert_eq!(shape("/u/{id:[0-9]+}"), "'/u/' {id:[0-9]+}");
        assert_eq!(shape("/:id/v1.0/"), "'/' :id '/v1.0/'");
    }

    #[test]
    fn refusals() {
        assert!(Pattern::parse("", false).is_err());
        assert!(Pattern::parse("/a/:", false).is_err());
        assert!(Pattern::parse("/a/{id:[}", false)
            .unwrap_err()
            .contains("invalid regex"));
        let many = "/:a".repeat(MAX_PARAMS + 1);
        assert!(Pattern::parse(&many, false).is_err());
    }

    #[test]
    fn param_slots_locate_params_in_a_path() {
        let ranges = |pattern: &str, path: &str| {
            let slots = Pattern::parse(pattern, false).unwrap().param_slots();
            ParamSlot::ranges(&slots, path.as_bytes())
                .map(|(s, r)| format!("{}={}", s.name, &path[r]))
                .collect::<Vec<_>>()
                .join(" ")
        };
        assert_eq!(ranges("/a/:x/b/:y", "/a/1/b/22"), "x=1 y=22");
        assert_eq!(
            ranges("/user/:id/*action", "/user/7/a/b"),
            "id=7 action=a/b"
        );
        assert_eq!(ranges("/user/:id/*action", "/user/7/"), "id=7 action=");
        assert_eq!(ranges("/aa*", "/aa/bb"), ":ext=/bb");
        assert_eq!(ranges("*", "/x/y"), ":ext=/x/y");
        assert_eq!(ranges(":a/:b", "x/y"), "a=x b=y");
        assert_eq!(ranges("/u/{id:[0-9]+}/*", "/u/12/xyz"), "id=12 :ext=xyz");
    }

    /// The regex source, or "tree" when the tree reads the pattern.
    fn regex(text: &str) -> String {
        let p = Pattern::parse(text, false).unwrap();
        p.regex.map_or("tree".into(), String::from)
    }

    #[test]
    fn text_with_regex_meaning_needs_the_regex() {
        // Exact and prefix patterns are text, whatever they hold.
        for text in ["/a.b", "/a+b/*", "/v1.0*", "/a?/x*y", "*", "/foo:bar"] {
            assert_eq!(regex(text), "tree", "{text}");
        }
        // Param patterns whose text has no regex meaning: the tree.
        for text in [
            "/user/:id",
            "/v1.0/:id/x",
            "/a/:id/*",
            "/a/*rest",
            "/a:b/:c/d",
        ] {
            assert_eq!(regex(text), "tree", "{text}");
        }
        assert_eq!(
            regex("/api/:v/nodes/?"),
            "^(?:\\/api\\/(?P<rrp0>[^/]+)\\/nodes\\/?)"
        );
        assert_eq!(regex("/:id/v1.0"), "^(?:\\/(?P<rrp0>[^/]+)\\/v1.0)");
        // A `+` in the prefix changes what the prefix's regex matches.
        assert_ne!(regex("/a+/:id"), "tree");
        // A `*` ending a param pattern's last segment is a quantifier there.
        assert_eq!(regex("/u/:id/x*"), "^(?:\\/u\\/(?P<rrp0>[^/]+)\\/x*)");
        // A `*` in the middle: any bytes, `/` included.
        assert_eq!(
            regex("/a/*/b/*rest"),
            "^(?:\\/a\\/(?P<rrp0>(?s:.*))\\/b\\/(?P<rrp1>(?s:.*)))"
        );
        // PCRE's literal `{` is escaped for Rust; counted repetitions stay.
        assert_eq!(
            regex("/:a/x{y}/b{2}/c{1,}"),
            "^(?:\\/(?P<rrp0>[^/]+)\\/x\\{y}\\/b{2}\\/c{1,})"
        );
        assert_eq!(regex("/:a/\\{x"), "^(?:\\/(?P<rrp0>[^/]+)\\/\\{x)");
        let p = Pattern::parse("/a/*/b", false).unwrap();
        assert_eq!(p.literal_prefix(), b"/a/");
        assert_eq!(p.param_names(), vec![Box::from(":ext")]);
    }

    #[test]
    fn no_param_match_makes_colon_literal() {
        let p = Pattern::parse("/user/:id", true).unwrap();
        assert!(p.is_exact());
    }
}
