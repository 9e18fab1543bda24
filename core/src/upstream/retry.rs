//! When a request may be sent again: the one set of rules that both the
//! client (a reused connection found closed) and forwarding (another node
//! after a failed try) follow.
//!
//! A request goes again only when it is whole (its body was not read: the
//! client keeps no copy of a body) and either nothing of it reached the
//! node or its method lets a node receive it twice without harm. Another
//! node is tried only within the upstream's `retries` and `retry_timeout`.

use std::time::{Duration, Instant};

use http::Method;

/// Methods a node may receive twice without harm (RFC 9110 9.2.2).
pub fn idempotent(method: &Method) -> bool {
    matches!(
        *method,
        Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE | Method::PUT | Method::DELETE
    )
}

/// Whether the node may have received a failed try's request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// Nothing of it was written (connect failed, or the head could not
    /// be written whole): no node acted on it.
    Unsent,
    /// Some or all of it went out: the node may have acted on it.
    MaybeReceived,
}

/// Whether a request that `delivery` says about may be sent again, given
/// its `method`; `whole` tells whether it still has its body untouched.
pub fn may_resend(method: &Method, delivery: Delivery, whole: bool) -> bool {
    whole && (delivery == Delivery::Unsent || idempotent(method))
}

/// The tries of one request at an upstream's nodes: which nodes were
/// tried, and whether its `retries` and `retry_timeout` allow another.
#[derive(Debug)]
pub struct Tries {
    /// Node indexes tried so far (the first one and each retry).
    tried: Vec<usize>,
    /// The first node, kept apart so that one try allocates nothing.
    first: usize,
    retries: u32,
    deadline: Option<Instant>,
}

impl Tries {
    /// The tries of a request first sent to node `first`, with `retries`
    /// other nodes allowed within `retry_timeout` from now.
    pub fn new(first: usize, retries: u32, retry_timeout: Option<Duration>) -> Tries {
        Tries {
            tried: Vec::new(),
            first,
            retries,
            deadline: retry_timeout.map(|d| Instant::now() + d),
        }
    }

    /// The node of the current try.
    pub fn current(&self) -> usize {
        self.tried.last().copied().unwrap_or(self.first)
    }

    /// Whether another node may be tried now.
    pub fn another_allowed(&self) -> bool {
        let done = self.tried.len().max(1);
        done <= self.retries as usize && self.deadline.is_none_or(|d| Instant::now() < d)
    }

    /// The nodes tried so far, first one first.
    pub fn tried(&mut self) -> &[usize] {
        if self.tried.is_empty() {
            self.tried.push(self.first);
        }
        &self.tried
    }

    /// Records that node `index` is tried next.
    pub fn next(&mut self, index: usize) {
        if self.tried.is_empty() {
            self.tried.push(self.first);
        }
        self.tried.push(index);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_whole_requests_go_again_and_sent_ones_only_when_idempotent() {
        assert!(may_resend(&Method::POST, Delivery::Unsent, true));
        assert!(!may_resend(&Method::POST, Delivery::MaybeReceived, true));
        assert!(may_resend(&Method::GET, Delivery::MaybeReceived, true));
        assert!(may_resend(&Method::PUT, Delivery::MaybeReceived, true));
        assert!(!may_resend(&Method::GET, Delivery::Unsent, false));
        assert!(!may_resend(&Method::PATCH, Delivery::MaybeReceived, true));
    }

    #[test]
    fn tries_stop_at_the_retry_count_and_the_deadline() {
        let mut t = Tries::new(3, 2, None);
        assert_eq!(t.current(), 3);
        assert!(t.another_allowed());
        t.next(1);
        assert_eq!(t.current(), 1);
        assert!(t.another_allowed());
        t.next(0);
        assert!(!t.another_allowed());
        assert_eq!(t.tried(), &[3, 1, 0]);
        assert!(!Tries::new(0, 0, None).another_allowed());
        let late = Tries::new(0, 5, Some(Duration::ZERO));
        assert!(!late.another_allowed());
    }
}
