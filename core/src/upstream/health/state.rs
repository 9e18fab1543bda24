//! One node's health as lua-resty-healthcheck keeps it: a healthy flag and
//! counters of successes, http failures, connect failures and timeouts in
//! a row. A success clears the failure counters, a failure clears the
//! success counter; a counter that reaches its threshold flips the flag
//! and all counters start again. Lock-free: one atomic word of counters.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// What one probe or request said about a node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// A healthy answer.
    Success,
    /// An answer with an unhealthy status.
    HttpFailure,
    /// The connection failed.
    TcpFailure,
    /// No answer in time.
    Timeout,
}

impl Event {
    /// Bit offset of the event's counter (16 bits each).
    fn shift(self) -> u32 {
        match self {
            Event::Success => 0,
            Event::HttpFailure => 16,
            Event::TcpFailure => 32,
            Event::Timeout => 48,
        }
    }
}

/// How many events in a row flip a node; 0 never flips.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Thresholds {
    /// Successes that make an unhealthy node healthy.
    pub successes: u32,
    /// http failures that make a healthy node unhealthy.
    pub http_failures: u32,
    /// Connect failures that make a healthy node unhealthy.
    pub tcp_failures: u32,
    /// Timeouts that make a healthy node unhealthy.
    pub timeouts: u32,
}

impl Thresholds {
    fn of(&self, e: Event) -> u64 {
        u64::from(match e {
            Event::Success => self.successes,
            Event::HttpFailure => self.http_failures,
            Event::TcpFailure => self.tcp_failures,
            Event::Timeout => self.timeouts,
        })
    }
}

/// Health of one node; starts healthy, as in APISIX.
#[derive(Debug)]
pub struct NodeHealth {
    healthy: AtomicBool,
    counters: AtomicU64,
}

impl Default for NodeHealth {
    fn default() -> Self {
        NodeHealth {
            healthy: AtomicBool::new(true),
            counters: AtomicU64::new(0),
        }
    }
}

const SUCCESS_MASK: u64 = 0xffff;

impl NodeHealth {
    /// Whether the node may get traffic.
    pub fn is_healthy(&self) -> bool {
        self.healthy.load(Ordering::Relaxed)
    }

    /// Counts `event` against `limits`; returns the new state when the
    /// node flipped.
    pub fn record(&self, event: Event, limits: &Thresholds) -> Option<bool> {
        let limit = limits.of(event);
        let healthy = self.is_healthy();
        let is_success = event == Event::Success;
        // Only events that could flip the node need counting.
        if limit == 0 || healthy == is_success {
            let clear = if is_success {
                !SUCCESS_MASK
            } else {
                SUCCESS_MASK
            };
            self.counters.fetch_and(!clear, Ordering::Relaxed);
            return None;
        }
        let shift = event.shift();
        let mut reached = false;
        let _ = self
            .counters
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |c| {
                let n = ((c >> shift) & 0xffff) + 1;
                reached = n >= limit;
                let kept = if is_success {
                    0
                } else {
                    c & !SUCCESS_MASK & !(0xffff << shift)
                };
                Some(if reached { 0 } else { kept | (n << shift) })
            });
        if reached && self.healthy.swap(is_success, Ordering::Relaxed) != is_success {
            return Some(is_success);
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: Thresholds = Thresholds {
        successes: 2,
        http_failures: 3,
        tcp_failures: 1,
        timeouts: 0,
    };

    #[test]
    fn failures_in_a_row_eject_and_successes_restore() {
        let n = NodeHealth::default();
        assert!(n.is_healthy());
        assert_eq!(n.record(Event::HttpFailure, &T), None);
        assert_eq!(n.record(Event::HttpFailure, &T), None);
        assert_eq!(n.record(Event::HttpFailure, &T), Some(false));
        assert!(!n.is_healthy());
        assert_eq!(n.record(Event::Success, &T), None);
        assert_eq!(n.record(Event::Success, &T), Some(true));
        assert!(n.is_healthy());
    }

    #[test]
    fn a_success_breaks_a_run_of_failures() {
        let n = NodeHealth::default();
        n.record(Event::HttpFailure, &T);
        n.record(Event::HttpFailure, &T);
        n.record(Event::Success, &T);
        assert_eq!(n.record(Event::HttpFailure, &T), None);
        assert!(n.is_healthy());
        // And a failure breaks a run of successes.
        assert_eq!(n.record(Event::TcpFailure, &T), Some(false));
        n.record(Event::Success, &T);
        n.record(Event::TcpFailure, &T);
        assert_eq!(n.record(Event::Success, &T), None);
        assert_eq!(n.record(Event::Success, &T), Some(true));
    }

    #[test]
    fn zero_thresholds_never_flip() {
        let n = NodeHealth::default();
        for _ in 0..10 {
            assert_eq!(n.record(Event::Timeout, &T), None);
        }
        assert!(n.is_healthy());
    }
}
