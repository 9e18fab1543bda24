//! An RFC 5424 message as APISIX's `rfc5424.encode("SYSLOG", "INFO",
//! host, "apisix", pid, msg)` writes it.

use radixgate_log_entry::timing;

/// Facility SYSLOG (5) * 8 + severity INFO (6).
pub const PRI: u8 = 46;

/// `<46>1 2026-12-02T12:33:33.120Z <hostname> apisix <pid> - - <msg>\n`;
/// a hostname that is empty or not printable ASCII without spaces (as
/// RFC 5424's HOSTNAME must be) is the nil value `-`.
pub fn frame(unix_ms: u64, hostname: &str, pid: u32, msg: &str) -> String {
    let iso = timing::iso8601(unix_ms);
    // `2026-12-02T12:33:33+00:00` -> `2026-12-02T12:33:33.120Z`.
    let time = format!("{}.{:03}Z", iso.get(..19).unwrap_or(&iso), unix_ms % 1000);
    let valid = !hostname.is_empty()
        && hostname.len() <= 255
        && hostname.bytes().all(|b| (33..=126).contains(&b));
    let hostname = if valid { hostname } else { "-" };
    format!("<{PRI}>1 {time} {hostname} apisix {pid} - - {msg}\n")
}
