//! The body side: regex filters compiled once, the held body between
//! chunks, the nginx replacement syntax.

use radixgate_plugin::replacement::replacement_syntax;
use radixgate_plugin::ConfigError;
use regex::bytes::{Regex, RegexBuilder};

use crate::config::Filter;

/// One compiled filter.
pub struct BodyFilter {
    regex: Regex,
    replacement: Vec<u8>,
    global: bool,
}

/// A regex error on one line (the regex crate's spans several).
fn one_line(e: &regex::Error) -> String {
    e.to_string()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// Compiles `filters`; errors name `filters[i].<field>`.
pub fn compile(filters: &[Filter]) -> Result<Vec<BodyFilter>, ConfigError> {
    if filters.is_empty() {
        return Err(ConfigError::field(
            "filters",
            "expect array to have at least 1 items",
        ));
    }
    filters
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let global = match f.scope.as_str() {
                "once" => false,
                "global" => true,
                other => {
                    return Err(ConfigError::field(
                        &format!("filters[{i}].scope"),
                        format!("\"{other}\" is not one of once, global"),
                    ))
                }
            };
            let mut builder = RegexBuilder::new(&f.regex);
            for option in f.options.chars() {
                match option {
                    'i' => builder.case_insensitive(true),
                    'm' => builder.multi_line(true),
                    's' => builder.dot_matches_new_line(true),
                    'x' => builder.ignore_whitespace(true),
                    'u' => builder.unicode(true),
                    // PCRE JIT and compile-once: how, not what.
                    'j' | 'o' | 'J' | 'D' => &mut builder,
                    other => {
                        return Err(ConfigError::field(
                            &format!("filters[{i}].options"),
                            format!("unsupported regex option '{other}'"),
                        ))
                    }
                };
            }
            let regex = builder.build().map_err(|e| {
                ConfigError::field(
                    &format!("filters[{i}].regex"),
                    format!("regex \"{}\" validation failed: {}", f.regex, one_line(&e)),
                )
            })?;
            Ok(BodyFilter {
                regex,
                replacement: replacement_syntax(&f.replace).into_bytes(),
                global,
            })
        })
        .collect()
}

/// Applies every filter in order to the whole body.
pub fn apply(filters: &[BodyFilter], body: &[u8]) -> Vec<u8> {
    let mut body = body.to_vec();
    for f in filters {
        let limit = if f.global { 0 } else { 1 };
        body = f
            .regex
            .replacen(&body, limit, f.replacement.as_slice())
            .into_owned();
    }
    body
}

/// Bytes as a string a request variable can hold (each byte one char).
pub fn hold(bytes: &[u8]) -> String {
    bytes.iter().map(|&b| b as char).collect()
}

/// The bytes of a string made by [`hold`].
pub fn release(held: &str) -> Vec<u8> {
    held.chars().map(|c| c as u32 as u8).collect()
}
