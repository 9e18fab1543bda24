//! The counters of requests in flight, and the trait a counter policy
//! implements: `local` counts in the host's shared store (nginx's
//! `limit_conn`, lua-resty-limit-traffic's `conn.lua`); a Redis policy
//! implements [`Conns`] with [`Counted::Later`].

use radixgate_plugin::Host;

use crate::shared::Counted;

/// Where a config's counters live (its `policy`).
pub trait Conns: Send + Sync {
    /// Counts a request in on `key` unless `limit` are in already: the
    /// count with it, or `None` (then it is not counted). An error when the
    /// counters could not be reached.
    fn incoming(&self, key: &str, limit: i64) -> Counted<Result<Option<i64>, String>>;

    /// Counts a request out of `key`: the count left.
    fn leaving(&self, key: &str) -> Counted<Result<i64, String>>;
}

/// Counters in the host's shared store, shared by every worker thread.
pub struct LocalConns {
    host: Host,
}

impl LocalConns {
    /// Counters in `host`'s store.
    pub fn new(host: Host) -> LocalConns {
        LocalConns { host }
    }
}

impl Conns for LocalConns {
    fn incoming(&self, key: &str, limit: i64) -> Counted<Result<Option<i64>, String>> {
        // An atomic increment, taken back when over the limit: concurrent
        // requests never pass more than `limit` together (one refused may
        // have seen another's increment before it was taken back).
        let conn = self.host.incr(key, 1, 0).value;
        if conn > limit {
            self.host.incr(key, -1, 0);
            return Counted::Now(Ok(None));
        }
        Counted::Now(Ok(Some(conn)))
    }

    fn leaving(&self, key: &str) -> Counted<Result<i64, String>> {
        let left = self.host.incr(key, -1, 0).value;
        if left < 0 {
            // The store dropped the counter (it needed the room) while
            // requests were in: start again from none rather than below.
            self.host.incr(key, -left, 0);
        }
        Counted::Now(Ok(left.max(0)))
    }
}
