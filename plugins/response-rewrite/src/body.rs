//! The body side: regex filters compiled once, the bodies held between
//! chunks, the nginx replacement syntax. Held bodies are bounded: one at
//! most `max_body_size` bytes, all of one plugin instance together at most
//! [`MAX_HELD_TOTAL`]; a body past either bound, or whose filtered form
//! would pass `max_body_size`, goes to the client unchanged. Holding
//! appends each chunk once, and each filter makes one pass over the body:
//! the work is linear in the body's size.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use radixgate_plugin::replacement::replacement_syntax;
use radixgate_plugin::ConfigError;
use regex::bytes::{Regex, RegexBuilder};

/// Most bytes the bodies held by one plugin instance may add up to.
pub const MAX_HELD_TOTAL: usize = 256 << 20;

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

/// Applies every filter in order to the whole `body`, one pass each; the
/// body unchanged (`Err`) when a result would be larger than `max` bytes.
pub fn apply(filters: &[BodyFilter], body: Vec<u8>, max: usize) -> Result<Vec<u8>, Vec<u8>> {
    let mut cur: Option<Vec<u8>> = None;
    for f in filters {
        let input = cur.as_deref().unwrap_or(&body);
        let mut out = Vec::with_capacity(input.len());
        let mut last = 0;
        for caps in f.regex.captures_iter(input) {
            let Some(m) = caps.get(0) else {
                continue;
            };
            out.extend_from_slice(&input[last..m.start()]);
            caps.expand(&f.replacement, &mut out);
            last = m.end();
            if out.len() > max {
                return Err(body);
            }
            if !f.global {
                break;
            }
        }
        out.extend_from_slice(&input[last..]);
        if out.len() > max {
            return Err(body);
        }
        cur = Some(out);
    }
    Ok(cur.unwrap_or(body))
}

/// What [`Held::push`] made of a chunk.
#[derive(Debug, PartialEq, Eq)]
pub enum Push {
    /// Held: nothing goes to the client yet.
    Held,
    /// The last chunk: the whole body, to filter.
    Whole(Vec<u8>),
    /// A bound was passed: what was held and this chunk go to the client
    /// unchanged, and so does the rest of the body.
    Overflow(Vec<u8>),
}

#[derive(Default)]
struct Bodies {
    by_request: HashMap<u64, Vec<u8>>,
    total: usize,
}

/// The bodies one plugin instance holds, by request.
#[derive(Default)]
pub struct Held {
    bodies: Mutex<Bodies>,
    next: AtomicU64,
}

impl Held {
    /// A new request's key.
    pub fn key(&self) -> u64 {
        self.next.fetch_add(1, Ordering::Relaxed)
    }

    /// Adds `chunk` to request `key`'s body, at most `max` bytes of it.
    pub fn push(&self, key: u64, chunk: &[u8], last: bool, max: usize) -> Push {
        let mut b = self.bodies.lock().unwrap_or_else(|e| e.into_inner());
        let held = b.by_request.get(&key).map_or(0, Vec::len);
        let fits = held + chunk.len() <= max && b.total + chunk.len() <= MAX_HELD_TOTAL;
        if !fits || last {
            let mut body = b.by_request.remove(&key).unwrap_or_default();
            b.total -= body.len();
            body.extend_from_slice(chunk);
            return if fits {
                Push::Whole(body)
            } else {
                Push::Overflow(body)
            };
        }
        b.total += chunk.len();
        b.by_request
            .entry(key)
            .or_default()
            .extend_from_slice(chunk);
        Push::Held
    }

    /// Lets go of request `key`'s body (its response ended early).
    pub fn forget(&self, key: u64) {
        let mut b = self.bodies.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(body) = b.by_request.remove(&key) {
            b.total -= body.len();
        }
    }

    /// Bytes held now, all requests together.
    #[cfg(test)]
    pub fn total(&self) -> usize {
        self.bodies.lock().unwrap_or_else(|e| e.into_inner()).total
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn held_bodies_are_let_go_at_their_end_or_by_forget() {
        let held = Held::default();
        let (a, b) = (held.key(), held.key());
        assert_eq!(held.push(a, b"abc", false, 10), Push::Held);
        assert_eq!(held.push(b, b"xy", false, 10), Push::Held);
        assert_eq!(held.total(), 5);
        assert_eq!(held.push(a, b"d", true, 10), Push::Whole(b"abcd".to_vec()));
        assert_eq!(
            held.push(b, b"z12345678", false, 10),
            Push::Overflow(b"xyz12345678".to_vec())
        );
        assert_eq!(held.total(), 0);
        assert_eq!(held.push(a, b"q", false, 10), Push::Held);
        held.forget(a);
        assert_eq!(held.total(), 0);
    }
}
