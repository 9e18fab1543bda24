//! Loopback ports for child processes (gateway, etcd, nginx) that bind
//! them themselves.
//!
//! Binding `127.0.0.1:0` and releasing the port is racy: the kernel hands
//! out the same ephemeral range to every outgoing connection (etcd peers
//! dialing each other, clients, upstream pools), so a port released a
//! moment ago can be taken before the child binds it. These ports come from
//! below the ephemeral range instead (Linux's default starts at 32768), each
//! handed out once per test process, starting at an offset drawn from the
//! process id so that test binaries running side by side rarely meet, and
//! checked free before they are returned.

use std::net::TcpListener;
use std::sync::atomic::{AtomicU32, Ordering};

/// First port of the range (above the well-known and common service ports).
const LOW: u32 = 20_000;
/// Ports in the range: `LOW..LOW + SPAN`, all below the ephemeral range.
const SPAN: u32 = 12_000;

/// A loopback port no other caller in this process got, free when returned.
pub fn free_port() -> u16 {
    static NEXT: AtomicU32 = AtomicU32::new(u32::MAX);
    let _ = NEXT.compare_exchange(
        u32::MAX,
        std::process::id().wrapping_mul(7919) % SPAN,
        Ordering::Relaxed,
        Ordering::Relaxed,
    );
    for _ in 0..SPAN {
        let offset = NEXT.fetch_add(1, Ordering::Relaxed) % SPAN;
        let Ok(port) = u16::try_from(LOW + offset) else {
            continue;
        };
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    panic!("no free loopback port in {LOW}..{}", LOW + SPAN);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_are_below_the_ephemeral_range_and_never_handed_out_twice() {
        let ports: Vec<u16> = (0..50).map(|_| free_port()).collect();
        let mut unique = ports.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(unique.len(), ports.len(), "{ports:?}");
        assert!(ports.iter().all(|&p| (20_000..32_000).contains(&p)));
    }
}
