//! The radix tree that holds every path pattern.
//!
//! Literal text is stored on compressed edges; a param is an edge of its own
//! (one per distinct regex constraint) leading to a node whose children are
//! literal again; a catch-all is a slot on the node where it starts. Exact
//! patterns are not stored here but in a hash map beside the tree
//! (`router.rs`), which is faster for them and tried first.
//!
//! A lookup walks the literal edges as deep as the path allows, then climbs
//! back towards the root: every node on the walk where
//! some pattern turns dynamic is a *group* (the routes sharing that literal
//! prefix); groups are tried deepest first, and inside a group the matching
//! routes are tried in key order. Inside a group the walk branches only at
//! params, so a lookup costs the length of the path, not the number of routes.

use crate::host::HostCtx;
use crate::pattern::{Constraint, Token, MAX_PARAMS};
use crate::slot::{Entry, HostHit, Key, Slot};

const ROOT: u32 = 0;
const NONE: u32 = u32::MAX;

/// Byte ranges of the params, in pattern order.
pub(crate) type Captures = [(u32, u32); MAX_PARAMS];

#[derive(Debug)]
struct ParamEdge {
    constraint: Option<Box<Constraint>>,
    node: u32,
}

/// 64 bytes: slots live in their own arena, edges in boxed slices.
#[derive(Debug)]
struct Node {
    label: Box<[u8]>,
    /// Literal children by the first byte of their label, sorted.
    children: Box<[(u8, u32)]>,
    params: Box<[ParamEdge]>,
    parent: u32,
    /// Slot of the patterns that end here (`NONE` if none).
    terminal: u32,
    /// Slot of the patterns whose catch-all starts here (`NONE` if none).
    catch_all: u32,
}

impl Node {
    fn new(label: &[u8], parent: u32) -> Node {
        Node {
            label: label.into(),
            children: Box::new([]),
            params: Box::new([]),
            parent,
            terminal: NONE,
            catch_all: NONE,
        }
    }

    fn is_group(&self) -> bool {
        !self.params.is_empty() || self.catch_all != NONE
    }

    fn is_unused(&self) -> bool {
        self.children.is_empty()
            && self.params.is_empty()
            && self.terminal == NONE
            && self.catch_all == NONE
    }

    #[inline]
    fn child(&self, byte: u8) -> Option<u32> {
        let c = &self.children;
        if c.len() <= 32 {
            return c.iter().find(|(b, _)| *b == byte).map(|&(_, n)| n);
        }
        c.binary_search_by_key(&byte, |&(b, _)| b)
            .ok()
            .map(|i| c[i].1)
    }
}

/// Where a pattern's routes are stored in the tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Place {
    pub node: u32,
    pub catch_all: bool,
}

#[derive(Debug)]
pub(crate) struct Tree {
    nodes: Vec<Node>,
    free_nodes: Vec<u32>,
    slots: Vec<Slot>,
    free_slots: Vec<u32>,
}

impl Default for Tree {
    fn default() -> Self {
        Tree {
            nodes: vec![Node::new(b"", NONE)],
            free_nodes: Vec::new(),
            slots: Vec::new(),
            free_slots: Vec::new(),
        }
    }
}

/// True when `path[pos..]` starts with `label`.
#[inline]
fn has_label(path: &[u8], pos: usize, label: &[u8]) -> bool {
    match path.get(pos..pos + label.len()) {
        Some(s) => eq_bytes(s, label),
        None => false,
    }
}

/// Equality of two slices of the same length; labels are short, so compare
/// them as two overlapping words instead of calling `memcmp`.
#[inline]
fn eq_bytes(a: &[u8], b: &[u8]) -> bool {
    fn word8(x: &[u8; 8]) -> u64 {
        u64::from_ne_bytes(*x)
    }
    fn word4(x: &[u8; 4]) -> u32 {
        u32::from_ne_bytes(*x)
    }
    match a.len() {
        0..=3 => a == b,
        4..=7 => match (
            a.first_chunk(),
            b.first_chunk(),
            a.last_chunk(),
            b.last_chunk(),
        ) {
            (Some(a0), Some(b0), Some(a1), Some(b1)) => {
                word4(a0) == word4(b0) && word4(a1) == word4(b1)
            }
            _ => a == b,
        },
        8..=16 => match (
            a.first_chunk(),
            b.first_chunk(),
            a.last_chunk(),
            b.last_chunk(),
        ) {
            (Some(a0), Some(b0), Some(a1), Some(b1)) => {
                word8(a0) == word8(b0) && word8(a1) == word8(b1)
            }
            _ => a == b,
        },
        _ => a == b,
    }
}

impl Tree {
    /// The slot for `tokens`, created if missing.
    pub fn slot_mut(&mut self, tokens: &[Token]) -> (Place, &mut Slot) {
        let mut n = ROOT;
        let mut catch_all = false;
        for token in tokens {
            match token {
                Token::Literal(bytes) => n = self.insert_literal(n, bytes),
                Token::Param { constraint, .. } => n = self.param_child(n, constraint),
                Token::CatchAll { .. } => {
                    catch_all = true;
                    break;
                }
            }
        }
        let node = &self.nodes[n as usize];
        let mut s = if catch_all {
            node.catch_all
        } else {
            node.terminal
        };
        if s == NONE {
            s = self.alloc_slot();
            let node = &mut self.nodes[n as usize];
            if catch_all {
                node.catch_all = s;
            } else {
                node.terminal = s;
            }
        }
        let place = Place { node: n, catch_all };
        (place, &mut self.slots[s as usize])
    }

    fn slot_index(&self, place: Place) -> u32 {
        match self.nodes.get(place.node as usize) {
            Some(n) if place.catch_all => n.catch_all,
            Some(n) => n.terminal,
            None => NONE,
        }
    }

    /// The slot at `place`, if it still exists.
    pub fn slot_at(&mut self, place: Place) -> Option<&mut Slot> {
        let s = self.slot_index(place);
        self.slots.get_mut(s as usize)
    }

    /// Drops the slot at `place` if it is empty, and every node left unused.
    pub fn prune(&mut self, place: Place) {
        let s = self.slot_index(place);
        if self.slots.get(s as usize).is_some_and(Slot::is_empty) {
            self.free_slots.push(s);
            let node = &mut self.nodes[place.node as usize];
            if place.catch_all {
                node.catch_all = NONE;
            } else {
                node.terminal = NONE;
            }
        }
        let mut n = place.node;
        while n != ROOT && self.nodes[n as usize].is_unused() {
            let parent = self.nodes[n as usize].parent;
            let p = &mut self.nodes[parent as usize];
            if p.children.iter().any(|&(_, c)| c == n) {
                p.children = p
                    .children
                    .iter()
                    .copied()
                    .filter(|&(_, c)| c != n)
                    .collect();
            } else {
                let params = std::mem::take(&mut p.params).into_vec();
                p.params = params.into_iter().filter(|e| e.node != n).collect();
            }
            self.nodes[n as usize] = Node::new(b"", NONE);
            self.free_nodes.push(n);
            n = parent;
        }
    }

    fn alloc_slot(&mut self) -> u32 {
        match self.free_slots.pop() {
            Some(i) => {
                self.slots[i as usize] = Slot::default();
                i
            }
            None => {
                self.slots.push(Slot::default());
                (self.slots.len() - 1) as u32
            }
        }
    }

    fn alloc(&mut self, node: Node) -> u32 {
        match self.free_nodes.pop() {
            Some(i) => {
                self.nodes[i as usize] = node;
                i
            }
            None => {
                self.nodes.push(node);
                (self.nodes.len() - 1) as u32
            }
        }
    }

    fn param_child(&mut self, n: u32, constraint: &Option<Constraint>) -> u32 {
        let same = |e: &ParamEdge| match (&e.constraint, constraint) {
            (None, None) => true,
            (Some(a), Some(b)) => a.source == b.source,
            _ => false,
        };
        if let Some(e) = self.nodes[n as usize].params.iter().find(|e| same(e)) {
            return e.node;
        }
        let child = self.alloc(Node::new(b"", n));
        let edge = ParamEdge {
            constraint: constraint.clone().map(Box::new),
            node: child,
        };
        let node = &mut self.nodes[n as usize];
        let mut params = std::mem::take(&mut node.params).into_vec();
        params.push(edge);
        node.params = params.into_boxed_slice();
        child
    }

    fn insert_literal(&mut self, mut n: u32, mut bytes: &[u8]) -> u32 {
        while let Some(&first) = bytes.first() {
            let Some(c) = self.nodes[n as usize].child(first) else {
                let child = self.alloc(Node::new(bytes, n));
                let p = &mut self.nodes[n as usize];
                let mut children = std::mem::take(&mut p.children).into_vec();
                let at = children.partition_point(|&(b, _)| b < first);
                children.insert(at, (first, child));
                p.children = children.into_boxed_slice();
                return child;
            };
            let label = &self.nodes[c as usize].label;
            let common = label.iter().zip(bytes).take_while(|(a, b)| a == b).count();
            if common < label.len() {
                self.split(n, c, common);
                n = self.nodes[c as usize].parent;
            } else {
                n = c;
            }
            bytes = &bytes[common..];
        }
        n
    }

    /// Splits child `c` of `n` after `at` bytes of its label; `c` keeps its id.
    fn split(&mut self, n: u32, c: u32, at: usize) {
        let label = std::mem::take(&mut self.nodes[c as usize].label);
        let (head, tail) = label.split_at(at);
        let mut mid = Node::new(head, n);
        mid.children = Box::new([(tail[0], c)]);
        let mid = self.alloc(mid);
        let cn = &mut self.nodes[c as usize];
        cn.label = tail.into();
        cn.parent = mid;
        let p = &mut self.nodes[n as usize];
        if let Some(e) = p.children.iter_mut().find(|(_, x)| *x == c) {
            e.1 = mid;
        }
    }

    /// The first route, in ROUTER.md's order, whose (dynamic) pattern
    /// matches and which `accept` takes; its param ranges go to `caps`.
    /// Allocates nothing.
    pub fn find<'r, F: FnMut(&Entry) -> bool>(
        &'r self,
        path: &[u8],
        host: &HostCtx<'_>,
        accept: &mut F,
        caps: &mut Captures,
    ) -> Option<(Entry, HostHit<'r>)> {
        if path.len() > u32::MAX as usize {
            return None;
        }
        // Walk literal edges as deep as the path allows.
        let (mut n, mut pos) = (ROOT, 0usize);
        while let Some(c) = path.get(pos).and_then(|&b| self.nodes[n as usize].child(b)) {
            let label = &self.nodes[c as usize].label;
            if !has_label(path, pos, label) {
                break;
            }
            pos += label.len();
            n = c;
        }
        // Climb back, trying each group deepest first.
        loop {
            let node = &self.nodes[n as usize];
            if node.is_group() {
                let mut after = None;
                while let Some(found) = self.best_in_group(n, pos, path, host, after, caps) {
                    if accept(&found.0) {
                        return Some(found);
                    }
                    after = Some(found.0.key);
                }
            }
            if n == ROOT {
                return None;
            }
            pos -= node.label.len();
            n = node.parent;
        }
    }

    /// The best entry of the group at `n` whose key is above `after`; its
    /// param ranges go to `caps`.
    fn best_in_group<'r>(
        &'r self,
        n: u32,
        pos: usize,
        path: &[u8],
        host: &HostCtx<'_>,
        after: Option<Key>,
        caps: &mut Captures,
    ) -> Option<(Entry, HostHit<'r>)> {
        let mut s = Search {
            tree: self,
            path,
            host,
            after,
            caps: [(0, 0); MAX_PARAMS],
            depth: 0,
            best: None,
            best_caps: caps,
        };
        s.group(n, pos);
        s.best
    }
}

/// One pass over a group: the best entry above `after` whose path matches.
struct Search<'t, 'a> {
    tree: &'t Tree,
    path: &'a [u8],
    host: &'a HostCtx<'a>,
    after: Option<Key>,
    caps: Captures,
    depth: usize,
    best: Option<(Entry, HostHit<'t>)>,
    best_caps: &'a mut Captures,
}

impl<'t> Search<'t, '_> {
    fn offer(&mut self, slot: u32) {
        let Some(slot) = self.tree.slots.get(slot as usize) else {
            return;
        };
        if let Some((entry, host)) = slot.best_after(self.host, self.after) {
            if self.best.is_none_or(|(b, _)| entry.key < b.key) {
                self.best = Some((entry, host));
                let d = self.depth;
                self.best_caps[..d].copy_from_slice(&self.caps[..d]);
            }
        }
    }

    /// The dynamic part starting at node `n`, path position `pos`: its
    /// catch-all and its params.
    fn group(&mut self, n: u32, pos: usize) {
        let node = &self.tree.nodes[n as usize];
        if self.depth >= MAX_PARAMS {
            return;
        }
        if node.catch_all != NONE {
            self.caps[self.depth] = (pos as u32, self.path.len() as u32);
            self.depth += 1;
            self.offer(node.catch_all);
            self.depth -= 1;
        }
        if node.params.is_empty() {
            return;
        }
        let rest = &self.path[pos..];
        let end = pos + rest.iter().position(|&b| b == b'/').unwrap_or(rest.len());
        if end == pos {
            return;
        }
        for edge in node.params.iter() {
            if let Some(c) = &edge.constraint {
                if !c.regex.is_match(&self.path[pos..end]) {
                    continue;
                }
            }
            self.caps[self.depth] = (pos as u32, end as u32);
            self.depth += 1;
            self.inner(edge.node, end);
            self.depth -= 1;
        }
    }

    /// Everything below a param: terminals, nested groups and literal edges.
    fn inner(&mut self, mut n: u32, mut pos: usize) {
        let tree = self.tree;
        loop {
            let node = &tree.nodes[n as usize];
            if pos == self.path.len() && node.terminal != NONE {
                self.offer(node.terminal);
            }
            if node.is_group() {
                self.group(n, pos);
            }
            let Some(c) = self.path.get(pos).and_then(|&b| node.child(b)) else {
                return;
            };
            let label = &tree.nodes[c as usize].label;
            if !has_label(self.path, pos, label) {
                return;
            }
            pos += label.len();
            n = c;
        }
    }
}
