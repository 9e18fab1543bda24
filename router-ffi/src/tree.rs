//! The radix tree of prefix and parameter routes.
//!
//! Literal text is stored on compressed edges; a param is an edge of its own
//! (one per distinct regex constraint) leading to a node whose children are
//! literal again; a catch-all is a slot on the node where it starts. Exact
//! routes live in a hash map beside the tree (see `router.rs`).
//!
//! A lookup walks the literal edges as deep as the path allows, then climbs
//! back towards the root. Every node on that walk where some pattern turns
//! dynamic is a *group* (the routes sharing that literal prefix); groups are
//! tried deepest first, and inside a group the matching routes are tried in
//! key order. Inside a group the walk only branches at params, so a lookup
//! costs the length of the path, not the number of routes.

use crate::host::HostCtx;
use crate::pattern::{Constraint, Token, MAX_PARAMS};
use crate::slot::{Entry, HostHit, Key, Slot};

pub(crate) const ROOT: u32 = 0;
const NONE: u32 = u32::MAX;

/// Byte ranges of the params, in pattern order.
pub(crate) type Captures = [(u32, u32); MAX_PARAMS];

#[derive(Debug)]
struct ParamEdge {
    constraint: Option<Constraint>,
    node: u32,
}

#[derive(Debug, Default)]
struct Node {
    label: Box<[u8]>,
    parent: u32,
    /// First byte of each child's label, parallel to `children`, sorted.
    child_bytes: Vec<u8>,
    children: Vec<u32>,
    params: Vec<ParamEdge>,
    /// Routes whose pattern ends here (only after a param).
    terminal: Option<Slot>,
    /// Routes whose pattern ends with a catch-all starting here.
    catch_all: Option<Slot>,
}

impl Node {
    fn is_group(&self) -> bool {
        !self.params.is_empty() || self.catch_all.is_some()
    }

    fn is_unused(&self) -> bool {
        self.children.is_empty()
            && self.params.is_empty()
            && self.terminal.is_none()
            && self.catch_all.is_none()
    }

    fn child(&self, byte: u8) -> Option<u32> {
        self.child_bytes
            .binary_search(&byte)
            .ok()
            .map(|i| self.children[i])
    }
}

/// Where a pattern's routes are stored in the tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Place {
    pub node: u32,
    pub catch_all: bool,
}

/// A winning entry with its host hit and param ranges.
pub(crate) struct Found<'r> {
    pub entry: Entry,
    pub host: HostHit<'r>,
    pub captures: Captures,
}

#[derive(Debug)]
pub(crate) struct Tree {
    nodes: Vec<Node>,
    free: Vec<u32>,
}

impl Default for Tree {
    fn default() -> Self {
        let root = Node {
            parent: NONE,
            ..Node::default()
        };
        Tree {
            nodes: vec![root],
            free: Vec::new(),
        }
    }
}

impl Tree {
    /// The slot for `tokens` (a pattern that is not purely literal), created
    /// if missing.
    pub fn slot_mut(&mut self, tokens: &[Token]) -> (Place, &mut Slot) {
        let mut n = ROOT;
        let mut place = None;
        for token in tokens {
            match token {
                Token::Literal(bytes) => n = self.insert_literal(n, bytes),
                Token::Param { constraint, .. } => n = self.param_child(n, constraint),
                Token::CatchAll { .. } => {
                    place = Some(Place {
                        node: n,
                        catch_all: true,
                    });
                    break;
                }
            }
        }
        let place = place.unwrap_or(Place {
            node: n,
            catch_all: false,
        });
        let node = &mut self.nodes[place.node as usize];
        let slot = if place.catch_all {
            node.catch_all.get_or_insert_with(Slot::default)
        } else {
            node.terminal.get_or_insert_with(Slot::default)
        };
        (place, slot)
    }

    /// The slot at `place`, if it still exists.
    pub fn slot_at(&mut self, place: Place) -> Option<&mut Slot> {
        let node = self.nodes.get_mut(place.node as usize)?;
        if place.catch_all {
            node.catch_all.as_mut()
        } else {
            node.terminal.as_mut()
        }
    }

    /// Drops the slot at `place` if it is empty, and every node left unused.
    pub fn prune(&mut self, place: Place) {
        let node = &mut self.nodes[place.node as usize];
        let slot = if place.catch_all {
            &mut node.catch_all
        } else {
            &mut node.terminal
        };
        if slot.as_ref().is_some_and(Slot::is_empty) {
            *slot = None;
        }
        let mut n = place.node;
        while n != ROOT && self.nodes[n as usize].is_unused() {
            let parent = self.nodes[n as usize].parent;
            let p = &mut self.nodes[parent as usize];
            if let Some(i) = p.children.iter().position(|&c| c == n) {
                p.children.remove(i);
                p.child_bytes.remove(i);
            } else if let Some(i) = p.params.iter().position(|e| e.node == n) {
                p.params.remove(i);
            }
            self.nodes[n as usize] = Node::default();
            self.free.push(n);
            n = parent;
        }
    }

    fn alloc(&mut self, node: Node) -> u32 {
        match self.free.pop() {
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
        let child = self.alloc(Node {
            parent: n,
            ..Node::default()
        });
        let edge = ParamEdge {
            constraint: constraint.clone(),
            node: child,
        };
        // Unconstrained params last, so constrained edges are easy to spot when debugging.
        let params = &mut self.nodes[n as usize].params;
        params.push(edge);
        params.sort_by_key(|e| e.constraint.is_none());
        child
    }

    fn insert_literal(&mut self, mut n: u32, mut bytes: &[u8]) -> u32 {
        while let Some(&first) = bytes.first() {
            let Some(c) = self.nodes[n as usize].child(first) else {
                let child = self.alloc(Node {
                    label: bytes.into(),
                    parent: n,
                    ..Node::default()
                });
                let p = &mut self.nodes[n as usize];
                let at = p.child_bytes.partition_point(|&b| b < first);
                p.child_bytes.insert(at, first);
                p.children.insert(at, child);
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
        let mid = self.alloc(Node {
            label: head.into(),
            parent: n,
            child_bytes: vec![tail[0]],
            children: vec![c],
            ..Node::default()
        });
        let cn = &mut self.nodes[c as usize];
        cn.label = tail.into();
        cn.parent = mid;
        let p = &mut self.nodes[n as usize];
        if let Some(i) = p.children.iter().position(|&x| x == c) {
            p.children[i] = mid;
        }
    }

    /// The first route, in ROUTER.md's order, whose path matches and which
    /// `accept` takes. Allocates nothing.
    pub fn find<'r>(
        &'r self,
        path: &[u8],
        host: &HostCtx<'_>,
        accept: &mut dyn FnMut(&Entry) -> bool,
    ) -> Option<Found<'r>> {
        // Walk literal edges as deep as the path allows.
        let (mut n, mut pos) = (ROOT, 0usize);
        loop {
            let node = &self.nodes[n as usize];
            let next = path
                .get(pos)
                .and_then(|&b| node.child(b))
                .filter(|&c| path[pos..].starts_with(&self.nodes[c as usize].label));
            match next {
                Some(c) => {
                    pos += self.nodes[c as usize].label.len();
                    n = c;
                }
                None => break,
            }
        }
        // Climb back, trying each group deepest first.
        loop {
            let node = &self.nodes[n as usize];
            if node.is_group() {
                let mut after = None;
                while let Some(found) = self.best_in_group(n, pos, path, host, after) {
                    if accept(&found.entry) {
                        return Some(found);
                    }
                    after = Some(found.entry.key);
                }
            }
            if n == ROOT {
                return None;
            }
            pos -= node.label.len();
            n = node.parent;
        }
    }

    /// The best entry of the group at `n` whose key is above `after`.
    fn best_in_group<'r>(
        &'r self,
        n: u32,
        pos: usize,
        path: &[u8],
        host: &HostCtx<'_>,
        after: Option<Key>,
    ) -> Option<Found<'r>> {
        let mut s = Search::new(self, path, host, after);
        s.group(n, pos);
        let (entry, host) = s.best?;
        Some(Found {
            entry,
            host,
            captures: s.best_caps,
        })
    }
}

/// One pass over a group: the best entry above `after` whose path matches.
struct Search<'t, 'p, 'h> {
    tree: &'t Tree,
    path: &'p [u8],
    host: &'h HostCtx<'h>,
    after: Option<Key>,
    caps: Captures,
    depth: usize,
    best: Option<(Entry, HostHit<'t>)>,
    best_caps: Captures,
}

impl<'t, 'p, 'h> Search<'t, 'p, 'h> {
    fn new(tree: &'t Tree, path: &'p [u8], host: &'h HostCtx<'h>, after: Option<Key>) -> Self {
        Search {
            tree,
            path,
            host,
            after,
            caps: [(0, 0); MAX_PARAMS],
            depth: 0,
            best: None,
            best_caps: [(0, 0); MAX_PARAMS],
        }
    }

    fn offer(&mut self, slot: &'t Slot) {
        if let Some((e, hit)) = slot.best_after(self.host, self.after) {
            if self.best.is_none_or(|(b, _)| e.key < b.key) {
                self.best = Some((e, hit));
                self.best_caps = self.caps;
            }
        }
    }

    /// The dynamic part starting at node `n`, path position `pos`: its
    /// catch-all and its params.
    fn group(&mut self, n: u32, pos: usize) {
        let tree = self.tree;
        let node = &tree.nodes[n as usize];
        if let Some(slot) = &node.catch_all {
            if self.depth < MAX_PARAMS {
                self.caps[self.depth] = (pos as u32, self.path.len() as u32);
                self.depth += 1;
                self.offer(slot);
                self.depth -= 1;
            }
        }
        if node.params.is_empty() || self.depth >= MAX_PARAMS {
            return;
        }
        let rest = &self.path[pos..];
        let end = pos + rest.iter().position(|&b| b == b'/').unwrap_or(rest.len());
        if end == pos {
            return;
        }
        for edge in &node.params {
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
            if pos == self.path.len() {
                if let Some(slot) = &node.terminal {
                    self.offer(slot);
                }
            }
            self.group(n, pos);
            let next = self
                .path
                .get(pos)
                .and_then(|&b| node.child(b))
                .filter(|&c| self.path[pos..].starts_with(&tree.nodes[c as usize].label));
            match next {
                Some(c) => {
                    pos += tree.nodes[c as usize].label.len();
                    n = c;
                }
                None => return,
            }
        }
    }
}
