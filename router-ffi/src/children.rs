//! The literal children of a tree node, found by the first byte of their
//! label.

use crate::label;

/// One child edge: what a lookup compares without loading the child.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Edge {
    /// The label's [`label::head`]; its low byte is the key.
    pub head: u64,
    /// The label's length (`u32::MAX` for longer ones, which no path
    /// that a lookup accepts can hold).
    pub len: u32,
    pub node: u32,
}

impl Edge {
    fn new(label: &[u8], node: u32) -> Edge {
        Edge {
            head: label::head(label),
            len: u32::try_from(label.len()).unwrap_or(u32::MAX),
            node,
        }
    }

    fn key(&self) -> u8 {
        self.head as u8
    }
}

/// Children keyed by the first byte of their label, sorted by it.
#[derive(Debug, Default, Clone)]
pub(crate) struct Children {
    list: Box<[Edge]>,
}

impl Children {
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// The edge whose label starts with `byte`.
    #[inline(always)]
    pub fn edge(&self, byte: u8) -> Option<&Edge> {
        // A plain scan: its branches are predicted, so the next loads start
        // before the scan is done (a bit trick over packed keys, or a
        // binary search, makes them wait for the data).
        self.list.iter().find(|e| e.key() == byte)
    }

    /// The child whose label starts with `byte`.
    pub fn get(&self, byte: u8) -> Option<u32> {
        self.edge(byte).map(|e| e.node)
    }

    /// A node's only child, `node` with `label`.
    pub fn one(label: &[u8], node: u32) -> Children {
        Children {
            list: Box::new([Edge::new(label, node)]),
        }
    }

    /// Adds the child `node` with `label` (not empty); its first byte must
    /// not be taken.
    pub fn insert(&mut self, label: &[u8], node: u32) {
        let e = Edge::new(label, node);
        let at = self.list.partition_point(|x| x.key() < e.key());
        let (before, after) = self.list.split_at(at);
        // One allocation of the final size (growing the old one in place
        // went through several).
        let mut list = Vec::with_capacity(self.list.len() + 1);
        list.extend_from_slice(before);
        list.push(e);
        list.extend_from_slice(after);
        self.list = list.into_boxed_slice();
    }

    /// Drops the child `node`; false when it is not a child.
    pub fn remove(&mut self, node: u32) -> bool {
        let Some(at) = self.list.iter().position(|e| e.node == node) else {
            return false;
        };
        let (before, after) = self.list.split_at(at);
        self.list = before.iter().chain(&after[1..]).copied().collect();
        true
    }

    /// Puts `node` with `label` in the place of the child `old`.
    pub fn replace(&mut self, old: u32, label: &[u8], node: u32) {
        if let Some(e) = self.list.iter_mut().find(|e| e.node == old) {
            *e = Edge::new(label, node);
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
                c.insert(&[b, b'x'], 1000 + b as u32);
            }
            let bytes: Vec<u8> = c.list.iter().map(Edge::key).collect();
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
        let c = Children::one(b"a", 7);
        assert_eq!(c.get(0), None);
        assert_eq!(c.get(b'a'), Some(7));
        let mut c = Children::one(&[0], 3);
        c.insert(b"/", 4);
        assert_eq!((c.get(0), c.get(b'/'), c.get(1)), (Some(3), Some(4), None));
    }

    #[test]
    fn remove_and_replace() {
        let mut c = Children::one(b"a", 1);
        c.insert(b"b", 2);
        c.insert(b"cc", 3);
        assert!(c.remove(2));
        assert!(!c.remove(2));
        c.replace(3, b"c", 9);
        assert_eq!(&*c.list, &[Edge::new(b"a", 1), Edge::new(b"c", 9)]);
        assert!(c.remove(1) && c.remove(9));
        assert!(c.is_empty());
    }
}
