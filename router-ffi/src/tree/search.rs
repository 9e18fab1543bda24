//! Lookups: the literal walk, the climb back through the groups, and the
//! search inside a group.

use super::{Node, ParamEdge, Tree, NONE, ROOT};
use crate::host::HostCtx;
use crate::label;
use crate::slot::{Entry, HostHit, Key, FIRST};

/// A found entry and the host that admitted it.
type Found<'r> = (&'r Entry, HostHit<'r>);

impl Tree {
    /// The first route, in docs/router.md's order, whose (dynamic) pattern
    /// matches and which `accept` takes. Allocates nothing.
    #[inline]
    pub fn find<'r, F: FnMut(&Entry) -> bool>(
        &'r self,
        path: &[u8],
        host: &HostCtx<'_>,
        accept: &mut F,
    ) -> Option<Found<'r>> {
        if path.len() > u32::MAX as usize {
            return None;
        }
        // Walk literal edges as deep as the path allows.
        let (mut n, mut pos) = (ROOT, 0usize);
        while let Some((c, p)) = self.literal(&self.nodes[n as usize], path, pos) {
            (n, pos) = (c, p);
        }
        // Climb back, trying each group deepest first.
        loop {
            let node = &self.nodes[n as usize];
            if node.is_group() {
                let found = match node.regex {
                    NONE => self.group(n, pos, path, host, accept),
                    rx => self.group_with_regex(n, rx, pos, path, host, accept),
                };
                if found.is_some() {
                    return found;
                }
            }
            if n == ROOT {
                return None;
            }
            pos -= node.label.len();
            n = node.parent;
        }
    }

    /// The first entry of the tree's group at `n`, in key order, whose
    /// pattern matches and which `accept` takes.
    #[inline]
    fn group<'r, F: FnMut(&Entry) -> bool>(
        &'r self,
        n: u32,
        pos: usize,
        path: &[u8],
        host: &HostCtx<'_>,
        accept: &mut F,
    ) -> Option<Found<'r>> {
        match self.follow(n, pos, path) {
            Walk::Nothing => None,
            Walk::Leaf(slot) => self.take(slot, host, accept),
            Walk::Fork { node, pos, inside } => {
                self.search(node, pos as usize, inside, path, host, accept)
            }
        }
    }

    /// [`Tree::group`] for a node that also holds regex patterns (slot
    /// `rx`): one order for both, so each regex entry is offered to
    /// `accept` (which runs its regex) just before the first tree entry
    /// with a larger key, and the rest after the tree's last.
    #[cold]
    fn group_with_regex<'r, F: FnMut(&Entry) -> bool>(
        &'r self,
        n: u32,
        rx: u32,
        pos: usize,
        path: &[u8],
        host: &HostCtx<'_>,
        accept: &mut F,
    ) -> Option<Found<'r>> {
        let slot = self.slots.get(rx as usize)?;
        let mut next = slot.best_after(host, FIRST);
        let mut won = None;
        let found = {
            let mut merged = |e: &Entry| {
                while let Some(r) = next.filter(|r| r.0.key < e.key) {
                    next = slot.best_after(host, r.0.key);
                    if accept(r.0) {
                        won = Some(r);
                        return true;
                    }
                }
                accept(e)
            };
            self.group(n, pos, path, host, &mut merged)
        };
        if won.is_some() {
            return won;
        }
        if found.is_some() {
            return found;
        }
        while let Some(r) = next {
            if accept(r.0) {
                return Some(r);
            }
            next = slot.best_after(host, r.0.key);
        }
        None
    }

    /// Follows the path from the group at `n` as long as one alternative
    /// at a time fits it: until then no other can match.
    #[inline]
    fn follow(&self, mut n: u32, mut pos: usize, path: &[u8]) -> Walk {
        let mut inside = false;
        loop {
            let node = &self.nodes[n as usize];
            let catch_all = node.catch_all != NONE;
            let Some(&b) = path.get(pos) else {
                let terminal = inside && node.terminal != NONE;
                return match (terminal, catch_all) {
                    (true, true) => Walk::fork(n, pos, inside),
                    (true, false) => Walk::Leaf(node.terminal),
                    (false, true) => Walk::Leaf(node.catch_all),
                    (false, false) => Walk::Nothing,
                };
            };
            // Params take one non-empty segment; literal children below a
            // group's node belong to deeper groups.
            let params: &[ParamEdge] = if b == b'/' { &[] } else { &node.params };
            let next = match inside {
                true => self.literal(node, path, pos),
                false => None,
            };
            match (catch_all, params, next) {
                (false, [], Some(next)) => (n, pos) = next,
                (false, [edge], None) => {
                    let end = segment_end(path, pos);
                    if let Some(c) = &edge.constraint {
                        if !c.regex.is_match(&path[pos..end]) {
                            return Walk::Nothing;
                        }
                    }
                    (n, pos, inside) = (edge.node, end, true);
                }
                (true, [], None) => return Walk::Leaf(node.catch_all),
                (false, [], None) => return Walk::Nothing,
                _ => return Walk::fork(n, pos, inside),
            }
        }
    }

    /// The first entry of slot `s`, in key order, whose hosts admit the
    /// request and which `accept` takes.
    fn take<'r, F: FnMut(&Entry) -> bool>(
        &'r self,
        s: u32,
        host: &HostCtx<'_>,
        accept: &mut F,
    ) -> Option<Found<'r>> {
        let slot = self.slots.get(s as usize)?;
        let mut after = FIRST;
        while let Some(found) = slot.best_after(host, after) {
            if accept(found.0) {
                return Some(found);
            }
            after = found.0.key;
        }
        None
    }

    /// The full search from node `n` (`inside` a group, or at its node),
    /// where several alternatives fit: the best entry `accept` takes.
    fn search<'r, F: FnMut(&Entry) -> bool>(
        &'r self,
        n: u32,
        pos: usize,
        inside: bool,
        path: &[u8],
        host: &HostCtx<'_>,
        accept: &mut F,
    ) -> Option<Found<'r>> {
        let mut s = Search {
            tree: self,
            path,
            host,
            after: FIRST,
            pending: 0,
            done: false,
            best: None,
        };
        loop {
            match inside {
                true => s.inner(n, pos),
                false => _ = s.step(n, pos, false),
            }
            let found = s.best?;
            if accept(found.0) {
                return Some(found);
            }
            (s.after, s.pending, s.done, s.best) = (found.0.key, 0, false, None);
        }
    }

    /// The literal child of `n` whose label is next in `path` at `pos`, and
    /// the position after that label.
    #[inline(always)]
    fn literal(&self, n: &Node, path: &[u8], pos: usize) -> Option<(u32, usize)> {
        let e = n.children.edge(*path.get(pos)?)?;
        let len = e.len as usize;
        let label = || {
            self.nodes
                .get(e.node as usize)
                .map_or(&[][..], |c| &c.label)
        };
        label::is_at(e.head, len, path, pos, label).then_some((e.node, pos + len))
    }
}

/// Where [`Tree::follow`] stopped.
enum Walk {
    /// No pattern of the group matches.
    Nothing,
    /// Only this slot's patterns can match.
    Leaf(u32),
    /// Several alternatives fit at this node.
    Fork { node: u32, pos: u32, inside: bool },
}

impl Walk {
    fn fork(node: u32, pos: usize, inside: bool) -> Walk {
        // `Tree::find` refuses paths longer than `u32::MAX`.
        let pos = pos as u32;
        Walk::Fork { node, pos, inside }
    }
}

/// Where the segment starting at `pos` ends: the next `/` or the end of
/// the path.
#[inline]
fn segment_end(path: &[u8], pos: usize) -> usize {
    let rest = path.get(pos..).unwrap_or_default();
    pos + rest.iter().position(|&b| b == b'/').unwrap_or(rest.len())
}

/// The best entry above `after` whose path matches, below a fork.
///
/// The search is depth first. At each node it counts the alternatives whose
/// first step fits the path (terminal, catch-all, each param, the literal
/// child); while one that is not the last is explored, `pending` counts it.
/// A leaf reached with nothing pending is the last possible match, so the
/// search ends there.
struct Search<'t, 'a> {
    tree: &'t Tree,
    path: &'a [u8],
    host: &'a HostCtx<'a>,
    after: Key,
    /// Alternatives on the current branch still to be explored.
    pending: u32,
    /// Nothing is left to explore.
    done: bool,
    best: Option<Found<'t>>,
}

impl Search<'_, '_> {
    #[inline]
    fn offer(&mut self, slot: u32) {
        if let Some(slot) = self.tree.slots.get(slot as usize) {
            if let Some((entry, host)) = slot.best_after(self.host, self.after) {
                if self.best.is_none_or(|(b, _)| entry.key < b.key) {
                    self.best = Some((entry, host));
                }
            }
        }
        self.done = self.pending == 0;
    }

    /// Explores the alternatives of node `n` at path position `pos`: its
    /// terminal and literal child (only `inside` a group, below a param),
    /// its catch-all and its params. Returns the literal child to go on
    /// with, as the last alternative.
    fn step(&mut self, n: u32, pos: usize, inside: bool) -> Option<(u32, usize)> {
        let tree = self.tree;
        let path = self.path;
        let node = &tree.nodes[n as usize];
        let at_end = pos == path.len();
        let terminal = inside && at_end && node.terminal != NONE;
        let catch_all = node.catch_all != NONE;
        // Params take one non-empty segment.
        let params = match path.get(pos) {
            Some(&b) if b != b'/' => node.params.len(),
            _ => 0,
        };
        let next = match path.get(pos) {
            Some(_) if inside => tree.literal(node, path, pos),
            _ => None,
        };
        let mut left = terminal as usize + catch_all as usize + params + next.is_some() as usize;
        if terminal {
            left -= 1;
            self.explore(left, |s| s.offer(node.terminal));
            if self.done {
                return None;
            }
        }
        if catch_all {
            left -= 1;
            self.explore(left, |s| s.offer(node.catch_all));
            if self.done {
                return None;
            }
        }
        if params > 0 {
            let end = segment_end(path, pos);
            for edge in node.params.iter() {
                left -= 1;
                if let Some(c) = &edge.constraint {
                    if !c.regex.is_match(&path[pos..end]) {
                        continue;
                    }
                }
                self.explore(left, |s| s.inner(edge.node, end));
                if self.done {
                    return None;
                }
            }
        }
        next
    }

    /// Runs one alternative; `left` more follow it at the same node.
    #[inline]
    fn explore(&mut self, left: usize, f: impl FnOnce(&mut Self)) {
        let hold = (left > 0) as u32;
        self.pending += hold;
        f(self);
        self.pending -= hold;
    }

    /// Everything below a param: terminals, nested groups and literal edges.
    fn inner(&mut self, mut n: u32, mut pos: usize) {
        let tree = self.tree;
        loop {
            let node = &tree.nodes[n as usize];
            let next = if node.only_children() {
                // The usual node: one way on, if any.
                match tree.literal(node, self.path, pos) {
                    Some(next) => next,
                    None => return,
                }
            } else {
                match self.step(n, pos, true) {
                    Some(next) => next,
                    None => return,
                }
            };
            (n, pos) = next;
        }
    }
}
