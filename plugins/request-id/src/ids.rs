//! Request id generators: UUID v4, nanoid (21 URL-safe characters) and
//! range_id (`length` characters of a configured set).

use radixgate_plugin::ConfigError;
use uuid::Uuid;

/// nanoid's alphabet (64 URL-safe characters).
const NANOID_ALPHABET: &[u8; 64] =
    b"_-0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
/// nanoid's default length.
const NANOID_LEN: usize = 21;

/// How ids are made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Generator {
    /// A random (v4) UUID, hyphenated lowercase.
    Uuid,
    /// 21 characters of nanoid's alphabet.
    NanoId,
    /// `length` characters of `chars`.
    Range {
        /// The characters to draw from (distinct).
        chars: Vec<char>,
        /// Id length.
        length: usize,
    },
}

/// Random bytes, 14 per v4 UUID (its version and variant bytes left out).
fn random_bytes(n: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(n + 14);
    while out.len() < n {
        let bytes = *Uuid::new_v4().as_bytes();
        out.extend(
            bytes
                .iter()
                .enumerate()
                .filter(|(i, _)| *i != 6 && *i != 8)
                .map(|(_, b)| *b),
        );
    }
    out.truncate(n);
    out
}

/// `length` characters drawn uniformly from `set` (rejection sampling).
fn draw(set: &[char], length: usize) -> String {
    let n = set.len().max(1);
    // The largest multiple of n that fits in a byte: bytes past it are
    // rejected so that every character is equally likely.
    let limit = 256 - 256 % n;
    let mut out = String::with_capacity(length);
    let mut taken = 0;
    while taken < length {
        for b in random_bytes(length - taken + 8) {
            if (b as usize) < limit && taken < length {
                out.push(set[b as usize % n]);
                taken += 1;
            }
        }
    }
    out
}

impl Generator {
    /// A range_id generator; refuses sets shorter than 6, lengths under 6.
    pub fn range(char_set: &str, length: usize) -> Result<Generator, ConfigError> {
        let mut chars: Vec<char> = char_set.chars().collect();
        chars.dedup();
        if chars.len() < 6 || chars.len() > 256 {
            return Err(ConfigError::field(
                "range_id.char_set",
                "must hold between 6 and 256 characters",
            ));
        }
        if !chars.iter().all(|c| c.is_ascii_graphic()) {
            return Err(ConfigError::field(
                "range_id.char_set",
                "must hold visible ASCII characters only (header values)",
            ));
        }
        if !(6..=1024).contains(&length) {
            return Err(ConfigError::field(
                "range_id.length",
                "must be between 6 and 1024",
            ));
        }
        Ok(Generator::Range { chars, length })
    }

    /// A new id.
    pub fn generate(&self) -> String {
        match self {
            Generator::Uuid => Uuid::new_v4().hyphenated().to_string(),
            Generator::NanoId => random_bytes(NANOID_LEN)
                .into_iter()
                .map(|b| NANOID_ALPHABET[(b & 63) as usize] as char)
                .collect(),
            Generator::Range { chars, length } => draw(chars, *length),
        }
    }
}
