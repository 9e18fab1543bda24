//! Which request origins a list allows: `*`, `**`, one origin, a comma
//! list, or regexes. Used for Access-Control-Allow-Origin and
//! Timing-Allow-Origin.

use radixgate_plugin::ConfigError;
use regex::Regex;

/// What an origins string allows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origins {
    /// `*`: any origin, answered with `*`.
    Any,
    /// `**`: any origin, answered with the request's origin.
    Echo,
    /// One origin, answered when the request's is the same.
    One(String),
    /// Several origins; the request's is answered when listed.
    List(Vec<String>),
}

impl Origins {
    /// Parses an origins string (`allow_origins`).
    pub fn parse(text: &str) -> Origins {
        match text {
            "*" => Origins::Any,
            "**" => Origins::Echo,
            _ if text.contains(',') => Origins::List(
                text.split(',')
                    .filter(|o| !o.is_empty())
                    .map(str::to_string)
                    .collect(),
            ),
            _ => Origins::One(text.to_string()),
        }
    }
}

/// A regex error on one line (the regex crate's spans several).
pub fn one_line(e: &regex::Error) -> String {
    e.to_string()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// An origin policy: regexes (which win when given) or an origins string.
#[derive(Debug, Clone)]
pub enum Policy {
    /// `*_by_regex`: any regex matching the origin (unanchored, as APISIX).
    Regex(Regex),
    /// An origins string.
    List(Origins),
}

impl Policy {
    /// Builds a policy; `field` names the regex list in errors.
    pub fn new(
        list: Option<&str>,
        regexes: Option<&[String]>,
        field: &str,
    ) -> Result<Option<Policy>, ConfigError> {
        let Some(regexes) = regexes else {
            return Ok(list.map(|l| Policy::List(Origins::parse(l))));
        };
        if regexes.is_empty() {
            return Err(ConfigError::field(
                field,
                "expect array to have at least 1 items",
            ));
        }
        for (i, re) in regexes.iter().enumerate() {
            Regex::new(re)
                .map_err(|e| ConfigError::field(&format!("{field}[{i}]"), one_line(&e)))?;
        }
        let joined: Vec<String> = regexes.iter().map(|r| format!("(?:{r})")).collect();
        let regex =
            Regex::new(&joined.join("|")).map_err(|e| ConfigError::field(field, one_line(&e)))?;
        Ok(Some(Policy::Regex(regex)))
    }

    /// The header value for a request from `origin`, if allowed: only `*`
    /// or the request's own origin is ever answered, as APISIX.
    pub fn allowed(&self, origin: Option<&str>) -> Option<String> {
        let allowed = match self {
            Policy::Regex(re) => origin.filter(|o| re.is_match(o)).map(str::to_string),
            Policy::List(Origins::Any) => Some("*".to_string()),
            Policy::List(Origins::Echo) => Some(origin.unwrap_or("*").to_string()),
            Policy::List(Origins::One(one)) => Some(one.clone()),
            Policy::List(Origins::List(list)) => origin
                .filter(|o| list.iter().any(|l| l == o))
                .map(str::to_string),
        }?;
        (allowed == "*" || Some(allowed.as_str()) == origin).then_some(allowed)
    }
}
