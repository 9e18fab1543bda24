//! The variables plugins share during one request (`ctx.var`,
//! `ctx.set_var`), kept in buffers the worker thread recycles.

use std::cell::RefCell;

/// The variables plugins share during one request: a handful per request,
/// so a list searched in order (no hashing). Its buffers are recycled on
/// the thread: a request's names and values are written into the strings
/// an earlier request left, so setting a variable allocates nothing once
/// the worker has warmed up.
pub struct SharedVars {
    /// The first `used` pairs are set; the others are spare buffers.
    pairs: Vec<(String, String)>,
    used: usize,
}

/// Spare buffers kept per thread, at most.
const SPARE_VARS: usize = 256;

thread_local! {
    /// Per thread: a worker reuses its own buffers without a lock.
    static SPARE: RefCell<Vec<Vec<(String, String)>>> = const { RefCell::new(Vec::new()) };
}

impl Default for SharedVars {
    fn default() -> SharedVars {
        let pairs = SPARE
            .try_with(|s| s.borrow_mut().pop())
            .ok()
            .flatten()
            .unwrap_or_default();
        SharedVars { pairs, used: 0 }
    }
}

impl Drop for SharedVars {
    fn drop(&mut self) {
        if self.pairs.capacity() == 0 {
            return;
        }
        let pairs = std::mem::take(&mut self.pairs);
        let _ = SPARE.try_with(|s| {
            let mut s = s.borrow_mut();
            if s.len() < SPARE_VARS {
                s.push(pairs);
            }
        });
    }
}

impl Clone for SharedVars {
    fn clone(&self) -> SharedVars {
        SharedVars {
            pairs: self.pairs[..self.used].to_vec(),
            used: self.used,
        }
    }
}

impl PartialEq for SharedVars {
    fn eq(&self, other: &SharedVars) -> bool {
        self.iter().eq(other.iter())
    }
}

impl Eq for SharedVars {}

impl std::fmt::Debug for SharedVars {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl SharedVars {
    /// The value of `name`, if set.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs[..self.used]
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Sets `name` to `value` (reusing the buffers there are).
    pub fn insert(&mut self, name: &str, value: &str) {
        let set = &mut self.pairs[..self.used];
        if let Some((_, v)) = set.iter_mut().find(|(n, _)| n == name) {
            v.clear();
            v.push_str(value);
            return;
        }
        match self.pairs.get_mut(self.used) {
            Some((n, v)) => {
                n.clear();
                n.push_str(name);
                v.clear();
                v.push_str(value);
            }
            None => {
                if self.pairs.capacity() == 0 {
                    self.pairs.reserve_exact(4);
                }
                self.pairs.push((name.to_string(), value.to_string()));
            }
        }
        self.used += 1;
    }

    /// Every variable (name, value), in the order first set.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.pairs[..self.used]
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
    }

    /// The number of variables set.
    pub fn len(&self) -> usize {
        self.used
    }

    /// True when none is set.
    pub fn is_empty(&self) -> bool {
        self.used == 0
    }
}

#[cfg(test)]
mod tests {
    use super::SharedVars;

    #[test]
    fn shared_vars_set_replace_and_read() {
        let mut vars = SharedVars::default();
        assert_eq!(vars.get("a"), None);
        vars.insert("a", "1");
        vars.insert("ab", "2");
        vars.insert("a", "3");
        assert_eq!(
            (vars.get("a"), vars.get("ab"), vars.len()),
            (Some("3"), Some("2"), 2)
        );
        let all: Vec<_> = vars.iter().collect();
        assert_eq!(all, [("a", "3"), ("ab", "2")]);
        assert_eq!(vars.clone(), vars);
        drop(vars);
        // The next request's variables reuse those buffers, and start empty.
        let mut next = SharedVars::default();
        assert!(next.is_empty() && next.get("a").is_none());
        next.insert("c", "4");
        assert_eq!(next.iter().collect::<Vec<_>>(), [("c", "4")]);
        assert_eq!(next.len(), 1);
    }
}
