//! Path patterns matched as lua-resty-radixtree matches them: a regex built
//! from the pattern's segments ([`Pattern::regex`]), for the patterns whose
//! text has a regex meaning the tree cannot give (`/nodes/?`, a `*` in the
//! middle). Only these routes run a regex; every other one stays in the tree.
//!
//! lua-resty-radixtree runs `ngx.re.match(path, regex)` and accepts when the
//! match found first is the whole path. The regex here is anchored at the
//! start only, so a regex engine with the same leftmost-first preference
//! (Rust's, like PCRE's) finds that same first match.

use crate::expr::regex_problem;
use crate::pattern::{Pattern, Token, GROUP};
use regex::bytes::{Regex, RegexBuilder};
use std::ops::Range;

/// A compiled path regex and where its params are.
#[derive(Debug)]
pub(crate) struct PathRegex {
    regex: Regex,
    /// The capture group of each param, in pattern order.
    groups: Box<[usize]>,
    /// Our `{name:re}` params: the regex the captured value must match in
    /// full, by param; empty when the pattern has none.
    constraints: Box<[Option<Regex>]>,
}

impl PathRegex {
    /// Compiles `pattern`'s regex; `Ok(None)` when the tree reads the
    /// pattern. The error says why the regex does not compile.
    pub fn new(pattern: &Pattern) -> Result<Option<PathRegex>, String> {
        let Some(source) = pattern.regex.as_deref() else {
            return Ok(None);
        };
        // Bytes, as PCRE without its UTF-8 option: `.` and `[^/]` take any
        // byte, `\w` and `\d` are ASCII.
        let regex = RegexBuilder::new(source)
            .unicode(false)
            .build()
            .map_err(|e| format!("invalid regex: {}", regex_problem(&e)))?;
        let names: Vec<Option<&str>> = regex.capture_names().collect();
        let params = pattern
            .tokens
            .iter()
            .filter(|t| !matches!(t, Token::Literal(_)));
        let mut groups = Vec::new();
        let mut constraints = Vec::new();
        for (n, t) in params.enumerate() {
            let name = format!("{GROUP}{n}");
            let group = names.iter().position(|g| *g == Some(name.as_str()));
            groups.push(group.ok_or_else(|| format!("regex {source:?}: no group {name}"))?);
            constraints.push(match t {
                Token::Param {
                    constraint: Some(c),
                    ..
                } => Some(c.regex.clone()),
                _ => None,
            });
        }
        if constraints.iter().all(Option::is_none) {
            constraints.clear();
        }
        Ok(Some(PathRegex {
            regex,
            groups: groups.into(),
            constraints: constraints.into(),
        }))
    }

    /// True when the first match in `path` is all of it.
    pub fn is_match(&self, path: &[u8]) -> bool {
        if self.constraints.is_empty() {
            return self.regex.find(path).is_some_and(|m| m.end() == path.len());
        }
        self.ranges(path).is_some()
    }

    /// The byte range of each param in `path`, in pattern order, when the
    /// pattern matches it.
    pub fn ranges(&self, path: &[u8]) -> Option<Vec<Range<usize>>> {
        let caps = self.regex.captures(path)?;
        if caps.get(0)?.end() != path.len() {
            return None;
        }
        let mut out = Vec::with_capacity(self.groups.len());
        for (i, &g) in self.groups.iter().enumerate() {
            let m = caps.get(g)?;
            if let Some(Some(c)) = self.constraints.get(i) {
                if !c.is_match(m.as_bytes()) {
                    return None;
                }
            }
            out.push(m.range());
        }
        Some(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rx(text: &str) -> PathRegex {
        let p = Pattern::parse(text, false).unwrap();
        PathRegex::new(&p).unwrap().expect("a regex pattern")
    }

    fn params(text: &str, path: &str) -> Option<Vec<String>> {
        let r = rx(text);
        let ranges = r.ranges(path.as_bytes())?;
        assert!(r.is_match(path.as_bytes()));
        Some(ranges.into_iter().map(|x| path[x].to_string()).collect())
    }

    #[test]
    fn text_keeps_its_regex_meaning() {
        let long = "/api/:version/test/api/projects/:p/clusters/:c/nodes/?";
        let path = "/api/v4/test/api/projects/saas/clusters/123/nodes/";
        assert_eq!(params(long, path).unwrap(), ["v4", "saas", "123"]);
        assert!(rx(long).is_match(&path.as_bytes()[..path.len() - 1]));
        assert!(!rx(long).is_match(b"/api/v4/test/api/projects/saas/clusters/123/nodesX"));
        assert!(rx("/:id/v1.0").is_match(b"/5/v1X0"));
        assert_eq!(params("/u/:id/x*", "/u/7/xxx").unwrap(), ["7"]);
        assert_eq!(params("/u/:id/x*", "/u/7/"), Some(vec!["7".into()]));
        assert!(!rx("/u/:id/x*").is_match(b"/u/7/xy"));
    }

    #[test]
    fn the_first_match_must_be_the_whole_path() {
        // lua-resty-radixtree takes the first match, not the longest: with
        // `a|ab` the first is `a`, so `/x/1/ab` is not matched.
        assert!(!rx("/x/:id/(a|ab)").is_match(b"/x/1/ab"));
        assert!(rx("/x/:id/(ab|a)").is_match(b"/x/1/ab"));
        // A `+` in the prefix: the regex no longer matches the prefix's text.
        assert!(!rx("/a+/:id").is_match(b"/a+/1"));
    }

    #[test]
    fn a_star_in_the_middle_takes_any_bytes() {
        assert_eq!(params("/a/*/b", "/a/x/y/b").unwrap(), ["x/y"]);
        assert_eq!(params("/a/*/b", "/a//b").unwrap(), [""]);
        assert!(!rx("/a/*/b").is_match(b"/a/x/y/c"));
        assert_eq!(params("/a/*mid/:id", "/a/x\ny/7").unwrap(), ["x\ny", "7"]);
        // Params take any byte but `/`, UTF-8 or not.
        let r = rx("/a/*mid/:id");
        assert_eq!(r.ranges(b"/a/x/\xff\xfe"), Some(vec![3..4, 5..7]));
    }

    #[test]
    fn constraints_check_the_captured_value() {
        assert_eq!(
            params("/u/{id:[0-9]+}/*/x", "/u/12/a/x").unwrap(),
            ["12", "a"]
        );
        assert_eq!(params("/u/{id:[0-9]+}/*/x", "/u/1a/a/x"), None);
        assert!(!rx("/u/{id:[0-9]+}/*/x").is_match(b"/u/1a/a/x"));
    }

    #[test]
    fn regexes_rust_cannot_compile_are_errors() {
        for text in ["/:id/a(b", "/:id/\\Q", "/:id/a)", "/:id/(?=x)"] {
            let p = Pattern::parse(text, false).unwrap();
            let e = PathRegex::new(&p).unwrap_err();
            assert!(e.starts_with("invalid regex: "), "{text}: {e}");
            assert!(!e.contains('\n') && !e.contains("rrp"), "{text}: {e}");
        }
    }
}
