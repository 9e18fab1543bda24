//! The radix tree that holds every path pattern.
//!
//! Literal text is stored on compressed edges; a param is an edge of its own
//! (one per distinct regex constraint) leading to a node whose children are
//! literal again; a catch-all is a slot on the node where it starts. The
//! patterns matched as a regex ([`crate::Pattern::regex`]) are a slot on
//! the node of their literal prefix, tried with the group there. Exact
//! patterns are not stored here but in a hash map beside the tree
//! (`router.rs`), which is faster for them and tried first.
//!
//! A lookup walks the literal edges as deep as the path allows, then climbs
//! back towards the root: every node on the walk where
//! some pattern turns dynamic is a *group* (the routes sharing that literal
//! prefix); groups are tried deepest first, and inside a group the matching
//! routes are tried in key order. Inside a group the walk branches only at
//! params, so a lookup costs the length of the path, not the number of routes.

mod search;

use crate::children::Children;
use crate::cow::CowVec;
use crate::pattern::{Constraint, Pattern, Token};
use crate::slot::Slot;

const ROOT: u32 = 0;
const NONE: u32 = u32::MAX;

#[derive(Debug, Clone)]
struct ParamEdge {
    constraint: Option<Box<Constraint>>,
    node: u32,
}

/// Whether the param edge `e` has `constraint` (the same regex source).
fn same_constraint(e: &ParamEdge, constraint: &Option<Constraint>) -> bool {
    match (&e.constraint, constraint) {
        (None, None) => true,
        (Some(a), Some(b)) => a.source == b.source,
        _ => false,
    }
}

/// 64 bytes: slots live in their own arena, edges in boxed slices (each
/// with the head of the child's label).
#[derive(Debug, Clone)]
struct Node {
    label: Box<[u8]>,
    /// Literal children by the first byte of their label.
    children: Children,
    params: Box<[ParamEdge]>,
    parent: u32,
    /// Slot of the patterns that end here (`NONE` if none).
    terminal: u32,
    /// Slot of the patterns whose catch-all starts here (`NONE` if none).
    catch_all: u32,
    /// Slot of the regex patterns whose literal prefix ends here (`NONE` if none).
    regex: u32,
}

const _: () = assert!(std::mem::size_of::<Node>() == 64);

impl Default for Node {
    /// A free node.
    fn default() -> Self {
        Node::new(b"", NONE)
    }
}

impl Node {
    fn new(label: &[u8], parent: u32) -> Node {
        Node {
            label: label.into(),
            children: Children::default(),
            params: Box::new([]),
            parent,
            terminal: NONE,
            catch_all: NONE,
            regex: NONE,
        }
    }

    fn is_group(&self) -> bool {
        !self.params.is_empty() || (self.catch_all & self.regex) != NONE
    }

    /// No terminal, catch-all or param: only literal children lead on.
    #[inline]
    fn only_children(&self) -> bool {
        self.params.is_empty() && (self.terminal & self.catch_all) == NONE
    }

    fn is_unused(&self) -> bool {
        self.children.is_empty()
            && self.params.is_empty()
            && self.terminal == NONE
            && self.catch_all == NONE
            && self.regex == NONE
    }

    #[inline]
    fn child(&self, byte: u8) -> Option<u32> {
        self.children.get(byte)
    }
}

/// Where a pattern's routes are stored in the tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Place {
    pub node: u32,
    pub kind: Kind,
}

/// Which slot of its node a pattern is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// The patterns that end at the node.
    Terminal,
    /// The patterns whose catch-all starts at the node.
    CatchAll,
    /// The regex patterns whose literal prefix ends at the node.
    Regex,
}

impl Node {
    fn slot(&self, kind: Kind) -> u32 {
        match kind {
            Kind::Terminal => self.terminal,
            Kind::CatchAll => self.catch_all,
            Kind::Regex => self.regex,
        }
    }

    fn slot_mut(&mut self, kind: Kind) -> &mut u32 {
        match kind {
            Kind::Terminal => &mut self.terminal,
            Kind::CatchAll => &mut self.catch_all,
            Kind::Regex => &mut self.regex,
        }
    }
}

/// Copies share their nodes and slots until one changes them ([`CowVec`]).
#[derive(Debug, Clone)]
pub(crate) struct Tree {
    nodes: CowVec<Node>,
    free_nodes: Vec<u32>,
    slots: CowVec<Slot>,
    free_slots: Vec<u32>,
}

impl Default for Tree {
    fn default() -> Self {
        let mut nodes = CowVec::new();
        nodes.push(Node::default());
        Tree {
            nodes,
            free_nodes: Vec::new(),
            slots: CowVec::new(),
            free_slots: Vec::new(),
        }
    }
}

impl Tree {
    /// The slot of `pattern` (of its literal prefix's regex patterns when
    /// `regex`), created if missing.
    pub fn slot_for(&mut self, pattern: &Pattern, regex: bool) -> &mut Slot {
        let place = if regex {
            let node = self.insert_literal(ROOT, pattern.literal_prefix());
            Place {
                node,
                kind: Kind::Regex,
            }
        } else {
            let mut n = ROOT;
            let mut kind = Kind::Terminal;
            for token in &pattern.tokens {
                match token {
                    Token::Literal(bytes) => n = self.insert_literal(n, bytes),
                    Token::Param { constraint, .. } => n = self.param_child(n, constraint),
                    Token::CatchAll { .. } => {
                        kind = Kind::CatchAll;
                        break;
                    }
                }
            }
            Place { node: n, kind }
        };
        self.slot_of(place).1
    }

    /// Where [`Tree::slot_for`] put `pattern`; `None` if no node is there.
    pub fn place_for(&self, pattern: &Pattern, regex: bool) -> Option<Place> {
        if regex {
            let node = self.literal_node(ROOT, pattern.literal_prefix())?;
            return Some(Place {
                node,
                kind: Kind::Regex,
            });
        }
        let mut n = ROOT;
        let mut kind = Kind::Terminal;
        for token in &pattern.tokens {
            match token {
                Token::Literal(bytes) => n = self.literal_node(n, bytes)?,
                Token::Param { constraint, .. } => {
                    let node = &self.nodes[n as usize];
                    n = node
                        .params
                        .iter()
                        .find(|e| same_constraint(e, constraint))?
                        .node;
                }
                Token::CatchAll { .. } => {
                    kind = Kind::CatchAll;
                    break;
                }
            }
        }
        Some(Place { node: n, kind })
    }

    /// The node `bytes` below `n` leads to, if one ends exactly there.
    fn literal_node(&self, mut n: u32, mut bytes: &[u8]) -> Option<u32> {
        while let Some(&first) = bytes.first() {
            let c = self.nodes[n as usize].child(first)?;
            let label = &self.nodes[c as usize].label;
            bytes = bytes.strip_prefix(&label[..])?;
            n = c;
        }
        Some(n)
    }

    /// The slot at `place` (an existing node), created if missing.
    fn slot_of(&mut self, place: Place) -> (Place, &mut Slot) {
        let mut s = self.nodes[place.node as usize].slot(place.kind);
        if s == NONE {
            s = self.alloc_slot();
            *self.nodes[place.node as usize].slot_mut(place.kind) = s;
        }
        (place, &mut self.slots[s as usize])
    }

    fn slot_index(&self, place: Place) -> u32 {
        match self.nodes.get(place.node as usize) {
            Some(n) => n.slot(place.kind),
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
            *self.nodes[place.node as usize].slot_mut(place.kind) = NONE;
        }
        let mut n = place.node;
        while n != ROOT && self.nodes[n as usize].is_unused() {
            let parent = self.nodes[n as usize].parent;
            let p = &mut self.nodes[parent as usize];
            if !p.children.remove(n) {
                let params = std::mem::take(&mut p.params).into_vec();
                p.params = params.into_iter().filter(|e| e.node != n).collect();
            }
            self.nodes[n as usize] = Node::default();
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
        let params = &self.nodes[n as usize].params;
        if let Some(e) = params.iter().find(|e| same_constraint(e, constraint)) {
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
                self.nodes[n as usize].children.insert(bytes, child);
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
        mid.children = Children::one(tail, c);
        let mid = self.alloc(mid);
        let cn = &mut self.nodes[c as usize];
        cn.label = tail.into();
        cn.parent = mid;
        self.nodes[n as usize].children.replace(c, head, mid);
    }
}
