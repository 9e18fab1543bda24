//! Short text kept inline (no allocation), longer text on the heap: what
//! the request keeps of a plugin's short outputs, such as the consumer's
//! name, set on every authenticated request.

use std::ops::Deref;

/// Most bytes kept inline.
const INLINE: usize = 30;

/// A text of any length; up to 30 bytes it needs no allocation.
#[derive(Clone, PartialEq, Eq)]
pub enum InlineText {
    /// Up to [`INLINE`] bytes, in place.
    Inline {
        /// The bytes used.
        len: u8,
        /// The text's bytes, then zeros.
        bytes: [u8; INLINE],
    },
    /// A longer text.
    Heap(Box<str>),
}

impl InlineText {
    /// `text`, inline when it fits.
    pub fn new(text: &str) -> InlineText {
        match u8::try_from(text.len()) {
            Ok(len) if text.len() <= INLINE => {
                let mut bytes = [0; INLINE];
                bytes[..text.len()].copy_from_slice(text.as_bytes());
                InlineText::Inline { len, bytes }
            }
            _ => InlineText::Heap(text.into()),
        }
    }
}

impl Deref for InlineText {
    type Target = str;

    fn deref(&self) -> &str {
        match self {
            // Whole UTF-8 text copied from a `&str`: never empty by error.
            InlineText::Inline { len, bytes } => {
                std::str::from_utf8(&bytes[..usize::from(*len)]).unwrap_or_default()
            }
            InlineText::Heap(text) => text,
        }
    }
}

impl std::fmt::Debug for InlineText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(&**self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::InlineText;

    #[test]
    fn short_and_long_texts_read_back() {
        let long = "é".repeat(20);
        for text in ["", "jack", &"x".repeat(30), &"y".repeat(31), &long] {
            let kept = InlineText::new(text);
            assert_eq!(&*kept, text);
            assert_eq!(
                matches!(kept, InlineText::Inline { .. }),
                text.len() <= 30,
                "{text}"
            );
        }
    }
}
