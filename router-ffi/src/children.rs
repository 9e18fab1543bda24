//! The literal children of a tree node, found by the first byte of their
//! label.

/// Children keyed by the first byte of their label, sorted by it.
#[derive(Debug, Default)]
pub(crate) struct Children {
    list: Box<[(u8, u32)]>,
}

impl Children {
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// The child whose label starts with `byte`.
    #[inline]
    pub fn get(&self, byte: u8) -> Option<u32> {
        // A plain scan: its branches are predicted, so the next node's
        // load starts before the scan is done (a bit trick over packed
        // keys, or a binary search, makes it wait for the data).
        self.list.iter().find(|c| c.0 == byte).map(|c| c.1)
    }

    /// A node's only child.
    pub fn one(byte: u8, id: u32) -> Children {
        Children {
            list: Box::new([(byte, id)]),
        }
    }

    /// Adds a child; its first byte must not be taken.
    pub fn insert(&mut self, byte: u8, id: u32) {
        let mut list = std::mem::take(&mut self.list).into_vec();
        let at = list.partition_point(|&(b, _)| b < byte);
        list.insert(at, (byte, id));
        self.list = list.into_boxed_slice();
    }

    /// Drops the child `id`; false when it is not a child.
    pub fn remove(&mut self, id: u32) -> bool {
        let Some(at) = self.list.iter().position(|c| c.1 == id) else {
            return false;
        };
        let mut list = std::mem::take(&mut self.list).into_vec();
        list.remove(at);
        self.list = list.into_boxed_slice();
        true
    }

    /// Puts node `new` in the place of child `old`.
    pub fn replace(&mut self, old: u32, new: u32) {
        if let Some(c) = self.list.iter_mut().find(|c| c.1 == old) {
            c.1 = new;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_every_child_and_nothing_else() {
        for n in [0usize, 1, 2, 7, 8, 9, 16, 17, 255, 256] {
            let mut c = Children::default();
            // Insert in a scrambled order; the ids follow the bytes.
            for k in 0..n {
                let b = ((k * 37) % 256) as u8;
                c.insert(b, 1000 + b as u32);
            }
            let bytes: Vec<u8> = c.list.iter().map(|&(b, _)| b).collect();
            assert_eq!(bytes.len(), n);
            assert!(bytes.windows(2).all(|w| w[0] < w[1]), "sorted");
            for b in 0..=255u8 {
                let want = bytes.contains(&b).then_some(1000 + b as u32);
                assert_eq!(c.get(b), want, "n={n} b={b}");
            }
        }
    }

    #[test]
    fn zero_byte_is_a_key_like_any_other() {
        let c = Children::one(b'a', 7);
        assert_eq!(c.get(0), None);
        assert_eq!(c.get(b'a'), Some(7));
        let mut c = Children::one(0, 3);
        c.insert(b'/', 4);
        assert_eq!((c.get(0), c.get(b'/'), c.get(1)), (Some(3), Some(4), None));
    }

    #[test]
    fn remove_and_replace() {
        let mut c = Children::one(b'a', 1);
        c.insert(b'b', 2);
        c.insert(b'c', 3);
        assert!(c.remove(2));
        assert!(!c.remove(2));
        c.replace(3, 9);
        assert_eq!(&*c.list, &[(b'a', 1), (b'c', 9)]);
        assert!(c.remove(1) && c.remove(9));
        assert!(c.is_empty());
    }
}
