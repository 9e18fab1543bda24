//! Comparing edge labels with the path: a label's first eight bytes are
//! kept as a word beside the edge, so most comparisons are one word.

/// Up to eight bytes of `b` as a little-endian word, zero padded.
#[inline(always)]
fn word(b: &[u8]) -> u64 {
    match b.first_chunk::<8>() {
        Some(c) => u64::from_le_bytes(*c),
        None => short_word(b),
    }
}

/// [`word`] of fewer than eight bytes.
#[cold]
fn short_word(b: &[u8]) -> u64 {
    b.iter()
        .enumerate()
        .fold(0, |w, (i, &x)| w | (x as u64) << (8 * i))
}

/// The word of the bytes of `path` from `pos` (at least `len` of them, at
/// most 8), zero padded after `len`.
#[inline(always)]
fn word_at(path: &[u8], pos: usize, len: usize) -> u64 {
    /// `MASKS[n]` keeps the low `n` bytes of a word.
    const MASKS: [u64; 9] = {
        let mut m = [0u64; 9];
        let mut n = 1;
        while n < 9 {
            m[n] = u64::MAX >> (64 - 8 * n);
            n += 1;
        }
        m
    };
    let mask = MASKS.get(len).copied().unwrap_or(u64::MAX);
    match path.get(pos..).and_then(<[u8]>::first_chunk::<8>) {
        Some(c) => u64::from_le_bytes(*c) & mask,
        // Near the end of the path: the eight bytes that end at `pos + len`.
        None => match path.get(..pos + len).and_then(<[u8]>::last_chunk::<8>) {
            Some(c) => u64::from_le_bytes(*c)
                .checked_shr(64 - 8 * len as u32)
                .unwrap_or(0),
            None => word(path.get(pos..pos + len).unwrap_or_default()),
        },
    }
}

/// A label's head: its first eight bytes (fewer for a shorter label, zero
/// padded) as a little-endian word; the low byte is its first byte.
pub(crate) fn head(label: &[u8]) -> u64 {
    word(label)
}

/// True when `path[pos..]` starts with the label of length `len` whose
/// [`head`] is `head`; `label` gives the whole label, asked for only when it
/// is longer than eight bytes.
#[inline(always)]
pub(crate) fn is_at<'l>(
    head: u64,
    len: usize,
    path: &[u8],
    pos: usize,
    label: impl FnOnce() -> &'l [u8],
) -> bool {
    if path.len().checked_sub(pos).is_none_or(|rest| rest < len) {
        return false;
    }
    if len <= 8 {
        return word_at(path, pos, len) == head;
    }
    let rest = &path[pos..];
    word(rest) == head && eq_bytes(&rest[8..len], label().get(8..).unwrap_or_default())
}

/// Equality of two slices; labels are short, so compare them as bytes or
/// overlapping words instead of calling `memcmp`.
#[inline]
fn eq_bytes(a: &[u8], b: &[u8]) -> bool {
    let len = a.len();
    if len != b.len() {
        return false;
    }
    match len {
        0 => true,
        1..=3 => a[0] == b[0] && a[len / 2] == b[len / 2] && a[len - 1] == b[len - 1],
        4..=8 => {
            let w = |x: &[u8]| match (x.first_chunk::<4>(), x.last_chunk::<4>()) {
                (Some(h), Some(t)) => Some((u32::from_ne_bytes(*h), u32::from_ne_bytes(*t))),
                _ => None,
            };
            w(a) == w(b)
        }
        _ => {
            let w = |x: &[u8]| x.first_chunk::<8>().map(|c| u64::from_ne_bytes(*c));
            a.chunks_exact(8)
                .zip(b.chunks_exact(8))
                .all(|(x, y)| w(x) == w(y))
                && w(&a[len - 8..]) == w(&b[len - 8..])
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn is_at_agrees_with_starts_with() {
        let texts: [&[u8]; 9] = [
            b"",
            b"/",
            b"ab",
            b"abc/",
            b"abcdefg",
            b"abcdefgh",
            b"abcdefghi",
            b"stargazers/x",
            b"abcdefghijklmnopqrstuvwxyz0123456789",
        ];
        for l in texts {
            let at = |p: &[u8], pos| is_at(head(l), l.len(), p, pos, || l);
            for p in texts {
                for pos in 0..=p.len() + 1 {
                    let want = p.get(pos..).is_some_and(|r| r.starts_with(l));
                    assert_eq!(at(p, pos), want, "{l:?} in {p:?} at {pos}");
                }
            }
            // A differing byte anywhere is seen.
            for i in 0..l.len() {
                let mut p = l.to_vec();
                p[i] ^= 1;
                assert!(!at(&p, 0), "{l:?} byte {i}");
            }
        }
    }
}
