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
}

impl Pattern {
    /// Parses `text`. With `no_param_match`, `:` and `{` are ordinary text.
    ///
    /// Grammar, segment by segment (segments are split on `/`):
    /// `:name` is a param; `{name:regex}` is a param whose segment must match
    /// `regex` in full; `*name` (or a bare `*`, captured as `:ext`) is the rest
    /// of the path and must be the last segment; a last segment ending in `*`
    /// (`/aa*`) is a prefix. Any other `:`, `*`, `{` is literal text.
    pub fn parse(text: &str, no_param_match: bool) -> Result<Pattern, String> {
        if text.is_empty() {
            return Err("empty path".into());
        }
        let mut tokens: Vec<Token> = Vec::new();
        let segments: Vec<&str> = text.split('/').collect();
        let last = segments.len() - 1;
        for (i, seg) in segments.iter().enumerate() {
            if i > 0 {
                push_literal(&mut tokens, b"/");
            }
            if !no_param_match {
                if let Some(name) = seg.strip_prefix(':') {
                    if name.is_empty() {
                        return Err(format!("{text:?}: a ':' param needs a name"));
                    }
                    tokens.push(Token::Param {
                        name: name.into(),
                        constraint: None,
                    });
                    continue;
                }
                if let Some(param) = parse_constrained(seg).transpose() {
                    let (name, constraint) = param.map_err(|e| format!("{text:?}: {e}"))?;
                    tokens.push(Token::Param {
                        name: name.into(),
                        constraint: Some(constraint),
                    });
                    continue;
                }
            }
            if let Some(name) = seg.strip_prefix('*') {
                if i != last {
                    return Err(format!(
                        "{text:?}: a catch-all '*{name}' must be the last segment"
                    ));
                }
                let name = if name.is_empty() {
                    ANONYMOUS_CATCH_ALL
                } else {
                    name
                };
                tokens.push(Token::CatchAll { name: name.into() });
                continue;
            }
            if i == last {
                if let Some(prefix) = seg.strip_suffix('*') {
                    push_literal(&mut tokens, prefix.as_bytes());
                    tokens.push(Token::CatchAll {
                        name: ANONYMOUS_CATCH_ALL.into(),
                    });
                    continue;
                }
            }
            push_literal(&mut tokens, seg.as_bytes());
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
        Ok(Pattern { tokens })
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
        assert!(Pattern::parse("/a/*/b", false)
            .unwrap_err()
            .contains("last segment"));
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
        assert_eq!(ranges("/u/{id:[0-9]+}/x*", "/u/12/xyz"), "id=12 :ext=yz");
    }

    #[test]
    fn no_param_match_makes_colon_literal() {
        let p = Pattern::parse("/user/:id", true).unwrap();
        assert!(p.is_exact());
    }
}
